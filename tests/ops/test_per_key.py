"""Per-key limits on the per-item operators: ``key=fn, per_key=n`` and ``ordered="key"``
(API.md section 7, issue 13), on both backends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Any, Literal

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import Stream, filter_, flat_map, map_, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, delays, pause

pytestmark = pytest.mark.anyio

Ordered = bool | Literal["key"]


class Probe:
    """An async function of ``(key, n)`` items that counts calls running, per key and in all."""

    def __init__(self, latencies: list[float | None] | None = None) -> None:
        self.latencies = latencies or [None]
        self.running: Counter[Hashable] = Counter()
        self.peak: Counter[Hashable] = Counter()
        self.total = 0
        self.peak_total = 0
        self.calls = 0

    async def __call__(self, item: tuple[str, int]) -> tuple[str, int]:
        key, n = item
        self.running[key] += 1
        self.total += 1
        self.calls += 1
        self.peak[key] = max(self.peak[key], self.running[key])
        self.peak_total = max(self.peak_total, self.total)
        try:
            await pause(self.latencies, n)
        finally:
            self.running[key] -= 1
            self.total -= 1
        return item


def host(item: tuple[str, int]) -> str:
    return item[0]


class TestPerKey:
    @ASYNC_SETTINGS
    @given(
        keys=st.lists(st.sampled_from("abcd"), max_size=40),
        per_key=st.integers(1, 3),
        concurrency=st.integers(2, 6),
        ordered=st.sampled_from([True, False, "key"]),
        latencies=delays,
    )
    async def test_matches_model(
        self,
        keys: list[str],
        per_key: int,
        concurrency: int,
        ordered: Ordered,
        latencies: list[float | None],
    ) -> None:
        """Limits per key and in all are never exceeded, every input gives its result once,
        and the order is what ``ordered`` says."""
        items = [(key, n) for n, key in enumerate(keys)]
        probe = Probe(latencies)
        op = map_(probe, concurrency=concurrency, key=host, per_key=per_key, ordered=ordered)
        with anyio.fail_after(20):
            out = await stream(items).pipe(op).collect()
        assert max(probe.peak.values(), default=0) <= per_key
        assert probe.peak_total <= concurrency
        assert sorted(out) == sorted(items)
        if ordered is True:
            assert out == items
        for key in "abcd":
            mine = [item for item in out if item[0] == key]
            if ordered in (True, "key") or per_key == 1:  # one at a time: completion order
                assert mine == sorted(mine, key=lambda item: item[1])

    async def test_slow_key_does_not_hold_the_workers(self) -> None:
        """The slow key's calls wait until every other item has come out: if they held the
        workers (head-of-line blocking), this would never finish."""
        release = anyio.Event()
        items = [("slow", n) for n in range(4)] + [(f"k{n % 3}", n) for n in range(4, 40)]

        async def fetch(item: tuple[str, int]) -> tuple[str, int]:
            if item[0] == "slow":
                await release.wait()
            return item

        for ordered in (False, "key"):
            release = anyio.Event()
            op = map_(fetch, concurrency=4, key=host, per_key=1, ordered=ordered)
            with anyio.fail_after(10):
                async with stream(items).pipe(op).open() as out:
                    fast = [await out.receive() for _ in range(36)]
                    assert all(item[0] != "slow" for item in fast)
                    assert out.statistics().stages[0].waiting_for_key == 3
                    release.set()
                    rest = [item async for item in out]
            assert sorted(fast + rest) == sorted(items)
            assert [n for _, n in rest] == [0, 1, 2, 3]

    async def test_one_key_filling_the_window_sets_the_pace(self) -> None:
        """Documented: when one key's inputs fill the window no more input is pulled until
        its backlog drains; then everything completes (no deadlock)."""
        release = anyio.Event()
        source = TrackedSource(
            [("slow", n) for n in range(4)] + [("fast", n) for n in range(4, 10)]
        )

        async def fetch(item: tuple[str, int]) -> tuple[str, int]:
            if item[0] == "slow":
                await release.wait()
            return item

        op = map_(fetch, concurrency=4, window=4, key=host, per_key=1, ordered=False)
        got: list[tuple[str, int]] = []
        with anyio.fail_after(10):
            async with stream(source).pipe(op).open() as out, anyio.create_task_group() as tg:

                async def consume() -> None:
                    got.extend([item async for item in out])

                tg.start_soon(consume)
                await anyio.wait_all_tasks_blocked()
                stats = out.statistics().stages[0]
                assert source.pulled == 4  # the window: 1 running, 3 waiting for their key
                assert (stats.held, stats.waiting_for_key, stats.keys_waiting) == (4, 3, 1)
                assert got == []
                release.set()
        assert sorted(got) == sorted(
            [("slow", n) for n in range(4)] + [("fast", n) for n in range(4, 10)]
        )

    async def test_statistics_show_keys(self) -> None:
        release = anyio.Event()

        async def fetch(item: tuple[str, int]) -> tuple[str, int]:
            await release.wait()
            return item

        items = [("a", 0), ("b", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5)]
        op = map_(fetch, concurrency=8, key=host, per_key=1, ordered=False)
        with anyio.fail_after(10):
            async with stream(items).pipe(op).open() as out:
                async with anyio.create_task_group() as tg:

                    async def first() -> None:
                        await out.receive()

                    tg.start_soon(first)
                    await anyio.wait_all_tasks_blocked()
                    stats = out.statistics().stages[0]
                    release.set()
                rest = [item async for item in out]
        assert (stats.keys_active, stats.keys_waiting, stats.waiting_for_key) == (3, 2, 3)
        assert stats.in_flight == 3
        assert len(rest) == 5
        async with stream([1]).pipe(map_(str, concurrency=2)).open() as plain:
            assert plain.statistics().stages[0].keys_active is None

    async def test_filter_and_flat_map(self) -> None:
        items = [(k, n) for n, k in enumerate("abcabcab")]
        with anyio.fail_after(10):
            kept = (
                await stream(items)
                .pipe(filter_(lambda item: item[1] % 2 == 0, concurrency=3, key=host, per_key=1))
                .collect()
            )
            spread = (
                await stream(items)
                .pipe(
                    flat_map(
                        lambda item: [item, item], concurrency=3, key=host, per_key=2, ordered="key"
                    )
                )
                .collect()
            )
        assert kept == [item for item in items if item[1] % 2 == 0]
        for key in "abc":
            mine = [item for item in spread if item[0] == key]
            assert mine == [item for item in items if item[0] == key for _ in range(2)]

    async def test_sequential_with_key(self) -> None:
        with anyio.fail_after(10):
            out = await stream([("a", 1), ("a", 2)]).pipe(map_(host, key=host, per_key=1)).collect()
        assert out == ["a", "a"]


class TestPerKeyFaults:
    async def test_key_error_keeps_identity(self) -> None:
        raised = KeyError("no host")

        def bad_key(item: int) -> int:
            if item == 3:
                raise raised
            return item % 2

        source = TrackedSource(range(10))
        probe: list[int] = []
        op = map_(probe.append, concurrency=2, key=bad_key, per_key=1)
        with anyio.fail_after(10), pytest.raises(KeyError) as caught:
            await stream(source).pipe(op).collect()
        assert caught.value is raised
        assert "key= of map_(" in "".join(caught.value.__notes__)
        assert sorted(probe) == [0, 1, 2]  # the items before it ran
        source.assert_closed()

    async def test_unhashable_key(self) -> None:
        op = map_(str, concurrency=2, key=lambda item: [item], per_key=1)
        with anyio.fail_after(10), pytest.raises(TypeError, match="unhashable"):
            await stream([1, 2]).pipe(op).collect()

    @pytest.mark.parametrize("ordered", [True, False, "key"])
    async def test_call_failure_with_inputs_waiting(self, ordered: Ordered) -> None:
        """A call fails while inputs wait for their key: the error arrives as itself, the
        results before it (ordered) are all delivered, and nothing is left running."""
        raised = ValueError("boom")
        probe = Probe([0.001])

        async def fetch(item: tuple[str, int]) -> tuple[str, int]:
            if item[1] == 5:
                raise raised
            return await probe(item)

        items = [(k, n) for n, k in enumerate("aabbaabbaabb")]
        source = TrackedSource(items)
        op = map_(fetch, concurrency=4, key=host, per_key=1, ordered=ordered)
        got: list[tuple[str, int]] = []
        with anyio.fail_after(10), pytest.raises(ValueError) as caught:
            async with stream(source).pipe(op).open() as out:
                async for item in out:
                    got.append(item)
        assert caught.value is raised
        if ordered is True:
            assert got == items[:5]
        assert probe.total == 0
        source.assert_closed()

    @pytest.mark.parametrize("ordered", [True, False, "key"])
    async def test_early_exit_with_inputs_waiting(self, ordered: Ordered) -> None:
        probe = Probe([0.001])
        source = TrackedSource.infinite()
        op = map_(
            lambda n: probe(("ab"[n % 2], n)),
            concurrency=8,
            key=lambda n: n % 2,
            per_key=2,
            ordered=ordered,
        )
        with anyio.fail_after(10):
            out = await stream(source).pipe(op, take(5)).collect()
        assert len(out) == 5
        assert probe.total == 0  # every call cancelled or done
        source.assert_closed()

    async def test_cancelled_from_outside(self) -> None:
        probe = Probe([10.0])
        source = TrackedSource.infinite()
        s: Stream[Any] = stream(source).pipe(
            map_(lambda n: probe(("k", n)), concurrency=4, key=lambda n: n % 3, per_key=1)
        )
        with anyio.move_on_after(0.05) as scope:
            await s.collect()
        assert scope.cancelled_caught
        assert probe.total == 0
        source.assert_closed()


class TestPerKeyOptions:
    def test_label(self) -> None:
        op = map_(str, concurrency=4, key=host, per_key=2)
        assert repr(op) == "map_(str, concurrency=4, key=host, per_key=2)"
        assert "2 per key" in op.diagram_node().details

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"per_key must be an int >= 1, got 0"):
            map_(str, concurrency=2, key=host, per_key=0)
        with pytest.raises(ValueError, match=r"per_key= needs key=fn"):
            map_(str, concurrency=2, per_key=2)
        with pytest.raises(ValueError, match=r"ordered='key' needs key=fn"):
            map_(str, concurrency=2, ordered="key")
        with pytest.raises(ValueError, match=r"key= needs per_key=n"):
            map_(str, concurrency=2, key=host)
        with pytest.raises(TypeError, match=r"key must be a function"):
            map_(str, concurrency=2, key="host", per_key=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        with pytest.raises(TypeError, match=r"ordered must be True, False or 'key', got 'host'"):
            map_(str, concurrency=2, ordered="host")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
