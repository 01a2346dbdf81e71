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
    """Items whose call failed and were dropped because of ``on_error="skip"``."""
    in_flight: int
    """Calls running right now (concurrent stages only; otherwise 0)."""
    held: int
    """Inputs pulled and not yet emitted (running, or done and waiting for their turn)."""
    buffered: int
    """Results waiting for the consumer (the reorder backlog)."""
    peak_held: int
    """The most inputs held at once; never more than the stage's ``window``."""


@dataclass(frozen=True, slots=True)
class PipelineStatistics:
    """Counters of every streamkit operator of a run, upstream first."""

    stages: tuple[StageStatistics, ...]
    """One entry per streamkit operator (user-written operators are not counted)."""

    @property
    def skipped(self) -> int:
        """Failed items dropped by ``on_error="skip"``, over all stages."""
        return sum(stage.skipped for stage in self.stages)
