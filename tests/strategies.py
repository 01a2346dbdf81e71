"""Hypothesis strategies and small async helpers shared by the property tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from anyio.lowlevel import checkpoint
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from streamkit import filter_, flat_map, map_

ASYNC_SETTINGS = settings(
    max_examples=max(20, settings().max_examples // 2),
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture],
)
"""Async property tests start an event loop per example: fewer examples than the profile."""

ints = st.lists(st.integers(-1000, 1000), max_size=30)
delays = st.lists(st.sampled_from([None, 0.0, 0.001]), min_size=1, max_size=5)
"""Per-item latency, picked by ``key % len``: none at all, a checkpoint, or a tiny sleep."""


async def pause(latencies: list[float | None], key: int) -> None:
    """Wait as ``latencies[key % len(latencies)]`` says."""
    latency = latencies[key % len(latencies)]
    if latency is None:
        return
    if latency == 0:
        await checkpoint()
    else:
        await anyio.sleep(latency)


async def slow_source(items: list[int], latencies: list[float | None]) -> AsyncIterator[int]:
    """``items``, each after a :func:`pause` picked by its position."""
    for i, item in enumerate(items):
        await pause(latencies, i)
        yield item


async def failing_source(items: list[Any], error: BaseException) -> AsyncIterator[Any]:
    """``items`` (a checkpoint before each), then ``error``."""
    for item in items:
        await checkpoint()
        yield item
    raise error


def tasks_now() -> int:
    """How many tasks are running (to check that a pipeline left none behind)."""
    return len(anyio.get_running_tasks())


PER_ITEM_OPS = ["map_", "filter_", "flat_map"]


def per_item_op(kind: str, call: Callable[[int], Awaitable[int]], **options: Any) -> Any:
    """``map_``, ``filter_`` or ``flat_map`` (``kind``) around ``call``, so that item ``x``
    yields exactly :func:`per_item_outputs` ``(kind, x)`` when ``call(x)`` returns ``x``."""
    if kind == "map_":
        return map_(call, **options)
    if kind == "filter_":

        async def keep(x: int) -> bool:
            return (await call(x)) % 3 != 0

        return filter_(keep, **options)

    async def twice(x: int) -> list[tuple[int, int]]:
        value = await call(x)
        return [(value, 0), (value, 1)]

    return flat_map(twice, **options)


def per_item_outputs(kind: str, x: int) -> list[Any]:
    """What :func:`per_item_op` emits for item ``x``."""
    if kind == "map_":
        return [x]
    if kind == "filter_":
        return [x] if x % 3 != 0 else []
    return [(x, 0), (x, 1)]


class ObservedCalls:
    """A user function under test, which counts its calls: started, ended, in flight (to
    check that none is left running), and calls ``on_start(started)`` as each starts.
    Subclasses say what a call does in :meth:`behave`."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self.in_flight = 0
        self.on_start: Callable[[int], None] | None = None

    async def __call__(self, x: int) -> int:
        self.started += 1
        self.in_flight += 1
        if self.on_start is not None:
            self.on_start(self.started)
        try:
            return await self.behave(x)
        finally:
            self.in_flight -= 1
            self.ended += 1

    async def behave(self, x: int) -> int:
        raise NotImplementedError

    def assert_idle(self) -> None:
        assert self.in_flight == 0, f"{self.in_flight} call(s) still running"
        assert self.started == self.ended


def cancel_when(
    scope: anyio.CancelScope, cancel_at: tuple[str, float], calls: ObservedCalls
) -> None:
    """Arm ``scope`` as ``cancel_at`` says: ``("deadline", s)`` cancels it ``s`` seconds from
    now, ``("call", k)`` from inside the ``k``-th call of ``calls`` as it starts."""
    how, when = cancel_at
    if how == "deadline":
        scope.deadline = anyio.current_time() + when
        return

    def cancel_at_call(started: int) -> None:
        if started == when:
            scope.cancel()

    calls.on_start = cancel_at_call


def assert_part_of(received: list[Any], universe: list[Any], *, ordered: bool) -> None:
    """``received`` is a duplicate-free part of ``universe`` (a full run's output): a prefix of
    it when ``ordered``."""
    assert len(set(received)) == len(received), "duplicate outputs"
    if ordered:
        assert received == universe[: len(received)], "ordered output is not a prefix"
    else:
        assert not Counter(received) - Counter(universe)


@st.composite
def pool_options(draw: st.DrawFn, max_extra_window: int = 8) -> dict[str, Any]:
    """concurrency 1..8, ordered or not, window default or concurrency..+max_extra_window."""
    concurrency = draw(st.integers(1, 8))
    window = draw(st.none() | st.integers(concurrency, concurrency + max_extra_window))
    return {"concurrency": concurrency, "ordered": draw(st.booleans()), "window": window}


def streamkit_notes(exc: BaseException) -> list[str]:
    """The PEP 678 notes streamkit attached to ``exc``."""
    return [note for note in getattr(exc, "__notes__", []) if note.startswith("streamkit:")]
