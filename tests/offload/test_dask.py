"""Dask as an executor: ``map_(fn, executor=client.get_executor(), concurrency=N)``.

Needs the ``dask`` extra (``distributed``); skipped without it. The cluster is started once per
session (``conftest.py``), so these tests stay few and fast.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from streamkit import map_, stream
from tests.strategies import streamkit_notes

from ._helpers import RecordingExecutor, next_item
from ._work import WorkError, fail_on_3, square

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
