"""Closing what a run owns: every iterator of a pipeline, downstream first."""

from __future__ import annotations

import math
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Generic

import anyio

from .._types import T

CLEANUP_GRACE = 2.0
"""Seconds that a source, inner stream or branch gets for its async cleanup (the ``finally``
of an async generator, say) when a task-running stage closes it on an ordinary exit: it is
closed in a shielded scope with this deadline, so its cleanup may await, and a stuck cleanup
cannot hang the exit. When the caller was cancelled from outside there is no grace: the
cleanup runs cancelled, so the cancellation is honoured at once."""

_IGNORED = "async generator ignored GeneratorExit"
_reported: weakref.WeakSet[object] = weakref.WeakSet()
"""Async generators whose :data:`_IGNORED` failure was raised once already."""


async def aclose(iterator: object) -> None:
    """``await iterator.aclose()`` if it has one (plain async iterators may not).

    An async generator that catches ``GeneratorExit`` and yields again cannot be closed; that
    is said clearly, once (the stages that would close it again say nothing more).
    """
    close = getattr(iterator, "aclose", None)
    if close is None or (_reported and iterator in _reported):
        return
    try:
        await close()
    except RuntimeError as exc:
        if str(exc) != _IGNORED:
            raise
        _reported.add(iterator)
        raise RuntimeError(
            f"{iterator!r} could not be closed: it caught GeneratorExit (or BaseException) "
            "and went on yielding. An async generator must let GeneratorExit propagate: do "
            "its cleanup in 'finally:' and do not yield after it"
        ) from None


def cancelled_from_outside() -> bool:
    """Whether the calling code is being cancelled (its effective deadline has passed)."""
    return anyio.current_effective_deadline() == -math.inf


async def close_in_grace(iterator: object) -> None:
    """Close ``iterator`` shielded for at most :data:`CLEANUP_GRACE` seconds, so its async
    cleanup can run even though the task closing it is being cancelled by its own stage."""
    with anyio.CancelScope(shield=True, deadline=anyio.current_time() + CLEANUP_GRACE):
        await aclose(iterator)


class Parts(Generic[T]):
    """The iterators of one built pipeline, source first; :attr:`output` is the last.

    Operators close their own upstream, but a user's async generator may not, so :meth:`aclose`
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
async def closing(
    owned: object, close: Callable[[object], Awaitable[None]] = aclose
) -> AsyncGenerator[None]:
    """Close ``owned`` (an async iterator or a :class:`Parts`) with ``close`` when the block
    ends.

    When the block fails, the close runs as :func:`close_while_failing` says, so the block's
    exception is the one that goes on.
    """
    try:
        yield
    except BaseException:
        await close_while_failing(partial(close, owned))
        raise
    await close(owned)
