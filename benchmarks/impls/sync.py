"""``sync``: the W1 chain as one plain list comprehension, no event loop work at all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from _spec import Consumer, Filter, Map, Stage


def unsupported(stages: Sequence[Stage], backend: str) -> str | None:
    match tuple(stages):
        case (Map(concurrency=1) as m1, Filter() as f, Map(concurrency=1) as m2) if not (
            m1.is_async or f.is_async or m2.is_async
        ):
            return None
    return "sync baseline: W1 only"


async def run(source: Iterable[Any], stages: Sequence[Stage], consumer: Consumer) -> list[Any]:
    first, keep, last = stages
    assert isinstance(first, Map)
    assert isinstance(keep, Filter)
    assert isinstance(last, Map)
    f, p, g = first.fn, keep.pred, last.fn
    return [g(y) for x in source if p(y := f(x))]
