"""The workloads of BENCHMARKS.md (W1..W8) and of issue 3 (M4): inputs, stages, checks, ideals.

A :class:`Workload` makes a fresh :class:`Setup` in the measuring process; the setup's
``check`` raises :class:`CheckFailed` if the output is wrong, so a wrong run never counts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from _spec import Batch, Broadcast, Consumer, Filter, Flatten, Map, Merge, Source, Stage, Take

ALL_PEERS = ("asyncgen", "anyio-links", "streamkit", "aiostream", "asyncstdlib")
"""The implementations tried on every workload (``sync`` and ``bare-pool`` only where noted)."""


class CheckFailed(AssertionError):
    """A run produced wrong output; its time does not count."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


@dataclass
class Setup:
    """One run's inputs, made fresh in the measuring process."""

    source: Source
    stages: tuple[Stage, ...]
    consumer: Consumer
    check: Callable[[Any], None]
    """Raises :class:`CheckFailed` unless the output is right."""
    snapshot: Callable[[], dict[str, Any]] = dict
    """Figures read inside the event loop right after the run returns."""


@dataclass(frozen=True)
class Workload:
    """One row group of the report."""

    key: str
    title: str
    n: int
    quick_n: int
    metric: Literal["per_item", "wall"]
    """``per_item``: wall / n, compared with ``asyncgen``; ``wall``: compared with ``ideal_s``."""
    make: Callable[[int], Setup]
    impls: tuple[str, ...] = ALL_PEERS
    reduced: Mapping[str, int] = field(default_factory=dict)
    """Slow peers run on ``n // divisor`` items to keep the suite short (per-item figures)."""
    ideal_s: float | None = None
    first_latency_s: float | None = None
    """Subtracted from the time to the first result (W3)."""


# -- W1, W2: three cheap sequential stages ---------------------------------------------------


def double(x: int) -> int:
    return x * 2


def not_multiple_of_3(x: int) -> bool:
    return x % 3 != 0


def increment(x: int) -> int:
    return x + 1


async def adouble(x: int) -> int:
    return x * 2


async def anot_multiple_of_3(x: int) -> bool:
    return x % 3 != 0


async def aincrement(x: int) -> int:
    return x + 1


def _arithmetic(n: int, *, asynchronous: bool) -> Setup:
    first, keep, last = (
        (adouble, anot_multiple_of_3, aincrement)
        if asynchronous
        else (double, not_multiple_of_3, increment)
    )

    def check(output: Any) -> None:
        expected = [y + 1 for x in range(n) if (y := x * 2) % 3 != 0]
        expect(output == expected, f"wrong output: {len(output)} items, {len(expected)} expected")

    return Setup(
        source=range(n),
        stages=(Map(first), Filter(keep), Map(last)),
        consumer=Consumer("collect"),
        check=check,
    )


# -- W3, W3u: seeded latencies, concurrency 64 --------------------------------------------

W3_ITEMS = 2000
W3_CONCURRENCY = 64


def _latencies(count: int, seed: int = 42) -> list[float]:
    """Mostly 1-5 ms, 1 % are 100 ms."""
    rng = random.Random(seed)
    return [0.1 if rng.random() < 0.01 else rng.uniform(0.001, 0.005) for _ in range(count)]


LATENCIES = _latencies(W3_ITEMS)


async def sleep_latency(i: int) -> int:
    await anyio.sleep(LATENCIES[i])
    return i


def _latency_map(n: int, *, ordered: bool) -> Setup:
    def check(output: Any) -> None:
        got = output if ordered else sorted(output)
        expect(got == list(range(n)), "items lost, duplicated or (ordered) out of order")

    return Setup(
        source=range(n),
        stages=(Map(sleep_latency, concurrency=W3_CONCURRENCY, ordered=ordered),),
        consumer=Consumer("collect", time_first=True),
        check=check,
    )


# -- W4: infinite source, take(10) -----------------------------------------------------------

W4_CONCURRENCY = 16
W4_TAKE = 10


class CountingSource:
    """0, 1, 2, ... without end; counts the items pulled and the iterations closed."""

    def __init__(self) -> None:
        self.pulled = 0
        self.opened = 0
        self.closed = 0

    def __aiter__(self) -> AsyncIterator[int]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[int]:
        self.opened += 1
        try:
            while True:
                self.pulled += 1
                yield self.pulled - 1
        finally:
            self.closed += 1


