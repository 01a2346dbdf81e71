"""Selection operators: filter_, take, take_while, skip, skip_while.

Each class checks its operator against a plain-list model (``itertools`` where a twin exists)
on random inputs, then early exit, errors and options.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import filter_, map_, skip, skip_while, stream, take, take_while
from streamkit.testing import TrackedSource
from tests.strategies import (
    ASYNC_SETTINGS,
    delays,
    failing_source,
    ints,
    pause,
    pool_options,
    streamkit_notes,
)

pytestmark = pytest.mark.anyio


class Predicate:
    """``x % 7 >= threshold``, sync or async, counting its calls."""

    def __init__(self, threshold: int, latencies: list[float | None] | None = None) -> None:
        self.threshold = threshold
        self.latencies = latencies
        self.calls: list[int] = []

    def __call__(self, x: int) -> Any:
        if self.latencies is None:
            self.calls.append(x)
            return self.test(x)
        return self._async(x)

    async def _async(self, x: int) -> bool:
        assert self.latencies is not None
        await pause(self.latencies, x)
        self.calls.append(x)
        return self.test(x)

    def test(self, x: int) -> bool:
        return x % 7 >= self.threshold


# --------------------------------------------------------------------------------------------


class TestFilter:
    @ASYNC_SETTINGS
    @given(
        xs=ints,
        threshold=st.integers(0, 7),
        options=pool_options(),
        is_async=st.booleans(),
        latencies=delays,
    )
    async def test_matches_list_model(
        self,
        xs: list[int],
        threshold: int,
        options: dict[str, Any],
        is_async: bool,
        latencies: list[float | None],
    ) -> None:
        pred = Predicate(threshold, latencies if is_async else None)
        with anyio.fail_after(10):
            out = await stream(xs).pipe(filter_(pred, **options)).collect()
        expected = [x for x in xs if pred.test(x)]
        if options["ordered"]:
            assert out == expected
        else:
            assert Counter(out) == Counter(expected)
        assert Counter(pred.calls) == Counter(xs), "pred is called once per item"

    @pytest.mark.parametrize("concurrency", [1, 3])
    async def test_truthiness_and_async_predicates(self, concurrency: int) -> None:
        async def odd(x: int) -> int:
            await checkpoint()
            return x % 2

        with anyio.fail_after(10):
            by_truth = (
                await stream(range(6))
                .pipe(filter_(lambda x: x % 3, concurrency=concurrency))
                .collect()
            )
            by_async = await stream(range(6)).pipe(filter_(odd, concurrency=concurrency)).collect()
        assert by_truth == [1, 2, 4, 5]
        assert by_async == [1, 3, 5]

    async def test_concurrency_bound_is_exact(self) -> None:
        for concurrency, ordered in [(2, True), (6, False)]:
            current = peak = 0

            async def slow_pred(x: int) -> bool:
                nonlocal current, peak
                current += 1
                peak = max(peak, current)
                try:
                    await anyio.sleep(0.005)
                finally:
                    current -= 1
                return x % 2 == 0

            with anyio.fail_after(10):
                out = (
                    await stream(range(30))
                    .pipe(filter_(slow_pred, concurrency=concurrency, ordered=ordered))
                    .collect()
                )
            assert sorted(out) == list(range(0, 30, 2))
            assert peak == concurrency
            assert current == 0

    async def test_rejections_behind_a_slow_first_item_do_not_deadlock(self) -> None:
        """The slow first item lets the others fill the (default) window; when it finishes,
        the rejected items behind it leave the window without any result being popped, and
        the worker waiting for room must be woken. A correct run takes ~50 ms."""

        async def pred(x: int) -> bool:
            if x == 0:
                await anyio.sleep(0.05)
            return False

        with anyio.fail_after(3):
            out = await stream(range(100)).pipe(filter_(pred, concurrency=2)).collect()
        assert out == []

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_early_exit(self, concurrency: int) -> None:
        source = TrackedSource.infinite()
        window = 6
        with anyio.fail_after(10):
            out = (
                await stream(source)
                .pipe(
                    filter_(lambda x: x % 2 == 0, concurrency=concurrency, window=window), take(3)
                )
                .collect()
            )
        assert out == [0, 2, 4]
        source.assert_closed()
        if concurrency == 1:
            assert source.pulled == 5
        else:
            assert 5 <= source.pulled <= 5 + window

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_error_reaches_caller_unwrapped(self, concurrency: int) -> None:
        boom = ValueError("bad item")

        async def pred(x: str) -> bool:
            await checkpoint()
            if x == "d":
                raise boom
            return True

        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream("abcdef").pipe(filter_(pred, concurrency=concurrency)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "filter_(pred" in note
        assert "on item 3: 'd'" in note

    @pytest.mark.parametrize(("concurrency", "ordered"), [(1, True), (3, True), (3, False)])
    async def test_on_error_skip(self, concurrency: int, ordered: bool) -> None:
        def pred(x: int) -> bool:
            if x in {2, 5}:
                raise ValueError(x)
            return x % 2 == 0

        with anyio.fail_after(10):
            async with (
                stream(range(8))
                .pipe(filter_(pred, concurrency=concurrency, ordered=ordered, on_error="skip"))
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        assert (out if ordered else sorted(out)) == [0, 4, 6]
        assert stats.skipped == 2
        assert stats.stages[0].operator.startswith("filter_(pred")

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"concurrency must be an int >= 1, got 0"):
            filter_(bool, concurrency=0)
        with pytest.raises(ValueError, match=r"concurrency must be an int >= 1, got -2"):
            filter_(bool, concurrency=-2)
        with pytest.raises(ValueError, match=r"window must be an int >= 8, got 4"):
            filter_(bool, concurrency=8, window=4)
        with pytest.raises(TypeError, match=r"pred must be a callable \(a sync or async"):
            filter_(True)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"on_error must be one of \('raise', 'skip'\)"):
            filter_(bool, on_error="bogus")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"ordered must be True, False or 'key', got 'yes'"):
            filter_(bool, ordered="yes")  # type: ignore[arg-type]


class TestTake:
    @ASYNC_SETTINGS
    @given(xs=ints, n=st.integers(0, 35))
    async def test_matches_slice(self, xs: list[int], n: int) -> None:
        source = TrackedSource(xs)
        with anyio.fail_after(10):
            out = await stream(source).pipe(take(n)).collect()
        assert out == xs[:n]
        source.assert_closed()
        assert source.pulled == min(n, len(xs)), "take pulls exactly what it emits"

    async def test_take_zero_pulls_nothing(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            assert await stream(source).pipe(take(0)).collect() == []
        assert source.pulled == 0
        source.assert_closed()

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            async with stream(source).pipe(take(3)).open() as items:
                assert [x async for x in items] == [0, 1, 2]
                # Closed on the n-th item, before the block ends.
                source.assert_closed()
        assert source.pulled == 3

    @pytest.mark.parametrize("ordered", [True, False])
    async def test_stops_upstream_work_at_once(self, ordered: bool) -> None:
        """The first n calls return at once, every later one blocks. Each pull takes a free
        worker, so at most n + concurrency items are ever pulled; on the n-th item the calls in
        flight are cancelled and the source is closed before the item is passed on."""
        n, concurrency = 3, 4
        started = in_flight = cancelled = 0

        async def fn(x: int) -> int:
            nonlocal started, in_flight, cancelled
            started += 1
            if x < n:
                return x
            in_flight += 1
            try:
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                cancelled += 1
                raise
            finally:
                in_flight -= 1
            raise AssertionError("unreachable")

        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            async with (
                stream(source)
                .pipe(map_(fn, concurrency=concurrency, ordered=ordered), take(n))
                .open() as items
            ):
                out = [await items.receive() for _ in range(n)]
                assert in_flight == 0, "calls in flight when take(n) completed"
                source.assert_closed()
                started_at_nth = started
                await anyio.sleep(0.01)
                assert started == started_at_nth, "a call started after take(n) completed"
                with pytest.raises(anyio.EndOfStream):
                    await items.receive()
        assert sorted(out) == [0, 1, 2]
        assert n <= source.pulled <= n + concurrency
        assert started == source.pulled, "an item was pulled without a free worker"
        assert cancelled == started - n

    async def test_upstream_error_before_n(self) -> None:
        boom = ValueError("upstream")
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream(failing_source([1, 2], boom)).pipe(take(5)).collect()
        assert info.value is boom

    async def test_upstream_error_after_n_is_never_reached(self) -> None:
        boom = ValueError("upstream")
        with anyio.fail_after(10):
            assert await stream(failing_source([1, 2], boom)).pipe(take(2)).collect() == [1, 2]

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"n must be an int >= 0, got -1"):
            take(-1)
        with pytest.raises(TypeError, match=r"n must be an int >= 0, got float"):
            take(2.0)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"n must be an int >= 0, got bool"):
            take(True)


class TestTakeWhile:
    @ASYNC_SETTINGS
    @given(xs=ints, threshold=st.integers(0, 7), is_async=st.booleans(), latencies=delays)
    async def test_matches_itertools(
        self, xs: list[int], threshold: int, is_async: bool, latencies: list[float | None]
    ) -> None:
        pred = Predicate(threshold, latencies if is_async else None)
        source = TrackedSource(xs)
        with anyio.fail_after(10):
            out = await stream(source).pipe(take_while(pred)).collect()
        expected = list(itertools.takewhile(pred.test, xs))
        assert out == expected
        # pred sees the items it keeps and the first one it rejects, nothing more.
        checked = xs[: len(expected) + 1]
        assert pred.calls == checked
        assert source.pulled == len(checked)
        source.assert_closed()

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            assert await stream(source).pipe(take_while(lambda x: x < 4)).collect() == [0, 1, 2, 3]
        source.assert_closed()
        assert source.pulled == 5

    async def test_early_exit_downstream(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(take_while(lambda x: True), take(2)).collect()
        assert out == [0, 1]
        source.assert_closed()
        assert source.pulled == 2

    async def test_error_reaches_caller_unwrapped(self) -> None:
        boom = TypeError("cannot compare")

        async def pred(x: int) -> bool:
            if x == 12:
                raise boom
            return True

        with anyio.fail_after(10), pytest.raises(TypeError) as info:
            await stream([10, 11, 12, 13]).pipe(take_while(pred)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "take_while(pred)" in note
        assert "on item 2: 12" in note

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"pred must be a callable"):
            take_while(None)  # type: ignore[arg-type]


class TestSkip:
    @ASYNC_SETTINGS
    @given(xs=ints, n=st.integers(0, 35))
    async def test_matches_slice(self, xs: list[int], n: int) -> None:
        source = TrackedSource(xs)
        with anyio.fail_after(10):
            out = await stream(source).pipe(skip(n)).collect()
        assert out == xs[n:]
        assert source.pulled == len(xs)
        source.assert_closed()

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            assert await stream(source).pipe(skip(2), take(3)).collect() == [2, 3, 4]
        source.assert_closed()
        assert source.pulled == 5

    @pytest.mark.parametrize("n", [1, 5])
    async def test_upstream_error_passes_through(self, n: int) -> None:
        boom = RuntimeError("upstream")
        with anyio.fail_after(10), pytest.raises(RuntimeError) as info:
            await stream(failing_source([1, 2, 3], boom)).pipe(skip(n)).collect()
        assert info.value is boom

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"n must be an int >= 0, got -3"):
            skip(-3)
        with pytest.raises(TypeError, match=r"n must be an int >= 0, got str"):
            skip("3")  # type: ignore[arg-type]


class TestSkipWhile:
    @ASYNC_SETTINGS
    @given(xs=ints, threshold=st.integers(0, 7), is_async=st.booleans(), latencies=delays)
    async def test_matches_itertools(
        self, xs: list[int], threshold: int, is_async: bool, latencies: list[float | None]
    ) -> None:
        pred = Predicate(threshold, latencies if is_async else None)
        with anyio.fail_after(10):
            out = await stream(xs).pipe(skip_while(pred)).collect()
        assert out == list(itertools.dropwhile(pred.test, xs))
        # pred stops being called after its first false result.
        dropped = len(xs) - len(out)
        assert pred.calls == xs[: min(len(xs), dropped + 1)]

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(skip_while(lambda x: x < 3), take(2)).collect()
        assert out == [3, 4]
        source.assert_closed()
        assert source.pulled == 5

    async def test_error_reaches_caller_unwrapped(self) -> None:
        boom = ArithmeticError("pred")

        def pred(x: int) -> bool:
            if x == 1:
                raise boom
            return True

        with anyio.fail_after(10), pytest.raises(ArithmeticError) as info:
            await stream([0, 1, 2]).pipe(skip_while(pred)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "skip_while(pred)" in note
        assert "on item 1: 1" in note

    async def test_items_after_the_first_kept_are_not_checked(self) -> None:
        def pred(x: int) -> bool:
            if x > 5:
                raise AssertionError("pred called after skipping stopped")
            return x < 3

        with anyio.fail_after(10):
            assert await stream(range(8)).pipe(skip_while(pred)).collect() == [3, 4, 5, 6, 7]

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"pred must be a callable"):
            skip_while(3)  # type: ignore[arg-type]
