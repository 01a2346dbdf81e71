"""The edge cases of issue 9, one test (or a few) per item, each on asyncio and trio.

The library-wide versions of the same promises, for every operator, are in
``test_guarantees.py`` (``test_source_error_prefix`` and the others); these pin the cases as
reported.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from streamkit import (
    PushSource,
    Retry,
    batch,
    broadcast,
    buffer,
    debounce,
    delay,
    filter_,
    flat_map,
    map_,
    merge,
    partition,
    pipe,
    stream,
    switch_map,
    take,
    timeout,
    zip_latest,
)
from streamkit.testing import TrackedSource, assert_no_leaked_tasks
from tests.strategies import failing_source, streamkit_notes

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


async def ten_then(error: BaseException) -> AsyncIterator[int]:
    for i in range(10):
        await anyio.lowlevel.checkpoint()
        yield i
    raise error


async def slow(x: int) -> int:
    await anyio.sleep(0.001 * (x % 3))
    return x


# -- 1. StopAsyncIteration / StopIteration from a user function -------------------------------


@pytest.mark.parametrize("concurrency", [1, 2])
@pytest.mark.parametrize("make", [map_, filter_, flat_map])
async def test_stop_async_iteration_of_fn_reaches_the_caller(make: Any, concurrency: int) -> None:
    error = StopAsyncIteration("exhausted")

    async def fn(x: int) -> Any:
        if x == 5:
            raise error
        return [x] if make is flat_map else x

    with pytest.raises(StopAsyncIteration) as info:
        await stream(range(10)).pipe(make(fn, concurrency=concurrency)).collect()
    assert info.value is error
    assert any("on item 5" in note for note in streamkit_notes(error))


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_stop_async_iteration_leaves_the_open_block_as_itself(concurrency: int) -> None:
    error = StopAsyncIteration()

    async def fn(x: int) -> int:
        if x == 3:
            raise error
        return x

    seen: list[int] = []
    with pytest.raises(StopAsyncIteration) as info:
        async with stream(range(10)).pipe(map_(fn, concurrency=concurrency)).open() as items:
            async for item in items:
                seen.append(item)
    assert info.value is error
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_stop_iteration_of_a_sync_fn_is_the_cause(concurrency: int) -> None:
    """No coroutine can raise StopIteration (PEP 479): it is the __cause__, with the note."""
    error = StopIteration()

    def fn(x: int) -> int:
        if x == 2:
            raise error
        return x

    with pytest.raises(RuntimeError) as info:
        await stream(range(10)).pipe(map_(fn, concurrency=concurrency)).collect()
    assert info.value.__cause__ is error
    assert streamkit_notes(error)


async def test_receive_raises_the_stop_async_iteration_itself() -> None:
    error = StopAsyncIteration()

    async def fn(x: int) -> int:
        raise error

    with pytest.raises(StopAsyncIteration) as info:
        async with stream([1]).pipe(map_(fn, concurrency=2)).open() as items:
            await items.receive()
    assert info.value is error


# -- 2. an upstream error arrives after every item before it ----------------------------------


CASES = {
    "map_ sequential": map_(slow),
    "map_ concurrency=4": map_(slow, concurrency=4),
    "map_ unordered": map_(slow, concurrency=4, ordered=False),
    "buffer": buffer(3),
    "timeout": timeout(60),
    "delay": delay(0.001),
    "batch timeout": pipe(batch(3, timeout=60), flat_map(list)),
    "flat_map concurrency=3": flat_map(lambda x: [x], concurrency=3),
    "broadcast": broadcast(map_(slow)),
    "merge": merge([]),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_source_error_comes_after_the_items_read(name: str) -> None:
    error = OSError("disk")
    got: list[int] = []
    with anyio.fail_after(10), pytest.raises(OSError) as info:
        async with stream(ten_then(error)).pipe(CASES[name]).open() as items:
            async for item in items:
                got.append(item)
    assert info.value is error
    if name in ("batch timeout",):
        assert got == list(range(9))  # the partial batch [9] is not emitted: no end came
    else:
        assert sorted(got) == list(range(10))


async def test_partition_delivers_both_branches_before_the_error() -> None:
    error = OSError("disk")
    got: list[int] = []
    with anyio.fail_after(10), pytest.raises(OSError) as info:
        op = partition(lambda x: x % 2 == 0, map_(slow), map_(slow, concurrency=2))
        async with stream(ten_then(error)).pipe(op).open() as items:
            async for item in items:
                got.append(item)
    assert info.value is error
    assert sorted(got) == list(range(10))


async def test_debounce_sees_every_item_before_the_error() -> None:
    error = OSError("disk")

    async def spaced() -> AsyncIterator[int]:
        for i in range(3):
            yield i
            await anyio.sleep(0.05)
        raise error

    got: list[int] = []
    with anyio.fail_after(10), pytest.raises(OSError):
        async with stream(spaced()).pipe(debounce(0.01)).open() as items:
            async for item in items:
                got.append(item)
    assert got == [0, 1, 2]


# -- 3. a function that is sometimes async ------------------------------------------------------


async def test_a_function_that_is_sometimes_async() -> None:
    async def fetch(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x * 10

    def cached(x: int) -> Any:
        return 0 if x == 0 else fetch(x)

    def cached_reverse(x: int) -> Any:
        return fetch(x) if x == 0 else x

    assert await stream(range(3)).pipe(map_(cached)).collect() == [0, 10, 20]
    assert await stream(range(3)).pipe(map_(cached_reverse)).collect() == [0, 1, 2]
    assert await stream(range(40)).pipe(filter_(cached)).count() == 39


# -- 4. switch_map cancelled is never a normal end ---------------------------------------------


async def test_switch_map_cancelled_from_outside_is_not_a_normal_end() -> None:
    async def endless() -> AsyncIterator[int]:
        while True:
            await anyio.sleep(0.001)
            yield 1

    with anyio.move_on_after(0.05):
        async with stream(endless()).pipe(switch_map(lambda x: [x])).open() as items:
            try:
                async for _ in items:
                    pass
            finally:
                with anyio.CancelScope(shield=True), pytest.raises(anyio.BrokenResourceError):
                    await items.__anext__()


# -- 5. chain closes the inputs it never reached ------------------------------------------------


class Owned:
    """A one-shot async iterator that records whether it was closed."""

    def __init__(self) -> None:
        self.closed = False

    def __aiter__(self) -> Owned:
        return self

    async def __anext__(self) -> int:
        return 1

    async def aclose(self) -> None:
        self.closed = True


async def test_chain_closes_inputs_it_never_reached() -> None:
    a, b, c = Owned(), Owned(), Owned()
    assert await stream.chain(a, b, c).first() == 1
    assert [a.closed, b.closed, c.closed] == [True, True, True]


# -- 6. async cleanup of a source on an ordinary early exit ------------------------------------


@pytest.mark.parametrize(
    "ops",
    [
        (),
        (map_(abs, concurrency=2),),
        (flat_map(lambda x: [x], concurrency=2),),
        (buffer(4),),
        (broadcast(map_(abs)),),
        (merge([]),),
        (timeout(60),),
        (batch(2, timeout=60), flat_map(list)),
        (zip_latest([0]),),
    ],
    ids=lambda ops: " | ".join(map(repr, ops)) or "none",
)
async def test_source_cleanup_may_await_on_early_exit(ops: tuple[Any, ...]) -> None:
    done: list[str] = []

    async def source() -> AsyncIterator[int]:
        try:
            for i in range(100):
                yield i
        finally:
            await anyio.sleep(0.001)
            done.append("cleanup done")

    async with assert_no_leaked_tasks():
        await stream(source()).pipe(*ops, take(2)).collect()
    assert done == ["cleanup done"]


async def test_inner_stream_cleanup_may_await() -> None:
    done: list[int] = []

    async def inner(x: int) -> AsyncIterator[int]:
        try:
            for i in range(100):
                yield i
        finally:
            await anyio.sleep(0.001)
            done.append(x)

    await stream(range(5)).pipe(flat_map(inner, concurrency=2), take(3)).collect()
    assert done


async def test_a_stuck_cleanup_does_not_hang_the_exit() -> None:
    async def source() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
        finally:
            await anyio.sleep_forever()

    with anyio.fail_after(10):
        await stream(source()).pipe(map_(abs, concurrency=2), take(2)).collect()


# -- 7. executor="thread" with timeout keeps the bound ------------------------------------------


async def test_thread_offload_with_timeout_keeps_the_concurrency_bound() -> None:
    lock = threading.Lock()
    now = peak = 0

    def blocking(x: int) -> int:
        nonlocal now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        time.sleep(0.05)
        with lock:
            now -= 1
        return x

    op = map_(blocking, executor="thread", concurrency=2, timeout=0.005, on_error="skip")
    async with stream(range(10)).pipe(op).open() as items:
        async for _ in items:
            pass
        stats = items.statistics().stages[0]
    assert peak <= 2
    assert stats.skipped == 10
    assert stats.abandoned_threads <= 2


async def test_thread_offload_of_a_function_returning_a_coroutine_is_explained() -> None:
    async def work(x: int) -> int:
        return x

    def sneaky(x: int) -> Any:
        return work(x)

    with pytest.raises(TypeError, match="executor= runs sync functions"):
        await stream([1]).pipe(map_(sneaky, executor="thread")).collect()


# -- 8. a pipeline that fails while being built closes its source -------------------------------


def returns_list(source: Any) -> Any:
    return [1]


def raises(source: Any) -> Any:
    raise Boom("build")


@pytest.mark.parametrize("bad", [returns_list, raises])
async def test_failed_build_closes_the_source(bad: Any) -> None:
    owned = Owned()
    with pytest.raises((TypeError, Boom)):
        await stream(owned).pipe(map_(abs), bad).collect()
    assert owned.closed


def test_uncalled_factory_is_refused_at_pipe() -> None:
    with pytest.raises(TypeError, match=r"take is an operator factory: call it, e.g. take\(5\)"):
        stream([1]).pipe(take)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="map_ is an operator factory"):
        pipe(map_)  # type: ignore[call-overload]


# -- 9. a push source fed from a foreign thread -------------------------------------------------


async def test_push_source_from_a_foreign_thread_raises_instead_of_hanging() -> None:
    feed: PushSource[int] = stream.push(4)
    errors: list[BaseException] = []

    def producer() -> None:
        time.sleep(0.05)
        for call in (lambda: feed.send_nowait(1), feed.close):
            try:
                call()
            except RuntimeError as exc:
                errors.append(exc)
        anyio.from_thread.run_sync(feed.close)

    with anyio.fail_after(10):
        async with feed.open() as items, anyio.create_task_group() as tasks:
            tasks.start_soon(anyio.to_thread.run_sync, producer)
            got = [item async for item in items]
    assert got == []
    assert len(errors) == 2
    assert all("from_thread" in str(error) for error in errors)


# -- 10. KeyboardInterrupt once on asyncio ------------------------------------------------------


@pytest.mark.parametrize(
    "op",
    [
        "map_(fn, concurrency=2)",
        "map_(sfn, executor='thread')",
        "broadcast(map_(fn))",
        "switch_map(lambda x: fn(x))",
        "flat_map(fn, concurrency=2)",
    ],
)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_keyboard_interrupt_is_delivered_once(op: str, backend: str) -> None:
    code = textwrap.dedent(
        f"""
        import anyio
        from streamkit import *
        async def fn(x):
            raise KeyboardInterrupt
        def sfn(x):
            raise KeyboardInterrupt
        async def main():
            try:
                await stream([1, 2]).pipe({op}).collect()
            except KeyboardInterrupt:
                print("caught")
        anyio.run(main, backend={backend!r})
        print("returned")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.split() == ["caught", "returned"], done.stderr


