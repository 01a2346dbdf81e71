"""Where streams come from: :data:`stream` (coercion plus the source constructors) and
:func:`open_pipeline`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, Never, overload

import anyio

from ._ops._combine import chain, merge, zip_
from ._options import check_int, check_seconds
from ._push import Overflow, PushSource
from ._source import IteratorSource, as_source, label_of, sync_items
from ._stream import Pipeline, Stream
from ._threaded import SourceExecutor, ThreadedSource, check_source_executor
from ._types import T1, T2, T3, T4, T5, T6, T7, AnyIterable, Operator, T, V


class StreamFactory:
    """:data:`stream`: make a :class:`Stream` from a source, or from a source constructor."""

    __slots__ = ()

    @overload
    def __call__(self, source: Stream[T], /) -> Stream[T]: ...
    @overload
    def __call__(self, source: AsyncIterable[T], /) -> Stream[T]: ...
    @overload
    def __call__(
        self, source: Iterable[T], /, *, executor: SourceExecutor | None = None
    ) -> Stream[T]: ...
    def __call__(self, source: object, /, *, executor: SourceExecutor | None = None) -> Stream[Any]:
        """A lazy stream over ``source``: an iterable, an async iterable, a :class:`Stream` or
        an anyio object receive stream.

        A one-shot source (an iterator, a generator, an async generator, a receive stream) can
        be consumed once; a second run raises :class:`StreamConsumedError`.

        With ``executor="thread"``, ``source`` is a *blocking* sync iterable (a database cursor,
        a file reader, a sync client's pages): each run iterates it in a worker thread of its
        own, one item per hop, so the event loop never waits on it. Early exit closes it in
        that thread (a generator's ``finally`` runs); its errors reach the consumer as
        themselves. See :doc:`flow`.

        Example::

            assert await stream([1, 2, 3]).collect() == [1, 2, 3]

            def rows():  # blocks between rows
                with sqlite3.connect("jobs.db") as db:
                    yield from db.execute("SELECT id, url FROM jobs")

            jobs = await stream(rows(), executor="thread").pipe(take(10)).collect()

        Raises:
            TypeError: ``source`` is none of these; or ``executor`` is given with a source
                that is not a sync iterable.
            ValueError: ``executor`` is not ``"thread"``.
        """
        if executor is not None:
            return Stream(_threaded(source, executor))
        made = as_source(source)
        return made if isinstance(made, Stream) else Stream(made)

    def __repr__(self) -> str:
        return "streamkit.stream"

    @staticmethod
    def range(*args: int) -> Stream[int]:
        """The integers of ``range(*args)``.

        Example::

            assert await stream.range(2, 8, 3).collect() == [2, 5]
        """
        numbers = range(*args)
        label = f"stream.range({', '.join(map(str, args))})"
        return _fresh(label, lambda: sync_items(numbers))

    @staticmethod
    def count(start: int = 0, step: int = 1) -> Stream[int]:
        """``start``, ``start + step``, ... without end.

        Example::

            assert await stream.count(10, 5).pipe(take(3)).collect() == [10, 15, 20]
        """
        check_int("start", start, minimum=-(2**63))
        check_int("step", step, minimum=-(2**63))
        shown = (start, step) if step != 1 else (start,) if start else ()
        label = f"stream.count({', '.join(map(str, shown))})"
        return _fresh(label, lambda: sync_items(itertools.count(start, step)))

    @staticmethod
    def repeat(value: T, times: int | None = None) -> Stream[T]:
        """``value`` again and again: ``times`` times, or without end.

        Example::

            assert await stream.repeat("x", times=2).collect() == ["x", "x"]
        """
        if times is None:
            return _fresh(f"stream.repeat({value!r})", lambda: sync_items(itertools.repeat(value)))
        check_int("times", times, minimum=0)
        return _fresh(
            f"stream.repeat({value!r}, times={times})",
            lambda: sync_items(itertools.repeat(value, times)),
        )

    @staticmethod
    def interval(seconds: float) -> Stream[int]:
        """0, 1, 2, ... one every ``seconds``, the first after ``seconds``, without drift.

        Tick ``i`` is due at ``start + (i + 1) * seconds``; a slow consumer delays a tick but
        not the ones after it.

        Example::

            async with stream.interval(0.5).pipe(take(3)).open() as ticks:
                async for tick in ticks:
                    print("tick", tick)
        """
        period = check_seconds("seconds", seconds)
        return _fresh(f"stream.interval({seconds})", lambda: _ticks(period))

    @staticmethod
    def push(size: int, *, overflow: Overflow = "wait") -> PushSource[V]:  # pyright: ignore[reportInvalidTypeVarUse]
        """A stream that producers push items into, for code that calls a function per item
        (callbacks, other tasks, threads) rather than being iterated.

        Producers call :meth:`~PushSource.send` (``await``: waits while the buffer of ``size``
        items is full, which is backpressure) or :meth:`~PushSource.send_nowait` (for sync
        callbacks). When the buffer is full, ``overflow`` decides:

        - ``"wait"`` (default): ``send`` waits; ``send_nowait`` raises :exc:`anyio.WouldBlock`.
        - ``"drop_oldest"``: the oldest buffered item is dropped to make room;
          ``"drop_newest"``: the new item is dropped. Neither waits; drops are counted in
          :attr:`PushSource.dropped`.

        The producer ends the stream with :meth:`~PushSource.close` (the consumer gets what
        was sent, then the stream ends) or :meth:`~PushSource.fail` (then the given exception
        is raised to the consumer). Sending after that raises
        :exc:`anyio.ClosedResourceError`; sending after the consumer has finished (say an
        early ``take``) raises :exc:`anyio.BrokenResourceError`, so a producer learns to stop.

        The source is one-shot (a second run raises :exc:`StreamConsumedError`) and belongs to
        one event loop. Items may be sent before the run starts (up to ``size``). Other tasks
        call the methods directly; a thread calls them through ``anyio.from_thread``:
        ``anyio.from_thread.run(feed.send, item)`` from a thread started by
        :func:`anyio.to_thread.run_sync`, or ``portal.call(feed.send, item)`` with an
        :class:`anyio.from_thread.BlockingPortal` for threads started otherwise. Calling them
        from another thread directly is not safe.

        Annotate the item type where you make it: ``feed: PushSource[bytes] = stream.push(8)``.

        Example::

            feed: PushSource[int] = stream.push(10)

            async def produce() -> None:
                for i in range(100):
                    await feed.send(i)  # waits while 10 items are unread
                feed.close()

            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                total = await feed.reduce(operator.add)  # 4950
        """
        return PushSource(size, overflow=overflow)

    @staticmethod
    def empty() -> Stream[Never]:
        """A stream with no items.

        Example::

            assert await stream.empty().collect() == []
        """
        return _fresh("stream.empty()", lambda: sync_items(()))

    @staticmethod
    def merge(*sources: Stream[T] | AnyIterable[T]) -> Stream[T]:
        """Every item of every source, concurrently, in the order they arrive.

        Each source is read by its own task; the stream ends when all have ended.

        Example::

            both = await stream.merge(stream.range(3), ["a"]).collect()  # e.g. [0, "a", 1, 2]
        """
        return _combined("merge", merge, sources)

    @staticmethod
    def chain(*sources: Stream[T] | AnyIterable[T]) -> Stream[T]:
        """Every item of the first source, then of the second, and so on.

        Example::

            assert await stream.chain([1], stream.range(2)).collect() == [1, 0, 1]
        """
        return _combined("chain", chain, sources)

    @overload
    @staticmethod
    def zip(s1: Stream[T] | AnyIterable[T], /) -> Stream[tuple[T]]: ...
    @overload
    @staticmethod
    def zip(
        s1: Stream[T] | AnyIterable[T], s2: Stream[T1] | AnyIterable[T1], /
    ) -> Stream[tuple[T, T1]]: ...
    @overload
    @staticmethod
    def zip(
        s1: Stream[T] | AnyIterable[T],
        s2: Stream[T1] | AnyIterable[T1],
        s3: Stream[T2] | AnyIterable[T2],
        /,
    ) -> Stream[tuple[T, T1, T2]]: ...
    @overload
    @staticmethod
    def zip(
        s1: Stream[T] | AnyIterable[T],
        s2: Stream[T1] | AnyIterable[T1],
        s3: Stream[T2] | AnyIterable[T2],
        s4: Stream[T3] | AnyIterable[T3],
        /,
    ) -> Stream[tuple[T, T1, T2, T3]]: ...
    @overload
    @staticmethod
    def zip(*sources: Stream[Any] | AnyIterable[Any]) -> Stream[tuple[Any, ...]]: ...
    @staticmethod
    def zip(*sources: Stream[Any] | AnyIterable[Any]) -> Stream[tuple[Any, ...]]:
        """Tuples of the sources' items taken in step; ends with the shortest source.

        Example::

            assert await stream.zip([1, 2, 3], "ab").collect() == [(1, "a"), (2, "b")]
        """
        return _combined("zip", zip_, sources)


stream: Final[StreamFactory] = StreamFactory()
"""Make a :class:`Stream`: ``stream(source)``, or ``stream.range(...)``, ``stream.merge(...)``..."""


def _threaded(source: object, executor: object) -> ThreadedSource[Any]:
    """``stream(source, executor=...)``'s source: ``source`` must be a sync iterable."""
    check_source_executor(executor)
    if isinstance(source, Stream | AsyncIterable) or not isinstance(source, Iterable):
        kind = type(source).__name__  # pyright: ignore[reportUnknownArgumentType]
        raise TypeError(
            "stream(source, executor='thread') takes a blocking sync iterable (a list, a "
            f"generator, a cursor), got {kind}; an async source needs no thread"
        )
    iterable: Iterable[Any] = source  # pyright: ignore[reportUnknownVariableType]
    label = f"stream({label_of(iterable)}, executor={executor!r})"
    return ThreadedSource(label, iterable, once=isinstance(iterable, Iterator))


def _fresh(label: str, make: Callable[[], AsyncIterator[T]]) -> Stream[T]:
    """A stream over a source that ``make`` builds afresh for every run."""
    return Stream(IteratorSource(label, make, once=False))


def _combined(
    name: str, combine: Callable[..., Operator[Any, Any]], sources: tuple[object, ...]
) -> Stream[Any]:
    """``stream(first) | combine(*rest)``, shown as ``stream.name(first, *rest)``."""
    try:
        made = tuple(map(as_source, sources))
    except TypeError as exc:
        raise TypeError(f"stream.{name}(): {exc}") from None
    label = f"stream.{name}({', '.join(map(repr, made))})"
    if not made:
        return _fresh(label, lambda: sync_items(()))
    return Stream(made[0], (combine(*made[1:]),), label=label)


async def _ticks(period: float) -> AsyncIterator[int]:
    start = anyio.current_time()
    for tick in itertools.count():
        await anyio.sleep_until(start + (tick + 1) * period)
        yield tick


@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T], /
) -> AbstractAsyncContextManager[Pipeline[T]]: ...
@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T], op1: Operator[T, T1], /
) -> AbstractAsyncContextManager[Pipeline[T1]]: ...
@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T], op1: Operator[T, T1], op2: Operator[T1, T2], /
) -> AbstractAsyncContextManager[Pipeline[T2]]: ...
@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T],
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    /,
) -> AbstractAsyncContextManager[Pipeline[T3]]: ...
@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T],
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    op4: Operator[T3, T4],
    /,
) -> AbstractAsyncContextManager[Pipeline[T4]]: ...
@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T],
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    op4: Operator[T3, T4],
    op5: Operator[T4, T5],
    /,
) -> AbstractAsyncContextManager[Pipeline[T5]]: ...
@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T],
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    op4: Operator[T3, T4],
    op5: Operator[T4, T5],
    op6: Operator[T5, T6],
    /,
) -> AbstractAsyncContextManager[Pipeline[T6]]: ...
@overload
def open_pipeline(
    source: Stream[T] | AnyIterable[T],
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    op4: Operator[T3, T4],
    op5: Operator[T4, T5],
    op6: Operator[T5, T6],
    op7: Operator[T6, T7],
    /,
) -> AbstractAsyncContextManager[Pipeline[T7]]: ...
@overload
def open_pipeline(  # more than 7: typed Any, on purpose (the overloads above stop at 7)
    source: Stream[Any] | AnyIterable[Any],
    op1: Operator[Any, Any],
    op2: Operator[Any, Any],
    op3: Operator[Any, Any],
    op4: Operator[Any, Any],
    op5: Operator[Any, Any],
    op6: Operator[Any, Any],
    op7: Operator[Any, Any],
    op8: Operator[Any, Any],
    /,
    *more: Operator[Any, Any],
) -> AbstractAsyncContextManager[Pipeline[Any]]: ...
def open_pipeline(
    source: Stream[Any] | AnyIterable[Any], /, *operators: Operator[Any, Any]
) -> AbstractAsyncContextManager[Pipeline[Any]]:
    """``stream(source).pipe(*operators).open()``: run a pipeline for an ``async with`` block.

    Example::

        async with open_pipeline(urls, map_(fetch, concurrency=16), batch(32)) as batches:
            async for pages in batches:
                await save(pages)
    """
    return stream(source).pipe(*operators).open()
