"""A blocking synchronous iterable as a source, advanced in a worker thread:
``stream(cursor, executor="thread")``.

Each run gets one thread of its own (a one-worker :class:`~concurrent.futures.ThreadPoolExecutor`),
so every call on the iterable (``iter()``, each ``next()``, ``close()``) happens in the same
thread: a sqlite3 cursor made in that thread, or a client that is not thread-safe, is used from
one thread only. One item is taken per hop to the thread and back, so a slow source delivers each
item as soon as it has it (no chunk waits to fill); each hop costs some tens of microseconds.
The event loop never waits on the iterable: it awaits the hop's future
(:func:`~streamkit._runtime._offload.wait_future`), which parks no other thread.

Closing: when the run ends early (``take``, ``break``, an error, a cancellation), ``close()`` of
the iterator (a generator's ``finally`` runs) is queued to the same thread, after the ``next()``
it may be inside (a blocking call cannot be interrupted), and the run waits for it, shielded, for
at most :data:`~streamkit._runtime._closing.CLEANUP_GRACE` seconds. A ``next()`` that blocks for
longer is left to finish in its thread, which then closes the iterator and ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import Any, Final, Literal, TypeAlias

import anyio

from ._runtime._closing import CLEANUP_GRACE
from ._runtime._offload import wait_future
from ._source import IteratorSource
from ._types import T

SourceExecutor: TypeAlias = Literal["thread"]
"""Where ``stream(source, executor=...)`` iterates a blocking source."""

_END: Final = object()


def check_source_executor(executor: object) -> None:
    """Refuse an ``executor`` that ``stream()`` does not take."""
    if executor != "thread":
        message = (
            f"stream() takes executor='thread' (or None) for a blocking iterable, got {executor!r}"
        )
        raise ValueError(message) if isinstance(executor, str) else TypeError(message)


class ThreadedSource(IteratorSource[T]):
    """A sync iterable iterated in a thread of its own per run (see the module's docstring)."""

    __slots__ = ("_iterable",)

    def __init__(self, label: str, iterable: Iterable[T], *, once: bool) -> None:
        super().__init__(label, lambda: threaded_items(iterable), once=once)
        self._iterable = iterable

    async def _discard(self) -> None:
        if self._once and not self._used:  # a one-shot iterable a stream never reached
            self._used = True
            close = getattr(self._iterable, "close", None)
            if close is not None:
                await anyio.to_thread.run_sync(close)


async def threaded_items(iterable: Iterable[T]) -> AsyncIterator[T]:
    """The items of ``iterable``, each ``next()`` run in one worker thread of this iteration."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="streamkit-source")
    iterator: Iterator[T] | None = None
    try:
        iterator = await wait_future(worker.submit(iter, iterable))
        while True:
            item: Any = await wait_future(worker.submit(next, iterator, _END))
            if item is _END:
                return
            yield item
    finally:
        await _close_in(worker, iterator if iterator is not None else iterable)


async def _close_in(worker: ThreadPoolExecutor, iterator: object) -> None:
    """Close ``iterator`` in ``worker`` (after the call it may be running) and let the worker
    end; wait for the close, shielded, at most :data:`CLEANUP_GRACE` seconds."""
    close = getattr(iterator, "close", None)
    closed: Future[object] | None = worker.submit(close) if callable(close) else None
    worker.shutdown(wait=False)  # the thread ends once the queued calls are done
    if closed is None:
        return
    with anyio.CancelScope(shield=True, deadline=anyio.current_time() + CLEANUP_GRACE):
        await wait_future(_outcome_of(closed))


def _outcome_of(future: Future[T]) -> Future[T]:
    """A future with ``future``'s outcome, which a waiter may cancel without cancelling
    ``future`` (a close that must still run once the blocking call before it returns)."""
    outcome: Future[T] = Future()

    def copy(done: Future[T]) -> None:
        with contextlib.suppress(InvalidStateError):  # the waiter gave up: nobody looks
            error = done.exception()
            if error is None:
                outcome.set_result(done.result())
            else:
                outcome.set_exception(error)

    future.add_done_callback(copy)
    return outcome
