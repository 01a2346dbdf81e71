"""Measure one workload with one implementation on one backend, in this fresh process.

Usage: ``python benchmarks/_workloads.py W1 streamkit asyncio [--n N]``

Prints one JSON object on stdout: ``{"status": "ok", "wall_s": ..., "figures": {...}}``, or
``{"status": "unsupported", "reason": ...}``. Exits 2 (with the reason on stderr) if the output
is wrong: a wrong run never yields a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from types import ModuleType
from typing import Any

import _registry
import anyio
from _catalog import WORKLOADS, CheckFailed, Setup

BACKENDS = ("asyncio", "trio")


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(impl: ModuleType, setup: Setup) -> tuple[Any, float, dict[str, Any]]:
    """Run ``setup`` through ``impl``: its output, wall seconds and figures."""
    tasks_before = len(anyio.get_running_tasks())
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    output = await impl.run(setup.source, setup.stages, setup.consumer)
    wall = time.perf_counter() - start
    figures = setup.snapshot()
    figures["tasks_left"] = len(anyio.get_running_tasks()) - tasks_before
    figures["rss_growth_mib"] = peak_rss_mib() - rss_before
    if setup.consumer.first_at is not None:
        figures["first_result_s"] = setup.consumer.first_at - start
    return output, wall, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("impl", choices=_registry.MODULES)
    parser.add_argument("backend", choices=BACKENDS)
    parser.add_argument("--n", type=int, help="items (default: the workload's full size)")
    args = parser.parse_args(argv)

    workload = WORKLOADS[args.workload]
    n = args.n or workload.n
    setup = workload.make(n)
    reason = _registry.why_unsupported(args.impl, setup.stages, args.backend)
    if reason is not None:
        print(json.dumps({"status": "unsupported", "reason": reason}))
        return 0

    impl = _registry.load(args.impl)
    gc.collect()
    output, wall, figures = anyio.run(measure, impl, setup, backend=args.backend)
    try:
        setup.check(output)
    except CheckFailed as exc:
        print(f"{args.workload} {args.impl} {args.backend}: WRONG OUTPUT: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"status": "ok", "n": n, "wall_s": wall, "figures": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
