"""Offload benchmark: CPU-bound map on threads/processes/dask, and the executor bridge's cost.

Usage::

    python benchmarks/offload.py             # about a minute on 2 cores; writes offload.md
    python benchmarks/offload.py --rounds 5

Two parts, each a table of median (min-max) over interleaved rounds (every case once per round)
after a warm-up round, in one process and one event loop per backend, so worker processes and
the dask cluster are started once, as in a long-running program:

- **CPU-bound map**: 200 items of about 10 ms of pure-Python work each (calibrated at start),
  sequential ``map_(work)`` against ``executor="process"``, a ``ProcessPoolExecutor`` and a dask
  ``LocalCluster``, all with 2 workers (``concurrency=2``; dask ``concurrency=4`` to keep both
  workers fed across the network hop). Ratio: sequential / case, of medians and of mins
  (higher is better; the machine's core count is the ceiling). On asyncio only: the work runs
  outside the event loop.
- **Bridge overhead**: 10,000 trivial calls awaited one at a time, ``await
  anyio.to_thread.run_sync(fn, x)`` against ``await wait_future(pool.submit(fn, x))`` with a
  one-thread ``ThreadPoolExecutor`` (the bridge behind ``executor=<Executor>``), and both through
  ``map_`` (``executor="thread"`` and ``executor=pool``), on asyncio and trio. Figure: us per call.

Not part of ``run.py``'s suite: that one compares implementations of the same workloads, this
one compares executors of one implementation.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from streamkit import map_, stream
from streamkit._runtime._offload import wait_future

HERE = Path(__file__).resolve().parent
ITEMS = 200
CALLS = 10_000


def work(n: int) -> int:
    """Pure-Python CPU work: ``n`` loop steps."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def noop(x: int) -> int:
    return x


def calibrate(seconds: float = 0.010) -> int:
    """Loop steps of :func:`work` that take about ``seconds`` here and now (best of 5)."""
    n = 100_000
    best = min(_timed(lambda: work(n)) for _ in range(5))
    return max(1, round(n * seconds / best))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


Case = Callable[[], Awaitable[None]]


def cpu_cases(n: int, process_pool: Executor, dask_executor: Executor | None) -> dict[str, Case]:
    items = [n] * ITEMS
    expected = [work(n)] * ITEMS

    def case(**options: Any) -> Case:
        async def run() -> None:
            out = await stream(items).pipe(map_(work, **options)).collect()
            assert out == expected

        return run

    cases = {
        "sequential map_(work)": case(),
        'executor="process", concurrency=2': case(executor="process", concurrency=2),
        "ProcessPoolExecutor(2), concurrency=2": case(executor=process_pool, concurrency=2),
    }
    if dask_executor is not None:
        cases["dask LocalCluster(2 workers), concurrency=4"] = case(
            executor=dask_executor, concurrency=4
        )
    return cases


def bridge_cases(thread_pool: Executor) -> dict[str, Case]:
    async def to_thread_loop() -> None:
        for i in range(CALLS):
            assert await anyio.to_thread.run_sync(noop, i) == i

    async def bridge_loop() -> None:
        for i in range(CALLS):
            assert await wait_future(thread_pool.submit(noop, i)) == i

    def through_map(executor: str | Executor) -> Case:
        async def run() -> None:
            out = await stream(range(CALLS)).pipe(map_(noop, executor=executor)).count()
            assert out == CALLS

        return run

    return {
        "await anyio.to_thread.run_sync(fn, x)": to_thread_loop,
        "await wait_future(pool.submit(fn, x))": bridge_loop,
        'map_(fn, executor="thread")': through_map("thread"),
        "map_(fn, executor=pool)": through_map(thread_pool),
    }


def measure(cases: dict[str, Case], backend: str, rounds: int) -> dict[str, list[float]]:
    """Times of each case over ``rounds``, after one warm-up round (which starts the worker
    processes and threads), all in one event loop so workers are reused as in a long run."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)

    async def run_rounds() -> None:
        for r in range(rounds + 1):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start = time.perf_counter()
                await cases[name]()
                if r:
                    times[name].append(time.perf_counter() - start)

    anyio.run(run_rounds, backend=backend)
    return times


def summary(samples: list[float], scale: float) -> str:
    values = sorted(s * scale for s in samples)
    return f"{statistics.median(values):.3g} ({values[0]:.3g}-{values[-1]:.3g})"


def cpu_table(times: dict[str, list[float]]) -> list[str]:
    baseline = times["sequential map_(work)"]
    lines = [
        "| case | wall s | speed-up vs sequential (medians) | (mins) |",
        "|---|---|---|---|",
    ]
    for name, samples in times.items():
        medians = statistics.median(baseline) / statistics.median(samples)
        mins = min(baseline) / min(samples)
        lines.append(f"| {name} | {summary(samples, 1)} | {medians:.2f}x | {mins:.2f}x |")
    return lines


def bridge_table(by_backend: dict[str, dict[str, list[float]]]) -> list[str]:
    lines = [
        "| case | backend | us per call | / to_thread.run_sync (medians) | (mins) |",
        "|---|---|---|---|---|",
    ]
    for backend, times in by_backend.items():
        baseline = times["await anyio.to_thread.run_sync(fn, x)"]
        for name, samples in times.items():
            medians = statistics.median(samples) / statistics.median(baseline)
            mins = min(samples) / min(baseline)
            per_call = summary(samples, 1e6 / CALLS)
            lines.append(f"| {name} | {backend} | {per_call} | {medians:.2f}x | {mins:.2f}x |")
    return lines


def header(n: int, rounds: int) -> list[str]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        "# Offload benchmark",
        "",
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, streamkit {commit}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, load average {load} "
        "at the end (the machine is shared: absolute times are noisy).",
        f"Median (min-max) over {rounds} interleaved rounds after a warm-up round; "
        f"work(n={n}) ~10 ms per item.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "offload.md")
    args = parser.parse_args()
    n = calibrate()
    with (
        ProcessPoolExecutor(2, mp_context=get_context("spawn")) as process_pool,
        ThreadPoolExecutor(1) as thread_pool,
    ):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("distributed not installed: no dask row", file=sys.stderr)
            cpu = measure(cpu_cases(n, process_pool, None), "asyncio", args.rounds)
        else:
            with (
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                dask_executor = client.get_executor(pure=False)
                cpu = measure(cpu_cases(n, process_pool, dask_executor), "asyncio", args.rounds)
        bridge = {
            backend: measure(bridge_cases(thread_pool), backend, args.rounds)
            for backend in ("asyncio", "trio")
        }
    report = [
        *header(n, args.rounds),
        "",
        f"## CPU-bound map: {ITEMS} items of ~10 ms",
        "",
        *cpu_table(cpu),
        "",
        f"## Bridge overhead: {CALLS:,} trivial calls, one at a time",
        "",
        *bridge_table(bridge),
        "",
    ]
    text = "\n".join(report)
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
