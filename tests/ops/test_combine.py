"""Combining operators: merge, zip_, chain, zip_latest, start_with, concat_map, switch_map.

Each class checks its operator against a plain model (builtin ``zip``, ``itertools.chain``,
a multiset for ``merge``) on random inputs, then early exit, errors and options. Timing models
of ``zip_latest`` and ``switch_map`` are in ``tests/trio/test_combine_time.py``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    Stream,
    StreamConsumedError,
    chain,
    concat_map,
    merge,
    start_with,
    stream,
    switch_map,
    take,
    zip_,
    zip_latest,
)
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, delays, failing_source, ints, pause, streamkit_notes

pytestmark = pytest.mark.anyio

inputs = st.lists(ints, min_size=1, max_size=4)
"""This stream's items, then each other input's."""


async def paced(items: list[Any], latencies: list[float | None], key: int) -> AsyncIterator[Any]:
    """``items``, each after a pause that depends on ``key`` and the item's position."""
    for position, item in enumerate(items):
        await pause(latencies, key + position)
        yield item


async def until_error(s: Stream[Any]) -> tuple[list[Any], BaseException | None]:
    """The items ``s`` emits before it ends or fails, and the error if it failed."""
    out: list[Any] = []
    with anyio.fail_after(10):
        try:
            async with s.open() as items:
                async for item in items:
                    out.append(item)
        except Exception as exc:
            return out, exc
    return out, None


# --------------------------------------------------------------------------------------------


class TestMerge:
    @ASYNC_SETTINGS
    @given(lists=inputs, latencies=delays, wrap=st.lists(st.booleans(), min_size=4, max_size=4))
    async def test_matches_multiset_and_keeps_each_input_in_order(
        self, lists: list[list[int]], latencies: list[float | None], wrap: list[bool]
    ) -> None:
        tagged = [[(i, x) for x in xs] for i, xs in enumerate(lists)]
        # Each input is a paced async generator, or a list or tuple (read directly).
        made: list[Any] = [
            paced(items, latencies, i) if wrap[i] else (items if i % 2 else tuple(items))
            for i, items in enumerate(tagged)
        ]
        with anyio.fail_after(10):
            out = await (stream(made[0]) | merge(*made[1:])).collect()
        assert Counter(out) == Counter(itertools.chain(*tagged))
        for i, items in enumerate(tagged):
            assert [item for item in out if item[0] == i] == items

    async def test_reads_inputs_concurrently(self) -> None:
        """Input 0 waits for input 1 to have emitted: read one at a time, this would hang."""
        emitted = anyio.Event()

        async def first() -> AsyncIterator[str]:
            await emitted.wait()
            yield "a"

        async def second() -> AsyncIterator[str]:
            yield "b"
            emitted.set()

        with anyio.fail_after(10):
            assert await (stream(first()) | merge(second())).collect() == ["b", "a"]

    async def test_same_as_stream_merge(self) -> None:
        s = stream.merge([1, 2], stream.range(2), [])
        assert repr(s) == "stream.merge(stream(list[2]), stream.range(2), stream(list[0]))"
        assert sorted(await s.collect()) == [0, 1, 1, 2]
        assert await stream.merge().collect() == []
        assert repr(stream([1]) | merge([2])) == "stream(list[1]) | merge(stream(list[1]))"

    async def test_early_exit_closes_every_input(self) -> None:
        sources = [TrackedSource.infinite() for _ in range(4)]
        with anyio.fail_after(10):
            out = await (stream(sources[0]) | merge(*sources[1:]) | take(20)).collect()
        assert len(out) == 20
        for source in sources:
            source.assert_closed()

    async def test_long_sequences_are_read_lazily_within_the_window(self) -> None:
        """Lists, tuples and ranges are read by their workers directly: still lazily, never
        more than the window (16 per input, at least 64) ahead, and closed on early exit."""
        source = TrackedSource.infinite()
        peak_buffered = 0
        with anyio.fail_after(10):
            async with (
                stream(source) | merge(range(10**12), [-1] * 10_000, (-2,) * 10_000) | take(2_000)
            ).open() as items:
                seen = Counter[int]()
                async for item in items:
                    seen[min(item, 0)] += 1
                    peak_buffered = max(peak_buffered, items.statistics().stages[0].buffered)
        assert seen.total() == 2_000
        assert 0 < peak_buffered <= 64
        source.assert_closed()

    @pytest.mark.parametrize("failing", [0, 2])
    async def test_error_from_an_input(self, failing: int) -> None:
        boom = KeyError("input")
        sources: list[Any] = [TrackedSource.infinite() for _ in range(3)]
        sources[failing] = failing_source([1, 2], boom)
        with anyio.fail_after(10), pytest.raises(KeyError) as info:
            await (stream(sources[0]) | merge(*sources[1:])).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "raised by merge(" in note
        assert f"on item {failing}" in note
        for source in sources:
            if isinstance(source, TrackedSource):
                source.assert_closed()

    async def test_one_shot_input_is_consumed_once(self) -> None:
        s = stream([1]) | merge(paced([2], [None], 0))
        assert sorted(await s.collect()) == [1, 2]
        with pytest.raises(StreamConsumedError):
            await s.collect()

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"merge\(\): stream\(\) takes .* got int"):
            merge([1], 2)  # type: ignore[arg-type]


