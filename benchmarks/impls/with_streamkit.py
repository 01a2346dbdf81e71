"""``streamkit``: the library under test, used as its docs show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _spec import Batch, Broadcast, Consumer, Filter, Flatten, Map, Merge, Source, Stage, Take

import streamkit as sk


def unsupported(stages: Sequence[Stage], backend: str) -> str | None:
    return None


async def run(source: Source, stages: Sequence[Stage], consumer: Consumer) -> list[Any] | int:
    pipeline = sk.stream(source).pipe(*map(_operator, stages))
    if consumer.time_first:
        async with pipeline.open() as items:
            return await consumer.consume(items)
    if consumer.kind == "count":
        return await pipeline.count()
    return await pipeline.collect()


def _operator(stage: Stage) -> sk.Operator[Any, Any]:
    match stage:
        case Map(fn=fn, concurrency=concurrency, ordered=ordered, window=window):
            return sk.map_(fn, concurrency=concurrency, ordered=ordered, window=window)
        case Filter(pred=pred):
            return sk.filter_(pred)
        case Batch(size=size):
            return sk.batch(size)
        case Flatten():
            return sk.flatten()
        case Take(n=n):
            return sk.take(n)
        case Broadcast(branches=branches, buffer=buffer):
            pipes = (sk.pipe(*map(_operator, branch)) for branch in branches)
            return sk.broadcast(*pipes, buffer=buffer)
        case Merge(others=others):
            return sk.merge(*others)
    raise AssertionError(stage)
