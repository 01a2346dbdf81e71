"""What a workload asks an implementation to run: a source, stage specs and a consumer.

Every implementation in ``impls/`` turns the same specs into its own pipeline, so a workload is
written once. An implementation that cannot express a spec says why through its
``unsupported()`` function; the report shows that reason instead of a figure.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias


@dataclass(frozen=True)
class Map:
    """Apply ``fn`` (sync or async) to each item, with up to ``concurrency`` calls at once."""

    fn: Callable[[Any], Any]
    concurrency: int = 1
    ordered: bool = True
    window: int | None = None
    """Reorder window; ``None`` means the implementation's default."""

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


@dataclass(frozen=True)
class Filter:
    """Keep the items for which ``pred`` (sync or async) is true."""

    pred: Callable[[Any], Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.pred)


@dataclass(frozen=True)
class Batch:
    """Group items into lists of ``size`` (the last may be shorter)."""

    size: int


@dataclass(frozen=True)
class Flatten:
    """Emit the items of each (sync) iterable item."""


@dataclass(frozen=True)
class Take:
    """Emit the first ``n`` items, then stop."""

    n: int


@dataclass(frozen=True)
class Broadcast:
    """Send every item to each branch (its own stages) and merge the branches' outputs, each
    branch reading from a queue of at most ``buffer`` items."""

    branches: tuple[tuple[Stage, ...], ...]
    buffer: int = 16


Source: TypeAlias = Iterable[Any] | AsyncIterable[Any]


@dataclass(frozen=True)
class Merge:
    """Emit the items of the stream and of each of ``others``, in any interleaving."""

    others: tuple[Source, ...]


Stage: TypeAlias = Map | Filter | Batch | Flatten | Take | Broadcast | Merge


def concurrent(stages: Sequence[Stage]) -> bool:
    """Whether any stage asks for more than one call at a time."""
    return any(isinstance(stage, Map) and stage.concurrency > 1 for stage in stages)


def as_async(source: Source) -> AsyncIterator[Any]:
    """An async iterator over ``source``, wrapping a sync iterable in a plain async generator."""
    if isinstance(source, AsyncIterable):
        return aiter(source)
    return _from_sync(source)


async def _from_sync(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


async def aclose(iterator: object) -> None:
    """Close an async iterator if it can be closed."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


class Consumer:
    """The end of a pipeline: collect the items into a list, or count them.

    With ``time_first=True`` it also notes (``perf_counter``) when the first item arrived.
    """

    def __init__(self, kind: Literal["collect", "count"], *, time_first: bool = False) -> None:
        self.kind = kind
        self.time_first = time_first
        self.first_at: float | None = None

    async def consume(self, items: AsyncIterable[Any]) -> list[Any] | int:
        """Drain ``items`` as this consumer's kind asks."""
        if self.time_first:
            return await self._timed(items)
        if self.kind == "count":
            n = 0
            async for _ in items:
                n += 1
            return n
        return [item async for item in items]

    async def _timed(self, items: AsyncIterable[Any]) -> list[Any] | int:
        collected: list[Any] = []
        async for item in items:
            if self.first_at is None:
                self.first_at = time.perf_counter()
            collected.append(item)
        return collected if self.kind == "collect" else len(collected)
