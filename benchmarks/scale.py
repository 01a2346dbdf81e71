"""Scale-out benchmark (issue 14): chunked offload to dask and Ray, and offload() of a whole
sub-pipeline. ``nox -s bench-offload`` runs it and writes benchmarks/scale.md.

Usage::

    python benchmarks/scale.py                      # a few minutes on 2 cores
    python benchmarks/scale.py --rounds 5 --cpu-items 2000

Three tables, each of median (min-max) over interleaved rounds (every case once per round, the
order rotated), after a warm-up round on a small input; the clusters are started once, as in a
long-running program. Each case checks its output before its time counts. asyncio only: the work
runs outside the event loop.

- **Per-item overhead**: a trivial function on a dask ``LocalCluster`` of 2 worker processes,
  ``concurrency=8``: ``chunksize=1`` (one task per item, the default), ``256`` and ``"auto"``,
  against the hand-batched ``batch(1000) | map_(on_list) | flatten()``; Ray with
  ``chunksize=256``. Figure: us per item (target: <= 60 us at chunksize 256).
- **CPU-bound map**: items of ~10 ms of pure-Python work on 2 workers, sequential ``map_(work)``
  against chunked offload to ``executor="process"``, a ``ProcessPoolExecutor``, dask and Ray.
  Figure: speed-up over sequential (target: dask and Ray >= 1.6x).
- **I/O-bound offload**: ``offload(pipe(map_(fetch, concurrency=32)))`` with a simulated 5 ms
  latency on dask ``LocalCluster``\\ s of 1 and 4 worker processes, against the same pipeline in
  this process. Figure: throughput, and its ratio to one process (ideal: the worker count).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import anyio

from streamkit import batch, flatten, map_, offload, pipe, stream

HERE = Path(__file__).resolve().parent
Case = Callable[[int], Awaitable[None]]
"""Runs a case over that many items (checking its output)."""


def work(n: int) -> int:
    """Pure-Python CPU work: ``n`` loop steps."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def noop(x: int) -> int:
    return x


def on_list(xs: list[int]) -> list[int]:
    return [noop(x) for x in xs]


async def fetch(x: int) -> int:
    """A simulated request: 5 ms of latency."""
    await anyio.sleep(0.005)
    return x


def calibrate(seconds: float = 0.010) -> int:
    n = 100_000
    best = min(_timed(lambda: work(n)) for _ in range(5))
    return max(1, round(n * seconds / best))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mapped(operator: Any, check: Callable[[int], object]) -> Case:
    async def run(items: int) -> None:
        out = await stream(range(items)).pipe(operator).collect()
        assert out == [check(x) for x in range(items)], "wrong output"

    return run


