"""Frozen snapshots of what a pipeline is doing, returned by ``statistics()``."""

from __future__ import annotations

from dataclasses import dataclass


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
    skipped: int
    """Items whose call failed and were dropped (``on_error="skip"``, or a handler returned
    :data:`~streamkit.SKIP`, as :class:`~streamkit.Failures` does)."""
    in_flight: int
    """Calls running right now (concurrent stages only; otherwise 0)."""
    held: int
    """Inputs pulled and not yet emitted (running, or done and waiting for their turn)."""
    buffered: int
    """Results waiting for the consumer (the reorder backlog)."""
    peak_held: int
    """The most inputs held at once; never more than the stage's ``window``."""
    failed: int = 0
    """Calls that failed for good (after any retries), whatever ``on_error`` did with them."""
    retries: int = 0
    """Attempts retried because of ``retry=``."""


@dataclass(frozen=True, slots=True)
class PipelineStatistics:
    """Counters of every streamkit operator of a run, upstream first."""

    stages: tuple[StageStatistics, ...]
    """One entry per streamkit operator (user-written operators are not counted)."""

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
