"""``aiostream``: its ``stream.iterate`` and ``pipe`` operators (asyncio only).

A sequential async map is ``pipe.map(fn, task_limit=1)``; ``flatten`` of lists is
``pipe.concatmap(stream.iterate, task_limit=1)``, as aiostream flattens async sequences only.
A merge is ``pipe.merge`` of the other sources, each through ``stream.iterate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _spec import Batch, Broadcast, Consumer, Filter, Flatten, Map, Merge, Source, Stage, Take
from aiostream import pipe, stream


def unsupported(stages: Sequence[Stage], backend: str) -> str | None:
    if any(isinstance(stage, Broadcast) for stage in stages):
        return "no broadcast/tee operator (a fan-out would need a sub-stream per item)"
    if backend != "asyncio":
        return "asyncio only"
    if any(isinstance(stage, Map) and stage.window is not None for stage in stages):
        return "no reorder window option (see the default-window row)"
    return None


async def run(source: Source, stages: Sequence[Stage], consumer: Consumer) -> list[Any] | int:
    pipeline = stream.iterate(source)
    for stage in stages:
        pipeline = pipeline | _operator(stage)
    async with pipeline.stream() as items:
        return await consumer.consume(items)


def _operator(stage: Stage) -> Any:
    match stage:
        case Map(fn=fn) if stage.is_async:
            return pipe.map(fn, ordered=stage.ordered, task_limit=stage.concurrency)
        case Map(fn=fn):
            return pipe.map(fn)
        case Filter(pred=pred):
            return pipe.filter(pred)
        case Batch(size=size):
            return pipe.chunks(size)
        case Flatten():
            return pipe.concatmap(stream.iterate, task_limit=1)
        case Take(n=n):
            return pipe.take(n)
        case Merge(others=others):
            return pipe.merge(*map(stream.iterate, others))
    raise AssertionError(stage)
