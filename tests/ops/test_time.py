"""Time operators, on every backend, checked by event order.

Periods here are either so long that they never expire during a test (3600 s: the result
then follows from the order of events alone) or just long enough to let a blocked source be
noticed; no test depends on how fast the machine is. Exact timing is tested in virtual time in
``tests/trio/test_time_operators.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
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
from streamkit.testing import TrackedSource
from tests.strategies import (
    ASYNC_SETTINGS,
    delays,
    failing_source,
    ints,
    pool_options,
    slow_source,
    streamkit_notes,
)

pytestmark = pytest.mark.anyio

HOUR = 3600.0


class Stalling:
    """Yields ``items``, then waits forever; records whether it was closed."""

    def __init__(self, items: list[int]) -> None:
        self.items = items
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[int]:
        try:
            for item in self.items:
                await checkpoint()
                yield item
            await anyio.Event().wait()
        finally:
            self.closed = True


Factory = Callable[[float], Any]

TIMED: list[tuple[str, Factory]] = [
    ("timeout", timeout),
    ("rate_limit", lambda s: rate_limit(10, per=s)),
    ("throttle_first", throttle_first),
    ("debounce", debounce),
    ("sample", sample),
    ("delay", delay),
]
"""Every time operator, made with one period."""


@pytest.mark.parametrize(("name", "make"), TIMED)
class TestEveryTimeOperator:
    async def test_upstream_error_passes_through_unchanged(self, name: str, make: Factory) -> None:
        boom = ValueError("upstream")
        # delay() delivers the items before the error first (stream order): a short delay
        period = 0.01 if name == "delay" else HOUR
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream(failing_source([1, 2], boom)).pipe(make(period)).collect()
        assert info.value is boom
        assert streamkit_notes(boom) == []

    async def test_cancelled_from_outside_closes_the_source(self, name: str, make: Factory) -> None:
        source = Stalling([1, 2, 3])
        with anyio.fail_after(10):
            with anyio.move_on_after(0.05) as scope:
                await stream(source).pipe(make(HOUR)).collect()
        assert scope.cancelled_caught
        assert source.closed

    @pytest.mark.parametrize("bad", [0, -1.5, float("nan")])
    def test_bad_seconds(self, name: str, make: Factory, bad: float) -> None:
        with pytest.raises(ValueError, match=r"must be a number of seconds > 0"):
            make(bad)

    def test_seconds_must_be_a_number(self, name: str, make: Factory) -> None:
        with pytest.raises(TypeError, match=r"must be a number of seconds > 0, got str"):
            make("1")  # type: ignore[arg-type]


class TestTimeout:
    @ASYNC_SETTINGS
    @given(xs=ints, latencies=delays)
    async def test_a_long_timeout_changes_nothing(
        self, xs: list[int], latencies: list[float | None]
    ) -> None:
        with anyio.fail_after(10):
            out = await stream(slow_source(xs, latencies)).pipe(timeout(HOUR)).collect()
        assert out == xs

    @pytest.mark.parametrize("items", [[], [1, 2]])
    async def test_a_stalled_source_times_out(self, items: list[int]) -> None:
        source = Stalling(items)
        got: list[int] = []
        with anyio.fail_after(10), pytest.raises(TimeoutError) as info:
            async with stream(source).pipe(timeout(0.01)).open() as out:
                async for item in out:
                    got.append(item)
        assert got == items
        assert str(info.value) == f"timeout(0.01): item {len(items)} did not come within 0.01 s"
        assert source.closed

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(timeout(HOUR), take(3)).collect()
        assert out == [0, 1, 2]
        source.assert_closed()
        assert 3 <= source.pulled <= 4  # one item read ahead at most


class TestRateLimit:
    @ASYNC_SETTINGS
    @given(xs=ints, count=st.integers(1, 40), latencies=delays)
    async def test_delays_but_never_drops(
        self, xs: list[int], count: int, latencies: list[float | None]
    ) -> None:
        """A tiny period, so the run is quick: the items are all there, in order."""
        with anyio.fail_after(10):
            out = (
                await stream(slow_source(xs, latencies))
                .pipe(rate_limit(count, per=0.0005))
                .collect()
            )
        assert out == xs

    async def test_the_first_count_items_do_not_wait(self) -> None:
        with anyio.fail_after(10):
            out = await stream.count().pipe(rate_limit(5, per=HOUR), take(5)).collect()
        assert out == [0, 1, 2, 3, 4]

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(rate_limit(3, per=HOUR), take(3)).collect()
        assert out == [0, 1, 2]
        source.assert_closed()
        assert source.pulled == 3

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"count must be an int >= 1, got 0"):
            rate_limit(0)
        with pytest.raises(TypeError, match=r"count must be an int >= 1, got float"):
            rate_limit(1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        with pytest.raises(ValueError, match=r"per must be a number of seconds > 0, got 0"):
            rate_limit(1, per=0)

    def test_label(self) -> None:
        assert repr(rate_limit(5)) == "rate_limit(5)"
        assert repr(rate_limit(5, per=60)) == "rate_limit(5, per=60)"


class TestRateLimitOption:
    """``rate_limit=(count, per)`` on map_, filter_ and flat_map."""

    @ASYNC_SETTINGS
    @given(xs=ints, options=pool_options(), count=st.integers(1, 40))
    async def test_same_results_as_without(
        self, xs: list[int], options: dict[str, Any], count: int
    ) -> None:
        limit = (count, 0.0005)
        with anyio.fail_after(10):
            mapped = await stream(xs).pipe(map_(str, **options, rate_limit=limit)).collect()
            kept = (
                await stream(xs)
                .pipe(filter_(lambda x: x > 0, **options, rate_limit=limit))
                .collect()
            )
            flat = (
                await stream(xs)
                .pipe(flat_map(lambda x: [x, x], **options, rate_limit=limit))
                .collect()
            )
        expected = (list(map(str, xs)), [x for x in xs if x > 0], [y for x in xs for y in (x, x)])
        if options["ordered"]:
            assert (mapped, kept, flat) == expected
        else:
            assert sorted(mapped) == sorted(expected[0])
            assert sorted(kept) == sorted(expected[1])
            assert sorted(flat) == sorted(expected[2])

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_error_keeps_type_and_note(self, concurrency: int) -> None:
        boom = KeyError("k")

        def fn(x: int) -> int:
            if x == 2:
                raise boom
            return x

        with anyio.fail_after(10), pytest.raises(KeyError) as info:
            await (
                stream(range(5))
                .pipe(map_(fn, concurrency=concurrency, rate_limit=(100, HOUR)))
                .collect()
            )
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "rate_limit=(100, 3600.0)" in note
        assert "on item 2" in note

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_early_exit(self, concurrency: int) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = (
                await stream(source)
                .pipe(map_(str, concurrency=concurrency, rate_limit=(3, HOUR)), take(3))
                .collect()
            )
        assert out == ["0", "1", "2"]
        source.assert_closed()

    @pytest.mark.parametrize(
        ("bad", "error", "message"),
        [
            ((0, 1.0), ValueError, r"rate_limit count must be an int >= 1, got 0"),
            ((1, 0), ValueError, r"rate_limit per must be a number of seconds > 0, got 0"),
            ((1, "1"), TypeError, r"rate_limit per must be a number of seconds > 0, got str"),
            (5, TypeError, r"rate_limit must be None or a \(count, per_seconds\) tuple"),
            ((1, 2, 3), TypeError, r"rate_limit must be None or a \(count, per_seconds\) tuple"),
        ],
    )
    def test_bad_options(self, bad: Any, error: type[Exception], message: str) -> None:
        for make in (map_, filter_, flat_map):
            with pytest.raises(error, match=message):
                make(str, rate_limit=bad)


class TestThrottleFirst:
    @ASYNC_SETTINGS
    @given(xs=ints, latencies=delays)
    async def test_a_long_window_keeps_the_first(
        self, xs: list[int], latencies: list[float | None]
    ) -> None:
        with anyio.fail_after(10):
            out = await stream(slow_source(xs, latencies)).pipe(throttle_first(HOUR)).collect()
        assert out == xs[:1]

    async def test_early_exit(self) -> None:
        source = TrackedSource(range(100))
        with anyio.fail_after(10):
            out = await stream(source).pipe(throttle_first(HOUR), take(1)).collect()
        assert out == [0]
        source.assert_closed()
        assert source.pulled == 1


class TestDebounce:
    @ASYNC_SETTINGS
    @given(xs=ints, latencies=delays)
    async def test_a_burst_leaves_its_last_item(
        self, xs: list[int], latencies: list[float | None]
    ) -> None:
        """Nothing is quiet for an hour: only the last item, at the end of the stream."""
        with anyio.fail_after(10):
            out = await stream(slow_source(xs, latencies)).pipe(debounce(HOUR)).collect()
        assert out == xs[-1:]

    async def test_early_exit(self) -> None:
        """The source stalls after 0, 1, 2: an item goes out once quiet (2, unless a slow
        machine made a pause between them); then the consumer leaves."""
        source = Stalling([0, 1, 2])
        with anyio.fail_after(10):
            out = await stream(source).pipe(debounce(0.01), take(1)).collect()
        assert out in ([0], [1], [2])
        assert source.closed


class TestSample:
    @ASYNC_SETTINGS
    @given(xs=ints, latencies=delays)
    async def test_the_end_emits_the_latest_at_once(
        self, xs: list[int], latencies: list[float | None]
    ) -> None:
        with anyio.fail_after(10):
            out = await stream(slow_source(xs, latencies)).pipe(sample(HOUR)).collect()
        assert out == xs[-1:]

    async def test_early_exit(self) -> None:
        """The first tick with an item emits it (2, unless a slow machine spread the items over
        several ticks); then the consumer leaves."""
        source = Stalling([0, 1, 2])
        with anyio.fail_after(10):
            out = await stream(source).pipe(sample(0.01), take(1)).collect()
        assert out in ([0], [1], [2])
        assert source.closed


class TestDelay:
    @ASYNC_SETTINGS
    @given(xs=ints, latencies=delays, window=st.integers(1, 5))
    async def test_keeps_every_item_in_order(
        self, xs: list[int], latencies: list[float | None], window: int
    ) -> None:
        with anyio.fail_after(10):
            out = (
                await stream(slow_source(xs, latencies))
                .pipe(delay(0.0005, window=window))
                .collect()
            )
        assert out == xs

    async def test_window_bounds_what_is_read_ahead(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            async with stream(source).pipe(delay(0.01, window=4)).open() as items:
                assert await items.receive() == 0
                await anyio.wait_all_tasks_blocked()  # the read-ahead task waits for room
                assert source.pulled == 1 + 4
        source.assert_closed()

    def test_bad_window(self) -> None:
        with pytest.raises(ValueError, match=r"window must be an int >= 1, got 0"):
            delay(1, window=0)
