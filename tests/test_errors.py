"""Errors (API.md §4): user exceptions keep their identity; context is a PEP 678 note."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from streamkit import buffer, filter_, flat_map, map_, stream, take, tap
from streamkit.testing import TrackedSource

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


def fail_on(bad: int, exc: BaseException | None = None) -> object:
    error = exc or Boom(bad)

    async def fn(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        if x == bad:
            raise error
        return x

    fn.error = error  # type: ignore[attr-defined]
    return fn


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("ordered", [True, False])
async def test_same_exception_object_with_note(concurrency: int, ordered: bool) -> None:
    fn = fail_on(5)
    source = TrackedSource(range(20))
    with pytest.raises(Boom) as info, anyio.fail_after(5):
        await stream(source).pipe(map_(fn, concurrency=concurrency, ordered=ordered)).collect()
    assert info.value is fn.error  # type: ignore[attr-defined]
    (note,) = info.value.__notes__
    assert note.startswith("streamkit: raised by map_(fn")
    assert "on item 5: 5" in note
    source.assert_closed()


async def test_ordered_error_comes_after_earlier_items() -> None:
    seen: list[int] = []
    s = stream(range(10)).pipe(map_(fail_on(4), concurrency=4), tap(seen.append))
    with pytest.raises(Boom):
        await s.drain()
    assert seen == [0, 1, 2, 3]


async def test_error_in_open_block_reaches_caller_unwrapped() -> None:
    with pytest.raises(Boom):
        async with stream(range(10)).pipe(map_(fail_on(3), concurrency=2)).open() as items:
            async for _ in items:
                pass


async def test_consumer_exception_unwrapped() -> None:
    error = LookupError("mine")
    source = TrackedSource.infinite()
    with pytest.raises(LookupError) as info:
        async with stream(source).pipe(map_(fail_on(-1), concurrency=3)).open() as items:
            async for x in items:
                if x == 2:
                    raise error
    assert info.value is error
    assert not getattr(error, "__notes__", None)
    source.assert_closed()


async def test_skip_counts_and_observes() -> None:
    s = stream(range(10)).pipe(
        map_(fail_on(3), on_error="skip", concurrency=3),
        filter_(lambda x: x != 7 or 1 / 0, on_error="skip"),
    )
    async with s.open() as items:
        assert [x async for x in items] == [0, 1, 2, 4, 5, 6, 8, 9]
    stats = items.statistics()
    assert [stage.skipped for stage in stats.stages] == [1, 1]
    assert stats.skipped == 2
    assert stats.stages[0].operator == "map_(fn, concurrency=3, on_error='skip')"
    assert stats.stages[0].peak_held <= 3 * 16


async def test_flat_map_error_note_names_flat_map() -> None:
    def explode(x: int) -> list[int]:
        if x == 2:
            raise Boom(x)
        return [x, x]

    with pytest.raises(Boom) as info:
        await stream(range(5)).pipe(flat_map(explode)).collect()
    assert "flat_map(explode) on item 2" in info.value.__notes__[0]


async def test_several_simultaneous_failures_raise_a_group_with_note() -> None:
    async def broken_source() -> AsyncIterator[int]:
        try:
            yield 0
            await anyio.sleep_forever()
        finally:
            raise Boom("source cleanup")

    consumer_error = LookupError("consumer")
    with pytest.raises(ExceptionGroup) as info:
        async with stream(broken_source()).pipe(buffer(1)).open() as items:
            assert await items.receive() == 0
            # The consumer fails; closing the buffer makes the source's cleanup fail in the
            # buffer's task: two real failures, so a group, with a note saying why. (An error
            # the source raised while reading would come in stream order, after item 0, and
            # only if the consumer asked for it.)
            raise consumer_error
    leaves = info.value.exceptions
    assert {type(e) for e in leaves} == {Boom, LookupError}
    assert consumer_error in leaves
    assert "2 failures happened concurrently" in info.value.__notes__[0]


async def test_outside_cancellation_stays_cancellation() -> None:
    source = TrackedSource.infinite(delay=0.001)
    with anyio.move_on_after(0.05) as scope:
        await stream(source).pipe(map_(fail_on(-1), concurrency=4)).drain()
    assert scope.cancelled_caught
    source.assert_closed()


async def test_keyboard_interrupt_passes_through() -> None:
    fn = fail_on(2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        await stream(range(5)).pipe(map_(fn)).collect()


async def test_take_after_error_free_prefix() -> None:
    assert await stream(range(10)).pipe(map_(fail_on(5)), take(3)).collect() == [0, 1, 2]
