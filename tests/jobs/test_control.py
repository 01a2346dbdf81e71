"""stop_intake, pause/resume and a live CapacityLimiter, with an instrumented source and fn."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest

from streamkit import filter_, map_, stream

pytestmark = pytest.mark.anyio


class Source:
    """Counts pulls; records whether its cleanup ran."""

    def __init__(self) -> None:
        self.pulled = 0
        self.closed = False

    async def items(self) -> AsyncIterator[int]:
        try:
            while True:
                await anyio.lowlevel.checkpoint()
                self.pulled += 1
                yield self.pulled - 1
        finally:
            with anyio.CancelScope(shield=True):  # cancel-safe async cleanup, which must run
                await anyio.lowlevel.checkpoint()
            self.closed = True


class Calls:
    """Counts concurrent calls; ``peak`` is the most at once since the last reset."""

    def __init__(self) -> None:
        self.now = self.peak = 0

    async def __call__(self, n: int) -> int:
        self.now += 1
        self.peak = max(self.peak, self.now)
        await anyio.sleep(0.001)
        self.now -= 1
        return n


async def test_stop_intake_finishes_what_was_pulled_and_closes_the_source() -> None:
    source = Source()
    got: list[int] = []
    async with stream(source.items()).pipe(map_(Calls(), concurrency=4)).open() as items:
        async for n in items:
            got.append(n)
            if n == 10:
                items.stop_intake()
                pulled = source.pulled
    assert source.closed
    # everything pulled was delivered, in order; a pull under way at the stop is cancelled
    assert got == list(range(source.pulled))
    assert source.pulled == pulled


async def test_stop_intake_interrupts_a_waiting_pull() -> None:
    async def slow() -> AsyncIterator[int]:
        yield 0
        await anyio.sleep_forever()
        yield 1  # pragma: no cover

    async with stream(slow()).open() as items:
        async for n in items:
            assert n == 0
            items.stop_intake()
    assert not items.paused


async def test_pause_pulls_nothing_until_resume() -> None:
    source = Source()
    got: list[int] = []
    async with stream(source.items()).pipe(filter_(lambda n: True, concurrency=2)).open() as items:
        async for n in items:
            got.append(n)
            if n == 5:
                items.pause()
                assert items.statistics().paused
                assert "paused" in items.statistics()._repr_html_()
                at_pause = source.pulled
            if items.paused and n == source.pulled - 1:
                # every pulled item is delivered while paused; only a pull that was under way
                # when pause() was called completes, no new one starts
                for _ in range(50):
                    await anyio.lowlevel.checkpoint()
                assert source.pulled <= at_pause + 1
                items.resume()
                assert not items.statistics().paused
            if n == 200:
                break
    assert got == list(range(201))


async def test_a_limiter_changes_the_limit_live_and_bounds_stages_together() -> None:
    limiter = anyio.CapacityLimiter(2)
    calls = Calls()
    peaks: list[int] = []
    limits: list[int] = []
    pipeline = stream(range(300)).pipe(
        map_(calls, concurrency=limiter), map_(calls, concurrency=limiter)
    )
    async with pipeline.open() as items:
        async for n in items:
            if n in (100, 200):
                peaks.append(calls.peak)
                limits.append(items.statistics().stages[0].concurrency)
                limiter.total_tokens = 6 if n == 100 else 1
                # calls that hold a token finish; the peak counts from when they have
                while limiter.borrowed_tokens > limiter.total_tokens:  # ruff: ignore[async-busy-wait] (polls a count)
                    await anyio.sleep(0.001)
                calls.peak = calls.now
    peaks.append(calls.peak)
    limits.append(items.statistics().stages[0].concurrency)
    assert peaks[0] == 2
    assert peaks[1] > 2
    assert peaks[1] <= 6
    assert peaks[2] == 1
    assert limits == [2, 6, 1]
