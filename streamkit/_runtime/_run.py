"""One run of a pipeline: the single task group that every stage's tasks live in.

The consumer gets the pipeline's output from an async context manager and iterates it in its
own task; no generator ever yields from inside the task group (PEP 789). Leaving the block, for
any reason, closes every iterator (downstream first, so the source is closed last), cancels the
task group with the reason ``"streamkit pipeline closed"`` and waits for every task to end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

import anyio
from anyio.abc import TaskGroup

from .._errors import raise_single
from .._options import OnError
from .._types import T
from ._chain import Chain, close_while_failing
from ._stage import Stage

_current_run: ContextVar[Run | None] = ContextVar("streamkit_run", default=None)


class Run:
    """The task group and the stages of one execution of a pipeline."""

    __slots__ = ("stages", "task_group")

    def __init__(self, task_group: TaskGroup) -> None:
        self.task_group = task_group
        self.stages: list[Stage] = []

    def add_stage(self, name: str, on_error: OnError = "raise") -> Stage:
        stage = Stage(name, on_error)
        self.stages.append(stage)
        return stage


def current_run() -> Run | None:
    """The run whose task group the calling code executes in, if any."""
    return _current_run.get()


@asynccontextmanager
async def running(build: Callable[[], Chain[T]]) -> AsyncGenerator[tuple[Run, Chain[T]]]:
    """Build a pipeline inside a fresh task group and hand its chain to the caller."""
    try:
        async with anyio.create_task_group() as task_group:
            run = Run(task_group)
            token = _current_run.set(run)
            try:
                chain = build()
                try:
                    yield run, chain
                except BaseException:
                    await close_while_failing(chain.aclose)
                    raise
                await chain.aclose()
            finally:
                task_group.cancel_scope.cancel("streamkit pipeline closed")
                _current_run.reset(token)
    except BaseExceptionGroup as group:
        raise_single(group)
