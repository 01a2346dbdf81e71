"""streamkit.ray.RayExecutor against a real local Ray (two CPUs, started once per session):
map_ with and without chunks, offload, errors, statistics, cancellation in Ray.

Skipped if Ray is not installed (the ``ray`` extra).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from streamkit import Failures, Retry, filter_, map_, offload, pipe, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import streamkit_notes

from ._helpers import RecordingExecutor, next_item
from ._work import (
    WorkError,
    add_one_slowly,
    fail_on_multiples_of_7,
    fail_once_on_5,
    is_odd,
    pid_then_sleep,
    square,
    wait_for_file,
)

pytest.importorskip("ray")

from streamkit.ray import RayExecutor

pytestmark = pytest.mark.anyio


@pytest.fixture
def ray_executor(ray_session: Any) -> RayExecutor:
    return RayExecutor()


class TestMap:
    @pytest.mark.parametrize("chunksize", [1, 8, "auto"])
    async def test_results_in_order(self, ray_executor: RayExecutor, chunksize: int | str) -> None:
        operator = map_(square, executor=ray_executor, chunksize=chunksize, concurrency=4)
        with anyio.fail_after(60):
            assert await stream(range(50)).pipe(operator).collect() == [x * x for x in range(50)]

    async def test_per_item_failures_in_a_chunk(self, ray_executor: RayExecutor) -> None:
        failures = Failures()
        operator = map_(
            fail_on_multiples_of_7, executor=ray_executor, chunksize=6, on_error=failures
        )
        with anyio.fail_after(60):
            async with stream(range(30)).pipe(operator).open() as items:
                out = [x async for x in items]
        assert out == [x for x in range(30) if x % 7]
        assert [failure.item for failure in failures] == [0, 7, 14, 21, 28]
        (stage,) = items.statistics().stages
        assert (stage.items_in, stage.items_out, stage.skipped) == (30, 25, 5)

    async def test_error_is_the_functions_own_type(self, ray_executor: RayExecutor) -> None:
        operator = map_(fail_on_multiples_of_7, executor=ray_executor, chunksize=4)
        with anyio.fail_after(60), pytest.raises(WorkError) as caught:
            await stream(range(1, 20)).pipe(operator).collect()
        assert type(caught.value) is WorkError  # not Ray's RayTaskError(WorkError)
        assert caught.value.args == ("a multiple of 7", 7)
        assert "on item 6: 7" in streamkit_notes(caught.value)[-1]

    async def test_retry_of_a_single_item(self, ray_executor: RayExecutor, tmp_path: Path) -> None:
        operator = map_(
            partial(fail_once_on_5, str(tmp_path / "failed-once")),
            executor=ray_executor,
            chunksize=4,
            retry=Retry(on=WorkError, attempts=2, backoff=0),
        )
        with anyio.fail_after(60):
            async with stream(range(12)).pipe(operator).open() as items:
                out = [x async for x in items]
        assert out == list(range(12))
        assert items.statistics().stages[0].retries == 1


class TestOffload:
    async def test_sub_pipeline_results_and_statistics(self, ray_executor: RayExecutor) -> None:
        sub = pipe(map_(add_one_slowly, concurrency=8), filter_(is_odd))
        operator = offload(sub, executor=ray_executor, chunksize=16, concurrency=2)
        with anyio.fail_after(60):
            async with stream(range(64)).pipe(operator).open() as items:
                out = [x async for x in items]
        assert out == [x + 1 for x in range(64) if (x + 1) % 2]
        offloaded, added, kept = items.statistics().stages
        assert (offloaded.items_in, offloaded.items_out) == (64, 32)
        assert (added.items_in, kept.items_out) == (64, 32)
        assert added.concurrency == 16

    async def test_error_in_a_worker_keeps_its_type(self, ray_executor: RayExecutor) -> None:
        operator = offload(pipe(map_(fail_on_multiples_of_7)), executor=ray_executor, chunksize=5)
        with anyio.fail_after(60), pytest.raises(WorkError) as caught:
            await stream(range(1, 20)).pipe(operator).collect()
        assert caught.value.args == ("a multiple of 7", 7)
        assert any("in the chunk of items 5 to 9" in n for n in streamkit_notes(caught.value))


class TestCancellation:
    async def test_pending_tasks_are_cancelled_in_ray(
        self, ray_session: Any, tmp_path: Path
    ) -> None:
        gate = tmp_path / "open"
        recorder = RecordingExecutor(RayExecutor(), expect=4)
        operator = map_(wait_for_file, executor=recorder, chunksize=2, concurrency=4)
        source = TrackedSource([str(gate)] * 40)
        with anyio.fail_after(60):
            async with (
                stream(source).pipe(operator).open() as items,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(next_item, items)
                await recorder.submitted_all.wait()
                tg.cancel_scope.cancel()
        gate.touch()
        assert all(future.cancelled() for future in recorder.futures)
        source.assert_closed()

    async def test_running_task_is_stopped(self, ray_session: Any, tmp_path: Path) -> None:
        """A running task is cancelled with force=True: its worker process is killed."""
        pid_file = tmp_path / "pid"
        operator = map_(pid_then_sleep, executor=RayExecutor())
        with anyio.fail_after(60):
            async with (
                stream([str(pid_file)]).pipe(operator).open() as items,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(next_item, items)
                while not pid_file.exists():  # ruff: ignore[async-busy-wait] - another process writes it
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
        pid = int(pid_file.read_text())
        with anyio.fail_after(30):
            while _alive(pid):  # ruff: ignore[async-busy-wait] - Ray ends the process
                await anyio.sleep(0.05)

    async def test_take_stops_early(self, ray_executor: RayExecutor) -> None:
        source = TrackedSource(range(10_000))
        operator = map_(square, executor=ray_executor, chunksize=16, concurrency=2)
        with anyio.fail_after(60):
            assert await stream(source).pipe(operator, take(3)).collect() == [0, 1, 4]
        source.assert_closed()


class TestExecutor:
    def test_shutdown_refuses_new_calls(self, ray_session: Any) -> None:
        executor = RayExecutor()
        assert executor.submit(square, 3).result(timeout=60) == 9
        executor.shutdown()
        with pytest.raises(RuntimeError, match="after shutdown"):
            executor.submit(square, 3)

    def test_shutdown_can_cancel_pending_calls(self, ray_session: Any, tmp_path: Path) -> None:
        executor = RayExecutor(num_cpus=2)  # one call at a time on two CPUs
        gate = str(tmp_path / "open")
        futures = [executor.submit(wait_for_file, gate) for _ in range(3)]
        executor.shutdown(wait=True, cancel_futures=True)
        assert all(future.cancelled() for future in futures)

    def test_bad_force_cancel(self) -> None:
        with pytest.raises(TypeError, match="force_cancel must be"):
            RayExecutor(force_cancel=1)  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie until Ray reaps it counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_import_streamkit_does_not_import_ray() -> None:
    import subprocess
    import sys

    code = "import sys, streamkit; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