# -- 11. deep chains of stages that are not fused --------------------------------------------


async def passing(source: AsyncIterator[int]) -> AsyncIterator[int]:
    async for x in source:
        yield x


DEEP = {
    "user generators": lambda: passing,
    "map_ with timeout": lambda: map_(lambda x: x, timeout=60),
    "pipe of both": lambda: pipe(passing, map_(lambda x: x, timeout=60)),
}


@pytest.mark.parametrize("stages", [600, 2_500])
@pytest.mark.parametrize("kind", DEEP)
async def test_a_deep_chain_runs_closes_and_fails_as_a_short_one(kind: str, stages: int) -> None:
    """Each unfused stage stacks a generator: past Python's recursion limit (trio at about
    500), the chain must still run, stop early, and raise a source's error as itself."""
    deep = [DEEP[kind]() for _ in range(stages)]
    with anyio.fail_after(60):
        assert await stream(range(5)).pipe(*deep).collect() == list(range(5))
        source = TrackedSource.infinite()
        assert await stream(source).pipe(*deep, take(3)).collect() == [0, 1, 2]
        source.assert_closed()
        boom = OSError("source failed")
        got: list[int] = []
        with pytest.raises(OSError) as info:
            async with stream(failing_source([0, 1], boom)).pipe(*deep).open() as items:
                async for x in items:
                    got.append(x)
        assert info.value is boom
        assert got == [0, 1]


