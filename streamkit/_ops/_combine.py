"""Combining operators: this stream together with other inputs, or with inner streams.

``merge``, ``zip_``, ``chain``, ``zip_latest``, ``start_with``, ``concat_map``, ``switch_map``.
The sources :meth:`stream.merge <StreamFactory.merge>`, :meth:`~StreamFactory.zip` and
:meth:`~StreamFactory.chain` are the first source piped into ``merge``/``zip_``/``chain`` of the
rest.

Every other input is anything :func:`stream` accepts. It is opened when the operator runs and
closed when the operator ends, fails or is cancelled, like the upstream. An error from an input
keeps its type and gains a note naming the operator and the input's position (0 is this
stream, 1 the first other input...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, cast, overload

from .._operator import Apply, StreamOperator, labelled, register_factory
from .._options import OnError, check_callable, default_window
from .._runtime._build import Build
from .._runtime._closing import aclose, aclose_all
from .._runtime._pool import start_pool
from .._runtime._stage import Stage
from .._runtime._switch import Switch
from .._source import IteratorSource, Source, as_source
from .._types import MISSING, T1, T2, T3, AnyIterable, CombineOperator, T, U, ZipOperator
from ._each import call
from ._transform import flat_map, items_of, one_after_another

SWITCH_BUFFER = 16
"""Items of the current inner stream that ``switch_map`` reads ahead of the consumer."""

if TYPE_CHECKING:
    from .._gate import Gate
    from .._stream import Stream

_ENDED: Any = object()


# -- shared machinery ---------------------------------------------------------------------------


def _sources(name: str, others: tuple[object, ...]) -> tuple[Source[Any], ...]:
    try:
        return tuple(map(as_source, others))
    except TypeError as exc:
        raise TypeError(f"{name}(): {exc}") from None


def _named(
    name: str, shown: tuple[object, ...], apply: Apply[Any, Any], *options: str
) -> StreamOperator[Any, Any]:
    """The operator for ``apply``, shown as ``name(*shown, *options)``: each other input shows
    as its stream does (``merge(stream(list[3]))``), not as its full repr."""
    operator = StreamOperator(apply)
    operator.label = f"{name}({', '.join([*map(repr, shown), *options])})"
    return operator


Input = Source[Any] | list[Any] | tuple[Any, ...] | range
"""An input as :func:`_inputs` yields it: a source, or a list, tuple or range read directly
(iterating one cannot fail, and needs no chain of generators)."""


def _readable(others: tuple[object, ...], made: tuple[Source[Any], ...]) -> tuple[Input, ...]:
    """``others`` as inputs: each list, tuple or range as itself, anything else as its source."""
    return tuple(
        cast(Input, other) if isinstance(other, list | tuple | range) else source
        for other, source in zip(others, made, strict=True)
    )


def _at_once(width: int, window: int | None = None) -> Apply[Input, Any]:
    """Read every input as it arrives, ``width`` at once, through a worker pool: the items in
    completion order, at most ``window`` (default: as for ``flatten``) read ahead. A list,
    tuple or range is put by its worker directly; a source's error gains the note naming this
    stage and the input's position."""
    size = default_window(width) if window is None else window

    def apply(inputs: AsyncIterator[Input], stage: Stage) -> AsyncIterator[Any]:
        async def job(source: Input, position: int) -> Iterable[Any] | AsyncIterator[Any]:
            if isinstance(source, Source):
                return _read(source, position, stage)
            return source

        return start_pool(inputs, job, stage, concurrency=width, ordered=False, window=size)

    return apply


async def _read(source: Source[Any], position: int, stage: Stage) -> AsyncIterator[Any]:
    """The items of ``source`` (input ``position``), closing what it opened; an error (also
    in closing) gains the note."""
    try:
        chain = await stage.build.open(source)  # once per run: listed as the stage is
        try:
            async for item in chain.output:
                yield item
        finally:
            await chain.aclose()
    except Exception as exc:
        stage.failed(exc, position, source)
        raise


