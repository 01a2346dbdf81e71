"""Offload: run a sync function's calls in worker threads or processes, or on any executor.

:func:`offloaded` turns a sync ``fn`` into an async function of one item that the operators
run like any other async function, so the operator's ``concurrency`` bounds the calls in
flight, whatever runs them:

- ``"thread"``: :func:`anyio.to_thread.run_sync`, at most ``concurrency`` threads per event
  loop, counted by :class:`ThreadSlots` until each thread returns, even when its call was
  abandoned (a timeout); ``"process"``: :func:`anyio.to_process.run_sync` with
  ``cancellable=True`` (cancelling a call kills its worker process) and an
  :class:`anyio.CapacityLimiter` of ``concurrency`` tokens per event loop. Neither uses anyio's
  process-wide defaults (40 threads, one process per CPU): the operator's concurrency is what
  limits it.
- a :class:`concurrent.futures.Executor`: ``executor.submit(fn, item)``, awaited by
  :func:`wait_future`.

:func:`wait_future` parks no thread: the future's done-callback (run in whichever thread
completes it) wakes the event loop through the loop's own non-blocking thread-safe entry
point, ``loop.call_soon_threadsafe`` on asyncio and ``TrioToken.run_sync_soon`` on trio,
chosen with :mod:`sniffio`. Both are public, stable and never block the calling thread, unlike
:func:`anyio.from_thread.run_sync` (which would hold the executor's thread, or dask's event loop,
until our loop ran the callback, and fails when the future is already done and the callback runs
in the loop's own thread). Cancelling the wait cancels the future (which stops it only if it
has not started).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias

import anyio
import anyio.to_thread
import sniffio

from .._awaitable import awaitable
from .._options import describe
from .._types import T
from ._background import Wakeup

if TYPE_CHECKING:
    import asyncio

    import trio

ExecutorOption: TypeAlias = Literal["thread", "process"] | Executor
"""Where ``executor=`` runs a sync function's calls."""


def offloaded(
    fn: Callable[[Any], Any], executor: object, *, concurrency: int
) -> Callable[[Any], Awaitable[Any]]:
    """``fn`` as an async function that runs each call on ``executor``; both are checked."""
    if _is_async(fn):
        raise TypeError(
            f"executor= runs sync functions in threads or processes; {describe(fn)} is async, "
            "so leave out executor= (it already runs concurrently in the event loop)"
        )
    if isinstance(executor, Executor):

        async def submitted(item: Any) -> Any:
            return _sync_result(fn, await wait_future(executor.submit(fn, item)))

        return submitted
    if executor == "thread":
        return InThread(fn, concurrency)
    if executor == "process":
        processes = _PerLoop(lambda: anyio.CapacityLimiter(concurrency))

        async def in_process(item: Any) -> Any:
            import anyio.to_process  # only when used: it costs about 8 ms to import

            return await anyio.to_process.run_sync(
                fn, item, cancellable=True, limiter=processes.current()
            )

        return in_process
    message = (
        "executor must be 'thread', 'process' or a concurrent.futures.Executor instance "
        f"(such as a dask client.get_executor()), got {executor!r}"
    )
    raise ValueError(message) if isinstance(executor, str) else TypeError(message)


async def wait_future(future: Future[T]) -> T:
    """The outcome of ``future``, awaited without blocking a thread.

    Cancelling the wait cancels the future: an executor drops it if it has not started yet;
    work already running goes on, and its outcome is ignored.
    """
    call_soon = _thread_safe_call_soon()
    done = anyio.Event()

    def wake(_: Future[T]) -> None:
        call_soon(done.set)

    future.add_done_callback(wake)
    try:
        await done.wait()
    except BaseException:
        future.cancel()
        raise
    return future.result()


def _thread_safe_call_soon() -> Callable[[Callable[[], object]], None]:
    """A function that any thread may call to run a callback soon in the running event loop
    (a no-op once the loop has ended: nobody waits then)."""
    call_soon: Callable[[Callable[[], object]], object]
    if sniffio.current_async_library() == "trio":
        import trio  # the running backend: imported already

        call_soon = trio.lowlevel.current_trio_token().run_sync_soon
    else:
        import asyncio  # likewise (streamkit does not import it itself, for trio's users)

        call_soon = asyncio.get_running_loop().call_soon_threadsafe

    def call(callback: Callable[[], object]) -> None:
        try:
            call_soon(callback)
        except RuntimeError:  # the loop has ended (trio.RunFinishedError is one)
            pass

    return call


