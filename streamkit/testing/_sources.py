"""An instrumented source for testing pipelines: it records what was pulled and closed."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable
from typing import Generic

import anyio
from anyio.lowlevel import checkpoint

from .._types import T


class TrackedSource(Generic[T]):
    """A re-iterable async source that counts pulls and notices when it is closed.

    Example::

        source = TrackedSource(range(1000))
        assert await stream(source).pipe(take(3)).collect() == [0, 1, 2]
        source.assert_closed()
        assert source.pulled == 3
    """

    def __init__(self, items: Iterable[T], *, delay: float = 0) -> None:
        self._items = items
        self._delay = delay
        self.pulled: int = 0
        """Items handed out so far, over all iterations."""
        self.opened: int = 0
        """Iterations started."""
        self.closed: int = 0
        """Iterations that ended (exhausted, closed or cancelled)."""

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        self.opened += 1
        try:
            for item in self._items:
                if self._delay:
                    await anyio.sleep(self._delay)
                else:
                    await checkpoint()
                self.pulled += 1
                yield item
        finally:
            self.closed += 1

    @property
    def running(self) -> int:
        """Iterations started and not yet ended."""
        return self.opened - self.closed

    def assert_closed(self) -> None:
        """Fail unless every iteration that was started has ended."""
        assert self.running == 0, f"{self.running} iteration(s) of the source are still open"

    @classmethod
    def infinite(cls, *, delay: float = 0) -> TrackedSource[int]:
        """0, 1, 2, ... without end."""
        return TrackedSource(itertools.count(), delay=delay)
