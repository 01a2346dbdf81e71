"""The one loop behind every operator that calls a user function once per item, and the jobs
that worker pools run for the same operators.

``fn`` may be sync or async, and may be both: each result is awaited if it is awaitable
(:func:`~streamkit._awaitable.awaitable`, a check cached by type). ``fn`` arrives already
wrapped with the operator's ``timeout`` and ``retry`` (:func:`streamkit._retry.guard`), so
both paths see only a call's final result or failure.
A failure goes through the stage's ``on_error``
(:meth:`Stage.recover`): counted and dropped, replaced by a handler's result, or re-raised
with a note naming the operator and the item index.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from time import perf_counter
from typing import Any

from .._awaitable import awaitable
from .._errors import SKIP
from .._retry import Call
from .._runtime._chain import aclose
from .._runtime._pool import Job
from .._runtime._stage import RAISE, SAMPLE_EVERY, Stage
from .._types import MISSING


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
    """Call ``fn`` on each item of ``source`` and act on the result as ``then`` says.

    Counts on ``stage`` the items pulled, the items dropped and the call in flight (so the
    items emitted follow), and times one call in :data:`SAMPLE_EVERY`.
    """
    emit_result = then is Then.EMIT_RESULT
    keep_if_true = then is Then.KEEP_IF_TRUE
    emit_item = then is Then.EMIT_ITEM
    stop_if_false = then is Then.STOP_IF_FALSE
    sample_mask = SAMPLE_EVERY - 1
    count = 0
    stage.items_in = 0
    stage.sampled_time = 0.0
    calling = True
    try:
        async for item in source:
            count += 1
            stage.items_in = count
            if not calling:  # skip_while has stopped skipping: no more calls, zero-time samples
                if count & sample_mask == 1:
                    stage.sample(0.0)
                yield item
                continue
            try:
                # Judged on every call (a function may return a value for some items and an
                # awaitable for others), by the result's type: see awaitable().
                if count & sample_mask == 1:  # time this call
                    started = perf_counter()
                    result = fn(item)
                    if awaitable(result):
                        stage.in_flight = 1
                        result = await result
                        stage.in_flight = 0
                    stage.sample(perf_counter() - started)
                else:
                    result = fn(item)
                    if awaitable(result):
                        stage.in_flight = 1
                        result = await result
                        stage.in_flight = 0
            except Exception as exc:
                stage.in_flight = 1  # an on_error handler may await: the item is in flight
                result = await stage.recover(exc, count - 1, item)
                stage.in_flight = 0
                if result is SKIP:
                    continue
                if result is RAISE:
                    stage.dropped += 1
                    raise
            if emit_result:
                yield result
            elif keep_if_true:
                if result:
                    yield item
                else:
                    stage.dropped += 1
            elif emit_item:
                yield item
            elif stop_if_false:
                if not result:
                    stage.dropped += 1
                    return
                yield item
            elif result:  # Then.DROP_WHILE_TRUE, still dropping
                stage.dropped += 1
            else:  # Then.DROP_WHILE_TRUE: the first false result
                calling = False
                yield item
    finally:
        if stage.in_flight:  # cancelled during the call, or its on_error handler raised
            stage.in_flight = 0
            stage.dropped += 1
        await aclose(source)


async def accumulate(
    source: AsyncIterator[Any], fn: Callable[[Any, Any], Any], initial: Any, stage: Stage
) -> AsyncIterator[Any]:
    """Emit each running result of ``fn(accumulated, item)`` (sync or async), from ``initial``;
    when ``initial`` is :data:`~streamkit._types.MISSING`, the first item starts the fold and
    is emitted as it is (as with :func:`itertools.accumulate`). An item on which ``fn`` fails
    is left out if the stage's policy skips it; otherwise the failure is raised with the note.

    The one fold behind ``scan``, ``reduce`` and :meth:`Stream.reduce`.
    """
    accumulated = initial
    index = -1
    try:
        async for item in source:
            index += 1
            if accumulated is MISSING:
                accumulated = item
            else:
                try:
                    result = fn(accumulated, item)
                    if awaitable(result):
                        result = await result
                except Exception as exc:
                    if stage.failed(exc, index, item):
                        continue
                    raise
                accumulated = result
            yield accumulated
    finally:
        await aclose(source)


async def call(fn: Callable[[Any], Any], item: Any) -> Any:
    """``fn(item)``, awaited if it returns an awaitable (for jobs run by worker pools)."""
    result = fn(item)
    if awaitable(result):
        result = await result
    return result


async def settle(call: Call, item: Any, index: int, stage: Stage) -> Any:
    """``call(item, index)`` under the stage's ``on_error``: the result, a handler's replacement
    or :data:`~streamkit.SKIP`; raises (with the note) when the policy says so."""
    try:
        result = call(item, index)
        return (await result) if awaitable(result) else result
    except Exception as exc:
        result = await stage.recover(exc, index, item)
        if result is RAISE:
            raise
        return result


def results_job(call: Call, stage: Stage, then: Then) -> Job[Any, Any]:
    """The job a worker pool runs for ``map_`` (``EMIT_RESULT``) or ``filter_``
    (``KEEP_IF_TRUE``): the results of one input, as :func:`each` would emit them."""
    keep_if_true = then is Then.KEEP_IF_TRUE

    async def job(item: Any, index: int) -> tuple[Any, ...]:
        result = await settle(call, item, index, stage)
        if result is SKIP:
            return ()
        if keep_if_true:
            return (item,) if result else ()
        return (result,)

    return job