def measure(cases: dict[str, tuple[Case, int]], rounds: int) -> dict[str, list[float]]:
    """Seconds per item of each case, over ``rounds`` after a warm-up round of 1% of items."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)

    async def run_rounds() -> None:
        for name in names:
            case, items = cases[name]
            await case(max(1, items // 100))
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                case, items = cases[name]
                start = time.perf_counter()
                await case(items)
                times[name].append((time.perf_counter() - start) / items)

    anyio.run(run_rounds)
    return times


def summary(samples: list[float], scale: float) -> str:
    values = sorted(s * scale for s in samples)
    return f"{statistics.median(values):.3g} ({values[0]:.3g}-{values[-1]:.3g})"


def table(
    times: dict[str, list[float]], cases: dict[str, tuple[Case, int]], figure: str, ratio: str
) -> list[str]:
    baseline = next(iter(times.values()))
    lines = [f"| case | items | {figure} | {ratio} (medians) | (mins) |", "|---|---|---|---|---|"]
    for name, samples in times.items():
        medians = statistics.median(baseline) / statistics.median(samples)
        mins = min(baseline) / min(samples)
        per_second = "us" not in figure
        value = summary([1 / s for s in samples], 1) if per_second else summary(samples, 1e6)
        shown = name.replace("|", "\\|")
        lines.append(f"| {shown} | {cases[name][1]} | {value} | {medians:.2f}x | {mins:.2f}x |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu-items", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=HERE / "scale.md")
    args = parser.parse_args()

    import distributed
    import ray

    from streamkit.ray import RayExecutor

    n = calibrate()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    out: list[str] = []
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
        ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool,
    ):
        dask: Executor = client.get_executor(pure=False)
        on_ray = RayExecutor()
        big = 40_000
        overhead: dict[str, tuple[Case, int]] = {
            "dask, chunksize=1 (one task per item)": (
                mapped(map_(noop, executor=dask, concurrency=8), noop),
                400,
            ),
            "dask, chunksize=256": (
                mapped(map_(noop, executor=dask, concurrency=8, chunksize=256), noop),
                big,
            ),
            'dask, chunksize="auto"': (
                mapped(map_(noop, executor=dask, concurrency=8, chunksize="auto"), noop),
                big,
            ),
            "dask, batch(1000) | map_(on_list) | flatten()": (
                mapped(
                    pipe(batch(1000), map_(on_list, executor=dask, concurrency=8), flatten()),
                    noop,
                ),
                big,
            ),
            "Ray, chunksize=256": (
                mapped(map_(noop, executor=on_ray, concurrency=8, chunksize=256), noop),
                big,
            ),
        }
        overhead_times = measure(overhead, args.rounds)
        out += ["## Per-item overhead: a trivial function, 2 workers, concurrency=8", ""]
        out += table(overhead_times, overhead, "us per item", "speed-up vs chunksize=1")

        expected = work(n)
        items = args.cpu_items

        cpu_cases: dict[str, tuple[Case, int]] = {
            "sequential map_(work)": (_fixed(n, expected, {}), items),
            'executor="process", chunksize="auto", concurrency=2': (
                _fixed(n, expected, {"executor": "process", "chunksize": "auto", "concurrency": 2}),
                items,
            ),
            'ProcessPoolExecutor(2), chunksize="auto", concurrency=4': (
                _fixed(n, expected, {"executor": pool, "chunksize": "auto", "concurrency": 4}),
                items,
            ),
            "dask (2 workers), concurrency=4, no chunks": (
                _fixed(n, expected, {"executor": dask, "concurrency": 4}),
                items,
            ),
            'dask (2 workers), chunksize="auto", concurrency=4': (
                _fixed(n, expected, {"executor": dask, "chunksize": "auto", "concurrency": 4}),
                items,
            ),
            "dask (2 workers), chunksize=32, concurrency=4": (
                _fixed(n, expected, {"executor": dask, "chunksize": 32, "concurrency": 4}),
                items,
            ),
            'Ray (2 CPUs), chunksize="auto", concurrency=4': (
                _fixed(n, expected, {"executor": on_ray, "chunksize": "auto", "concurrency": 4}),
                items,
            ),
        }
        cpu_times = measure(cpu_cases, args.rounds)
        out += ["", f"## CPU-bound map: {items} items of ~10 ms, 2 workers", ""]
        out += table(cpu_times, cpu_cases, "items per s", "speed-up vs sequential")

    io_items = 20_000
    sub = pipe(map_(fetch, concurrency=32))
    io_cases: dict[str, tuple[Case, int]] = {
        "one process: map_(fetch, concurrency=32)": (mapped(sub, noop), io_items)
    }
    clusters = []
    for workers in (1, 4):
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
        clusters.append((cluster, client))
        executor = client.get_executor(pure=False)
        io_cases[
            f"offload(sub, dask {workers} worker(s), chunksize=256, concurrency={2 * workers})"
        ] = (
            mapped(offload(sub, executor=executor, chunksize=256, concurrency=2 * workers), noop),
            io_items,
        )
    try:
        io_times = measure(io_cases, args.rounds)
    finally:
        for cluster, client in clusters:
            client.close()
            cluster.close()
    out += ["", f"## I/O-bound offload: {io_items} items, 5 ms latency each", ""]
    out += table(io_times, io_cases, "items per s", "vs one process")
    ray.shutdown()

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    head = [
        "# Scale-out benchmark",
        "",
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, streamkit {commit}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, load average {load} at "
        "the end (the machine is shared: absolute times are noisy).",
        f"Median (min-max) over {args.rounds} interleaved rounds after a warm-up round; "
        f"work(n={n}) ~10 ms per item.",
        "",
    ]
    text = "\n".join(head + out) + "\n"
    args.output.write_text(text)
    print(text)


def _fixed(n: int, expected: int, options: dict[str, Any]) -> Case:
    """A CPU-bound case: ``map_(work, **options)`` over ``count`` copies of ``n``."""

    async def run(count: int) -> None:
        out = await stream([n] * count).pipe(map_(work, **options)).collect()
        assert out == [expected] * count, "wrong output"

    return run


if __name__ == "__main__":
    main()
