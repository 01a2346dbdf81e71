"""A stream that producers push items into: :class:`PushSource`, made by ``stream.push(size)``.

The items wait in a buffer of exactly ``size``; what happens when it is full is the
``overflow`` policy. Everything runs in the event loop's thread: other tasks call the methods
directly, other threads through ``anyio.from_thread``. Once the consumer has started, a call
from another thread raises :exc:`RuntimeError` saying so (it could not wake the consumer,
which would wait for ever).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import AsyncIterator
from typing import Literal, TypeAlias

import anyio
from anyio.lowlevel import checkpoint

from ._options import check_int
from ._runtime._background import Wakeup
from ._source import IteratorSource
from ._stream import Stream
from ._types import V

Overflow: TypeAlias = Literal["wait", "drop_oldest", "drop_newest"]
OVERFLOW_CHOICES = ("wait", "drop_oldest", "drop_newest")


# The item type is V, not T: subscripting at import time caches the alias, and a cached
# ``Stream[T]`` made before streamkit/__init__.py sets ``Stream.__module__`` would keep the
# private module's name in every signature the docs show.
class PushSource(Stream[V]):
    """A one-shot :class:`Stream` whose items are pushed in by producers; see
    :meth:`stream.push() <StreamFactory.push>`.

    Example::

        feed: PushSource[str] = stream.push(100)
        client.on_message(feed.send_nowait)  # a callback API calls it
        async with feed.pipe(map_(parse)).open() as messages:
            async for message in messages:
                ...
    """

    __slots__ = (
        "_arrived",
        "_broken",
        "_ended",
        "_error",
        "_items",
        "_overflow",
        "_room",
        "_size",
        "_thread",
        "dropped",
    )

    def __init__(self, size: int, *, overflow: Overflow = "wait") -> None:
        check_int("size", size, minimum=1)
        if overflow not in OVERFLOW_CHOICES:
            raise ValueError(f"overflow must be one of {OVERFLOW_CHOICES}, got {overflow!r}")
        label = (
            f"stream.push({size})"
            if overflow == "wait"
            else f"stream.push({size}, overflow={overflow!r})"
        )
        super().__init__(IteratorSource(label, self._receive, once=True))
        self._size = size
        self._overflow = overflow
        self._items: deque[V] = deque()
        self._ended = False
        self._error: BaseException | None = None
        self._broken = False
        self._arrived = Wakeup()
        self._room = Wakeup()
        self.dropped: int = 0
        """Items dropped by the ``overflow`` policy so far."""
        self._thread: int | None = None
        """The consumer's thread, once it has started."""

    async def send(self, item: V) -> None:
        """Add ``item``, waiting for room while the buffer is full (with ``overflow="wait"``;
        the drop policies never wait). Always a checkpoint.

        Raises:
            anyio.ClosedResourceError: :meth:`close` or :meth:`fail` was called.
            anyio.BrokenResourceError: the stream's consumer has finished (ended early, or
                failed); nobody will read the item.
        """
        await checkpoint()
        if self._overflow == "wait":
            self._check_open()
            while len(self._items) >= self._size:
                await self._room.wait()
                self._check_open()
        self.send_nowait(item)

    def send_nowait(self, item: V) -> None:
        """Add ``item`` without waiting; a full buffer is handled as ``overflow`` says.

        Raises:
            anyio.WouldBlock: the buffer is full and ``overflow="wait"``.
            anyio.ClosedResourceError: :meth:`close` or :meth:`fail` was called.
            anyio.BrokenResourceError: the stream's consumer has finished.
        """
        self._check_thread("send_nowait")
        self._check_open()
        if len(self._items) >= self._size:
            if self._overflow == "wait":
                raise anyio.WouldBlock(f"the {self!r} buffer is full ({self._size} items)")
            self.dropped += 1
            if self._overflow == "drop_newest":
                return
            self._items.popleft()
        self._items.append(item)
        self._arrived.notify()

    def close(self) -> None:
        """End the stream once the items already sent are consumed; later sends raise
        :exc:`anyio.ClosedResourceError`. Closing again does nothing."""
        self._check_thread("close")
        self._ended = True
        self._arrived.notify()
        self._room.notify()

    def fail(self, error: BaseException) -> None:
        """End the stream with ``error``: the consumer gets the items already sent, then
        ``error`` itself is raised to it. Like :meth:`close` otherwise."""
        if not self._ended:
            self._error = error
            self.close()

    def _check_thread(self, method: str) -> None:
        """Refuse a call from a thread other than the consumer's event loop."""
        if self._thread is not None and threading.get_ident() != self._thread:
            raise RuntimeError(
                f"{self!r}.{method}() was called from a thread that is not the event loop's; "
                f"from another thread, call anyio.from_thread.run_sync(feed.{method}, ...) "
                "(a direct call could not wake the consumer)"
            )

    def _check_open(self) -> None:
        """Raise if no more items may be sent: closed, or nobody reads any more."""
        if self._ended:
            raise anyio.ClosedResourceError(f"{self!r} was closed")
        if self._broken:
            raise anyio.BrokenResourceError(f"the consumer of {self!r} has finished")

    async def _receive(self) -> AsyncIterator[V]:
        items = self._items
        self._thread = threading.get_ident()
        try:
            while True:
                if items:
                    await checkpoint()
                while not items:
                    if self._ended:
                        if self._error is not None:
                            raise self._error
                        return
                    await self._arrived.wait()
                item = items.popleft()
                self._room.notify()
                yield item
        finally:
            self._broken = True
            items.clear()
            self._room.notify()
