"""The reorder buffer: a pure, synchronous store between concurrent workers and their consumer.

Workers :meth:`~ReorderBuffer.start` an input (getting its index), :meth:`~ReorderBuffer.put`
zero or more results for it and :meth:`~ReorderBuffer.finish` it. The consumer
:meth:`~ReorderBuffer.pop`\\ s results: in input order when ``ordered``, else in completion order.
Each result is poppable as soon as it is next in line; nothing waits for a whole batch.

An input is *held* from :meth:`start` until it is finished and its last result popped. At most
``window`` inputs are held at once (:attr:`has_room`), which bounds memory whatever the input
length. No method awaits, so the invariants are property-tested without an event loop.
"""

from __future__ import annotations

from collections import deque
from typing import Generic

from .._types import T


class _Slot(Generic[T]):
    __slots__ = ("finished", "index", "values")

    def __init__(self, index: int) -> None:
        self.index = index
        self.values: deque[T] = deque()
        self.finished = False


class ReorderBuffer(Generic[T]):
    """Results of concurrent work, released in order (or not), with a hard bound on inputs held.

    Example::

        buf = ReorderBuffer[str](ordered=True, window=4)
        a, b = buf.start(), buf.start()
        buf.put(b, "b"); buf.finish(b)
        assert not buf.ready          # "b" waits for input a
        buf.put(a, "a"); buf.finish(a)
        assert [buf.pop(), buf.pop()] == ["a", "b"]
    """

    __slots__ = ("_completed", "_slots", "buffered", "ordered", "released", "started", "window")

    def __init__(self, *, ordered: bool, window: int) -> None:
        if window < 1:
            raise ValueError(f"window must be an int >= 1, got {window}")
        self.ordered = ordered
        self.window = window
        self.started = 0
        """Inputs handed out by :meth:`start`; the next input's index."""
        self.released = 0
        """Inputs finished with every result popped."""
        self.buffered: int = 0
        """Results put and not yet popped."""
        self._slots: dict[int, _Slot[T]] = {}
        # Unordered mode: the slot of each result, in completion order.
        self._completed: deque[_Slot[T]] = deque()

    @property
    def held(self) -> int:
        """Inputs started and not yet released; never more than ``window``."""
        return self.started - self.released

    @property
    def has_room(self) -> bool:
        """Whether another input may start without exceeding ``window``."""
        return self.started - self.released < self.window

    @property
    def head(self) -> int:
        """In ordered mode, the index whose results are next in line."""
        return self.released

    @property
    def ready(self) -> bool:
        """Whether :meth:`pop` has a result to give."""
        if not self.ordered:
            return bool(self._completed)
        slot = self._slots.get(self.released)
        return slot is not None and bool(slot.values)

    def start(self) -> int:
        """Hold a new input and return its index."""
        if not self.has_room:
            raise RuntimeError("reorder window is full; wait for has_room before start()")
        index = self.started
        self.started += 1
        self._slots[index] = _Slot(index)
        return index

    def may_put(self, index: int) -> bool:
        """Whether a result for ``index`` fits: at most ``window`` results are buffered, except
        that the input next in line may always add one when it has none waiting, so the
        consumer can always make progress."""
        if self.buffered < self.window:
            return True
        return self.ordered and index == self.released and not self._slots[index].values

    def put(self, index: int, value: T) -> bool:
        """Add a result of input ``index`` (after its earlier results); return whether this
        made the buffer :attr:`ready` (a waiting consumer needs waking only then)."""
        try:
            slot = self._slots[index]
        except KeyError:
            raise self._not_held(index) from None
        if slot.finished:
            raise RuntimeError(f"input {index} is already finished")
        self.buffered += 1
        values = slot.values
        values.append(value)
        if self.ordered:
            return index == self.released and len(values) == 1
        completed = self._completed
        completed.append(slot)
        return len(completed) == 1

    def finish(self, index: int) -> None:
        """Mark input ``index`` as having all its results."""
        try:
            slot = self._slots[index]
        except KeyError:
            raise self._not_held(index) from None
        slot.finished = True
        if self.ordered:
            self._release_finished_heads()
        elif not slot.values:
            self._release(index)

    def pop(self) -> T:
        """Remove and return the next result; raise ``IndexError`` if none is :attr:`ready`."""
        if self.ordered:
            slot = self._slots.get(self.released)
            if slot is None or not slot.values:
                raise IndexError("no result is ready")
            self.buffered -= 1
            value = slot.values.popleft()
            if slot.finished and not slot.values:
                self._release_finished_heads()
            return value
        completed = self._completed
        if not completed:
            raise IndexError("no result is ready")
        self.buffered -= 1
        slot = completed.popleft()
        value = slot.values.popleft()
        if slot.finished and not slot.values:
            self._release(slot.index)
        return value

    def _not_held(self, index: int) -> Exception:
        """The error for using an ``index`` that is not held (a worker's bug)."""
        if 0 <= index < self.started:
            return RuntimeError(
                f"input {index} is already released (finished, every result popped)"
            )
        return ValueError(
            f"input {index} was never started; start() has given out {self.started} index(es)"
        )

    def _release(self, index: int) -> None:
        del self._slots[index]
        self.released += 1

    def _release_finished_heads(self) -> None:
        slots = self._slots
        while (slot := slots.get(self.released)) is not None and slot.finished and not slot.values:
            self._release(self.released)
