"""Fan-out: one upstream feeding several branches through exactly bounded queues, and the
branches' outputs merged back into one stream.

A :class:`Fanout` runs, in one cancel scope inside the run's task group (started by the first
``__anext__``, as a :class:`~._pool.WorkerPool` is):

- the *pump*, which reads the upstream and appends each item to the queue of every branch
  chosen for it (all of them, or the one ``choose`` names). When a chosen queue holds
  ``buffer`` items the pump waits until that branch takes one: no queue ever holds more than
  ``buffer`` items, and the pump holds at most one item more;
- one *drain* task per branch, which iterates the branch's output (the branch's operators
  applied to its :class:`BranchInput`) and appends the results to the merged buffer, which
  holds at most ``buffer`` times the number of branches results. The consumer takes them from
  :meth:`Fanout.__anext__` in its own task.

A waiting side is woken only when what it waits for appears: a queue (or the merged buffer)
that was empty gets an item, or one that was full gives one up; so while items flow, tasks
switch once per queueful, not once per item.

Every branch is read by its own task, so a slow branch slows the pump (and with it the other
branches) but can never deadlock it. A branch that ends early (a ``take``) gets no more items;
once no branch takes items, the pump reads no more.
A failure of the upstream or of ``choose`` takes the place of the end of the input: each
branch gets every item queued before it, then the failure (as the same object), and once every
branch has ended the merged results are delivered, then the failure. A failure inside a branch
stops every task; results merged before it are delivered, then it is raised as the same object,
with a note naming the branch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic

import anyio

from .._errors import in_task
from .._types import Operator, T, U
from ._background import Background, Outbox, Wakeup
from ._closing import closing
from ._stage import Stage

if TYPE_CHECKING:
    from .._observe import StageStatistics
    from ._run import Run

Choose = Callable[[T], Awaitable[int]]
"""``choose(item)``: the index of the one branch that gets ``item``."""


class BranchInput(AsyncIterator[T]):
    """What one branch reads: a queue of at most ``bound`` items that the pump fills."""

    __slots__ = ("_fanout", "_refill_at", "closed", "filled", "peak", "queue")

    def __init__(self, fanout: Fanout[T, Any]) -> None:
        self.queue: deque[T] = deque()
        self.peak = 0
        """The most items the queue held at once; never more than the bound."""
        self.closed = False
        self.filled = Wakeup()
        self._fanout = fanout
        self._refill_at = fanout.bound - 1
        """The length a full queue has after one item is taken."""

    async def __anext__(self) -> T:
        queue = self.queue
        while not queue:
            if self.closed:
                raise StopAsyncIteration
            if self._fanout.input_ended:
                error = self._fanout.input_error
                if error is None:
                    raise StopAsyncIteration
                raise error
            await self.filled.wait()
        item = queue.popleft()
        if len(queue) == self._refill_at:  # was full: the pump may be waiting
            self._fanout.room.notify()
        return item

    async def aclose(self) -> None:
        """Take no more items (what is queued is dropped); the pump skips this branch."""
        self.close()

    def bound(self) -> int:
        """The most items the queue may hold."""
        return self._fanout.bound

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._fanout.open_branches -= 1
        self.queue.clear()
        self._fanout.room.notify()


class BranchStage(Stage):
    """A branch's input queue as a stage of the run, so ``statistics()`` shows its fill."""

    __slots__ = ("input",)

    def __init__(self, name: str, branch_input: BranchInput[Any]) -> None:
        super().__init__(name)
        self.input = branch_input

    def statistics(self, elapsed: float) -> StageStatistics:
        from .._observe import StageStatistics

        queued = len(self.input.queue)
        return StageStatistics(
            operator=self.name,
            items_in=None,
            items_out=None,
            skipped=0,
            failed=0,
            retries=0,
            concurrency=1,
            in_flight=0,
            window=self.input.bound(),
            held=queued,
            peak_held=self.input.peak,
            buffered=queued,
            busy_time=None,
            elapsed=elapsed,
        )


class Fanout(Background[U], Generic[T, U]):
    """The merged output of ``branches`` applied to the items of ``source``."""

    def __init__(
        self,
        source: AsyncIterator[T],
        branches: Sequence[Operator[T, U]],
        names: Sequence[str],
        stage: Stage,
        run: Run,
        *,
        buffer: int,
        choose: Choose[T] | None,
    ) -> None:
        self.bound = buffer
        self.input_ended = False
        self.input_error: Exception | None = None
        """What the input ended with instead of its end: a failure of the upstream or of
        ``choose``."""
        self.open_branches = len(branches)
        """Branches that still take items; the pump stops reading when none does."""
        self.room = Wakeup()
        """Notified when a branch takes an item (or closes): the pump may go on."""
        self._choose = choose
        self._names = names
        self._merged = Outbox[U](buffer * len(branches))
        self.inputs: list[BranchInput[T]] = []
        self._outputs: list[AsyncIterator[U]] = []
        for name, branch in zip(names, branches, strict=True):
            branch_input = BranchInput[T](self)
            stage.build.add(BranchStage(f"{stage.name} branch {name}", branch_input))
            self.inputs.append(branch_input)
            self._outputs.append(stage.build.operator(branch, branch_input))
        super().__init__([source, *self._outputs], stage, run, self._merged)
        self._source = source

    def _fail(self, exc: Exception) -> None:
        self._end_with(exc)
        self._scope.cancel()

    async def _run_tasks(self) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(in_task(self._pump))
            async with anyio.create_task_group() as drains:
                drain = in_task(self._drain)
                for index, output in enumerate(self._outputs):
                    drains.start_soon(drain, index, output)
            # Every branch has ended: nobody needs more input.
            tasks.cancel_scope.cancel()
        if self.input_error is not None:
            self._end_with(self.input_error)

    async def _pump(self) -> None:
        source = self._source
        inputs = self.inputs
        bound = self.bound
        choose = self._choose
        index = -1
        try:
            async with closing(source, self._close):
                async for item in source:
                    index += 1
                    if choose is None:
                        targets: Sequence[BranchInput[T]] = inputs
                    else:
                        try:
                            targets = (inputs[await choose(item)],)
                        except Exception as exc:
                            self._stage.failed(exc, index, item)
                            raise
                    for target in targets:
                        queue = target.queue
                        while len(queue) >= bound and not target.closed:
                            await self.room.wait()
                        if not target.closed:
                            queue.append(item)
                            held = len(queue)
                            if held == 1:  # was empty: the branch may be waiting
                                target.filled.notify()
                            if held > target.peak:
                                target.peak = held
                    if not self.open_branches:
                        break  # nobody takes more: read no item only to drop it
        except Exception as exc:  # of the upstream or of ``choose``: the input's end
            if self._scope.cancel_called:  # the stage is closing: nobody would see it
                raise
            self.input_error = exc
        finally:
            self.input_ended = True
            for target in inputs:
                target.filled.notify()

    async def _drain(self, index: int, output: AsyncIterator[U]) -> None:
        merged = self._merged
        try:
            async with closing(output, self._close):
                async for value in output:
                    if await merged.put(value):  # was empty: the consumer may be waiting
                        self._ready.notify()
        except Exception as exc:
            if exc is self.input_error:  # the branch ended with its input
                return
            exc.add_note(f"streamkit: raised in branch {self._names[index]} of {self._stage.name}")
            self._fail(exc)
        finally:
            # Even if the branch's own operators did not close their input.
            self.inputs[index].close()
