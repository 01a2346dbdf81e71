"""What runs on an executor's worker for a chunk of items: the only streamkit code that a worker
(a process of a pool, a dask worker, a Ray task) imports, by name, so streamkit must be
installed where the work runs.

- :func:`call_each`: a sync function called on each item of a chunk, in order; each call's
  outcome (its result, or the exception it raised) comes back, so that the caller applies
  ``on_error``, ``retry`` and the statistics per item (``map_(..., chunksize=n)``).
- :func:`run_chunk`: a whole sub-pipeline run over a chunk in a fresh event loop
  (:func:`anyio.run`), its outputs and its per-stage statistics sent back (:func:`offload`).

Both return a :class:`ChunkDone`, which carries how long the worker spent on the chunk (for
``chunksize="auto"``) and where it ran (for error notes).
"""

from __future__ import annotations

import os
import pickle
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import sniffio

from ._awaitable import awaitable
from ._options import describe

if TYPE_CHECKING:
    from ._observe import StageStatistics

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Raised:
    """The outcome of one call that raised: the exception, sent back in place of a result."""

    error: Exception


@dataclass(frozen=True, slots=True)
class ChunkDone:
    """What a worker sends back for one chunk."""

    outputs: list[Any]
    """:func:`call_each`: one outcome per item (a result, or :class:`Raised`);
    :func:`run_chunk`: the sub-pipeline's outputs."""
    seconds: float
    """How long the worker spent on the chunk."""
    worker: str
    """Where it ran: ``"host <name> pid <n>"``."""
    stages: tuple[StageStatistics, ...] = ()
    """The sub-pipeline's statistics (:func:`run_chunk`)."""
    error: Exception | None = None
    """What stopped the sub-pipeline (:func:`run_chunk`), if anything did."""


def worker_name() -> str:
    """How a note names the process that ran a chunk."""
    return f"host {socket.gethostname()} pid {os.getpid()}"


def call_each(fn: Callable[[Any], Any], timeout: float | None, items: list[Any]) -> ChunkDone:
    """``fn(item)`` for each item in turn; an exception is caught and sent back as the item's
    outcome, and so is a call that took longer than ``timeout`` seconds (as
    :exc:`TimeoutError`; a sync call cannot be interrupted, so it ran to its end)."""
    started = perf_counter()
    outcomes: list[Any] = []
    for item in items:
        began = perf_counter()
        try:
            result = fn(item)
            if awaitable(result):
                close = getattr(result, "close", None)
                if close is not None:
                    close()  # a coroutine: avoid "never awaited"
                raise TypeError(
                    f"executor= runs sync functions, but {describe(fn)} returned an awaitable "
                    f"({type(result).__name__}); leave out executor= for async functions"
                )
            if timeout is not None and perf_counter() - began > timeout:
                raise TimeoutError(
                    f"the call took longer than timeout={timeout} s (it ran to its end in the "
                    "worker: a sync call cannot be interrupted)"
                )
            outcomes.append(result)
        except Exception as exc:
            outcomes.append(Raised(exc))
    return ChunkDone(outcomes, perf_counter() - started, worker_name())


def run_chunk(payload: object, backend: str, items: list[Any]) -> ChunkDone:
    """Run the sub-pipeline ``payload`` (pickled, or as it is for a worker thread) over
    ``items`` in a fresh event loop of ``backend``; what it emitted, its statistics, and the
    error that stopped it, if any."""
    started = perf_counter()
    sub_pipeline: Any = pickle.loads(payload) if isinstance(payload, bytes) else payload

    def run() -> tuple[list[Any], tuple[StageStatistics, ...], Exception | None]:
        return anyio.run(_run, sub_pipeline, items, backend=backend)

    outputs, stages, error = run() if not _in_event_loop() else _in_thread(run)
    return ChunkDone(outputs, perf_counter() - started, worker_name(), stages, error)


def _in_event_loop() -> bool:
    """Whether this thread runs an event loop, or seems to: a process forked from one (as
    ProcessPoolExecutor does on Linux) inherits the marker that sniffio and anyio check."""
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return True


def _in_thread(fn: Callable[[], R]) -> R:
    """``fn()`` in a fresh thread, where no event loop runs."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(fn).result()


async def _run(
    sub_pipeline: Any, items: list[Any]
) -> tuple[list[Any], tuple[StageStatistics, ...], Exception | None]:
    from ._factory import stream
    from ._stream import Pipeline

    outputs: list[Any] = []
    error: Exception | None = None
    results: Pipeline[Any] | None = None
    try:
        async with stream(items).pipe(sub_pipeline).open() as results:
            async for output in results:
                outputs.append(output)
    except Exception as exc:
        error = exc
    stages = () if results is None else results.statistics().stages
    return outputs, stages, error
