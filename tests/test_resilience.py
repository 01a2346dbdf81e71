"""Error handling of map_/filter_/flat_map: timeout=, retry=, on_error handlers, Failures, SKIP,
and failures of a map over batches. Virtual-time checks of backoff are in tests/trio/."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint

from streamkit import (
    SKIP,
    Failure,
    Failures,
    Retry,
    RetryAttempt,
    Skip,
    batch,
    filter_,
    flat_map,
    flatten,
    map_,
    stream,
)
from streamkit.testing import TrackedSource
from tests.strategies import streamkit_notes

pytestmark = pytest.mark.anyio

CONCURRENCY = [1, 4]


class Flaky:
    """Fails with ``error`` the first ``fails[x]`` calls on item x, then returns x."""

    def __init__(self, fails: dict[int, int], error: type[Exception] = ConnectionError) -> None:
        self.fails = fails
        self.error = error
        self.calls: dict[int, int] = {}
        self.raised: list[Exception] = []

    async def __call__(self, x: int) -> int:
        await checkpoint()
        self.calls[x] = self.calls.get(x, 0) + 1
        if self.calls[x] <= self.fails.get(x, 0):
            exc = self.error(x)
            self.raised.append(exc)
            raise exc
        return x


def fast(**options: Any) -> Retry:
    """A retry policy without waits, for tests that are not about timing."""
    return Retry(**{"on": ConnectionError, "backoff": 0, **options})


class TestTimeout:
    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_slow_call_fails_with_builtin_timeout_error(self, concurrency: int) -> None:
        async def slow(x: int) -> int:
            if x == 2:
                await anyio.sleep_forever()
            return x

        got: list[int] = []
        with anyio.fail_after(10), pytest.raises(TimeoutError) as info:
            async with (
                stream(range(5)).pipe(map_(slow, concurrency=concurrency, timeout=0.01)).open()
            ) as items:
                async for x in items:
                    got.append(x)
        assert type(info.value) is TimeoutError
        assert got == [0, 1]
        (note,) = streamkit_notes(info.value)
        assert "timeout=0.01" in note
        assert "on item 2" in note

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_timeouts_go_to_on_error(self, concurrency: int) -> None:
        async def slow(x: int) -> bool:
            if x % 2:
                await anyio.sleep_forever()
            return True

        failures = Failures()
        with anyio.fail_after(10):
            async with (
                stream(range(6))
                .pipe(filter_(slow, concurrency=concurrency, timeout=0.01, on_error=failures))
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        assert out == [0, 2, 4]
        assert sorted(f.item for f in failures) == [1, 3, 5]
        assert all(isinstance(f.error, TimeoutError) for f in failures)
        assert (stats.failed, stats.skipped) == (3, 3)

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_flat_map_timeout_covers_the_call_not_the_reading(self, concurrency: int) -> None:
        """The inner stream may take longer than ``timeout`` in all: only the call is timed."""

        def slow_inner(x: int) -> AsyncIterator[int]:
            async def gen() -> AsyncIterator[int]:
                for i in range(3):
                    await anyio.sleep(0.02)
                    yield 10 * x + i

            return gen()

        with anyio.fail_after(10):
            out = await (
                stream(range(2))
                .pipe(flat_map(slow_inner, concurrency=concurrency, timeout=0.01))
                .collect()
            )
        assert out == [0, 1, 2, 10, 11, 12]

    async def test_sync_function_is_not_interrupted(self) -> None:
        assert await stream([1, 2]).pipe(map_(str, timeout=0.001)).collect() == ["1", "2"]


class TestRetry:
    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_transient_failures_are_retried(self, concurrency: int) -> None:
        flaky = Flaky({1: 2, 3: 1})
        seen: list[RetryAttempt] = []
        with anyio.fail_after(10):
            async with (
                stream(range(5))
                .pipe(map_(flaky, concurrency=concurrency, retry=fast(on_retry=seen.append)))
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        assert out == [0, 1, 2, 3, 4]
        assert flaky.calls == {0: 1, 1: 3, 2: 1, 3: 2, 4: 1}
        assert (stats.retries, stats.failed, stats.skipped) == (3, 0, 0)
        assert sorted((a.item, a.attempt) for a in seen) == [(1, 1), (1, 2), (3, 1)]
        assert all(a.error in flaky.raised and a.delay == 0 for a in seen)
        assert all(a.operator.startswith("map_(") for a in seen)

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_only_named_exceptions_are_retried(self, concurrency: int) -> None:
        flaky = Flaky({2: 1}, error=ValueError)
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await (
                stream(range(5)).pipe(map_(flaky, concurrency=concurrency, retry=fast())).collect()
            )
        assert info.value is flaky.raised[0]
        assert flaky.calls[2] == 1
        assert len(streamkit_notes(info.value)) == 1

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_last_error_is_raised_after_all_attempts(self, concurrency: int) -> None:
        flaky = Flaky({2: 99})
        with anyio.fail_after(10), pytest.raises(ConnectionError) as info:
            await (
                stream(range(5))
                .pipe(map_(flaky, concurrency=concurrency, retry=fast(attempts=4)))
                .collect()
            )
        assert info.value is flaky.raised[-1]
        assert flaky.calls[2] == 4
        notes = streamkit_notes(info.value)
        assert "streamkit: gave up after 4 attempts" in notes
        assert any("raised by map_(" in note and "on item 2" in note for note in notes)

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_timeouts_are_retried_when_named(self, concurrency: int) -> None:
        calls: dict[int, int] = {}

        async def slow_once(x: int) -> int:
            calls[x] = calls.get(x, 0) + 1
            if calls[x] == 1:
                await anyio.sleep_forever()
            return x

        policy = Retry(on=TimeoutError, backoff=0)
        with anyio.fail_after(10):
            out = await (
                stream(range(3))
                .pipe(map_(slow_once, concurrency=concurrency, timeout=0.01, retry=policy))
                .collect()
            )
        assert out == [0, 1, 2]
        assert calls == {0: 2, 1: 2, 2: 2}

    @pytest.mark.parametrize("kind", ["filter_", "flat_map"])
    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_filter_and_flat_map_retry_the_call(self, kind: str, concurrency: int) -> None:
        flaky = Flaky({0: 2, 3: 1})

        async def keep_odd(x: int) -> bool:
            return await flaky(x) % 2 == 1

        async def pair(x: int) -> list[int]:
            return [await flaky(x)] * 2

        op = (
            filter_(keep_odd, concurrency=concurrency, retry=fast())
            if kind == "filter_"
            else flat_map(pair, concurrency=concurrency, retry=fast())
        )
        with anyio.fail_after(10):
            out = await stream(range(4)).pipe(op).collect()
        assert out == ([1, 3] if kind == "filter_" else [0, 0, 1, 1, 2, 2, 3, 3])
        assert flaky.calls == {0: 3, 1: 1, 2: 1, 3: 2}

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_backoff_sleep_is_cancellable(self, concurrency: int) -> None:
        flaky = Flaky({0: 99})
        source = TrackedSource(range(3))
        failed = anyio.Event()

        async def call(x: int) -> int:
            try:
                return await flaky(x)
            except ConnectionError:
                failed.set()  # the first call failed: the backoff sleep begins
                raise

        op = map_(
            call, concurrency=concurrency, retry=Retry(ConnectionError, backoff=100, jitter=False)
        )

        async def run() -> None:
            await stream(source).pipe(op).collect()

        with anyio.fail_after(10), anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(run)
                await failed.wait()
                await anyio.sleep(0.01)
                scope.cancel()
        assert scope.cancelled_caught
        assert flaky.calls[0] == 1
        source.assert_closed()

    def test_delay_is_exponential_and_capped(self) -> None:
        policy = Retry(ConnectionError, backoff=0.5, max_backoff=3, jitter=False)
        assert [policy.delay(k) for k in range(1, 6)] == [0.5, 1, 2, 3, 3]
        assert policy.delay(10_000) == 3

    def test_jitter_is_seeded_full_jitter(self) -> None:
        policy = Retry(ConnectionError, backoff=1, max_backoff=8, random=random.Random(7).random)
        check = random.Random(7)
        assert [policy.delay(k) for k in range(1, 6)] == [
            base * check.random() for base in (1, 2, 4, 8, 8)
        ]

    def test_repr_shows_what_differs_from_the_defaults(self) -> None:
        assert repr(Retry(ConnectionError)) == "Retry(on=(ConnectionError,))"
        assert (
            repr(Retry((OSError, TimeoutError), attempts=5, on_retry=print))
            == "Retry(on=(OSError, TimeoutError), attempts=5, on_retry=print)"
        )
        assert repr(map_(str, retry=Retry(OSError), timeout=2)) == (
            "map_(str, timeout=2, retry=Retry(on=(OSError,)))"
        )

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"on must be an Exception subclass or a non-empty"):
            Retry(on=())
        with pytest.raises(TypeError, match=r"on must be an Exception subclass"):
            Retry(on=KeyboardInterrupt)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"on must be an Exception subclass"):
            Retry(on=42)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"attempts must be an int >= 1, got 0"):
            Retry(OSError, attempts=0)
        with pytest.raises(ValueError, match=r"backoff must be a number of seconds >= 0"):
            Retry(OSError, backoff=-1)
        with pytest.raises(ValueError, match=r"max_backoff must be a number of seconds >= 0"):
            Retry(OSError, max_backoff=float("nan"))
        with pytest.raises(TypeError, match=r"jitter must be True or False"):
            Retry(OSError, jitter="yes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"on_retry must be None or a callable"):
            Retry(OSError, on_retry=42)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"random must be a callable"):
            Retry(OSError, random=0.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"retry must be None or a streamkit.Retry"):
            map_(str, retry=3)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"timeout must be a number of seconds > 0, got 0"):
            filter_(bool, timeout=0)
        with pytest.raises(TypeError, match=r"timeout must be a number of seconds > 0, got str"):
            flat_map(list, timeout="1")  # type: ignore[call-overload]


class TestHandler:
    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_map_emits_the_replacement(self, concurrency: int) -> None:
        seen: list[tuple[Exception, object]] = []

        def handler(exc: Exception, item: object) -> int | Skip:
            seen.append((exc, item))
            return -1 if item == 2 else SKIP

        with anyio.fail_after(10):
            async with (
                stream([1, 2, 0, 4])
                .pipe(map_(lambda x: 8 // x, concurrency=concurrency, on_error=lambda e, i: -i))
                .open() as items
            ):
                assert [x async for x in items] == [8, 4, 0, 2]
            async with (
                stream(["1", "x", "3", "y"])
                .pipe(map_(int, concurrency=concurrency, on_error=handler))
                .open() as items
            ):
                assert [x async for x in items] == [1, 3]
                stats = items.statistics()
        assert [item for _, item in seen] == ["x", "y"]
        assert all(isinstance(exc, ValueError) for exc, _ in seen)
        # The handler sees the exception with its note already attached.
        assert "on item 1: 'x'" in streamkit_notes(seen[0][0])[0]
        assert (stats.failed, stats.skipped) == (2, 2)

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_async_handler(self, concurrency: int) -> None:
        send, receive = anyio.create_memory_object_stream[tuple[object, Exception]](10)

        async def sink(exc: Exception, item: object) -> Skip:
            await send.send((item, exc))
            return SKIP

        with anyio.fail_after(10), send, receive:
            out = (
                await stream(["1", "x", "3"])
                .pipe(map_(int, concurrency=concurrency, on_error=sink))
                .collect()
            )
            assert out == [1, 3]
            item, exc = receive.receive_nowait()
            assert item == "x"
            assert isinstance(exc, ValueError)

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_filter_replacement_stands_for_the_predicate(self, concurrency: int) -> None:
        def pred(x: int) -> bool:
            if x % 3 == 0:
                raise ValueError(x)
            return x % 2 == 0

        out = await (
            stream(range(7))
            .pipe(filter_(pred, concurrency=concurrency, on_error=lambda e, x: x > 3))
            .collect()
        )
        assert out == [2, 4, 6]

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_flat_map_replacement_for_call_and_for_reading(self, concurrency: int) -> None:
        def parts(x: int) -> AsyncIterator[str]:
            if x == 0:
                raise ValueError(x)

            async def gen() -> AsyncIterator[str]:
                yield f"{x}a"
                if x == 1:
                    raise KeyError(x)
                yield f"{x}b"

            return gen()

        with anyio.fail_after(10):
            out = await (
                stream(range(3))
                .pipe(flat_map(parts, concurrency=concurrency, on_error=lambda e, x: [f"{x}!"]))
                .collect()
            )
        # 0: the call failed; 1: reading failed after "1a", the replacement follows it.
        assert out == ["0!", "1a", "1!", "2a", "2b"]

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_handler_error_stops_the_pipeline(self, concurrency: int) -> None:
        boom = RuntimeError("handler failed")

        def handler(exc: Exception, item: object) -> object:
            raise boom

        with anyio.fail_after(10), pytest.raises(RuntimeError) as info:
            await (
                stream(range(3))
                .pipe(map_(lambda x: 1 // (x - 1), concurrency=concurrency, on_error=handler))
                .collect()
            )
        assert info.value is boom
        assert isinstance(boom.__context__, ZeroDivisionError)

    def test_bad_on_error(self) -> None:
        with pytest.raises(
            ValueError, match=r"on_error must be one of \('raise', 'skip'\) or a handler"
        ):
            map_(str, on_error=42)  # type: ignore[call-overload]


class TestFailures:
    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_every_input_is_an_output_or_a_failure(self, concurrency: int) -> None:
        failures = Failures()
        source = TrackedSource(["1", "2", "x", "4", "", "6"])
        with anyio.fail_after(10):
            out = (
                await stream(source)
                .pipe(map_(int, concurrency=concurrency, on_error=failures))
                .collect()
            )
        assert out == [1, 2, 4, 6]
        assert [f.item for f in failures] == ["x", ""]
        assert len(out) + failures.count == source.pulled == 6
        assert len(failures) == 2
        assert all(isinstance(f, Failure) and isinstance(f.error, ValueError) for f in failures)
        source.assert_closed()

    async def test_limit_keeps_the_most_recent_and_counts_all(self) -> None:
        failures = Failures(limit=2)
        await stream(range(5)).pipe(map_(lambda x: 1 // 0, on_error=failures)).collect()
        assert [f.item for f in failures] == [3, 4]
        assert (len(failures), failures.count) == (2, 5)
        assert repr(failures) == "Failures(limit=2)"

    def test_bad_limit(self) -> None:
        with pytest.raises(ValueError, match=r"limit must be None or an int >= 0, got -1"):
            Failures(limit=-1)

    def test_skip_marker(self) -> None:
        assert repr(SKIP) == "streamkit.SKIP"
        assert SKIP is Skip.SKIP


class TestBatchFailures:
    """A map over batches fails per batch: the whole batch is recorded (or skipped), and its
    items are accounted for through the record."""

    @pytest.mark.parametrize("concurrency", CONCURRENCY)
    async def test_failed_batch_is_recorded_with_its_items(self, concurrency: int) -> None:
        async def store(rows: list[int]) -> list[int]:
            await checkpoint()
            if 7 in rows:
                raise ConnectionError(rows)
            return rows

        failures = Failures()
        with anyio.fail_after(10):
            async with (
                stream(range(10))
                .pipe(batch(3), map_(store, concurrency=concurrency, on_error=failures), flatten())
                .open() as items
            ):
                out = [x async for x in items]
                stats = items.statistics()
        assert out == [0, 1, 2, 3, 4, 5, 9]
        assert [f.item for f in failures] == [[6, 7, 8]]
        assert len(out) + sum(len(f.item) for f in failures) == 10
        assert stats.stages[1].skipped == 1  # one batch

    async def test_retry_a_batch(self) -> None:
        calls: list[list[int]] = []

        async def store(rows: list[int]) -> int:
            calls.append(rows)
            if len(calls) == 1:
                raise ConnectionError
            return len(rows)

        out = await stream(range(5)).pipe(batch(5), map_(store, retry=fast())).collect()
        assert out == [5]
        assert calls == [[0, 1, 2, 3, 4]] * 2