class TestZip:
    @ASYNC_SETTINGS
    @given(lists=inputs, strict=st.booleans(), latencies=delays)
    async def test_matches_builtin_zip(
        self, lists: list[list[int]], strict: bool, latencies: list[float | None]
    ) -> None:
        sources = [TrackedSource(xs) for xs in lists]
        made = [stream(paced(xs, latencies, 0)) for xs in lists[1:]]
        out, error = await until_error(stream(sources[0]) | zip_(*made, strict=strict))
        expected: list[tuple[int, ...]] = []
        expected_error: str | None = None
        try:
            expected.extend(zip(*lists, strict=strict))
        except ValueError as exc:
            expected_error = str(exc).replace("zip()", "zip_()")
        assert out == expected
        assert (str(error) if error else None) == expected_error
        assert error is None or type(error) is ValueError
        sources[0].assert_closed()

    async def test_same_as_stream_zip(self) -> None:
        assert await stream.zip([1, 2, 3], "ab").collect() == [(1, "a"), (2, "b")]
        assert await stream.zip([1, 2]).collect() == [(1,), (2,)]
        assert await stream.zip().collect() == []
        assert repr(stream([1]) | zip_("ab", strict=True)) == (
            "stream(list[1]) | zip_(stream(str[2]), strict=True)"
        )

    async def test_early_exit_closes_every_input(self) -> None:
        sources = [TrackedSource.infinite() for _ in range(3)]
        with anyio.fail_after(10):
            out = await (stream(sources[0]) | zip_(*sources[1:]) | take(3)).collect()
        assert out == [(0, 0, 0), (1, 1, 1), (2, 2, 2)]
        for source in sources:
            source.assert_closed()
        # take(3) stops at the third row: no input was read further.
        assert [source.pulled for source in sources] == [3, 3, 3]

    async def test_strict_error_closes_every_input(self) -> None:
        sources = [TrackedSource(range(3)), TrackedSource(range(2)), TrackedSource.infinite()]
        with anyio.fail_after(10), pytest.raises(ValueError, match="argument 2 is shorter"):
            await (stream(sources[0]) | zip_(*sources[1:], strict=True)).collect()
        for source in sources:
            source.assert_closed()

    async def test_error_from_an_input(self) -> None:
        boom = OSError("input")
        sources = [TrackedSource.infinite(), TrackedSource.infinite()]
        with anyio.fail_after(10), pytest.raises(OSError) as info:
            await (stream(sources[0]) | zip_(failing_source([1], boom), sources[1])).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "raised by zip_(" in note
        assert "on item 1: stream(failing_source())" in note
        for source in sources:
            source.assert_closed()

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"zip_\(\): stream\(\) takes .* got float"):
            zip_(1.5)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"strict must be True or False, got 1"):
            zip_([1], strict=1)  # type: ignore[call-overload]


