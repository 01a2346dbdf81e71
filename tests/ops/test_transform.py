"""Transform operators: map_, flat_map, flatten, scan, enumerate_, tap.

Each class checks its operator against a plain-list model on random inputs (with random
concurrency, order and latency where the operator has them), early exit, errors and options.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    enumerate_,
    flat_map,
    flatten,
    map_,
    scan,
    stream,
    take,
    tap,
)
from streamkit._source import CHECKPOINT_EVERY
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, delays, ints, pause, pool_options, streamkit_notes

pytestmark = pytest.mark.anyio


def check_against(out: list[Any], expected: list[Any], *, ordered: bool) -> None:
    if ordered:
        assert out == expected
    else:
        assert Counter(map(repr, out)) == Counter(map(repr, expected))
        assert len(out) == len(expected)


class Probe:
    """Wraps a function to record how many calls run at once, and how many ever started."""

    def __init__(self, latency: float = 0.005) -> None:
        self.latency = latency
        self.current = 0
        self.peak = 0
        self.started = 0
        self.cancelled = 0

    async def __call__(self, x: int) -> int:
        self.started += 1
        self.current += 1
        self.peak = max(self.peak, self.current)
        try:
            await anyio.sleep(self.latency)
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            self.current -= 1
        return x


async def check_concurrency_bound(make: Callable[[Probe, int, bool], Any], n_items: int) -> None:
    """With plenty of slow items, exactly ``concurrency`` calls run at once, never more."""
    for concurrency, ordered in [(2, True), (5, False), (5, True)]:
        probe = Probe()
        with anyio.fail_after(10):
            await stream(range(n_items)).pipe(make(probe, concurrency, ordered)).drain()
        assert probe.peak == concurrency
        assert probe.current == 0
        assert probe.started == n_items


async def check_window_bound(make: Callable[[Callable[[int], Any], int, int], Any]) -> None:
    """Ordered, with a slow first item: later items keep starting until exactly ``window``
    inputs are held, and no more start until the slow one is emitted."""
    concurrency, window = 3, 7
    started: list[int] = []
    window_filled = anyio.Event()
    started_when_first_done = -1

    async def fn(x: int) -> int:
        nonlocal started_when_first_done
        started.append(x)
        if len(started) >= window:
            window_filled.set()
        if x == 0:
            # Wait (up to 1 s) for the others to fill the window; then give the pool time to
            # (wrongly) start more.
            with anyio.move_on_after(1):
                await window_filled.wait()
            await anyio.sleep(0.02)
            started_when_first_done = len(started)
        return x

    with anyio.fail_after(10):
        async with stream(range(40)).pipe(make(fn, concurrency, window)).open() as items:
            out = [x async for x in items]
            stats = items.statistics().stages[0]
    assert started_when_first_done == window
    assert out == list(range(40))
    assert stats.peak_held == window


# --------------------------------------------------------------------------------------------


class TestMap:
    @ASYNC_SETTINGS
    @given(xs=ints, options=pool_options(), is_async=st.booleans(), latencies=delays)
    async def test_matches_list_model(
        self, xs: list[int], options: dict[str, Any], is_async: bool, latencies: list[float | None]
    ) -> None:
        def f(x: int) -> tuple[int, int]:
            return (x, x * 3)

        async def af(x: int) -> tuple[int, int]:
            await pause(latencies, x)
            return f(x)

        with anyio.fail_after(10):
            out = await stream(xs).pipe(map_(af if is_async else f, **options)).collect()
        check_against(out, [f(x) for x in xs], ordered=options["ordered"])

    @pytest.mark.parametrize("concurrency", [1, 3])
    async def test_sync_and_async_functions(self, concurrency: int) -> None:
        async def double(x: int) -> int:
            await checkpoint()
            return 2 * x

        with anyio.fail_after(10):
            strings = await stream(range(5)).pipe(map_(str, concurrency=concurrency)).collect()
            doubled = await stream(range(5)).pipe(map_(double, concurrency=concurrency)).collect()
        assert strings == ["0", "1", "2", "3", "4"]
        assert doubled == [0, 2, 4, 6, 8]

    @pytest.mark.parametrize("ordered", [True, False])
    async def test_concurrent_results_order(self, ordered: bool) -> None:
        """Completion order is forced to 2, 1, 0: ordered=False yields exactly that."""
        done = {i: anyio.Event() for i in range(3)}

        async def f(x: int) -> int:
            if x < 2:
                await done[x + 1].wait()
            done[x].set()
            return x

        with anyio.fail_after(10):
            out = await stream(range(3)).pipe(map_(f, concurrency=3, ordered=ordered)).collect()
        assert out == ([0, 1, 2] if ordered else [2, 1, 0])

    async def test_ordered_result_emitted_as_soon_as_next_in_line(self) -> None:
        """Item 0's result reaches the consumer while item 1 still runs (it waits for the
        consumer to have seen item 0): results are not held back in batches."""
        seen_first = anyio.Event()

        async def f(x: int) -> int:
            if x == 1:
                await seen_first.wait()
            return x

        with anyio.fail_after(10):
            async with stream(range(4)).pipe(map_(f, concurrency=2)).open() as items:
                assert await items.receive() == 0
                seen_first.set()
                assert [x async for x in items] == [1, 2, 3]

    async def test_concurrency_bound_is_exact(self) -> None:
        await check_concurrency_bound(
            lambda probe, c, ordered: map_(probe, concurrency=c, ordered=ordered), n_items=30
        )

    async def test_window_bounds_inputs_started(self) -> None:
        await check_window_bound(lambda fn, c, w: map_(fn, concurrency=c, window=w))

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_early_exit(self, concurrency: int) -> None:
        source = TrackedSource.infinite()
        window = 8
        with anyio.fail_after(10):
            out = (
                await stream(source)
                .pipe(map_(lambda x: x * 10, concurrency=concurrency, window=window), take(3))
                .collect()
            )
        assert out == [0, 10, 20]
        source.assert_closed()
        if concurrency == 1:
            assert source.pulled == 3
        else:
            # Fast calls free their worker at once, so workers pull until the window is full.
            assert 3 <= source.pulled <= 3 + window

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_error_reaches_caller_unwrapped(self, concurrency: int) -> None:
        boom = ValueError("boom")

        def f(x: int) -> int:
            if x == 13:
                raise boom
            return x

        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream(range(10, 30)).pipe(map_(f, concurrency=concurrency)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "map_(f" in note
        assert "on item 3: 13" in note

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_error_after_good_items(self, concurrency: int) -> None:
        """Items before the failing one are delivered (ordered), then the error comes."""
        boom = KeyError("k")

        async def f(x: int) -> int:
            if x == 5:
                raise boom
            await checkpoint()
            return x

        received: list[int] = []
        with anyio.fail_after(10), pytest.raises(KeyError) as info:
            async with stream(range(10)).pipe(map_(f, concurrency=concurrency)).open() as items:
                async for x in items:
                    received.append(x)
        assert info.value is boom
        assert received == [0, 1, 2, 3, 4]

    @pytest.mark.parametrize(("concurrency", "ordered"), [(1, True), (4, True), (4, False)])
    async def test_on_error_skip(self, concurrency: int, ordered: bool) -> None:
        async def f(x: int) -> int:
            await checkpoint()
            if x % 3 == 0:
                raise ValueError(x)
            return x

        with anyio.fail_after(10):
            async with (
                stream(range(10))
                .pipe(map_(f, concurrency=concurrency, ordered=ordered, on_error="skip"))
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        check_against(out, [1, 2, 4, 5, 7, 8], ordered=ordered)
        assert stats.skipped == 4
        assert stats.stages[0].skipped == 4
        assert stats.stages[0].operator.startswith("map_(f")

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"concurrency must be an int >= 1, got 0"):
            map_(str, concurrency=0)
        with pytest.raises(TypeError, match=r"concurrency must be an int >= 1, got float"):
            map_(str, concurrency=1.5)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"window must be an int >= 4, got 3"):
            map_(str, concurrency=4, window=3)
        with pytest.raises(TypeError, match=r"fn must be a callable \(a sync or async function\)"):
            map_(42)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"on_error must be one of \('raise', 'skip'\)"):
            map_(str, on_error="bogus")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"ordered must be True or False, got 'yes'"):
            map_(str, ordered="yes")  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------

KINDS = ["list", "tuple", "generator", "async generator", "stream"]


def make_inner(kind: str, values: list[Any], latencies: list[float | None]) -> Any:
    """``values`` as an iterable of the given kind (async ones with random latency)."""
    if kind == "list":
        return list(values)
    if kind == "tuple":
        return tuple(values)
    if kind == "generator":
        return (v for v in values)

    async def agen() -> AsyncIterator[Any]:
        for i, v in enumerate(values):
            await pause(latencies, i)
            yield v

    if kind == "async generator":
        return agen()
    return stream(values)


def inner_values(x: int) -> list[tuple[int, int]]:
    return [(x, k) for k in range(x % 4)]


def check_flat(out: list[Any], groups: list[list[Any]], *, ordered: bool) -> None:
    """Ordered: the concatenation. Unordered: a permutation that keeps each group in order."""
    expected = [v for group in groups for v in group]
    check_against(out, expected, ordered=ordered)
    if not ordered:
        for group in groups:
            members = set(map(repr, group))
            assert [v for v in out if repr(v) in members] == group


class TestFlatMap:
    @ASYNC_SETTINGS
    @given(
        xs=st.lists(st.integers(0, 1000), max_size=20, unique=True),
        options=pool_options(),
        is_async=st.booleans(),
        kind=st.sampled_from(KINDS),
        latencies=delays,
    )
    async def test_matches_list_model(
        self,
        xs: list[int],
        options: dict[str, Any],
        is_async: bool,
        kind: str,
        latencies: list[float | None],
    ) -> None:
        def f(x: int) -> Any:
            return make_inner(kind, inner_values(x), latencies)

        async def af(x: int) -> Any:
            await pause(latencies, x)
            return f(x)

        with anyio.fail_after(10):
            out = await stream(xs).pipe(flat_map(af if is_async else f, **options)).collect()
        check_flat(out, [inner_values(x) for x in xs], ordered=options["ordered"])

    @pytest.mark.parametrize("concurrency", [1, 3])
    async def test_sync_and_async_functions(self, concurrency: int) -> None:
        async def twice(x: int) -> list[int]:
            await checkpoint()
            return [x, x]

        with anyio.fail_after(10):
            assert await stream(["ab", "", "c"]).pipe(
                flat_map(list, concurrency=concurrency)
            ).collect() == ["a", "b", "c"]
            assert await stream([1, 2]).pipe(
                flat_map(twice, concurrency=concurrency)
            ).collect() == [1, 1, 2, 2]

    async def test_concurrency_bound_is_exact(self) -> None:
        async def run(probe: Probe, x: int) -> list[int]:
            return [await probe(x)] * 2

        await check_concurrency_bound(
            lambda probe, c, ordered: flat_map(
                lambda x: run(probe, x), concurrency=c, ordered=ordered
            ),
            n_items=30,
        )

    async def test_window_bounds_inputs_started(self) -> None:
        async def one(fn: Callable[[int], Any], x: int) -> list[int]:
            return [await fn(x)]

        await check_window_bound(
            lambda fn, c, w: flat_map(lambda x: one(fn, x), concurrency=c, window=w)
        )

    @pytest.mark.parametrize("ordered", [True, False])
    @pytest.mark.parametrize("result", [iter, list], ids=["iterator", "list"])
    async def test_buffered_outputs_bounded(
        self, ordered: bool, result: Callable[[range], Any]
    ) -> None:
        """Inputs with many outputs and a slow consumer: at most window (+1 for the input next
        in line) results wait in the stage, and at most window inputs are held; also for a
        list, which the pool puts directly."""
        window = 4
        peak_buffered = peak_held = 0
        results = flat_map(
            lambda x: result(range(50)), concurrency=2, ordered=ordered, window=window
        )
        with anyio.fail_after(10):
            async with stream(range(6)).pipe(results).open() as items:
                n = 0
                async for _ in items:
                    n += 1
                    await checkpoint()
                    stats = items.statistics().stages[0]
                    peak_buffered = max(peak_buffered, stats.buffered)
                    peak_held = max(peak_held, stats.held)
        assert n == 300
        assert 0 < peak_buffered <= window + 1
        assert peak_held <= window

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_early_exit(self, concurrency: int) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = (
                await stream(source)
                .pipe(flat_map(lambda x: [x, x], concurrency=concurrency, window=6), take(5))
                .collect()
            )
        assert out == [0, 0, 1, 1, 2]
        source.assert_closed()
        if concurrency == 1:
            assert source.pulled == 3
        else:
            assert 3 <= source.pulled <= 3 + 6

    async def test_early_exit_closes_inner_iterables(self) -> None:
        inners: list[TrackedSource[int]] = []

        def f(x: int) -> TrackedSource[int]:
            inners.append(TrackedSource.infinite())
            return inners[-1]

        with anyio.fail_after(10):
            out = await stream(TrackedSource.infinite()).pipe(flat_map(f), take(3)).collect()
        assert out == [0, 1, 2]
        assert len(inners) == 1
        inners[0].assert_closed()
        assert inners[0].pulled == 3

    @pytest.mark.parametrize("concurrency", [1, 4])
    @pytest.mark.parametrize("where", ["call", "inner iteration"])
    async def test_error_reaches_caller_unwrapped(self, concurrency: int, where: str) -> None:
        boom = RuntimeError("boom")

        async def failing_inner() -> AsyncIterator[int]:
            yield -1
            raise boom

        def f(x: int) -> Any:
            if x == 102:
                if where == "call":
                    raise boom
                return failing_inner()
            return [x]

        with anyio.fail_after(10), pytest.raises(RuntimeError) as info:
            await stream(range(100, 110)).pipe(flat_map(f, concurrency=concurrency)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "flat_map(f" in note
        assert "on item 2: 102" in note

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_on_error_skip(self, concurrency: int) -> None:
        def f(x: int) -> list[int]:
            if x == 2:
                raise ValueError(x)
            return [x, x]

        with anyio.fail_after(10):
            async with (
                stream(range(5))
                .pipe(flat_map(f, concurrency=concurrency, on_error="skip"))
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        assert out == [0, 0, 1, 1, 3, 3, 4, 4]
        assert stats.skipped == 1

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"concurrency must be an int >= 1, got 0"):
            flat_map(list, concurrency=0)
        with pytest.raises(ValueError, match=r"window must be an int >= 2, got 1"):
            flat_map(list, concurrency=2, window=1)
        with pytest.raises(TypeError, match=r"fn must be a callable"):
            flat_map([1, 2])  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"on_error must be one of \('raise', 'skip'\)"):
            flat_map(list, on_error="ignore")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"ordered must be True or False, got 1"):
            flat_map(list, ordered=1)  # type: ignore[call-overload]


class TestFlatten:
    @ASYNC_SETTINGS
    @given(
        groups=st.lists(st.lists(st.integers(), max_size=5), max_size=10),
        kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
        options=pool_options(),
        latencies=delays,
    )
    async def test_matches_list_model(
        self,
        groups: list[list[int]],
        kinds: list[str],
        options: dict[str, Any],
        latencies: list[float | None],
    ) -> None:
        # Tag values so that equal integers in different groups stay distinguishable.
        tagged = [[(g, v) for v in group] for g, group in enumerate(groups)]
        inners = [make_inner(kinds[g % len(kinds)], vs, latencies) for g, vs in enumerate(tagged)]
        with anyio.fail_after(10):
            out = await stream(inners).pipe(flatten(**options)).collect()
        check_flat(out, tagged, ordered=options["ordered"])

    async def test_mixed_inner_kinds(self) -> None:
        async def agen() -> AsyncIterator[str]:
            yield "x"

        inners: list[Iterable[Any] | Any] = [[1, 2], (3,), agen(), stream.range(2), "ab"]
        with anyio.fail_after(10):
            assert await stream(inners).pipe(flatten()).collect() == [1, 2, 3, "x", 0, 1, "a", "b"]

    async def test_early_exit(self) -> None:
        inners: list[TrackedSource[int]] = []

        def make_inners() -> Iterable[TrackedSource[int]]:
            while True:
                inners.append(TrackedSource.infinite())
                yield inners[-1]

        outer = TrackedSource(make_inners())
        with anyio.fail_after(10):
            out = await stream(outer).pipe(flatten(), take(4)).collect()
        assert out == [0, 1, 2, 3]
        outer.assert_closed()
        assert outer.pulled == 1
        (inner,) = inners
        inner.assert_closed()
        assert inner.pulled == 4

    @pytest.mark.parametrize("concurrency", [1, 3])
    async def test_error_from_inner_reaches_caller_unwrapped(self, concurrency: int) -> None:
        boom = OSError("inner failed")

        async def bad() -> AsyncIterator[int]:
            yield 1
            raise boom

        with anyio.fail_after(10), pytest.raises(OSError) as info:
            await stream([[0], bad(), [2]]).pipe(flatten(concurrency=concurrency)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "flatten" in note
        assert "on item 1" in note

    async def test_long_and_empty_lists(self) -> None:
        """Lists and tuples are iterated in chunks of CHECKPOINT_EVERY; none is lost or
        repeated at the chunk edges."""
        inners: list[Any] = [list(range(2 * CHECKPOINT_EVERY + 1)), [], (), tuple(range(300))]
        with anyio.fail_after(10):
            out = await stream(inners).pipe(flatten()).collect()
        assert out == [v for inner in inners for v in inner]

    async def test_long_list_stays_cancellable(self) -> None:
        """A consumer that never awaits still sees an outside cancellation within
        CHECKPOINT_EVERY items of one long list, as it would with a sync source."""
        received = 0
        with anyio.fail_after(10):
            with anyio.CancelScope() as scope:
                async with (
                    stream([list(range(10 * CHECKPOINT_EVERY))]).pipe(flatten()).open() as items
                ):
                    async for _ in items:
                        received += 1
                        if received == 10:
                            scope.cancel()
            assert scope.cancelled_caught
        assert received <= CHECKPOINT_EVERY

    async def test_non_iterable_item(self) -> None:
        with anyio.fail_after(10), pytest.raises(TypeError, match="got int") as info:
            await stream([[1], 2]).pipe(flatten()).collect()
        (note,) = streamkit_notes(info.value)
        assert "on item 1: 2" in note

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"concurrency must be an int >= 1, got 0"):
            flatten(concurrency=0)
        with pytest.raises(ValueError, match=r"window must be an int >= 3, got 2"):
            flatten(concurrency=3, window=2)
        with pytest.raises(TypeError, match=r"ordered must be True or False"):
            flatten(ordered="no")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------


def mix(acc: int, x: int) -> int:
    """Order-sensitive accumulation, so a reordering bug shows."""
    return (acc * 31 + x) % 1_000_003


class TestScan:
    @ASYNC_SETTINGS
    @given(xs=ints, initial=st.integers(-5, 5), is_async=st.booleans(), latencies=delays)
    async def test_matches_accumulate(
        self, xs: list[int], initial: int, is_async: bool, latencies: list[float | None]
    ) -> None:
        async def amix(acc: int, x: int) -> int:
            await pause(latencies, x)
            return mix(acc, x)

        with anyio.fail_after(10):
            out = await stream(xs).pipe(scan(amix if is_async else mix, initial)).collect()
        assert out == list(itertools.accumulate(xs, mix, initial=initial))[1:]

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(scan(lambda a, x: a + x, 0), take(4)).collect()
        assert out == [0, 1, 3, 6]
        source.assert_closed()
        assert source.pulled == 4

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_error_reaches_caller_unwrapped(self, is_async: bool) -> None:
        boom = ZeroDivisionError("div")

        def f(acc: int, x: int) -> int:
            if x == 7:
                raise boom
            return acc + x

        async def af(acc: int, x: int) -> int:
            await checkpoint()
            return f(acc, x)

        with anyio.fail_after(10), pytest.raises(ZeroDivisionError) as info:
            await stream([5, 6, 7, 8]).pipe(scan(af if is_async else f, 0)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "scan(" in note
        assert "on item 2: 7" in note

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"fn must be a callable"):
            scan(None, 0)  # type: ignore[call-overload]


class TestEnumerate:
    @ASYNC_SETTINGS
    @given(xs=ints, start=st.integers(-10, 10))
    async def test_matches_builtin(self, xs: list[int], start: int) -> None:
        with anyio.fail_after(10):
            out = await stream(xs).pipe(enumerate_(start)).collect()
        assert out == list(enumerate(xs, start))

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(enumerate_(1), take(2)).collect()
        assert out == [(1, 0), (2, 1)]
        source.assert_closed()
        assert source.pulled == 2

    async def test_upstream_error_passes_through(self) -> None:
        boom = ValueError("upstream")

        async def source() -> AsyncIterator[str]:
            yield "a"
            raise boom

        received: list[tuple[int, str]] = []
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            async with stream(source()).pipe(enumerate_()).open() as items:
                async for pair in items:
                    received.append(pair)
        assert info.value is boom
        assert received == [(0, "a")]

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"start must be an int"):
            enumerate_("1")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"start must be an int"):
            enumerate_(1.0)  # type: ignore[arg-type]


class TestTap:
    @ASYNC_SETTINGS
    @given(xs=ints, is_async=st.booleans(), latencies=delays)
    async def test_passes_items_and_sees_each_once(
        self, xs: list[int], is_async: bool, latencies: list[float | None]
    ) -> None:
        seen: list[int] = []

        async def aseen(x: int) -> None:
            await pause(latencies, x)
            seen.append(x)

        with anyio.fail_after(10):
            out = await stream(xs).pipe(tap(aseen if is_async else seen.append)).collect()
        assert out == xs
        assert seen == xs

    async def test_result_is_ignored(self) -> None:
        with anyio.fail_after(10):
            assert await stream([1, 2]).pipe(tap(lambda x: None)).collect() == [1, 2]

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        seen: list[int] = []
        with anyio.fail_after(10):
            out = await stream(source).pipe(tap(seen.append), take(3)).collect()
        assert out == [0, 1, 2]
        assert seen == [0, 1, 2]
        source.assert_closed()
        assert source.pulled == 3

    async def test_error_reaches_caller_unwrapped(self) -> None:
        boom = LookupError("tap")

        async def check(x: str) -> None:
            if x == "c":
                raise boom

        with anyio.fail_after(10), pytest.raises(LookupError) as info:
            await stream("abcd").pipe(tap(check)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "tap(check)" in note
        assert "on item 2: 'c'" in note

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"fn must be a callable"):
            tap("print")  # type: ignore[arg-type]
