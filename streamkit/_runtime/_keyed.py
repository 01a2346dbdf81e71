"""Per-key limits in a worker pool: ``key=fn, per_key=n`` and ``ordered="key"``.

The pool's workers pull inputs one at a time as usual. A worker that pulls an input whose key
already has ``per_key`` calls running does not wait for it: it *parks* the input in that key's
queue (:class:`KeySlots`) and pulls the next one, so items of other keys keep running while one
key is at its limit. When a call of a key ends, the worker that ran it takes the key's oldest
parked input and runs it at once. So each key runs at most ``per_key`` calls, the pool at most
``concurrency``, and a parked input always has a worker coming for it.

Bounds: a parked input is held by the stage like a running one, so the reorder ``window``
bounds running, parked and finished-but-unemitted inputs together; the per-key queues are
bounded by it. When the inputs of one busy key fill the window, no worker can pull, and the
stage runs at that key's pace (``per_key`` calls) until its backlog drains: make the window
larger than the backlog one slow key may build up, or order the input so keys are mixed.

Order: ``ordered=True`` keeps input order (a parked input waits in the window, which bounds
the head-of-line wait), ``ordered=False`` emits in completion order, and ``ordered="key"``
(:class:`KeyOrderBuffer`) keeps input order within each key only: a result waits only for the
earlier inputs of its own key.

The key function runs in the pool's intake (one call per input, in input order); it must be
sync and return a hashable value. An error there ends the stage's input as an upstream error
does (the calls already started finish and their results come first), with a note naming the
operator and the item.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from typing import TYPE_CHECKING, Any, Generic

import anyio

from .._errors import add_operator_note
from .._types import T, U
from ._closing import aclose
from ._pool import Job, WorkerPool
from ._reorder import ReorderBuffer

if TYPE_CHECKING:
    from ._run import Run
    from ._stage import Stage

KeyFn = Callable[[Any], Hashable]
Entry = tuple[Any, int]
"""A parked input: what the pool pulled, and its index."""


class KeySlots:
    """How many calls run per key, and the inputs waiting for their key's turn (pure).

    Example::

        slots = KeySlots(per_key=1)
        assert slots.admit("a", ("x", 0)) and not slots.admit("a", ("y", 1))
        assert slots.release("a") == ("y", 1)  # the slot passes to the parked input
        assert slots.release("a") is None
    """

    __slots__ = ("_active", "_waiting", "parked", "peak_parked", "per_key")

    def __init__(self, per_key: int | None) -> None:
        self.per_key = per_key
        self._active: dict[Hashable, int] = {}
        self._waiting: dict[Hashable, deque[Entry]] = {}
        self.parked = 0
        """Inputs waiting for their key's turn."""
        self.peak_parked = 0

    @property
    def keys_active(self) -> int:
        """Keys with at least one call running."""
        return len(self._active)

    @property
    def keys_waiting(self) -> int:
        """Keys with inputs parked, waiting for a call of theirs to end."""
        return len(self._waiting)

    def running(self, key: Hashable) -> int:
        """Calls of ``key`` running."""
        return self._active.get(key, 0)

    def admit(self, key: Hashable, entry: Entry) -> bool:
        """Whether ``entry`` may run now; if not, it is parked behind its key's others."""
        running = self._active.get(key, 0)
        if self.per_key is None or running < self.per_key:
            self._active[key] = running + 1
            return True
        self._waiting.setdefault(key, deque()).append(entry)
        self.parked += 1
        self.peak_parked = max(self.peak_parked, self.parked)
        return False

    def release(self, key: Hashable) -> Entry | None:
        """A call of ``key`` ended: its slot goes to the key's oldest parked input (returned,
        to run now), or is freed."""
        waiting = self._waiting.get(key)
        if waiting:
            entry = waiting.popleft()
            self.parked -= 1
            if not waiting:
                del self._waiting[key]
            return entry
        running = self._active[key] - 1
        if running:
            self._active[key] = running
        else:
            del self._active[key]
        return None