class TestChain:
    @ASYNC_SETTINGS
    @given(lists=inputs, latencies=delays)
    async def test_matches_itertools_chain(
        self, lists: list[list[int]], latencies: list[float | None]
    ) -> None:
        made = [paced(xs, latencies, i) for i, xs in enumerate(lists[1:])]
        with anyio.fail_after(10):
            out = await (stream(lists[0]) | chain(*made)).collect()
        assert out == list(itertools.chain(*lists))

    async def test_same_as_stream_chain(self) -> None:
        assert await stream.chain([1], stream.range(2)).collect() == [1, 0, 1]
        assert repr(stream.chain([1])) == "stream.chain(stream(list[1]))"

    async def test_early_exit_opens_only_what_it_reaches(self) -> None:
        sources = [TrackedSource(range(3)), TrackedSource.infinite(), TrackedSource.infinite()]
        with anyio.fail_after(10):
            out = await (stream(sources[0]) | chain(*sources[1:]) | take(5)).collect()
        assert out == [0, 1, 2, 0, 1]
        assert [source.opened for source in sources] == [1, 1, 0]
        for source in sources:
            source.assert_closed()

    async def test_error_from_an_input(self) -> None:
        boom = RuntimeError("input")
        later = TrackedSource.infinite()
        with anyio.fail_after(10), pytest.raises(RuntimeError) as info:
            await (stream([1]) | chain(failing_source([2], boom), later)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "raised by chain(" in note
        assert "on item 1" in note
        assert later.opened == 0

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"chain\(\): stream\(\) takes .* got NoneType"):
            chain(None)  # type: ignore[arg-type]


class TestStartWith:
    @ASYNC_SETTINGS
    @given(values=ints, xs=ints)
    async def test_matches_list_model(self, values: list[int], xs: list[int]) -> None:
        source = TrackedSource(xs)
        with anyio.fail_after(10):
            out = await (stream(source) | start_with(*values)).collect()
        assert out == values + xs
        source.assert_closed()

    async def test_early_exit_before_the_stream_is_reached(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            assert await (stream(source) | start_with("a", "b") | take(2)).collect() == ["a", "b"]
        assert source.pulled == 0
        source.assert_closed()
        assert repr(start_with("a", 1)) == "start_with('a', 1)"

    async def test_upstream_error_keeps_its_type(self) -> None:
        boom = ValueError("upstream")
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await (stream(failing_source([1], boom)) | start_with(0)).collect()
        assert info.value is boom


class TestConcatMap:
    @ASYNC_SETTINGS
    @given(xs=st.lists(st.integers(0, 5), max_size=12), kind=st.sampled_from(["list", "agen"]))
    async def test_matches_list_model(self, xs: list[int], kind: str) -> None:
        def fn(x: int) -> Any:
            items = [x] * x
            return items if kind == "list" else paced(items, [0.0], 0)

        with anyio.fail_after(10):
            out = await (stream(xs) | concat_map(fn)).collect()
        assert out == [y for x in xs for y in [x] * x]

    async def test_early_exit_closes_inner_and_source(self) -> None:
        source = TrackedSource.infinite()
        inners: list[TrackedSource[int]] = []

        async def fn(x: int) -> TrackedSource[int]:
            inners.append(TrackedSource.infinite())
            return inners[-1]

        with anyio.fail_after(10):
            assert await (stream(source) | concat_map(fn) | take(3)).collect() == [0, 1, 2]
        source.assert_closed()
        assert len(inners) == 1
        inners[0].assert_closed()

    async def test_error_reaches_caller_unwrapped(self) -> None:
        boom = ZeroDivisionError("fn")

        def fn(x: int) -> list[int]:
            if x == 2:
                raise boom
            return [x]

        with anyio.fail_after(10), pytest.raises(ZeroDivisionError) as info:
            await (stream([0, 1, 2, 3]) | concat_map(fn)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "raised by concat_map(fn) on item 2: 2" in note

    async def test_on_error_skip(self) -> None:
        def fn(x: int) -> list[int]:
            if x == 1:
                raise ValueError(x)
            return [x, x]

        out = await (stream(range(3)) | concat_map(fn, on_error="skip")).collect()
        assert out == [0, 0, 2, 2]

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"fn must be a callable"):
            concat_map([1])  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"on_error must be one of"):
            concat_map(list, on_error="ignore")  # type: ignore[call-overload]


