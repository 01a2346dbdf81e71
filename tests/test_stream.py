"""Streams as lazy descriptions (API.md §1) and their consumers (§2)."""

from __future__ import annotations

import operator
from collections.abc import AsyncIterable, AsyncIterator

import anyio
import pytest

from streamkit import (
    EmptyStreamError,
    Stream,
    StreamConsumedError,
    batch,
    filter_,
    map_,
    open_pipeline,
    pipe,
    stream,
    take,
)
from streamkit.testing import TrackedSource

pytestmark = pytest.mark.anyio


async def agen(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


async def double(source: AsyncIterable[int]) -> AsyncIterator[int]:
    async for x in source:
        yield 2 * x


class TestSources:
    async def test_iterable(self) -> None:
        assert await stream([1, 2, 3]).collect() == [1, 2, 3]

    async def test_async_iterable(self) -> None:
        assert await stream(agen(3)).collect() == [0, 1, 2]

    async def test_stream_is_returned_as_is(self) -> None:
        s = stream([1])
        assert stream(s) is s

    async def test_receive_stream(self) -> None:
        send, receive = anyio.create_memory_object_stream[int](3)
        with send:
            for i in range(3):
                send.send_nowait(i)
        assert await stream(receive).collect() == [0, 1, 2]

    def test_bad_source(self) -> None:
        with pytest.raises(TypeError, match=r"stream\(\) takes an iterable.*got int"):
            stream(42)  # type: ignore[call-overload]

    async def test_range_count_repeat_empty(self) -> None:
        assert await stream.range(2, 8, 3).collect() == [2, 5]
        assert await stream.count(10, 5).pipe(take(3)).collect() == [10, 15, 20]
        assert await stream.repeat("x", times=2).collect() == ["x", "x"]
        assert await stream.repeat(1).pipe(take(4)).collect() == [1, 1, 1, 1]
        assert await stream.empty().collect() == []

    async def test_merge_zip_chain(self) -> None:
        merged = await stream.merge(stream.range(3), [10, 11], agen(2)).collect()
        assert sorted(merged) == [0, 0, 1, 1, 2, 10, 11]
        assert await stream.zip([1, 2, 3], "ab").collect() == [(1, "a"), (2, "b")]
        assert await stream.chain([1], stream.range(2), agen(1)).collect() == [1, 0, 1, 0]

    async def test_merge_keeps_each_source_in_order(self) -> None:
        a = TrackedSource(range(50))
        b = TrackedSource(range(100, 150))
        merged = await stream.merge(a, b).collect()
        assert [x for x in merged if x < 100] == list(range(50))
        assert [x for x in merged if x >= 100] == list(range(100, 150))
        a.assert_closed()
        b.assert_closed()

    async def test_zip_closes_all_sources(self) -> None:
        short, infinite = TrackedSource(range(2)), TrackedSource.infinite()
        assert await stream.zip(short, infinite).collect() == [(0, 0), (1, 1)]
        short.assert_closed()
        infinite.assert_closed()

    @pytest.mark.parametrize("combine", [stream.merge, stream.zip, stream.chain])
    def test_combinators_check_sources(self, combine: object) -> None:
        with pytest.raises(TypeError, match=r"stream\.\w+\(\): stream\(\) takes"):
            combine(1, [2])  # type: ignore[operator]

    async def test_interval_ticks(self) -> None:
        with anyio.fail_after(5):
            assert await stream.interval(0.01).pipe(take(3)).collect() == [0, 1, 2]

    def test_interval_rejects_non_positive(self) -> None:
        with pytest.raises(ValueError, match="seconds must be a number of seconds > 0, got 0"):
            stream.interval(0)


class TestLaziness:
    async def test_nothing_runs_until_consumed(self) -> None:
        calls: list[int] = []
        s = stream([1, 2]).pipe(map_(calls.append))
        assert calls == []
        await s.drain()
        assert calls == [1, 2]

    async def test_each_consumption_runs_afresh(self) -> None:
        source = TrackedSource(range(3))
        s = stream(source).pipe(map_(lambda x: x + 1))
        assert await s.collect() == [1, 2, 3]
        assert await s.collect() == [1, 2, 3]
        assert source.opened == 2

    @pytest.mark.parametrize("make", [lambda: iter([0, 1]), lambda: agen(2)])
    async def test_one_shot_source_refuses_a_second_run(self, make: object) -> None:
        s = stream(make())  # type: ignore[operator]
        assert await s.collect() == [0, 1]
        with pytest.raises(StreamConsumedError, match="one-shot source"):
            await s.collect()

    async def test_pipe_leaves_original_unchanged(self) -> None:
        s = stream(range(5))
        t = s.pipe(take(2))
        u = s | filter_(lambda x: x > 2)
        assert await s.collect() == [0, 1, 2, 3, 4]
        assert await t.collect() == [0, 1]
        assert await u.collect() == [3, 4]

    async def test_user_async_generator_operator(self) -> None:
        assert await stream([1, 2]).pipe(double, map_(str)).collect() == ["2", "4"]

    async def test_pipe_composes_operators(self) -> None:
        clean = pipe(map_(str.strip), filter_(bool))
        assert await stream([" a", "  ", "b "]).pipe(clean, take(5)).collect() == ["a", "b"]
        assert await stream([" c "]).pipe(clean).collect() == ["c"]

    async def test_operator_must_return_async_iterator(self) -> None:
        s = stream([1]).pipe(lambda source: [1, 2])  # type: ignore[arg-type, return-value]
        with pytest.raises(TypeError, match="returned list, not an async iterator"):
            await s.collect()

    def test_pipe_rejects_non_callables(self) -> None:
        with pytest.raises(TypeError, match="pipe\\(\\) takes operators"):
            stream([1]).pipe(3)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="pipe\\(\\) takes operators"):
            pipe(map_(str), "x")  # type: ignore[call-overload]


