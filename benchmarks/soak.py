"""Soak test: a long run with failures and retries must keep memory flat and leave no task.

Usage::

    python benchmarks/soak.py                    # 1,000,000 items, both backends, both modes
    python benchmarks/soak.py --n 200000 --backends trio --concurrency 16

Each (backend, concurrency) runs in a fresh subprocess. The pipeline is
``stream(range(n)) | map_(flaky, concurrency=c, retry=Retry(...), on_error=Failures(limit=100))
| filter_(...)`` consumed by ``count()``-style iteration. ``flaky`` fails 1% of the items once
(retried, then succeeds) and 0.1% for good (recorded, dropped). The run checks exact
accounting (outputs + failures == inputs, retries as injected), samples the resident set size
every 10% of the items, and counts the tasks alive before and after. Memory is flat when the
RSS after the first 10% does not grow with n (a leak of even 10 bytes per item would show as
~10 MB at 1M items). It is a benchmark, not a unit test: it takes minutes, not milliseconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio

HERE = Path(__file__).resolve().parent


def rss_mib() -> float:
    """The current resident set size (Linux ``/proc/self/statm``), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


async def soak(n: int, concurrency: int) -> dict[str, Any]:
    from anyio.lowlevel import checkpoint

    from streamkit import Failures, Retry, filter_, map_, stream

    attempts: dict[int, int] = {}

    async def flaky(x: int) -> int:
        await checkpoint()
        if x % 100 == 7:  # 1%: fails once, then succeeds on retry
            if attempts.pop(x, 0) == 0:
                attempts[x] = 1
                raise ConnectionError(x)
        elif x % 1000 == 13:  # 0.1%: fails for good (3 attempts)
            raise ConnectionError(x)
        return x

    failures = Failures(limit=100)
    policy = Retry(ConnectionError, attempts=3, backoff=0)
    every = max(n // 10, 1)
    samples: list[float] = []
    tasks_before = len(anyio.get_running_tasks())
    out = 0
    start = time.perf_counter()
    pipeline = stream(range(n)).pipe(
        map_(flaky, concurrency=concurrency, retry=policy, on_error=failures),
        filter_(lambda x: x >= 0),
    )
    async with pipeline.open() as items:
        async for _ in items:
            out += 1
            if out % every == 0:
                samples.append(round(rss_mib(), 2))
        stats = items.statistics()
    wall = time.perf_counter() - start
    await checkpoint()
    tasks_after = len(anyio.get_running_tasks())

    permanent = len([x for x in range(n) if x % 1000 == 13 and x % 100 != 7])
    transient = len([x for x in range(n) if x % 100 == 7])
    ok = out + failures.count == n and failures.count == permanent and not attempts
    ok = ok and stats.retries == transient + 2 * permanent and stats.failed == permanent
    return {
        "n": n,
        "concurrency": concurrency,
        "wall_s": round(wall, 2),
        "us_per_item": round(wall / max(n, 1) * 1e6, 2),
        "outputs": out,
        "failures": failures.count,
        "retries": stats.retries,
        "accounting_ok": ok,
        "rss_mib_every_10pct": samples,
        "rss_growth_after_10pct_mib": round(samples[-1] - samples[0], 2) if samples else 0.0,
        "tasks_before": tasks_before,
        "tasks_after": tasks_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--backends", default="asyncio,trio")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated, e.g. 1,16")
    parser.add_argument(
        "--one", nargs=2, metavar=("BACKEND", "CONCURRENCY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        backend, concurrency = args.one[0], int(args.one[1])
        result = anyio.run(soak, args.n, concurrency, backend=backend)
        print(json.dumps({"backend": backend, **result}))
        return
    failed = False
    print(
        "| backend | concurrency | n | wall s | us/item | failures | retries | accounting "
        "| RSS MiB every 10% of outputs | growth after the first 10% | tasks before/after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        for concurrency in args.concurrency.split(","):
            done = subprocess.run(
                [sys.executable, __file__, f"--n={args.n}", "--one", backend, concurrency],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                print(f"| {backend} | {concurrency} | FAILED: {done.stderr.strip()[-300:]} |")
                failed = True
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            leak = r["tasks_after"] != r["tasks_before"]
            failed = failed or leak or not r["accounting_ok"]
            print(
                f"| {backend} | {concurrency} | {r['n']:,} | {r['wall_s']} | {r['us_per_item']} "
                f"| {r['failures']} | {r['retries']} | {'ok' if r['accounting_ok'] else 'WRONG'} "
                f"| {' '.join(map(str, r['rss_mib_every_10pct']))} "
                f"| {r['rss_growth_after_10pct_mib']} | {r['tasks_before']}/{r['tasks_after']} |",
                flush=True,
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
