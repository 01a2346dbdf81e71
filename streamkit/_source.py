"""What a stream can start from, and how each kind is opened afresh for every run."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sized
from typing import TYPE_CHECKING, Any, Generic

from anyio.lowlevel import checkpoint

from ._errors import StreamConsumedError
from ._runtime._closing import aclose
from ._types import T

if TYPE_CHECKING:
    from ._gate import Gate
    from ._runtime._build import Build

CHECKPOINT_EVERY = 256
"""A synchronous source yields to the event loop at its first item and then every this many
items, so a pipeline over a fast sync source stays cancellable and fair to other tasks."""


class Source(ABC, Generic[T]):
    """Something a run can build into a chain of async iterators."""

    __slots__ = ()

    @abstractmethod
    def _build_into(
        self, parts: list[AsyncIterator[Any]], build: Build, gate: Gate | None = None
    ) -> None:
        """Append the iterators of a fresh iteration to ``parts``, source first, each as soon
        as it is made, so that what was made can be closed if building fails midway; the
        source's items pass through ``gate`` (``Pipeline.pause()`` and ``stop_intake()``)."""

    async def _discard(self) -> None:
        """Close what this source owns without reading it (an input a stream never reached):
        a one-shot source's iterator. Re-iterable sources own nothing."""


class IteratorSource(Source[T]):
    """A source whose iterator ``make`` builds for each run; ``once`` if it cannot be rebuilt."""

    __slots__ = ("_label", "_make", "_once", "_used")

    def __init__(self, label: str, make: Callable[[], AsyncIterator[T]], *, once: bool) -> None:
        self._label = label
        self._make = make
        self._once = once
        self._used = False

    def _build_into(
        self, parts: list[AsyncIterator[Any]], build: Build, gate: Gate | None = None
    ) -> None:
        iterator = self._iterator()
        parts.append(iterator)
        if gate is not None:
            parts.append(gate.wrap(iterator))

    def _iterator(self) -> AsyncIterator[T]:
        self._claim()
        return self._make()

    def _claim(self) -> None:
        """Mark a one-shot source used; an error if it was already."""
        if self._once:
            if self._used:
                raise StreamConsumedError(
                    f"{self._label} is a one-shot source and was already consumed; to "
                    "consume a stream more than once, pass a re-iterable: a list, or an object "
                    "whose __aiter__ (or __iter__) makes a fresh generator each time"
                )
            self._used = True

    async def _discard(self) -> None:
        if self._once and not self._used:
            self._used = True
            await aclose(self._make())

    def __repr__(self) -> str:
        return self._label


class IterableSource(IteratorSource[T]):
    """A sync iterable as a source: read through :func:`sync_items`, or directly by a fused
    part (:meth:`iterable`)."""

    __slots__ = ("_iterable",)

    def __init__(self, label: str, iterable: Iterable[T], *, once: bool) -> None:
        super().__init__(label, lambda: sync_items(iterable), once=once)
        self._iterable = iterable

    async def _discard(self) -> None:
        if self._once and not self._used:
            self._used = True
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()

    def iterable(self) -> Iterable[T]:
        """The iterable, for a part that iterates it itself (checkpointing as
        :func:`sync_items` does)."""
        self._claim()
        return self._iterable


async def sync_items(iterable: Iterable[T]) -> AsyncIterator[T]:
    """Iterate a sync iterable asynchronously, checkpointing as :data:`CHECKPOINT_EVERY` says."""
    iterator = iter(iterable)
    try:
        countdown = 1
        for item in iterator:
            countdown -= 1
            if not countdown:
                countdown = CHECKPOINT_EVERY
                await checkpoint()
            yield item
        await checkpoint()
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def as_source(obj: object) -> Source[Any]:
    """The source for ``obj``: a Stream, an iterable, an async iterable or a receive stream."""
    if isinstance(obj, Source):
        return obj  # pyright: ignore[reportUnknownVariableType]
    label = f"stream({label_of(obj)})"
    if isinstance(obj, AsyncIterable):
        aiterable: AsyncIterable[Any] = obj  # pyright: ignore[reportUnknownVariableType]
        return IteratorSource(label, lambda: aiter(aiterable), once=isinstance(obj, AsyncIterator))
    if isinstance(obj, Iterable):
        iterable: Iterable[Any] = obj  # pyright: ignore[reportUnknownVariableType]
        return IterableSource(label, iterable, once=isinstance(obj, Iterator))
    raise TypeError(
        "stream() takes an iterable, an async iterable, a Stream or an anyio receive stream, "
        f"got {type(obj).__name__}"
    )


def label_of(obj: object) -> str:
    if isinstance(obj, range):
        return repr(obj)
    name = type(obj).__name__
    if isinstance(obj, Sized) and not isinstance(obj, Iterator | AsyncIterator):
        return f"{name}[{len(obj)}]"
    qualname = getattr(obj, "__qualname__", None)
    return f"{qualname}()" if isinstance(qualname, str) else name
