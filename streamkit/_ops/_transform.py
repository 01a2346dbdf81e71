"""Transform operators: each input becomes zero, one or several outputs.

``map_``, ``flat_map``, ``flatten``, ``scan``, ``enumerate_``, ``tap``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from inspect import isawaitable
from typing import Any, overload

from .._errors import SKIP
from .._operator import StreamOperator, labelled, per_item
from .._options import OnError, check_callable, check_int
from .._retry import Retry
from .._runtime._chain import aclose
from .._runtime._stage import RAISE, Stage
from .._source import as_source
from .._types import AnyIterable, EnumerateOperator, FlattenOperator, T, U
from ._each import Then, each, results_job, settle


@overload
def map_(
    fn: Callable[[T], Awaitable[U]],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    window: int | None = None,
    on_error: OnError = "raise",
    timeout: float | None = None,
    retry: Retry | None = None,
) -> StreamOperator[T, U]: ...
@overload
def map_(
    fn: Callable[[T], U],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    window: int | None = None,
    on_error: OnError = "raise",
    timeout: float | None = None,
    retry: Retry | None = None,
) -> StreamOperator[T, U]: ...
@labelled
def map_(
    fn: Callable[[Any], Any],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    window: int | None = None,
    on_error: OnError = "raise",
    timeout: float | None = None,
    retry: Retry | None = None,
) -> StreamOperator[Any, Any]:
    """Apply ``fn`` (sync or async) to each item.

    Args:
        fn: called with each item; its result (awaited if awaitable) is emitted.
        concurrency: how many calls may run at once.
        ordered: emit in input order (each result as soon as it is next in line); with
            ``False``, in completion order.
        window: how many inputs a concurrent stage may hold (running, or done and waiting for
            their turn); default ``max(16 * concurrency, 64)``, at least ``concurrency``.
        on_error: ``"raise"`` stops the pipeline with the error; ``"skip"`` drops the item
            and counts it in ``statistics()``; a handler ``fn(exc, item)`` (sync or async)
            returns a result to emit instead, or :data:`SKIP` (see :class:`Failures`).
        timeout: seconds one call may take; a call that takes longer is cancelled and fails
            with :exc:`TimeoutError` (subject to ``retry`` and ``on_error``).
        retry: a :class:`Retry` policy for failed calls.

    Example::

        pages = await stream(urls).pipe(map_(fetch, concurrency=16)).collect()
    """
    check_callable("fn", fn)
    return per_item(
        fn,
        lambda source, call, stage: each(source, call, stage, Then.EMIT_RESULT),
        lambda call, stage: results_job(call, stage, Then.EMIT_RESULT),
        concurrency=concurrency,
        ordered=ordered,
        window=window,
        on_error=on_error,
        timeout=timeout,
        retry=retry,
    )


@overload
def flat_map(
    fn: Callable[[T], Awaitable[AnyIterable[U]]],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    window: int | None = None,
    on_error: OnError = "raise",
    timeout: float | None = None,
    retry: Retry | None = None,
) -> StreamOperator[T, U]: ...
@overload
def flat_map(
    fn: Callable[[T], AnyIterable[U]],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    window: int | None = None,
    on_error: OnError = "raise",
    timeout: float | None = None,
    retry: Retry | None = None,
) -> StreamOperator[T, U]: ...
@labelled
def flat_map(
    fn: Callable[[Any], Any],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    window: int | None = None,
    on_error: OnError = "raise",
    timeout: float | None = None,
    retry: Retry | None = None,
) -> StreamOperator[Any, Any]:
    """Apply ``fn`` to each item and emit every item of what it returns.

    ``fn`` (sync or async) returns an iterable, an async iterable or a :class:`Stream`. With
    ``ordered=True`` the outputs of one input stay together and in order. Options as for
    :func:`map_`; with concurrency, ``window`` also bounds the outputs buffered.

    ``timeout`` and ``retry`` cover the call that returns the iterable, not the reading of it
    (items already emitted cannot be taken back). A failure while reading it goes to
    ``on_error`` like a failed call: the items emitted before it stay, ``"skip"`` drops the
    rest, and a handler's replacement (an iterable) is emitted in place of the rest.

    Example::

        words = await stream(lines).pipe(flat_map(str.split)).collect()
    """
    check_callable("fn", fn)

    async def job(call: Callable[[Any], Any], stage: Stage, item: Any, index: int) -> Any:
        return _flat_map(_one(item), call, stage, index)

    return per_item(
        fn,
        _flat_map,
        lambda call, stage: partial(job, call, stage),
        concurrency=concurrency,
        ordered=ordered,
        window=window,
        on_error=on_error,
        timeout=timeout,
        retry=retry,
    )


def _inner(produced: object) -> AsyncIterator[Any]:
    return _iterate_chain(as_source(produced)._open())  # pyright: ignore[reportPrivateUsage]


async def _iterate_chain(chain: Any) -> AsyncIterator[Any]:
    try:
        async for value in chain.output:
            yield value
    finally:
        await chain.aclose()


async def _flat_map(
    source: AsyncIterator[Any], fn: Callable[[Any], Any], stage: Stage, index: int = 0
) -> AsyncIterator[Any]:
    """Sequential ``flat_map`` (items counted from ``index``), under the stage's ``on_error``;
    a worker pool runs it on one item at a time."""
    index -= 1
    try:
        async for item in source:
            index += 1
            produced = await settle(fn, item, index, stage)
            while produced is not SKIP:
                inner: AsyncIterator[Any] | None = None
                try:
                    inner = _inner(produced)
                    produced = SKIP
                    async for value in inner:
                        yield value
                except Exception as exc:
                    produced = await stage.recover(exc, index, item)
                    if produced is RAISE:
                        raise
                finally:
                    if inner is not None:
                        await aclose(inner)
    finally:
        await aclose(source)


async def _one(item: Any) -> AsyncIterator[Any]:
    yield item


@labelled
def flatten(
    *, concurrency: int = 1, ordered: bool = True, window: int | None = None
) -> FlattenOperator:
    """Emit the items of each item (an iterable, async iterable or Stream).

    With ``concurrency=N`` up to N inner streams are read at once (``ordered=False`` merges
    them as items arrive).

    Example::

        assert await stream([[1, 2], [3]]).pipe(flatten()).collect() == [1, 2, 3]
    """
    operator: StreamOperator[Any, Any] = flat_map(
        _identity, concurrency=concurrency, ordered=ordered, window=window
    )
    return operator


def _identity(item: Any) -> Any:
    return item


@overload
def scan(fn: Callable[[U, T], Awaitable[U]], initial: U) -> StreamOperator[T, U]: ...
@overload
def scan(fn: Callable[[U, T], U], initial: U) -> StreamOperator[T, U]: ...
@labelled
def scan(fn: Callable[[Any, Any], Any], initial: Any) -> StreamOperator[Any, Any]:
    """Emit each running result of ``fn(accumulated, item)`` (sync or async), from ``initial``.

    ``initial`` itself is not emitted: the output has one item per input.

    Example::

        assert await stream([1, 2, 3]).pipe(scan(operator.add, 0)).collect() == [1, 3, 6]
    """
    check_callable("fn", fn)

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        accumulated = initial
        index = -1
        try:
            async for item in source:
                index += 1
                try:
                    accumulated = fn(accumulated, item)
                    if isawaitable(accumulated):
                        accumulated = await accumulated
                except Exception as exc:
                    stage.failed(exc, index, item)
                    raise
                yield accumulated
        finally:
            await aclose(source)

    return StreamOperator(apply)


@labelled
def enumerate_(start: int = 0) -> EnumerateOperator:
    """Emit ``(index, item)`` pairs, counting from ``start``.

    Example::

        assert await stream(["a", "b"]).pipe(enumerate_()).collect() == [(0, "a"), (1, "b")]
    """
    check_int("start", start, minimum=-(2**63))

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[tuple[int, Any]]:
        index = start
        try:
            async for item in source:
                yield index, item
                index += 1
        finally:
            await aclose(source)

    return StreamOperator[Any, Any](apply)


@labelled
def tap(fn: Callable[[T], object]) -> StreamOperator[T, T]:
    """Call ``fn`` (sync or async) on each item for its side effect and emit the item.

    Example::

        seen = []
        await stream([1, 2]).pipe(tap(seen.append)).drain()
    """
    check_callable("fn", fn)
    return StreamOperator(lambda source, stage: each(source, fn, stage, Then.EMIT_ITEM))
