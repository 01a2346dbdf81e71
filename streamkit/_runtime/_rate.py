"""Rate limiting: at most ``count`` starts in any ``per`` seconds, by delaying, never dropping.

The limiter is a sliding-window log: it remembers the times of the last ``count`` starts (so
its memory is ``count`` floats) and lets a new start happen once the oldest of them is ``per``
seconds old. Unlike a token bucket, which lets a full bucket's burst follow a steady stream, it
holds exactly: no interval of ``per`` seconds (closed at the start, open at the end) contains
more than ``count`` starts. The start is recorded when the waiter is released, so a late
wake-up can only make the rate lower.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

import anyio

from .._types import T
from ._closing import aclose


class RateLimiter:
    """Admits at most ``count`` starts per ``per`` seconds; waiters are admitted in FIFO order.

    Make one per run (it holds an :class:`anyio.Lock`); any number of tasks of that run may
    :meth:`wait` on it at once.
    """

    __slots__ = ("_count", "_lock", "_per", "_starts")

    def __init__(self, count: int, per: float) -> None:
        self._count = count
        self._per = per
        self._starts: deque[float] = deque(maxlen=count)
        self._lock = anyio.Lock()

    async def wait(self) -> None:
        """Return when a start is allowed, and count it as made now (always a checkpoint)."""
        async with self._lock:
            if len(self._starts) == self._count:
                await anyio.sleep_until(self._starts[0] + self._per)
            self._starts.append(anyio.current_time())


async def paced(source: AsyncIterator[T], limiter: RateLimiter) -> AsyncIterator[T]:
    """The items of ``source``, each released once ``limiter`` allows it.

    The wait comes after the item has arrived, so what is limited is the moment the reader gets
    the item: a slow upstream cannot crowd releases together.
    """
    try:
        async for item in source:
            await limiter.wait()
            yield item
    finally:
        await aclose(source)
