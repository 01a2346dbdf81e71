"""What the stages that run tasks of their own share (a worker pool, ``switch_map``'s switch,
a fan-out): wake-up signals, and one consumer side.

The tasks start on the first ``__anext__``, in one cancel scope inside the run's task group,
and the consumer takes their results from ``__anext__`` in its own task (never a generator
yielding from inside the task group: PEP 789). ``aclose`` cancels the tasks and waits, shielded,
until they have ended; a stage closed before it started closes what it owns at once.

One consumer side, :class:`Background`: the results wait in its output (an :class:`Outbox`, or
the pool's reorder buffer), and it hands on each in turn. A result may be a :class:`Failed`,
a failure in its turn (a call of a worker pool); it is raised, and the output is exhausted.
When no result is left, the output ends in one of three ways (:meth:`Background._end`):

- *failed*: the stage's tasks ended with an error (:meth:`Background._end_with`: an upstream
  error, which takes the place of the end of the stream after every result that came before
  it; or an inner stream's or a branch's failure). It is raised, once;
- *finished*: the tasks ended by themselves; the iteration ends;
- *cancelled*: the tasks were cancelled before their input ran out: it raises
  :exc:`anyio.BrokenResourceError` (a cancelled stage never ends as if normally).

Closing what it owns (its upstream, inner streams, branches): on an ordinary close each gets
:data:`~._closing.CLEANUP_GRACE` seconds for its async cleanup, shielded from the stage's own
cancellation (:meth:`Background._close`); when the consumer was cancelled from outside, none.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NoReturn, Protocol, cast

import anyio
from anyio.lowlevel import checkpoint

from .._errors import escaped, in_task
from .._types import U, U_co
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
    And while a waiter it woke has not run yet, a pass on wakes nobody else: a worker that
    takes turn after turn without suspending (a call that never waits) would otherwise wake
    a waiter per turn, each to find the turn taken and wait again.
    """

    __slots__ = ("_make", "_waiting", "_woken")

    def __init__(self) -> None:
        self._waiting: deque[anyio.Event] = deque()
        self._make: Callable[[], anyio.Event] = anyio.Event
        self._woken = False

    async def wait(self) -> None:
        event = self._make()
        self._make = type(event)
        self._waiting.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():  # woken and cancelled at once: the turn goes to the next
                self._woken = False
                self.pass_on()
            else:
                self._waiting.remove(event)
            raise
        self._woken = False

    def pass_on(self) -> None:
        if self._waiting and not self._woken:
            self._woken = True
            self._waiting.popleft().set()

    def release_all(self) -> None:
        waiting, self._waiting = self._waiting, deque()
        for event in waiting:
            event.set()


@dataclass(slots=True)
class Failed:
    """A failure handed on in place of a result, in its turn: the consumer raises it, and the
    output is exhausted after it."""

    error: BaseException


class Output(Protocol[U_co]):
    """Where a stage's results wait for its consumer: an :class:`Outbox` or a reorder buffer."""

    @property
    def ready(self) -> bool:
        """Whether :meth:`pop` has a result to give."""
        ...

    def pop(self) -> U_co: ...


class Outbox(Generic[U]):
    """Results waiting for the consumer, in arrival order: at most ``size`` of them; a task
    putting one more waits for room."""

    __slots__ = ("_items", "_size", "room")

    def __init__(self, size: int) -> None:
        self._items: deque[U] = deque()
        self._size = size
        self.room = Wakeup()
        """Notified when a full outbox gives a result (or must be re-checked)."""

    @property
    def ready(self) -> bool:
        return bool(self._items)

    def pop(self) -> U:
        items = self._items
        if len(items) >= self._size:  # full: a put may be waiting
            self.room.notify()
        return items.popleft()

    async def put(self, value: U) -> bool:
        """Add ``value``, waiting while the outbox is full; return whether it was empty (a
        waiting consumer needs waking only then)."""
        items = self._items
        while len(items) >= self._size:
            await self.room.wait()
        items.append(value)
        return len(items) == 1


class _Exhausted:
    """The output of a stage after it raised a failure: nothing more is ready."""

    ready = False

    def pop(self) -> NoReturn:
        raise IndexError("no result is ready")


_EXHAUSTED = _Exhausted()


class Background(AsyncIterator[U], Generic[U]):
    """The output of a stage whose work runs in tasks (see the module's docstring).

    Subclasses set :attr:`_output` and define :meth:`_run_tasks`. :attr:`_finished` says the
    tasks have ended; :attr:`_complete` that they ended by themselves rather than by
    cancellation; :attr:`_ready` wakes the consumer.
    """

    def __init__(
        self, owned: list[AsyncIterator[Any]], stage: Stage, run: Run, output: Output[Any]
    ) -> None:
        self._owned = owned
        """What the stage must close (its upstream first) if it is closed before it starts."""
        self._stage = stage
        self._run = run
        self._output: Output[Any] = output
        self._ready = Wakeup()
        self._scope = anyio.CancelScope()
        self._stopped = anyio.Event()
        self._started = False
        self._finished = False
        self._complete = False
        self._error: BaseException | None = None
        self._grace = False
        """Whether what the stage owns is closed in grace (an ordinary close, see above)."""

    async def __anext__(self) -> U:
        output = self._output
        if not output.ready:
            await self._until_ready()
        result = output.pop()
        if type(result) is Failed:
            self._raise(result.error)
        return cast(U, result)

    async def _until_ready(self) -> None:
        """Start the tasks on the first call; wait until a result is ready, or end."""
        self._start()
        while not self._output.ready:
            if self._finished or self._output is _EXHAUSTED:
                await self._end()
            await self._ready.wait()

    def _start(self) -> None:
        """Start the tasks, once."""
        if not self._started:
            self._started = True
            self._run.task_group.start_soon(
                in_task(self._run_stage), name=f"streamkit {self._stage.name}"
            )

    def _end_with(self, error: BaseException) -> None:
        """Make ``error`` what the output ends with, once no result is left: the first error
        wins (later ones are what it caused)."""
        if self._error is None:
            self._error = error
        self._ready.notify()

    async def _end(self) -> NoReturn:
        """End the output, once no result is left: failed, finished or cancelled."""
        error, self._error = self._error, None
        if error is not None:
            self._raise(error)
        if self._complete or self._output is _EXHAUSTED:
            raise StopAsyncIteration
        # The tasks were cancelled before the input ran out. If that was an outside
        # cancellation reaching this consumer too, it sees it here.
        await checkpoint()
        raise anyio.BrokenResourceError(
            f"{self._stage.name} was cancelled before its output was complete"
        )

    def _raise(self, error: BaseException) -> NoReturn:
        """Raise ``error`` to the consumer; the output is exhausted after it."""
        self._output = _EXHAUSTED
        raise escaped(error)

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
