"""Run the benchmark suite of BENCHMARKS.md; print the report and write benchmarks/results.md.

Usage::

    python benchmarks/run.py            # the full suite (about 8 minutes on 2 cores)
    python benchmarks/run.py --quick    # a smoke run: 2 rounds, smaller n, prints only
    python benchmarks/run.py --only W3,W3u --reps 7

Every measurement runs ``_workloads.py`` in a fresh subprocess, so peak memory is per run.
Rounds are interleaved: each round measures every case once, in an order rotated per round.
Exits 1 if any run produced wrong output or crashed.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import _registry
from _catalog import WORKLOADS, Workload
from _report import Results, Row, floors, table, targets

HERE = Path(__file__).resolve().parent
BACKENDS = ("asyncio", "trio")
PACKAGES = ("streamkit", "anyio", "trio", "aiostream", "asyncstdlib")
RUN_TIMEOUT_S = 300
METHOD = (
    "Method: {rounds}, each measurement in a fresh subprocess, rounds interleaved (every case "
    "once per round, order rotated); median, min and max over the rounds. Time is wall clock "
    "around the pipeline alone (imports and event-loop start excluded); peak RSS Δ is the "
    "growth of `ru_maxrss` from just before the pipeline starts. Every output is checked before "
    "its time counts. `ratio`: per-item workloads (time/item) ÷ `asyncgen` on the same backend; "
    "wall-time workloads (ms) ÷ the ideal. `n` is smaller for slow peers (per-item figures stay "
    "comparable). `anyio-links` uses unbuffered links and, for ordered concurrent maps, an "
    "unbounded reorder buffer unless a window is given. `bare-pool` is the floor: N tasks "
    "sharing one iterator, no streaming."
)


@dataclass(frozen=True)
class Case:
    """One measurable (workload, backend, implementation) and its item count."""

    workload: Workload
    backend: str
    impl: str
    n: int

    @property
    def label(self) -> str:
        return f"{self.workload.key} {self.backend} {self.impl}"


def plan(workloads: list[Workload], backends: list[str], *, quick: bool) -> list[Row]:
    """One row per (workload, backend, implementation), unsupported ones marked skipped."""
    rows = []
    for workload in workloads:
        for backend in backends:
            for impl in workload.impls:
                n = (workload.quick_n if quick else workload.n) // workload.reduced.get(impl, 1)
                stages = workload.make(n).stages
                skipped = _registry.why_unsupported(impl, stages, backend)
                rows.append(Row(workload, backend, impl, n, skipped=skipped))
    return rows


def measure(row: Row) -> None:
    """Run one measurement in a fresh process and add its sample (or failure) to ``row``."""
    command = [
        sys.executable,
        str(HERE / "_workloads.py"),
        row.workload.key,
        row.impl,
        row.backend,
        f"--n={row.n}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        row.failures.append(f"timed out after {RUN_TIMEOUT_S} s")
        return
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        row.failures.append(lines[-1])
        return
    sample: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if sample["status"] != "ok":
        row.failures.append(f"unexpected status {sample}")
        return
    row.samples.append(sample)


def run_rounds(rows: list[Row], reps: int) -> None:
    """Measure every runnable row ``reps`` times, round after round."""
    runnable = [row for row in rows if row.skipped is None]
    by_workload: dict[str, list[Row]] = {}
    for row in runnable:
        by_workload.setdefault(row.workload.key, []).append(row)
    for round_ in range(reps):
        for group in by_workload.values():
            shift = round_ % len(group)
            for row in group[shift:] + group[:shift]:
                measure(row)
                last = f"{row.values()[-1]:.4g}" if row.samples else "FAILED"
                print(
                    f"[round {round_ + 1}/{reps}] {row.workload.key} {row.backend} {row.impl}: "
                    f"{last}",
                    file=sys.stderr,
                    flush=True,
                )


def streamkit_state() -> str:
    """The streamkit code measured: HEAD, plus a digest of any uncommitted diff under it."""
    state = _git("rev-parse", "--short", "HEAD") or "unknown"
    diff = _git("diff", "HEAD", "--", str(HERE.parent / "streamkit"))
    if diff:
        state += f" + uncommitted changes (diff {hashlib.sha1(diff.encode()).hexdigest()[:7]})"
    return state


def machine_info(state: str, started: datetime.datetime) -> list[str]:
    """Lines describing where and with what the suite ran."""
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    return [
        f"- date: {started:%Y-%m-%d %H:%M %Z}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.platform()}",
        f"- CPUs: {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})",
        f"- {', '.join(versions)}; streamkit at git {state}",
    ]


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(HERE), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


@dataclass(frozen=True)
class Session:
    """What the rounds ran against: settings, and streamkit's state before and after."""

    reps: int
    quick: bool
    started: datetime.datetime
    state_before: str
    state_after: str


def report(rows: list[Row], backends: list[str], session: Session) -> str:
    """The whole markdown report."""
    changed = session.state_before != session.state_after
    results = Results(rows)
    workloads = {row.workload.key: row.workload for row in rows}.values()
    legend = [f"- **{w.key}**: {w.title}" + _ideal(w) for w in workloads]
    return "\n".join([
        "# streamkit benchmark results" + (" (quick smoke run)" if session.quick else ""),
        "",
        "Produced by `python benchmarks/run.py"
        + (" --quick" if session.quick else "")
        + "` (`nox -s bench`); the workloads and targets are those of BENCHMARKS.md.",
        "",
        *machine_info(session.state_before, session.started),
        *(
            [f"- **WARNING: streamkit changed during the run**, to {session.state_after}"]
            if changed
            else []
        ),
        "",
        METHOD.format(rounds=f"{session.reps} round{'s' * (session.reps != 1)}"),
        "",
        *legend,
        "",
        "## Targets",
        "",
        targets(results, backends),
        "",
        "Even a zero-overhead pool (bare-pool) does not reach the ideals (sleep overshoot; in W3 "
        "and W3u the tail of the 100 ms items); the floors measured in this run:",
        "",
        floors(results, backends),
        "",
        "## Results",
        "",
        table(results),
        "",
    ])


def _ideal(workload: Workload) -> str:
    if workload.ideal_s is None:
        return ""
    return f" (ideal {workload.ideal_s * 1e3:.4g} ms)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds and smaller n")
    parser.add_argument("--reps", type=int, help="rounds (default 5, or 2 with --quick)")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W3u")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="default: asyncio,trio")
    parser.add_argument(
        "--output", type=Path, help="default: benchmarks/results.md (none with --quick)"
    )
    args = parser.parse_args(argv)

    keys = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [key for key in keys if key not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    backends = args.backends.split(",")
    reps = args.reps or (2 if args.quick else 5)
    output = args.output or (None if args.quick else HERE / "results.md")

    started, state_before = datetime.datetime.now().astimezone(), streamkit_state()
    rows = plan([WORKLOADS[key] for key in keys], backends, quick=args.quick)
    run_rounds(rows, reps)
    session = Session(reps, args.quick, started, state_before, streamkit_state())
    text = report(rows, backends, session)
    print(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 1 if any(row.failures for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
