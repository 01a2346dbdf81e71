"""Blocking code at either end of a pipeline: ``stream(source, executor="thread")`` (a blocking
sync iterable, advanced in a worker thread) and ``Stream.open_sync()`` (sync code iterating a
pipeline that runs in a background event loop). API.md section 7, issue 13."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Literal, TypeAlias

import anyio
import pytest
from hypothesis import given

from streamkit import StreamConsumedError, map_, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, ints

Backend: TypeAlias = Literal["asyncio", "trio"]
BACKENDS: list[Backend] = ["asyncio", "trio"]


class Rows:
    """A blocking generator source that records the threads it runs in and its closing."""

    def __init__(self, n: int | None, *, delay: float = 0.0) -> None:
        self.n = n
        self.delay = delay
        self.threads: set[str] = set()
        self.closed_in: str | None = None
        self.pulled = 0

    def __iter__(self) -> Iterator[int]:
        return self.rows()

    def rows(self) -> Iterator[int]:
        try:
            i = 0
            while self.n is None or i < self.n:
                self.threads.add(threading.current_thread().name)
                if self.delay:
                    time.sleep(self.delay)
                self.pulled += 1
                yield i
                i += 1
        finally:
            self.closed_in = threading.current_thread().name


@pytest.mark.anyio
class TestThreadedSource:
    @ASYNC_SETTINGS
    @given(xs=ints)
    async def test_matches_list(self, xs: list[int]) -> None:
        with anyio.fail_after(10):
            assert await stream(xs, executor="thread").collect() == xs

    async def test_runs_in_one_thread_off_the_loop(self) -> None:
        rows = Rows(5)
        with anyio.fail_after(10):
            assert await stream(rows, executor="thread").collect() == [0, 1, 2, 3, 4]
        assert len(rows.threads) == 1
        (thread,) = rows.threads
        assert thread != threading.current_thread().name
        assert rows.closed_in == thread  # closed in the same thread

    async def test_event_loop_keeps_running_while_the_source_blocks(self) -> None:
        """The source blocks until another task of the loop has run: with a frozen loop the
        wait would time out."""
        other_task_ran = threading.Event()
        waited: list[bool] = []

        def blocking() -> Iterator[int]:
            waited.append(other_task_ran.wait(timeout=10))
            yield 1

        async def other_task() -> None:
            await anyio.sleep(0.01)
            other_task_ran.set()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(other_task)
                assert await stream(blocking(), executor="thread").collect() == [1]
        assert waited == [True]

    async def test_early_exit_closes_the_generator_in_its_thread(self) -> None:
        rows = Rows(None)
        with anyio.fail_after(10):
            assert await stream(rows, executor="thread").pipe(take(3)).collect() == [0, 1, 2]
        assert rows.closed_in in rows.threads  # before collect() returned
        assert rows.pulled == 3

    async def test_break_closes_the_generator(self) -> None:
        rows = Rows(None)
        with anyio.fail_after(10):
            async with stream(rows, executor="thread").open() as items:
                async for item in items:
                    if item == 2:
                        break
        assert rows.closed_in is not None

    async def test_error_keeps_its_identity(self) -> None:
        raised = LookupError("row 2 is corrupt")

        def rows() -> Iterator[int]:
            yield 1
            raise raised

        with anyio.fail_after(10), pytest.raises(LookupError) as caught:
            await stream(rows(), executor="thread").pipe(map_(lambda x: x)).collect()
        assert caught.value is raised

    async def test_error_of_iter_keeps_its_identity(self) -> None:
        raised = PermissionError("no access")

        class Cursor:
            def __iter__(self) -> Iterator[int]:
                raise raised

        with anyio.fail_after(10), pytest.raises(PermissionError) as caught:
            await stream(Cursor(), executor="thread").collect()
        assert caught.value is raised

    async def test_outside_cancellation_while_blocked_waits_and_closes(self) -> None:
        entered = threading.Event()
        release = threading.Event()
        closed: list[bool] = []

        def rows() -> Iterator[int]:
            try:
                entered.set()
                release.wait(timeout=10)  # blocked when the cancellation comes
                yield 1
            finally:
                closed.append(True)

        async def cancel_once_blocked(scope: anyio.CancelScope) -> None:
            await anyio.to_thread.run_sync(entered.wait, 10)
            scope.cancel()
            release.set()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                with anyio.CancelScope() as scope:
                    tg.start_soon(cancel_once_blocked, scope)
                    await stream(rows(), executor="thread").collect()
            assert scope.cancelled_caught
        assert closed == [True]  # the blocked next() returned, then close() ran

    async def test_one_shot_and_reiterable(self) -> None:
        gen = iter([1, 2])
        once = stream(gen, executor="thread")
        assert await once.collect() == [1, 2]
        with pytest.raises(StreamConsumedError):
            await once.collect()
        again = stream([1, 2], executor="thread")
        assert await again.collect() == await again.collect() == [1, 2]

    async def test_unreached_one_shot_source_is_closed(self) -> None:
        rows = Rows(3).rows()
        chained = stream.chain([7], stream(rows, executor="thread")).pipe(take(1))
        with anyio.fail_after(10):
            assert await chained.collect() == [7]
        assert rows.gi_frame is None  # closed without being started


class TestThreadedSourceOptions:
    def test_repr(self) -> None:
        assert repr(stream([1, 2], executor="thread")) == "stream(list[2], executor='thread')"

    def test_unknown_executor(self) -> None:
        with pytest.raises(ValueError, match="executor='thread'"):
            stream([1], executor="process")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
        with pytest.raises(TypeError, match="executor='thread'"):
            stream([1], executor=4)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

    def test_async_source_refused(self) -> None:
        async def agen() -> AsyncIterator[int]:
            yield 1

        with pytest.raises(TypeError, match="blocking sync iterable"):
            stream(agen(), executor="thread")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
        with pytest.raises(TypeError, match="blocking sync iterable"):
            stream(stream([1]), executor="thread")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


def portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "-portal-" in t.name]


@pytest.mark.parametrize("backend", BACKENDS)
class TestOpenSync:
    def test_items_in_order(self, backend: Backend) -> None:
        s = stream(range(50)).pipe(map_(lambda x: x * 2, concurrency=4))
        with s.open_sync(backend=backend) as items:
            assert list(items) == [x * 2 for x in range(50)]
        assert items.statistics().finished
        assert portal_threads() == []

    def test_break_stops_the_pipeline(self, backend: Backend) -> None:
        source = TrackedSource.infinite()
        with stream(source).pipe(map_(str, concurrency=3)).open_sync(backend=backend) as items:
            for item in items:
                if item == "5":
                    break
        source.assert_closed()
        assert portal_threads() == []
        with pytest.raises(anyio.ClosedResourceError):
            next(items)

    def test_error_arrives_as_itself(self, backend: Backend) -> None:
        raised = ValueError("bad item")

        def check(x: int) -> int:
            if x == 3:
                raise raised
            return x

        got: list[int] = []
        with (
            pytest.raises(ValueError) as caught,
            stream(range(10)).pipe(map_(check)).open_sync(backend=backend) as items,
        ):
            got.extend(items)
        assert caught.value is raised
        assert got == [0, 1, 2]
        assert "map_(check)" in "".join(caught.value.__notes__)
        assert portal_threads() == []

    def test_exception_in_the_block_closes_everything(self, backend: Backend) -> None:
        source = TrackedSource.infinite()
        with (
            pytest.raises(KeyError),
            stream(source).open_sync(backend=backend) as items,
        ):
            next(items)
            raise KeyError("consumer failed")
        source.assert_closed()
        assert portal_threads() == []

    def test_keyboard_interrupt_in_the_block(self, backend: Backend) -> None:
        source = TrackedSource.infinite()
        with (
            pytest.raises(KeyboardInterrupt),
            stream(source).open_sync(backend=backend) as items,
        ):
            next(items)
            raise KeyboardInterrupt
        source.assert_closed()
        assert portal_threads() == []

    def test_sigint_while_waiting_for_an_item(self, backend: Backend) -> None:
        """A real SIGINT while the consuming thread waits on a slow pipeline."""
        source = TrackedSource.infinite(delay=30.0)
        main = threading.get_ident()
        timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
        with pytest.raises(KeyboardInterrupt), stream(source).open_sync(backend=backend) as items:
            timer.start()
            next(items)  # interrupted
        timer.join()
        source.assert_closed()
        assert portal_threads() == []

    def test_stop_intake_and_statistics(self, backend: Backend) -> None:
        with stream(range(1000)).pipe(map_(str, concurrency=2)).open_sync(backend=backend) as items:
            first = next(items)
            live = items.statistics()
            items.stop_intake()
            rest = list(items)
        assert first == "0"
        assert len(rest) < 999
        assert not live.finished
        assert items.statistics().finished

    def test_threaded_source_through_open_sync(self, backend: Backend) -> None:
        rows = Rows(None)
        with stream(rows, executor="thread").open_sync(backend=backend) as items:
            assert [next(items) for _ in range(3)] == [0, 1, 2]
        assert rows.closed_in is not None


class TestOpenSyncMisuse:
    @pytest.mark.anyio
    async def test_refused_in_a_running_loop(self) -> None:
        with pytest.raises(RuntimeError, match=r"async with s\.open"), stream([1]).open_sync():
            pass  # pragma: no cover

    def test_entered_twice(self) -> None:
        opened = stream([1]).open_sync()
        with opened as items:
            assert list(items) == [1]
        with pytest.raises(RuntimeError, match="already entered"), opened:
            pass  # pragma: no cover

    def test_unknown_backend(self) -> None:
        with pytest.raises(ValueError, match="'asyncio' or 'trio'"):
            stream([1]).open_sync(backend="curio")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
