"""Hooks: callbacks a run makes as things happen, for logging, tracing or progress displays.

streamkit imports no logging or tracing library; a :class:`Hooks` subclass bridges to one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from ._runtime._closing import aclose
from ._types import T

if TYPE_CHECKING:
    from ._observe import PipelineStatistics, StageStatistics
    from ._runtime._run import Run
    from ._runtime._stage import Stage


class Hooks:
    """Override the methods for the events you want; the others do nothing.

    Pass an instance to :meth:`Stream.open` or to a consumer such as :meth:`Stream.collect`
    (``hooks=...``). Hooks run in the pipeline's tasks, synchronously: keep them quick, and
    do not await in them. An exception a hook raises propagates like a failure of the stage.
    Without hooks a run pays nothing for them; with hooks, each streamkit stage's output is
    read through one extra async generator that reports its items.

    Stages are named by their operator as written, e.g. ``map_(fetch, concurrency=4)``.

    Example::

        class Log(Hooks):
            def error(self, stage, exc, index, item, *, skipped):
                logging.warning("%s failed on item %d: %r", stage, index, exc)

        await stream(rows).pipe(map_(parse, on_error="skip")).collect(hooks=Log())
    """

    __slots__ = ()

    def run_started(self, pipeline: str) -> None:
        """The run of ``pipeline`` (the stream's repr) is starting."""

    def run_finished(self, statistics: PipelineStatistics, error: BaseException | None) -> None:
        """The run ended (``error`` is what ended it, if anything), with its final counters."""

    def stage_started(self, stage: str) -> None:
        """``stage`` was asked for its first item."""

    def stage_finished(self, stage: StageStatistics) -> None:
        """A stage ended (exhausted, failed or closed early), with its final counters."""

    def item_emitted(self, stage: str, item: object) -> None:
        """``stage`` passed ``item`` downstream."""

    def error(self, stage: str, exc: Exception, index: int, item: object, *, skipped: bool) -> None:
        """``stage``'s call on item ``index`` raised ``exc`` (after any retries); ``skipped``
        says whether ``on_error="skip"`` dropped the item (otherwise the error goes to the
        ``on_error`` handler, if there is one, or on its way to you)."""

    def retry(
        self, stage: str, exc: Exception, index: int, item: object, *, attempt: int, delay: float
    ) -> None:
        """``stage``'s call on item ``index`` raised ``exc`` and is retried after ``delay``
        seconds; ``attempt`` is the number of the attempt that failed (1 for the first)."""


class HookList(Hooks):
    """Several hooks called in turn, for each event."""

    __slots__ = ("hooks",)

    def __init__(self, hooks: Iterable[Hooks]) -> None:
        self.hooks = tuple(hooks)

    def run_started(self, pipeline: str) -> None:
        for hook in self.hooks:
            hook.run_started(pipeline)

    def run_finished(self, statistics: PipelineStatistics, error: BaseException | None) -> None:
        for hook in self.hooks:
            hook.run_finished(statistics, error)

    def stage_started(self, stage: str) -> None:
        for hook in self.hooks:
            hook.stage_started(stage)

    def stage_finished(self, stage: StageStatistics) -> None:
        for hook in self.hooks:
            hook.stage_finished(stage)

    def item_emitted(self, stage: str, item: object) -> None:
        for hook in self.hooks:
            hook.item_emitted(stage, item)

    def error(self, stage: str, exc: Exception, index: int, item: object, *, skipped: bool) -> None:
        for hook in self.hooks:
            hook.error(stage, exc, index, item, skipped=skipped)

    def retry(
        self, stage: str, exc: Exception, index: int, item: object, *, attempt: int, delay: float
    ) -> None:
        for hook in self.hooks:
            hook.retry(stage, exc, index, item, attempt=attempt, delay=delay)


async def observed(output: AsyncIterator[T], stage: Stage, run: Run) -> AsyncIterator[T]:
    """``output`` (a stage's), reporting its start, items and end to the run's hooks."""
    hooks = run.hooks
    assert hooks is not None
    name = stage.name
    hooks.stage_started(name)
    try:
        async for item in output:
            hooks.item_emitted(name, item)
            yield item
    finally:
        try:
            await aclose(output)
        finally:
            hooks.stage_finished(stage.statistics(run.elapsed()))
