"""Fan-out operators: broadcast, partition, route.

Each branch tags its outputs, so the merged output can be split back per branch and compared
with a plain-list model of that branch: nothing lost, nothing duplicated, order kept within a
branch. The bound of each branch's queue is observed through ``statistics()`` and the source's
pull count while one branch is held back step by step (no timing).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    Operator,
    broadcast,
    filter_,
    map_,
    partition,
    pipe,
    route,
    stream,
    take,
)
from streamkit.testing import TrackedSource
from tests.strategies import (
    ASYNC_SETTINGS,
    delays,
    failing_source,
    ints,
    pause,
    streamkit_notes,
    tasks_now,
)

pytestmark = pytest.mark.anyio

Model = Callable[[list[int]], list[int]]


def tagged(tag: object, latencies: list[float | None]) -> Operator[int, tuple[object, int]]:
    async def tag_item(x: int) -> tuple[object, int]:
        await pause(latencies, x)
        return tag, x

    return map_(tag_item)


@st.composite
def branch_specs(draw: st.DrawFn) -> tuple[Operator[int, int], Model]:
    """A random branch and its list model: a map, a filter, a take, or several of them."""
    kind = draw(st.sampled_from(["map", "filter", "take", "pipe"]))
    k = draw(st.integers(0, 5))
    if kind == "map":
        return map_(lambda x: x + k), lambda xs: [x + k for x in xs]
    if kind == "filter":
        return filter_(lambda x: x % 3 != k % 3), lambda xs: [x for x in xs if x % 3 != k % 3]
    if kind == "take":
        return take(k), lambda xs: xs[:k]
    return pipe(map_(lambda x: x * 2), take(k + 3)), lambda xs: [x * 2 for x in xs][: k + 3]


def per_branch(out: list[tuple[Any, int]]) -> dict[Any, list[int]]:
    split: dict[Any, list[int]] = {}
    for tag, value in out:
        split.setdefault(tag, []).append(value)
    return split


# --------------------------------------------------------------------------------------------


class TestBroadcast:
    @ASYNC_SETTINGS
    @given(
        xs=ints,
        specs=st.lists(branch_specs(), min_size=1, max_size=3),
        buffer=st.integers(1, 4),
        latencies=delays,
    )
    async def test_each_branch_sees_every_item(
        self,
        xs: list[int],
        specs: list[tuple[Operator[int, int], Model]],
        buffer: int,
        latencies: list[float | None],
    ) -> None:
        branches = [pipe(op, tagged(i, latencies)) for i, (op, _) in enumerate(specs)]
        with anyio.fail_after(10):
            out = await stream(xs).pipe(broadcast(*branches, buffer=buffer)).collect()
        split = per_branch(out)
        for i, (_, model) in enumerate(specs):
            assert split.pop(i, []) == model(xs)
        assert not split

    async def test_branch_queue_bound_is_exact_while_one_branch_is_slow(self) -> None:
        buffer = 3
        source = TrackedSource.infinite()
        permits = anyio.Semaphore(0)
        slow_started = 0

        async def slow(x: int) -> tuple[str, int]:
            nonlocal slow_started
            slow_started += 1
            await permits.acquire()
            return "slow", x

        with anyio.fail_after(10):
            pipeline = stream(source).pipe(
                broadcast(map_(slow), map_(lambda x: ("fast", x)), buffer=buffer)
            )
            async with pipeline.open() as items:
                received = [await items.__anext__()]
                for step in range(6):
                    await anyio.wait_all_tasks_blocked()
                    stages = {s.operator: s for s in items.statistics().stages}
                    slow_queue = stages[f"{pipeline._operators[0]!r} branch 0"]  # pyright: ignore[reportPrivateUsage]
                    fast_queue = stages[f"{pipeline._operators[0]!r} branch 1"]  # pyright: ignore[reportPrivateUsage]
                    assert slow_started == step + 1, "the slow branch works on one item"
                    assert slow_queue.held == slow_queue.peak_held == buffer
                    assert fast_queue.held == 0, "the fast branch keeps up"
                    # One item in the slow call, ``buffer`` queued, one in the pump's hand.
                    assert source.pulled == slow_started + buffer + 1
                    permits.release()
                    # Each step merges two outputs: the slow branch's result, and the fast
                    # branch's output of the item the pump could then deliver.
                    received += [await items.__anext__(), await items.__anext__()]
        source.assert_closed()
        for tag in ("slow", "fast"):
            out = [x for t, x in received if t == tag]
            assert out == list(range(len(out)))

    async def test_early_exit_after_merge(self) -> None:
        source = TrackedSource.infinite()
        before = tasks_now()
        with anyio.fail_after(10):
            out = (
                await stream(source)
                .pipe(broadcast(map_(lambda x: -x), pipe(), buffer=2), take(5))
                .collect()
            )
        assert len(out) == 5
        source.assert_closed()
        assert tasks_now() == before

    async def test_upstream_stops_when_every_branch_has_ended(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(broadcast(take(2), take(3), buffer=1)).collect()
        assert sorted(out) == [0, 0, 1, 1, 2]
        source.assert_closed()
        assert source.pulled <= 3 + 1 + 1

    async def test_no_item_is_read_after_every_branch_has_ended(self) -> None:
        # A sync source checkpoints only every few hundred items, so only the pump's own check
        # keeps it from reading (and dropping) items nobody will take.
        pulled: list[int] = []

        def numbers() -> Iterator[int]:
            for x in itertools.count():
                pulled.append(x)
                yield x

        with anyio.fail_after(10):
            out = await stream(numbers()).pipe(broadcast(take(1), take(2), buffer=1)).collect()
        assert sorted(out) == [0, 0, 1]
        # Two items taken, one queued for the take(2) branch while it ended, one in the pump.
        assert len(pulled) <= 4

    async def test_after_its_error_the_stream_is_exhausted(self) -> None:
        def bad(x: int) -> int:
            raise ValueError(x)

        with anyio.fail_after(10):
            async with stream([1]).pipe(broadcast(map_(bad))).open() as items:
                with pytest.raises(ValueError):
                    await items.__anext__()
                with pytest.raises(StopAsyncIteration):
                    await items.__anext__()

    async def test_branch_that_does_not_close_its_input_does_not_stall_the_others(self) -> None:
        async def first_two(source: AsyncIterator[int]) -> AsyncIterator[int]:
            async for x in source:
                yield x
                if x == 1:
                    return  # without closing ``source``

        with anyio.fail_after(10):
            out = await stream(range(50)).pipe(broadcast(first_two, pipe(), buffer=1)).collect()
        assert sorted(out) == sorted([0, 1, *range(50)])

    async def test_break_in_consumer_stops_everything(self) -> None:
        source = TrackedSource.infinite()
        before = tasks_now()
        with anyio.fail_after(10):
            async with stream(source).pipe(broadcast(pipe(), pipe())).open() as items:
                async for _ in items:
                    break
        source.assert_closed()
        assert tasks_now() == before

    async def test_outside_cancellation_stops_everything(self) -> None:
        source = TrackedSource.infinite()
        before = tasks_now()
        with anyio.move_on_after(0.05) as scope:
            await stream(source).pipe(broadcast(pipe(), map_(anyio.sleep))).drain()
        assert scope.cancelled_caught
        source.assert_closed()
        assert tasks_now() == before

    async def test_error_in_a_branch_reaches_caller_unwrapped(self) -> None:
        boom = ValueError("bad item")
        source = TrackedSource(range(100))

        def bad(x: int) -> int:
            if x == 7:
                raise boom
            return x

        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream(source).pipe(broadcast(pipe(), map_(bad), buffer=2)).collect()
        assert info.value is boom
        raised_by, branch = streamkit_notes(boom)
        assert "map_(bad)" in raised_by
        assert "on item 7: 7" in raised_by
        assert branch.startswith("streamkit: raised in branch 1 of broadcast(pipe(), map_(bad)")
        source.assert_closed()

    async def test_upstream_error_reaches_caller_unwrapped(self) -> None:
        boom = OSError("disk")
        with anyio.fail_after(10), pytest.raises(OSError) as info:
            await stream(failing_source([1, 2, 3], boom)).pipe(broadcast(pipe(), pipe())).collect()
        assert info.value is boom

    async def test_needs_a_pipeline(self) -> None:
        operator = broadcast(pipe())
        with pytest.raises(RuntimeError, match=r"broadcast\(pipe\(\)\) runs tasks"):
            operator(TrackedSource([1]))

    def test_repr(self) -> None:
        async def mine(source: AsyncIterator[int]) -> AsyncIterator[int]:
            async for x in source:
                yield x

        assert repr(broadcast(map_(abs), mine, buffer=4)) == "broadcast(map_(abs), mine, buffer=4)"
        assert repr(broadcast(pipe())) == "broadcast(pipe())"

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"buffer must be an int >= 1, got 0"):
            broadcast(pipe(), buffer=0)
        with pytest.raises(TypeError, match=r"buffer must be an int >= 1, got str"):
            broadcast(pipe(), buffer="8")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        with pytest.raises(ValueError, match=r"broadcast\(\) needs at least one branch"):
            broadcast()
        with pytest.raises(TypeError, match=r"broadcast\(\) branches must be operators"):
            broadcast(pipe(), 3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


class TestPartition:
    @ASYNC_SETTINGS
    @given(xs=ints, k=st.integers(1, 4), buffer=st.integers(1, 4), latencies=delays)
    async def test_matches_list_model(
        self, xs: list[int], k: int, buffer: int, latencies: list[float | None]
    ) -> None:
        async def pred(x: int) -> bool:
            await pause(latencies, x)
            return x % k == 0

        operator = partition(pred, tagged(True, latencies), tagged(False, latencies), buffer=buffer)
        with anyio.fail_after(10):
            out = await stream(xs).pipe(operator).collect()
        split = per_branch(out)
        assert split.get(True, []) == [x for x in xs if x % k == 0]
        assert split.get(False, []) == [x for x in xs if x % k != 0]

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(partition(bool, pipe(), pipe()), take(4)).collect()
        assert len(out) == 4
        source.assert_closed()

    async def test_error_in_pred(self) -> None:
        boom = ZeroDivisionError("x")

        def pred(x: int) -> bool:
            if x == 3:
                raise boom
            return True

        source = TrackedSource(range(10))
        with anyio.fail_after(10), pytest.raises(ZeroDivisionError) as info:
            await stream(source).pipe(partition(pred, pipe(), pipe())).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert note == "streamkit: raised by partition(pred, pipe(), pipe()) on item 3: 3"
        source.assert_closed()

    async def test_error_in_branch_names_it(self) -> None:
        def bad(x: int) -> int:
            raise KeyError(x)

        with anyio.fail_after(10), pytest.raises(KeyError) as info:
            await stream([2, 1]).pipe(partition(lambda x: x > 1, pipe(), map_(bad))).collect()
        assert "raised in branch if_false of partition(" in streamkit_notes(info.value)[1]

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"pred must be a callable"):
            partition(None, pipe(), pipe())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        with pytest.raises(ValueError, match=r"buffer must be an int >= 1, got -1"):
            partition(bool, pipe(), pipe(), buffer=-1)


class TestRoute:
    @ASYNC_SETTINGS
    @given(
        xs=ints,
        keys=st.sets(st.integers(0, 3), max_size=4),
        with_default=st.booleans(),
        buffer=st.integers(1, 4),
        latencies=delays,
    )
    async def test_matches_dict_model(
        self,
        xs: list[int],
        keys: set[int],
        with_default: bool,
        buffer: int,
        latencies: list[float | None],
    ) -> None:
        if not keys and not with_default:
            keys = {0}
        xs = [x for x in xs if with_default or x % 4 in keys]
        branches = {k: tagged(k, latencies) for k in keys}
        default = tagged("default", latencies) if with_default else None
        with anyio.fail_after(10):
            out = (
                await stream(xs)
                .pipe(route(lambda x: x % 4, branches, default=default, buffer=buffer))
                .collect()
            )
        split = per_branch(out)
        for k in keys:
            assert split.pop(k, []) == [x for x in xs if x % 4 == k]
        assert split.pop("default", []) == [x for x in xs if x % 4 not in keys]
        assert not split

    async def test_async_key_and_sub_pipelines(self) -> None:
        async def kind(word: str) -> str:
            await checkpoint()
            return "short" if len(word) < 4 else "long"

        words = ["a", "tree", "is", "growing", "tall"]
        operator = route(kind, {"short": map_(len), "long": pipe(map_(str.upper), take(2))})
        with anyio.fail_after(10):
            out = await stream(words).pipe(operator).collect()
        assert sorted(out, key=str) == [1, 2, "GROWING", "TREE"]

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        before = tasks_now()
        with anyio.fail_after(10):
            out = (
                await stream(source)
                .pipe(route(lambda x: x % 2, {0: pipe(), 1: pipe()}, buffer=1), take(3))
                .collect()
            )
        assert len(out) == 3
        source.assert_closed()
        assert tasks_now() == before

    async def test_unknown_key_without_default(self) -> None:
        source = TrackedSource(range(10))
        with anyio.fail_after(10), pytest.raises(KeyError, match="no branch for key 2") as info:
            await stream(source).pipe(route(lambda x: x, {0: pipe(), 1: pipe()})).collect()
        (note,) = streamkit_notes(info.value)
        assert "route(<lambda>, {0: pipe(), 1: pipe()}) on item 2: 2" in note
        source.assert_closed()

    async def test_error_in_key(self) -> None:
        boom = ValueError("no key")

        async def key(x: int) -> int:
            raise boom

        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream([1]).pipe(route(key, {1: pipe()})).collect()
        assert info.value is boom

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"key must be a callable"):
            route(3, {})  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
        with pytest.raises(TypeError, match=r"branches must be a mapping of key to operator"):
            route(abs, [pipe()])  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
        with pytest.raises(ValueError, match=r"route\(\) needs at least one branch"):
            route(abs, {})
        with pytest.raises(TypeError, match=r"route\(\) branches must be operators"):
            route(abs, {1: "x"})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        with pytest.raises(ValueError, match=r"buffer must be an int >= 1, got 0"):
            route(abs, {1: pipe()}, buffer=0)
