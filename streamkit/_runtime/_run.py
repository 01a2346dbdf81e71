"""One run of a pipeline: the single task group that every stage's tasks live in.

The consumer gets the pipeline's output from an async context manager and iterates it in its
own task; no generator ever yields from inside the task group (PEP 789). Leaving the block, for
any reason, closes every iterator (downstream first, so the source is closed last), cancels the
task group with the reason ``"streamkit pipeline closed"`` and waits for every task to end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

from .._errors import raise_single
from .._source import Source
from .._types import T
from ._build import Build
from ._closing import Parts, closing
from ._stage import Stage

if TYPE_CHECKING:
    from .._gate import Gate
    from .._hooks import Hooks
    from .._observe import PipelineStatistics

_current_run: ContextVar[Run | None] = ContextVar("streamkit_run", default=None)


class Run:
    """The task group and the stages of one execution of a pipeline."""

    __slots__ = ("ended", "hooks", "stages", "started", "task_group")

    def __init__(self, task_group: TaskGroup, hooks: Hooks | None = None) -> None:
        self.task_group: TaskGroup = task_group
        self.stages: list[Stage] = []
        """The listed stages, upstream first (made through a :class:`Build`)."""
        self.hooks: Hooks | None = hooks
        self.started: float = perf_counter()
        self.ended: float | None = None

    def elapsed(self) -> float:
        """Seconds since the run started, or that it lasted once it has ended."""
        return (self.ended or perf_counter()) - self.started

    def statistics(self) -> PipelineStatistics:
        """A snapshot of every stage's counters, upstream first."""
        from .._observe import PipelineStatistics

        elapsed = self.elapsed()
        return PipelineStatistics(
            tuple(stage.statistics(elapsed) for stage in self.stages),
            elapsed=elapsed,
            finished=self.ended is not None,
        )


def current_run() -> Run | None:
    """The run whose task group the calling code executes in, if any."""
    return _current_run.get()


@asynccontextmanager
async def open_run(
    source: Source[T],
    hooks: Hooks | None = None,
    label: str = "pipeline",
    gate: Gate | None = None,
) -> AsyncGenerator[tuple[Run, Parts[T]]]:
    """Build ``source`` inside a fresh task group and hand its parts to the caller.

    ``hooks`` hear of the run's start and end (``label`` names the pipeline to them).
    """
    if hooks is not None:
        hooks.run_started(label)
    run: Run | None = None
    error: BaseException | None = None
    try:
        try:
            async with anyio.create_task_group() as task_group:
                run = Run(task_group, hooks)
                token = _current_run.set(run)
                try:
                    parts = await Build(run).open(source, gate)
                    async with closing(parts):
                        yield run, parts
                finally:
                    task_group.cancel_scope.cancel("streamkit pipeline closed")
                    _current_run.reset(token)
        except BaseExceptionGroup as group:
            raise_single(group)
    except BaseException as exc:
        error = exc
        raise
    finally:
        if run is not None:
            run.ended = perf_counter()
            if hooks is not None:
                hooks.run_finished(run.statistics(), error)
