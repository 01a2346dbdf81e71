"""Exceptions raised by streamkit, and the helpers that keep user errors intact.

Hierarchy::

    StreamkitError
    ├── StreamConsumedError (also RuntimeError)  a one-shot source consumed twice
    ├── EmptyStreamError (also ValueError)       first()/last() of an empty stream
    └── FrontierFullError (also RuntimeError)    expand() could never take up what it found

User exceptions are never wrapped: they reach the caller as the same object, with a PEP 678
note naming the operator and the item index.

Also here: what an ``on_error`` handler may return to drop an item (:data:`SKIP`), and a
ready-made handler that records failed items (:class:`Failures`).
"""

from __future__ import annotations

import enum
import reprlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVarTuple

import anyio

Ts = TypeVarTuple("Ts")

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


class StreamkitError(Exception):
    """Base class of the errors that streamkit itself raises."""


class FrontierFullError(StreamkitError, RuntimeError):
    """``expand`` found more items than ``max_frontier`` while every worker was waiting to
    add more, so no worker was left to take one up (the wait could never end)."""


class StreamConsumedError(StreamkitError, RuntimeError):
    """A stream whose source can be iterated only once was consumed a second time."""


class EmptyStreamError(StreamkitError, ValueError):
    """:meth:`Stream.first` or :meth:`Stream.last` found no item and no ``default`` was given."""


class Skip(enum.Enum):
    """The type of :data:`SKIP` (for annotations: ``def handler(exc, item) -> int | Skip``)."""

    SKIP = "SKIP"

    def __repr__(self) -> str:
        return "streamkit.SKIP"


SKIP: Final = Skip.SKIP
"""Returned by an ``on_error`` handler: drop the item (it is counted as skipped)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed input, as recorded by :class:`Failures`."""

    item: object
    """The input whose call failed (for a map over batches, the whole batch)."""
    error: Exception
    """The exception, with the note naming the operator and the item index."""


class Failures:
    """A failed-items sink: pass it as ``on_error=`` to record each failure and drop the item.

    Each input then yields an output or a :class:`Failure` record, so a run accounts for
    every input: ``len(outputs) + failures.count == len(inputs)`` for a map.

    Args:
        limit: keep at most this many records (the most recent); :attr:`count` still counts
            every failure. ``None`` (the default) keeps all of them, so memory grows with the
            number of failures.

    Example::

        failures = Failures()
        pages = await stream(urls).pipe(map_(fetch, on_error=failures)).collect()
        for failure in failures:
            log.warning("%s failed: %r", failure.item, failure.error)
    """

    __slots__ = ("count", "records")

    def __init__(self, *, limit: int | None = None) -> None:
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or limit < 0  # pyright: ignore[reportUnnecessaryIsInstance]
        ):
            raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
        self.records: deque[Failure] = deque(maxlen=limit)
        """The failures recorded, oldest first."""
        self.count: int = 0
        """Every failure seen, including those no longer kept because of ``limit``."""

    def __call__(self, error: Exception, item: object) -> Skip:
        self.count += 1
        self.records.append(Failure(item, error))
        return SKIP

    def __iter__(self) -> Iterator[Failure]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        limit = self.records.maxlen
        return "Failures()" if limit is None else f"Failures(limit={limit})"


def add_operator_note(exc: BaseException, operator: str, index: int, item: object) -> None:
    """Attach where ``exc`` happened as a PEP 678 note (once per exception)."""
    exc.add_note(f"streamkit: raised by {operator} on item {index}: {_short.repr(item)}")


class Interrupted(Exception):
    """Carries a ``KeyboardInterrupt`` or ``SystemExit`` out of a task of a run.

    On asyncio, one of these escaping a task is also re-raised by the event loop itself, so the
    caller would get it twice: once from the pipeline and again out of ``asyncio.run``. Every
    task a run starts is wrapped by :func:`in_task`, which turns the interrupt into this
    ordinary exception; :func:`raise_single` raises the interrupt itself to the consumer.
    """

    def __init__(self, interrupt: KeyboardInterrupt | SystemExit) -> None:
        super().__init__(repr(interrupt))
        self.interrupt = interrupt


def in_task(
    fn: Callable[[*Ts], Awaitable[object]],
) -> Callable[[*Ts], Coroutine[Any, Any, None]]:
    """``fn`` as the body of a task of the run: an interrupt it raises leaves it as
    :class:`Interrupted` (see there)."""

    async def task(*args: *Ts) -> None:
        try:
            await fn(*args)
        except (KeyboardInterrupt, SystemExit) as interrupt:
            raise Interrupted(interrupt) from None

    return task


STOP_MESSAGE = (
    "a user function raised {0}, which cannot pass through an iterator as itself (it would "
    "end the iteration silently); it is the __cause__ of this error. collect(), first(), "
    "receive() and the other consumers, and leaving the open() block, raise it as itself"
)


def escaped(exc: BaseException) -> BaseException:
    """``exc``, ready to be raised from an ``__anext__``: a ``StopIteration`` or
    ``StopAsyncIteration`` of a user function would end the caller's iteration as if the stream
    had ended, so it travels as the ``__cause__`` of a ``RuntimeError`` (as PEP 479 makes
    generators do), and :func:`user_stop` takes it out again at the consumer."""
    if isinstance(exc, StopIteration | StopAsyncIteration):
        carrier = RuntimeError(STOP_MESSAGE.format(type(exc).__name__))
        carrier.__cause__ = exc
        return carrier
    return exc


def user_stop(exc: BaseException) -> StopAsyncIteration | None:
    """The user function's ``StopAsyncIteration`` that ``exc`` carries (see :func:`escaped`;
    a generator between carries it the same way), if any.

    Only one with a streamkit note counts: it was a user function's, not an iterator ending.
    A ``StopIteration`` stays in its carrier: no coroutine can raise it (PEP 479).
    """
    cause = exc.__cause__
    if (
        type(exc) is RuntimeError
        and isinstance(cause, StopAsyncIteration)
        and any(note.startswith("streamkit: ") for note in getattr(cause, "__notes__", ()))
    ):
        return cause
    return None


def raise_single(group: BaseExceptionGroup[BaseException]) -> None:
    """Re-raise what a pipeline's task group raised, unwrapped where that loses nothing.

    ``KeyboardInterrupt`` and ``SystemExit`` pass through first. A single failure is raised as
    itself (same object, same type); cancellations that accompany it are dropped. A group made
    only of cancellations is left alone so that the cancel scope that caused it can catch it.
    Several real failures are raised as a group with a note saying why.
    """
    cancelled = anyio.get_cancelled_exc_class()
    leaves = list(_leaves(group))
    for leaf in leaves:
        if isinstance(leaf, Interrupted):
            _reraise(leaf.interrupt)
        if isinstance(leaf, KeyboardInterrupt | SystemExit):
            _reraise(leaf)
    errors = [leaf for leaf in leaves if not isinstance(leaf, cancelled)]
    if not errors:
        raise group
    if len(errors) == 1:
        _reraise(errors[0])
    flat = BaseExceptionGroup("several pipeline stages failed at once", errors)
    flat.add_note(
        f"streamkit: {len(errors)} failures happened concurrently; each carries a note naming "
        "its operator and item"
    )
    raise flat


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        inner: tuple[BaseException, ...] = exc.exceptions  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return [leaf for child in inner for leaf in _leaves(child)]
    return [exc]


def _reraise(exc: BaseException) -> None:
    # Raised from a helper outside any ``except`` block so that ``exc.__context__`` stays what
    # the user's code set, not the task group's wrapper.
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
