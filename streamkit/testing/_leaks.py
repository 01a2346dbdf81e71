"""Leak checks: no task outlives the code under test."""

from __future__ import annotations

from types import TracebackType

import anyio
from anyio.lowlevel import checkpoint


class assert_no_leaked_tasks:  # lower case: it is used like a function, in async with
    """Fail if a task started inside the block is still running when the block ends.

    Every streamkit run keeps its tasks in one task group that ends with the run, so wrapping a
    consumer in this block checks that promise for your pipeline. When the block raises, the
    error goes on unchanged and nothing is checked.

    Example::

        async with assert_no_leaked_tasks():
            await stream(urls).pipe(map_(fetch, concurrency=8), take(3)).collect()

    Raises:
        AssertionError: naming the tasks left running.
    """

    __slots__ = ("_before",)

    async def __aenter__(self) -> None:
        self._before = {task.id for task in anyio.get_running_tasks()}

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            return
        await checkpoint()  # let tasks that were cancelled on the way out finish
        left = [task for task in anyio.get_running_tasks() if task.id not in self._before]
        names = ", ".join(repr(task.name) for task in left)
        assert not left, f"{len(left)} task(s) started in the block are still running: {names}"
