"""The worker pool: how a concurrent stage runs ``concurrency`` calls at once, in bounded memory.

Workers are tasks of the run's task group (inside one per-stage task group and cancel scope).
Each worker pulls the next input itself, one at a time, so no task sits between the upstream
and the workers. A worker that has pulled an input starts the next worker (up to
``concurrency``) before calling the job: the first call does not wait for ``concurrency``
tasks to be scheduled, and a short input starts no more workers than it has inputs, plus one.
Results go into a :class:`~._reorder.ReorderBuffer`, which the consumer drains from
:meth:`WorkerPool.__anext__` in whatever task iterates the stage. A consumer that wakes takes
every ready result without another task switch, so handoffs are paid per wake, not per item.

Bounds: at most ``concurrency`` calls run; at most ``window`` inputs are held (pulled but not
yet emitted). The job applies the operator's error policy itself, so an exception that reaches
the pool is final: it is stored in order like a result, no new input is pulled, and it is
raised to the consumer when its turn comes, with a note counting any other calls that failed
before the stage stopped. An error of the upstream takes the place of its end: no input is
pulled after it, the calls already started finish, their results are delivered, and then it
is raised (:meth:`~._background.Background._end`), ordered or not.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from time import perf_counter
from typing import TYPE_CHECKING, Generic, cast

import anyio
from anyio.abc import TaskGroup
from anyio.lowlevel import checkpoint

from .._errors import in_task
from .._types import T, U
from ._background import Background, Baton, Failed, Wakeup
from ._closing import closing
from ._reorder import ReorderBuffer

if TYPE_CHECKING:
    from ._run import Run
    from ._stage import Stage

PUT_CHECKPOINT_EVERY = 256
"""A worker putting the results of a synchronous iterable checkpoints after this many (as a
synchronous source does), so a long one stays cancellable and lets other tasks run even when the
window is large enough never to make it wait."""

Job = Callable[[T, int], Awaitable[Iterable[U] | AsyncIterable[U]]]
"""Turns one input and its index into its results (one for map, zero or one for filter, many
for flat_map)."""


class WorkerPool(Background[U], Generic[T, U]):
    """The output of a concurrent stage; iterating it starts the workers."""

    def __init__(
        self,
        source: AsyncIterator[T],
        job: Job[T, U],
        stage: Stage,
        run: Run,
        *,
        concurrency: int,
        ordered: bool,
        window: int,
        limiter: anyio.CapacityLimiter | None = None,
    ) -> None:
        self.buffer = ReorderBuffer[U | Failed](ordered=ordered, window=window)
        """The results: a call's final exception is stored in its turn, as a :class:`Failed`."""
        super().__init__([source], stage, run, self.buffer)
        self._source = source
        self._workers = concurrency
        self.limiter = limiter
        """With a limiter, ``concurrency`` workers are started and each call holds a token."""
        self.in_flight = 0
        self.peak_held = 0
        self.emitted = 0
        self.busy_time = 0.0
        self._job = job
        self._pulling = False
        self._unstarted = 0
        """Workers not started yet: each pull starts one more until there are ``concurrency``."""
        self._pulled = Baton()
        self._room = Wakeup()
        self._no_more_input = False
        self._failures: list[tuple[int, BaseException]] = []
        """Failed calls (index, exception): bounded, as no input starts after the first."""
        self._raised: BaseException | None = None
        """The first failure raised to the consumer."""
        self._worker = in_task(self._work)
        stage.pool = self

    @property
    def concurrency(self) -> int:
        """The limit in force: the limiter's tokens (at most the workers), else the workers."""
        if self.limiter is None:
            return self._workers
        return int(min(self.limiter.total_tokens, self._workers))

    async def __anext__(self) -> U:  # Background's, with the room made and the count kept
        output = self._output
        if not output.ready:
            await self._until_ready()
        result = output.pop()
        self._room.notify()
        if type(result) is Failed:
            self._raised = self._raised or result.error
            self._raise(result.error)
        self.emitted += 1
        return cast(U, result)

    async def aclose(self) -> None:
        """Stop the workers (cancelling calls in flight) and close the upstream."""
        await super().aclose()
        self._note_other_failures()

    def _note_other_failures(self) -> None:
        """Say on the failure raised how many other calls failed before the stage stopped.

        Only one failure is raised (the first in order, or the first to complete when
        unordered), as itself; the others ran concurrently with it and are not lost silently.
        """
        raised, self._raised = self._raised, None  # once, even if closed again
        others = sorted(
            ((index, exc) for index, exc in self._failures if exc is not raised),
            key=lambda failure: failure[0],
        )
        if raised is None or not others:
            return
        shown = ", ".join(f"item {index} ({type(exc).__name__})" for index, exc in others[:5])
        more = ", ..." if len(others) > 5 else ""
        calls = "call" if len(others) == 1 else "calls"
        raised.add_note(
            f"streamkit: {len(others)} other {calls} of {self._stage.name} failed too before "
            f"it stopped: {shown}{more}"
        )

    async def _run_tasks(self) -> None:
        async with closing(self._source, self._close), anyio.create_task_group() as workers:
            self._unstarted = self._workers - 1
            workers.start_soon(self._worker, workers)

    async def _work(self, workers: TaskGroup) -> None:
        buffer = self.buffer
        while True:
            # One worker at a time pulls (an async iterator cannot be advanced concurrently):
            # a flag, and the baton wakes one waiting worker when the pull is done.
            while self._pulling or not (buffer.has_room or self._no_more_input):
                await (self._pulled if self._pulling else self._room).wait()
            if self._no_more_input:
                return
            self._pulling = True
            try:
                item = await self._source.__anext__()
            except StopAsyncIteration:
                self._no_more_input = True
                return
            except Exception as exc:  # raised after the results before it (see above)
                if self._scope.cancel_called:  # the stage is closing: nobody would see it
                    raise
                self._end_with(exc)
                self._no_more_input = True
                return
            finally:
                self._pulling = False
                if self._no_more_input:  # no more turns: every waiting worker ends
                    self._pulled.release_all()
                else:
                    self._pulled.pass_on()
            if self._unstarted:  # the next worker pulls while this one calls the job
                self._unstarted -= 1
                workers.start_soon(self._worker, workers)
            index = buffer.start()
            self.peak_held = max(self.peak_held, buffer.held)
            if self.limiter is not None:
                await self.limiter.acquire()
            self.in_flight += 1
            started = perf_counter()
            try:
                await self._process(item, index)
            finally:
                self.in_flight -= 1
                self.busy_time += perf_counter() - started
                if self.limiter is not None:
                    self.limiter.release()
            # Only a call that completed finishes its input: a cancelled one leaves its slot
            # open, so ordered output stops there instead of skipping the item.
            buffer.finish(index)
            # Finishing may release inputs with no result (filtered out, skipped), which makes
            # room as a pop does.
            self._room.notify()
            if buffer.ready:
                self._ready.notify()

    async def _process(self, item: T, index: int) -> None:
        buffer = self.buffer
        ready = self._ready
        try:
            produced = await self._job(item, index)
            # Per result, the common case costs no await: a put that fits needs no wait, and
            # the consumer is woken only when the buffer turns ready.
            if isinstance(produced, AsyncIterable):
                iterator = aiter(produced)
                try:
                    async for value in iterator:
                        if not buffer.may_put(index):
                            await self._until_room(index)
                        if buffer.put(index, value):
                            ready.notify()
                finally:
                    await self._close(iterator)
            else:
                countdown = PUT_CHECKPOINT_EVERY
                for value in produced:
                    if not buffer.may_put(index):
                        await self._until_room(index)
                    if buffer.put(index, value):
                        ready.notify()
                    countdown -= 1
                    if not countdown:
                        countdown = PUT_CHECKPOINT_EVERY
                        await checkpoint()
        except Exception as exc:
            self._no_more_input = True
            self._room.notify()
            self._pulled.release_all()
            self._failures.append((index, exc))
            if buffer.put(index, Failed(exc)):
                ready.notify()

    async def _until_room(self, index: int) -> None:
        buffer = self.buffer
        while not buffer.may_put(index):
            await self._room.wait()


def start_pool(
    source: AsyncIterator[T],
    job: Job[T, U],
    stage: Stage,
    *,
    concurrency: int,
    ordered: bool,
    window: int,
    limiter: anyio.CapacityLimiter | None = None,
) -> WorkerPool[T, U]:
    """A worker pool in the current run's task group; an error outside of any pipeline."""
    return WorkerPool(
        source,
        job,
        stage,
        stage.build.require_run(stage),
        concurrency=concurrency,
        ordered=ordered,
        window=window,
        limiter=limiter,
    )
