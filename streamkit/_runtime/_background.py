"""What the stages that run tasks of their own share (a worker pool, ``switch_map``'s switch,
a fan-out): a reusable wake-up signal, and one life cycle.

The tasks start on the first ``__anext__``, in one cancel scope inside the run's task group,
and the consumer drains their results from ``__anext__`` in its own task (never a generator
yielding from inside the task group: PEP 789). ``aclose`` cancels the tasks and waits, shielded,
until they have ended; a stage closed before it started closes what it owns at once.

One way to end: when no result is left, :meth:`Background._end` raises the error the stage
ended with (an upstream error, which takes the place of the end of the stream, after every
result that came before it), or ends the iteration if the tasks ended by themselves, or raises
:exc:`anyio.BrokenResourceError` if they were cancelled (a cancelled stage never ends as if
normally).

Closing what it owns (its upstream, inner streams, branches): on an ordinary close each gets
:data:`~._closing.CLEANUP_GRACE` seconds for its async cleanup, shielded from the stage's own
cancellation (:meth:`Background._close`); when the consumer was cancelled from outside, none.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, NoReturn

import anyio
from anyio.lowlevel import checkpoint

from .._errors import escaped, in_task
from .._types import U
from ._closing import aclose, aclose_all, cancelled_from_outside, close_in_grace

if TYPE_CHECKING:
    from ._run import Run
    from ._stage import Stage


class Wakeup:
    """A reusable signal: tasks :meth:`wait` until the next :meth:`notify`.

    Each wait that finds no pending event makes a fresh one. ``anyio.Event()`` looks up the
    running backend on every call (about half the cost of a wait that switches tasks), so the
    backend's event class is taken from the first event and instantiated directly after that:
    a Wakeup lives within one run, on one backend.
    """

    __slots__ = ("_event", "_make")

    def __init__(self) -> None:
        self._event: anyio.Event | None = None
        self._make: Callable[[], anyio.Event] = anyio.Event

    async def wait(self) -> None:
        event = self._event
        if event is None:
            event = self._event = self._make()
            self._make = type(event)
        await event.wait()

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None


class Baton:
    """A hand-off that wakes one waiter per :meth:`pass_on` (the next to take its turn), and
    every waiter on :meth:`release_all` (when there will be no more turns).

    Waking every waiter for a turn only one can take costs each turn as many task switches as
    there are waiters: with 1,024 workers, a worker pool's cost per item grew with its size.
    """

    __slots__ = ("_make", "_waiting")

    def __init__(self) -> None:
        self._waiting: deque[anyio.Event] = deque()
        self._make: Callable[[], anyio.Event] = anyio.Event

    async def wait(self) -> None:
        event = self._make()
        self._make = type(event)
        self._waiting.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():  # woken and cancelled at once: the turn goes to the next
                self.pass_on()
            else:
                self._waiting.remove(event)
            raise

    def pass_on(self) -> None:
        if self._waiting:
            self._waiting.popleft().set()

    def release_all(self) -> None:
        waiting, self._waiting = self._waiting, deque()
        for event in waiting:
            event.set()


class Background(AsyncIterator[U], Generic[U]):
    """The output of a stage whose work runs in tasks; subclasses define :meth:`_run_tasks`.

    :attr:`_finished` says the tasks have ended; :attr:`_complete` that they ended by
    themselves rather than by cancellation (a cancelled stage must never end as if normally);
    :attr:`_error` is what the output ends with instead of its end; :attr:`_ready` wakes the
    consumer.
    """

    def __init__(self, owned: list[AsyncIterator[Any]], stage: Stage, run: Run) -> None:
        self._owned = owned
        """What the stage must close (its upstream first) if it is closed before it starts."""
        self._stage = stage
        self._run = run
        self._ready = Wakeup()
        self._scope = anyio.CancelScope()
        self._stopped = anyio.Event()
        self._started = False
        self._finished = False
        self._complete = False
        self._error: BaseException | None = None
        self._grace = False
        """Whether what the stage owns is closed in grace (an ordinary close, see above)."""

    def _start(self) -> None:
        """Start the tasks, once."""
        if not self._started:
            self._started = True
            self._run.task_group.start_soon(
                in_task(self._run_stage), name=f"streamkit {self._stage.name}"
            )

    async def _end(self) -> NoReturn:
        """End the output, once no result is left (see the module's docstring)."""
        error, self._error = self._error, None
        if error is not None:
            self._complete = True  # raised once; after it the output is exhausted
            raise escaped(error)
        if self._complete:
            raise StopAsyncIteration
        # The tasks were cancelled before the input ran out. If that was an outside
        # cancellation reaching this consumer too, it sees it here.
        await checkpoint()
        raise anyio.BrokenResourceError(
            f"{self._stage.name} was cancelled before its output was complete"
        )

    async def _close(self, iterator: object) -> None:
        """Close ``iterator``, which the stage owns: in grace after an ordinary close."""
        if self._grace:
            await close_in_grace(iterator)
        else:
            await aclose(iterator)

    async def aclose(self) -> None:
        """Stop the tasks (cancelling what they do) and close the upstream."""
        if not self._started:
            self._started = self._finished = self._complete = True
            self._stopped.set()
            await aclose_all(self._owned)
            return
        if not self._finished:
            self._grace = not cancelled_from_outside()
        self._scope.cancel()
        # Shielded: the tasks are already cancelled, so this is prompt; without the shield a
        # cancelled caller would return while a task is still inside the upstream.
        with anyio.CancelScope(shield=True):
            await self._stopped.wait()

    async def _run_stage(self) -> None:
        try:
            with self._scope:
                await self._run_tasks()
                self._complete = True
        finally:
            self._finished = True
            self._ready.notify()
            self._stopped.set()

    async def _run_tasks(self) -> None:
        """The stage's work; it closes the upstream when it ends."""
        raise NotImplementedError