class ThreadSlots:
    """At most ``total`` worker threads of one operator at once, in one event loop.

    A call that is cancelled (by ``timeout=``, say) returns at once, but its thread cannot be
    stopped: it keeps its slot until ``fn`` returns, and counts as :attr:`abandoned` meanwhile.
    So a hanging blocking client never makes more than ``total`` threads, on any backend
    (anyio's own limiter would free the slot on asyncio as soon as the call is abandoned).
    """

    __slots__ = ("_call_soon", "_free", "_unlimited", "abandoned", "busy", "total")

    def __init__(self, total: int) -> None:
        self.total = total
        self.busy = 0
        """Threads running a call, abandoned or not."""
        self.abandoned = 0
        """Threads still running a call that was cancelled or timed out."""
        self._free = Wakeup()
        self._call_soon = _thread_safe_call_soon()
        self._unlimited = anyio.CapacityLimiter(math.inf)  # the bound is ours, above

    async def run(self, fn: Callable[[Any], Any], item: Any) -> Any:
        """``fn(item)`` in a worker thread, once a slot is free."""
        while self.busy >= self.total:
            await self._free.wait()
        self.busy += 1
        abandoned = False
        returned = False

        def release() -> None:
            self.busy -= 1
            if abandoned:
                self.abandoned -= 1
            self._free.notify()

        def body() -> Any:
            nonlocal returned
            try:
                return _refuse_awaitable(fn(item))
            finally:
                returned = True
                self._call_soon(release)

        try:
            return await anyio.to_thread.run_sync(
                body, abandon_on_cancel=True, limiter=self._unlimited
            )
        except BaseException:
            if not returned:  # cancelled while the thread runs: it keeps its slot
                abandoned = True
                self.abandoned += 1
            raise


class InThread:
    """``executor="thread"``: ``fn`` as an async function whose calls run in worker threads,
    ``concurrency`` at a time per event loop (:class:`ThreadSlots`)."""

    __slots__ = ("_fn", "slots")

    def __init__(self, fn: Callable[[Any], Any], concurrency: int) -> None:
        self._fn = fn
        self.slots: _PerLoop[ThreadSlots] = _PerLoop(lambda: ThreadSlots(concurrency))

    async def __call__(self, item: Any) -> Any:
        return _sync_result(self._fn, await self.slots.current().run(self._fn, item))


class _PerLoop(Generic[T]):
    """One object, made by ``make``, for each event loop this operator runs in."""

    __slots__ = ("_current", "_make")

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._current: tuple[object, T] | None = None

    def current(self) -> T:
        loop = _event_loop()
        current = self._current  # one read: another thread's loop may replace it
        if current is None or current[0] is not loop:
            current = self._current = (loop, self._make())
        return current[1]


def _event_loop() -> asyncio.AbstractEventLoop | trio.lowlevel.TrioToken:
    """The running event loop (on trio, its token): what another thread can wake."""
    if sniffio.current_async_library() == "trio":
        import trio  # the running backend: imported already

        return trio.lowlevel.current_trio_token()
    import asyncio  # likewise (not imported by streamkit itself, for trio users)

    return asyncio.get_running_loop()


def _is_async(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # ruff: ignore[unreliable-callable-check] - a callable object's async __call__
    return (
        inspect.iscoroutinefunction(fn)
        or inspect.isasyncgenfunction(fn)
        or inspect.iscoroutinefunction(call)
    )


@dataclass(frozen=True, slots=True)
class _Awaitable:
    """What a thread returns in place of an awaitable that a sync ``fn`` returned (it was
    closed there, so no backend sees it)."""

    kind: str


def _refuse_awaitable(result: Any) -> Any:
    if awaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # a coroutine: avoid "never awaited"
        return _Awaitable(type(result).__name__)
    return result


def _sync_result(fn: Callable[..., Any], result: Any) -> Any:
    """``result``, unless ``fn`` turned out to be async after all (it returned an awaitable)."""
    result = _refuse_awaitable(result)
    if isinstance(result, _Awaitable):
        raise TypeError(
            f"executor= runs sync functions, but {describe(fn)} returned an awaitable "
            f"({result.kind}); leave out executor= for async functions"
        )
    return result
