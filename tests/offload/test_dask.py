"""Dask as an executor: ``map_(fn, executor=client.get_executor(), concurrency=N)``.

Needs the ``dask`` extra (``distributed``); skipped without it. The cluster is started once per
session (``conftest.py``), so these tests stay few and fast.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from streamkit import Failures, Retry, filter_, map_, offload, pipe, stream
from tests.strategies import streamkit_notes

from ._helpers import RecordingExecutor, next_item
from ._work import (
    WorkError,
    add_one_slowly,
    die_once,
    fail_on_3,
    fail_on_multiples_of_7,
    fail_once_on_5,
    is_odd,
    square,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("ordered", [True, False])
async def test_results(dask_client: Any, ordered: bool) -> None:
    recorder = RecordingExecutor(dask_client.get_executor())
    operator = map_(square, executor=recorder, concurrency=4, ordered=ordered)
    with anyio.fail_after(60):
        out = await stream(range(40)).pipe(operator).collect()
    expected = [x * x for x in range(40)]
    assert out == expected if ordered else sorted(out) == expected
    assert 1 <= recorder.peak_pending <= 4


async def test_error_same_type_with_note(dask_client: Any) -> None:
    operator = map_(fail_on_3, executor=dask_client.get_executor(pure=False), concurrency=2)
    with anyio.fail_after(60), pytest.raises(WorkError) as caught:
        await stream(range(10)).pipe(operator).collect()
    assert caught.value.args == ("no threes", 3)
    (note,) = streamkit_notes(caught.value)
    assert "on item 3: 3" in note


async def test_cancellation_cancels_futures(dask_client: Any) -> None:
    """Dask futures are cancelled when the pipeline stops (running tasks go on; dask only
    drops their results)."""
    distributed = pytest.importorskip("distributed")
    gate = distributed.Event()  # a cluster-wide event: the tasks wait for it
    recorder = RecordingExecutor(dask_client.get_executor(pure=False), expect=3)
    operator = map_(gate.wait, executor=recorder, concurrency=3)
    with anyio.fail_after(60):
        async with (
            stream([30.0] * 10).pipe(operator).open() as items,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(next_item, items)
            await recorder.submitted_all.wait()
            tg.cancel_scope.cancel()
    assert all(future.cancelled() for future in recorder.futures)
    gate.set()


class TestChunks:
    """chunksize= and offload() on a real cluster of two worker processes."""

    async def test_chunked_map_per_item_errors(self, dask_client: Any) -> None:
        failures = Failures()
        recorder = RecordingExecutor(dask_client.get_executor(pure=False))
        operator = map_(
            fail_on_multiples_of_7, executor=recorder, chunksize=8, concurrency=2, on_error=failures
        )
        with anyio.fail_after(60):
            out = await stream(range(40)).pipe(operator).collect()
        assert out == [x for x in range(40) if x % 7]
        # recorded as chunks come back
        assert sorted(failure.item for failure in failures) == [0, 7, 14, 21, 28, 35]
        assert len(recorder.futures) == 5

    async def test_chunked_retry_of_a_single_item(self, dask_client: Any, tmp_path: Path) -> None:
        flaky = partial(fail_once_on_5, str(tmp_path / "failed-once"))
        operator = map_(
            flaky,
            executor=dask_client.get_executor(pure=False),
            chunksize=4,
            retry=Retry(on=WorkError, attempts=2, backoff=0),
        )
        with anyio.fail_after(60):
            async with stream(range(12)).pipe(operator).open() as items:
                out = [x async for x in items]
        assert out == list(range(12))
        assert items.statistics().stages[0].retries == 1

    async def test_offload_statistics_and_errors(self, dask_client: Any) -> None:
        sub = pipe(map_(add_one_slowly, concurrency=4), filter_(is_odd))
        operator = offload(sub, executor=dask_client.get_executor(pure=False), chunksize=10)
        with anyio.fail_after(60):
            async with stream(range(100)).pipe(operator).open() as items:
                out = [x async for x in items]
        assert out == [x + 1 for x in range(100) if (x + 1) % 2]
        _, added, kept = items.statistics().stages
        assert (added.items_in, kept.items_in, kept.items_out) == (100, 100, 50)
        failing = offload(pipe(map_(fail_on_3)), executor=dask_client.get_executor(), chunksize=2)
        with anyio.fail_after(60), pytest.raises(WorkError) as caught:
            await stream(range(10)).pipe(failing).collect()
        assert any("in the chunk of items 2 to 3" in n for n in streamkit_notes(caught.value))

    async def test_cancellation_cancels_pending_chunks(self, dask_client: Any) -> None:
        distributed = pytest.importorskip("distributed")
        gate = distributed.Event()
        recorder = RecordingExecutor(dask_client.get_executor(pure=False), expect=3)
        operator = map_(gate.wait, executor=recorder, chunksize=2, concurrency=3)
        with anyio.fail_after(60):
            async with (
                stream([30.0] * 20).pipe(operator).open() as items,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(next_item, items)
                await recorder.submitted_all.wait()
                tg.cancel_scope.cancel()
        assert all(future.cancelled() for future in recorder.futures)
        gate.set()

    async def test_losing_a_worker_runs_its_chunk_again(
        self, dask_client: Any, tmp_path: Path
    ) -> None:
        """Documented outcome: dask runs a task lost with its worker again elsewhere, so the
        chunk's items are all delivered once, in order (its calls before the loss ran twice)."""
        marker = tmp_path / "died"
        operator = map_(
            partial(die_once, str(marker)),
            executor=dask_client.get_executor(pure=False),
            chunksize=4,
            concurrency=2,
        )
        with anyio.fail_after(120):
            out = await stream(range(12)).pipe(operator).collect()
        assert marker.exists()
        assert out == list(range(12))
