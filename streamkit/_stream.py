"""The lazy :class:`Stream` description, its consumers, and the running :class:`Pipeline`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, Generic, NoReturn, overload

import anyio

from ._errors import EmptyStreamError
from ._observe import PipelineStatistics
from ._operator import Pipe, describe_operator
from ._options import check_callable, describe
from ._runtime._chain import Chain
from ._runtime._run import Run, running
from ._runtime._stage import Stage
from ._source import Source
from ._types import T1, T2, T3, T4, T5, T6, T7, Operator, R, T, U

_MISSING: Any = object()

_ITERATION_HINT = (
    "a Stream is a lazy description and cannot be iterated directly, because its stages run in "
    "a task group that must not be suspended inside your loop (PEP 789). Use:\n"
    "    async with {0}.open() as items:\n"
    "        async for item in items:\n"
    "            ...\n"
    "or await {0}.collect()"
)


class Stream(Source[T]):
    """A lazy, immutable description of a pipeline: a source and the operators applied to it.

    Nothing runs until a consumer (:meth:`collect`, :meth:`open`, ...) runs it; each consumption
    runs it afresh. Build one with :func:`stream`.

    Example::

        s = stream(range(10)) | map_(lambda x: x * x) | filter_(lambda x: x % 2)
        assert await s.collect() == [1, 9, 25, 49, 81]
    """

    __slots__ = ("_label", "_operators", "_source")

    def __init__(
        self,
        source: Source[Any],
        operators: tuple[Operator[Any, Any], ...] = (),
        *,
        label: str | None = None,
    ) -> None:
        self._source = source
        self._operators = operators
        self._label = label

    # -- building ----------------------------------------------------------------------------

    @overload
    def pipe(self, op1: Operator[T, T1], /) -> Stream[T1]: ...
    @overload
    def pipe(self, op1: Operator[T, T1], op2: Operator[T1, T2], /) -> Stream[T2]: ...
    @overload
    def pipe(
        self, op1: Operator[T, T1], op2: Operator[T1, T2], op3: Operator[T2, T3], /
    ) -> Stream[T3]: ...
    @overload
    def pipe(
        self,
        op1: Operator[T, T1],
        op2: Operator[T1, T2],
        op3: Operator[T2, T3],
        op4: Operator[T3, T4],
        /,
    ) -> Stream[T4]: ...
    @overload
    def pipe(
        self,
        op1: Operator[T, T1],
        op2: Operator[T1, T2],
        op3: Operator[T2, T3],
        op4: Operator[T3, T4],
        op5: Operator[T4, T5],
        /,
    ) -> Stream[T5]: ...
    @overload
    def pipe(
        self,
        op1: Operator[T, T1],
        op2: Operator[T1, T2],
        op3: Operator[T2, T3],
        op4: Operator[T3, T4],
        op5: Operator[T4, T5],
        op6: Operator[T5, T6],
        /,
    ) -> Stream[T6]: ...
    @overload
    def pipe(
        self,
        op1: Operator[T, T1],
        op2: Operator[T1, T2],
        op3: Operator[T2, T3],
        op4: Operator[T3, T4],
        op5: Operator[T4, T5],
        op6: Operator[T5, T6],
        op7: Operator[T6, T7],
        /,
    ) -> Stream[T7]: ...
    @overload
    def pipe(self, *operators: Operator[Any, Any]) -> Stream[Any]: ...
    def pipe(self, *operators: Operator[Any, Any]) -> Stream[Any]:
        """A new stream with ``operators`` applied after this one's; this one is unchanged.

        Example::

            words = stream(["a", "bb", "ccc"]).pipe(map_(len), filter_(lambda n: n > 1))
        """
        flat: list[Operator[Any, Any]] = []
        for operator in operators:
            if not callable(operator):
                raise TypeError(
                    f"pipe() takes operators (callables such as map_(fn) or an async generator "
                    f"function), got {operator!r}"
                )
            flat.extend(operator.operators if isinstance(operator, Pipe) else (operator,))
        if self._label is not None:
            return Stream(self, tuple(flat))
        return Stream(self._source, self._operators + tuple(flat))

    def __or__(self, operator: Operator[T, U]) -> Stream[U]:
        """``s | op`` is ``s.pipe(op)``."""
        return self.pipe(operator)

    def __repr__(self) -> str:
        if self._label is not None:
            return self._label
        return " | ".join([repr(self._source), *map(describe_operator, self._operators)])

    def _open(self) -> Chain[T]:
        parts = list(self._source._open().parts)
        for operator in self._operators:
            output: object = operator(parts[-1])
            if not isinstance(output, AsyncIterator):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(
                    f"operator {describe_operator(operator)} returned "
                    f"{type(output).__name__}, not an async iterator; an operator takes an "
                    "async iterable and returns an async iterator, like an async generator "
                    "function does"
                )
            parts.append(output)
        return Chain(parts)

    # -- running -----------------------------------------------------------------------------

    def open(self) -> AbstractAsyncContextManager[Pipeline[T]]:
        """Run the pipeline for the duration of an ``async with`` block.

        Leaving the block (normally, by ``break``, by an exception or by cancellation) stops
        every stage, closes the source and waits for every task to end.

        Example::

            async with stream(urls).pipe(map_(fetch, concurrency=8)).open() as pages:
                async for page in pages:
                    print(page)
        """
        return _open_pipeline(self)

    if not TYPE_CHECKING:  # a Stream is not iterable: type checkers flag the misuse too

        def __aiter__(self) -> NoReturn:
            raise TypeError(_ITERATION_HINT.format("stream"))

        async def __aenter__(self) -> NoReturn:
            raise TypeError(_ITERATION_HINT.format("stream"))

        async def __aexit__(self, *exc_info: object) -> None:
            """Never reached: ``__aenter__`` refuses."""

    async def collect(self) -> list[T]:
        """Run the pipeline and return every item in a list.

        Example::

            assert await stream(range(3)).collect() == [0, 1, 2]
        """
        async with running(self._open) as (_, chain):
            return [item async for item in chain.output]

    async def first(self, default: T = _MISSING) -> T:
        """The first item (then the pipeline stops), or ``default`` if there is none.

        Raises:
            EmptyStreamError: the stream is empty and no ``default`` was given.
        """
        async with running(self._open) as (_, chain):
            async for item in chain.output:
                return item
        return self._default(default, "first")

    async def last(self, default: T = _MISSING) -> T:
        """The last item, or ``default`` if there is none.

        Raises:
            EmptyStreamError: the stream is empty and no ``default`` was given.
        """
        result = default
        async with running(self._open) as (_, chain):
            async for item in chain.output:
                result = item
        return self._default(result, "last")

    async def count(self) -> int:
        """Run the pipeline and return how many items it produced."""
        n = 0
        async with running(self._open) as (_, chain):
            async for _ in chain.output:
                n += 1
        return n

    async def drain(self) -> None:
        """Run the pipeline for its side effects, discarding the items."""
        async with running(self._open) as (_, chain):
            async for _ in chain.output:
                pass

    @overload
    async def reduce(self, fn: Callable[[R, T], Awaitable[R]], initial: R) -> R: ...
    @overload
    async def reduce(self, fn: Callable[[R, T], R], initial: R) -> R: ...
    @overload
    async def reduce(self, fn: Callable[[T, T], Awaitable[T]]) -> T: ...
    @overload
    async def reduce(self, fn: Callable[[T, T], T]) -> T: ...
    async def reduce(self, fn: Callable[[Any, Any], Any], initial: Any = _MISSING) -> Any:
        """Fold the items with ``fn(accumulated, item)`` (sync or async), from ``initial``.

        Without ``initial`` the first item starts the fold.

        Example::

            assert await stream([1, 2, 3]).reduce(operator.add, 10) == 16

        Raises:
            EmptyStreamError: the stream is empty and no ``initial`` was given.
        """
        check_callable("fn", fn)
        stage = Stage(f"reduce({describe(fn)})")
        accumulated = initial
        async with running(self._open) as (_, chain):
            index = -1
            async for item in chain.output:
                index += 1
                if accumulated is _MISSING:
                    accumulated = item
                    continue
                try:
                    accumulated = fn(accumulated, item)
                    if isawaitable(accumulated):
                        accumulated = await accumulated
                except Exception as exc:
                    stage.failed(exc, index, item)
                    raise
        return self._default(accumulated, "reduce")

    def _default(self, value: T, consumer: str) -> T:
        if value is _MISSING:
            raise EmptyStreamError(
                f"{consumer}() found no item in {self!r}; pass default=... to get a value instead"
                if consumer != "reduce"
                else f"reduce() of an empty stream with no initial value: {self!r}"
            )
        return value


class Pipeline(Generic[T]):
    """A running pipeline's output, yielded by :meth:`Stream.open` and :func:`open_pipeline`.

    Iterate it with ``async for``, or call :meth:`receive` as on an anyio receive stream.
    """

    __slots__ = ("_closed", "_output", "_run")

    def __init__(self, run: Run, output: AsyncIterator[T]) -> None:
        self._run = run
        self._output = output
        self._closed = False

    def __aiter__(self) -> Pipeline[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise anyio.ClosedResourceError("the pipeline's async with block has ended")
        return await self._output.__anext__()

    async def receive(self) -> T:
        """The next item.

        Raises:
            anyio.EndOfStream: the pipeline has no more items.
            anyio.ClosedResourceError: the ``async with`` block has ended.
        """
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise anyio.EndOfStream from None

    def statistics(self) -> PipelineStatistics:
        """Counters of every streamkit stage, upstream first (also after the block ends)."""
        return PipelineStatistics(tuple(stage.statistics() for stage in self._run.stages))


@asynccontextmanager
async def _open_pipeline(stream: Stream[T]) -> AsyncGenerator[Pipeline[T]]:
    async with running(stream._open) as (run, chain):  # pyright: ignore[reportPrivateUsage]
        pipeline = Pipeline(run, chain.output)
        try:
            yield pipeline
        finally:
            pipeline._closed = True  # pyright: ignore[reportPrivateUsage]
