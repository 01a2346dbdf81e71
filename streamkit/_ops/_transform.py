"""Transform operators: each input becomes zero, one or several outputs.

``map_``, ``flat_map``, ``flatten``, ``scan``, ``enumerate_``, ``tap``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any, Unpack, cast, overload

from anyio.lowlevel import checkpoint

from .._awaitable import awaitable
from .._errors import SKIP
from .._operator import StreamOperator, labelled
from .._options import check_callable, check_int
from .._per_item import PerItemOptions, per_item, per_item_signature
from .._retry import Call
from .._runtime._build import Build
from .._runtime._closing import aclose
from .._runtime._fused import Kind, Step
from .._runtime._stage import RAISE, Stage
from .._source import CHECKPOINT_EVERY, Source, as_source
from .._types import MYPY, AnyIterable, EnumerateOperator, FlattenOperator, T, U, V
from ._each import results_job, settle

if MYPY:  # mypy reads these overloads; pyright and the runtime the def below (_types.MYPY)

    @overload
    def map_(
        fn: Callable[[T], Awaitable[U]],
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, U]: ...
    @overload
    def map_(
        fn: Callable[[T], U],
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, U]: ...
    def map_(*args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportRedeclaration]
        raise NotImplementedError

else:

    @labelled
    @per_item_signature
    def map_(
        # The Coroutine member, with a V solved to Any, is for pyright: of several union members
        # that match, it takes the one solving the most type variables (then the simplest), so an
        # async function returning tuple[str, list[str]] gives U = tuple[...], not a Coroutine.
        fn: Callable[[T], U] | Callable[[T], Coroutine[V, Any, U]] | Callable[[T], Awaitable[U]],
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, U]:
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
                with :exc:`TimeoutError` (subject to ``retry`` and ``on_error``). A sync ``fn``
                cannot be interrupted unless it runs on an ``executor``.
            retry: a :class:`Retry` policy for failed calls.
            rate_limit: ``(count, per)``: at most ``count`` calls start in any ``per`` seconds,
                across all workers (calls are delayed, never dropped; see :func:`rate_limit`).
                Like aiometer's ``max_per_second``, ``(n, 1.0)``. Retries of a call are not
                counted again.
            executor: run a sync ``fn`` elsewhere, ``concurrency`` calls at a time: ``"thread"``
                (anyio's worker threads), ``"process"`` (anyio's worker processes; ``fn``, items
                and results must pickle) or any :class:`concurrent.futures.Executor`, such as a
                dask ``client.get_executor()``. See :doc:`offload`.
            chunksize: with ``executor``, send up to this many items per task (``1``, the
                default: one task per item), or ``"auto"`` (sized from the measured per-task
                overhead); the function still runs per item in the worker, and order,
                ``on_error``, ``retry``, ``timeout`` (timed in the worker) and the statistics
                stay per item. ``concurrency`` and ``window`` then count chunks. See
                :doc:`scaling`.

        Raises:
            TypeError: ``executor`` is given with an async ``fn``.

        Example::

            pages = await stream(urls).pipe(map_(fetch, concurrency=16)).collect()
            parsed = stream(paths).pipe(map_(parse, executor="process", concurrency=2))
            sizes = await parsed.collect()
        """
        check_callable("fn", fn)
        return per_item(
            fn,
            Kind.MAP,
            lambda call, stage: results_job(call, stage, keep_if_true=False),
            options,
        )


if MYPY:  # mypy reads these overloads; pyright and the runtime the def below (_types.MYPY)

    @overload
    def flat_map(
        fn: Callable[[T], Awaitable[AnyIterable[U]]],
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, U]: ...
    @overload
    def flat_map(
        fn: Callable[[T], AnyIterable[U]],
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, U]: ...
    def flat_map(*args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportRedeclaration]
        raise NotImplementedError

else:

    @labelled
    @per_item_signature
    def flat_map(
        fn: Callable[[T], Awaitable[AnyIterable[U]]] | Callable[[T], AnyIterable[U]],
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, U]:
        """Apply ``fn`` to each item and emit every item of what it returns.

        ``fn`` (sync or async) returns an iterable, an async iterable or a :class:`Stream`. With
        ``ordered=True`` the outputs of one input stay together and in order. Options as for
        :func:`map_`; with concurrency, ``window`` also bounds the outputs buffered. With
        ``executor``, ``fn`` should return a list: a generator's body would run back in the event
        loop (and cannot be pickled).

        ``timeout`` and ``retry`` cover the call that returns the iterable, not the reading of it
        (items already emitted cannot be taken back). A failure while reading it goes to
        ``on_error`` like a failed call: the items emitted before it stay, ``"skip"`` drops the
        rest, and a handler's replacement (an iterable) is emitted in place of the rest.

        Example::

            words = await stream(lines).pipe(flat_map(str.split)).collect()
        """
        check_callable("fn", fn)

        async def job(
            call: Call, stage: Stage, item: Any, index: int
        ) -> Sequence[Any] | AsyncIterator[Any]:
            produced = await settle(call, item, index, stage)
            if isinstance(produced, list | tuple):  # as is: the pool iterates it directly
                return cast("Sequence[Any]", produced)
            return () if produced is SKIP else _outputs(produced, item, index, stage)

        return per_item(
            fn,
            _flat_map,
            lambda call, stage: partial(job, call, stage),
            options,
        )


