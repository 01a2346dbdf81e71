"""Buffering operators: read ahead of the consumer, or group items.

``batch``, ``buffer``. Both bound what they hold exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio

from .._operator import StreamOperator, labelled
from .._options import check_int, check_seconds
from .._runtime._closing import aclose
from .._runtime._pool import start_pool
from .._runtime._stage import Stage
from .._types import BatchOperator, SameTypeOperator, T


def read_ahead(source: AsyncIterator[T], stage: Stage, *, window: int) -> AsyncIterator[T]:
    """``source`` read up to ``window`` items ahead of the consumer by one task (a worker pool):
    its ``__anext__`` may be cancelled, by a deadline say, without losing an item."""
    return start_pool(source, _as_is, stage, concurrency=1, ordered=False, window=window)


def read_ahead_stamped(
    source: AsyncIterator[T], stage: Stage, *, window: int
) -> AsyncIterator[tuple[float, T]]:
    """As :func:`read_ahead`, each item paired with the time it arrived."""
    return start_pool(source, _stamped, stage, concurrency=1, ordered=False, window=window)


async def _as_is(item: T, index: int) -> tuple[T]:
    return (item,)


async def _stamped(item: T, index: int) -> tuple[tuple[float, T]]:
    return ((anyio.current_time(), item),)


@labelled
def buffer(size: int) -> SameTypeOperator:
    """Read up to ``size`` items ahead of the consumer, in a task of the pipeline.

    Use it to let a slow consumer and a slow producer work at the same time.

    Example::

        async with stream(sensor()).pipe(buffer(100)).open() as readings:
            async for reading in readings:
                await store(reading)
    """
    check_int("size", size, minimum=1)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        return read_ahead(source, stage, window=size)

    return StreamOperator[Any, Any](apply)


@labelled
def batch(size: int, *, timeout: float | None = None) -> BatchOperator:
    """Group items into lists of at most ``size``; the last may be shorter.

    With ``timeout`` (seconds), a partial batch is also emitted once its oldest item has waited
    that long, so a slow source still makes progress; the upstream is then read by a task, at
    most ``size`` items ahead.

    Example::

        assert await stream(range(5)).pipe(batch(2)).collect() == [[0, 1], [2, 3], [4]]
    """
    check_int("size", size, minimum=1)
    if timeout is None:
        return StreamOperator[Any, Any](lambda source, stage: _batches(source, size))
    seconds = check_seconds("timeout", timeout)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[list[Any]]:
        return _timed_batches(read_ahead_stamped(source, stage, window=size), size, seconds)

    return StreamOperator[Any, Any](apply)


async def _batches(source: AsyncIterator[T], size: int) -> AsyncIterator[list[T]]:
    try:
        current: list[T] = []
        async for item in source:
            current.append(item)
            if len(current) == size:
                yield current
                current = []
        if current:
            yield current
    finally:
        await aclose(source)


async def _timed_batches(
    ahead: AsyncIterator[tuple[float, T]], size: int, max_wait: float
) -> AsyncIterator[list[T]]:
    # One cancel scope per batch: one per item (as the time operators wait) made batching
    # two to three times slower.
    try:
        while True:
            try:
                arrived, first = await ahead.__anext__()
            except StopAsyncIteration:
                return
            current = [first]
            ended = False
            with anyio.move_on_after(arrived + max_wait - anyio.current_time()):
                while len(current) < size:
                    try:
                        current.append((await ahead.__anext__())[1])
                    except StopAsyncIteration:
                        ended = True
                        break
            yield current
            if ended:
                return
    finally:
        await aclose(ahead)
