"""Hypothesis strategies and small async helpers shared by the property tests."""

from __future__ import annotations

from typing import Any

import anyio
from anyio.lowlevel import checkpoint
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

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


@st.composite
def pool_options(draw: st.DrawFn, max_extra_window: int = 8) -> dict[str, Any]:
    """concurrency 1..8, ordered or not, window default or concurrency..+max_extra_window."""
    concurrency = draw(st.integers(1, 8))
    window = draw(st.none() | st.integers(concurrency, concurrency + max_extra_window))
    return {"concurrency": concurrency, "ordered": draw(st.booleans()), "window": window}


def streamkit_notes(exc: BaseException) -> list[str]:
    """The PEP 678 notes streamkit attached to ``exc``."""
    return [note for note in getattr(exc, "__notes__", []) if note.startswith("streamkit:")]
