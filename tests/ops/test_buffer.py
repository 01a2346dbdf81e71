"""Buffering operators: batch and buffer.

Each class checks its operator against a plain-list model on random inputs, then read-ahead
bounds, early exit, errors and options. The exact timing of ``batch(timeout=)`` is tested in
virtual time in ``tests/trio/test_time_operators.py``; here it gets a real-time check with
generous tolerance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import batch, buffer, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, delays, failing_source, ints, pause, slow_source

pytestmark = pytest.mark.anyio


def chunks(xs: list[int], size: int) -> list[list[int]]:
    return [xs[i : i + size] for i in range(0, len(xs), size)]


class TestBatch:
    @ASYNC_SETTINGS
    @given(
        xs=ints,
        size=st.integers(1, 7),
        max_wait=st.sampled_from([None, 30.0]),
        latencies=delays,
    )
    async def test_matches_list_model(
        self, xs: list[int], size: int, max_wait: float | None, latencies: list[float | None]
    ) -> None:
        """A timeout that never expires changes nothing: full batches, then the rest."""
        with anyio.fail_after(10):
            out = (
                await stream(slow_source(xs, latencies))
                .pipe(batch(size, timeout=max_wait))
                .collect()
            )
        assert out == chunks(xs, size)

    async def test_batches_are_fresh_lists(self) -> None:
        with anyio.fail_after(10):
            out = await stream(range(4)).pipe(batch(2)).collect()
        assert out == [[0, 1], [2, 3]]
        assert out[0] is not out[1]

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(batch(3), take(2)).collect()
        assert out == [[0, 1, 2], [3, 4, 5]]
        source.assert_closed()
        assert source.pulled == 6

    async def test_early_exit_with_timeout(self) -> None:
        """With a timeout the upstream is read ahead, at most ``size`` items."""
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(batch(3, timeout=10), take(2)).collect()
        assert out == [[0, 1, 2], [3, 4, 5]]
        source.assert_closed()
        assert 6 <= source.pulled <= 6 + 3

    async def test_timeout_emits_partial_batch(self) -> None:
        """Real time: two items, then a long pause. [0, 1] comes out once 0 has waited
        ``timeout``, long before the next item."""
        timeout = 0.05

        async def source() -> AsyncIterator[int]:
            yield 0
            yield 1
            await anyio.sleep(5)
            yield 2

        with anyio.fail_after(10):
            start = anyio.current_time()
            out = await stream(source()).pipe(batch(10, timeout=timeout), take(1)).collect()
            elapsed = anyio.current_time() - start
        assert out == [[0, 1]]
        assert elapsed >= timeout * 0.9
        assert elapsed < 2.5

    async def test_end_of_input_emits_partial_batch_without_waiting(self) -> None:
        with anyio.fail_after(10):
            start = anyio.current_time()
            out = await stream(range(5)).pipe(batch(3, timeout=5)).collect()
            elapsed = anyio.current_time() - start
        assert out == [[0, 1, 2], [3, 4]]
        assert elapsed < 2.5

    @pytest.mark.parametrize("max_wait", [None, 5.0])
    async def test_upstream_error_passes_through(self, max_wait: float | None) -> None:
        boom = ValueError("upstream")
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream(failing_source([1, 2, 3], boom)).pipe(batch(2, timeout=max_wait)).collect()
        assert info.value is boom

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"size must be an int >= 1, got 0"):
            batch(0)
        with pytest.raises(ValueError, match=r"size must be an int >= 1, got -2"):
            batch(-2)
        with pytest.raises(TypeError, match=r"size must be an int >= 1, got float"):
            batch(1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"timeout must be a number of seconds > 0, got 0"):
            batch(2, timeout=0)
        with pytest.raises(ValueError, match=r"timeout must be a number of seconds > 0, got -1"):
            batch(2, timeout=-1.0)
        with pytest.raises(TypeError, match=r"timeout must be a number of seconds > 0, got str"):
            batch(2, timeout="1")  # type: ignore[arg-type]


class TestBuffer:
    @ASYNC_SETTINGS
    @given(xs=ints, size=st.integers(1, 8), latencies=delays, consumer_latencies=delays)
    async def test_matches_list_model(
        self,
        xs: list[int],
        size: int,
        latencies: list[float | None],
        consumer_latencies: list[float | None],
    ) -> None:
        """Same items, same order, whatever the producer's and consumer's speeds."""
        out: list[int] = []
        with anyio.fail_after(10):
            async with stream(slow_source(xs, latencies)).pipe(buffer(size)).open() as items:
                async for x in items:
                    out.append(x)
                    await pause(consumer_latencies, len(out))
        assert out == xs

    @pytest.mark.parametrize("size", [1, 4])
    async def test_reads_ahead_exactly_size(self, size: int) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            async with stream(source).pipe(buffer(size)).open() as items:
                assert await items.receive() == 0
                await anyio.sleep(0.02)  # an idle consumer: the buffer fills, then stops
                assert source.pulled == 1 + size
                assert items.statistics().stages[0].held == size
                for expected in range(1, 4):
                    assert await items.receive() == expected
                    assert source.pulled <= 1 + expected + size
        source.assert_closed()

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(buffer(4), take(3)).collect()
        assert out == [0, 1, 2]
        source.assert_closed()
        assert 3 <= source.pulled <= 3 + 4

    async def test_upstream_error_passes_through(self) -> None:
        boom = ValueError("upstream")
        received: list[int] = []
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            async with stream(failing_source([1, 2, 3], boom)).pipe(buffer(2)).open() as items:
                async for x in items:
                    received.append(x)
        assert info.value is boom
        assert received == [1, 2, 3][: len(received)]

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"size must be an int >= 1, got 0"):
            buffer(0)
        with pytest.raises(TypeError, match=r"size must be an int >= 1, got NoneType"):
            buffer(None)  # type: ignore[arg-type]
