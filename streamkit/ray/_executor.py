"""RayExecutor: a concurrent.futures.Executor over Ray tasks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, InvalidStateError
from typing import Any, TypeVar

import ray
import ray.exceptions

R = TypeVar("R")


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return fn(*args, **kwargs)


_remote_call: Any = ray.remote(_call)  # pyright: ignore[reportUnknownMemberType]
"""One Ray remote function for every call: the function travels as an argument (Ray pickles it
with cloudpickle), so nothing is registered per function."""


class RayExecutor(Executor):
    """Run each submitted call as a Ray task, on the Ray cluster this process is connected to
    (``ray.init(...)``; without it, Ray starts a local one on the first call).

    The future of a call has its result, or the exception the function raised as itself (not
    Ray's ``RayTaskError`` wrapper; Ray sends it back pickled, so it is an equal copy).
    Cancelling the future, pending or running, cancels the task with ``ray.cancel``: a task
    not started yet never runs; a running one is stopped with ``force=True`` (its worker
    process is killed, and Ray starts another), since the functions an executor runs are sync
    and may not see the ``KeyboardInterrupt`` that ``force=False`` raises in them until they
    return. Pass ``force_cancel=False`` to keep the worker.

    Args:
        force_cancel: how a running task is cancelled (see above).
        options: Ray task options for every call, as for ``ray.remote`` (``num_cpus=1``,
            ``resources=...``, ``max_retries=...``).

    Example::

        with RayExecutor(num_cpus=1) as executor:
            squares = await stream(range(100)).pipe(
                map_(square, executor=executor, chunksize=16, concurrency=4)
            ).collect()
    """

    def __init__(self, *, force_cancel: bool = True, **options: Any) -> None:
        if not isinstance(force_cancel, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"force_cancel must be True or False, got {force_cancel!r}")
        self._remote: Any = _remote_call.options(**options) if options else _remote_call
        self._force = force_cancel
        self._pending: set[_RayFuture[Any]] = set()
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        """Start ``fn(*args, **kwargs)`` as a Ray task; its future."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a RayExecutor after shutdown()")
            future = _RayFuture[R](self._remote.remote(fn, args, kwargs), self._force)
            self._pending.add(future)
        future.add_done_callback(self._forget)
        future.link()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls; with ``cancel_futures``, cancel the pending ones; with ``wait``,
        wait until every call has ended. The Ray cluster itself stays up."""
        with self._lock:
            self._shutdown = True
            pending = list(self._pending)
        if cancel_futures:
            for future in pending:
                future.cancel()
        if wait:
            for future in pending:
                try:
                    future.exception()
                except BaseException:  # cancelled: nothing to wait for
                    pass

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)  # pyright: ignore[reportArgumentType]


class _RayFuture(Future[R]):
    """The future of one Ray task: it takes the task's outcome, and cancelling it cancels the
    task."""

    def __init__(self, ref: Any, force: bool) -> None:
        super().__init__()
        self._ref = ref
        self._force = force

    def link(self) -> None:
        """Take the task's outcome when it is there."""
        task: Future[Any] = self._ref.future()
        task.add_done_callback(self._settle)

    def cancel(self) -> bool:
        # Cancelled here first: Ray may complete the task's own future (as cancelled) from
        # within ray.cancel, and that outcome must not be taken for the function's.
        if not super().cancel():
            return False
        ray.cancel(self._ref, force=self._force)  # pyright: ignore[reportUnknownMemberType]
        return True

    def _settle(self, task: Future[Any]) -> None:
        if self.done():  # cancelled here first
            return
        try:
            error = None if task.cancelled() else task.exception()
            if task.cancelled() or isinstance(error, ray.exceptions.TaskCancelledError):
                super().cancel()  # cancelled in Ray by someone else
                return
            if error is None:
                self.set_result(task.result())
                return
            cause = getattr(error, "cause", None)
            if isinstance(error, ray.exceptions.RayTaskError) and isinstance(cause, Exception):
                error = cause  # the function's own exception, not Ray's wrapper
            self.set_exception(error)
        except InvalidStateError:  # cancelled by another thread meanwhile
            pass
