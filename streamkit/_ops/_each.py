"""Calling a user function on an item outside the fused loop: the jobs that worker pools run
for ``map_``/``filter_``/``flat_map``, and the running fold of ``scan``/``reduce``.

(The sequential per-item loop is :class:`~streamkit._runtime._fused.Fused`.) ``fn`` may be sync
or async, and may be both: each result is awaited if it is awaitable
(:func:`~streamkit._awaitable.awaitable`). ``fn`` arrives already wrapped with the operator's
``timeout`` and ``retry`` (:func:`streamkit._retry.guard`), so a job sees only a call's final
result or failure. A failure goes through the stage's ``on_error`` (:meth:`Stage.recover`):
counted and dropped, replaced by a handler's result, or re-raised with a note naming the
operator and the item index.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from .._awaitable import awaitable
from .._errors import SKIP
from .._retry import Call
from .._runtime._closing import aclose
from .._runtime._pool import Job
from .._runtime._stage import RAISE, Stage
from .._types import MISSING


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


def results_job(call: Call, stage: Stage, *, keep_if_true: bool) -> Job[Any, Any]:
    """The job a worker pool runs for ``map_`` (the result) or ``filter_`` (the item if the
    result is true, ``keep_if_true``): what one input gives, as the fused loop would emit it."""

    async def job(item: Any, index: int) -> tuple[Any, ...]:
        result = await settle(call, item, index, stage)
        if result is SKIP:
            return ()
        if keep_if_true:
            return (item,) if result else ()
        return (result,)

    return job
