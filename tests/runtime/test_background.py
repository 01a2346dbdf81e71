"""The one consumer side of every task-running stage (worker pool, switch, fan-out): results
in turn, then one of three ends (failed, finished, cancelled), the same for each."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint

from streamkit import Operator, broadcast, buffer, map_, merge, pipe, stream, switch_map

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


async def fails_at_2(x: int) -> int:
    await checkpoint()
    if x == 2:
        raise Boom(x)
    return x


def failing_source() -> AsyncIterator[int]:
    async def numbers() -> AsyncIterator[int]:
        for i in range(3):
            await checkpoint()
            yield i
        raise Boom("source")

    return numbers()


async def same(x: int) -> int:
    await checkpoint()
    return x


STAGES: dict[str, Callable[[Callable[[int], Any]], Operator[int, int]]] = {
    "pool ordered": lambda fn: map_(fn, concurrency=3),
    "pool unordered": lambda fn: map_(fn, concurrency=3, ordered=False),
    "switch": lambda fn: switch_map(lambda x: stream([x]).pipe(map_(fn))),
    "fan-out": lambda fn: broadcast(pipe(map_(fn))),
    "buffer": lambda fn: pipe(map_(fn), buffer(4)),
}
"""Each has a task-running stage last, whose output a user operator then reads directly. A
switch drops what an inner stream had not produced when the next input came: only the last
input's inner stream is sure to run to its end."""


class Reader:
    """A user's operator after the stage: reads the stage's own output, on past an error."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    async def __call__(self, output: AsyncIterable[int]) -> AsyncIterator[int]:
        iterator = aiter(output)
        for _ in range(10):
            try:
                self.seen.append(await anext(iterator))
            except StopAsyncIteration:
                self.seen.append("end")
                break
            except Boom as exc:
                self.seen.append(exc)
        yield 0


@pytest.mark.parametrize("stage", STAGES)
async def test_a_failure_is_raised_once_then_the_output_is_exhausted(stage: str) -> None:
    reader = Reader()
    source = range(3) if stage == "switch" else range(6)  # the failing input is the last
    with anyio.fail_after(10):
        await stream(source).pipe(STAGES[stage](fails_at_2), reader).collect()
    errors = [x for x in reader.seen if isinstance(x, Boom)]
    assert len(errors) == 1
    assert errors[0].args == (2,)
    assert reader.seen[-1] == "end"
    assert reader.seen.index(errors[0]) == len(reader.seen) - 2  # nothing after the error


@pytest.mark.parametrize("stage", STAGES)
async def test_an_upstream_error_ends_the_output_after_every_item_before_it(stage: str) -> None:
    reader = Reader()
    with anyio.fail_after(10):
        await stream(failing_source()).pipe(STAGES[stage](same), reader).collect()
    *items, error, end = reader.seen
    assert isinstance(error, Boom)
    assert error.args == ("source",)
    assert end == "end"
    if stage == "switch":
        assert items[-1:] == [2]
    else:
        assert sorted(items) == [0, 1, 2]  # type: ignore[type-var]


@pytest.mark.parametrize("stage", STAGES)
async def test_finished_output_ends_and_stays_ended(stage: str) -> None:
    reader = Reader()
    with anyio.fail_after(10):
        await stream([0, 1]).pipe(STAGES[stage](same), reader).collect()
    *items, end = reader.seen
    assert end == "end"
    assert items[-1:] == [1] if stage == "switch" else sorted(items) == [0, 1]  # type: ignore[type-var]


@pytest.mark.parametrize(
    "make",
    [
        lambda: stream.count().pipe(map_(same, concurrency=2)),
        lambda: stream([0]).pipe(switch_map(lambda x: stream.count())),
        lambda: stream.count().pipe(broadcast(pipe())),
        lambda: stream.count().pipe(merge(stream.count())),
    ],
    ids=["pool", "switch", "fan-out", "merge"],
)
async def test_cancelled_output_is_broken_not_ended(make: Callable[[], Any]) -> None:
    got: list[BaseException] = []
    with anyio.fail_after(10), anyio.CancelScope() as outside:
        async with make().open() as items:
            try:
                seen = 0
                async for _ in items:
                    seen += 1
                    if seen == 5:
                        outside.cancel()
            finally:
                with anyio.CancelScope(shield=True):
                    try:  # the results already made are handed on, then the end
                        for _ in range(10_000):
                            await items.__anext__()
                    except BaseException as exc:  # what a cancelled stage ends with
                        got.append(exc)
    assert outside.cancelled_caught
    assert len(got) == 1
    assert isinstance(got[0], anyio.BrokenResourceError), got
