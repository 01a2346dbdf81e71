"""Cold start: the first pipeline in a fresh process, against what anyio's first call costs.

Each figure is the median of fresh interpreter processes (``python -c``), the CPU time each
spends from before the first import to the end of the first run (CPU time, not wall time: on a
shared machine it is the figure that stays put), on asyncio under
``asyncio.run()`` and on trio under ``trio.run()``:

- ``plain``: three async generators over ``range(10)`` (asyncio: no anyio at all);
- ``anyio``: the backend's first anyio call (``await anyio.sleep(0)``), which imports anyio's
  backend: the floor for any anyio library;
- ``streamkit``: ``import streamkit`` and a first ``map_``/``filter_`` pipeline, collected.

streamkit's own share is ``streamkit - anyio``. Run: ``python benchmarks/cold_start.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 15

_PROGRAMS = {
    ("asyncio", "plain"): """
import asyncio
async def main():
    async def a():
        for i in range(10): yield i
    async def b(s):
        async for x in s: yield x + 1
    async def c(s):
        async for x in s:
            if x % 2: yield x
    return [x async for x in c(b(a()))]
asyncio.run(main())
""",
    ("asyncio", "anyio"): """
import asyncio, anyio
async def main(): await anyio.sleep(0)
asyncio.run(main())
""",
    ("asyncio", "streamkit"): """
import asyncio
from streamkit import filter_, map_, stream
async def main():
    return await stream(range(10)).pipe(map_(lambda x: x + 1), filter_(lambda x: x % 2)).collect()
asyncio.run(main())
""",
    ("trio", "plain"): """
import trio
async def main(): await trio.sleep(0)
trio.run(main)
""",
    ("trio", "anyio"): """
import trio, anyio
async def main(): await anyio.sleep(0)
trio.run(main)
""",
    ("trio", "streamkit"): """
import trio
from streamkit import filter_, map_, stream
async def main():
    return await stream(range(10)).pipe(map_(lambda x: x + 1), filter_(lambda x: x % 2)).collect()
trio.run(main)
""",
}


def timed(program: str) -> float:
    """CPU seconds from before the first import to the end of ``program``, in a fresh
    process."""
    code = f"import time\n_t = time.process_time()\n{program}\nprint(time.process_time() - _t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    for program in _PROGRAMS.values():  # warm the file system cache
        timed(program)
    print(f"cold start, CPU ms, median of {RUNS} fresh processes")
    print(f"{'backend':8} {'plain':>8} {'anyio':>8} {'streamkit':>10} {'own share':>10}")
    for backend in ("asyncio", "trio"):
        ms = {
            kind: statistics.median(timed(_PROGRAMS[backend, kind]) for _ in range(RUNS)) * 1e3
            for kind in ("plain", "anyio", "streamkit")
        }
        own = ms["streamkit"] - ms["anyio"]
        print(
            f"{backend:8} {ms['plain']:8.1f} {ms['anyio']:8.1f} {ms['streamkit']:10.1f} {own:10.1f}"
        )


if __name__ == "__main__":
    main()
