"""The switch: follow the inner stream of the latest input only (the runtime of ``switch_map``).

One task of the run's task group reads the upstream; each input opens an inner stream, read by
a task of its own. A new input first cancels the previous inner task, which closes its inner
stream, and waits for it to end; only then does the new one start. Inner items go into a
bounded queue that the consumer drains from :meth:`Switch.__anext__` in its own task, as a
:class:`~._pool.WorkerPool`'s results do.

Bounds: at most ``size`` items are queued; an inner task waits while the queue is full. Items
queued before a switch are still delivered (they were produced before the new input came), and
a switched-out inner stream gets :data:`~._closing.CLEANUP_GRACE` seconds for its async cleanup.
A failure of ``open_inner`` or of an inner stream stops the switch: the upstream is no longer
read, and the failure is raised after the items queued before it. A failure of the upstream
takes the place of its end: the last inner stream is read to its end, then it is raised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Generic

import anyio

from .._errors import in_task
from .._types import T, U
from ._background import Background, Outbox
from ._closing import close_in_grace, closing

if TYPE_CHECKING:
    from ._run import Run
    from ._stage import Stage

OpenInner = Callable[[T], Awaitable[AsyncIterator[U]]]
"""Turns one input into the inner stream to follow (closing it closes what it opened)."""


class Switch(Background[U], Generic[T, U]):
    """The output of ``switch_map``; iterating it starts the task that reads the upstream."""

    def __init__(
        self,
        source: AsyncIterator[T],
        open_inner: OpenInner[T, U],
        stage: Stage,
        run: Run,
        *,
        size: int,
    ) -> None:
        self._queue = Outbox[U](size)
        super().__init__([source], stage, run, self._queue)
        self._source = source
        self._open_inner = open_inner
        self._follower = in_task(self._follow)
        self._inner_scope: anyio.CancelScope | None = None
        self._inner_ended = anyio.Event()

    async def _run_tasks(self) -> None:
        async with closing(self._source, self._close), anyio.create_task_group() as inner_tasks:
            index = -1
            try:
                async for item in self._source:
                    index += 1
                    await self._stop_inner()
                    scope = self._inner_scope = anyio.CancelScope()
                    ended = self._inner_ended = anyio.Event()
                    inner_tasks.start_soon(self._follower, item, index, scope, ended)
            except Exception as exc:  # the upstream's: raised once the last inner has ended
                if self._scope.cancel_called:  # the stage is closing: nobody would see it
                    raise
                self._end_with(exc)

    async def _stop_inner(self) -> None:
        if self._inner_scope is not None:
            self._inner_scope.cancel()
            await self._inner_ended.wait()

    async def _follow(
        self, item: T, index: int, scope: anyio.CancelScope, ended: anyio.Event
    ) -> None:
        try:
            with scope:
                try:
                    inner = await self._open_inner(item)
                    try:
                        async for value in inner:
                            if await self._queue.put(value):
                                self._ready.notify()
                    finally:
                        if scope.cancel_called and not self._scope.cancel_called:
                            await close_in_grace(inner)  # switched out: an ordinary close
                        else:
                            await self._close(inner)
                except Exception as exc:
                    self._stage.failed(exc, index, item)
                    self._end_with(exc)
                    self._scope.cancel()
        finally:
            ended.set()
