"""Frozen snapshots of what a pipeline is doing, returned by ``statistics()``."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

SATURATED = 0.5
"""A stage busy at least this fraction of its capacity is reported as the bottleneck."""


@dataclass(frozen=True, slots=True)
class StageStatistics:
    """Counters of one operator in one run.

    Example::

        async with stream(data).pipe(map_(parse, on_error="skip")).open() as items:
            rows = [row async for row in items]
        print(items.statistics().stages[0].skipped)
    """

    operator: str
    """The operator as written, e.g. ``map_(fetch, concurrency=16)``."""
    # -- observe (#5): counts, buffers and time ----------------------------------------------
    items_in: int | None
    """Items pulled from upstream; ``None`` for operators that do not count (``take``,
    ``skip``, ``scan``, ``enumerate_``, ``batch`` without timeout, sequential ``flat_map``)."""
    items_out: int | None
    """Items emitted downstream; ``None`` where :attr:`items_in` is."""
    skipped: int
    """Items whose call failed and were dropped (``on_error="skip"``, or a handler returned
    :data:`~streamkit.SKIP`, as :class:`~streamkit.Failures` does)."""
    failed: int
    """Calls that failed for good (after any retries), whatever ``on_error`` did with them."""
    retries: int
    """Attempts retried because of ``retry=``."""
    concurrency: int
    """How many calls may run at once (1 for a sequential stage)."""
    in_flight: int
    """Calls running right now."""
    window: int
    """How many inputs the stage may hold (its buffer size); 0 for a sequential stage."""
    held: int
    """Inputs pulled and not yet emitted (running, or done and waiting for their turn)."""
    peak_held: int
    """The most inputs held at once; never more than :attr:`window`."""
    buffered: int
    """Results waiting for the consumer (the reorder backlog)."""
    busy_time: float | None
    """Seconds spent in the operator's calls, summed over its workers; ``None`` for operators
    that call no function. A sequential stage times one call in 16 and scales it up, which
    keeps the hot path cheap; a concurrent stage times every call."""
    elapsed: float
    """Seconds since the run started (until it ended, for a finished run)."""
    abandoned_threads: int = 0
    """With ``executor="thread"``: worker threads still running a call that timed out or was
    cancelled. A thread cannot be stopped, so each keeps one of the ``concurrency`` slots until
    its function returns; new calls wait for a free slot meanwhile."""
    keys_active: int | None = None
    """With ``key=``: keys with at least one call running; ``None`` without ``key=``."""
    keys_waiting: int | None = None
    """With ``key=``: keys at their ``per_key`` limit with inputs waiting for a call of theirs
    to end; ``None`` without ``key=``."""
    waiting_for_key: int | None = None
    """With ``key=``: inputs waiting for their key's turn (held, counted in :attr:`held`)."""

    @property
    def throughput(self) -> float | None:
        """Items emitted per second over the run so far; ``None`` if not counted."""
        if self.items_out is None or self.elapsed <= 0:
            return None
        return self.items_out / self.elapsed

    @property
    def utilization(self) -> float | None:
        """The fraction of its capacity the stage was busy (:attr:`busy_time` divided by
        :attr:`elapsed` times :attr:`concurrency`), or ``None`` if not timed."""
        if self.busy_time is None or self.elapsed <= 0:
            return None
        return min(self.busy_time / (self.elapsed * self.concurrency), 1.0)


@dataclass(frozen=True, slots=True)
class PipelineStatistics:
    """Counters of every streamkit operator of a run, upstream first.

    In a notebook it shows as a table.
    """

    stages: tuple[StageStatistics, ...]
    """One entry per streamkit operator (user-written operators are not counted)."""
    elapsed: float
    """Seconds since the run started (until it ended, for a finished run)."""
    finished: bool
    """Whether the run has ended."""
    paused: bool = False
    """Whether :meth:`Pipeline.pause` holds the source."""

    @property
    def skipped(self) -> int:
        """Failed items dropped (``on_error="skip"`` or a handler), over all stages."""
        return sum(stage.skipped for stage in self.stages)

    @property
    def failed(self) -> int:
        """Calls that failed for good, over all stages."""
        return sum(stage.failed for stage in self.stages)

    @property
    def retries(self) -> int:
        """Attempts retried, over all stages."""
        return sum(stage.retries for stage in self.stages)

    @property
    def bottleneck(self) -> StageStatistics | None:
        """The stage busiest relative to its capacity, if it is busy at least half the time;
        ``None`` if no stage is (then the source or the consumer sets the pace)."""
        timed = [s for s in self.stages if s.utilization is not None]
        if not timed:
            return None
        busiest = max(timed, key=lambda s: s.utilization or 0.0)
        return busiest if (busiest.utilization or 0.0) >= SATURATED else None

    def bottleneck_hint(self) -> str:
        """One sentence on which stage is saturated and which stages wait for it.

        Example::

            print(items.statistics().bottleneck_hint())
            # map_(fetch, concurrency=4) is the bottleneck: busy 97% of its capacity
            # (4 calls at once); raise its concurrency. Waiting on it: filter_(ok) (1%)
        """
        timed = [s for s in self.stages if s.utilization is not None]
        if not timed:
            return "no stage calls a function, so there is nothing to time"
        bottleneck = self.bottleneck
        if bottleneck is None:
            busiest = max(timed, key=lambda s: s.utilization or 0.0)
            return (
                f"no stage is saturated (the busiest, {busiest.operator}, is busy "
                f"{busiest.utilization:.0%}): the source or the consumer sets the pace"
            )
        calls = "1 call" if bottleneck.concurrency == 1 else f"{bottleneck.concurrency} calls"
        waiting = ", ".join(
            f"{s.operator} ({s.utilization:.0%})" for s in timed if s is not bottleneck
        )
        return (
            f"{bottleneck.operator} is the bottleneck: busy {bottleneck.utilization:.0%} of its "
            f"capacity ({calls} at once); raise its concurrency"
            + (f". Waiting on it: {waiting}" if waiting else "")
        )

    def _repr_html_(self) -> str:
        columns = "operator in out skipped in&nbsp;flight held&nbsp;/&nbsp;window peak backlog"
        columns += " busy&nbsp;s items/s busy&nbsp;%"
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _cells(stage)) + "</tr>"
            for stage in self.stages
        )
        state = "finished" if self.finished else "paused" if self.paused else "running"
        return (
            "<table><thead><tr>"
            + "".join(f"<th>{name}</th>" for name in columns.split())
            + f"</tr></thead><tbody>{rows}</tbody></table>"
            + f"<p>{state}, {self.elapsed:.3f} s: {escape(self.bottleneck_hint())}</p>"
        )


def _cells(stage: StageStatistics) -> tuple[str, ...]:
    def show(value: float | None, form: str = "{}") -> str:
        return "-" if value is None else form.format(value)

    return (
        stage.operator,
        show(stage.items_in),
        show(stage.items_out),
        str(stage.skipped),
        f"{stage.in_flight} / {stage.concurrency}",
        f"{stage.held} / {stage.window}" if stage.window else "-",
        str(stage.peak_held) if stage.window else "-",
        str(stage.buffered) if stage.window else "-",
        show(stage.busy_time, "{:.3f}"),
        show(stage.throughput, "{:.1f}"),
        show(stage.utilization, "{:.0%}"),
    )
