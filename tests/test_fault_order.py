"""Fault injection over every operator family: an error arrives in stream order.

A random pipeline of concurrent, buffering, time, fan-out, combining and aggregate stages runs
over a source that fails at a random point (or whose first stage's function fails on a random
item). The items delivered before the error must be exactly those that the same pipeline
without concurrency (each stage's sequential model) delivers, as a multiset when a stage does
not keep order; the error is the same object; the source is closed and its async cleanup has
completed; no task is left.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    batch,
    broadcast,
    buffer,
    delay,
    distinct,
    filter_,
    flat_map,
    map_,
    merge,
    partition,
    pipe,
    scan,
    stream,
    timeout,
    window,
    zip_latest,
)
from streamkit.testing import assert_no_leaked_tasks
from tests.strategies import ASYNC_SETTINGS

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


async def inc(x: int) -> int:
    await anyio.sleep(0.0005 * (x % 3))
    return x + 1


def even(x: int) -> bool:
    return x % 2 == 0


def twice(x: int) -> list[int]:
    return [x, x]


# name: (the stage under test, its sequential model, keeps order)
FAMILIES: dict[str, tuple[Any, Any, bool]] = {
    "map ordered": (map_(inc, concurrency=3), map_(inc), True),
    "map unordered": (map_(inc, concurrency=3, ordered=False), map_(inc), False),
    "filter": (filter_(even, concurrency=2), filter_(even), True),
    "flat_map": (flat_map(twice, concurrency=2), flat_map(twice), True),
    "buffer": (buffer(2), map_(int), True),
    "timeout": (timeout(60), map_(int), True),
    "delay": (delay(0.0005), map_(int), True),
    "batch timeout": (
        pipe(batch(2, timeout=60), flat_map(list)),
        pipe(batch(2), flat_map(list)),
        True,
    ),
    "broadcast": (broadcast(map_(inc)), map_(inc), True),
    "partition": (partition(even, map_(inc), map_(inc)), map_(inc), False),
    "merge": (merge([]), map_(int), True),
    "zip_latest": (
        pipe(zip_latest([0]), map_(operator.itemgetter(0))),
        map_(int),
        False,  # before the other input's first item, items only update the latest
    ),
    "scan": (scan(operator.add, 0), scan(operator.add, 0), True),
    "window": (pipe(window(2), map_(sum)), pipe(window(2), map_(sum)), True),
    "distinct": (distinct(), distinct(), True),
}


class Source:
    """``items``, then ``error`` (if any); its ``finally`` awaits before it marks itself."""

    def __init__(self, items: list[int], error: BaseException | None) -> None:
        self.items = items
        self.error = error
        self.cleaned = 0
        self.opened = 0

    async def __aiter__(self) -> AsyncIterator[int]:
        self.opened += 1
        try:
            for item in self.items:
                await anyio.lowlevel.checkpoint()
                yield item
            if self.error is not None:
                raise self.error
        finally:
            await anyio.lowlevel.checkpoint()  # an await that a cancellation would stop
            self.cleaned += 1


async def run(source: Source, stages: list[Any]) -> tuple[list[Any], BaseException | None]:
    got: list[Any] = []
    error: BaseException | None = None
    with anyio.fail_after(20):
        try:
            async with stream(source).pipe(*stages).open() as items:
                async for item in items:
                    got.append(item)
        except Boom as exc:
            error = exc
    return got, error


@ASYNC_SETTINGS
@given(
    names=st.lists(st.sampled_from(sorted(FAMILIES)), min_size=1, max_size=3),
    items=st.lists(st.integers(0, 50), max_size=12),
    in_fn=st.booleans(),
    at=st.integers(0, 12),
)
async def test_an_error_arrives_in_stream_order(
    names: list[str], items: list[int], in_fn: bool, at: int
) -> None:
    error = Boom("injected")
    if in_fn:  # the first stage's function fails on the item at position ``at``
        bad = -1  # items are >= 0: an item of its own, so exactly one fails
        items = [*items[:at], bad, *items[at:]]

        def check(x: int) -> int:
            if x == bad:
                raise error
            return x

        first: list[Any] = [map_(check)]
        source_error = None
    else:
        first = []
        items = items[:at]
        source_error = error
    for position, name in enumerate(names):  # after a stage that does not keep order, the
        if not FAMILIES[name][2]:  # values of order-sensitive stages (scan...) would differ
            names = names[: position + 1]
            break
    stages = [FAMILIES[name][0] for name in names]
    models = [FAMILIES[name][1] for name in names]
    ordered = all(FAMILIES[name][2] for name in names)

    source = Source(items, source_error)
    async with assert_no_leaked_tasks():
        got, raised = await run(source, [*first, *stages])
    model = Source(items, source_error)
    expected, model_raised = await run(model, [*first, *models])

    assert model_raised is error
    assert raised is error
    if ordered:
        assert got == expected
    elif names[-1] == "zip_latest":  # the items before the other input's first only update
        assert got == expected[len(expected) - len(got) :]
    else:
        assert sorted(got) == sorted(expected)
    assert source.cleaned == source.opened == 1