class KeyOrderBuffer(ReorderBuffer[T]):
    """A reorder buffer that keeps input order within each key only (``ordered="key"``).

    Each input is :meth:`assign`\\ ed its key right after :meth:`start`. A result is ready when
    its input is the oldest unreleased one of its key; ready inputs are popped in the order
    they became ready. The bounds are those of :class:`ReorderBuffer`.

    Example::

        buf = KeyOrderBuffer[str](window=4)
        a, b, c = buf.start(), buf.start(), buf.start()
        buf.assign(a, "x"); buf.assign(b, "x"); buf.assign(c, "y")
        buf.put(c, "c"); buf.finish(c)
        buf.put(b, "b"); buf.finish(b)
        assert buf.pop() == "c"      # key y waits for nobody; b waits for a
        assert not buf.ready
    """

    __slots__ = ("_heads", "_keys", "_order", "_queued")

    def __init__(self, *, window: int) -> None:
        super().__init__(ordered=False, window=window)
        self._keys: dict[int, Hashable] = {}
        self._order: dict[Hashable, deque[int]] = {}
        """Per key, its unreleased inputs in start order: the first is the key's head."""
        self._queued: deque[int] = deque()
        """Heads with results, in the order they became ready."""
        self._heads: set[int] = set()
        """The members of :attr:`_queued`."""

    def assign(self, index: int, key: Hashable) -> None:
        """Give the just-started input ``index`` its key (in start order)."""
        self._keys[index] = key
        self._order.setdefault(key, deque()).append(index)

    @property
    def ready(self) -> bool:
        return bool(self._queued)

    def _is_head(self, index: int) -> bool:
        return self._order[self._keys[index]][0] == index

    def may_put(self, index: int) -> bool:
        if self.buffered < self.window:
            return True
        return self._is_head(index) and not self._slots[index].values

    def put(self, index: int, value: T) -> bool:
        try:
            slot = self._slots[index]
        except KeyError:
            raise self._not_held(index) from None
        if slot.finished:
            raise RuntimeError(f"input {index} is already finished")
        self.buffered += 1
        slot.values.append(value)
        if len(slot.values) == 1 and self._is_head(index):
            return self._queue(index)
        return False

    def finish(self, index: int) -> None:
        try:
            slot = self._slots[index]
        except KeyError:
            raise self._not_held(index) from None
        slot.finished = True
        if not slot.values and self._is_head(index):
            self._release_head(index)

    def pop(self) -> T:
        queued = self._queued
        if not queued:
            raise IndexError("no result is ready")
        index = queued[0]
        slot = self._slots[index]
        self.buffered -= 1
        value = slot.values.popleft()
        if not slot.values:
            queued.popleft()
            self._heads.discard(index)
            if slot.finished:
                self._release_head(index)
        return value

    def _queue(self, index: int) -> bool:
        was_empty = not self._queued
        if index not in self._heads:
            self._heads.add(index)
            self._queued.append(index)
        return was_empty

    def _release_head(self, index: int) -> None:
        """Release the finished, emptied head ``index`` and the finished heads after it; queue
        the next head of the key if it has results."""
        key = self._keys[index]
        order = self._order[key]
        while order:
            head = order[0]
            slot = self._slots[head]
            if slot.values:
                self._queue(head)
                return
            if not slot.finished:
                return
            order.popleft()
            del self._keys[head]
            self._release(head)
        del self._order[key]


class KeyedPool(WorkerPool[Any, U], Generic[T, U]):
    """A worker pool that runs at most ``per_key`` calls per key (see the module docstring)."""

    def __init__(
        self,
        source: AsyncIterator[T],
        job: Job[T, U],
        stage: Stage,
        run: Run,
        *,
        key: KeyFn,
        per_key: int | None,
        concurrency: int,
        ordered: bool,
        by_key: bool,
        window: int,
        limiter: anyio.CapacityLimiter | None = None,
    ) -> None:
        async def keyed_job(pair: tuple[Hashable, T], index: int) -> Any:
            return await job(pair[1], index)

        super().__init__(
            keyed(source, key, stage),
            keyed_job,
            stage,
            run,
            concurrency=concurrency,
            ordered=ordered and not by_key,
            window=window,
            limiter=limiter,
            buffer=KeyOrderBuffer[Any](window=window) if by_key else None,
        )
        buffer = self.buffer
        self._by_key = buffer if isinstance(buffer, KeyOrderBuffer) else None
        self.slots = KeySlots(per_key)
        stage.keys = self.slots

    async def _admit(self, item: tuple[Hashable, T], index: int) -> None:
        key = item[0]
        if self._by_key is not None:
            self._by_key.assign(index, key)
        if not self.slots.admit(key, (item, index)):
            return  # parked: this worker pulls the next input
        entry: Entry | None = (item, index)
        while entry is not None:
            item, index = entry
            if self._after_failure(index):  # never started: finish it without a call
                self.buffer.finish(index)
                self._room.notify()
                if self.buffer.ready:
                    self._ready.notify()
            else:
                await self._run_input(item, index)
            entry = self.slots.release(key)

    def _after_failure(self, index: int) -> bool:
        """Whether a parked input comes after a failed call (no new call starts then; the
        inputs before the failure still run, so the results before the error are complete)."""
        return bool(self._failures) and index > min(failed for failed, _ in self._failures)


async def keyed(
    source: AsyncIterator[T], key: KeyFn, stage: Stage
) -> AsyncIterator[tuple[Hashable, T]]:
    """``(key(item), item)`` for each item of ``source``; a failing or unhashable key ends it
    with the error, noted."""
    index = -1
    try:
        async for item in source:
            index += 1
            try:
                value = key(item)
                hash(value)
            except Exception as exc:
                add_operator_note(exc, f"key= of {stage.name}", index, item)
                raise
            yield value, item
    finally:
        await aclose(source)


def start_keyed_pool(
    source: AsyncIterator[T],
    job: Job[T, U],
    stage: Stage,
    *,
    key: KeyFn,
    per_key: int | None,
    concurrency: int,
    ordered: bool,
    by_key: bool,
    window: int,
    limiter: anyio.CapacityLimiter | None = None,
) -> KeyedPool[T, U]:
    """A keyed worker pool in the current run's task group."""
    return KeyedPool(
        source,
        job,
        stage,
        stage.build.require_run(stage),
        key=key,
        per_key=per_key,
        concurrency=concurrency,
        ordered=ordered,
        by_key=by_key,
        window=window,
        limiter=limiter,
    )
