"""The intake gate of a run: pauses the pulls from the source, or stops them for good."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Generic

import anyio

from ._runtime._closing import aclose
from ._types import T


class Gate:
    """Controls a run's source: :meth:`pause`, :meth:`resume`, :meth:`stop` (for good)."""

    __slots__ = ("_pulling", "_resumed", "paused", "stopped")

    def __init__(self) -> None:
        self.paused: bool = False
        self.stopped: bool = False
        self._resumed: anyio.Event | None = None
        self._pulling: anyio.CancelScope | None = None

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        if self._resumed is not None:
            self._resumed.set()
            self._resumed = None

    def stop(self) -> None:
        """Pull no more; a pull waiting on the source is cancelled."""
        self.stopped = True
        self.resume()
        if self._pulling is not None:
            self._pulling.cancel("streamkit stop_intake")

    def wrap(self, source: AsyncIterator[T]) -> AsyncIterator[T]:
        return Gated(self, source)


class Gated(Generic[T]):
    """``source``, pulled only while the gate is open; closed when the gate stops."""

    __slots__ = ("_gate", "_source")

    def __init__(self, gate: Gate, source: AsyncIterator[T]) -> None:
        self._gate = gate
        self._source = source

    def __aiter__(self) -> Gated[T]:
        return self

    async def __anext__(self) -> T:
        gate = self._gate
        while gate.paused and not gate.stopped:
            if gate._resumed is None:  # pyright: ignore[reportPrivateUsage]
                gate._resumed = anyio.Event()  # pyright: ignore[reportPrivateUsage]
            await gate._resumed.wait()  # pyright: ignore[reportPrivateUsage]
        if not gate.stopped:
            with anyio.CancelScope() as scope:
                gate._pulling = scope  # pyright: ignore[reportPrivateUsage]
                try:
                    return await self._source.__anext__()
                finally:
                    gate._pulling = None  # pyright: ignore[reportPrivateUsage]
        with anyio.CancelScope(shield=True):
            await aclose(self._source)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        await aclose(self._source)
