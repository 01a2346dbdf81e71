"""Offload: run a sync function's calls in worker threads or processes, or on any executor.

:func:`offloaded` turns a sync ``fn`` into an async function of one item that the operators
run like any other async function, so the operator's ``concurrency`` bounds the calls in
flight, whatever runs them:

- ``"thread"``: :func:`anyio.to_thread.run_sync`; ``"process"``: :func:`anyio.to_process.run_sync`
  with ``cancellable=True`` (cancelling a call kills its worker process). Each uses its own
  :class:`anyio.CapacityLimiter` of ``concurrency`` tokens per event loop, instead of anyio's
  process-wide defaults (40 threads, one process per CPU), so the operator's concurrency is
  what limits it.
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

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import anyio
import anyio.to_process
import anyio.to_thread
import sniffio

from .._options import describe
from .._types import T

if TYPE_CHECKING:
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
        threads = _Limiters(concurrency)

        async def in_thread(item: Any) -> Any:
            result = await anyio.to_thread.run_sync(
                fn, item, abandon_on_cancel=True, limiter=threads.current()
            )
            return _sync_result(fn, result)

        return in_thread
    if executor == "process":
        processes = _Limiters(concurrency)

        async def in_process(item: Any) -> Any:
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
    loop = _event_loop()
    call_soon: Callable[[Callable[[], object]], object] = (
        loop.call_soon_threadsafe
        if isinstance(loop, asyncio.AbstractEventLoop)
        else loop.run_sync_soon
    )
    done = anyio.Event()

    def wake(_: Future[T]) -> None:
        try:
            call_soon(done.set)
        except RuntimeError:  # the loop has ended (trio.RunFinishedError is one): nobody waits
            pass

    future.add_done_callback(wake)
    try:
        await done.wait()
    except BaseException:
        future.cancel()
        raise
    return future.result()


class _Limiters:
    """A capacity limiter of ``total`` tokens for each event loop this operator runs in."""

    __slots__ = ("_current", "_total")

    def __init__(self, total: int) -> None:
        self._total = total
        self._current: tuple[object, anyio.CapacityLimiter] | None = None

    def current(self) -> anyio.CapacityLimiter:
        loop = _event_loop()
        current = self._current  # one read: another thread's loop may replace it
        if current is None or current[0] is not loop:
            current = self._current = (loop, anyio.CapacityLimiter(self._total))
        return current[1]


def _event_loop() -> asyncio.AbstractEventLoop | trio.lowlevel.TrioToken:
    """The running event loop (on trio, its token): what another thread can wake."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_trio_token()
    return asyncio.get_running_loop()


def _is_async(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # ruff: ignore[unreliable-callable-check] - a callable object's async __call__
    return (
        inspect.iscoroutinefunction(fn)
        or inspect.isasyncgenfunction(fn)
        or inspect.iscoroutinefunction(call)
    )


def _sync_result(fn: Callable[..., Any], result: Any) -> Any:
    """``result``, unless ``fn`` turned out to be async after all (it returned an awaitable)."""
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # a coroutine: avoid "never awaited"
        raise TypeError(
            f"executor= runs sync functions, but {describe(fn)} returned an awaitable "
            f"({type(result).__name__}); leave out executor= for async functions"
        )
    return result
