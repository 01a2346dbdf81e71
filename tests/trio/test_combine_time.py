"""``zip_latest`` and ``switch_map`` against timing models, in trio's virtual time.

Every event happens at its own instant (integers for one kind, offsets that never tie for the
other), so the order in which items reach the operator is known exactly, and the output must
be the model's, item for item and instant for instant.
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

from streamkit import Stream, stream, switch_map, zip_latest

EPS = 1e-9
_END: Any = object()

Timed = list[tuple[float, Any]]


async def at_times(start: float, items: Timed, end: float | None = None) -> AsyncIterator[Any]:
    """Each item at its instant after ``start``; the stream ends at ``end`` (or at once)."""
    for t, item in items:
        await trio.sleep_until(start + t)
        yield item
    if end is not None:
        await trio.sleep_until(start + end)


async def record(s: Stream[Any], start: float) -> Timed:
    out: Timed = []
    with trio.fail_after(100_000):
        async with s.open() as items:
            async for item in items:
                out.append((trio.current_time() - start, item))
    return out


def assert_same(got: Timed, expected: Timed) -> None:
    assert [item for _, item in got] == [item for _, item in expected]
    for (t_got, item), (t_expected, _) in zip(got, expected, strict=True):
        assert t_got == pytest.approx(t_expected, abs=EPS), f"item {item}"


# -- zip_latest ---------------------------------------------------------------------------------


def latest_model(inputs: list[tuple[Timed, float]]) -> Timed:
    """ReactiveX combine_latest over events taken in time order: each item replaces its
    input's latest value and, once every input has one, emits them all; an input ending
    without an item ends everything."""
    events = sorted(
        [(t, i, item) for i, (items, _) in enumerate(inputs) for t, item in items]
        + [(end, i, _END) for i, (_, end) in enumerate(inputs)],
        key=lambda event: event[0],
    )
    latest: list[Any] = [_END] * len(inputs)
    out: Timed = []
    for t, i, item in events:
        if item is _END:
            if latest[i] is _END:
                break
            continue
        latest[i] = item
        if _END not in latest:
            out.append((t, tuple(latest)))
    return out


@st.composite
def latest_inputs(draw: st.DrawFn) -> list[tuple[Timed, float]]:
    """1-3 inputs; input i's events fall on instants ``width * k + i`` (never a tie)."""
    width = draw(st.integers(1, 3))
    inputs: list[tuple[Timed, float]] = []
    for i in range(width):
        gaps = draw(st.lists(st.integers(1, 4), max_size=6))
        ticks = list(itertools.accumulate(gaps))
        end = (ticks[-1] if ticks else 0) + draw(st.integers(1, 4))
        items = [(float(width * k + i), (i, n)) for n, k in enumerate(ticks)]
        inputs.append((items, float(width * end + i)))
    return inputs


async def run_latest(inputs: list[tuple[Timed, float]]) -> Timed:
    start = trio.current_time()
    made = [at_times(start, items, end) for items, end in inputs]
    return await record(stream(made[0]) | zip_latest(*made[1:]), start)


class TestZipLatest:
    @given(inputs=latest_inputs())
    def test_matches_combine_latest_model(self, inputs: list[tuple[Timed, float]]) -> None:
        got = trio.run(run_latest, inputs, clock=trio.testing.MockClock(autojump_threshold=0))
        assert_same(got, latest_model(inputs))

    @pytest.mark.trio
    async def test_example(self, autojump_clock: trio.testing.MockClock) -> None:
        # a: "x" at 1, "y" at 4; b: 10 at 2, 20 at 3; both end at 5.
        got = await run_latest([([(1, "x"), (4, "y")], 5), ([(2, 10), (3, 20)], 5)])
        assert_same(got, [(2, ("x", 10)), (3, ("x", 20)), (4, ("y", 20))])


# -- switch_map ---------------------------------------------------------------------------------


def switch_model(arrivals: list[float], inner: list[list[float]]) -> Timed:
    """Input k arrives at ``arrivals[k]``; its inner stream emits ``(k, j)`` at
    ``arrivals[k] + inner[k][j]`` unless input k + 1 has arrived by then."""
    out: Timed = []
    for k, arrival in enumerate(arrivals):
        cut = arrivals[k + 1] if k + 1 < len(arrivals) else float("inf")
        out.extend((arrival + d, (k, j)) for j, d in enumerate(inner[k]) if arrival + d < cut)
    return out


@st.composite
def switch_inputs(draw: st.DrawFn) -> tuple[list[float], list[list[float]]]:
    """Inputs on integer instants, inner items half-way between (never a tie)."""
    gaps = draw(st.lists(st.integers(1, 4), max_size=6))
    arrivals = [float(t) for t in itertools.accumulate(gaps)]
    inner = [
        [t - 0.5 for t in itertools.accumulate(draw(st.lists(st.integers(1, 3), max_size=4)))]
        for _ in arrivals
    ]
    return arrivals, inner


async def run_switch(arrivals: list[float], inner: list[list[float]]) -> Timed:
    start = trio.current_time()

    def fn(k: int) -> AsyncIterator[tuple[int, int]]:
        # Offsets from now: fn is called when input k arrives.
        now = trio.current_time() - start
        return at_times(start, [(now + d, (k, j)) for j, d in enumerate(inner[k])])

    upstream = at_times(start, [(t, k) for k, t in enumerate(arrivals)])
    return await record(stream(upstream) | switch_map(fn), start)


class TestSwitchMap:
    @given(case=switch_inputs())
    def test_matches_switch_model(self, case: tuple[list[float], list[list[float]]]) -> None:
        arrivals, inner = case
        got = trio.run(
            run_switch, arrivals, inner, clock=trio.testing.MockClock(autojump_threshold=0)
        )
        assert_same(got, switch_model(arrivals, inner))

    @pytest.mark.trio
    async def test_example(self, autojump_clock: trio.testing.MockClock) -> None:
        # Input 0 at 1 (inner items at 1.5, 2.5, 3.5); input 1 at 3 (inner at 3.5).
        got = await run_switch([1, 3], [[0.5, 1.5, 2.5], [0.5]])
        assert_same(got, [(1.5, (0, 0)), (2.5, (0, 1)), (3.5, (1, 0))])
