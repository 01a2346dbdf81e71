"""What the stages that run tasks of their own share (a worker pool, ``switch_map``'s switch,
a fan-out): a reusable wake-up signal, and one life cycle.

The tasks start on the first ``__anext__``, in one cancel scope inside the run's task group,
and the consumer drains their results from ``__anext__`` in its own task (never a generator
yielding from inside the task group: PEP 789). ``aclose`` cancels the tasks and waits, shielded,
until they have ended; a stage closed before it started closes what it owns at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic

import anyio

from .._types import U
from ._chain import aclose_all

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


class Background(AsyncIterator[U], Generic[U]):
    """The output of a stage whose work runs in tasks; subclasses define :meth:`_run_tasks`.

    :attr:`_finished` says the tasks have ended; :attr:`_complete` that they ended by
    themselves rather than by cancellation (a cancelled stage must never end as if normally);
    :attr:`_ready` wakes the consumer.
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

    def _start(self) -> None:
        """Start the tasks, once."""
        if not self._started:
            self._started = True
            self._run.task_group.start_soon(self._run_stage, name=f"streamkit {self._stage.name}")

    async def aclose(self) -> None:
        """Stop the tasks (cancelling what they do) and close the upstream."""
        if not self._started:
            self._started = self._finished = self._complete = True
            self._stopped.set()
            await aclose_all(self._owned)
            return
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
