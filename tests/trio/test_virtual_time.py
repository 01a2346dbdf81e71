"""Timing semantics in trio's virtual time (``MockClock(autojump_threshold=0)``).

Sleeps take no wall time and every timestamp is exact, so the tests compare emission times
with what the documentation promises, to the nanosecond.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from streamkit import batch, stream, take

EPS = 1e-9


async def timed_source(gaps: list[float], end_gap: float = 0) -> AsyncIterator[int]:
    """Item i comes ``gaps[i]`` seconds after item i - 1 (or after the first pull); the
    source ends ``end_gap`` seconds after the last item."""
    for i, gap in enumerate(gaps):
        await trio.sleep(gap)
        yield i
    await trio.sleep(end_gap)


async def record_batches(
    gaps: list[float], size: int, max_wait: float, end_gap: float = 0
) -> list[tuple[float, list[int]]]:
    """(time since start, batch) for each batch, with a consumer that is always ready."""
    start = trio.current_time()
    out: list[tuple[float, list[int]]] = []
    with trio.fail_after(10_000):
        async with (
            stream(timed_source(gaps, end_gap))
            .pipe(batch(size, timeout=max_wait))
            .open() as batches
        ):
            async for items in batches:
                out.append((trio.current_time() - start, items))
    return out


def batch_model(
    gaps: list[float], size: int, timeout: float, end_gap: float
) -> list[tuple[float, list[int]]]:
    """When each batch is due: at its size-th item, when its oldest item has waited
    ``timeout``, or when the source ends, whichever comes first."""
    arrivals = list(itertools.accumulate(gaps))
    end = (arrivals[-1] if arrivals else 0) + end_gap
    out: list[tuple[float, list[int]]] = []
    i = 0
    while i < len(arrivals):
        deadline = arrivals[i] + timeout
        j = i
        while j < len(arrivals) and j - i < size and arrivals[j] < deadline:
            j += 1
        if j - i == size:
            due = arrivals[j - 1]
        elif j == len(arrivals) and end < deadline:
            due = end
        else:
            due = deadline
        out.append((due, list(range(i, j))))
        i = j
    return out


def assert_same_schedule(
    got: list[tuple[float, list[int]]], expected: list[tuple[float, list[int]]]
) -> None:
    assert [items for _, items in got] == [items for _, items in expected]
    for (t_got, items), (t_expected, _) in zip(got, expected, strict=True):
        assert t_got == pytest.approx(t_expected, abs=EPS), f"batch {items}"


class TestBatchTimeout:
    @pytest.mark.trio
    async def test_partial_batch_when_oldest_item_waited_timeout(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        # Items at t = 0, 1, 5, 5.5, 6, 20; the source ends at 21.
        got = await record_batches([0, 1, 4, 0.5, 0.5, 14], size=3, max_wait=2, end_gap=1)
        assert_same_schedule(
            got,
            [
                (2.0, [0, 1]),  # 0 has waited 2 s; 1 joined in time
                (6.0, [2, 3, 4]),  # full before 2's deadline (7)
                (21.0, [5]),  # the source ends before 5's deadline (22)
            ],
        )

    @pytest.mark.trio
    async def test_full_batches_do_not_wait(self, autojump_clock: trio.testing.MockClock) -> None:
        got = await record_batches([1, 1, 1, 1], size=2, max_wait=10)
        assert_same_schedule(got, [(2.0, [0, 1]), (4.0, [2, 3])])

    @pytest.mark.trio
    async def test_timeout_counts_from_arrival_not_from_when_the_consumer_asks(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A busy consumer: item 3 arrives at t=1 (read ahead while the consumer works on
        the first batch until t=5). Its batch was due at t=3, so the consumer, free at t=5,
        gets [3] at once; it must not wait another ``timeout`` until t=7."""
        start = trio.current_time()
        got: list[tuple[float, list[int]]] = []
        with trio.fail_after(1000):
            async with (
                stream(timed_source([0, 0, 0, 1, 100])).pipe(batch(3, timeout=2)).open() as batches
            ):
                async for items in batches:
                    got.append((trio.current_time() - start, items))
                    if items == [0, 1, 2]:
                        await trio.sleep(5)
        assert_same_schedule(got, [(0.0, [0, 1, 2]), (5.0, [3]), (101.0, [4])])

    @given(
        gaps=st.lists(st.integers(0, 4), max_size=20),
        size=st.integers(1, 5),
        timeout=st.integers(0, 6).map(lambda k: k + 0.5),
        end_gap=st.integers(0, 8),
    )
    def test_matches_model(self, gaps: list[int], size: int, timeout: float, end_gap: int) -> None:
        """Random arrival times (integers) and timeouts (k + 0.5, so never a tie): every batch
        comes out exactly when the model says, with exactly the model's items."""
        got = trio.run(
            record_batches,
            [float(g) for g in gaps],
            size,
            timeout,
            float(end_gap),
            clock=trio.testing.MockClock(autojump_threshold=0),
        )
        assert_same_schedule(got, batch_model([float(g) for g in gaps], size, timeout, end_gap))

    @pytest.mark.trio
    async def test_batches_of_interval_ticks(self, autojump_clock: trio.testing.MockClock) -> None:
        start = trio.current_time()
        got: list[tuple[float, list[int]]] = []
        with trio.fail_after(1000):
            async with stream.interval(1).pipe(batch(10, timeout=3.5), take(3)).open() as batches:
                async for items in batches:
                    got.append((trio.current_time() - start, items))
        # Ticks at 1, 2, 3, ...; each batch is due 3.5 s after its first tick.
        assert_same_schedule(
            got, [(4.5, [0, 1, 2, 3]), (8.5, [4, 5, 6, 7]), (12.5, [8, 9, 10, 11])]
        )


