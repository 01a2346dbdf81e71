"""The worker pool: workers start one per input pulled; a long synchronous result yields to the
event loop on a fixed cadence (so it stays cancellable and fair) and the window still bounds
what is buffered; and the Wakeup signal the pool and fan-out wait on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
import pytest
from anyio.lowlevel import checkpoint

from streamkit import map_, stream
from streamkit._operator import StreamOperator
from streamkit._runtime._background import Wakeup
from streamkit._runtime._pool import PUT_CHECKPOINT_EVERY, start_pool
from streamkit._runtime._stage import Stage

pytestmark = pytest.mark.anyio

N = 8 * PUT_CHECKPOINT_EVERY


class Counted:
    """A synchronous iterable of ``N`` numbers that counts how many it has produced."""

    def __init__(self) -> None:
        self.produced = 0

    def __iter__(self) -> Iterator[int]:
        for number in range(N):
            self.produced += 1
            yield number


def expand_to(numbers: Counted) -> StreamOperator[int, int]:
    """Each input becomes ``numbers``, returned as is, so the pool iterates it synchronously;
    the window is large enough that no put ever waits for room."""

    async def job(item: int, index: int) -> Counted:
        return numbers

    def apply(source: AsyncIterator[int], stage: Stage) -> AsyncIterator[int]:
        return start_pool(source, job, stage, concurrency=2, ordered=False, window=2 * N)

    return StreamOperator(apply)


class TestWorkers:
    @pytest.mark.parametrize("inputs", [1, 3, 200])
    async def test_the_first_call_does_not_wait_for_every_worker(self, inputs: int) -> None:
        """concurrency=64: when the first call starts, the stage runs its own task, the worker
        making that call and at most the next worker, not 64; later calls run concurrently."""
        tasks_at_call: dict[int, int] = {}
        before = 0

        async def record(x: int) -> int:
            tasks_at_call[x] = len(anyio.get_running_tasks()) - before
            await checkpoint()
            return x

        with anyio.fail_after(10):
            before = len(anyio.get_running_tasks())
            out = await stream(range(inputs)).pipe(map_(record, concurrency=64)).collect()
        assert out == list(range(inputs))
        assert tasks_at_call[0] <= 3
        assert max(tasks_at_call.values()) <= 1 + min(inputs + 1, 64)


class TestSynchronousResults:
    async def test_consumer_runs_before_a_long_result_is_all_put(self) -> None:
        numbers = Counted()
        with anyio.fail_after(10):
            async with stream([0]).pipe(expand_to(numbers)).open() as items:
                assert await anext(items) == 0
                produced_at_first = numbers.produced
                rest = [x async for x in items]
        assert produced_at_first < N
        assert rest == list(range(1, N))

    async def test_long_result_is_cancellable(self) -> None:
        numbers = Counted()
        got: list[int] = []
        with anyio.fail_after(10), anyio.CancelScope() as outer:
            async with anyio.create_task_group() as tasks:

                async def cancel_once_the_pool_runs() -> None:
                    while not numbers.produced:
                        await checkpoint()
                    outer.cancel()

                tasks.start_soon(cancel_once_the_pool_runs)
                async with stream([0]).pipe(expand_to(numbers)).open() as items:
                    async for x in items:
                        got.append(x)
        assert outer.cancelled_caught
        assert numbers.produced < N
        assert got == list(range(len(got)))


class TestWakeup:
    async def test_each_notify_wakes_the_waiters_of_that_round_only(self) -> None:
        """Round after round (fresh events made from the first one's class), a notify wakes
        every task waiting then, and a notify with nobody waiting is not remembered."""
        wakeup = Wakeup()
        woken: list[tuple[str, int]] = []

        async def waiter(name: str) -> None:
            for round_ in range(3):
                await wakeup.wait()
                woken.append((name, round_))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(waiter, "a")
                tasks.start_soon(waiter, "b")
                for round_ in range(3):
                    await anyio.wait_all_tasks_blocked()
                    wakeup.notify()
                    wakeup.notify()  # nobody waits any more: no effect on the next round
                    await anyio.wait_all_tasks_blocked()
                    assert sorted(woken[2 * round_ :]) == [("a", round_), ("b", round_)]
        assert len(woken) == 6
