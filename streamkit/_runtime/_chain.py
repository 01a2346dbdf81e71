"""Closing what a run owns: every iterator of a pipeline, downstream first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Generic

from .._types import T


async def aclose(iterator: object) -> None:
    """``await iterator.aclose()`` if it has one (plain async iterators may not)."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


class Chain(Generic[T]):
    """The iterators of one built pipeline, source first; :attr:`output` is the last.

    Operators close their own upstream, but a user's async generator may not, so the chain
    closes every part, downstream first, and raises the first error only after all are closed.
    """

    __slots__ = ("output", "parts")

    def __init__(self, parts: list[AsyncIterator[Any]]) -> None:
        self.parts = parts
        self.output: AsyncIterator[T] = parts[-1]

    async def aclose(self) -> None:
        await aclose_all(self.parts)


async def aclose_all(iterators: list[AsyncIterator[Any]]) -> None:
    """Close ``iterators``, last first; raise the first error only after all are closed."""
    error: BaseException | None = None
    for iterator in reversed(iterators):
        try:
            await aclose(iterator)
        except BaseException as exc:  # closes the rest, then re-raises
            error = error or exc
    if error is not None:
        raise error