class TestInterval:
    @pytest.mark.trio
    async def test_ticks_on_time(self, autojump_clock: trio.testing.MockClock) -> None:
        start = trio.current_time()
        got: list[tuple[int, float]] = []
        with trio.fail_after(1000):
            async with stream.interval(0.25).pipe(take(8)).open() as ticks:
                async for tick in ticks:
                    got.append((tick, trio.current_time() - start))
        assert [tick for tick, _ in got] == list(range(8))
        for tick, t in got:
            assert t == pytest.approx((tick + 1) * 0.25, abs=EPS)

    @pytest.mark.trio
    async def test_no_drift_with_a_busy_consumer(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The consumer spends 0.3 of each 1 s period: ticks stay at 1, 2, 3, ... (a loop of
        sleep(period) would drift to 1, 2.3, 3.6, ...)."""
        start = trio.current_time()
        got: list[float] = []
        with trio.fail_after(1000):
            async with stream.interval(1).pipe(take(6)).open() as ticks:
                async for _ in ticks:
                    got.append(trio.current_time() - start)
                    await trio.sleep(0.3)
        assert got == pytest.approx([1, 2, 3, 4, 5, 6], abs=EPS)

    @pytest.mark.trio
    async def test_late_consumer_delays_one_tick_only(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Busy for 1.5 s after tick 1 (at t=2): tick 2 (due at 3) comes late, at 3.5;
        tick 3 is still at 4."""
        start = trio.current_time()
        got: list[tuple[int, float]] = []
        with trio.fail_after(1000):
            async with stream.interval(1).pipe(take(5)).open() as ticks:
                async for tick in ticks:
                    got.append((tick, trio.current_time() - start))
                    if tick == 1:
                        await trio.sleep(1.5)
        assert [tick for tick, _ in got] == [0, 1, 2, 3, 4]
        assert [t for _, t in got] == pytest.approx([1, 2, 3.5, 4, 5], abs=EPS)

    @pytest.mark.trio
    async def test_no_drift_over_many_ticks(self, autojump_clock: trio.testing.MockClock) -> None:
        start = trio.current_time()
        last = -1.0
        with trio.fail_after(10_000):
            async with stream.interval(0.1).pipe(take(1000)).open() as ticks:
                async for tick in ticks:
                    last = trio.current_time() - start
                    assert last == pytest.approx((tick + 1) * 0.1, abs=1e-6)
        assert last == pytest.approx(100.0, abs=1e-6)
