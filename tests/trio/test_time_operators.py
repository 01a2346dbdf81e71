"""Time operators in trio's virtual time (``MockClock(autojump_threshold=0)``): the one home of
the tests that check when items are emitted.

Sleeps take no wall time and every timestamp is exact. Each operator's emission schedule (item
and time) is compared with a plain model of its documented semantics, on random arrival times.
Arrivals are whole seconds and the operators' periods are ``k + 0.5`` (``k + 0.501`` for
``sample``, whose ticks repeat), so no arrival ties with a deadline and every comparison is
exact.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    Operator,
    batch,
    debounce,
    delay,
    filter_,
    flat_map,
    map_,
    rate_limit,
    sample,
    stream,
    take,
    throttle_first,
    timeout,
)

EPS = 1e-9
Schedule = list[tuple[float, Any]]

gaps_st = st.lists(st.integers(0, 4), max_size=20)
halves = st.integers(0, 5).map(lambda k: k + 0.5)


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


async def record(
    source: AsyncIterator[Any], *operators: Operator[Any, Any], busy: float = 0
) -> Schedule:
    """(time since start, item) for each output; the consumer spends ``busy`` s per item."""
    start = trio.current_time()
    out: Schedule = []
    with trio.fail_after(10_000):
        async with stream(source).pipe(*operators).open() as items:
            async for item in items:
                out.append((trio.current_time() - start, item))
                await trio.sleep(busy)
    return out


def run_virtual(source: AsyncIterator[Any], *operators: Operator[Any, Any]) -> Schedule:
    return trio.run(record, source, *operators, clock=trio.testing.MockClock(autojump_threshold=0))


def assert_schedule(got: Schedule, expected: Schedule) -> None:
    assert [item for _, item in got] == [item for _, item in expected]
    for (t_got, item), (t_expected, _) in zip(got, expected, strict=True):
        assert t_got == pytest.approx(t_expected, abs=EPS), f"item {item}"


def arrivals(gaps: list[int]) -> list[float]:
    return [float(t) for t in itertools.accumulate(gaps)]


def end_of(gaps: list[int], end_gap: int) -> float:
    return float(sum(gaps) + end_gap)


# -- models: what each docstring promises, for a consumer that is always ready ---------------


def debounce_model(gaps: list[int], end_gap: int, seconds: float) -> Schedule:
    times = arrivals(gaps)
    out: Schedule = []
    for i, t in enumerate(times):
        following = times[i + 1] if i + 1 < len(times) else None
        if following is not None:
            if following - t > seconds:
                out.append((t + seconds, i))
        else:
            out.append((min(t + seconds, end_of(gaps, end_gap)), i))
    return out


def throttle_first_model(gaps: list[int], seconds: float) -> Schedule:
    out: Schedule = []
    closes = float("-inf")
    for i, t in enumerate(arrivals(gaps)):
        if t >= closes:
            out.append((t, i))
            closes = t + seconds
    return out


def sample_model(gaps: list[int], end_gap: int, seconds: float) -> Schedule:
    times = arrivals(gaps)
    end = end_of(gaps, end_gap)
    out: Schedule = []
    previous = 0.0
    for k in itertools.count(1):
        tick = k * seconds
        latest = [i for i, t in enumerate(times) if previous < t <= min(tick, end)]
        if k == 1:
            latest = [i for i, t in enumerate(times) if t <= min(tick, end)]
        if end <= tick:
            if latest:
                out.append((end, latest[-1]))
            return out
        if latest:
            out.append((tick, latest[-1]))
        previous = tick
    raise AssertionError("unreachable")


def timeout_model(gaps: list[int], end_gap: int, seconds: float) -> tuple[Schedule, float | None]:
    """The items emitted, and when TimeoutError is raised (None if the stream ends)."""
    out: Schedule = []
    now = 0.0
    for i, gap in enumerate(gaps):
        if gap > seconds:
            return out, now + seconds
        now += gap
        out.append((now, i))
    return out, (now + seconds if end_gap > seconds else None)


def rate_limit_model(gaps: list[int], count: int, per: float) -> Schedule:
    """Item i is pulled when item i - 1 is emitted and arrives ``gaps[i]`` later; it goes on
    once the count-th emission before it is ``per`` old."""
    emitted: list[float] = []
    for i, gap in enumerate(gaps):
        arrived = (emitted[-1] if emitted else 0.0) + gap
        emitted.append(max(arrived, emitted[i - count] + per) if i >= count else arrived)
    return [(t, i) for i, t in enumerate(emitted)]


# -- property tests -------------------------------------------------------------------------


@given(gaps=gaps_st, end_gap=st.integers(0, 8), seconds=halves)
def test_debounce_matches_model(gaps: list[int], end_gap: int, seconds: float) -> None:
    got = run_virtual(timed_source([float(g) for g in gaps], end_gap), debounce(seconds))
    assert_schedule(got, debounce_model(gaps, end_gap, seconds))


@given(gaps=gaps_st, seconds=halves)
def test_throttle_first_matches_model(gaps: list[int], seconds: float) -> None:
    got = run_virtual(timed_source([float(g) for g in gaps]), throttle_first(seconds))
    assert_schedule(got, throttle_first_model(gaps, seconds))


@given(gaps=gaps_st, end_gap=st.integers(0, 8), seconds=st.integers(0, 4).map(lambda k: k + 0.501))
def test_sample_matches_model(gaps: list[int], end_gap: int, seconds: float) -> None:
    got = run_virtual(timed_source([float(g) for g in gaps], end_gap), sample(seconds))
    assert_schedule(got, sample_model(gaps, end_gap, seconds))


@given(gaps=gaps_st, seconds=halves, window=st.integers(1, 30))
def test_delay_matches_model(gaps: list[int], seconds: float, window: int) -> None:
    """Every item ``seconds`` after its arrival, as long as fewer than ``window`` items arrive
    within any ``seconds`` (else the upstream is slowed: checked separately)."""
    times = arrivals(gaps)
    crowded = any(
        j - i >= window
        for i in range(len(times))
        for j in range(i, len(times))
        if times[j] - times[i] < seconds
    )
    got = run_virtual(timed_source([float(g) for g in gaps]), delay(seconds, window=window))
    if crowded:
        assert [item for _, item in got] == list(range(len(gaps)))
        assert all(t >= arrived + seconds - EPS for (t, _), arrived in zip(got, times, strict=True))
    else:
        assert_schedule(got, [(t + seconds, i) for i, t in enumerate(times)])


@given(gaps=gaps_st, end_gap=st.integers(0, 8), seconds=halves)
def test_timeout_matches_model(gaps: list[int], end_gap: int, seconds: float) -> None:
    expected, fails_at = timeout_model(gaps, end_gap, seconds)
    got: Schedule = []
    failed: list[tuple[float, str]] = []

    async def main() -> None:
        start = trio.current_time()
        source = timed_source([float(g) for g in gaps], end_gap)
        try:
            async with stream(source).pipe(timeout(seconds)).open() as items:
                async for item in items:
                    got.append((trio.current_time() - start, item))
        except TimeoutError as exc:
            failed.append((trio.current_time() - start, str(exc)))

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert_schedule(got, expected)
    if fails_at is None:
        assert failed == []
    else:
        ((when, message),) = failed
        assert when == pytest.approx(fails_at, abs=EPS)
        assert message.startswith(f"timeout({seconds}): item {len(expected)} did not come")


@given(gaps=gaps_st, count=st.integers(1, 4), per=halves.map(lambda s: s + 1))
def test_rate_limit_matches_model(gaps: list[int], count: int, per: float) -> None:
    got = run_virtual(timed_source([float(g) for g in gaps]), rate_limit(count, per=per))
    assert_schedule(got, rate_limit_model(gaps, count, per))


@given(
    gaps=gaps_st,
    size=st.integers(1, 5),
    max_wait=halves,
    shift=st.integers(0, 3).map(lambda k: k + 0.25),
)
def test_batch_timeout_after_delay_is_shifted(
    gaps: list[int], size: int, max_wait: float, shift: float
) -> None:
    """``delay`` then ``batch(size, timeout=)``: buffer_with_time_or_count over the shifted
    arrivals, so the batches are the model's, each ``shift`` later."""
    got = run_virtual(
        timed_source([float(g) for g in gaps]),
        delay(shift),
        batch(size, timeout=max_wait),
    )
    expected = batch_model([float(g) for g in gaps], size, max_wait, 0)
    assert_schedule(got, [(t + shift, items) for t, items in expected])


