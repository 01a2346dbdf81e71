"""streamkit.testing: the helpers users test their pipelines with."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from streamkit import map_, stream, take
from streamkit.testing import (
    TrackedSource,
    assert_no_leaked_tasks,
    run_in_virtual_time,
    virtual_time_backend,
)


class TestAssertNoLeakedTasks:
    pytestmark = pytest.mark.anyio

    async def test_a_finished_pipeline_leaves_nothing(self) -> None:
        source = TrackedSource.infinite()
        async with assert_no_leaked_tasks():
            got = await stream(source).pipe(map_(str, concurrency=4), take(3)).collect()
        assert got == ["0", "1", "2"]
        source.assert_closed()

    async def test_a_task_left_running_fails_with_its_name(self) -> None:
        async with anyio.create_task_group() as outer:
            with pytest.raises(AssertionError, match=r"1 task\(s\).*'lingering'"):
                async with assert_no_leaked_tasks():
                    outer.start_soon(anyio.sleep_forever, name="lingering")
            outer.cancel_scope.cancel()

    async def test_tasks_older_than_the_block_are_not_counted(self) -> None:
        async with anyio.create_task_group() as outer:
            outer.start_soon(anyio.sleep_forever)
            await anyio.lowlevel.checkpoint()
            async with assert_no_leaked_tasks():
                await stream(range(3)).pipe(map_(str, concurrency=2)).drain()
            outer.cancel_scope.cancel()


async def hourly_ticks(count: int) -> tuple[list[int], float]:
    start = anyio.current_time()
    ticks = await stream.interval(3600).pipe(take(count)).collect()
    return ticks, anyio.current_time() - start


def test_run_in_virtual_time_sleeps_without_waiting() -> None:
    started = time.monotonic()
    ticks, elapsed = run_in_virtual_time(hourly_ticks, 24)
    assert ticks == list(range(24))
    assert elapsed == pytest.approx(24 * 3600)
    assert time.monotonic() - started < 60  # a virtual day in far less than a real minute


class TestVirtualTimeBackend:
    @pytest.fixture
    def anyio_backend(self) -> tuple[str, dict[str, Any]]:
        return virtual_time_backend()

    @pytest.mark.anyio
    async def test_the_anyio_plugin_runs_on_the_mock_clock(self) -> None:
        ticks, elapsed = await hourly_ticks(3)
        assert ticks == [0, 1, 2]
        assert elapsed == pytest.approx(3 * 3600)
