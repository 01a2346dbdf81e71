"""Running a pipeline for synchronous code: :meth:`Stream.open_sync` and :class:`SyncPipeline`.

The pipeline runs in an event loop of its own in a background thread (anyio's
:func:`~anyio.from_thread.start_blocking_portal`). One task there, the *feed*, consumes the
pipeline inside ``async with s.open() as pipeline:`` and hands each item over a zero-size
memory object stream; the calling thread receives them through the portal, one blocking call
per item. So the pipeline's task group lives in one task of that loop, entered and left there,
and nothing ever yields out of it (PEP 789).

Leaving the ``with`` block (at the end, by ``break``, by an exception or ``KeyboardInterrupt``)
cancels only the feed's wait for the next item; the feed then leaves ``open()`` as a ``break``
would (every stage stopped, the source closed, with its cleanup grace), the loop is stopped and
its thread joined before ``__exit__`` returns. An error of the pipeline ends the iteration with
that exception object, raised in the calling thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias

import anyio
import sniffio
from anyio.abc import TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._types import T

if TYPE_CHECKING:
    from ._hooks import Hooks
    from ._observe import PipelineStatistics
    from ._stream import Pipeline, Stream

Backend: TypeAlias = Literal["asyncio", "trio"]
"""The event loops :meth:`Stream.open_sync` can run a pipeline in."""


class SyncPipeline(Iterator[T], Generic[T]):
    """A running pipeline's output for synchronous code, yielded by :meth:`Stream.open_sync`.

    Iterate it with ``for``; one thread at a time. :meth:`statistics`, :meth:`stop_intake`,
    :meth:`pause` and :meth:`resume` are those of :class:`Pipeline`, called in its loop.

    Example::

        with stream(urls).pipe(map_(fetch, concurrency=8)).open_sync() as pages:
            for page in pages:
                print(page)
        print(pages.statistics().bottleneck_hint())
    """

    __slots__ = ("_closed", "_feed", "_final", "_pipeline", "_portal", "_receive")

    def __init__(
        self,
        portal: BlockingPortal,
        receive: MemoryObjectReceiveStream[T],
        pipeline: Pipeline[T],
        feed: Future[None],
    ) -> None:
        self._portal = portal
        self._receive = receive
        self._pipeline = pipeline
        self._feed = feed
        self._closed = False
        self._final: PipelineStatistics | None = None

    def __iter__(self) -> SyncPipeline[T]:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise anyio.ClosedResourceError("the pipeline's with block has ended")
        try:
            return self._portal.call(self._receive.receive)
        except anyio.EndOfStream:
            self._feed.result()  # the pipeline's error, as itself; else the end
            raise StopIteration from None

    def statistics(self) -> PipelineStatistics:
        """:meth:`Pipeline.statistics`: while the block runs, and final after it."""
        if self._final is not None:
            return self._final
        return self._portal.call(self._pipeline.statistics)

    def stop_intake(self) -> None:
        """:meth:`Pipeline.stop_intake`: pull no more, deliver what was pulled, then end."""
        self._portal.call(self._pipeline.stop_intake)

    def pause(self) -> None:
        """:meth:`Pipeline.pause`."""
        self._portal.call(self._pipeline.pause)

    def resume(self) -> None:
        """:meth:`Pipeline.resume`."""
        self._portal.call(self._pipeline.resume)


class _Feed(Generic[T]):
    """The task that consumes the pipeline in the loop's thread and hands items over."""

    def __init__(self, stream: Stream[T], hooks: Hooks | None, progress: bool) -> None:
        self._stream = stream
        self._hooks = hooks
        self._progress = progress
        self._waiting: anyio.CancelScope | None = None
        self._stopped = False

    def stop(self) -> None:
        """End the feed as a ``break`` would (called in the loop's thread)."""
        self._stopped = True
        if self._waiting is not None:
            self._waiting.cancel()

    async def run(
        self,
        send: MemoryObjectSendStream[T],
        *,
        task_status: TaskStatus[Pipeline[T]] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        with send:
            opened = self._stream.open(hooks=self._hooks, progress=self._progress)
            async with opened as pipeline:
                self._waiting = waiting = anyio.CancelScope()
                if self._stopped:
                    waiting.cancel()
                task_status.started(pipeline)
                with waiting:
                    async for item in pipeline:
                        await send.send(item)


class SyncOpened(AbstractContextManager[SyncPipeline[T]]):
    """The ``with`` block of :meth:`Stream.open_sync` (see the module's docstring)."""

    def __init__(
        self,
        stream: Stream[T],
        backend: Backend,
        backend_options: dict[str, Any] | None,
        hooks: Hooks | None,
        progress: bool,
    ) -> None:
        if backend not in ("asyncio", "trio"):
            raise ValueError(f"backend must be 'asyncio' or 'trio', got {backend!r}")
        self._feed = _Feed(stream, hooks, progress)
        self._backend = backend
        self._backend_options = backend_options
        self._exits = ExitStack()
        self._items: SyncPipeline[T] | None = None
        self._entered = False

    def __enter__(self) -> SyncPipeline[T]:
        if self._entered:
            raise RuntimeError(
                "this open_sync() context manager was already entered; each run needs its "
                "own: call s.open_sync() again"
            )
        self._entered = True
        _refuse_in_event_loop()
        with ExitStack() as exits:
            portal = exits.enter_context(
                start_blocking_portal(self._backend, self._backend_options)
            )
            send, receive = anyio.create_memory_object_stream[T](0)
            exits.callback(portal.call, receive.close)
            feed, pipeline = portal.start_task(self._feed.run, send)
            self._items = SyncPipeline(portal, receive, pipeline, feed)
            self._exits = exits.pop_all()
        return self._items

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        items = self._items
        assert items is not None
        items._closed = True  # pyright: ignore[reportPrivateUsage]
        feed = items._feed  # pyright: ignore[reportPrivateUsage]
        error: BaseException | None = None
        try:
            portal = items._portal  # pyright: ignore[reportPrivateUsage]
            if not feed.done():
                portal.call(self._feed.stop)
            error = feed.exception()  # waits for the feed to leave open()
            items._final = portal.call(items._pipeline.statistics)  # pyright: ignore[reportPrivateUsage]
        finally:
            self._exits.__exit__(exc_type, exc, traceback)  # stops the loop, joins its thread
        if error is None:
            return
        if exc is None:
            raise error
        if error is not exc:
            exc.add_note(f"streamkit: stopping the pipeline also raised {error!r}")


def _refuse_in_event_loop() -> None:
    """``open_sync()`` blocks its thread: refuse to freeze a running event loop."""
    try:
        library: str | None = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        try:
            asyncio.get_running_loop()
            library = "asyncio"
        except RuntimeError:
            library = None
    if library is not None:
        raise RuntimeError(
            f"open_sync() was called in a running {library} event loop: it would block the "
            "loop's thread while it waits for items. In async code use "
            "'async with s.open() as items: async for item in items: ...'"
        )
