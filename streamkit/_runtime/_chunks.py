"""Chunked offload, the caller's side: items go to an executor in chunks, one task per chunk.

A stage that offloads in chunks (``map_(..., executor=..., chunksize=n)``, :func:`offload`)
reads its input into chunks (:func:`chunks`), runs a :class:`~._pool.WorkerPool` over them
(``concurrency`` chunks in flight, in order or not, each chunk's task awaited without a thread:
:func:`~._offload.wait_future`) and emits each chunk's outputs in turn (:func:`run_chunks`).
Cancelling the stage cancels the chunks' futures, so a chunk not started yet never runs.

The stage's statistics count items, not chunks (:class:`_ItemCounts`); its ``concurrency``,
``in_flight``, ``window`` and ``held`` count chunks.

``chunksize="auto"`` (:class:`Sizer`) sizes each chunk from what the chunks so far measured:
the per-task overhead (the round trip less the worker's own time) and the worker's time per
item, so that the overhead is at most :data:`AUTO_OVERHEAD` of a chunk's work. It starts at one
item and doubles until the first chunk is back, and never exceeds :data:`AUTO_MAX` items.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._closing import aclose
from ._pool import WorkerPool, start_pool

if TYPE_CHECKING:
    import anyio

    from ._stage import BufferCounters, PoolCounters, Stage

Chunksize = int | Literal["auto"]
"""``chunksize=``: items per chunk, or ``"auto"``."""

AUTO_OVERHEAD = 0.05
"""``chunksize="auto"`` makes the per-task overhead at most this fraction of a chunk's work."""
AUTO_MAX = 1024
"""The largest chunk ``chunksize="auto"`` makes."""


def check_chunksize(value: object) -> Chunksize:
    """``value`` if it is an int >= 1 or ``"auto"``."""
    if value == "auto" and isinstance(value, str):
        return "auto"
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"chunksize must be an int >= 1 or 'auto', got {value!r}")
    if value < 1:
        raise ValueError(f"chunksize must be an int >= 1 or 'auto', got {value!r}")
    return value


class Sizer:
    """How many items the next chunk takes: ``chunksize`` if it is a number, else sized from
    the chunks measured so far (see the module's docstring)."""

    __slots__ = ("_fixed", "_measured", "size")

    def __init__(self, chunksize: Chunksize) -> None:
        self._fixed = chunksize if isinstance(chunksize, int) else None
        self.size = self._fixed or 1
        """The size of the next chunk."""
        self._measured = False

    def next(self) -> int:
        """The size of the next chunk (with ``"auto"``, it doubles until a chunk is back)."""
        size = self.size
        if self._fixed is None and not self._measured:
            self.size = min(2 * size, AUTO_MAX)
        return size

    def observe(self, items: int, round_trip: float, worker: float) -> None:
        """A chunk of ``items`` came back ``round_trip`` seconds after it was sent, of which
        the worker spent ``worker`` seconds on it."""
        if self._fixed is not None or items < 1:
            return
        overhead = max(round_trip - worker, 0.0)
        per_item = worker / items
        ratio = math.inf if per_item <= 0 else overhead / (AUTO_OVERHEAD * per_item)
        wanted = AUTO_MAX if ratio >= AUTO_MAX else math.ceil(ratio - 1e-6)
        # Grow at most twofold at a time (one slow round trip should not make huge chunks);
        # shrink at once.
        self.size = max(1, min(wanted, AUTO_MAX, 2 * max(self.size, items)))
        self._measured = True


@dataclass(slots=True)
class Chunk:
    """Consecutive items of a stage's input, sent to the executor as one task."""

    start: int
    """The index of the first item in the stage's input."""
    items: list[Any]

    @property
    def span(self) -> str:
        """The items' indices, for error notes."""
        end = self.start + len(self.items) - 1
        return f"item {end}" if end == self.start else f"items {self.start} to {end}"


