"""The lazy :class:`Stream` description, its consumers, and the running :class:`Pipeline`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, NoReturn, overload

import anyio

from ._diagram import Drawable, Node, to_mermaid
from ._errors import EmptyStreamError, user_stop
from ._gate import Gate
from ._hooks import HookList, Hooks
from ._observe import PipelineStatistics
from ._operator import Pipe, check_operator
from ._ops._each import accumulate
from ._options import check_callable, describe
from ._runtime._build import Build, Built, describe_operator
from ._runtime._closing import Parts
from ._runtime._fused import Fused
from ._runtime._run import Run, open_run
from ._runtime._stage import Stage
from ._source import IterableSource, Source
from ._types import MISSING as _MISSING
from ._types import T1, T2, T3, T4, T5, T6, T7, D, Operator, R, T, U, V

if TYPE_CHECKING:
    from ._sync import Backend, SyncPipeline

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
    def pipe(self, /) -> Stream[T]: ...
    @overload
    def pipe(  # more than 7: typed Any, on purpose (the overloads above stop at 7)
        self,
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
    ) -> Stream[Any]: ...
    def pipe(self, *operators: Operator[Any, Any]) -> Stream[Any]:
        """A new stream with ``operators`` applied after this one's; this one is unchanged.

        Example::

            words = stream(["a", "bb", "ccc"]).pipe(map_(len), filter_(lambda n: n > 1))
        """
        flat: list[Operator[Any, Any]] = []
        for operator in operators:
            check_operator(operator)
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

    async def _discard(self) -> None:
        await self._source._discard()  # pyright: ignore[reportPrivateUsage]

    def _build_into(
        self, parts: list[AsyncIterator[Any]], build: Build, gate: Gate | None = None
    ) -> None:
        source, operators = self._source, self._operators
        first = operators[0] if operators else None
        if (
            gate is None
            and isinstance(source, IterableSource)
            and isinstance(first, Built)
            and first.step is not None
            and not build.observing
        ):  # the first fused part iterates the sync source itself
            build.operators(operators, parts, source.iterable())
            return
        build.into(source, parts, gate)
        build.operators(operators, parts)

    # -- describing --------------------------------------------------------------------------

    def to_mermaid(self) -> str:
        """A `Mermaid <https://mermaid.js.org/>`_ flowchart of the pipeline: the source, then
        each operator with its concurrency and window.

        Paste it into any Mermaid renderer (GitHub and JupyterLab render ````mermaid`` blocks).
        In a notebook a stream displays as this diagram.

        Example::

            print((stream(urls) | map_(fetch, concurrency=16) | take(5)).to_mermaid())
        """
        return to_mermaid(self._diagram_nodes())

    def _diagram_nodes(self) -> list[Node]:
        source = self._source
        if isinstance(source, Stream) and source._label is None:
            nodes = source._diagram_nodes()
        else:
            nodes = [Node(repr(source), kind="source")]
        nodes.extend(
            operator.diagram_node()
            if isinstance(operator, Drawable)
            else Node(describe_operator(operator), kind="custom")
            for operator in self._operators
        )
        return nodes

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.to_mermaid()}\n```"

    # -- running -----------------------------------------------------------------------------

    def open(
        self, *, hooks: Hooks | None = None, progress: bool = False
    ) -> AbstractAsyncContextManager[Pipeline[T]]:
        """Run the pipeline for the duration of an ``async with`` block.

        Leaving the block (normally, by ``break``, by an exception or by cancellation) stops
        every stage, closes the source and waits for every task to end.

        Every consumer (:meth:`collect`, :meth:`first`, ...) takes the same keyword options.

        Args:
            hooks: a :class:`Hooks` to tell of the run's events (items, errors, stage and run
                start and end).
            progress: show one progress bar per stage (needs ``streamkit-anyio[progress]``).

        Example::

            async with stream(urls).pipe(map_(fetch, concurrency=8)).open() as pages:
                async for page in pages:
                    print(page)
        """
        gate = Gate()
        return _Opened(_open_pipeline(self._open_run(hooks, progress, gate), gate))

    def open_sync(
        self,
        *,
        backend: Backend = "asyncio",
        backend_options: dict[str, Any] | None = None,
        hooks: Hooks | None = None,
        progress: bool = False,
    ) -> AbstractContextManager[SyncPipeline[T]]:
        """Run the pipeline for synchronous code (a script, a WSGI app, a sync test), in an
        event loop of its own in a background thread, for the duration of a ``with`` block.

        Leaving the block (normally, by ``break``, by an exception or ``KeyboardInterrupt``)
        stops the pipeline as leaving :meth:`open` does (every stage stopped, the source
        closed), then stops the loop and joins its thread. An error of the pipeline is raised
        from the ``for`` loop as the same exception object. Iterate from one thread at a time.

        Args:
            backend: the event loop to run: ``"asyncio"`` or ``"trio"``.
            backend_options: passed to :func:`anyio.run` (``{"use_uvloop": True}``, say).
            hooks, progress: as for :meth:`open`.

        Raises:
            RuntimeError: called in a thread that runs an event loop (async code must use
                :meth:`open`: this would block the loop).

        Example::

            with stream(urls).pipe(map_(fetch, concurrency=8)).open_sync() as pages:
                for page in pages:
                    print(page)
        """
        from ._sync import SyncOpened

        return SyncOpened(self, backend, backend_options, hooks, progress)

    if not TYPE_CHECKING:  # a Stream is not iterable: type checkers flag the misuse too

        def __aiter__(self) -> NoReturn:
            raise TypeError(_ITERATION_HINT.format("s"))

        async def __aenter__(self) -> NoReturn:
            raise TypeError(_ITERATION_HINT.format("s"))

        async def __aexit__(self, *exc_info: object) -> None:
            """Never reached: ``__aenter__`` refuses."""

    async def collect(self, *, hooks: Hooks | None = None, progress: bool = False) -> list[T]:
        """Run the pipeline and return every item in a list.

        Example::

            assert await stream(range(3)).collect() == [0, 1, 2]
        """
        async with self._consume(hooks, progress) as (_, parts):
            output = parts.output
            if isinstance(output, Fused):  # a fused tail appends without a generator
                items: list[T] = []
                await output.consume("collect", items)
                return items
            return [item async for item in output]

    @overload
    async def first(self, *, hooks: Hooks | None = None, progress: bool = False) -> T: ...
    @overload
    async def first(
        self, default: D, *, hooks: Hooks | None = None, progress: bool = False
    ) -> T | D: ...
    async def first(
        self, default: Any = _MISSING, *, hooks: Hooks | None = None, progress: bool = False
    ) -> Any:
        """The first item (then the pipeline stops), or ``default`` if there is none.

        Raises:
            EmptyStreamError: the stream is empty and no ``default`` was given.
        """
        async with self._consume(hooks, progress) as (_, parts):
            async for item in parts.output:
                return item
        return self._default(default, "first")

    @overload
    async def last(self, *, hooks: Hooks | None = None, progress: bool = False) -> T: ...
    @overload
    async def last(
        self, default: D, *, hooks: Hooks | None = None, progress: bool = False
    ) -> T | D: ...
    async def last(
        self, default: Any = _MISSING, *, hooks: Hooks | None = None, progress: bool = False
    ) -> Any:
        """The last item, or ``default`` if there is none.

        Raises:
            EmptyStreamError: the stream is empty and no ``default`` was given.
        """
        result = default
        async with self._consume(hooks, progress) as (_, parts):
            async for item in parts.output:
                result = item
        return self._default(result, "last")

    async def count(self, *, hooks: Hooks | None = None, progress: bool = False) -> int:
        """Run the pipeline and return how many items it produced."""
        n = 0
        async with self._consume(hooks, progress) as (_, parts):
            output = parts.output
            if isinstance(output, Fused):
                return await output.consume("count")
            async for _ in output:
                n += 1
        return n

    async def drain(self, *, hooks: Hooks | None = None, progress: bool = False) -> None:
        """Run the pipeline for its side effects, discarding the items."""
        async with self._consume(hooks, progress) as (_, parts):
            output = parts.output
            if isinstance(output, Fused):
                await output.consume("drain")
                return
            async for _ in output:
                pass

    @overload
    async def reduce(
        self,
        fn: Callable[[R, T], Awaitable[R]],
        initial: R,
        *,
        hooks: Hooks | None = None,
        progress: bool = False,
    ) -> R: ...
    @overload
    async def reduce(
        self,
        fn: Callable[[R, T], R],
        initial: R,
        *,
        hooks: Hooks | None = None,
        progress: bool = False,
    ) -> R: ...
    @overload
    async def reduce(
        self,
        fn: Callable[[T, T], Awaitable[T]],
        *,
        hooks: Hooks | None = None,
        progress: bool = False,
    ) -> T: ...
    @overload
    async def reduce(
        self, fn: Callable[[T, T], T], *, hooks: Hooks | None = None, progress: bool = False
    ) -> T: ...
    async def reduce(
        self,
        fn: Callable[[Any, Any], Any],
        initial: Any = _MISSING,
        *,
        hooks: Hooks | None = None,
        progress: bool = False,
    ) -> Any:
        """Fold the items with ``fn(accumulated, item)`` (sync or async), from ``initial``.

        Without ``initial`` the first item starts the fold.

        Example::

            assert await stream([1, 2, 3]).reduce(operator.add, 10) == 16

        Raises:
            EmptyStreamError: the stream is empty and no ``initial`` was given.
        """
        check_callable("fn", fn)
        stage = Stage(f"reduce({describe(fn)})")  # for the note only: not a stage of the run
        accumulated = initial
        async with self._consume(hooks, progress) as (_, parts):
            async for value in accumulate(parts.output, fn, initial, stage):
                accumulated = value
        return self._default(accumulated, "reduce")

    def _consume(
        self, hooks: Hooks | None, progress: bool
    ) -> AbstractAsyncContextManager[tuple[Run, Parts[T]]]:
        return _Opened(self._open_run(hooks, progress))

    def _open_run(
        self, hooks: Hooks | None, progress: bool, gate: Gate | None = None
    ) -> AbstractAsyncContextManager[tuple[Run, Parts[T]]]:
        if hooks is not None and not isinstance(hooks, Hooks):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"hooks must be a streamkit.Hooks instance or None, got {hooks!r}")
        if not isinstance(progress, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"progress must be True or False, got {progress!r}")
        if progress:
            from ._progress import StageBars

            bars = StageBars()
            hooks = bars if hooks is None else HookList((hooks, bars))
        if hooks is None:
            return open_run(self, gate=gate)
        return open_run(self, hooks, repr(self), gate)

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

    __slots__ = ("_closed", "_gate", "_output", "_run")

    def __init__(self, run: Run, output: AsyncIterator[T], gate: Gate | None = None) -> None:
        self._run = run
        self._output = aiter(output)  # a fused part's generator, not the part
        self._closed = False
        self._gate = gate or Gate()

    def stop_intake(self) -> None:
        """Pull no more from the source and close it; what was already pulled is finished and
        delivered, then the iteration ends normally (the SIGTERM path).

        Example::

            async with stream(jobs).pipe(map_(run)).open() as results:
                async for result in results:
                    if shutting_down:
                        results.stop_intake()
        """
        self._gate.stop()

    def pause(self) -> None:
        """Pull no new source item until :meth:`resume` (work in flight goes on)."""
        self._gate.pause()

    def resume(self) -> None:
        """Pull from the source again after :meth:`pause`."""
        self._gate.resume()

    @property
    def paused(self) -> bool:
        """Whether :meth:`pause` holds the source."""
        return self._gate.paused and not self._gate.stopped

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
        except RuntimeError as exc:
            stop = user_stop(exc)
            if stop is None:
                raise
            raise stop from None

    def statistics(self) -> PipelineStatistics:
        """Counters of every streamkit stage, upstream first, while the pipeline runs and
        after the block ends (then final, with :attr:`~PipelineStatistics.finished` set).

        In a notebook, a pipeline displays as this table.

        Example::

            async with stream(urls).pipe(map_(fetch, concurrency=8)).open() as pages:
                async for page in pages:
                    ...
            print(pages.statistics().bottleneck_hint())
        """
        return replace(self._run.statistics(), paused=self.paused)

    def _repr_html_(self) -> str:
        return self.statistics()._repr_html_()  # pyright: ignore[reportPrivateUsage]


class _Opened(AbstractAsyncContextManager[V]):
    """One run's ``async with`` block: it may be entered once, and a user function's
    ``StopAsyncIteration`` that the run carried out of an iterator (see
    :func:`~streamkit._errors.escaped`) leaves the block as itself."""

    __slots__ = ("_entered", "_inner")

    def __init__(self, inner: AbstractAsyncContextManager[V]) -> None:
        self._inner = inner
        self._entered = False

    async def __aenter__(self) -> V:
        if self._entered:
            raise RuntimeError(
                "this open() context manager was already entered; each run needs its own: "
                "call s.open() again"
            )
        self._entered = True
        return await self._inner.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        try:
            suppressed = await self._inner.__aexit__(exc_type, exc, traceback)
        except RuntimeError as error:
            stop = user_stop(error)
            if stop is None:
                raise
            raise stop from None
        stop = None if suppressed or exc is None else user_stop(exc)
        if stop is not None:
            raise stop from None
        return suppressed


@asynccontextmanager
async def _open_pipeline(
    runner: AbstractAsyncContextManager[tuple[Run, Parts[T]]],
    gate: Gate,
) -> AsyncGenerator[Pipeline[T]]:
    async with runner as (run, parts):
        pipeline = Pipeline(run, parts.output, gate)
        try:
            yield pipeline
        finally:
            pipeline._closed = True  # pyright: ignore[reportPrivateUsage]
