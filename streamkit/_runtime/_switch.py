"""The switch: follow the inner stream of the latest input only (the runtime of ``switch_map``).

One task of the run's task group reads the upstream; each input opens an inner stream, read by
a task of its own. A new input first cancels the previous inner task, which closes its inner
stream, and waits for it to end; only then does the new one start. Inner items go into a
bounded queue that the consumer drains from :meth:`Switch.__anext__` in its own task, as a
:class:`~._pool.WorkerPool`'s results do.

Bounds: at most ``size`` items are queued; an inner task waits while the queue is full. Items
queued before a switch are still delivered (they were produced before the new input came). A
failure of ``open_inner`` or of an inner stream is queued after them, beyond the bound, and
stops the switch: the upstream is no longer read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Generic

import anyio
from outcome import Error, Outcome, Value

from .._types import T, U
from ._background import Background, Wakeup
from ._chain import aclose, closing

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
        super().__init__([source], stage, run)
        self._queue: deque[Outcome[U]] = deque()
        self._size = size
        self._source = source
        self._open_inner = open_inner
        self._room = Wakeup()
        self._inner_scope: anyio.CancelScope | None = None
        self._inner_ended = anyio.Event()

    async def __anext__(self) -> U:
        queue = self._queue
        while not queue:
            self._start()
            if self._finished:
                raise StopAsyncIteration
            await self._ready.wait()
        result = queue.popleft()
        self._room.notify()
        return result.unwrap()

    async def _run_tasks(self) -> None:
        async with closing(self._source), anyio.create_task_group() as inner_tasks:
            index = -1
            async for item in self._source:
                index += 1
                await self._stop_inner()
                scope = self._inner_scope = anyio.CancelScope()
                ended = self._inner_ended = anyio.Event()
                inner_tasks.start_soon(self._follow, item, index, scope, ended)

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
                            while len(self._queue) >= self._size:
                                await self._room.wait()
                            self._queue.append(Value(value))
                            self._ready.notify()
                    finally:
                        await aclose(inner)
                except Exception as exc:
                    self._stage.failed(exc, index, item)
                    self._queue.append(Error(exc))
                    self._ready.notify()
                    self._scope.cancel()
        finally:
            ended.set()