class _Counts:
    __slots__ = ("items_in", "items_out")

    def __init__(self) -> None:
        self.items_in = 0
        self.items_out = 0


async def chunks(source: AsyncIterator[Any], sizer: Sizer, counts: _Counts) -> AsyncIterator[Chunk]:
    """The items of ``source`` in chunks of the sizes ``sizer`` gives; a chunk is sent when it
    is full or the input has ended. An error of ``source`` comes after the chunk of the items
    read before it."""
    start = 0
    error: Exception | None = None
    try:
        items: list[Any] = []
        size = sizer.next()
        try:
            async for item in source:
                items.append(item)
                if len(items) >= size:
                    counts.items_in += len(items)
                    yield Chunk(start, items)
                    start += len(items)
                    items = []
                    size = sizer.next()
        except Exception as exc:
            error = exc
        if items:
            counts.items_in += len(items)
            yield Chunk(start, items)
        if error is not None:
            raise error
    finally:
        await aclose(source)


ChunkJob = Callable[[Chunk], Awaitable[Iterable[list[Any]]]]
"""Runs one chunk: its outputs as one list (then, to stop the stage, an exception)."""


def run_chunks(
    source: AsyncIterator[Any],
    stage: Stage,
    job: ChunkJob,
    *,
    sizer: Sizer,
    concurrency: int,
    ordered: bool,
    window: int,
    limiter: anyio.CapacityLimiter | None = None,
) -> AsyncIterator[Any]:
    """The outputs of ``job`` run on each chunk of ``source``, ``concurrency`` chunks at once
    and at most ``window`` chunks held, in a worker pool of the stage's run."""
    counts = _Counts()

    async def pool_job(chunk: Chunk, index: int) -> Iterable[list[Any]]:
        return await job(chunk)

    pool = start_pool(
        chunks(source, sizer, counts),
        pool_job,
        stage,
        concurrency=concurrency,
        ordered=ordered,
        window=window,
        limiter=limiter,
    )
    stage.pool = _ItemCounts(pool, counts)
    return _outputs(pool, counts)


def then_raise(outputs: list[Any], error: BaseException) -> Iterator[list[Any]]:
    """What a :data:`ChunkJob` returns for a chunk that emitted ``outputs`` and then failed:
    the outputs are emitted, then the stage stops with ``error``."""
    yield outputs
    raise error


async def _outputs(pool: WorkerPool[Chunk, list[Any]], counts: _Counts) -> AsyncIterator[Any]:
    try:
        async for outputs in pool:
            for output in outputs:
                counts.items_out += 1
                yield output
    finally:
        await aclose(pool)


class _ItemCounts:
    """A chunk pool's counters as :meth:`Stage.statistics` reads them, with the items in and
    out counted in items rather than chunks."""

    __slots__ = ("_counts", "_pool", "buffer")

    def __init__(self, pool: PoolCounters, counts: _Counts) -> None:
        self._pool = pool
        self._counts = counts
        self.buffer: BufferCounters = _BufferCounts(pool.buffer, counts)

    @property
    def concurrency(self) -> int:
        return self._pool.concurrency

    @property
    def in_flight(self) -> int:
        return self._pool.in_flight

    @property
    def peak_held(self) -> int:
        return self._pool.peak_held

    @property
    def emitted(self) -> int:
        return self._counts.items_out

    @property
    def busy_time(self) -> float:
        return self._pool.busy_time


class _BufferCounts:
    __slots__ = ("_buffer", "_counts")

    def __init__(self, buffer: BufferCounters, counts: _Counts) -> None:
        self._buffer = buffer
        self._counts = counts

    @property
    def started(self) -> int:
        return self._counts.items_in

    @property
    def window(self) -> int:
        return self._buffer.window

    @property
    def held(self) -> int:
        return self._buffer.held

    @property
    def buffered(self) -> int:
        return self._buffer.buffered
