"""``bare-pool``: the floor for W3/W3u: ``concurrency`` anyio tasks pulling from one iterator.

No links, no ordering, no streaming: each task takes the next item, awaits the call and stores
the result by index; the output is assembled at the end. Its wall time is what a zero-overhead
pool reaches with real sleep overshoot and the tail of the slowest items. Item 0's result
landing counts as its first result (the floor for an ordered pipeline's first result).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
from _spec import Consumer, Map, Stage


def unsupported(stages: Sequence[Stage], backend: str) -> str | None:
    match tuple(stages):
        case (Map(concurrency=concurrency) as stage,) if concurrency > 1 and stage.is_async:
            return None
    return "floor for a single concurrent async map only"


async def run(source: Iterable[Any], stages: Sequence[Stage], consumer: Consumer) -> list[Any]:
    (stage,) = stages
    assert isinstance(stage, Map)
    numbered = enumerate(source)
    results: dict[int, Any] = {}

    async def worker() -> None:
        for index, item in numbered:
            results[index] = await stage.fn(item)
            if index == 0 and consumer.time_first:
                consumer.first_at = time.perf_counter()

    async with anyio.create_task_group() as task_group:
        for _ in range(stage.concurrency):
            task_group.start_soon(worker)
    return [results[index] for index in range(len(results))]