def _this(upstream: AsyncIterator[Any]) -> Source[Any]:
    return IteratorSource("this stream", lambda: upstream, once=True)


async def _inputs(
    upstream: AsyncIterator[Any],
    before: tuple[Input, ...],
    after: tuple[Input, ...],
    *,
    tagged: bool = False,
) -> AsyncIterator[Any]:
    """The inputs in order: ``before``, this stream, ``after`` (each with its position if
    ``tagged``). The upstream is closed here unless it was handed out; whoever takes it does."""
    this = _this(upstream)
    inputs = (*before, this, *after)
    reached = 0
    try:
        for index, source in enumerate(inputs):
            reached += 1
            yield _Tagged(index, as_source(source)) if tagged else source
    finally:
        # The inputs never reached are closed too: a one-shot one (an async generator, say)
        # belongs to the stream. The upstream is closed by whoever took it.
        if reached <= len(before):
            await aclose(upstream)
        for source in inputs[reached:]:
            if isinstance(source, Source) and source is not this:
                await source._discard()  # pyright: ignore[reportPrivateUsage]


class _Tagged(Source[tuple[int, Any]]):
    """An input whose items come as ``(position, item)``, then ``(position, _ENDED)``."""

    __slots__ = ("index", "source")

    def __init__(self, index: int, source: Source[Any]) -> None:
        self.index = index
        self.source = source

    def _build_into(
        self, parts: list[AsyncIterator[Any]], build: Build, gate: Gate | None = None
    ) -> None:
        build.into(self.source, parts, gate)
        parts.append(self._tag(parts[-1]))

    async def _tag(self, items: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
        try:
            async for item in items:
                yield self.index, item
        finally:
            await aclose(items)
        yield self.index, _ENDED

    async def _discard(self) -> None:
        await self.source._discard()  # pyright: ignore[reportPrivateUsage]

    def __repr__(self) -> str:
        return repr(self.source)


def _flattening(before: tuple[Input, ...], after: tuple[Input, ...], width: int) -> Apply[Any, Any]:
    """Emit the items of the inputs (``before``, this stream, ``after``): one input after
    another if ``width`` is 1, else ``width`` at once."""
    spread = one_after_another if width == 1 else _at_once(width)
    return lambda source, stage: spread(_inputs(source, before, after), stage)


# -- operators ----------------------------------------------------------------------------------


@register_factory
def merge(*others: Stream[T] | AnyIterable[T]) -> CombineOperator[T]:
    """Emit the items of this stream and of ``others`` as they arrive, reading all at once.

    Each input is read by its own task; the order within one input is kept. The stream ends
    when every input has ended. At most ``max(16 * inputs, 64)`` items are read ahead.

    Example::

        both = await (stream(sensor_a()) | merge(sensor_b())).collect()

    Raises:
        TypeError: an input is not something :func:`stream` accepts.
    """
    made = _sources("merge", others)
    return _named("merge", made, _flattening((), _readable(others, made), len(made) + 1))


@register_factory
def chain(*others: Stream[T] | AnyIterable[T]) -> CombineOperator[T]:
    """Emit the items of this stream, then those of each of ``others`` in turn.

    Each other input is opened only when the one before it has ended.

    Example::

        assert await (stream([1, 2]) | chain([3], stream.range(2))).collect() == [1, 2, 3, 0, 1]
    """
    made = _sources("chain", others)
    return _named("chain", made, _flattening((), _readable(others, made), 1))


@register_factory
def start_with(*values: T) -> CombineOperator[T]:
    """Emit ``values``, then the items of this stream.

    Example::

        assert await (stream([3, 4]) | start_with(1, 2)).collect() == [1, 2, 3, 4]
    """
    return _named("start_with", values, _flattening((values,), (), 1))


@overload
def zip_(*, strict: bool = False) -> ZipOperator[()]: ...
@overload
def zip_(o1: Stream[T1] | AnyIterable[T1], /, *, strict: bool = False) -> ZipOperator[T1]: ...
@overload
def zip_(
    o1: Stream[T1] | AnyIterable[T1],
    o2: Stream[T2] | AnyIterable[T2],
    /,
    *,
    strict: bool = False,
) -> ZipOperator[T1, T2]: ...
@overload
def zip_(
    o1: Stream[T1] | AnyIterable[T1],
    o2: Stream[T2] | AnyIterable[T2],
    o3: Stream[T3] | AnyIterable[T3],
    /,
    *,
    strict: bool = False,
) -> ZipOperator[T1, T2, T3]: ...
@overload
def zip_(
    *others: Stream[Any] | AnyIterable[Any], strict: bool = False
) -> ZipOperator[*tuple[Any, ...]]: ...
@register_factory
def zip_(*others: Stream[Any] | AnyIterable[Any], strict: bool = False) -> Any:
    """Emit tuples of one item of this stream and one of each of ``others``, in step.

    Ends with the shortest input. With ``strict=True``, inputs of different lengths raise
    ``ValueError`` (worded as for the builtin ``zip``) once the shortest ends. The inputs are
    read one after the other, in the consumer's task.

    Raises:
        TypeError: an input is not something :func:`stream` accepts, or ``strict`` is not a
            bool.

    Example::

        assert await (stream([1, 2, 3]) | zip_("ab")).collect() == [(1, "a"), (2, "b")]
    """
    made = _sources("zip_", others)
    if not isinstance(strict, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"strict must be True or False, got {strict!r}")
    return _named(
        "zip_",
        made,
        lambda source, stage: _zip(source, made, strict, stage),
        *(["strict=True"] if strict else []),
    )


async def _zip(
    upstream: AsyncIterator[Any], others: tuple[Source[Any], ...], strict: bool, stage: Stage
) -> AsyncIterator[tuple[Any, ...]]:
    inputs = (_this(upstream), *others)
    parts: list[AsyncIterator[Any]] = []
    outputs: list[AsyncIterator[Any]] = []
    try:
        for source in inputs:  # once per run: listed as the stage is
            stage.build.into(source, parts)
            outputs.append(parts[-1])
        while True:
            row: list[Any] = []
            for index, output in enumerate(outputs):
                try:
                    row.append(await output.__anext__())
                except StopAsyncIteration:
                    if strict:
                        await _check_lengths(outputs, index)
                    return
                except Exception as exc:
                    stage.failed(exc, index, inputs[index])
                    raise
            yield tuple(row)
    finally:
        await aclose_all(parts)


async def _check_lengths(outputs: list[AsyncIterator[Any]], ended: int) -> None:
    """Raise as the builtin ``zip(strict=True)`` does when input ``ended`` has ended first."""
    if ended:
        raise ValueError(f"zip_() argument {ended + 1} is shorter than {_arguments(ended)}")
    for index, output in enumerate(outputs[1:], start=1):
        try:
            await output.__anext__()
        except StopAsyncIteration:
            continue
        raise ValueError(f"zip_() argument {index + 1} is longer than {_arguments(index)}")


def _arguments(n: int) -> str:
    return "argument 1" if n == 1 else f"arguments 1-{n}"


@overload
def zip_latest() -> ZipOperator[()]: ...
@overload
def zip_latest(o1: Stream[T1] | AnyIterable[T1], /) -> ZipOperator[T1]: ...
@overload
def zip_latest(
    o1: Stream[T1] | AnyIterable[T1], o2: Stream[T2] | AnyIterable[T2], /
) -> ZipOperator[T1, T2]: ...
@overload
def zip_latest(
    o1: Stream[T1] | AnyIterable[T1],
    o2: Stream[T2] | AnyIterable[T2],
    o3: Stream[T3] | AnyIterable[T3],
    /,
) -> ZipOperator[T1, T2, T3]: ...
@overload
def zip_latest(*others: Stream[Any] | AnyIterable[Any]) -> ZipOperator[*tuple[Any, ...]]: ...
@register_factory
def zip_latest(*others: Stream[Any] | AnyIterable[Any]) -> Any:
    """Whenever any input emits, emit a tuple of the latest item of every input.

    ReactiveX's ``combine_latest``: all inputs (this stream first, then ``others``) are read at
    once. Taking the items in the order they arrive, each item replaces its input's latest
    value; if every input has emitted at least once, a tuple of the latest values is emitted.
    Items that arrive before every input has emitted only update the latest values. The stream
    ends when every input has ended, or as soon as an input ends without having emitted (no
    tuple could ever be complete).

    Bounded: it holds the latest item of each input, and reads at most 4 items per input
    ahead of the consumer (each input's reader holds one, its task one more, and the shared
    buffer has room for one per input, plus the tuple being made). Items that arrive before
    every input has emitted are read and replaced, not buffered.

    Example::

        async with (stream(prices()) | zip_latest(rates())).open() as pairs:
            async for price, rate in pairs:
                print(price * rate)
    """
    made = _sources("zip_latest", others)
    width = len(made) + 1
    spread = _at_once(width, window=width)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[tuple[Any, ...]]:
        return _latest(spread(_inputs(source, (), made, tagged=True), stage), width)

    return _named("zip_latest", made, apply)


async def _latest(
    tagged: AsyncIterator[tuple[int, Any]], width: int
) -> AsyncIterator[tuple[Any, ...]]:
    latest: list[Any] = [MISSING] * width
    missing = width
    try:
        async for index, item in tagged:
            if item is _ENDED:
                if latest[index] is MISSING:
                    return
                continue
            if latest[index] is MISSING:
                missing -= 1
            latest[index] = item
            if not missing:
                yield tuple(latest)
    finally:
        await aclose(tagged)


@overload
def concat_map(
    fn: Callable[[T], Awaitable[AnyIterable[U]]], *, on_error: OnError = "raise"
) -> StreamOperator[T, U]: ...
@overload
def concat_map(
    fn: Callable[[T], AnyIterable[U]], *, on_error: OnError = "raise"
) -> StreamOperator[T, U]: ...
@labelled
def concat_map(
    fn: Callable[[Any], Any], *, on_error: OnError = "raise"
) -> StreamOperator[Any, Any]:
    """Emit every item of ``fn(item)`` for each item, one input at a time, in order.

    The same as :func:`flat_map` with ``concurrency=1``: ``fn`` (sync or async) returns an
    iterable, an async iterable or a :class:`Stream`, which is read to its end before the next
    input is taken.

    Example::

        pages = await stream(first_pages).pipe(concat_map(follow_links)).collect()
    """
    return flat_map(fn, on_error=on_error)


@overload
def switch_map(fn: Callable[[T], Awaitable[AnyIterable[U]]]) -> StreamOperator[T, U]: ...
@overload
def switch_map(fn: Callable[[T], AnyIterable[U]]) -> StreamOperator[T, U]: ...
@labelled
def switch_map(fn: Callable[[Any], Any]) -> StreamOperator[Any, Any]:
    """Emit the items of ``fn(item)`` for the latest item only: a new item cancels the last.

    ``fn`` (sync or async) returns an iterable, an async iterable or a :class:`Stream`. While
    its items are read, a task watches this stream; when the next item arrives, the inner
    stream of the previous one is cancelled and closed before ``fn`` is called on the new one.
    Items the previous inner stream produced before that are still emitted. The stream ends
    when this stream and the last inner stream have ended. At most 16 inner items are read
    ahead of the consumer.

    Example::

        async with (stream(queries()) | switch_map(search)).open() as results:
            async for result in results:  # results of the latest query only
                show(result)
    """
    check_callable("fn", fn)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        inner = stage.build.inner()  # one inner stream per item: not listed

        async def open_inner(item: Any) -> AsyncIterator[Any]:
            return items_of(await call(fn, item), inner)

        run = stage.build.require_run(stage)
        return Switch(source, open_inner, stage, run, size=SWITCH_BUFFER)

    return StreamOperator(apply)