# -- behaviour with a busy consumer, and composition -----------------------------------------


class TestTimeout:
    @pytest.mark.trio
    async def test_time_away_from_the_stream_does_not_count(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Item 1 comes 3 s after item 0; the consumer is busy for 5 s and then finds it."""
        got = await record(timed_source([0, 3, 0]), timeout(2), busy=5)
        assert_schedule(got, [(0, 0), (5, 1), (10, 2)])

    @pytest.mark.trio
    async def test_clock_starts_when_the_consumer_asks(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Busy 1 s after item 0; item 1 is read ahead at once and comes 3.5 s after item 0.
        The consumer asks at 1, so it times out at 3 (not at 2, 2 s after item 0)."""
        start = trio.current_time()
        with pytest.raises(TimeoutError):
            await record(timed_source([0, 3.5]), timeout(2), busy=1)
        assert trio.current_time() - start == pytest.approx(3, abs=EPS)


class TestRateLimit:
    @pytest.mark.trio
    async def test_map_rate_limit_counts_call_starts_across_workers(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """4 workers, calls of 5 s, at most 2 starts per second: 2 at 0, 2 at 1, then the
        workers are busy until 5 and 6."""
        start = trio.current_time()
        starts: list[float] = []

        async def call(x: int) -> int:
            starts.append(trio.current_time() - start)
            await trio.sleep(5)
            return x

        with trio.fail_after(1000):
            out = (
                await stream(range(8))
                .pipe(map_(call, concurrency=4, rate_limit=(2, 1.0)))
                .collect()
            )
        assert out == list(range(8))
        assert starts == pytest.approx([0, 0, 1, 1, 5, 5, 6, 6], abs=EPS)

    @given(
        durations=st.lists(st.integers(0, 3), min_size=1, max_size=25),
        concurrency=st.integers(1, 6),
        count=st.integers(1, 4),
        ordered=st.booleans(),
    )
    def test_map_rate_limit_holds_in_any_window(
        self, durations: list[int], concurrency: int, count: int, ordered: bool
    ) -> None:
        """At most ``count`` call starts in any 1.5 s, and each start is as early as the
        limit and the free workers allow (nobody waits while both permit a start)."""
        per = 1.5
        starts: list[float] = []

        async def call(i: int) -> int:
            starts.append(trio.current_time())
            await trio.sleep(durations[i])
            return i

        async def main() -> list[int]:
            return (
                await stream(range(len(durations)))
                .pipe(map_(call, concurrency=concurrency, ordered=ordered, rate_limit=(count, per)))
                .collect()
            )

        out = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        assert sorted(out) == list(range(len(durations)))
        assert starts == sorted(starts)
        for i in range(len(starts) - count):
            assert starts[i + count] - starts[i] >= per - EPS

    @pytest.mark.trio
    async def test_filter_and_flat_map_take_the_option(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """One call per 2 s: calls start at 0, 2, 4, 6."""
        got = await record(
            timed_source([0] * 4), filter_(lambda x: x % 2 == 0, rate_limit=(1, 2.0))
        )
        assert_schedule(got, [(0, 0), (4, 2)])
        got = await record(timed_source([0] * 3), flat_map(lambda x: [x, x], rate_limit=(1, 2)))
        assert_schedule(got, [(0, 0), (0, 0), (2, 1), (2, 1), (4, 2), (4, 2)])


class TestSample:
    @pytest.mark.trio
    async def test_missed_ticks_merge_into_one(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Ticks every 1 s from 0; an item 1 s after each pull, the first at 0.5. The consumer
        is busy 2.5 s after each output: the tick at 1 goes out at 1; the ticks at 2 and 3 are
        taken as one when it asks at 3.5, with the item read ahead meanwhile (1, at 1.5; the
        upstream then waits); the ticks at 4, 5 and 6 as one at 6, with item 2 (at 4.5)."""
        got = await record(timed_source([0.5] + [1.0] * 6), sample(1), take(3), busy=2.5)
        assert_schedule(got, [(1, 0), (3.5, 1), (6.0, 2)])


class TestComposition:
    @pytest.mark.trio
    async def test_rate_limited_items_in_timed_batches(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Items paced at one per second; a batch goes out 2.5 s after its first item."""
        got = await record(timed_source([0] * 7), rate_limit(1, per=1), batch(5, timeout=2.5))
        assert_schedule(got, [(2.5, [0, 1, 2]), (5.5, [3, 4, 5]), (6, [6])])

    @pytest.mark.trio
    async def test_batches_debounced(self, autojump_clock: trio.testing.MockClock) -> None:
        """Bursts of items; batch(10, timeout=0.5) makes one batch per burst (at 0.5, 1.7 and
        4.8), and debounce(2) keeps the batches followed by 2 s of quiet."""
        gaps = [0, 0.1, 0.1, 1, 0.1, 3, 0.1]  # items at 0, .1, .2, 1.2, 1.3, 4.3, 4.4
        got = await record(timed_source(gaps, end_gap=5), batch(10, timeout=0.5), debounce(2))
        assert_schedule(got, [(3.7, [3, 4]), (6.8, [5, 6])])

    @pytest.mark.trio
    async def test_throttled_interval(self, autojump_clock: trio.testing.MockClock) -> None:
        """Ticks at 1, 2, 3, ...; a tick passes, then 2.5 s of ticks are dropped."""
        start = trio.current_time()
        got: Schedule = []
        with trio.fail_after(1000):
            async with stream.interval(1).pipe(throttle_first(2.5), take(3)).open() as ticks:
                async for tick in ticks:
                    got.append((trio.current_time() - start, tick))
        assert_schedule(got, [(1, 0), (4, 3), (7, 6)])
