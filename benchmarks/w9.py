"""W9: per-key limits (issue 13). Two workloads, each on asyncio and trio:

- ``W9``: 1,000 items over 20 hosts (item ``i`` on host ``i % 20``), one host 50x slower (50 ms
  a call, the others 1 ms), ``per_key=2``, ``concurrency=32``. Figure: wall time / ideal, the
  ideal being the slow host's serial time / 2 (50 x 50 ms / 2 = 1.25 s). Target <= 1.2x.
- ``W9-crawl``: the crawler case of the issue: 40 items of one busy host first, then 20 items
  of 20 other hosts, 100 ms a call, ``per_key=2``, ``concurrency=24``. Figure: the time until
  the 20 other hosts' items are all done (ideal about 0.1 s: they need not wait for the busy
  host), and the wall time (ideal 2.0 s: the busy host's 40 calls, 2 at a time).

Implementations: ``streamkit`` (``map_(fetch, key=host, per_key=2, ordered=False)``),
``streamkit ordered`` (the same, ``ordered=True``), ``user limiter`` (``map_`` with a
:class:`anyio.CapacityLimiter` per host taken inside the function: what users wrote before,
whose waiting calls hold the workers), and ``hand-written`` (anyio only: items split by host
up front, ``per_key`` tasks per host, one :class:`anyio.CapacityLimiter` of ``concurrency``
tokens around every call; it needs the whole input in advance, which a stream does not give).

Method (BENCHMARKS.md): every run is a fresh subprocess, after a warm-up on a tiny input in
that process; rounds interleave the implementations; each figure is the median of ``--reps``
runs (default 5) with min and max. Every run checks that each item came out once.

Run: ``python benchmarks/w9.py`` (writes ``benchmarks/w9.md``); ``--reps N``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

import streamkit as sk

Item = tuple[int, int]
"""(host, n)."""

WORKLOADS: dict[str, dict[str, Any]] = {
    "W9": {"concurrency": 32, "per_key": 2, "fast": 0.001, "slow": 0.050},
    "W9-crawl": {"concurrency": 24, "per_key": 2, "fast": 0.100, "slow": 0.100},
}
IMPLS = ("streamkit", "streamkit ordered", "user limiter", "hand-written")
BACKENDS = ("asyncio", "trio")


def items_of(workload: str) -> list[Item]:
    if workload == "W9":
        return [(i % 20, i) for i in range(1000)]
    return [(0, i) for i in range(40)] + [(1 + i, 40 + i) for i in range(20)]


def ideal(workload: str) -> float:
    spec = WORKLOADS[workload]
    slow_items = sum(1 for host, _ in items_of(workload) if host == 0)
    return slow_items * spec["slow"] / spec["per_key"]


class Fetcher:
    """The simulated request: ``slow`` seconds on host 0, ``fast`` elsewhere; records when
    the last item of the other hosts was done."""

    def __init__(self, fast: float, slow: float) -> None:
        self.fast = fast
        self.slow = slow
        self.started = time.perf_counter()
        self.others_done = 0.0

    async def __call__(self, item: Item) -> Item:
        host = item[0]
        await anyio.sleep(self.slow if host == 0 else self.fast)
        if host != 0:
            self.others_done = time.perf_counter() - self.started
        return item


def host(item: Item) -> int:
    return item[0]


async def with_streamkit(
    items: list[Item], fetch: Fetcher, spec: dict[str, Any], ordered: bool
) -> list[Item]:
    op = sk.map_(
        fetch, concurrency=spec["concurrency"], key=host, per_key=spec["per_key"], ordered=ordered
    )
    return await sk.stream(items).pipe(op).collect()


async def with_user_limiter(items: list[Item], fetch: Fetcher, spec: dict[str, Any]) -> list[Item]:
    limiters: dict[int, anyio.CapacityLimiter] = {}

    async def limited(item: Item) -> Item:
        limiter = limiters.setdefault(item[0], anyio.CapacityLimiter(spec["per_key"]))
        async with limiter:
            return await fetch(item)

    op = sk.map_(limited, concurrency=spec["concurrency"], ordered=False)
    return await sk.stream(items).pipe(op).collect()


async def hand_written(items: list[Item], fetch: Fetcher, spec: dict[str, Any]) -> list[Item]:
    by_host: dict[int, list[Item]] = {}
    for item in items:
        by_host.setdefault(item[0], []).append(item)
    overall = anyio.CapacityLimiter(spec["concurrency"])
    out: list[Item] = []

    async def drain(queue: list[Item]) -> None:
        while queue:
            item = queue.pop(0)
            async with overall:
                out.append(await fetch(item))

    async with anyio.create_task_group() as tg:
        for queue in by_host.values():
            for _ in range(spec["per_key"]):
                tg.start_soon(drain, queue)
    return out


RUNNERS: dict[str, Callable[[list[Item], Fetcher, dict[str, Any]], Awaitable[list[Item]]]] = {
    "streamkit": lambda items, fetch, spec: with_streamkit(items, fetch, spec, False),
    "streamkit ordered": lambda items, fetch, spec: with_streamkit(items, fetch, spec, True),
    "user limiter": with_user_limiter,
    "hand-written": hand_written,
}


async def measure(impl: str, workload: str) -> dict[str, float]:
    spec = WORKLOADS[workload]
    run = RUNNERS[impl]
    await run([(0, 0), (1, 1)], Fetcher(0.0, 0.0), spec)  # warm-up
    items = items_of(workload)
    fetch = Fetcher(spec["fast"], spec["slow"])
    started = time.perf_counter()
    fetch.started = started
    out = await run(items, fetch, spec)
    wall = time.perf_counter() - started
    if sorted(out) != sorted(items):
        sys.exit(2)
    return {"wall": wall, "others_done": fetch.others_done}


def one_run(impl: str, backend: str, workload: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--one", impl, backend, workload],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def spread(values: list[float], unit: float = 1.0, fmt: str = "{:.2f}") -> str:
    shown = [v / unit for v in values]
    return (
        f"{fmt.format(statistics.median(shown))} "
        f"({fmt.format(min(shown))}-{fmt.format(max(shown))})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--one", nargs=3, metavar=("IMPL", "BACKEND", "WORKLOAD"))
    parser.add_argument("--output", default=str(Path(__file__).with_name("w9.md")))
    args = parser.parse_args()
    if args.one:
        impl, backend, workload = args.one
        print(json.dumps(anyio.run(measure, impl, workload, backend=backend)))
        return
    cases = [(w, b, i) for w in WORKLOADS for b in BACKENDS for i in IMPLS]
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {case: [] for case in cases}
    for _ in range(args.reps):  # interleaved rounds
        for case in cases:
            workload, backend, impl = case
            results[case].append(one_run(impl, backend, workload))
    lines = [
        "# W9: per-key limits",
        "",
        f"Median (min-max) of {args.reps} runs, each in a fresh process. "
        "Generated by `python benchmarks/w9.py`.",
        "",
        f"W9: 1,000 items, 20 hosts, host 0 50x slower, per_key=2, concurrency=32; "
        f"ideal {ideal('W9'):.2f} s (target <= 1.2x).",
        "",
        "| backend | impl | wall (s) | wall / ideal |",
        "|---|---|---|---|",
    ]
    for backend in BACKENDS:
        for impl in IMPLS:
            walls = [r["wall"] for r in results["W9", backend, impl]]
            lines.append(
                f"| {backend} | {impl} | {spread(walls)} | {spread(walls, ideal('W9'))}x |"
            )
    lines += [
        "",
        "W9-crawl: 40 items of a busy host first, then 20 items of 20 other hosts, 100 ms a "
        "call, per_key=2, concurrency=24. The other hosts need not wait: ideal about 0.1 s for "
        f"them, {ideal('W9-crawl'):.2f} s in all.",
        "",
        "| backend | impl | other hosts done (s) | wall (s) |",
        "|---|---|---|---|",
    ]
    for backend in BACKENDS:
        for impl in IMPLS:
            runs = results["W9-crawl", backend, impl]
            others = [r["others_done"] for r in runs]
            walls = [r["wall"] for r in runs]
            lines.append(f"| {backend} | {impl} | {spread(others)} | {spread(walls)} |")
    report = "\n".join(lines) + "\n"
    print(report)
    Path(args.output).write_text(report)


if __name__ == "__main__":
    main()