class TestSwitchMap:
    async def test_a_new_item_cancels_and_closes_the_previous_inner_stream(self) -> None:
        """Event-ordered: the inner stream of 1 emits once and then waits forever; sending 2
        must cancel and close it before fn(2) is called."""
        send, receive = anyio.create_memory_object_stream[int](1)
        log: list[str] = []

        async def inner(x: int) -> AsyncIterator[int]:
            try:
                yield x * 10
                if x == 1:
                    await anyio.sleep_forever()
                yield x * 10 + 1
            finally:
                log.append(f"closed {x}")

        def fn(x: int) -> AsyncIterator[int]:
            log.append(f"fn {x}")
            return inner(x)

        with anyio.fail_after(10):
            async with send, (stream(receive) | switch_map(fn)).open() as items:
                await send.send(1)
                assert await items.receive() == 10
                await send.send(2)
                assert await items.receive() == 20
                assert await items.receive() == 21
                await send.aclose()
                with pytest.raises(anyio.EndOfStream):
                    await items.receive()
        assert log == ["fn 1", "closed 1", "fn 2", "closed 2"]

    async def test_without_switches_it_is_concat_map(self) -> None:
        """Every inner stream ends before the next item: nothing is cancelled."""
        send, receive = anyio.create_memory_object_stream[int](1)
        with anyio.fail_after(10):
            async with send, (stream(receive) | switch_map(lambda x: [x] * x)).open() as items:
                for x in [1, 0, 3]:
                    await send.send(x)
                    assert [await items.receive() for _ in range(x)] == [x] * x
                await send.aclose()
                assert [x async for x in items] == []

    async def test_early_exit_closes_inner_and_source(self) -> None:
        send, receive = anyio.create_memory_object_stream[int](1)
        inner = TrackedSource.infinite()
        with anyio.fail_after(10):
            async with send:
                await send.send(0)  # in the buffer, read at once
                out = await (stream(receive) | switch_map(lambda x: inner) | take(3)).collect()
        assert out == [0, 1, 2]
        inner.assert_closed()

    async def test_cancellation_from_outside_closes_everything(self) -> None:
        source, inner = TrackedSource.infinite(delay=0.001), TrackedSource.infinite()
        with anyio.fail_after(10), anyio.CancelScope() as scope:
            async with (stream(source) | switch_map(lambda x: inner)).open() as items:
                async for _ in items:
                    scope.cancel()
        assert scope.cancelled_caught
        source.assert_closed()
        inner.assert_closed()

    @pytest.mark.parametrize("where", ["fn", "inner"])
    async def test_error_reaches_caller_unwrapped(self, where: str) -> None:
        boom = LookupError(where)
        source = TrackedSource([0, 1])

        def fn(x: int) -> AsyncIterator[int]:
            if where == "fn":
                raise boom
            return failing_source([x], boom)

        with anyio.fail_after(10), pytest.raises(LookupError) as info:
            await (stream(source) | switch_map(fn)).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "raised by switch_map(fn) on item" in note
        source.assert_closed()

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"fn must be a callable"):
            switch_map(None)  # type: ignore[call-overload]


