"""Turn the measurements into the markdown report: header, results table, targets.

A :class:`Row` holds every sample of one (workload, backend, implementation). Ratios compare
medians: per-item workloads with ``asyncgen`` on the same backend, wall workloads with the
workload's ideal (and, where measured, with the ``bare-pool`` floor). Per-item rows also show
the ratio of best runs, which shared machines disturb less.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from _catalog import W4_CONCURRENCY, W4_TAKE, Workload

REFERENCE = "asyncgen"
FLOOR = "bare-pool"
SUBJECT = "streamkit"
W4_MAX_PULLED = W4_TAKE + W4_CONCURRENCY  # + buffer: the W4 pipeline has no buffer() stage
W7_DEFAULT_MAX_S = 2.25
MICROSECONDS = "\N{MICRO SIGN}s"


@dataclass
class Row:
    """Every sample of one workload, backend and implementation."""

    workload: Workload
    backend: str
    impl: str
    n: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None

    def values(self) -> list[float]:
        """The primary figure of each sample: microseconds per item, or wall ms."""
        if self.workload.metric == "per_item":
            return [s["wall_s"] / s["n"] * 1e6 for s in self.samples]
        return [s["wall_s"] * 1e3 for s in self.samples]

    def median(self) -> float | None:
        values = self.values()
        return statistics.median(values) if values else None

    def best(self) -> float | None:
        values = self.values()
        return min(values) if values else None

    def figure(self, name: str) -> list[Any]:
        """One named figure of every sample that has it."""
        return [s["figures"][name] for s in self.samples if name in s["figures"]]

    def first_result_ms(self) -> list[float]:
        """Time to the first result minus item 0's own latency, where the workload defines it."""
        latency = self.workload.first_latency_s
        if latency is None:
            return []
        return [(t - latency) * 1e3 for t in self.figure("first_result_s")]

    def series(self, name: str) -> list[Any]:
        """``"value"`` (the primary figure), ``"first_result_ms"`` or a named figure."""
        if name == "value":
            return self.values()
        if name == "first_result_ms":
            return self.first_result_ms()
        return self.figure(name)


class Results:
    """All rows, looked up by (workload key, backend, implementation)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = list(rows)
        self._by_key = {(r.workload.key, r.backend, r.impl): r for r in self.rows}

    def get(self, workload: str, backend: str, impl: str = SUBJECT) -> Row | None:
        row = self._by_key.get((workload, backend, impl))
        return row if row is not None and row.samples else None

    def ratio(self, row: Row) -> float | None:
        """Median ÷ the workload's baseline (``asyncgen`` or the ideal)."""
        median = row.median()
        if median is None:
            return None
        if row.workload.metric == "per_item":
            reference = self.get(row.workload.key, row.backend, REFERENCE)
            base = reference.median() if reference else None
            return median / base if base else None
        assert row.workload.ideal_s is not None
        return median / (row.workload.ideal_s * 1e3)

    def min_ratio(self, row: Row) -> float | None:
        """Best run ÷ the reference's best run, for per-item workloads (less noise-prone)."""
        reference = self.get(row.workload.key, row.backend, REFERENCE)
        if row.workload.metric != "per_item" or reference is None or row.impl == REFERENCE:
            return None
        best, base = row.best(), reference.best()
        return best / base if best is not None and base else None

    def floor_ratio(self, row: Row) -> float | None:
        """Median ÷ the ``bare-pool`` floor's median on the same backend, if measured."""
        floor = self.get(row.workload.key, row.backend, FLOOR)
        base = floor.median() if floor is not None and row.impl != FLOOR else None
        median = row.median()
        return median / base if median is not None and base else None


# -- formatting -----------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits (whole if larger), an int as is, or a dash."""
    if value is None:
        return "-"
    if isinstance(value, int) or abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:#.{digits}g}".rstrip(".")


def _spread(values: list[Any]) -> str:
    if not values:
        return "-"
    low, mid, high = min(values), statistics.median_low(values), max(values)
    return fmt(mid) if low == high else f"{fmt(mid)} ({fmt(low)}-{fmt(high)})"


def notes(results: Results, row: Row) -> str:
    """The figures beyond the primary one, as a short phrase."""
    if row.skipped:
        return f"skipped: {row.skipped}"
    parts: list[str] = []
    if row.failures:
        parts.append(f"FAILED {len(row.failures)}x: {row.failures[0]}")
    if (best := results.min_ratio(row)) is not None:
        parts.append(f"ratio of mins {fmt(best)}x")
    floor = results.floor_ratio(row)
    if floor is not None:
        parts.append(f"{fmt(floor)}x bare-pool")
    if first := row.first_result_ms():
        parts.append(f"first result +{_spread(first)} ms")
    if closed := row.figure("source_closed"):
        parts.append(f"source closed {sum(closed)}/{len(closed)}")
    if pulled := row.figure("pulled"):
        parts.append(f"pulled {_spread(pulled)}")
    if during := row.figure("done_while_slow"):
        parts.append(f"done while item 0 ran: {_spread(during)}")
    left = row.figure("tasks_left")
    if any(left):
        parts.append(f"tasks left running: {max(left)}")
    return "; ".join(parts)


