"""The frontier of ``expand``: the stage's input, which feeds found items back into it and
knows when no work is left.

:class:`Frontier` is the async iterator a worker pool pulls from. It hands out, in this
order of preference, an item found by an earlier call (first found, first out) or the next
item of the upstream, each as an *entry* ``(item, depth, frontier)``. The job calls
:meth:`Frontier.add` for each item its call found and :meth:`Frontier.done` when the entry is
finished. The iteration ends when the upstream has ended, no found item is waiting and no
entry handed out is unfinished: termination detection, with no counter for the user to keep.

The upstream is read ahead by one item in a task of its own (``read_ahead``), so a wait for it
can be given up without losing the item when a call finds new work meanwhile.

Bounds: at most ``max_frontier`` found items wait. A call that finds more waits for room,
which a free worker makes by taking the next item; if every worker is waiting so (no worker is
left to take one, so the wait could never end), the run fails with :exc:`FrontierFullError`
instead of hanging.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic

import anyio

from .._errors import FrontierFullError
from .._types import T
from ._background import Wakeup
from ._closing import aclose

if TYPE_CHECKING:
    from ._stage import Stage

Entry = tuple[Any, int, "Frontier[Any]"]
"""What the pool pulls: an item, its depth (0 for the upstream's), and the frontier."""


class Frontier(AsyncIterator[Entry], Generic[T]):
    """The input of an ``expand`` stage (see the module docstring)."""

    def __init__(
        self,
        ahead: AsyncIterator[T],
        stage: Stage,
        *,
        max_depth: int | None,
        max_frontier: int,
    ) -> None:
        self._ahead = ahead
        self._stage = stage
        self.max_depth = max_depth
        self.max_frontier = max_frontier
        self._found: deque[tuple[Any, int]] = deque()
        self._pending = 0
        """Entries handed out and not yet finished."""
        self._upstream_done = False
        self._changed = Wakeup()
        """Notified when an item is found or the last pending entry finishes."""
        self._room = Wakeup()
        self._full_waiters = 0
        self._giving_up: anyio.CancelScope | None = None
        self.peak_found = 0

    @property
    def waiting(self) -> int:
        """Found items waiting to be taken up."""
        return len(self._found)

    def expands(self, depth: int) -> bool:
        """Whether an item at ``depth`` is expanded (``max_depth`` not reached)."""
        return self.max_depth is None or depth < self.max_depth

    async def __anext__(self) -> Entry:
        while True:
            if self._found:
                item, depth = self._found.popleft()
                self._room.notify()
                self._pending += 1
                return item, depth, self
            if self._upstream_done:
                if not self._pending:
                    raise StopAsyncIteration
                await self._changed.wait()
                continue
            with anyio.CancelScope() as scope:
                self._giving_up = scope
                try:
                    item = await self._ahead.__anext__()
                except StopAsyncIteration:
                    self._upstream_done = True
                    continue
                finally:
                    self._giving_up = None
                self._pending += 1
                return item, 0, self
            # given up: a call found an item meanwhile, which goes first

    async def add(self, item: Any, depth: int) -> None:
        """Queue ``item``, found at ``depth``; wait while ``max_frontier`` items wait."""
        while len(self._found) >= self.max_frontier:
            self._full_waiters += 1
            try:
                if self._full_waiters >= self._workers():
                    raise FrontierFullError(
                        f"{self._stage.name}: {self.max_frontier} found items are waiting "
                        "(max_frontier) and every worker is waiting to add more, so none is "
                        "free to take one up; raise max_frontier, or raise concurrency"
                    )
                await self._room.wait()
            finally:
                self._full_waiters -= 1
        self._found.append((item, depth))
        self.peak_found = max(self.peak_found, len(self._found))
        self._changed.notify()
        if self._giving_up is not None:
            self._giving_up.cancel()

    def done(self) -> None:
        """An entry handed out is finished (its call ended, its found items added)."""
        self._pending -= 1
        if not self._pending:
            self._changed.notify()

    def _workers(self) -> int:
        pool = self._stage.pool
        return 1 if pool is None else pool.concurrency

    async def aclose(self) -> None:
        await aclose(self._ahead)
