"""``anyio-links``: every stage in its own task, linked by anyio memory object streams.

All tasks live in one task group. A concurrent map is ``concurrency`` worker tasks sharing
the links in and out; an ordered one adds a task that numbers the items (and holds the
reorder window, if one is given: otherwise it is unbounded) and a task that restores input
order. Every item pays one memory-stream hop per stage: the "one link per stage" design the
spec warns about, measured so that the cost of the hop is on record. A broadcast is a task
sending each item into one link per branch (``buffer`` items each) and one task per branch
forwarding its output into a shared merged link: the hand-written anyio fan-out. A merge is
one task per input, all sending into one link: the hand-written concurrent merge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import anyio
from _spec import (
    Batch,
    Broadcast,
    Consumer,
    Filter,
    Flatten,
    Map,
    Merge,
    Source,
    Stage,
    Take,
    aclose,
    as_async,
)
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

LINK_BUFFER = 0
"""Items a link holds: 0 (a rendezvous, trio's default advice) unless stated otherwise."""

Send: TypeAlias = MemoryObjectSendStream[Any]
Receive: TypeAlias = MemoryObjectReceiveStream[Any]


def unsupported(stages: Sequence[Stage], backend: str) -> str | None:
    return None


async def run(source: Source, stages: Sequence[Stage], consumer: Consumer) -> list[Any] | int:
    async with anyio.create_task_group() as task_group:
        receive = _start(task_group, _pump, source)
        for stage in stages:
            receive = _start_stage(task_group, stage, receive)
        with receive:
            result = await consumer.consume(receive)
        task_group.cancel_scope.cancel()  # tasks left blocked upstream of a take()
    return result


def _start(task_group: TaskGroup, task: Callable[..., Any], *args: Any) -> Receive:
    """Start ``task(*args, send)`` and return the receiving end of its output link."""
    send, receive = anyio.create_memory_object_stream[Any](LINK_BUFFER)
    task_group.start_soon(task, *args, send)
    return receive


def _start_stage(task_group: TaskGroup, stage: Stage, receive: Receive) -> Receive:
    match stage:
        case Map(concurrency=1):
            return _start(task_group, _map, stage.fn, stage.is_async, receive)
        case Map(ordered=True):
            window = anyio.Semaphore(stage.window) if stage.window is not None else None
            numbered = _start(task_group, _number, window, receive)
            worker = Map(_numbered(stage.fn, stage.is_async), stage.concurrency)
            results = _start_workers(task_group, worker, numbered)
            return _start(task_group, _reorder, window, results)
        case Map():
            return _start_workers(task_group, stage, receive)
        case Filter():
            return _start(task_group, _filter, stage.pred, stage.is_async, receive)
        case Batch(size=size):
            return _start(task_group, _batch, size, receive)
        case Flatten():
            return _start(task_group, _flatten, receive)
        case Take(n=n):
            return _start(task_group, _take, n, receive)
        case Broadcast(branches=branches, buffer=buffer):
            return _start_broadcast(task_group, branches, buffer, receive)
        case Merge(others=others):
            return _start_merge(task_group, others, receive)
    raise AssertionError(stage)


def _start_broadcast(
    task_group: TaskGroup, branches: tuple[tuple[Stage, ...], ...], buffer: int, receive: Receive
) -> Receive:
    merged_send, merged = anyio.create_memory_object_stream[Any](buffer * len(branches))
    sends = []
    with merged_send:
        for branch in branches:
            send, output = anyio.create_memory_object_stream[Any](buffer)
            sends.append(send)
            for stage in branch:
                output = _start_stage(task_group, stage, output)
            task_group.start_soon(_forward_all, output, merged_send.clone())
    task_group.start_soon(_tee, receive, sends)
    return merged


async def _tee(receive: Receive, sends: list[Send]) -> None:
    async with receive:
        try:
            async for item in receive:
                for send in sends:
                    await _forward(send, item)
        finally:
            for send in sends:
                send.close()


async def _forward_all(receive: Receive, send: Send) -> None:
    async with receive, send:
        async for item in receive:
            if not await _forward(send, item):
                return


def _start_workers(task_group: TaskGroup, stage: Map, receive: Receive) -> Receive:
    send, output = anyio.create_memory_object_stream[Any](LINK_BUFFER)
    with receive, send:
        for _ in range(stage.concurrency):
            task_group.start_soon(_map, stage.fn, stage.is_async, receive.clone(), send.clone())
    return output


def _start_merge(task_group: TaskGroup, others: Sequence[Source], receive: Receive) -> Receive:
    send, output = anyio.create_memory_object_stream[Any](LINK_BUFFER)
    with send:
        task_group.start_soon(_pump, receive, send.clone())
        for other in others:
            task_group.start_soon(_pump, other, send.clone())
    return output


def _numbered(fn: Callable[[Any], Any], is_async: bool) -> Callable[[Any], Any]:
    """``fn`` on the item of an ``(index, item)`` pair, keeping the index."""
    if not is_async:
        return lambda pair: (pair[0], fn(pair[1]))

    async def call(pair: tuple[int, Any]) -> tuple[int, Any]:
        return pair[0], await fn(pair[1])

    return call


async def _forward(send: Send, item: Any) -> bool:
    """Send ``item``; ``False`` if downstream has gone (after a take)."""
    try:
        await send.send(item)
    except anyio.BrokenResourceError:
        return False
    return True


async def _pump(source: Source, send: Send) -> None:
    items = as_async(source)
    async with send:
        try:
            async for item in items:
                if not await _forward(send, item):
                    return
        finally:
            await aclose(items)


async def _map(fn: Callable[[Any], Any], is_async: bool, receive: Receive, send: Send) -> None:
    async with receive, send:
        async for item in receive:
            result = await fn(item) if is_async else fn(item)
            if not await _forward(send, result):
                return


async def _filter(pred: Callable[[Any], Any], is_async: bool, receive: Receive, send: Send) -> None:
    async with receive, send:
        async for item in receive:
            keep = await pred(item) if is_async else pred(item)
            if keep and not await _forward(send, item):
                return


async def _number(window: anyio.Semaphore | None, receive: Receive, send: Send) -> None:
    async with receive, send:
        index = 0
        async for item in receive:
            if window is not None:
                await window.acquire()
            if not await _forward(send, (index, item)):
                return
            index += 1


async def _reorder(window: anyio.Semaphore | None, receive: Receive, send: Send) -> None:
    async with receive, send:
        pending: dict[int, Any] = {}
        next_index = 0
        async for index, item in receive:
            pending[index] = item
            while next_index in pending:
                ready = pending.pop(next_index)
                next_index += 1
                if window is not None:
                    window.release()
                if not await _forward(send, ready):
                    return


async def _batch(size: int, receive: Receive, send: Send) -> None:
    async with receive, send:
        current: list[Any] = []
        async for item in receive:
            current.append(item)
            if len(current) == size:
                if not await _forward(send, current):
                    return
                current = []
        if current:
            await _forward(send, current)


async def _flatten(receive: Receive, send: Send) -> None:
    async with receive, send:
        async for inner in receive:
            for item in inner:
                if not await _forward(send, item):
                    return


async def _take(n: int, receive: Receive, send: Send) -> None:
    async with receive, send:
        if n <= 0:
            return
        async for item in receive:
            if not await _forward(send, item):
                return
            n -= 1
            if n == 0:
                return
