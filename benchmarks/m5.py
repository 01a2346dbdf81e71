"""M5: a zero-latency concurrent map at concurrency 2, 64, 512 and 1024, against a hand-written
anyio pool (c workers sharing one iterator, a checkpoint per item) in the same process.

Run: ``python benchmarks/m5.py`` (both backends; best of 3 after a warm-up; us per item).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable

import anyio
from anyio.lowlevel import checkpoint

import streamkit as sk

N = 20_000
CONCURRENCY = (2, 64, 512, 1024)


async def work(x: int) -> int:
    return x + 1


async def hand_written(c: int) -> int:
    source = iter(range(N))
    results: dict[int, int] = {}

    async def worker() -> None:
        for index in source:
            results[index] = await work(index)
            await checkpoint()

    async with anyio.create_task_group() as tg:
        for _ in range(c):
            tg.start_soon(worker)
    return len(results)


def streamkit_map(ordered: bool) -> Callable[[int], Awaitable[int]]:
    async def run(c: int) -> int:
        return await sk.stream(range(N)).pipe(sk.map_(work, concurrency=c, ordered=ordered)).count()

    return run


async def best(run: Callable[[int], Awaitable[int]], c: int) -> float:
    await run(c)  # warm-up
    times = []
    for _ in range(3):
        started = time.perf_counter()
        assert await run(c) == N
        times.append(time.perf_counter() - started)
    return min(times) / N * 1e6


async def main() -> None:
    impls = {
        "hand-written pool": hand_written,
        "streamkit ordered": streamkit_map(True),
        "streamkit unordered": streamkit_map(False),
    }
    print("| impl | " + " | ".join(f"c={c}" for c in CONCURRENCY) + " |")
    print("|---|" + "---|" * len(CONCURRENCY))
    figures = {name: [await best(run, c) for c in CONCURRENCY] for name, run in impls.items()}
    pool = figures["hand-written pool"]
    for name, row in figures.items():
        cells = [
            f"{us:.1f} us" + ("" if name == "hand-written pool" else f" ({us / p:.2f}x)")
            for us, p in zip(row, pool, strict=True)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    for backend in sys.argv[1:] or ["asyncio", "trio"]:
        print(f"\n{backend}\n")
        anyio.run(main, backend=backend)
