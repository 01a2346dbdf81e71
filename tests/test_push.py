"""The push source, ``stream.push(size)``: backpressure, overflow policies, the end and errors,
producers in other tasks and threads, on every backend."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from anyio.lowlevel import checkpoint

from streamkit import PushSource, StreamConsumedError, map_, stream, take

pytestmark = pytest.mark.anyio


class TestPush:
    async def test_backpressure(self) -> None:
        """``send`` waits while ``size`` items are unread: the producer is never more than
        ``size`` ahead of the consumer."""
        feed: PushSource[int] = stream.push(3)
        sent = 0
        ahead: list[int] = []

        async def produce() -> None:
            nonlocal sent
            for i in range(50):
                await feed.send(i)
                sent += 1
            feed.close()

        async def consume() -> list[int]:
            out: list[int] = []
            async with feed.open() as items:
                async for item in items:
                    out.append(item)
                    ahead.append(sent - len(out))
                    await checkpoint()
            return out

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                out = await consume()
        assert out == list(range(50))
        assert max(ahead) <= 3

    async def test_send_nowait_when_full(self) -> None:
        feed: PushSource[int] = stream.push(2)
        feed.send_nowait(1)
        feed.send_nowait(2)
        with pytest.raises(anyio.WouldBlock, match=r"stream.push\(2\) buffer is full"):
            feed.send_nowait(3)
        feed.close()
        with anyio.fail_after(10):
            assert await feed.collect() == [1, 2]

    @pytest.mark.parametrize(
        ("overflow", "expected"), [("drop_oldest", [3, 4]), ("drop_newest", [1, 2])]
    )
    async def test_drop_policies(self, overflow: Any, expected: list[int]) -> None:
        feed: PushSource[int] = stream.push(2, overflow=overflow)
        for i in (1, 2, 3):
            feed.send_nowait(i)
        await feed.send(4)  # never waits
        feed.close()
        assert feed.dropped == 2
        with anyio.fail_after(10):
            assert await feed.collect() == expected
        assert repr(feed) == f"stream.push(2, overflow={overflow!r})"

    async def test_fail_raises_after_the_items(self) -> None:
        feed: PushSource[str] = stream.push(5)
        boom = OSError("disconnected")
        got: list[str] = []
        await feed.send("a")
        feed.send_nowait("b")
        feed.fail(boom)
        with anyio.fail_after(10), pytest.raises(OSError) as info:
            async with feed.pipe(map_(str.upper)).open() as items:
                async for item in items:
                    got.append(item)
        assert info.value is boom
        assert got == ["A", "B"]

    async def test_sending_after_close(self) -> None:
        feed: PushSource[int] = stream.push(5)
        feed.close()
        feed.close()
        with pytest.raises(anyio.ClosedResourceError):
            feed.send_nowait(1)
        with pytest.raises(anyio.ClosedResourceError):
            await feed.send(1)

    async def test_early_exit_tells_the_producer(self) -> None:
        """After take(3) the consumer is gone: the waiting producer gets BrokenResourceError."""
        feed: PushSource[int] = stream.push(2)
        stopped: list[BaseException] = []

        async def produce() -> None:
            try:
                for i in range(1000):
                    await feed.send(i)
            except anyio.BrokenResourceError as exc:
                stopped.append(exc)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                out = await feed.pipe(take(3)).collect()
        assert out == [0, 1, 2]
        assert len(stopped) == 1
        with pytest.raises(anyio.BrokenResourceError):
            feed.send_nowait(0)

    async def test_from_a_thread(self) -> None:
        feed: PushSource[int] = stream.push(4)

        def produce() -> None:
            for i in range(100):
                anyio.from_thread.run(feed.send, i)
            anyio.from_thread.run_sync(feed.close)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(anyio.to_thread.run_sync, produce)
                out = await feed.pipe(map_(lambda x: x * 2)).collect()
        assert out == [2 * i for i in range(100)]

    async def test_one_shot(self) -> None:
        feed: PushSource[int] = stream.push(1)
        feed.close()
        assert await feed.collect() == []
        with pytest.raises(StreamConsumedError, match=r"stream.push\(1\) is a one-shot source"):
            await feed.collect()

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"size must be an int >= 1, got 0"):
            stream.push(0)
        with pytest.raises(ValueError, match=r"overflow must be one of"):
            stream.push(1, overflow="latest")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
