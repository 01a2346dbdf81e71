"""``asyncstdlib``: its ``map``, ``filter``, ``batched``, ``chain.from_iterable``, ``islice``.

It is loop-agnostic, so it runs on both backends, but it has no concurrency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncstdlib as a
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
    concurrent,
)


def unsupported(stages: Sequence[Stage], backend: str) -> str | None:
    if any(isinstance(stage, Broadcast) for stage in stages):
        return "no broadcast: its tee is unbounded and has no concurrent merge"
    if concurrent(stages):
        return "no concurrency: its map awaits one call at a time"
    if any(isinstance(stage, Merge) for stage in stages):
        return "no merge: it has no concurrency"
    return None


async def run(source: Source, stages: Sequence[Stage], consumer: Consumer) -> list[Any] | int:
    items: Any = source
    for stage in stages:
        items = _apply(stage, items)
    try:
        return await consumer.consume(items)
    finally:
        await aclose(items)


def _apply(stage: Stage, items: Any) -> Any:
    match stage:
        case Map(fn=fn):
            return a.map(fn, items)
        case Filter(pred=pred):
            return a.filter(pred, items)
        case Batch(size=size):
            return a.batched(items, size)
        case Flatten():
            return a.chain.from_iterable(items)
        case Take(n=n):
            return a.islice(items, n)
    raise AssertionError(stage)
