"""``chunksize=`` with ``executor=`` on map_/filter_/flat_map: one task per chunk, every policy
per item (order, on_error, Failures, Retry, timeout, statistics), pending chunks cancelled.

Thread and process pools here; dask in test_dask.py, Ray in test_ray.py.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import Failures, Retry, filter_, flat_map, map_, stream, take
from streamkit._runtime._chunks import AUTO_MAX, Sizer
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, streamkit_notes

from ._helpers import RecordingExecutor, next_item
from ._work import (
    WorkError,
    fail_on_multiples_of_7,
    is_odd,
    make_lock,
    repeat,
    sleep_if_negative,
    square,
    wait_for_file,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as pool:
        yield pool


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(params=["thread pool", "process pool"])
def pool(request: pytest.FixtureRequest) -> Executor:
    name = "threads" if request.param == "thread pool" else "processes"
    executor: Executor = request.getfixturevalue(name)
    return executor


class TestResults:
    @pytest.mark.parametrize("chunksize", [1, 3, 16, "auto"])
    @pytest.mark.parametrize("ordered", [True, False])
    async def test_map_filter_flat_map(
        self, pool: Executor, chunksize: int | str, ordered: bool
    ) -> None:
        xs = list(range(50))
        recorder = RecordingExecutor(pool)
        options: dict[str, Any] = {
            "executor": recorder,
            "chunksize": chunksize,
            "concurrency": 2,
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
        got = (squares, odd, repeated)
        assert got == expected if ordered else tuple(map(sorted, got)) == expected
        if isinstance(chunksize, int):  # three runs of ceil(50 / chunksize) tasks
            assert len(recorder.futures) == 3 * -(-50 // chunksize)
        assert 1 <= recorder.peak_pending <= 2

    @ASYNC_SETTINGS
    @given(
        xs=st.lists(st.integers(-50, 50), max_size=60),
        chunksize=st.integers(1, 9),
        concurrency=st.integers(1, 4),
        ordered=st.booleans(),
    )
    async def test_skip_matches_list_model(
        self, xs: list[int], chunksize: int, concurrency: int, ordered: bool
    ) -> None:
        """Failing items inside chunks are dropped one by one; nothing else is lost or
        duplicated, and the statistics count items."""
        with ThreadPoolExecutor(2) as threads:
            operator = map_(
                fail_on_multiples_of_7,
                executor=threads,
                chunksize=chunksize,
                concurrency=concurrency,
                ordered=ordered,
                on_error="skip",
            )
            with anyio.fail_after(10):
                async with stream(xs).pipe(operator).open() as items:
                    out = [x async for x in items]
        expected = [x for x in xs if x % 7]
        assert out == expected if ordered else sorted(out) == sorted(expected)
        (stage,) = items.statistics().stages
        failed = len(xs) - len(expected)
        assert (stage.items_in, stage.items_out) == (len(xs), len(expected))
        assert (stage.skipped, stage.failed) == (failed, failed)


class TestErrors:
    async def test_raise_keeps_type_and_delivers_items_before_it(self, pool: Executor) -> None:
        received: list[int] = []
        with anyio.fail_after(30), pytest.raises(WorkError) as caught:
            async with (
                stream(range(1, 30))
                .pipe(map_(fail_on_multiples_of_7, executor=pool, chunksize=4))
                .open() as items
            ):
                async for x in items:
                    received.append(x)
        assert received == [1, 2, 3, 4, 5, 6]  # item 7 (index 6) is in the chunk 4..7
        assert caught.value.args == ("a multiple of 7", 7)
        worker, operator = streamkit_notes(caught.value)
        assert "in the task for items 4 to 7" in worker
        assert "raised on host" in worker
        assert "on item 6: 7" in operator

    async def test_failures_records_each_item(self, pool: Executor) -> None:
        failures = Failures()
        operator = map_(fail_on_multiples_of_7, executor=pool, chunksize=5, on_error=failures)
        with anyio.fail_after(30):
            out = await stream(range(30)).pipe(operator).collect()
        assert out == [x for x in range(30) if x % 7]
        assert [failure.item for failure in failures] == [0, 7, 14, 21, 28]
        assert all(isinstance(failure.error, WorkError) for failure in failures)

    async def test_same_object_in_threads(self, threads: ThreadPoolExecutor) -> None:
        raised: list[BaseException] = []

        def fail(x: int) -> int:
            error = ValueError(x)
            raised.append(error)
            raise error

        with anyio.fail_after(30), pytest.raises(ValueError) as caught:
            await stream([1, 2]).pipe(map_(fail, executor=threads, chunksize=2)).collect()
        assert caught.value is raised[0]

    async def test_retry_sends_the_failed_item_alone(self, threads: ThreadPoolExecutor) -> None:
        lock = threading.Lock()
        calls: dict[int, int] = {}

        def flaky(x: int) -> int:
            with lock:
                calls[x] = calls.get(x, 0) + 1
                attempt = calls[x]
            if x in (3, 8) and attempt < 3:
                raise ConnectionError(x)
            return x

        recorder = RecordingExecutor(threads)
        operator = map_(
            flaky,
            executor=recorder,
            chunksize=5,
            retry=Retry(on=ConnectionError, attempts=3, backoff=0),
        )
        with anyio.fail_after(30):
            async with stream(range(10)).pipe(operator).open() as items:
                out = [x async for x in items]
        assert out == list(range(10))
        assert calls == {x: 3 if x in (3, 8) else 1 for x in range(10)}
        assert len(recorder.futures) == 2 + 4  # two chunks, then two retries of each item
        assert items.statistics().stages[0].retries == 4

    async def test_timeout_is_per_item(self, threads: ThreadPoolExecutor) -> None:
        failures = Failures()
        slow = -0.2
        operator = map_(
            sleep_if_negative,
            executor=threads,
            chunksize=4,
            timeout=0.05,
            on_error=failures,
        )
        with anyio.fail_after(30):
            out = await stream([1.0, slow, 2.0, 3.0]).pipe(operator).collect()
        assert out == [1.0, 2.0, 3.0]
        (failure,) = failures
        assert failure.item is slow
        assert isinstance(failure.error, TimeoutError)

    async def test_a_failed_task_fails_each_of_its_items(self) -> None:
        """A task that fails as a whole (here its result does not pickle) fails each item."""
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            failures = Failures()
            operator = map_(make_lock, executor=pool, chunksize=3, on_error=failures)
            with anyio.fail_after(30):
                out = await stream([(), (), ()]).pipe(operator).collect()
        assert out == []
        assert len(failures) == 3
        assert "failed as a whole" in streamkit_notes(next(iter(failures)).error)[0]


class TestCancellation:
    async def test_early_exit_cancels_pending_chunks(
        self, threads: ThreadPoolExecutor, tmp_path: Path
    ) -> None:
        gate = tmp_path / "open"
        with ThreadPoolExecutor(1) as one:
            recorder = RecordingExecutor(one, expect=3)
            operator = map_(wait_for_file, executor=recorder, chunksize=2, concurrency=3)
            source = TrackedSource([str(gate)] * 100)
            with anyio.fail_after(30):
                async with (
                    stream(source).pipe(operator).open() as items,
                    anyio.create_task_group() as tg,
                ):
                    tg.start_soon(next_item, items)
                    await recorder.submitted_all.wait()
                    tg.cancel_scope.cancel()
            gate.touch()  # the running chunk ends; the other two never start
        assert [future.cancelled() for future in recorder.futures] == [False, True, True]
        source.assert_closed()

    async def test_take_stops_the_stage(self, pool: Executor) -> None:
        source = TrackedSource(range(10_000))
        with anyio.fail_after(30):
            out = await (
                stream(source)
                .pipe(map_(square, executor=pool, chunksize=8, concurrency=2), take(5))
                .collect()
            )
        assert out == [0, 1, 4, 9, 16]
        source.assert_closed()
        assert source.pulled <= 8 * (2 * 2 + 1)  # the window (2 * concurrency chunks), and one


class TestOptions:
    @pytest.mark.parametrize(
        ("chunksize", "error"),
        [
            (0, ValueError),
            (-1, ValueError),
            ("big", TypeError),
            (True, TypeError),
            (2.0, TypeError),
        ],
    )
    def test_bad_chunksize(self, chunksize: object, error: type[Exception]) -> None:
        with pytest.raises(error, match="chunksize must be an int >= 1 or 'auto'"):
            map_(square, executor="thread", chunksize=chunksize)  # type: ignore[arg-type]

    def test_chunksize_needs_an_executor(self) -> None:
        with pytest.raises(ValueError, match="give executor= too"):
            map_(square, chunksize=8)

    def test_async_function_is_refused(self) -> None:
        async def double(x: int) -> int:
            return 2 * x

        with pytest.raises(TypeError, match="is async"):
            map_(double, executor="thread", chunksize=8)

    def test_repr(self) -> None:
        assert (
            repr(filter_(is_odd, executor="process", chunksize="auto"))
            == "filter_(is_odd, executor='process', chunksize='auto')"
        )


class TestAutoSize:
    """chunksize="auto" is pure arithmetic over what chunks measured (no event loop)."""

    def test_doubles_until_measured(self) -> None:
        sizer = Sizer("auto")
        assert [sizer.next() for _ in range(4)] == [1, 2, 4, 8]

    def test_sized_so_overhead_is_five_percent(self) -> None:
        sizer = Sizer("auto")
        sizer.next()
        # 1 ms per item, 5 ms of overhead: 100 items make the overhead 5% of the work; it
        # grows at most twofold per chunk back.
        sizer.observe(64, round_trip=0.064 + 0.005, worker=0.064)
        assert sizer.next() == 100
        sizer.observe(100, round_trip=0.1 + 0.05, worker=0.1)  # overhead 10x larger
        assert sizer.next() == 200
        sizer.observe(200, round_trip=0.2 + 0.001, worker=0.2)  # shrinks at once
        assert sizer.next() == 20

    @given(
        items=st.integers(1, 5000),
        round_trip=st.floats(0, 10),
        worker=st.floats(0, 10),
    )
    def test_always_within_bounds(self, items: int, round_trip: float, worker: float) -> None:
        sizer = Sizer("auto")
        sizer.observe(items, round_trip, worker)
        assert 1 <= sizer.next() <= AUTO_MAX

    def test_fixed_ignores_measurements(self) -> None:
        sizer = Sizer(7)
        sizer.observe(7, 10.0, 0.0)
        assert [sizer.next(), sizer.next()] == [7, 7]
