"""The stages of a sub-pipeline that runs on workers (:func:`offload`), as the caller's
``statistics()`` shows them: each one's counters summed over every chunk that came back.

They are listed right after the offload stage, once the first chunk is back (until then the
caller cannot know what the sub-pipeline's stages are: it is built on the workers).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from ._stage import Stage

if TYPE_CHECKING:
    from .._observe import StageStatistics


class RemoteStage(Stage):
    """One stage of an offloaded sub-pipeline; :meth:`statistics` reports the sum over the
    chunks so far. Its ``concurrency`` and ``window`` are the sub-pipeline's times the chunks
    that may run at once: the capacity of the whole cluster."""

    __slots__ = ("_at_once", "_total")

    def __init__(self, first: StageStatistics, at_once: int, offload: Stage) -> None:
        super().__init__(f"{first.operator} (offloaded)", build=offload.build)
        self._total = first
        self._at_once = at_once

    def add(self, chunk: StageStatistics) -> None:
        """Add the counters of one more chunk's run of this stage."""
        total = self._total
        self._total = replace(
            total,
            items_in=_add(total.items_in, chunk.items_in),
            items_out=_add(total.items_out, chunk.items_out),
            skipped=total.skipped + chunk.skipped,
            failed=total.failed + chunk.failed,
            retries=total.retries + chunk.retries,
            peak_held=max(total.peak_held, chunk.peak_held),
            busy_time=_add(total.busy_time, chunk.busy_time),
            abandoned_threads=total.abandoned_threads + chunk.abandoned_threads,
        )

    def statistics(self, elapsed: float) -> StageStatistics:
        total = self._total
        return replace(
            total,
            operator=self.name,
            concurrency=total.concurrency * self._at_once,
            window=total.window * self._at_once,
            in_flight=0,
            held=0,
            buffered=0,
            elapsed=elapsed,
        )


class RemoteStages:
    """The stages of one offload stage's sub-pipeline, in one run."""

    __slots__ = ("_at_once", "_offload", "_stages")

    def __init__(self, offload: Stage, at_once: int) -> None:
        self._offload = offload
        self._at_once = at_once
        self._stages: list[RemoteStage] | None = None

    def add(self, stages: tuple[StageStatistics, ...]) -> None:
        """Add one chunk's statistics; the first chunk's lists the stages in the run."""
        if self._stages is None:
            self._stages = [RemoteStage(first, self._at_once, self._offload) for first in stages]
            build = self._offload.build
            if build.listed and build.run is not None:
                listed = build.run.stages
                at = listed.index(self._offload) + 1
                listed[at:at] = self._stages
            return
        for stage, chunk in zip(self._stages, stages, strict=False):
            stage.add(chunk)


N = TypeVar("N", int, float)


def _add(a: N | None, b: N | None) -> N | None:
    if a is None or b is None:
        return a if b is None else b
    return a + b
