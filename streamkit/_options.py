"""Validation of operator options at construction time.

Each check raises with a message that says what *is* allowed, e.g.
``ValueError: concurrency must be an int >= 1, got 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeAlias, cast

ErrorHandler: TypeAlias = Callable[[Exception, Any], Any]
"""``on_error=handler``: ``handler(exc, item)`` (sync or async) returns a replacement for what
the call would have returned, or :data:`~streamkit.SKIP`; or raises."""
OnError: TypeAlias = Literal["raise", "skip"] | ErrorHandler
ON_ERROR_CHOICES = ("raise", "skip")


def check_int(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` if it is an int (not a bool) of at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def check_optional_int(name: str, value: object, *, minimum: int) -> int | None:
    """Return ``value`` if it is ``None`` (no bound) or passes :func:`check_int`."""
    return None if value is None else check_int(name, value, minimum=minimum)


def check_seconds(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a positive number of seconds."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds > 0, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be a number of seconds > 0, got {value}")
    return float(value)


def check_rate_limit(value: object) -> tuple[int, float] | None:
    """Return ``value`` (``None``, or ``(count, per)``: at most ``count`` starts per ``per``
    seconds) with ``per`` as a float."""
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:  # pyright: ignore[reportUnknownArgumentType]
        raise TypeError(
            "rate_limit must be None or a (count, per_seconds) tuple such as (10, 1.0), "
            f"got {value!r}"
        )
    count, per = cast("tuple[object, object]", value)
    return check_int("rate_limit count", count, minimum=1), check_seconds("rate_limit per", per)


def check_callable(name: str, value: object) -> None:
    """Raise ``TypeError`` unless ``value`` can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be a callable (a sync or async function), got {value!r}")


def check_on_error(value: object) -> OnError:
    """Return ``value`` if it is one of :data:`ON_ERROR_CHOICES` or a handler (a callable)."""
    if isinstance(value, str):
        if value == "raise":
            return "raise"
        if value == "skip":
            return "skip"
    elif callable(value):
        return value
    raise ValueError(
        f"on_error must be one of {ON_ERROR_CHOICES} or a handler fn(exc, item), got {value!r}"
    )


def check_timeout(value: object) -> float | None:
    """Return ``value`` as seconds if it is ``None`` or a positive number."""
    return None if value is None else check_seconds("timeout", value)


def check_window(window: object, concurrency: int) -> int:
    """Return the reorder window: ``window`` if valid, else the default for ``concurrency``."""
    if window is None:
        return default_window(concurrency)
    return check_int("window", window, minimum=concurrency)


def default_window(concurrency: int) -> int:
    """Results a concurrent stage may hold by default: enough to ride out a slow item."""
    return max(16 * concurrency, 64)


def describe(fn: Callable[..., object]) -> str:
    """A short readable name for a user callable, for reprs and error notes."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return repr(fn)
    return name.rpartition("<locals>.")[2]


def show(value: object) -> str:
    """An option's value as a repr shows it: a callable by :func:`describe`, a dict item by
    item, anything else by ``repr``."""
    if isinstance(value, dict):
        items: dict[object, object] = value  # pyright: ignore[reportUnknownVariableType]
        return "{" + ", ".join(f"{key!r}: {show(v)}" for key, v in items.items()) + "}"
    return describe(value) if callable(value) else repr(value)
