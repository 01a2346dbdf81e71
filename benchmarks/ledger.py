"""The ledger's cost per item: a W1-like pipeline (sync map over a list) and a W3-like one
(async map, concurrency 16), each without and with ``skip_done`` + ``mark_done`` on a fresh
SQLite file at the default batching. Also the longest event-loop stall seen while commits run.

Run: ``python benchmarks/ledger.py [--items N] [--backend trio]``. Best of 3 runs each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from functools import partial
from typing import Any

import anyio

from streamkit import Ledger, Stream, map_, stream


async def w3_fn(n: int) -> int:
    await anyio.lowlevel.checkpoint()
    return n


def pipelines(items: int, ledger: Ledger | None) -> dict[str, Stream[int]]:
    around: tuple[Any, ...] = ()
    after: tuple[Any, ...] = ()
    if ledger is not None:
        around, after = (ledger.skip_done(key=int),), (ledger.mark_done(key=int),)
    return {
        "W1 sync map": stream(range(items)).pipe(*around, map_(lambda n: n + 1), *after),
        "W3 async map c=16": stream(range(items)).pipe(
            *around, map_(w3_fn, concurrency=16), *after
        ),
    }


async def drain(items: int, ledger: Ledger | None, name: str) -> None:
    await pipelines(items, ledger)[name].drain()


async def timed(make: Callable[[], Coroutine[Any, Any, None]]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        await make()
        best = min(best, time.perf_counter() - started)
    return best


async def max_stall(run: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """The longest gap between ticks of a 0.5 ms ticker while ``run`` goes."""
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while True:
            await anyio.sleep(0.0005)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.0005)
            last = now

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await run()
        tg.cancel_scope.cancel()
    return worst


async def main(items: int) -> None:
    folder = tempfile.mkdtemp()
    print(f"{items} items, best of 3; ledger at default batching (1000 keys or 1 s)")
    print(f"{'pipeline':<20} {'plain us/item':>14} {'ledger us/item':>15} {'cost us/item':>13}")
    for name in pipelines(1, None):
        plain = await timed(partial(drain, items, None, name))
        files = iter(range(1000))

        async def with_ledger(name: str = name, files: Iterator[int] = files) -> None:
            ledger = Ledger(os.path.join(folder, f"{name[:2]}-{next(files)}.sqlite"))
            await drain(items, ledger, name)
            ledger.close()

        led = await timed(with_ledger)
        print(
            f"{name:<20} {plain / items * 1e6:>14.2f} {led / items * 1e6:>15.2f} "
            f"{(led - plain) / items * 1e6:>13.2f}"
        )
    ledger = Ledger(os.path.join(folder, "stall.sqlite"))
    stall = await max_stall(lambda: pipelines(items, ledger)["W3 async map c=16"].drain())
    print(f"longest event-loop stall beyond the 0.5 ms tick, ledger run: {stall * 1e3:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    anyio.run(main, args.items, backend=args.backend)
