"""The one loop behind every operator that calls a user function once per item, and the jobs
that worker pools run for the same operators.

``fn`` may be sync or async: the first call tells which (a result that is awaitable means
async), and that answer is kept for the rest of the run. ``fn`` arrives already wrapped with
the operator's ``timeout`` and ``retry`` (:func:`streamkit._retry.guard`), so both paths see
only a call's final result or failure. A failure goes through the stage's ``on_error``
(:meth:`Stage.recover`): counted and dropped, replaced by a handler's result, or re-raised
with a note naming the operator and the item index.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from inspect import isawaitable
from typing import Any

from .._errors import SKIP
from .._runtime._chain import aclose
from .._runtime._pool import Job
from .._runtime._stage import RAISE, Stage


class Then(enum.Enum):
    """What to do with an item once ``fn(item)`` has returned ``result``."""

    EMIT_RESULT = "emit the result (map_)"
    KEEP_IF_TRUE = "emit the item if the result is true (filter_)"
    EMIT_ITEM = "emit the item whatever the result (tap)"
    STOP_IF_FALSE = "emit the item while results are true, then stop (take_while)"
    DROP_WHILE_TRUE = "drop items while results are true, then emit the rest (skip_while)"


async def each(
    source: AsyncIterator[Any], fn: Callable[[Any], Any], stage: Stage, then: Then
) -> AsyncIterator[Any]:
    """Call ``fn`` on each item of ``source`` and act on the result as ``then`` says."""
    emit_result = then is Then.EMIT_RESULT
    keep_if_true = then is Then.KEEP_IF_TRUE
    emit_item = then is Then.EMIT_ITEM
    stop_if_false = then is Then.STOP_IF_FALSE
    index = -1
    is_async: bool | None = None
    calling = True
    try:
        async for item in source:
            index += 1
            if not calling:  # skip_while has stopped skipping
                yield item
                continue
            try:
                result = fn(item)
                if is_async is None:
                    is_async = isawaitable(result)
                if is_async:
                    result = await result
            except Exception as exc:
                result = await stage.recover(exc, index, item)
                if result is RAISE:
                    raise
                if result is SKIP:
                    continue
            if emit_result:
                yield result
            elif keep_if_true:
                if result:
                    yield item
            elif emit_item:
                yield item
            elif stop_if_false:
                if not result:
                    return
                yield item
            elif not result:  # Then.DROP_WHILE_TRUE
                calling = False
                yield item
    finally:
        await aclose(source)


async def call(fn: Callable[[Any], Any], item: Any) -> Any:
    """``fn(item)``, awaited if it returns an awaitable (for jobs run by worker pools)."""
    result = fn(item)
    if isawaitable(result):
        result = await result
    return result


async def settle(fn: Callable[[Any], Any], item: Any, index: int, stage: Stage) -> Any:
    """``fn(item)`` under the stage's ``on_error``: the result, a handler's replacement or
    :data:`~streamkit.SKIP`; raises (with the note) when the policy says so."""
    try:
        return await call(fn, item)
    except Exception as exc:
        result = await stage.recover(exc, index, item)
        if result is RAISE:
            raise
        return result


def results_job(fn: Callable[[Any], Any], stage: Stage, then: Then) -> Job[Any, Any]:
    """The job a worker pool runs for ``map_`` (``EMIT_RESULT``) or ``filter_``
    (``KEEP_IF_TRUE``): the results of one input, as :func:`each` would emit them."""
    keep_if_true = then is Then.KEEP_IF_TRUE

    async def job(item: Any, index: int) -> tuple[Any, ...]:
        result = await settle(fn, item, index, stage)
        if result is SKIP:
            return ()
        if keep_if_true:
            return (item,) if result else ()
        return (result,)

    return job