class TestZipLatest:
    async def test_event_ordered(self) -> None:
        """Each item reaches the operator before the next is sent: the ReactiveX rule."""
        a_send, a = anyio.create_memory_object_stream[str]()
        b_send, b = anyio.create_memory_object_stream[int]()
        out: list[tuple[str, int]] = []

        async def emit(send: Any, value: object) -> list[tuple[str, int]]:
            """Send ``value`` and return what the consumer got for it."""
            seen = len(out)
            await send.send(value)
            await anyio.wait_all_tasks_blocked()
            return out[seen:]

        with anyio.fail_after(10):
            async with (stream(a) | zip_latest(b)).open() as items:

                async def consume() -> None:
                    async for item in items:
                        out.append(item)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(consume)
                    assert await emit(a_send, "a1") == []
                    assert await emit(a_send, "a2") == []  # replaces a1: b has none yet
                    assert await emit(b_send, 1) == [("a2", 1)]
                    assert await emit(b_send, 2) == [("a2", 2)]
                    assert await emit(a_send, "a3") == [("a3", 2)]
                    await a_send.aclose()
                    assert await emit(b_send, 3) == [("a3", 3)]  # a ended; its latest stays
                    await b_send.aclose()
        assert len(out) == 4

    async def test_an_input_that_ends_empty_ends_it(self) -> None:
        sources = [TrackedSource.infinite(), TrackedSource.infinite()]
        with anyio.fail_after(10):
            assert await (stream(sources[0]) | zip_latest([], sources[1])).collect() == []
        for source in sources:
            source.assert_closed()

    async def test_early_exit_closes_every_input(self) -> None:
        sources = [TrackedSource.infinite() for _ in range(3)]
        with anyio.fail_after(10):
            out = await (stream(sources[0]) | zip_latest(*sources[1:]) | take(10)).collect()
        assert len(out) == 10
        for source in sources:
            source.assert_closed()

    async def test_error_from_an_input(self) -> None:
        boom = ArithmeticError("input")
        source = TrackedSource.infinite()
        with anyio.fail_after(10), pytest.raises(ArithmeticError) as info:
            await (stream(source) | zip_latest(failing_source([1], boom))).collect()
        assert info.value is boom
        (note,) = streamkit_notes(boom)
        assert "raised by zip_latest(" in note
        assert "on item 1" in note
        source.assert_closed()

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"zip_latest\(\): stream\(\) takes .* got int"):
            zip_latest(3)  # type: ignore[call-overload]


class TestCancellationFromOutside:
    """Cancelling the consumer's scope closes every input of every combining operator."""

    @pytest.mark.parametrize(
        "combine",
        [
            lambda a, b, c: stream(a) | merge(b, c),
            lambda a, b, c: stream(a) | zip_(b, c),
            lambda a, b, c: stream(a) | chain(b, c),
            lambda a, b, c: stream(a) | zip_latest(b, c),
            lambda a, b, c: stream(a) | start_with(-1) | concat_map(lambda x: b),
        ],
        ids=["merge", "zip_", "chain", "zip_latest", "concat_map"],
    )
    async def test_closes_every_input(
        self, combine: Callable[[Any, Any, Any], Stream[Any]]
    ) -> None:
        sources = [TrackedSource.infinite() for _ in range(3)]
        seen = 0
        with anyio.fail_after(10), anyio.CancelScope() as scope:
            async with combine(*sources).open() as items:
                async for _ in items:
                    seen += 1
                    if seen == 5:
                        scope.cancel()
        assert scope.cancelled_caught
        for source in sources:
            source.assert_closed()


@pytest.mark.parametrize("width", [2, 3, 4])
async def test_zip_latest_reads_at_most_four_items_per_input_ahead(width: int) -> None:
    pulled = [0] * width

    async def numbers(k: int) -> AsyncIterator[int]:
        for i in range(1000):
            await checkpoint()
            pulled[k] += 1
            yield i

    others = [numbers(k) for k in range(1, width)]
    worst = 0
    async with (stream(numbers(0)) | zip_latest(*others)).open() as items:
        first = await items.receive()
        # Every item up to those in the first tuple was taken in before it; each later tuple
        # stands for exactly one more item taken in.
        taken = sum(index + 1 for index in first)
        for _ in range(100):
            for _ in range(20):  # let every reader run as far as it can
                await checkpoint()
            worst = max(worst, sum(pulled) - taken)
            await items.receive()
            taken += 1
    assert 0 < worst <= 4 * width
