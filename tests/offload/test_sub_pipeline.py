"""offload(sub_pipeline, executor=...): a whole sub-pipeline run on workers, one event loop per
chunk; outputs in order, errors with their type and a note naming the worker, statistics
merged, the pickling check before any work is sent, pending chunks cancelled.

Thread and process pools here; dask in test_dask.py, Ray in test_ray.py.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from streamkit import batch, filter_, map_, offload, pipe, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import streamkit_notes

from ._helpers import RecordingExecutor, next_item
from ._work import (
    WorkError,
    add_one_slowly,
    event_loop_name,
    fail_on_multiples_of_7,
    is_odd,
    square,
    wait_for_file,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module")
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(params=["thread pool", "process pool"])
def pool(request: pytest.FixtureRequest) -> Executor:
    name = "threads" if request.param == "thread pool" else "processes"
    executor: Executor = request.getfixturevalue(name)
    return executor


SUB = pipe(map_(add_one_slowly, concurrency=8), filter_(is_odd), map_(square))


class TestResults:
    @pytest.mark.parametrize("chunksize", [1, 7, "auto"])
    async def test_in_order(self, pool: Executor, chunksize: int | str) -> None:
        recorder = RecordingExecutor(pool)
        operator = offload(SUB, executor=recorder, chunksize=chunksize, concurrency=3)
        with anyio.fail_after(30):
            out = await stream(range(60)).pipe(operator).collect()
        assert out == [(x + 1) ** 2 for x in range(60) if (x + 1) % 2]
        if chunksize == 7:
            assert len(recorder.futures) == 9
        assert 1 <= recorder.peak_pending <= 3

    async def test_unordered(self, pool: Executor) -> None:
        operator = offload(SUB, executor=pool, chunksize=5, ordered=False)
        with anyio.fail_after(30):
            out = await stream(range(40)).pipe(operator).collect()
        assert sorted(out) == [(x + 1) ** 2 for x in range(40) if (x + 1) % 2]

    async def test_lambdas_and_stateful_operators_travel(self, pool: Executor) -> None:
        """With cloudpickle, lambdas go too; batch/flatten run per chunk."""
        sub = pipe(map_(lambda x: x * 10), batch(3), map_(sum), map_(int))
        with anyio.fail_after(30):
            out = await stream(range(10)).pipe(offload(sub, executor=pool, chunksize=5)).collect()
        # chunks [0..4], [5..9]: batches of 3 within each chunk
        assert out == [30, 70, 180, 170]

    @pytest.mark.parametrize("backend", ["asyncio", "trio"])
    async def test_worker_backend(self, threads: ThreadPoolExecutor, backend: str) -> None:
        operator = offload(pipe(map_(event_loop_name)), executor=threads, backend=backend)  # type: ignore[arg-type]
        with anyio.fail_after(30):
            assert await stream([1, 2]).pipe(operator).collect() == [backend] * 2

    async def test_worker_backend_defaults_to_the_callers(
        self, threads: ThreadPoolExecutor, anyio_backend_name: str
    ) -> None:
        operator = offload(pipe(map_(event_loop_name)), executor=threads)
        with anyio.fail_after(30):
            assert await stream([1]).pipe(operator).collect() == [anyio_backend_name]

    async def test_process_executor(self) -> None:
        operator = offload(SUB, executor="process", chunksize=10, concurrency=2)
        with anyio.fail_after(60):
            out = await stream(range(20)).pipe(operator).collect()
        assert out == [(x + 1) ** 2 for x in range(20) if (x + 1) % 2]


class TestStatistics:
    async def test_sub_pipeline_stages_are_summed_over_chunks(self, pool: Executor) -> None:
        operator = offload(SUB, executor=pool, chunksize=8, concurrency=2)
        with anyio.fail_after(30):
            async with stream(range(50)).pipe(operator, take(1000)).open() as items:
                out = [x async for x in items]
        stages = items.statistics().stages
        names = [stage.operator for stage in stages]
        assert names[1:4] == [
            "map_(add_one_slowly, concurrency=8) (offloaded)",
            "filter_(is_odd) (offloaded)",
            "map_(square) (offloaded)",
        ]
        assert names[0].startswith("offload(pipe(map_(add_one_slowly")
        assert names[4] == "take(1000)"
        offloaded, added, kept, squared = stages[:4]
        assert (offloaded.items_in, offloaded.items_out) == (50, len(out))
        assert (added.items_in, added.items_out) == (50, 50)
        assert (kept.items_in, kept.items_out) == (50, len(out))
        assert (squared.items_in, squared.items_out) == (len(out), len(out))
        assert added.concurrency == 8 * 2  # the sub-pipeline's, times the chunks at once
        assert added.busy_time is not None
        assert added.busy_time > 0

    async def test_skipped_items_in_workers_are_counted(self, pool: Executor) -> None:
        sub = pipe(map_(fail_on_multiples_of_7, on_error="skip"))
        with anyio.fail_after(30):
            async with (
                stream(range(30)).pipe(offload(sub, executor=pool, chunksize=4)).open() as items
            ):
                out = [x async for x in items]
        assert out == [x for x in range(30) if x % 7]
        remote = items.statistics().stages[1]
        assert (remote.items_in, remote.skipped, remote.failed) == (30, 5, 5)


class TestErrors:
    async def test_error_keeps_its_type_and_names_the_worker(self, pool: Executor) -> None:
        sub = pipe(map_(fail_on_multiples_of_7))
        received: list[int] = []
        with anyio.fail_after(30), pytest.raises(WorkError) as caught:
            async with (
                stream(range(1, 30)).pipe(offload(sub, executor=pool, chunksize=4)).open() as items
            ):
                async for x in items:
                    received.append(x)
        assert received == [1, 2, 3, 4, 5, 6]  # the chunk 4..7's outputs before the error too
        assert caught.value.args == ("a multiple of 7", 7)
        inner, outer = streamkit_notes(caught.value)[:2]  # then maybe: other chunks failed
        assert "map_(fail_on_multiples_of_7) on item 2: 7" in inner  # counted in the chunk
        assert "raised in the sub-pipeline of offload(" in outer
        assert "on host " in outer
        assert "in the chunk of items 4 to 7" in outer

    async def test_unpicklable_sub_pipeline_fails_before_any_work(
        self, threads: ThreadPoolExecutor
    ) -> None:
        recorder = RecordingExecutor(threads)
        lock = threading.Lock()
        with pytest.raises(TypeError, match="offload\\(\\) sends its sub-pipeline") as caught:
            offload(pipe(map_(partial(holds, lock))), executor=recorder)
        assert caught.value.__cause__ is not None
        assert recorder.futures == []

    @pytest.mark.parametrize("executor", ["thread", "thread pool"])
    async def test_threads_pickle_nothing(self, threads: ThreadPoolExecutor, executor: str) -> None:
        """In worker threads the sub-pipeline is used as it is: a lock in it is fine, and an
        error arrives as the object raised."""
        raised: list[BaseException] = []

        def fail(lock: object, x: int) -> int:
            raised.append(error := ValueError(x))
            raise error

        where: Any = threads if executor == "thread pool" else "thread"
        operator = offload(pipe(map_(partial(fail, threading.Lock()))), executor=where)
        with anyio.fail_after(30), pytest.raises(ValueError) as caught:
            await stream([1]).pipe(operator).collect()
        assert caught.value is raised[0]

    @pytest.mark.parametrize(
        ("options", "error", "match"),
        [
            ({"chunksize": 0}, ValueError, "chunksize must be"),
            ({"concurrency": 0}, ValueError, "concurrency must be"),
            ({"backend": "curio"}, ValueError, "backend must be"),
            ({"ordered": 1}, TypeError, "ordered must be"),
            ({"executor": "cluster"}, ValueError, "executor must be"),
        ],
    )
    def test_bad_options(self, options: dict[str, Any], error: type[Exception], match: str) -> None:
        given: dict[str, Any] = {"executor": "thread", **options}
        with pytest.raises(error, match=match):
            offload(SUB, **given)

    def test_not_an_operator(self) -> None:
        with pytest.raises(TypeError, match="call it"):
            offload(take, executor="thread")  # type: ignore[arg-type]


def holds(lock: object, x: int) -> int:
    return x


class TestCancellation:
    async def test_early_exit_cancels_pending_chunks(self, tmp_path: Path) -> None:
        gate = tmp_path / "open"
        with ThreadPoolExecutor(1) as one:
            recorder = RecordingExecutor(one, expect=3)
            operator = offload(
                pipe(map_(wait_for_file)), executor=recorder, chunksize=2, concurrency=3
            )
            source = TrackedSource([str(gate)] * 100)
            with anyio.fail_after(30):
                async with (
                    stream(source).pipe(operator).open() as items,
                    anyio.create_task_group() as tg,
                ):
                    tg.start_soon(next_item, items)
                    await recorder.submitted_all.wait()
                    tg.cancel_scope.cancel()
            gate.touch()
        assert [future.cancelled() for future in recorder.futures] == [False, True, True]
        source.assert_closed()

    async def test_take_closes_the_source(self, pool: Executor) -> None:
        source = TrackedSource(range(10_000))
        operator = offload(SUB, executor=pool, chunksize=10, concurrency=2)
        with anyio.fail_after(30):
            out = await stream(source).pipe(operator, take(3)).collect()
        assert out == [1, 9, 25]
        source.assert_closed()
