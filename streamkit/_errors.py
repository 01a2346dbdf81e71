"""Exceptions raised by streamkit, and the helpers that keep user errors intact.

Hierarchy::

    StreamkitError
    ├── StreamConsumedError (also RuntimeError)  a one-shot source consumed twice
    └── EmptyStreamError (also ValueError)       first()/last() of an empty stream

User exceptions are never wrapped: they reach the caller as the same object, with a PEP 678
note naming the operator and the item index.
"""

from __future__ import annotations

import reprlib

import anyio

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


class StreamkitError(Exception):
    """Base class of the errors that streamkit itself raises."""


class StreamConsumedError(StreamkitError, RuntimeError):
    """A stream whose source can be iterated only once was consumed a second time."""


class EmptyStreamError(StreamkitError, ValueError):
    """:meth:`Stream.first` or :meth:`Stream.last` found no item and no ``default`` was given."""


def add_operator_note(exc: BaseException, operator: str, index: int, item: object) -> None:
    """Attach where ``exc`` happened as a PEP 678 note (once per exception)."""
    exc.add_note(f"streamkit: raised by {operator} on item {index}: {_short.repr(item)}")


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
