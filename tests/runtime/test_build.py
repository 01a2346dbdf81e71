"""The build step: stages are made through the build, listed once per run, reported right."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from streamkit import (
    Hooks,
    broadcast,
    filter_,
    flat_map,
    map_,
    merge,
    partition,
    pipe,
    route,
    stream,
    switch_map,
    zip_,
)

pytestmark = pytest.mark.anyio


class Emitted(Hooks):
    def __init__(self) -> None:
        self.items: Counter[str] = Counter()
        self.started: list[str] = []

    def stage_started(self, stage: str) -> None:
        self.started.append(stage)

    def item_emitted(self, stage: str, item: object) -> None:
        self.items[stage] += 1


def double(x: int) -> int:
    return 2 * x


def small(x: int) -> bool:
    return x < 1


async def test_hooks_name_the_stage_that_emitted() -> None:
    hooks = Emitted()
    s = stream(range(3)) | broadcast(map_(double), filter_(small))
    assert sorted(await s.collect(hooks=hooks)) == [0, 0, 2, 4]
    assert hooks.items["map_(double)"] == 3
    assert hooks.items["filter_(small)"] == 1
    assert hooks.items["broadcast(map_(double), filter_(small))"] == 4


async def test_a_user_operator_is_not_reported_as_a_stage() -> None:
    async def passthrough(source: Any) -> Any:
        async for item in source:
            yield item

    hooks = Emitted()
    assert await (stream(range(3)) | map_(double) | passthrough).collect(hooks=hooks) == [0, 2, 4]
    assert hooks.items == Counter({"map_(double)": 3})


PER_ITEM_INNER = {
    "broadcast": lambda x: stream([x]) | broadcast(pipe(), pipe()),
    "zip_": lambda x: stream([x]) | zip_([x]),
    "partition": lambda x: stream([x]) | partition(small, pipe(), pipe()),
    "route": lambda x: stream([x]) | route(lambda _: "a", {"a": pipe()}),
    "merge": lambda x: stream([x]) | merge([x]),
}


@pytest.mark.parametrize("inner", PER_ITEM_INNER, ids=str)
@pytest.mark.parametrize("outer", [flat_map, switch_map], ids=["flat_map", "switch_map"])
async def test_inner_streams_do_not_pile_up_stages(outer: Any, inner: str) -> None:
    s = stream(range(200)) | outer(PER_ITEM_INNER[inner])
    async with s.open() as items:
        async for _ in items:
            pass
        listed = [stage.operator for stage in items.statistics().stages]
    assert len(listed) == 1, listed


@pytest.mark.parametrize("combine", [zip_, merge], ids=["zip_", "merge"])
async def test_other_inputs_are_listed_once_per_run(combine: Any) -> None:
    other = stream(range(3)) | map_(double)
    async with (stream(range(3)) | combine(other)).open() as items:
        async for _ in items:
            pass
        listed = [stage.operator for stage in items.statistics().stages]
    assert listed.count("map_(double)") == 1
    assert len(listed) == 2, listed


async def test_built_in_operator_called_directly_on_an_async_iterable() -> None:
    async def numbers() -> Any:
        for n in range(3):
            yield n

    assert [x async for x in map_(double)(numbers())] == [0, 2, 4]


async def test_task_running_operator_called_directly_says_it_needs_a_pipeline() -> None:
    async def numbers() -> Any:
        yield 1

    with pytest.raises(RuntimeError, match="must run inside a pipeline"):
        map_(double, concurrency=2)(numbers())
