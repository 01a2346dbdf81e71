"""Grouping and aggregate operators: items are held back, grouped, compared or folded.

``group_by``, ``chunk_by``, ``distinct``, ``distinct_until_changed``, ``sort``, ``window``,
``pairwise``, ``reduce``, ``first``, ``last``, ``take_last``, ``skip_last``.

Each is a plain async generator in the consumer's task that owns and closes its upstream.
Key functions and reducers may be sync or async; an exception they raise reaches the consumer
as itself, with a note naming the operator and the item index.

What each holds: ``distinct_until_changed``, ``window``, ``pairwise``, ``take_last``,
``skip_last``, ``reduce``, ``first`` and ``last`` hold a bounded number of items. ``chunk_by``
holds one run, which ``max_size=`` bounds. ``group_by`` and ``distinct`` hold state for every
key they have seen unless given a bound (``max_groups=`` and ``max_size=``; ``window=``).
``sort`` holds the whole stream by nature.

Of these only ``reduce`` takes ``on_error=``: ``first``, ``last`` and the operators without a
key call no user function, and a failing key function always stops the stream (no option yet).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from operator import itemgetter
from typing import Any, TypeAlias, overload

from .._awaitable import awaitable
from .._errors import EmptyStreamError
from .._operator import StreamOperator, labelled
from .._options import OnError, check_callable, check_int, check_on_error, check_optional_int
from .._runtime._closing import aclose
from .._runtime._stage import Stage
from .._types import MISSING as _MISSING
from .._types import (
    MYPY,
    OrDefaultOperator,
    PairwiseOperator,
    R,
    SameTypeOperator,
    T,
    U,
    WindowOperator,
)
from ._each import accumulate

Key: TypeAlias = Callable[[Any], Any] | None


async def _keyed(
    source: AsyncIterator[T], key: Key, stage: Stage, *, hashed: bool = False
) -> AsyncIterator[tuple[Any, T]]:
    """``(key(item), item)`` for each item (``(item, item)`` without a key); closes ``source``.

    With ``hashed``, each key is hashed here, so an unhashable one fails with a note naming
    its item (as a failing ``key`` does) rather than later, in a dict, without one.
    """
    index = -1
    try:
        async for item in source:
            index += 1
            if key is None and not hashed:
                yield item, item
                continue
            try:
                if key is None:
                    k: Any = item
                else:
                    k = key(item)
                    if awaitable(k):
                        k = await k
                if hashed:
                    hash(k)
            except Exception as exc:
                stage.failed(exc, index, item)
                raise
            yield k, item
    finally:
        await aclose(source)


def _check_key(key: object) -> None:
    if key is not None:
        check_callable("key", key)


# -- grouping -------------------------------------------------------------------------------


if MYPY:  # mypy reads these overloads; pyright and the runtime the def below (_types.MYPY)

    @overload
    def group_by(
        key: Callable[[T], Awaitable[U]],
        *,
        max_size: int | None = None,
        max_groups: int | None = None,
    ) -> StreamOperator[T, tuple[U, list[T]]]: ...
    @overload
    def group_by(
        key: Callable[[T], U], *, max_size: int | None = None, max_groups: int | None = None
    ) -> StreamOperator[T, tuple[U, list[T]]]: ...
    def group_by(*args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportRedeclaration]
        raise NotImplementedError

else:

    @labelled
    def group_by(
        key: Callable[[T], Awaitable[U]] | Callable[[T], U],
        *,
        max_size: int | None = None,
        max_groups: int | None = None,
    ) -> StreamOperator[T, tuple[U, list[T]]]:
        """Group items by ``key(item)`` (sync or async; hashable) into ``(key, items)`` pairs.

        Without options this must see the whole stream: it holds every item until the stream ends,
        then emits one group per key, in the order each key first appeared. To use it on an endless
        stream, bound it:

        - ``max_size=n``: a group is emitted as soon as it has ``n`` items; a later item with
          the same key starts a new group.
        - ``max_groups=m``: when an item with a new key arrives while ``m`` groups are held, the
          oldest group (the one whose first item came earliest) is emitted first.

        With both, at most ``max_groups * max_size`` items are held. Groups still held when the
        stream ends are emitted in the order their first item came. A key may then be in several
        groups; each group's items are in stream order.

        Example::

            groups = await stream(["ab", "c", "de"]).pipe(group_by(len)).collect()
            assert groups == [(2, ["ab", "de"]), (1, ["c"])]
        """
        check_callable("key", key)
        size = check_optional_int("max_size", max_size, minimum=1)
        most = check_optional_int("max_groups", max_groups, minimum=1)

        async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
            pairs = _keyed(source, key, stage, hashed=True)
            try:
                groups: dict[Any, list[Any]] = {}
                async for k, item in pairs:
                    group = groups.get(k)
                    if group is None:
                        if len(groups) == most:
                            oldest = next(iter(groups))
                            yield oldest, groups.pop(oldest)
                        group = groups[k] = []
                    group.append(item)
                    if len(group) == size:
                        del groups[k]
                        yield k, group
                for k, group in groups.items():
                    yield k, group
            finally:
                await aclose(pairs)

        return StreamOperator(apply)


@overload
def chunk_by(
    key: Callable[[T], Awaitable[U]], *, max_size: int | None = None
) -> StreamOperator[T, tuple[U, list[T]]]: ...
@overload
def chunk_by(
    key: Callable[[T], U], *, max_size: int | None = None
) -> StreamOperator[T, tuple[U, list[T]]]: ...
@labelled
def chunk_by(key: Callable[[Any], Any], *, max_size: int | None = None) -> StreamOperator[Any, Any]:
    """Group runs of consecutive items with equal ``key(item)`` (sync or async) into
    ``(key, items)`` pairs, as :func:`itertools.groupby` does.

    Keys are compared with ``==`` (they need not be hashable). A run is emitted when an item
    with another key arrives, or at the end. It holds one run: with ``max_size=n`` a run is
    also emitted as soon as it has ``n`` items, and the rest of it goes on in a new chunk.

    Example::

        runs = await stream("aabca").pipe(chunk_by(str.upper)).collect()
        assert runs == [("A", ["a", "a"]), ("B", ["b"]), ("C", ["c"]), ("A", ["a"])]
    """
    check_callable("key", key)
    size = check_optional_int("max_size", max_size, minimum=1)

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        pairs = _keyed(source, key, stage)
        try:
            run: list[Any] = []
            current: Any = None
            async for k, item in pairs:
                if run and not _same(k, current):
                    yield current, run
                    run = []
                if not run:
                    current = k
                run.append(item)
                if len(run) == size:
                    yield current, run
                    run = []
            if run:
                yield current, run
        finally:
            await aclose(pairs)

    return StreamOperator(apply)


def _same(a: object, b: object) -> bool:
    """Key equality as :func:`itertools.groupby` tests it (identity first, then ``==``)."""
    return a is b or bool(a == b)


@overload
def distinct(key: None = None, *, window: int | None = None) -> SameTypeOperator: ...
@overload
def distinct(key: Callable[[T], object], *, window: int | None = None) -> StreamOperator[T, T]: ...
@labelled
def distinct(
    key: Callable[[Any], object] | None = None, *, window: int | None = None
) -> SameTypeOperator | StreamOperator[Any, Any]:
    """Emit each item whose key (the item, or ``key(item)``, sync or async; hashable) has not
    been seen before.

    Without ``window`` it remembers every key it has seen, so its memory grows with the number
    of distinct keys. With ``window=n`` it remembers only the ``n`` keys seen most recently
    (a least-recently-used set: a key seen again, emitted or not, becomes the most recent), so
    a key is emitted again once ``n`` other keys have been seen since; use it on endless streams.

    Example::

        assert await stream("abacb").pipe(distinct()).collect() == ["a", "b", "c"]
        # "a" is seen again, so stays remembered; "b" is forgotten once "c" comes.
        assert await stream("abacab").pipe(distinct(window=2)).collect() == list("abcb")
    """
    _check_key(key)
    most = check_optional_int("window", window, minimum=1)

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        pairs = _keyed(source, key, stage, hashed=True)
        try:
            seen: OrderedDict[Any, None] = OrderedDict()
            async for k, item in pairs:
                if k in seen:
                    if most is not None:
                        seen.move_to_end(k)
                    continue
                seen[k] = None
                if most is not None and len(seen) > most:
                    seen.popitem(last=False)
                yield item
        finally:
            await aclose(pairs)

    return StreamOperator(apply)


@overload
def distinct_until_changed(key: None = None) -> SameTypeOperator: ...
@overload
def distinct_until_changed(key: Callable[[T], object]) -> StreamOperator[T, T]: ...
@labelled
def distinct_until_changed(
    key: Callable[[Any], object] | None = None,
) -> SameTypeOperator | StreamOperator[Any, Any]:
    """Drop each item whose key (the item, or ``key(item)``, sync or async) equals the previous
    item's; the first item of every run goes on. Keys are compared with ``==``.

    Example::

        assert await stream("aabaa").pipe(distinct_until_changed()).collect() == ["a", "b", "a"]
    """
    _check_key(key)

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        pairs = _keyed(source, key, stage)
        try:
            previous: Any = _MISSING
            async for k, item in pairs:
                if previous is _MISSING or not _same(k, previous):
                    yield item
                previous = k
        finally:
            await aclose(pairs)

    return StreamOperator(apply)


@overload
def sort(key: None = None, *, reverse: bool = False) -> SameTypeOperator: ...
@overload
def sort(key: Callable[[T], object], *, reverse: bool = False) -> StreamOperator[T, T]: ...
@labelled
def sort(
    key: Callable[[Any], object] | None = None, *, reverse: bool = False
) -> SameTypeOperator | StreamOperator[Any, Any]:
    """Emit the items sorted, as :func:`sorted` would (stable; ``key`` may be sync or async).

    It materializes: it holds every item until the stream ends, then emits them, so it never
    ends on an endless stream. To sort bounded pieces of one, sort each batch:
    ``pipe(batch(1000), flat_map(sorted))``. Keys that cannot be compared raise what
    :func:`sorted` raises, with a note naming the operator but no item (sorting does not say
    which keys it compared).

    Example::

        assert await stream([3, 1, 2]).pipe(sort(reverse=True)).collect() == [3, 2, 1]
    """
    _check_key(key)
    if not isinstance(reverse, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"reverse must be True or False, got {reverse!r}")

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        pairs = _keyed(source, key, stage)
        try:
            held = [pair async for pair in pairs]
            try:
                held.sort(key=itemgetter(0), reverse=reverse)
            except Exception as exc:  # list.sort does not say which keys it compared
                exc.add_note(
                    f"streamkit: raised by {stage.name} comparing the keys of {len(held)} items"
                )
                raise
            for _, item in held:
                yield item
        finally:
            await aclose(pairs)

    return StreamOperator(apply)


# -- windows --------------------------------------------------------------------------------


@labelled
def window(size: int, *, step: int = 1) -> WindowOperator:
    """Emit sliding windows: tuples of ``size`` consecutive items, starting every ``step`` items.

    Only full windows are emitted, with no padding (unlike ``more_itertools.windowed``): a
    stream shorter than ``size`` gives nothing, and trailing items that do not fill a window
    are dropped. With ``step > size`` the items between windows are skipped. It holds at most
    ``size`` items.

    Example::

        assert await stream(range(5)).pipe(window(3)).collect() == [(0, 1, 2), (1, 2, 3), (2, 3, 4)]
        assert await stream(range(5)).pipe(window(2, step=2)).collect() == [(0, 1), (2, 3)]
    """
    check_int("size", size, minimum=1)
    check_int("step", step, minimum=1)
    return StreamOperator[Any, Any](lambda source, stage: _windows(source, size, step))


@labelled
def pairwise() -> PairwiseOperator:
    """Emit each pair of consecutive items, as :func:`itertools.pairwise` does.

    Example::

        assert await stream("abc").pipe(pairwise()).collect() == [("a", "b"), ("b", "c")]
    """
    return StreamOperator[Any, Any](lambda source, stage: _windows(source, 2, 1))


async def _windows(source: AsyncIterator[T], size: int, step: int) -> AsyncIterator[tuple[T, ...]]:
    try:
        held: deque[T] = deque(maxlen=size)
        until_next = size
        async for item in source:
            held.append(item)
            until_next -= 1
            if not until_next:
                until_next = step
                yield tuple(held)
    finally:
        await aclose(source)


@labelled
def take_last(n: int) -> SameTypeOperator:
    """Emit the last ``n`` items, once the stream has ended; it holds at most ``n`` items.

    Example::

        assert await stream(range(5)).pipe(take_last(2)).collect() == [3, 4]
    """
    check_int("n", n, minimum=0)

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        try:
            held: deque[Any] = deque(maxlen=n)
            async for item in source:
                held.append(item)
            for item in held:
                yield item
        finally:
            await aclose(source)

    return StreamOperator[Any, Any](apply)


@labelled
def skip_last(n: int) -> SameTypeOperator:
    """Emit all items but the last ``n``; each item goes on once ``n`` more have arrived, so it
    holds ``n`` items.

    Example::

        assert await stream(range(5)).pipe(skip_last(2)).collect() == [0, 1, 2]
    """
    check_int("n", n, minimum=0)

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        try:
            held: deque[Any] = deque()
            async for item in source:
                held.append(item)
                if len(held) > n:
                    yield held.popleft()
        finally:
            await aclose(source)

    return StreamOperator[Any, Any](apply)


# -- folding to one value -------------------------------------------------------------------


async def _fold(
    values: AsyncIterator[Any], stage: Stage, initial: Any, *, once: bool = False, empty: str
) -> AsyncIterator[Any]:
    """Emit one value: the last of ``values`` (with ``once``, the first, then close
    ``values``), or ``initial`` if there is none. No value and no ``initial``:
    :exc:`EmptyStreamError` saying ``empty``."""
    result = initial
    try:
        async for value in values:
            result = value
            if once:
                break
        await aclose(values)
        if result is _MISSING:
            raise EmptyStreamError(f"{stage.name} {empty}")
        yield result
    finally:
        await aclose(values)


if MYPY:  # mypy reads these overloads; pyright and the runtime the ones below (_types.MYPY)

    @overload
    def reduce(
        fn: Callable[[R, T], Awaitable[R]], initial: R, *, on_error: OnError = "raise"
    ) -> StreamOperator[T, R]: ...
    @overload
    def reduce(
        fn: Callable[[R, T], R], initial: R, *, on_error: OnError = "raise"
    ) -> StreamOperator[T, R]: ...
    @overload
    def reduce(
        fn: Callable[[T, T], Awaitable[T]], *, on_error: OnError = "raise"
    ) -> StreamOperator[T, T]: ...
    @overload
    def reduce(fn: Callable[[T, T], T], *, on_error: OnError = "raise") -> StreamOperator[T, T]: ...
    def reduce(*args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportRedeclaration]
        raise NotImplementedError

else:

    @overload
    def reduce(
        fn: Callable[[R, T], Awaitable[R]] | Callable[[R, T], R],
        initial: R,
        *,
        on_error: OnError = "raise",
    ) -> StreamOperator[T, R]: ...
    @overload
    def reduce(
        fn: Callable[[T, T], Awaitable[T]] | Callable[[T, T], T], *, on_error: OnError = "raise"
    ) -> StreamOperator[T, T]: ...
    @labelled
    def reduce(
        fn: Callable[[Any, Any], Any], initial: Any = _MISSING, *, on_error: OnError = "raise"
    ) -> StreamOperator[Any, Any]:
        """Emit one value: the items folded with ``fn(accumulated, item)`` (sync or async), from
        ``initial``, or from the first item when no ``initial`` is given.

        The operator form of :meth:`Stream.reduce`, for use inside a pipeline. With
        ``on_error="skip"`` an item on which ``fn`` fails is left out of the fold (and counted in
        ``statistics()``).

        Raises:
            EmptyStreamError: the stream is empty and no ``initial`` was given.

        Example::

            assert await stream([1, 2, 3]).pipe(reduce(operator.add, 10)).collect() == [16]
        """
        check_callable("fn", fn)
        return StreamOperator(
            lambda source, stage: _fold(
                accumulate(source, fn, initial, stage),
                stage,
                initial,
                empty="found an empty stream and has no initial value",
            ),
            on_error=check_on_error(on_error),
        )


@overload
def first() -> SameTypeOperator: ...
@overload
def first(*, default: U) -> OrDefaultOperator[U]: ...
@labelled
def first(*, default: Any = _MISSING) -> OrDefaultOperator[Any]:
    """Emit the first item, or ``default`` if there is none; then stop everything upstream.

    The operator form of :meth:`Stream.first`: the source is closed as soon as the first item
    arrives, before it is passed on.

    Raises:
        EmptyStreamError: the stream is empty and no ``default`` was given.

    Example::

        assert await stream.count(5).pipe(first()).collect() == [5]
    """
    return StreamOperator[Any, Any](
        lambda source, stage: _fold(source, stage, default, once=True, empty=_NO_ITEM)
    )


@overload
def last() -> SameTypeOperator: ...
@overload
def last(*, default: U) -> OrDefaultOperator[U]: ...
@labelled
def last(*, default: Any = _MISSING) -> OrDefaultOperator[Any]:
    """Emit the last item once the stream has ended, or ``default`` if there is none.

    The operator form of :meth:`Stream.last`.

    Raises:
        EmptyStreamError: the stream is empty and no ``default`` was given.

    Example::

        assert await stream([]).pipe(last(default=0)).collect() == [0]
    """
    return StreamOperator[Any, Any](
        lambda source, stage: _fold(source, stage, default, empty=_NO_ITEM)
    )


_NO_ITEM = "found no item; pass default=... to get a value instead"