class TestRepr:
    def test_pipeline_reads_like_code(self) -> None:
        async def fetch(url: str) -> str:
            return url

        s = stream(["u"] * 100) | map_(fetch, concurrency=16) | take(5)
        assert repr(s) == "stream(list[100]) | map_(fetch, concurrency=16) | take(5)"

    def test_sources_and_user_operators(self) -> None:
        assert repr(stream.range(3).pipe(double)) == "stream.range(3) | double"
        assert (
            repr(stream.merge([1], stream.range(2)))
            == "stream.merge(stream(list[1]), stream.range(2))"
        )
        assert repr(pipe(batch(2), take(1))) == "pipe(batch(2), take(1))"
        assert repr(batch(10, timeout=0.5)) == "batch(10, timeout=0.5)"


class TestConsumers:
    async def test_first_last_count(self) -> None:
        s = stream.range(5)
        assert await s.first() == 0
        assert await s.last() == 4
        assert await s.count() == 5

    async def test_first_stops_the_pipeline(self) -> None:
        source = TrackedSource.infinite()
        assert await stream(source).first() == 0
        source.assert_closed()

    @pytest.mark.parametrize("consumer", ["first", "last"])
    async def test_empty_first_last(self, consumer: str) -> None:
        with pytest.raises(EmptyStreamError, match=f"{consumer}\\(\\) found no item"):
            await getattr(stream.empty(), consumer)()
        assert await getattr(stream.empty(), consumer)(default=7) == 7

    async def test_reduce(self) -> None:
        async def add(a: int, b: int) -> int:
            return a + b

        assert await stream([1, 2, 3]).reduce(operator.add, 10) == 16
        assert await stream([1, 2, 3]).reduce(add, 0) == 6
        assert await stream([1, 2, 3]).reduce(operator.mul) == 6
        with pytest.raises(EmptyStreamError, match="no initial value"):
            await stream.empty().reduce(operator.add)

    async def test_reduce_error_keeps_type_and_names_item(self) -> None:
        def fail(a: int, b: int) -> int:
            raise KeyError(b)

        with pytest.raises(KeyError) as info:
            await stream([1, 2]).reduce(fail, 0)
        assert "reduce(fail) on item 0" in info.value.__notes__[0]

    async def test_drain(self) -> None:
        seen: list[int] = []
        assert await stream([1, 2]).pipe(map_(seen.append)).drain() is None
        assert seen == [1, 2]


class TestOpen:
    async def test_async_for_and_receive(self) -> None:
        async with stream([1, 2]).open() as items:
            assert await items.receive() == 1
            assert [x async for x in items] == [2]
            with pytest.raises(anyio.EndOfStream):
                await items.receive()

    async def test_open_pipeline(self) -> None:
        async with open_pipeline(range(5), map_(lambda x: x * 10), batch(2)) as batches:
            assert [b async for b in batches] == [[0, 10], [20, 30], [40]]

    async def test_use_after_block_is_an_error(self) -> None:
        async with stream([1, 2]).open() as items:
            pass
        with pytest.raises(anyio.ClosedResourceError):
            await items.receive()

    async def test_plain_async_for_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match=r"async with s\.open\(\) as items"):
            async for _ in stream([1]):  # type: ignore[attr-defined]
                pass

    async def test_async_with_stream_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match=r"async with s\.open\(\) as items"):
            async with stream([1]):  # type: ignore[attr-defined]
                pass


def test_stream_is_generic_class() -> None:
    assert Stream.__module__ == "streamkit"
    assert repr(stream) == "streamkit.stream"
