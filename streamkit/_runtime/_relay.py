"""The relay: a deep chain of stages read in a task of its own, one item when asked.

Each sequential stage that is not fused is an async generator whose ``__anext__`` awaits its
upstream's: a chain of hundreds of them nests as many frames on the stack of the task that
iterates it, and Python's recursion limit is reached (on trio, whose frames add to it, at
about 500 stages; closing such a chain nests as deep). So the build puts a relay after every
:data:`RELAY_DEPTH` stacked generators (:meth:`~._build.Build.operator`): it reads its upstream
in a task of its own, with a stack of its own, only when its consumer asks for the next item
(no read-ahead: as lazy as the chain it cuts). A stage that runs tasks (a worker pool, a
fan-out, a switch) already reads its upstream in another task, so the count starts again
after it.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Generic

from .._types import T
from ._background import Background, Outbox, Wakeup
from ._closing import closing
from ._stage import Stage

if TYPE_CHECKING:
    from ._run import Run

RELAY_DEPTH = 64
"""Generators stacked in one task before the build puts a relay."""

_depths: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
"""How many generators each built output stacks (a source counts as 1): kept while it lives."""


def stacked(upstream: object, output: AsyncIterator[T], run: Run | None) -> AsyncIterator[T]:
    """``output``, built on ``upstream`` (which its ``__anext__`` awaits), behind a relay if
    that makes the stack too deep."""
    if isinstance(output, Background):
        return output  # it reads its upstream in a task of its own
    try:
        depth = _depths.get(upstream, 1) + 1
    except TypeError:  # an iterator that cannot be weakly referenced: counted from 1 again
        depth = 2
    if depth >= RELAY_DEPTH and run is not None:
        return Relay(output, run)
    try:
        _depths[output] = depth
    except TypeError:
        pass
    return output


class Relay(Background[T], Generic[T]):
    """``source``, read in a task of its own: one item each time the consumer asks."""

    def __init__(self, source: AsyncIterator[T], run: Run) -> None:
        self._box = Outbox[T](1)
        super().__init__([source], Stage("relay of a deep chain of stages"), run, self._box)
        self._source = source
        self._asked = Wakeup()
        self._wanted = False

    async def __anext__(self) -> T:
        if not self._box.ready:
            self._wanted = True
            self._asked.notify()
        return await super().__anext__()

    async def _run_tasks(self) -> None:
        source = self._source
        async with closing(source, self._close):
            while True:
                while not self._wanted:
                    await self._asked.wait()
                self._wanted = False
                try:
                    item = await source.__anext__()
                except StopAsyncIteration:
                    return
                except Exception as exc:  # the upstream's: raised in its turn
                    if self._scope.cancel_called:  # the relay is closing: nobody would see it
                        raise
                    self._end_with(exc)
                    return
                if await self._box.put(item):
                    self._ready.notify()
