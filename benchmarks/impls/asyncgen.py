"""``asyncgen``, the reference: one plain async generator per stage, chained directly.

No tasks, no checkpoints beyond what the user functions do: the cheapest way to write the
pipeline by hand, and so the baseline of the per-item figures. The first stage iterates a sync
source directly (W1 is three generators). A broadcast of per-item stages
(W8) passes each item through each branch in turn, in one generator. Its merge takes one item from
each input in turn, without tasks: a floor for the per-item cost of merging, correct only for
inputs that never block (as the workload's ranges do); ``anyio-links`` is the concurrent one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

from _spec import (
    Batch,
    Broadcast,
    Consumer,
    Filter,
    Flatten,
    Map,
    Merge,
    Source,
    Stage,
    Take,
    aclose,
    as_async,
    concurrent,
)


def unsupported(stages: Sequence[Stage], backend: str) -> str | None:
    if concurrent(stages):
        return "no concurrency: a chain of async generators runs one call at a time"
    for stage in stages:
        if isinstance(stage, Broadcast) and not all(
            isinstance(inner, Map | Filter) for branch in stage.branches for inner in branch
        ):
            return "broadcast of per-item stages (map, filter) only"
    return None


async def run(source: Source, stages: Sequence[Stage], consumer: Consumer) -> list[Any] | int:
    first = stages[0] if stages else None
    if isinstance(source, Iterable) and isinstance(first, Map | Filter):
        # The first stage iterates the sync source directly: three generators for W1, no
        # wrapper generator (BENCHMARKS.md).
        items = _first(first, source)
        stages = stages[1:]
    else:
        items = as_async(source)
    for stage in stages:
        items = _apply(stage, items)
    try:
        return await consumer.consume(items)
    finally:
        await aclose(items)


def _apply(stage: Stage, items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    match stage:
        case Map(fn=fn) if stage.is_async:
            return _amap(fn, items)
        case Map(fn=fn):
            return _map(fn, items)
        case Filter(pred=pred) if stage.is_async:
            return _afilter(pred, items)
        case Filter(pred=pred):
            return _filter(pred, items)
        case Batch(size=size):
            return _batch(size, items)
        case Flatten():
            return _flatten(items)
        case Take(n=n):
            return _take(n, items)
        case Broadcast(branches=branches):
            return _broadcast(branches, items)
        case Merge(others=others):
            return _merge([items, *map(as_async, others)])
    raise AssertionError(stage)


async def _first(stage: Map | Filter, source: Iterable[Any]) -> AsyncIterator[Any]:
    match stage:
        case Map(fn=fn) if stage.is_async:
            for item in source:
                yield await fn(item)
        case Map(fn=fn):
            for item in source:
                yield fn(item)
        case Filter(pred=pred) if stage.is_async:
            for item in source:
                if await pred(item):
                    yield item
        case Filter(pred=pred):
            for item in source:
                if pred(item):
                    yield item


async def _map(fn: Callable[[Any], Any], items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for item in items:
        yield fn(item)


async def _amap(fn: Callable[[Any], Any], items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for item in items:
        yield await fn(item)


async def _filter(pred: Callable[[Any], Any], items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for item in items:
        if pred(item):
            yield item


async def _afilter(pred: Callable[[Any], Any], items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for item in items:
        if await pred(item):
            yield item


async def _batch(size: int, items: AsyncIterator[Any]) -> AsyncIterator[list[Any]]:
    current: list[Any] = []
    async for item in items:
        current.append(item)
        if len(current) == size:
            yield current
            current = []
    if current:
        yield current


async def _flatten(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for inner in items:
        for item in inner:
            yield item


async def _merge(inputs: list[AsyncIterator[Any]]) -> AsyncIterator[Any]:
    try:
        while inputs:
            for items in list(inputs):
                try:
                    item = await items.__anext__()
                except StopAsyncIteration:
                    inputs.remove(items)
                    continue
                yield item
    finally:
        for items in inputs:
            await aclose(items)


async def _take(n: int, items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    if n <= 0:
        return
    try:
        async for item in items:
            yield item
            n -= 1
            if n == 0:
                return
    finally:
        await aclose(items)


async def _broadcast(
    branches: tuple[tuple[Stage, ...], ...], items: AsyncIterator[Any]
) -> AsyncIterator[Any]:
    async for item in items:
        for branch in branches:
            value, keep = item, True
            for stage in branch:
                if isinstance(stage, Map):
                    value = await stage.fn(value) if stage.is_async else stage.fn(value)
                elif isinstance(stage, Filter):
                    keep = await stage.pred(value) if stage.is_async else stage.pred(value)
                    if not keep:
                        break
            if keep:
                yield value
