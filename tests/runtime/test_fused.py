"""Fused sequential stages behave exactly as the same stages run one generator each.

The model is the same pipeline run with hooks, which the build never fuses (hooks see every
stage's output). Fused runs are taken both ways: ``collect()`` feeds the fused loop's list
directly, ``open()`` iterates its generator.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pytest
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    Hooks,
    Stream,
    enumerate_,
    filter_,
    map_,
    scan,
    skip,
    skip_while,
    stream,
    take,
    take_while,
    tap,
)
from tests.strategies import ASYNC_SETTINGS

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


def fails_on(value: int) -> Callable[[int], int]:
    def fn(x: int) -> int:
        if x == value:
            raise Boom(x)
        return x + 1

    return fn


async def async_inc(x: int) -> int:
    await checkpoint()
    return x + 1


def sometimes_async(x: int) -> Any:
    return async_inc(x) if x % 2 else x - 1


def number(item: Any) -> int:
    """An item as a number (after enumerate_, an item is an (index, item) pair)."""
    return item[0] + number(item[1]) if isinstance(item, tuple) else item


STEPS: dict[str, Callable[[], Any]] = {
    "map": lambda: map_(lambda x: number(x) * 2),
    "map async": lambda: map_(lambda x: async_inc(number(x))),
    "map mixed": lambda: map_(lambda x: sometimes_async(number(x))),
    "map skip": lambda: map_(lambda x: fails_on(3)(number(x)), on_error="skip"),
    "map handler": lambda: map_(lambda x: fails_on(4)(number(x)), on_error=lambda e, x: -7),
    "filter": lambda: filter_(lambda x: number(x) % 3 != 0),
    "tap": lambda: tap(lambda x: None),
    "take_while": lambda: take_while(lambda x: number(x) < 40),
    "skip_while": lambda: skip_while(lambda x: number(x) < 2),
    "scan": lambda: scan(lambda a, x: a + number(x), 0),
    "enumerate": lambda: enumerate_(5),
    "take": lambda: take(4),
    "take 0": lambda: take(0),
    "skip": lambda: skip(2),
}


def _map(fn: Callable[[Any], Any]) -> Callable[[list[Any]], list[Any]]:
    return lambda xs: [fn(x) for x in xs]


def _skipping(fn: Callable[[Any], Any], bad: int) -> Callable[[list[Any]], list[Any]]:
    return lambda xs: [fn(x) for x in xs if number(x) != bad]


def _take_while(xs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in xs:
        if not number(x) < 40:
            break
        out.append(x)
    return out


def _skip_while(xs: list[Any]) -> list[Any]:
    for i, x in enumerate(xs):
        if not number(x) < 2:
            return xs[i:]
    return []


def _scan(xs: list[Any]) -> list[Any]:
    out, total = [], 0
    for x in xs:
        total += number(x)
        out.append(total)
    return out


MODELS: dict[str, Callable[[list[Any]], list[Any]]] = {
    "map": _map(lambda x: number(x) * 2),
    "map async": _map(lambda x: number(x) + 1),
    "map mixed": _map(lambda x: number(x) + 1 if number(x) % 2 else number(x) - 1),
    "map skip": _skipping(lambda x: number(x) + 1, 3),
    "map handler": _map(lambda x: -7 if number(x) == 4 else number(x) + 1),
    "filter": lambda xs: [x for x in xs if number(x) % 3 != 0],
    "tap": lambda xs: xs,
    "take_while": _take_while,
    "skip_while": _skip_while,
    "scan": _scan,
    "enumerate": lambda xs: list(enumerate(xs, 5)),
    "take": lambda xs: xs[:4],
    "take 0": lambda xs: [],
    "skip": lambda xs: xs[2:],
}
"""What each step does to a whole list: the model the fused loop is checked against."""


def model(items: list[Any], names: list[str]) -> tuple[list[Any], list[tuple[int, int]]]:
    """The output, and each stage's (items in, items out), when no stage stops early but
    take/take_while (a take stops its upstream: those stages see only what it needed)."""
    values, flows = list(items), []
    for name in names:
        out = MODELS[name](values)
        flows.append((len(values), len(out)))
        values = out
    return values, flows


def build(items: list[int], names: list[str]) -> Stream[Any]:
    return stream(items).pipe(*[STEPS[name]() for name in names])


def counts(statistics: Any) -> list[tuple[Any, ...]]:
    # A stage that never ran (before a take(0), unfused) reports None: it received nothing.
    return [(s.items_in or 0, s.items_out or 0, s.skipped, s.failed) for s in statistics.stages]


@given(
    items=st.lists(st.integers(-5, 20), max_size=25),
    names=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=6),
)
@ASYNC_SETTINGS
async def test_fused_equals_unfused(items: list[int], names: list[str]) -> None:
    expected = await build(items, names).collect(hooks=Hooks())
    if not any(name.startswith("take") for name in names):
        values, flows = model(items, names)
        assert expected == values
        async with build(items, names).open() as run:
            assert [x async for x in run] == values
        assert [(s.items_in, s.items_out) for s in run.statistics().stages] == flows
    else:  # a take or take_while stops its upstream early: outputs only
        assert expected == model(items, names)[0]
    assert await build(items, names).collect() == expected
    assert await build(items, names).count() == len(expected)
    async with build(items, names).open() as fused:
        assert [x async for x in fused] == expected
    async with build(items, names).open(hooks=Hooks()) as unfused:
        assert [x async for x in unfused] == expected
    assert counts(fused.statistics()) == counts(unfused.statistics())


@given(
    items=st.lists(st.integers(0, 20), max_size=25),
    names=st.lists(st.sampled_from(sorted(STEPS)), max_size=4),
    at=st.integers(0, 4),
)
@ASYNC_SETTINGS
async def test_a_failure_names_its_stage_and_item_as_unfused(
    items: list[int], names: list[str], at: int
) -> None:
    names = [*names[:at], "fail", *names[at:]]
    STEPS["fail"] = lambda: map_(lambda x: fails_on(-1)(number(x) % 7 - 1))

    async def outcome(**options: Any) -> tuple[Any, ...]:
        try:
            return ("ok", await build(items, names).collect(**options))
        except Boom as exc:
            return ("raised", exc.args, exc.__notes__)

    try:
        assert await outcome() == await outcome(hooks=Hooks())
    finally:
        del STEPS["fail"]


async def test_take_calls_the_function_only_as_often_as_needed() -> None:
    calls: list[int] = []

    def record(x: int) -> int:
        calls.append(x)
        return x

    assert await stream(range(100)).pipe(map_(record), take(5)).collect() == [0, 1, 2, 3, 4]
    assert calls == [0, 1, 2, 3, 4]


async def test_take_closes_the_source_before_passing_the_last_item_on() -> None:
    closed: list[bool] = []

    def numbers() -> Any:
        try:
            yield from range(10)
        finally:
            closed.append(True)

    async with stream(numbers()).pipe(map_(operator.neg), take(2)).open() as items:
        assert await items.receive() == 0
        assert closed == []
        assert await items.receive() == -1
        assert closed == [True]


async def test_consecutive_sequential_stages_are_one_part() -> None:
    s = stream(range(10)).pipe(map_(operator.neg), filter_(bool), map_(abs), take(3))
    async with s.open() as items:
        assert [x async for x in items] == [1, 2, 3]
        names = [stage.operator for stage in items.statistics().stages]
    assert names == ["map_(neg)", "filter_(bool)", "map_(abs)", "take(3)"]
    assert type(items._output).__name__ == "async_generator"  # type: ignore[attr-defined]
