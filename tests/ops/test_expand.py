"""``expand``: recursive expansion through one stage (API.md section 7, issue 13), on both
backends: random graphs against a breadth-first model, depth limits against a walk count,
the frontier's bound, early exit, cancellation and errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Hashable

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import Failures, FrontierFullError, expand, map_, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, delays, pause

pytestmark = pytest.mark.anyio

graphs = st.integers(1, 25).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, n - 1), max_size=4), min_size=n, max_size=n)
)


def reachable(graph: list[list[int]], starts: list[int]) -> set[int]:
    seen = set(starts)
    frontier = list(starts)
    while frontier:
        node = frontier.pop()
        for nxt in graph[node]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def walks(graph: list[list[int]], starts: list[int], max_depth: int) -> Counter[int]:
    """The end nodes of every walk of at most ``max_depth`` steps from each start."""
    ends: Counter[int] = Counter()
    level = list(starts)
    for depth in range(max_depth + 1):
        ends.update(level)
        if depth < max_depth:
            level = [nxt for node in level for nxt in graph[node]]
    return ends


class Calls:
    """Counts calls running, in all and per key."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.per_key: Counter[Hashable] = Counter()
        self.peak_per_key = 0
        self.calls = 0

    def enter(self, key: Hashable = None) -> None:
        self.running += 1
        self.calls += 1
        self.peak = max(self.peak, self.running)
        self.per_key[key] += 1
        self.peak_per_key = max(self.peak_per_key, self.per_key[key])

    def leave(self, key: Hashable = None) -> None:
        self.running -= 1
        self.per_key[key] -= 1


class TestExpand:
    @ASYNC_SETTINGS
    @given(
        graph=graphs,
        data=st.data(),
        concurrency=st.integers(1, 6),
        latencies=delays,
    )
    async def test_every_node_once_with_dedupe(
        self,
        graph: list[list[int]],
        data: st.DataObject,
        concurrency: int,
        latencies: list[float | None],
    ) -> None:
        starts = data.draw(
            st.lists(st.integers(0, len(graph) - 1), min_size=1, max_size=3, unique=True)
        )
        seen = set(starts)
        calls = Calls()

        async def neighbours(node: int) -> list[int]:
            calls.enter()
            try:
                await pause(latencies, node)
            finally:
                calls.leave()
            new = [nxt for nxt in dict.fromkeys(graph[node]) if nxt not in seen]
            seen.update(new)
            return new

        with anyio.fail_after(20):
            out = await stream(starts).pipe(expand(neighbours, concurrency=concurrency)).collect()
        assert sorted(out) == sorted(reachable(graph, starts))
        assert calls.calls == len(out)
        assert calls.peak <= concurrency

    @ASYNC_SETTINGS
    @given(graph=graphs, max_depth=st.integers(0, 3), concurrency=st.integers(1, 4))
    async def test_depth_limit(
        self, graph: list[list[int]], max_depth: int, concurrency: int
    ) -> None:
        """Without dedupe, the output is the end of every walk of at most max_depth steps,
        and fn is called only on items above max_depth."""
        calls = Calls()

        async def neighbours(node: int) -> AsyncIterator[int]:
            calls.enter()
            calls.leave()
            for nxt in graph[node]:
                await anyio.lowlevel.checkpoint()
                yield nxt

        op = expand(neighbours, concurrency=concurrency, max_depth=max_depth)
        with anyio.fail_after(20):
            out = await stream([0]).pipe(op).collect()
        assert Counter(out) == walks(graph, [0], max_depth)
        assert (
            calls.calls == sum(walks(graph, [0], max_depth - 1).values())
            if max_depth
            else calls.calls == 0
        )

    async def test_results_may_be_streams_and_iterables(self) -> None:
        def children(n: int) -> object:
            if n >= 8:
                return []
            return (
                stream([2 * n, 2 * n + 1]).pipe(map_(lambda x: x)) if n % 2 else iter([2 * n + 1])
            )

        with anyio.fail_after(10):
            out = await stream([1]).pipe(expand(children, concurrency=3)).collect()  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        assert sorted(out) == [1, 2, 3, 5, 6, 7, 10, 11, 13, 14, 15]

    async def test_found_items_do_not_wait_for_a_slow_upstream(self) -> None:
        """The upstream blocks until everything found from its first item is out: if found
        items waited behind the upstream, this would never finish."""
        tree_done = anyio.Event()

        async def upstream() -> AsyncIterator[int]:
            yield 1
            await tree_done.wait()
            yield 100

        def children(n: int) -> list[int]:
            return [2 * n, 2 * n + 1] if n < 8 else []

        out: list[int] = []
        with anyio.fail_after(10):
            async with stream(upstream()).pipe(expand(children, concurrency=2)).open() as items:
                async for item in items:
                    out.append(item)
                    if len(out) == 15:
                        tree_done.set()
        assert sorted(out) == [*range(1, 16), 100]

    async def test_per_key_applies_to_found_items(self) -> None:
        calls = Calls()

        async def children(n: int) -> list[int]:
            calls.enter(n % 3)
            try:
                await anyio.sleep(0.001)
            finally:
                calls.leave(n % 3)
            return [2 * n, 2 * n + 1] if n < 32 else []

        op = expand(children, concurrency=8, key=lambda n: n % 3, per_key=1)
        with anyio.fail_after(10):
            out = await stream([1]).pipe(op).collect()
        assert sorted(out) == list(range(1, 64))
        assert calls.peak_per_key == 1
        assert calls.peak <= 3

    async def test_bounded_frontier_waits_for_a_free_worker(self) -> None:
        """Node 0 finds three items but only one may wait: its call waits while the other
        worker takes them up, one by one (no error: a worker was free)."""
        graph = {0: [1, 2, 3], 1: [], 2: [], 3: []}
        with anyio.fail_after(10):
            out = (
                await stream([0])
                .pipe(expand(graph.__getitem__, concurrency=2, max_frontier=1))
                .collect()
            )
        assert sorted(out) == [0, 1, 2, 3]

    async def test_frontier_full_fails_clearly(self) -> None:
        """Every worker waits to add to a full frontier: an error, not a hang."""
        source = TrackedSource([0])
        op = expand(lambda n: range(n + 1, n + 10), max_frontier=3, concurrency=2)
        with anyio.fail_after(10), pytest.raises(FrontierFullError, match="max_frontier"):
            await stream(source).pipe(op).collect()
        source.assert_closed()

    async def test_one_worker_frontier_full(self) -> None:
        with anyio.fail_after(10), pytest.raises(FrontierFullError, match="3 found items"):
            await stream([0]).pipe(expand(lambda n: range(5), max_frontier=3)).collect()


