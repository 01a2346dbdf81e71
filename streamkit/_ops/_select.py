"""Selection operators: which items go on, and when the stream stops.

``filter_``, ``take``, ``take_while``, ``skip``, ``skip_while``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Unpack

from .._operator import StreamOperator, labelled
from .._options import check_callable, check_int
from .._per_item import PerItemOptions, per_item, per_item_signature
from .._runtime._fused import Kind, Step
from .._types import SameTypeOperator, T
from ._each import results_job


@labelled
@per_item_signature
def filter_(pred: Callable[[T], object], **options: Unpack[PerItemOptions]) -> StreamOperator[T, T]:
    """Emit the items for which ``pred`` (sync or async) is true.

    Options as for :func:`map_`; an ``on_error`` handler's replacement stands for the
    predicate's result (a true one keeps the item).

    Example::

        evens = await stream(range(10)).pipe(filter_(lambda x: x % 2 == 0)).collect()
    """
    check_callable("pred", pred)
    return per_item(
        pred,
        Kind.FILTER,
        lambda call, stage: results_job(call, stage, keep_if_true=True),
        options,
    )


@labelled
def take(n: int) -> SameTypeOperator:
    """Emit the first ``n`` items, then stop everything upstream at once.

    Once the n-th item arrives, no further upstream call starts, calls in flight are
    cancelled and the source is closed, before the item is passed on.

    Example::

        assert await stream.count().pipe(take(3)).collect() == [0, 1, 2]
    """
    check_int("n", n, minimum=0)

    return StreamOperator[Any, Any](Step(Kind.TAKE, None, n))


@labelled
def take_while(
    pred: Callable[[T], object],
) -> StreamOperator[T, T]:
    """Emit items while ``pred`` (sync or async) is true; stop at the first false one.

    Example::

        assert await stream([1, 2, 5, 1]).pipe(take_while(lambda x: x < 3)).collect() == [1, 2]
    """
    check_callable("pred", pred)
    return StreamOperator(Step(Kind.TAKE_WHILE, pred))


@labelled
def skip(n: int) -> SameTypeOperator:
    """Drop the first ``n`` items and emit the rest.

    Example::

        assert await stream(range(5)).pipe(skip(3)).collect() == [3, 4]
    """
    check_int("n", n, minimum=0)

    return StreamOperator[Any, Any](Step(Kind.SKIP, None, n))


@labelled
def skip_while(
    pred: Callable[[T], object],
) -> StreamOperator[T, T]:
    """Drop items while ``pred`` (sync or async) is true; emit the rest, unchecked.

    Example::

        assert await stream([1, 2, 5, 1]).pipe(skip_while(lambda x: x < 3)).collect() == [5, 1]
    """
    check_callable("pred", pred)
    return StreamOperator(Step(Kind.SKIP_WHILE, pred))