def items_of(produced: object, build: Build) -> AsyncIterator[Any]:
    """An async iterator over ``produced`` (an iterable, async iterable or Stream), built in
    ``build``, closing what it opened when it is closed."""
    return _iterate(as_source(produced), build)


async def _iterate(source: Source[Any], build: Build) -> AsyncIterator[Any]:
    parts = await build.open(source)
    try:
        async for value in parts.output:
            yield value
    finally:
        await parts.aclose()


async def _flat_map(
    source: AsyncIterator[Any], fn: Callable[[Any], Any], stage: Stage
) -> AsyncIterator[Any]:
    """Sequential ``flat_map``, under the stage's ``on_error``."""
    index = -1
    try:
        async for item in source:
            index += 1
            try:
                produced = fn(item)
                if awaitable(produced):
                    produced = await produced
            except Exception as exc:
                produced = await stage.recover(exc, index, item)
                if produced is RAISE:
                    raise
            if isinstance(produced, list | tuple):
                # The common case, iterated here rather than through an inner chain (three
                # generators per item): a checkpoint per CHECKPOINT_EVERY items, as a sync
                # source has, and one for an empty result.
                sequence = cast("Sequence[Any]", produced)
                for start in range(0, len(sequence) or 1, CHECKPOINT_EVERY):
                    await checkpoint()
                    for value in sequence[start : start + CHECKPOINT_EVERY]:
                        yield value
            elif produced is not SKIP:
                outputs = _outputs(produced, item, index, stage)
                try:
                    async for value in outputs:
                        yield value
                finally:
                    await aclose(outputs)
    finally:
        await aclose(source)


async def _outputs(produced: object, item: Any, index: int, stage: Stage) -> AsyncIterator[Any]:
    """The items of ``produced`` (what ``fn(item)`` returned): a failure while reading them
    goes to the stage's ``on_error``, and a handler's replacement is read in place of the rest.
    Both paths of ``flat_map`` use it for results that are not a list or tuple."""
    while produced is not SKIP:
        inner: AsyncIterator[Any] | None = None
        try:
            inner = items_of(produced, stage.build.inner())  # one per item: not listed
            async for value in inner:
                yield value
            return
        except Exception as exc:
            produced = await stage.recover(exc, index, item)
            if produced is RAISE:
                raise
        finally:
            if inner is not None:
                await aclose(inner)


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


def one_after_another(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
    """The items of each item of ``source`` in turn, under ``stage``: sequential
    ``flatten()``, for the combining operators."""
    return _flat_map(source, _identity, stage)


if MYPY:  # mypy reads these overloads; pyright and the runtime the def below (_types.MYPY)

    @overload
    def scan(fn: Callable[[U, T], Awaitable[U]], initial: U) -> StreamOperator[T, U]: ...
    @overload
    def scan(fn: Callable[[U, T], U], initial: U) -> StreamOperator[T, U]: ...
    def scan(*args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportRedeclaration]
        raise NotImplementedError

else:

    @labelled
    def scan(
        fn: Callable[[U, T], Awaitable[U]] | Callable[[U, T], U], initial: U
    ) -> StreamOperator[T, U]:
        """Emit each running result of ``fn(accumulated, item)`` (sync or async), from ``initial``.

        ``initial`` itself is not emitted: the output has one item per input.

        Example::

            assert await stream([1, 2, 3]).pipe(scan(operator.add, 0)).collect() == [1, 3, 6]
        """
        check_callable("fn", fn)
        return StreamOperator(Step(Kind.SCAN, fn, initial))


@labelled
def enumerate_(start: int = 0) -> EnumerateOperator:
    """Emit ``(index, item)`` pairs, counting from ``start``.

    Example::

        assert await stream(["a", "b"]).pipe(enumerate_()).collect() == [(0, "a"), (1, "b")]
    """
    check_int("start", start, minimum=-(2**63))

    return StreamOperator[Any, Any](Step(Kind.ENUMERATE, None, start))


@labelled
def tap(fn: Callable[[T], object]) -> StreamOperator[T, T]:
    """Call ``fn`` (sync or async) on each item for its side effect and emit the item.

    Example::

        seen = []
        await stream([1, 2]).pipe(tap(seen.append)).drain()
    """
    check_callable("fn", fn)
    return StreamOperator(Step(Kind.TAP, fn))