async def test_a_deep_chain_inside_flat_map() -> None:
    inner = [passing] * 700
    with anyio.fail_after(60):
        out = await stream(range(3)).pipe(flat_map(lambda x: stream([x, x]).pipe(*inner))).collect()
    assert out == [0, 0, 1, 1, 2, 2]


# -- 12. a source that swallows GeneratorExit ---------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_source_swallowing_generator_exit_is_named_once(concurrency: int) -> None:
    swallow = True

    async def source() -> AsyncIterator[int]:
        i = 0
        while True:
            try:
                yield i
            except GeneratorExit:
                if not swallow:
                    raise
            i += 1

    broken = source()
    with pytest.raises(RuntimeError, match="caught GeneratorExit") as info:
        await stream(broken).pipe(map_(abs, concurrency=concurrency), take(2)).collect()
    assert not isinstance(info.value, BaseExceptionGroup)
    swallow = False  # let the test's generator be closed, so no finalizer complains later
    with contextlib.suppress(StopAsyncIteration):  # CPython's answer to a second aclose()
        await broken.aclose()


# -- bad input ----------------------------------------------------------------------------------


async def test_open_cannot_be_entered_twice() -> None:
    opened = stream([1]).open()
    async with opened as items:
        assert [x async for x in items] == [1]
    with pytest.raises(RuntimeError, match="already entered"):
        async with opened:
            pass


def test_retry_random_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"random must return a number in \[0, 1\)"):
        Retry(Boom, random=lambda: -1)


async def test_retry_note_says_when_an_error_was_not_retryable() -> None:
    attempts = 0

    async def flaky(x: int) -> int:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("503")
        raise LookupError("404")

    with pytest.raises(LookupError) as info:
        await stream([1]).pipe(map_(flaky, retry=Retry(ConnectionError, backoff=0))).collect()
    notes = streamkit_notes(info.value)
    assert any("not retried" in note for note in notes)
    assert not any("gave up" in note for note in notes)
