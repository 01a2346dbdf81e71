"""Fault injection: random failures, latencies and cancellation points in concurrent pipelines.

Whatever happens, afterwards: nothing is lost or duplicated (skipped items are counted), the
source is closed, no call of the user function is still running, nothing keeps running in the
background, and outside cancellation is absorbed by the scope that caused it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from hypothesis import event, given
from hypothesis import strategies as st

from streamkit import Stream, batch, buffer, map_, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import (
    ASYNC_SETTINGS,
    PER_ITEM_OPS,
    ObservedCalls,
    assert_part_of,
    cancel_when,
    pause,
    per_item_op,
    per_item_outputs,
    pool_options,
)

pytestmark = pytest.mark.anyio


latency_lists = st.lists(st.sampled_from([None, 0.0, 0.0005, 0.002]), min_size=1, max_size=6)
"""Per-item latency, picked by ``item % len``: none, a checkpoint, or a short sleep."""

failure_sets = st.frozensets(st.integers(0, 39), max_size=40)
"""Items whose call fails (those beyond the input length are ignored)."""


class Fault(Exception):
    """The injected failure, tagged with its item."""

    def __init__(self, item: int) -> None:
        super().__init__(item)
        self.item = item


class FaultyCalls(ObservedCalls):
    """The user function under test: random latency, failure on chosen items."""

    def __init__(
        self,
        latencies: list[float | None],
        failing: frozenset[int] = frozenset(),
        *,
        async_cleanup: bool = False,
    ) -> None:
        super().__init__()
        self.latencies = latencies
        self.failing = failing
        self.async_cleanup = async_cleanup
        self.raised: dict[int, Fault] = {}

    async def behave(self, x: int) -> int:
        try:
            await pause(self.latencies, x)
            if x in self.failing:
                self.raised[x] = Fault(x)
                raise self.raised[x]
            return x
        finally:
            if self.async_cleanup:
                with anyio.CancelScope(shield=True):
                    await checkpoint()


async def assert_nothing_runs_on(source: TrackedSource[int], calls: FaultyCalls) -> None:
    """Nothing of the pipeline survives it: no further pull, no further call."""
    pulled, started = source.pulled, calls.started
    await anyio.sleep(0.003)
    assert source.pulled == pulled
    assert calls.started == started


class TestRandomFailures:
    @ASYNC_SETTINGS
    @given(
        n=st.integers(0, 40),
        failures=failure_sets,
        kind=st.sampled_from(PER_ITEM_OPS),
        options=pool_options(max_extra_window=6),
        latencies=latency_lists,
    )
    async def test_skip_loses_nothing_and_counts_failures(
        self,
        n: int,
        failures: frozenset[int],
        kind: str,
        options: dict[str, Any],
        latencies: list[float | None],
    ) -> None:
        failing = frozenset(x for x in failures if x < n)
        calls = FaultyCalls(latencies, failing)
        source = TrackedSource(range(n))
        with anyio.fail_after(10):
            async with (
                stream(source)
                .pipe(per_item_op(kind, calls, **options, on_error="skip"))
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()

        # Every input either produced its outputs or was counted as skipped, exactly once.
        ok = [x for x in range(n) if x not in failing]
        want = [v for x in ok for v in per_item_outputs(kind, x)]
        assert len(set(out)) == len(out), "duplicate outputs"
        if options["ordered"]:
            assert out == want
        else:
            assert Counter(out) == Counter(want)
        assert stats.skipped == len(failing)
        assert stats.stages[0].skipped == len(failing)
        assert len(ok) + stats.skipped == n
        assert calls.started == n, "each input is called exactly once"
        source.assert_closed()
        calls.assert_idle()

    @ASYNC_SETTINGS
    @given(
        n=st.integers(1, 40),
        failures=failure_sets.filter(bool),
        kind=st.sampled_from(PER_ITEM_OPS),
        options=pool_options(max_extra_window=6),
        latencies=latency_lists,
    )
    async def test_raise_delivers_one_original_error(
        self,
        n: int,
        failures: frozenset[int],
        kind: str,
        options: dict[str, Any],
        latencies: list[float | None],
    ) -> None:
        failing = frozenset(x % n for x in failures)
        calls = FaultyCalls(latencies, failing)
        source = TrackedSource(range(n))
        received: list[Any] = []
        with anyio.fail_after(10), pytest.raises(Fault) as info:
            async with stream(source).pipe(per_item_op(kind, calls, **options)).open() as items:
                async for value in items:
                    received.append(value)

        fault = info.value
        assert fault is calls.raised[fault.item], "not the object the function raised"
        notes = [note for note in fault.__notes__ if note.startswith("streamkit: raised by")]
        assert len(notes) == 1
        assert f"on item {fault.item}: {fault.item}" in notes[0]
        # No failure vanishes: every other call that failed is counted in a second note.
        others = [note for note in fault.__notes__ if " failed too " in note]
        assert len(fault.__notes__) == 1 + len(others)
        counted = int(others[0].split()[1]) if others else 0
        assert 1 + counted == len(calls.raised)
        assert len(set(received)) == len(received), "duplicate outputs"
        if options["ordered"]:
            # Everything before the first failing item, in order, then its error.
            assert fault.item == min(failing)
            assert received == [v for x in range(fault.item) for v in per_item_outputs(kind, x)]
        else:
            allowed = Counter(
                v for x in range(n) if x not in failing for v in per_item_outputs(kind, x)
            )
            assert not Counter(received) - allowed
        source.assert_closed()
        calls.assert_idle()

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_skip_in_several_stages(self, concurrency: int) -> None:
        first = FaultyCalls([0.0], frozenset({1, 4}))
        second = FaultyCalls([None, 0.0], frozenset({2, 7}))
        with anyio.fail_after(10):
            async with (
                stream(range(10))
                .pipe(
                    map_(first, concurrency=concurrency, on_error="skip"),
                    map_(second, concurrency=concurrency, on_error="skip"),
                )
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        assert out == [0, 3, 5, 6, 8, 9]
        assert [stage.skipped for stage in stats.stages] == [2, 2]
        assert stats.skipped == 4
        first.assert_idle()
        second.assert_idle()


DOWNSTREAM: dict[str, Any] = {
    "none": list,
    "take": lambda: [take(10_000)],
    "batch": lambda: [batch(3)],
    "batch with timeout": lambda: [batch(3, timeout=0.002)],
    "buffer": lambda: [buffer(2)],
}


class TestCancellation:
    @ASYNC_SETTINGS
    @given(
        kind=st.sampled_from(PER_ITEM_OPS),
        options=pool_options(max_extra_window=6),
        latencies=latency_lists,
        downstream=st.sampled_from(sorted(DOWNSTREAM)),
        infinite=st.booleans(),
        consume=st.sampled_from(["collect", "open"]),
        cancel_at=st.one_of(
            st.tuples(st.just("deadline"), st.sampled_from([0, 0.0005, 0.001, 0.003, 0.01])),
            st.tuples(st.just("call"), st.integers(1, 30)),
        ),
        async_cleanup=st.booleans(),
    )
    async def test_outside_cancellation_at_random_points(
        self,
        kind: str,
        options: dict[str, Any],
        latencies: list[float | None],
        downstream: str,
        infinite: bool,
        consume: str,
        cancel_at: tuple[str, float],
        async_cleanup: bool,
    ) -> None:
        calls = FaultyCalls(latencies, async_cleanup=async_cleanup)
        source = TrackedSource.infinite() if infinite else TrackedSource(range(25))
        pipeline: Stream[Any] = stream(source).pipe(
            per_item_op(kind, calls, **options), *DOWNSTREAM[downstream]()
        )
        received: list[Any] = []
        with anyio.fail_after(10):
            with anyio.CancelScope() as scope:
                cancel_when(scope, cancel_at, calls)
                ended_normally = False
                if consume == "collect":
                    received = await pipeline.collect()
                else:
                    async with pipeline.open() as items:
                        async for value in items:
                            received.append(value)
                        ended_normally = True  # the loop saw the end of the stream
                ended_normally = True
            # Reaching this line means the cancellation was absorbed by its own scope and
            # not turned into another exception.
            event(f"cancelled: {scope.cancel_called}")
            if infinite:
                assert scope.cancelled_caught
                assert not ended_normally, "an endless pipeline ended without the cancellation"
            await assert_nothing_runs_on(source, calls)

        source.assert_closed()
        calls.assert_idle()
        flat = [
            v for part in received for v in (part if downstream.startswith("batch") else [part])
        ]
        limit = None if infinite else 25
        universe = [
            v
            for x in range(limit if limit is not None else source.pulled)
            for v in per_item_outputs(kind, x)
        ]
        assert_part_of(flat, universe, ordered=options["ordered"])
        if ended_normally:
            # A consumer that saw a normal end (no cancellation) must have every item: a
            # cancelled pipeline may not pass for a complete one.
            assert Counter(flat) == Counter(universe), "output truncated, yet ended normally"

    @pytest.mark.parametrize("concurrency", [1, 4])
    async def test_cancel_while_calls_block(self, concurrency: int) -> None:
        """Every call blocks forever; a deadline outside ends everything promptly."""
        in_flight = 0

        async def stuck(x: int) -> int:
            nonlocal in_flight
            in_flight += 1
            try:
                await anyio.sleep_forever()
            finally:
                in_flight -= 1
            raise AssertionError("unreachable")

        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            with anyio.move_on_after(0.02) as scope:
                await stream(source).pipe(map_(stuck, concurrency=concurrency)).collect()
            assert scope.cancelled_caught
        assert in_flight == 0
        source.assert_closed()
        assert 1 <= source.pulled <= concurrency

    @pytest.mark.parametrize("ordered", [True, False])
    async def test_other_failures_counted_on_the_one_raised(self, ordered: bool) -> None:
        """Four calls run together; items 1 and 3 fail at once. Ordered, item 0 fails after
        them and its error is raised (first in order); unordered, the first of 1 and 3 is
        raised and item 0 is cancelled. Only one error is raised, and a note names the
        others."""
        errors = {x: Fault(x) for x in range(4)}
        all_started, two_failed = anyio.Event(), anyio.Event()
        started = 0
        failed: list[int] = []

        async def fn(x: int) -> int:
            nonlocal started
            started += 1
            if started == 4:
                all_started.set()
            await all_started.wait()
            if x == 2:
                return x
            if x == 0:
                await two_failed.wait()
                if not ordered:
                    await anyio.sleep_forever()
            failed.append(x)
            if len(failed) == 2:
                two_failed.set()
            raise errors[x]

        pipeline = stream(range(4)).pipe(map_(fn, concurrency=4, ordered=ordered))
        with anyio.fail_after(10), pytest.raises(Fault) as info:
            await pipeline.collect()
        raised = info.value
        assert raised is errors[0 if ordered else failed[0]]
        assert sorted(failed) == ([0, 1, 3] if ordered else [1, 3])
        others = sorted(set(failed) - {raised.item})
        shown = ", ".join(f"item {x} (Fault)" for x in others)
        label = "map_(fn, concurrency=4)" if ordered else "map_(fn, concurrency=4, ordered=False)"
        calls = "calls" if ordered else "call"
        assert raised.__notes__[1:] == [
            f"streamkit: {len(others)} other {calls} of {label} failed too before it stopped: "
            f"{shown}"
        ]

    async def test_cancel_does_not_hide_an_error_raised_first(self) -> None:
        """A failure that happened before the outside cancellation still reaches the caller."""
        boom = Fault(0)

        async def fail_then_wait(x: int) -> int:
            if x == 0:
                raise boom
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        with anyio.fail_after(10), pytest.raises(Fault) as info:
            with anyio.move_on_after(5):
                await stream(range(5)).pipe(map_(fail_then_wait, concurrency=3)).collect()
        assert info.value is boom


class TestRegressions:
    """Deterministic reproductions of bugs the random tests above found."""

    async def test_skipped_items_with_full_window_do_not_deadlock(self) -> None:
        """A slow first item while later ones fail (on_error="skip") fills the window; the
        worker that then waits for room must be woken when the slow item finishes and frees
        the window without any result being popped. A correct run takes ~50 ms."""

        async def fn(x: int) -> int:
            if x == 0:
                await anyio.sleep(0.05)
            raise Fault(x)

        with anyio.fail_after(3):
            async with (
                stream(range(3))
                .pipe(map_(fn, concurrency=2, window=2, on_error="skip"))
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        assert out == []
        assert stats.skipped == 3

    async def test_cancelled_call_is_not_skipped_in_ordered_output(self) -> None:
        """Outside cancellation hits the call of item 1 while item 2 is done and buffered. A
        consumer that keeps reading (here: after shielded work) must not get item 2 right
        after item 0: ordered output stays a prefix of the input order. Nor may the output
        just end as if complete: item 1 may not vanish without a trace, so the consumer
        either gets every item or sees the cancellation."""
        first_received = anyio.Event()
        call_1_cancelled = anyio.Event()
        received: list[int] = []
        with anyio.fail_after(10):
            with anyio.CancelScope() as scope:

                async def fn(x: int) -> int:
                    if x == 1:
                        await first_received.wait()
                        scope.cancel()
                        try:
                            await checkpoint()
                        except anyio.get_cancelled_exc_class():
                            call_1_cancelled.set()
                            raise
                    return x

                async with stream(range(3)).pipe(map_(fn, concurrency=3)).open() as items:
                    received.append(await items.receive())
                    first_received.set()
                    with anyio.move_on_after(2, shield=True):
                        await call_1_cancelled.wait()
                    assert call_1_cancelled.is_set()
                    try:
                        received.append(await items.receive())
                        received.extend([x async for x in items])
                    except anyio.EndOfStream:
                        pass
                    # Only reached if the stream ended normally rather than by cancellation:
                    # then nothing may be missing.
                    assert received == [0, 1, 2], "output truncated, yet ended normally"
            assert scope.cancelled_caught
        assert received == [0, 1, 2][: len(received)], "ordered output skipped an item"

    @pytest.mark.parametrize("ordered", [True, False])
    async def test_cancelled_while_waiting_for_input_is_not_a_normal_end(
        self, ordered: bool
    ) -> None:
        """Outside cancellation while every worker waits on the upstream (no input held): a
        consumer shielded from that cancellation must not see the stream end as if complete.
        (The pool used to end normally whenever no input was held.)"""

        async def source() -> AsyncIterator[int]:
            yield 0
            await anyio.sleep_forever()
            yield 1

        with anyio.fail_after(10):
            with anyio.CancelScope() as scope:
                pipeline = stream(source()).pipe(map_(str, concurrency=2, ordered=ordered))
                async with pipeline.open() as items:
                    assert await items.receive() == "0"
                    scope.cancel()
                    with anyio.CancelScope(shield=True):
                        with pytest.raises(anyio.BrokenResourceError, match="cancelled before"):
                            await items.receive()

    async def test_cancelled_before_start_with_a_timed_batch(self) -> None:
        """Outside cancellation before the first item, with ``batch(timeout=)`` reading a
        sequential stage: the cancellation is absorbed by its scope. (The batch's read-ahead
        task may still be inside the upstream generator when the pipeline closes it; that
        must not surface as ``RuntimeError: aclose(): asynchronous generator is already
        running``.) Repeated because on trio it depends on scheduling order."""
        for _ in range(20):
            calls = FaultyCalls([None])
            source = TrackedSource(range(10))
            with anyio.fail_after(10):
                with anyio.CancelScope() as scope:
                    scope.cancel()
                    await stream(source).pipe(map_(calls), batch(3, timeout=1)).collect()
            assert scope.cancelled_caught
            source.assert_closed()
            calls.assert_idle()