def table(results: Results) -> str:
    """The results table, one line per (workload, backend, implementation)."""
    lines = [
        "| workload | backend | impl | n | median | min | max | ratio | peak RSS Δ MiB | notes |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results.rows:
        values = row.values()
        unit = f" {MICROSECONDS}/item" if row.workload.metric == "per_item" else " ms"
        cells = (
            [fmt(statistics.median(values)) + unit, fmt(min(values)), fmt(max(values))]
            if values
            else ["-", "-", "-"]
        )
        ratio = results.ratio(row)
        rss = row.figure("rss_growth_mib")
        lines.append(
            f"| {row.workload.key} | {row.backend} | {row.impl} | "
            + (f"{row.n:,} | " if row.skipped is None else "- | ")
            + " | ".join(cells)
            + f" | {fmt(ratio) + 'x' if ratio is not None else '-'}"
            + f" | {fmt(statistics.median(rss), 2) if rss else '-'} | {notes(results, row)} |"
        )
    return "\n".join(lines)


# -- targets ----------------------------------------------------------------------------------

Verdict = tuple[str, bool]
"""What was measured, and whether it meets the target."""


@dataclass(frozen=True)
class Target:
    """One goal of BENCHMARKS.md, checked for streamkit on each backend."""

    text: str
    judge: Callable[[Results, str], Verdict | None]


def _ratio_at_most(workload: str, limit: float) -> Callable[[Results, str], Verdict | None]:
    def judge(results: Results, backend: str) -> Verdict | None:
        row = results.get(workload, backend)
        ratio = results.ratio(row) if row else None
        return None if ratio is None else (f"{fmt(ratio)}x", ratio <= limit)

    return judge


def _series(
    workload: str, name: str, summary: Callable[[list[Any]], Verdict]
) -> Callable[[Results, str], Verdict | None]:
    def judge(results: Results, backend: str) -> Verdict | None:
        row = results.get(workload, backend)
        values = row.series(name) if row else []
        return summary(values) if values else None

    return judge


def _median_at_most(limit: float, unit: str) -> Callable[[list[Any]], Verdict]:
    def summary(values: list[Any]) -> Verdict:
        median = statistics.median(values)
        return f"{fmt(median)}{unit}", median <= limit

    return summary


def _max_at_most(limit: float, unit: str) -> Callable[[list[Any]], Verdict]:
    def summary(values: list[Any]) -> Verdict:
        return f"max {fmt(max(values))}{unit}", max(values) <= limit

    return summary


def _all_runs(values: list[Any]) -> Verdict:
    good = sum(map(bool, values))
    return f"{good}/{len(values)} runs", good == len(values)


def _none_left(values: list[Any]) -> Verdict:
    return _all_runs([v == 0 for v in values])


TARGETS = (
    Target("W1 ≤ 0.85x asyncgen (goal 0.7x)", _ratio_at_most("W1", 0.85)),
    Target("W2 ≤ 1.0x asyncgen", _ratio_at_most("W2", 1.0)),
    Target("W3 ≤ 1.2x ideal", _ratio_at_most("W3", 1.2)),
    Target(
        "W3 first result ≤ 5 ms after item 0's latency",
        _series("W3", "first_result_ms", _median_at_most(5, " ms")),
    ),
    Target("W3u ≤ 1.1x ideal", _ratio_at_most("W3u", 1.1)),
    Target("W4 ≤ 60 ms", _series("W4", "value", _median_at_most(60, " ms"))),
    Target("W4 source closed before take returns", _series("W4", "source_closed", _all_runs)),
    Target("W4 nothing left running", _series("W4", "tasks_left", _none_left)),
    Target(
        f"W4 pulled ≤ 10 taken + concurrency 16 + buffer 0 = {W4_MAX_PULLED}",
        _series("W4", "pulled", _max_at_most(W4_MAX_PULLED, "")),
    ),
    Target("W5 peak RSS growth ≤ 2 MiB", _series("W5", "rss_growth_mib", _max_at_most(2, " MiB"))),
    Target("W5 ≤ 1.0x asyncgen per item", _ratio_at_most("W5", 1.0)),
    Target("W6 ≤ 1.5x asyncgen", _ratio_at_most("W6", 1.5)),
    Target("W7 window=1000 ≤ 1.1x ideal", _ratio_at_most("W7w", 1.1)),
    Target(
        f"W7 default window ≤ {W7_DEFAULT_MAX_S} s",
        _series("W7", "value", _median_at_most(W7_DEFAULT_MAX_S * 1e3, " ms")),
    ),
)


def floors(results: Results, backends: Iterable[str]) -> str:
    """How close the bare-pool floor itself gets to each ideal, and streamkit to the floor."""
    lines = []
    for row in results.rows:
        if row.impl != FLOOR or not row.samples or row.backend not in backends:
            continue
        subject = results.get(row.workload.key, row.backend)
        floor_ratio = results.floor_ratio(subject) if subject else None
        first = row.first_result_ms()
        lines.append(
            f"- {row.workload.key} on {row.backend}: bare-pool {fmt(results.ratio(row))}x ideal"
            + (f" (first result +{_spread(first)} ms)" if first else "")
            + f"; streamkit {fmt(floor_ratio)}x bare-pool"
        )
    return "\n".join(lines)


def targets(results: Results, backends: Iterable[str]) -> str:
    """The targets table: streamkit's figure and PASS/MISS per backend."""
    backends = list(backends)
    lines = [
        "| target (streamkit) | " + " | ".join(backends) + " |",
        "|---|" + "---|" * len(backends),
    ]
    for target in TARGETS:
        cells = []
        for backend in backends:
            verdict = target.judge(results, backend)
            if verdict is None:
                cells.append("not measured")
            else:
                measured, ok = verdict
                cells.append(f"{measured} **{'PASS' if ok else 'MISS'}**")
        lines.append(f"| {target.text} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
