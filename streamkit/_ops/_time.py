"""Time operators: when items go on, by the event loop's clock (:func:`anyio.current_time`).

``timeout``, ``rate_limit``, ``throttle_first``, ``debounce``, ``sample``, ``delay``.

``rate_limit`` and ``throttle_first`` are plain async generators: they act on each item as it
arrives, and the upstream is read only when the consumer asks. The others must wait for the next
item with a deadline, or hold items while later ones arrive, so they read their upstream through
a one-worker pool (as ``batch(..., timeout=...)`` does): waiting on the pool can be interrupted
without losing an item, where cancelling an async generator's ``__anext__`` would destroy it.
Each states how many items it holds. Semantics follow reactivex, adapted to a pulled stream:
time a consumer spends away from the stream is backpressure, not silence.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import AsyncIterator
from typing import Any

import anyio

from .._operator import StreamOperator, labelled
from .._options import check_int, check_seconds
from .._runtime._closing import aclose
from .._runtime._rate import RateLimiter, paced
from .._runtime._stage import Stage
from .._types import SameTypeOperator, T
from ._buffer import read_ahead, read_ahead_stamped


class _Missing(enum.Enum):
    TIMED_OUT = "no item before the deadline"
    ENDED = "the upstream has ended"


async def _next_by(ahead: AsyncIterator[T], deadline: float) -> T | _Missing:
    """The next item of a :func:`read_ahead` iterator if it comes before ``deadline``."""
    with anyio.CancelScope(deadline=deadline):
        try:
            return await ahead.__anext__()
        except StopAsyncIteration:
            return _Missing.ENDED
    return _Missing.TIMED_OUT


@labelled
def timeout(seconds: float) -> SameTypeOperator:
    """Raise :exc:`TimeoutError` when the consumer waits longer than ``seconds`` for an item.

    The clock starts each time the consumer asks for the next item (for the first item, when
    it first asks) and stops when the item comes; time the consumer spends elsewhere does not
    count, and the upstream is read one item ahead meanwhile (a task, holding at most one
    item). The end of the stream counts as an item: an upstream that neither yields nor ends
    within ``seconds`` times out.

    Example::

        async with stream(websocket).pipe(timeout(30)).open() as messages:
            async for message in messages:  # TimeoutError after 30 s of silence
                handle(message)
    """
    limit = check_seconds("seconds", seconds)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        return _timeout(read_ahead(source, stage, window=1), limit, stage.name)

    return StreamOperator[Any, Any](apply)


async def _timeout(ahead: AsyncIterator[T], seconds: float, name: str) -> AsyncIterator[T]:
    try:
        for index in itertools.count():
            got = await _next_by(ahead, anyio.current_time() + seconds)
            if got is _Missing.ENDED:
                return
            if got is _Missing.TIMED_OUT:
                raise TimeoutError(f"{name}: item {index} did not come within {seconds} s")
            yield got
    finally:
        await aclose(ahead)


@labelled
def rate_limit(count: int, *, per: float = 1.0) -> SameTypeOperator:
    """Pass at most ``count`` items in any ``per`` seconds, delaying (never dropping) the rest.

    A sliding window, not a token bucket: an item goes on once the ``count``-th item before it
    is ``per`` seconds old, so no interval of ``per`` seconds ever holds more than ``count``
    items (a token bucket would let a full bucket's burst follow a steady run). The wait starts
    when an item arrives; nothing is read ahead and nothing is held but the item waiting.
    To limit the calls of :func:`map_`, :func:`filter_` or :func:`flat_map`, use their
    ``rate_limit=(count, per)`` option: it counts call starts across all workers.

    Example::

        async with stream(requests).pipe(rate_limit(10, per=1.0)).open() as paced:
            async for request in paced:  # at most 10 per second
                await send(request)
    """
    check_int("count", count, minimum=1)
    period = check_seconds("per", per)
    return StreamOperator[Any, Any](lambda source, stage: paced(source, RateLimiter(count, period)))


@labelled
def throttle_first(seconds: float) -> SameTypeOperator:
    """Emit an item, then drop the items that arrive in the next ``seconds``; repeat.

    As reactivex's ``throttle_first``: the window opens when an emitted item arrives, and the
    first item to arrive after it closes is emitted and opens the next. The upstream is read
    only when the consumer asks, so items are dropped only while the consumer keeps asking
    (a busy consumer slows the upstream instead). Nothing is held.

    Example::

        async with stream(clicks).pipe(throttle_first(0.5)).open() as accepted:
            async for click in accepted:  # at most one click per half second
                await handle(click)
    """
    window = check_seconds("seconds", seconds)

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        try:
            closes = -math.inf
            async for item in source:
                now = anyio.current_time()
                if now >= closes:
                    closes = now + window
                    yield item
        finally:
            await aclose(source)

    return StreamOperator[Any, Any](apply)


@labelled
def debounce(seconds: float) -> SameTypeOperator:
    """Emit an item only once ``seconds`` have passed after it with no newer item.

    As reactivex's ``debounce``: an item that a newer one follows within ``seconds`` is
    dropped; when the upstream ends, the item still waiting is emitted at once. Arrival times
    are taken as the upstream yields, by a task reading one item ahead; the stage holds at most
    two items (the one waiting and the one read ahead).

    Example::

        async with stream(keystrokes).pipe(debounce(0.3)).open() as settled:
            async for text in settled:  # once typing pauses for 0.3 s
                await search(text)
    """
    quiet = check_seconds("seconds", seconds)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        return _debounce(read_ahead_stamped(source, stage, window=1), quiet)

    return StreamOperator[Any, Any](apply)


async def _debounce(ahead: AsyncIterator[tuple[float, T]], seconds: float) -> AsyncIterator[T]:
    try:
        got = await _next_by(ahead, math.inf)
        while not isinstance(got, _Missing):
            arrived, pending = got
            due = arrived + seconds
            got = await _next_by(ahead, due)
            if got is _Missing.TIMED_OUT:
                yield pending
                got = await _next_by(ahead, math.inf)
            elif got is _Missing.ENDED or got[0] >= due:
                yield pending
    finally:
        await aclose(ahead)


@labelled
def sample(seconds: float) -> SameTypeOperator:
    """Every ``seconds``, emit the latest item if one arrived since the previous tick.

    As reactivex's ``sample``: ticks come at ``start + k * seconds`` (``start`` is when the
    consumer first asks), without drift; items between two ticks but the latest are dropped,
    and a tick with no new item emits nothing. When the upstream ends, the latest item not yet
    emitted goes out at once and the stream ends (reactivex's RxPY waits for the next tick,
    RxJS drops it). A tick that comes while the consumer is busy is taken when it next asks,
    and the ticks it missed entirely are merged into that one. The upstream is read one item
    ahead by a task, and a busy consumer holds it back: after a busy spell the item emitted is
    the one read ahead (the upstream waited meanwhile). The stage holds at most two items.

    Example::

        async with stream(prices).pipe(sample(1.0)).open() as quotes:
            async for price in quotes:  # at most one per second: the latest
                show(price)
    """
    period = check_seconds("seconds", seconds)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        return _sample(read_ahead(source, stage, window=1), period)

    return StreamOperator[Any, Any](apply)


async def _sample(ahead: AsyncIterator[T], seconds: float) -> AsyncIterator[T]:
    try:
        start = anyio.current_time()
        tick = 1
        while True:
            due = start + tick * seconds
            latest: tuple[T] | None = None
            got = await _next_by(ahead, due)
            while not isinstance(got, _Missing):
                latest = (got,)
                got = await _next_by(ahead, due)
            if latest is not None:
                yield latest[0]
            if got is _Missing.ENDED:
                return
            # Ticks missed while the consumer was away become one late tick, in one step
            # (counting through them would cost a loop per tick after a long pause).
            tick = max(tick + 1, math.floor((anyio.current_time() - start) / seconds))
    finally:
        await aclose(ahead)


@labelled
def delay(seconds: float, *, window: int = 1024) -> SameTypeOperator:
    """Emit each item ``seconds`` after it arrived, keeping the spacing between items.

    A task reads the upstream ahead and notes when each item arrives; ``window`` bounds how
    many items it holds (arrived, not yet emitted). While ``window`` items are held the
    upstream is not read, so spacing is kept as long as fewer than ``window`` items arrive in
    any ``seconds``; beyond that the upstream is slowed, never an item dropped. A busy
    consumer delays items further, never less.

    Example::

        async with stream(events).pipe(delay(2.0)).open() as later:
            async for event in later:  # each 2 s after it happened
                replay(event)
    """
    shift = check_seconds("seconds", seconds)
    check_int("window", window, minimum=1)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        return _delay(read_ahead_stamped(source, stage, window=window), shift)

    return StreamOperator[Any, Any](apply)


async def _delay(ahead: AsyncIterator[tuple[float, T]], seconds: float) -> AsyncIterator[T]:
    try:
        async for arrived, item in ahead:
            await anyio.sleep_until(arrived + seconds)
            yield item
    finally:
        await aclose(ahead)
