"""Closing what a run owns: every iterator of a pipeline, downstream first."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Generic

import anyio

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


async def close_while_failing(close: Callable[[], Awaitable[None]]) -> None:
    """Run ``close()`` while an exception is on its way out.

    Teardown then often runs in a cancelled scope; a cancellation raised by ``close()`` must
    not replace the exception that caused the teardown (it would be lost).
    """
    try:
        await close()
    except anyio.get_cancelled_exc_class():
        pass


@asynccontextmanager
async def closing(owned: object) -> AsyncGenerator[None]:
    """Close ``owned`` (an async iterator or a :class:`Chain`) when the block ends.

    When the block fails, the close runs as :func:`close_while_failing` says, so the block's
    exception is the one that goes on.
    """
    try:
        yield
    except BaseException:
        await close_while_failing(partial(aclose, owned))
        raise
    await aclose(owned)
