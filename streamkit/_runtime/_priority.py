"""The priority buffer behind ``buffer(size, priority=fn)``: pure and synchronous, like the
reorder buffer it extends.

A worker pool with one worker reads ahead into it; each input has one result, put as
``(priority, item)``. :meth:`PriorityBuffer.pop` hands on the held item with the smallest
priority, ties in arrival order (the input index breaks them, so items are never compared). A
failure (anything put that is not a pair) goes first. An input stays held until its item is
popped, so ``window`` bounds the items held exactly as for the reorder buffer.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, cast

from ._reorder import ReorderBuffer


class PriorityBuffer(ReorderBuffer[Any]):
    """Up to ``window`` items, popped smallest priority first, ties in arrival order.

    Example::

        buf = PriorityBuffer(window=3)
        for priority, item in [(2, "b"), (1, "a"), (2, "c")]:
            index = buf.start()
            buf.put(index, (priority, item))
            buf.finish(index)
        assert [buf.pop(), buf.pop(), buf.pop()] == ["a", "b", "c"]
    """

    __slots__ = ("_failed", "_heap")

    def __init__(self, *, window: int) -> None:
        super().__init__(ordered=False, window=window)
        self._heap: list[tuple[Any, int, Any]] = []
        self._failed: deque[tuple[int, Any]] = deque()

    @property
    def ready(self) -> bool:
        return bool(self._heap or self._failed)

    def put(self, index: int, value: Any) -> bool:
        try:
            slot = self._slots[index]
        except KeyError:
            raise self._not_held(index) from None
        was_ready = self.ready
        if isinstance(value, tuple):
            priority, item = cast("tuple[Any, Any]", value)
            heapq.heappush(self._heap, (priority, index, item))
        else:
            self._failed.append((index, value))
        slot.values.append(None)  # holds the input until its item is popped
        self.buffered += 1
        return not was_ready

    def pop(self) -> Any:
        if self._failed:
            index, value = self._failed.popleft()
        elif self._heap:
            _, index, value = heapq.heappop(self._heap)
        else:
            raise IndexError("no result is ready")
        slot = self._slots[index]
        slot.values.popleft()
        self.buffered -= 1
        if slot.finished and not slot.values:
            self._release(index)
        return value
