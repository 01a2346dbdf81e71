"""executor= on map_/filter_/flat_map: anyio's threads and processes, and Executor instances.

Each executor kind must give the same results as the plain function, in order, keep the
operator's concurrency bound, cancel what it can when the pipeline stops, and let an error
reach the consumer with its type and streamkit's note.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import filter_, flat_map, map_, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, ints, streamkit_notes

from ._helpers import RecordingExecutor, next_item
from ._work import WorkError, fail_on_3, is_odd, repeat, report_pid_then_sleep, square

pytestmark = pytest.mark.anyio

Where = Literal["thread", "process"] | Executor
KINDS = ["thread", "process", "thread pool", "process pool"]


@pytest.fixture(scope="module")
def thread_pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as pool:
        yield pool


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(params=KINDS)
def executor(request: pytest.FixtureRequest) -> Where:
    kind: str = request.param
    if kind == "thread":
        return "thread"
    if kind == "process":
        return "process"
    pool: Executor = request.getfixturevalue(kind.replace(" ", "_"))
    return pool


class TestResults:
    @pytest.mark.parametrize(("concurrency", "ordered"), [(1, True), (3, True), (3, False)])
    async def test_map_filter_flat_map(
        self, executor: Where, concurrency: int, ordered: bool
    ) -> None:
        xs = list(range(20))
        options: dict[str, Any] = {
            "executor": executor,
            "concurrency": concurrency,
            "ordered": ordered,
        }
        with anyio.fail_after(30):
            squares = await stream(xs).pipe(map_(square, **options)).collect()
            odd = await stream(xs).pipe(filter_(is_odd, **options)).collect()
            repeated = await stream(xs).pipe(flat_map(repeat, **options)).collect()
        expected = (
            [x * x for x in xs],
            [x for x in xs if x % 2],
            [y for x in xs for y in repeat(x)],
        )
        if ordered:
            assert (squares, odd, repeated) == expected
        else:
            assert (sorted(squares), sorted(odd), sorted(repeated)) == expected

    @ASYNC_SETTINGS
    @given(xs=ints, concurrency=st.integers(1, 6), ordered=st.booleans(), pool=st.booleans())
    async def test_threads_match_list_model(
        self, xs: list[int], concurrency: int, ordered: bool, pool: bool
    ) -> None:
        with ThreadPoolExecutor(3) as threads:
            executor: Where = threads if pool else "thread"
            operator = map_(square, executor=executor, concurrency=concurrency, ordered=ordered)
            with anyio.fail_after(10):
                out = await stream(xs).pipe(operator).collect()
        expected = [x * x for x in xs]
        assert out == expected if ordered else sorted(out) == sorted(expected)

    async def test_early_exit(self, executor: Where) -> None:
        source = TrackedSource(range(1000))
        with anyio.fail_after(30):
            out = (
                await stream(source)
                .pipe(map_(square, executor=executor, concurrency=2), take(3))
                .collect()
            )
        assert out == [0, 1, 4]
        source.assert_closed()

    def test_repr_names_the_executor(self) -> None:
        assert repr(map_(square, executor="process")) == "map_(square, executor='process')"


class TestConcurrencyBound:
    async def test_executor_never_has_more_than_concurrency_pending(self) -> None:
        with ThreadPoolExecutor(8) as threads:
            recorder = RecordingExecutor(threads)
            with anyio.fail_after(30):
                out = (
                    await stream(range(60))
                    .pipe(map_(square, executor=recorder, concurrency=3, ordered=False))
                    .collect()
                )
        assert sorted(out) == [x * x for x in range(60)]
        assert len(recorder.futures) == 60
        assert 1 <= recorder.peak_pending <= 3

    async def test_threads_never_run_more_than_concurrency_calls(self) -> None:
        lock = threading.Lock()
        running = peak = 0

        def counted(x: int) -> int:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            try:
                return square(x)
            finally:
                with lock:
                    running -= 1

        with anyio.fail_after(30):
            out = (
                await stream(range(60))
                .pipe(map_(counted, executor="thread", concurrency=3))
                .collect()
            )
        assert out == [x * x for x in range(60)]
        assert 1 <= peak <= 3


class TestCancellation:
    async def test_pending_futures_are_cancelled(self) -> None:
        """One worker thread: the first call runs (blocked), the next two wait in the
        executor's queue. Stopping the pipeline cancels those two; the running one goes on."""
        release = threading.Event()
        source = TrackedSource(range(100))

        def blocked(x: int) -> int:
            release.wait(30)
            return x

        with ThreadPoolExecutor(1) as thread:
            recorder = RecordingExecutor(thread, expect=3)
            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:

                    async def consume() -> None:
                        await (
                            stream(source)
                            .pipe(map_(blocked, executor=recorder, concurrency=3))
                            .drain()
                        )

                    tg.start_soon(consume)
                    await recorder.submitted_all.wait()
                    tg.cancel_scope.cancel()
            first, *queued = recorder.futures
            assert len(queued) == 2
            assert all(future.cancelled() for future in queued)
            assert not first.cancelled()
            assert not first.done()  # still running: a thread cannot be stopped
            release.set()
            assert first.result(30) == 0
        source.assert_closed()

    async def test_cancelling_thread_call_is_prompt(self) -> None:
        """executor="thread" stops waiting at once; the call itself runs to its end."""
        release = threading.Event()
        started = threading.Event()
        finished = threading.Event()

        def blocked(x: int) -> int:
            started.set()
            release.wait(30)
            finished.set()
            return x

        with anyio.fail_after(30):
            async with (
                stream([1]).pipe(map_(blocked, executor="thread")).open() as items,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(next_item, items)
                await anyio.to_thread.run_sync(started.wait)
                tg.cancel_scope.cancel()
        assert not finished.is_set()
        release.set()
        await anyio.to_thread.run_sync(finished.wait, 30)

    async def test_cancelling_process_call_kills_the_worker(self, tmp_path: Path) -> None:
        fifo = tmp_path / "pid"
        os.mkfifo(fifo)
        operator = map_(report_pid_then_sleep, executor="process")
        with anyio.fail_after(30):
            async with (
                stream([str(fifo)]).pipe(operator).open() as items,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(next_item, items)
                pid = int(await anyio.to_thread.run_sync(fifo.read_text, abandon_on_cancel=True))
                tg.cancel_scope.cancel()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


class TestErrors:
    async def test_same_type_with_note(self, executor: Where) -> None:
        with anyio.fail_after(30), pytest.raises(WorkError) as caught:
            await (
                stream(range(10)).pipe(map_(fail_on_3, executor=executor, concurrency=2)).collect()
            )
        assert caught.value.args == ("no threes", 3)
        (note,) = streamkit_notes(caught.value)
        assert "map_(fail_on_3, concurrency=2, executor=" in note
        assert "on item 3: 3" in note

    @pytest.mark.parametrize("kind", ["thread", "thread pool"])
    async def test_same_object_in_threads(self, kind: str, thread_pool: ThreadPoolExecutor) -> None:
        raised: list[Exception] = []

        def fail(x: int) -> int:
            raised.append(exc := ValueError(x))
            raise exc

        executor: Where = thread_pool if kind == "thread pool" else "thread"
        with anyio.fail_after(30), pytest.raises(ValueError) as caught:
            await stream([7]).pipe(map_(fail, executor=executor)).collect()
        assert caught.value is raised[0]
        assert streamkit_notes(caught.value)

    async def test_function_returning_awaitable_is_an_error(self) -> None:
        async def double(x: int) -> int:
            return 2 * x

        with anyio.fail_after(30), pytest.raises(TypeError, match=r"awaitable|asynchronous"):
            await stream([1]).pipe(map_(lambda x: double(x), executor="thread")).collect()


class TestBadOptions:
    @pytest.mark.parametrize("operator", [map_, filter_, flat_map])
    def test_bad_options(self, operator: Callable[..., Any]) -> None:
        async def async_fn(x: int) -> int:
            return x

        class AsyncCallable:
            async def __call__(self, x: int) -> int:
                return x

        with pytest.raises(ValueError, match=r"'thread', 'process' or a concurrent\.futures"):
            operator(square, executor="threads")
        with pytest.raises(TypeError, match=r"'thread', 'process' or a concurrent\.futures"):
            operator(square, executor=ThreadPoolExecutor)
        with pytest.raises(TypeError, match="async_fn is async"):
            operator(async_fn, executor="thread")
        with pytest.raises(TypeError, match="is async"):
            operator(AsyncCallable(), executor="process")
        with pytest.raises(ValueError, match="concurrency must be an int >= 1"):
            operator(square, executor="thread", concurrency=0)
