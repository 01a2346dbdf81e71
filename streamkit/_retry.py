"""Per-call timeouts and retries: :class:`Retry`, and :func:`guard`, which wraps a user function
with both so that the sequential loop and the worker pool call it the same way.
"""

from __future__ import annotations

import copy
import random as _random
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import TYPE_CHECKING, Any, cast

import anyio

from ._awaitable import awaitable
from ._options import check_int, show

if TYPE_CHECKING:
    from ._runtime._stage import Stage


@dataclass(frozen=True, slots=True)
class RetryAttempt:
    """A failed attempt that will be retried; what the ``on_retry`` hook of :class:`Retry` gets."""

    operator: str
    """The operator as written, e.g. ``map_(fetch, retry=Retry(...))``."""
    item: Any
    """The input being retried."""
    attempt: int
    """The number of the attempt that failed, from 1."""
    error: Exception
    """What that attempt raised."""
    delay: float
    """Seconds to wait before the next attempt."""


@dataclass(frozen=True, slots=True, repr=False)
class Retry:
    """How ``map_``/``filter_``/``flat_map`` retry a failed call.

    A call that raises one of the exception types ``on`` is tried again, up to ``attempts``
    tries in all. Before try k + 1 the stage waits ``min(max_backoff, backoff * 2 ** (k - 1))``
    seconds; with ``jitter`` that wait is multiplied by a random number in [0, 1) ("full
    jitter", so that many clients failing together do not retry together). The wait is an
    :func:`anyio.sleep`: cancelling the pipeline interrupts it. Other exceptions, and the last
    attempt's, go to the operator's ``on_error``.

    Args:
        on: the exception type(s) to retry; no other is retried. Name :exc:`TimeoutError` to
            retry calls that exceed the operator's ``timeout``.
        attempts: tries in all, at least 1 (1 means no retry).
        backoff: the first wait, in seconds (``0`` retries at once).
        max_backoff: the cap on any wait, in seconds.
        jitter: randomise each wait as described above.
        on_retry: called (synchronously) with a :class:`RetryAttempt` before each wait, to log
            or count retries.
        random: the source of jitter, a function returning floats in [0, 1); pass
            ``random.Random(seed).random`` for repeatable waits. With ``jitter``, it is
            tried once at construction to check what it returns (a method of a
            :class:`random.Random` is tried on a copy, so its sequence is unchanged).

    Example::

        fetch_all = map_(fetch, concurrency=16, timeout=5,
                         retry=Retry(on=(ConnectionError, TimeoutError), attempts=4))
    """

    on: type[Exception] | tuple[type[Exception], ...]
    _: KW_ONLY
    attempts: int = 3
    backoff: float = 0.1
    max_backoff: float = 10.0
    jitter: bool = True
    on_retry: Callable[[RetryAttempt], object] | None = None
    random: Callable[[], float] = field(default=_random.random, repr=False)

    def __post_init__(self) -> None:
        given = cast(object, self.on)
        on: tuple[object, ...] = (
            cast(tuple[object, ...], given) if isinstance(given, tuple) else (given,)
        )
        if not on or not all(isinstance(t, type) and issubclass(t, Exception) for t in on):
            raise TypeError(
                f"on must be an Exception subclass or a non-empty tuple of them, got {self.on!r}"
            )
        object.__setattr__(self, "on", on)
        check_int("attempts", self.attempts, minimum=1)
        for name in ("backoff", "max_backoff"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if not isinstance(self.jitter, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"jitter must be True or False, got {self.jitter!r}")
        if self.on_retry is not None and not callable(self.on_retry):
            raise TypeError(f"on_retry must be None or a callable, got {self.on_retry!r}")
        if not callable(self.random):
            raise TypeError(f"random must be a callable returning [0, 1), got {self.random!r}")
        if self.jitter:
            _check_random(_trial(self.random)())  # a wrong one fails here, not mid-run

    def __repr__(self) -> str:
        on = cast(tuple[type[Exception], ...], self.on)
        names = ", ".join(t.__name__ for t in on)
        shown = [f"on=({names}{',' if len(on) == 1 else ''})"]
        shown += [
            f"{f.name}={show(value)}"
            for f in fields(self)[1:]
            if f.repr and (value := getattr(self, f.name)) != f.default
        ]
        return f"Retry({', '.join(shown)})"

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
        wait = min(self.max_backoff, self.backoff * 2.0 ** min(attempt - 1, 64))
        return wait * _check_random(self.random()) if self.jitter else wait


def _trial(random: Callable[[], float]) -> Callable[[], float]:
    """``random``, or for a method of a :class:`random.Random` (seeded, say) the same method of
    a copy, so that trying it leaves the sequence of waits as it was."""
    owner = getattr(random, "__self__", None)
    if isinstance(owner, _random.Random):
        return cast(Callable[[], float], getattr(copy.copy(owner), random.__name__))
    return random


def _check_random(value: object) -> float:
    """``value`` if it is a float in [0, 1), as ``Retry(random=...)`` must return."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"random must return a number in [0, 1), it returned {value!r}")
    return value


def check_retry(value: object) -> Retry | None:
    """Return ``value`` if it is ``None`` or a :class:`Retry`."""
    if value is None or isinstance(value, Retry):
        return value
    raise TypeError(f"retry must be None or a streamkit.Retry(...), got {value!r}")


Call = Callable[[Any, int], Any]
"""A user function as a stage calls it: with the item and its index (for notes and hooks)."""


def guard(
    fn: Callable[[Any], Any], stage: Stage, *, timeout: float | None, retry: Retry | None
) -> Call:
    """``fn`` with the per-call ``timeout`` and the ``retry`` policy applied, reporting each
    retry to ``stage`` (:meth:`Stage.retrying`: counted, and seen by hooks).

    The timeout covers one attempt and raises the builtin :exc:`TimeoutError`. A sync ``fn``
    cannot be interrupted: its timeout is noticed only if it returns an awaitable.
    """
    if timeout is None and retry is None:
        return lambda item, index: fn(item)

    async def once(item: Any) -> Any:
        if timeout is None:
            result = fn(item)
            return (await result) if awaitable(result) else result
        with anyio.move_on_after(timeout):
            result = fn(item)
            return (await result) if awaitable(result) else result
        raise TimeoutError(f"the call took longer than timeout={timeout} s")

    if retry is None:
        return lambda item, index: once(item)
    retried = retry.on

    async def with_retries(item: Any, index: int) -> Any:
        attempt = 1
        while True:
            try:
                return await once(item)
            except Exception as exc:
                if not isinstance(exc, retried):
                    if attempt > 1:
                        exc.add_note(
                            f"streamkit: not retried: {type(exc).__name__} is not one of "
                            f"{retry!r}'s exception types (attempt {attempt}; the attempts "
                            "before it were retried)"
                        )
                    raise
                if attempt >= retry.attempts:
                    if attempt > 1:
                        exc.add_note(f"streamkit: gave up after {attempt} attempts")
                    raise
                delay = retry.delay(attempt)
                stage.retrying(exc, index, item, attempt=attempt, delay=delay)
                if retry.on_retry is not None:
                    retry.on_retry(RetryAttempt(stage.name, item, attempt, exc, delay))
            await anyio.sleep(delay)
            attempt += 1

    return with_retries


def in_order(call: Call) -> Callable[[Any], Any]:
    """``call`` for a sequential loop, which makes one call per item, in order: it numbers the
    items itself."""
    index = -1

    def numbered(item: Any) -> Any:
        nonlocal index
        index += 1
        return call(item, index)

    return numbered