async def sleep_50ms(x: int) -> int:
    await anyio.sleep(0.05)
    return x


def _early_stop(n: int) -> Setup:
    source = CountingSource()

    def check(output: Any) -> None:
        expect(output == list(range(W4_TAKE)), f"expected items 0..9 in order, got {output}")

    return Setup(
        source=source,
        stages=(Map(sleep_50ms, concurrency=W4_CONCURRENCY), Take(W4_TAKE)),
        consumer=Consumer("collect"),
        check=check,
        snapshot=lambda: {
            "source_closed": source.opened > 0 and source.opened == source.closed,
            "pulled": source.pulled,
        },
    )


# -- W5: 1 KiB blobs, memory -----------------------------------------------------------------

BLOB_VALUES = 251


def blobs(n: int) -> Iterator[bytes]:
    """``n`` fresh 1 KiB bytes objects, made one at a time."""
    for i in range(n):
        yield bytes((i % BLOB_VALUES,)) * 1024


def drop_first_byte(blob: bytes) -> bytes:
    return blob[1:]


def first_byte_not_multiple_of_3(blob: bytes) -> bool:
    return blob[0] % 3 != 0


def _blobs(n: int) -> Setup:
    def check(output: Any) -> None:
        cycles, rest = divmod(n, BLOB_VALUES)
        kept = [v % 3 != 0 for v in range(BLOB_VALUES)]
        expected = cycles * sum(kept) + sum(kept[:rest])
        expect(output == expected, f"counted {output}, expected {expected}")

    return Setup(
        source=blobs(n),
        stages=(Map(drop_first_byte), Filter(first_byte_not_multiple_of_3)),
        consumer=Consumer("count"),
        check=check,
    )


# -- W6: batches through an async map --------------------------------------------------------

W6_BATCH = 100


async def double_all(batch: list[int]) -> list[int]:
    return [x * 2 for x in batch]


def _batches(n: int) -> Setup:
    def check(output: Any) -> None:
        expect(output == n, f"counted {output}, expected {n}")

    return Setup(
        source=range(n),
        stages=(Batch(W6_BATCH), Map(double_all), Flatten()),
        consumer=Consumer("count"),
        check=check,
    )


# -- W7: one slow item in an ordered map -----------------------------------------------------

W7_CONCURRENCY = 8
W7_SLOW_S = 1.0
W7_FAST_S = 0.01
W7_WINDOW = 1000


class SlowItemProbe:
    """Item 0 sleeps ``W7_SLOW_S``, the others ``W7_FAST_S``; counts what finishes meanwhile."""

    def __init__(self) -> None:
        self.slow_running = False
        self.done_while_slow = 0

    async def work(self, i: int) -> int:
        if i == 0:
            self.slow_running = True
            try:
                await anyio.sleep(W7_SLOW_S)
            finally:
                self.slow_running = False
        else:
            await anyio.sleep(W7_FAST_S)
            if self.slow_running:
                self.done_while_slow += 1
        return i


def _slow_item(n: int, *, window: int | None) -> Setup:
    probe = SlowItemProbe()

    def check(output: Any) -> None:
        expect(output == list(range(n)), "items lost, duplicated or out of order")

    return Setup(
        source=range(n),
        stages=(Map(probe.work, concurrency=W7_CONCURRENCY, window=window),),
        consumer=Consumer("collect"),
        check=check,
        snapshot=lambda: {"done_while_slow": probe.done_while_slow},
    )


# -- W8: fan-out ---------------------------------------------------------------------------

W8_BUFFER = 16


def _fan_out(n: int) -> Setup:
    def check(output: Any) -> None:
        expected = Counter([x * 2 for x in range(n)] + [x for x in range(n) if x % 3 != 0])
        expect(Counter(output) == expected, "items lost or duplicated across the branches")

    return Setup(
        source=range(n),
        stages=(Broadcast(((Map(double),), (Filter(not_multiple_of_3),)), buffer=W8_BUFFER),),
        consumer=Consumer("collect"),
        check=check,
    )


# -- M4: merge of 4 sources -------------------------------------------------------------------

M4_SOURCES = 4


