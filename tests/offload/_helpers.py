"""Test helpers for offload tests: a recording executor, and reading one item in a task."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future
from typing import Any

import anyio


async def next_item(items: AsyncIterator[Any]) -> None:
    await anext(items)


class RecordingExecutor(Executor):
    """Submits to ``inner`` and records every future, and the most ever pending at once."""

    def __init__(self, inner: Executor, *, expect: int = 0) -> None:
        self.inner = inner
        self.futures: list[Future[Any]] = []
        self.pending = 0
        self.peak_pending = 0
        self.submitted_all = anyio.Event()
        self._expect = expect
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = self.inner.submit(fn, *args, **kwargs)
        with self._lock:
            self.pending += 1
            self.peak_pending = max(self.peak_pending, self.pending)
        future.add_done_callback(self._done)
        self.futures.append(future)
        if len(self.futures) == self._expect:
            self.submitted_all.set()
        return future

    def _done(self, _: Future[Any]) -> None:
        with self._lock:
            self.pending -= 1
