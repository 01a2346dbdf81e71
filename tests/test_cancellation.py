"""Leaving a running pipeline, for any reason, stops every stage and closes the source."""

from __future__ import annotations

import anyio
import pytest

from streamkit import batch, buffer, filter_, flat_map, map_, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import tasks_now

pytestmark = pytest.mark.anyio


class Tracker:
    """A slow async function that counts calls started, finished and cancelled."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.running = 0
        self.started = 0

    async def __call__(self, x: int) -> int:
        self.running += 1
        self.started += 1
        try:
            await anyio.sleep(self.delay)
            return x
        finally:
            self.running -= 1


def pipelines(source: TrackedSource[int], work: Tracker) -> list[object]:
    return [
        stream(source).pipe(map_(work)),
        stream(source).pipe(map_(work, concurrency=4)),
        stream(source).pipe(map_(work, concurrency=4, ordered=False), buffer(3)),
        stream(source).pipe(filter_(work, concurrency=3), batch(2, timeout=0.01)),
        stream(source).pipe(
            flat_map(lambda x: stream([x]) | map_(work, concurrency=2), concurrency=2)
        ),
    ]


PIPELINES = range(5)


@pytest.mark.parametrize("which", PIPELINES)
async def test_break_stops_everything(which: int) -> None:
    source, work = TrackedSource.infinite(), Tracker()
    before = tasks_now()
    with anyio.fail_after(5):
        async with pipelines(source, work)[which].open() as items:  # type: ignore[attr-defined]
            async for _ in items:
                break
    assert work.running == 0
    assert tasks_now() == before
    source.assert_closed()


@pytest.mark.parametrize("which", PIPELINES)
async def test_exception_in_body_stops_everything(which: int) -> None:
    source, work = TrackedSource.infinite(), Tracker()
    before = tasks_now()
    with pytest.raises(RuntimeError, match="consumer gave up"), anyio.fail_after(5):
        async with pipelines(source, work)[which].open() as items:  # type: ignore[attr-defined]
            async for _ in items:
                raise RuntimeError("consumer gave up")
    assert work.running == 0
    assert tasks_now() == before
    source.assert_closed()


@pytest.mark.parametrize("which", PIPELINES)
async def test_outside_move_on_after(which: int) -> None:
    source, work = TrackedSource.infinite(), Tracker(delay=1)
    before = tasks_now()
    with anyio.fail_after(5):
        with anyio.move_on_after(0.05) as scope:
            async with pipelines(source, work)[which].open() as items:  # type: ignore[attr-defined]
                async for _ in items:
                    pass
        assert scope.cancelled_caught
    assert work.running == 0
    assert tasks_now() == before
    source.assert_closed()


async def test_take_closes_source_before_passing_last_item() -> None:
    source, work = TrackedSource.infinite(), Tracker(delay=0.05)
    closed_when_last_seen: list[bool] = []

    def note(x: int) -> int:
        closed_when_last_seen.append(source.running == 0)
        return x

    with anyio.fail_after(5):
        result = (
            await stream(source).pipe(map_(work, concurrency=16), take(10), map_(note)).collect()
        )
    assert result == list(range(10))
    assert closed_when_last_seen[-1] is True
    assert work.running == 0
    # Read-ahead is bounded: 16 workers pull one item each at most beyond what was emitted.
    assert source.pulled <= 10 + 16


async def test_take_zero_pulls_nothing() -> None:
    source = TrackedSource.infinite()
    assert await stream(source).pipe(map_(Tracker(), concurrency=4), take(0)).collect() == []
    assert source.pulled == 0
    source.assert_closed()


async def test_unconsumed_open_block_starts_nothing() -> None:
    source, work = TrackedSource.infinite(), Tracker()
    async with stream(source).pipe(map_(work, concurrency=4)).open():
        await anyio.sleep(0.01)
    assert work.started == 0
    assert source.opened == source.closed


async def test_cancellation_is_prompt() -> None:
    work = Tracker(delay=10)
    with anyio.fail_after(2):
        with anyio.move_on_after(0.05):
            await stream(range(100)).pipe(map_(work, concurrency=8)).collect()
    assert work.running == 0