def _merge(n: int) -> Setup:
    """``n`` items in all, from 4 ranges of ``n // 4``: ``stream(a) | merge(b, c, d)``."""
    each = n // M4_SOURCES
    sources = [range(i * each, (i + 1) * each) for i in range(M4_SOURCES)]

    def check(output: Any) -> None:
        expect(output == each * M4_SOURCES, f"counted {output}, expected {each * M4_SOURCES}")

    return Setup(
        source=sources[0],
        stages=(Merge(tuple(sources[1:])),),
        consumer=Consumer("count"),
        check=check,
    )


# -- the catalogue ---------------------------------------------------------------------------

_NO_CONCURRENCY = ("asyncgen", "asyncstdlib")  # listed so the table says why they are absent
_SLOW_PEERS = {"anyio-links": 20, "aiostream": 10}

WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in (
        Workload(
            "W1",
            "range → map → filter → map (sync fns) → collect",
            n=200_000,
            quick_n=20_000,
            metric="per_item",
            make=lambda n: _arithmetic(n, asynchronous=False),
            impls=("sync", *ALL_PEERS),
            reduced=_SLOW_PEERS,
        ),
        Workload(
            "W2",
            "as W1 with async fns that never await",
            n=200_000,
            quick_n=20_000,
            metric="per_item",
            make=lambda n: _arithmetic(n, asynchronous=True),
            reduced=_SLOW_PEERS,
        ),
        Workload(
            "W3",
            "2,000 seeded latencies, concurrency 64, ordered",
            n=W3_ITEMS,
            quick_n=W3_ITEMS,
            metric="wall",
            make=lambda n: _latency_map(n, ordered=True),
            impls=("bare-pool", "anyio-links", "streamkit", "aiostream", *_NO_CONCURRENCY),
            ideal_s=sum(LATENCIES) / W3_CONCURRENCY,
            first_latency_s=LATENCIES[0],
        ),
        Workload(
            "W3u",
            "as W3, unordered",
            n=W3_ITEMS,
            quick_n=W3_ITEMS,
            metric="wall",
            make=lambda n: _latency_map(n, ordered=False),
            impls=("bare-pool", "anyio-links", "streamkit", "aiostream", *_NO_CONCURRENCY),
            ideal_s=sum(LATENCIES) / W3_CONCURRENCY,
        ),
        Workload(
            "W4",
            "infinite source → map (50 ms, concurrency 16) → take(10)",
            n=W4_TAKE,
            quick_n=W4_TAKE,
            metric="wall",
            make=_early_stop,
            impls=("anyio-links", "streamkit", "aiostream", *_NO_CONCURRENCY),
            ideal_s=0.05,
        ),
        Workload(
            "W5",
            "2M lazily made 1 KiB blobs → map → filter → count",
            n=2_000_000,
            quick_n=200_000,
            metric="per_item",
            make=_blobs,
            reduced={"anyio-links": 200, "aiostream": 10, "asyncstdlib": 10},
        ),
        Workload(
            "W6",
            "range(100k) → batch(100) → async map → flatten → count",
            n=100_000,
            quick_n=20_000,
            metric="per_item",
            make=_batches,
            reduced={"anyio-links": 10, "aiostream": 10},
        ),
        Workload(
            "W7",
            "ordered map, concurrency 8, item 0 takes 1 s (default window)",
            n=1000,
            quick_n=1000,
            metric="wall",
            make=lambda n: _slow_item(n, window=None),
            impls=("anyio-links", "streamkit", "aiostream", *_NO_CONCURRENCY),
            ideal_s=(W7_SLOW_S + 999 * W7_FAST_S) / W7_CONCURRENCY,
        ),
        Workload(
            "W7w",
            "as W7 with window=1000",
            n=1000,
            quick_n=1000,
            metric="wall",
            make=lambda n: _slow_item(n, window=W7_WINDOW),
            impls=("bare-pool", "anyio-links", "streamkit", "aiostream", *_NO_CONCURRENCY),
            ideal_s=(W7_SLOW_S + 999 * W7_FAST_S) / W7_CONCURRENCY,
        ),
        Workload(
            "W8",
            "range(200k) → broadcast to 2 branches (map | filter) → merge → collect",
            n=200_000,
            quick_n=20_000,
            metric="per_item",
            make=_fan_out,
            reduced={"anyio-links": 10},
        ),
        Workload(
            "M4",
            "merge of 4 sources: stream(a) | merge(b, c, d) → count (4 x 50,000)",
            n=200_000,
            quick_n=40_000,
            metric="per_item",
            make=_merge,
            reduced={"anyio-links": 10, "aiostream": 10},
        ),
    )
}