class TestExpandFaults:
    async def test_early_exit_closes_everything(self) -> None:
        calls = Calls()
        source = TrackedSource.infinite()

        async def children(n: int) -> list[int]:
            calls.enter()
            try:
                await anyio.sleep(0.001)
            finally:
                calls.leave()
            return [n, n]

        with anyio.fail_after(10):
            out = await stream(source).pipe(expand(children, concurrency=4), take(20)).collect()
        assert len(out) == 20
        assert calls.running == 0
        source.assert_closed()

    async def test_cancelled_from_outside(self) -> None:
        calls = Calls()
        source = TrackedSource.infinite()

        async def children(n: int) -> list[int]:
            calls.enter()
            try:
                await anyio.sleep(10)
            finally:
                calls.leave()
            return []  # pragma: no cover

        with anyio.move_on_after(0.05) as scope:
            await stream(source).pipe(expand(children, concurrency=3)).collect()
        assert scope.cancelled_caught
        assert calls.running == 0
        source.assert_closed()

    async def test_error_keeps_identity(self) -> None:
        raised = OSError("connection reset")

        def children(n: int) -> list[int]:
            if n == 5:
                raise raised
            return [n + 1] if n < 10 else []

        with anyio.fail_after(10), pytest.raises(OSError) as caught:
            await stream([0]).pipe(expand(children, concurrency=2)).collect()
        assert caught.value is raised
        assert "expand(children, concurrency=2) on item 5" in "".join(caught.value.__notes__)

    async def test_error_while_reading_results(self) -> None:
        raised = ValueError("half a page")

        async def children(n: int) -> AsyncIterator[int]:
            yield n + 1
            if n == 2:
                raise raised

        failures = Failures()
        op = expand(children, max_depth=4, on_error=failures)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        with anyio.fail_after(10):
            out = await stream([0]).pipe(op).collect()
        assert sorted(out) == [0, 1, 3, 4]  # 2 failed; 3, found before the failure, stays
        assert [(f.item, f.error) for f in failures] == [(2, raised)]

    async def test_skipped_failures_are_accounted_for(self) -> None:
        def children(n: int) -> list[int]:
            if n % 3 == 2:
                raise LookupError(n)
            return [2 * n + 1, 2 * n + 2] if n < 20 else []

        failures = Failures()
        async with (
            stream([0]).pipe(expand(children, concurrency=4, on_error=failures)).open() as items
        ):
            out = [item async for item in items]
        stats = items.statistics().stages[0]
        assert len(out) + failures.count == stats.items_in
        assert stats.failed == failures.count > 0


class TestExpandOptions:
    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"max_depth must be an int >= 0, got -1"):
            expand(list, max_depth=-1)  # pyright: ignore[reportUnknownArgumentType]
        with pytest.raises(ValueError, match=r"max_frontier must be an int >= 1, got 0"):
            expand(list, max_frontier=0)  # pyright: ignore[reportUnknownArgumentType]
        with pytest.raises(TypeError, match=r"takes no ordered="):
            expand(list, concurrency=2, ordered=True)  # pyright: ignore[reportUnknownArgumentType]
        with pytest.raises(TypeError, match=r"fn must be a callable"):
            expand(3)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
        with pytest.raises(ValueError, match=r"concurrency must be an int >= 1"):
            expand(list, concurrency=0)  # pyright: ignore[reportUnknownArgumentType]

    def test_label(self) -> None:
        def children(n: int) -> list[int]:
            return []

        assert (
            repr(expand(children, concurrency=4, max_depth=2))
            == "expand(children, max_depth=2, concurrency=4)"
        )
