"""Scale-out: :func:`offload`, a whole sub-pipeline run on an executor's workers, in chunks."""

from __future__ import annotations

import importlib
import pickle
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from time import perf_counter
from typing import Any, Literal

import sniffio

from .._operator import StreamOperator, check_operator, labelled
from .._options import check_int
from .._runtime._chunks import Chunk, Chunksize, Sizer, check_chunksize, run_chunks, then_raise
from .._runtime._offload import ExecutorOption, offloaded
from .._runtime._remote import RemoteStages
from .._runtime._stage import Stage
from .._types import Operator, T, U
from .._worker import ChunkDone, run_chunk

Backend = Literal["asyncio", "trio"]


@labelled
def offload(
    sub_pipeline: Operator[T, U],
    *,
    executor: ExecutorOption,
    chunksize: Chunksize = "auto",
    concurrency: int = 4,
    ordered: bool = True,
    backend: Backend | None = None,
) -> StreamOperator[T, U]:
    """Run ``sub_pipeline`` (a :func:`pipe` of operators, async functions and concurrency
    included) on ``executor``'s workers, one chunk of items per task.

    Each chunk runs in a fresh event loop on its worker (:func:`anyio.run`): the sub-pipeline
    is built there, fed the chunk, and what it emits comes back as the chunk's outputs, in
    order (chunks in input order too, unless ``ordered=False``). What each stage of the
    sub-pipeline counted comes back with each chunk and is summed into the caller's
    ``statistics()``, listed after this stage as ``"<operator> (offloaded)"``.

    The sub-pipeline is pickled once, here (with ``cloudpickle`` if it is installed, as it is
    with dask and Ray, else with ``pickle``): what cannot be sent fails now, before any work
    is sent. Items and outputs are pickled per chunk; streamkit must be installed on the
    workers. With ``executor="thread"`` or a :class:`~concurrent.futures.ThreadPoolExecutor`
    nothing is pickled: the chunks run in this process. See :doc:`scaling`.

    Args:
        sub_pipeline: the operators to run on the workers, usually ``pipe(...)``.
        executor: ``"process"``, ``"thread"`` or a :class:`concurrent.futures.Executor`
            (a dask ``client.get_executor()``, a :class:`streamkit.ray.RayExecutor`).
        chunksize: items per chunk, or ``"auto"``: sized so that the per-task overhead is at
            most 5% of a chunk's work, as measured by the chunks so far (from 1 item, doubling
            until the first is back, at most 1,024). A chunk is sent when it is full or the
            input has ended.
        concurrency: how many chunks are in flight at once.
        ordered: emit the chunks' outputs in input order; with ``False``, as chunks finish.
        backend: the event loop each chunk runs in on the worker; by default the caller's.

    Raises:
        TypeError: ``sub_pipeline`` cannot be pickled (a lambda without ``cloudpickle``, a
            lock, a user-written operator class), or is not an operator.

    An error raised in a worker's sub-pipeline reaches the caller with its type (an equal
    copy, unpickled, from another process; the object itself from a thread) and a note naming
    the worker and the chunk's items; the outputs of that chunk before the error are emitted
    first. Item numbers in the sub-pipeline's own notes count from the start of the chunk.

    Example::

        enrich = pipe(map_(fetch, concurrency=32), filter_(is_new))
        async with stream(ids).pipe(
            offload(enrich, executor=client.get_executor(), concurrency=8)
        ).open() as rows:
            async for row in rows:
                ...
        print(rows.statistics())  # the offload stage, then map_/filter_ summed over workers
    """
    check_operator(sub_pipeline)
    size = check_chunksize(chunksize)
    check_int("concurrency", concurrency, minimum=1)
    if not isinstance(ordered, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"ordered must be True or False, got {ordered!r}")
    if backend not in (None, "asyncio", "trio"):
        raise ValueError(f"backend must be None, 'asyncio' or 'trio', got {backend!r}")
    # Worker threads share this process: the sub-pipeline goes as it is (nothing is pickled,
    # and an exception arrives as the object raised, as with executor= on map_).
    in_threads = executor == "thread" or isinstance(executor, ThreadPoolExecutor)
    payload = sub_pipeline if in_threads else _pickled(sub_pipeline)
    # Checks the executor; the backend is bound per run (the caller's, by default).
    offloaded(partial(run_chunk, payload, "asyncio"), executor, concurrency=concurrency)

    def apply(source: AsyncIterator[T], stage: Stage) -> AsyncIterator[U]:
        loop = backend or sniffio.current_async_library()
        submit = offloaded(partial(run_chunk, payload, loop), executor, concurrency=concurrency)
        sizer = Sizer(size)
        remote = RemoteStages(stage, concurrency)

        async def job(chunk: Chunk) -> Iterable[list[Any]]:
            sent = perf_counter()
            try:
                done: ChunkDone = await submit(chunk.items)
            except Exception as exc:
                exc.add_note(
                    f"streamkit: the task of {stage.name} for {chunk.span} failed; none of "
                    "its outputs were emitted"
                )
                raise
            sizer.observe(len(chunk.items), perf_counter() - sent, done.seconds)
            remote.add(done.stages)
            if done.error is not None:
                done.error.add_note(
                    f"streamkit: raised in the sub-pipeline of {stage.name} on {done.worker}, "
                    f"in the chunk of {chunk.span} (the sub-pipeline's item numbers count from "
                    f"the chunk's start); its {len(done.outputs)} outputs before the error "
                    "were emitted"
                )
                return then_raise(done.outputs, done.error)
            return (done.outputs,)

        return run_chunks(
            source,
            stage,
            job,
            sizer=sizer,
            concurrency=concurrency,
            ordered=ordered,
            window=2 * concurrency,
        )

    details = (f"{concurrency} chunks at once", f"chunksize {size}")
    return StreamOperator(apply, details=details)


def _pickled(sub_pipeline: object) -> bytes:
    """``sub_pipeline`` pickled for the workers, or a clear error saying why it cannot be."""
    dumps: Callable[[object], bytes] = pickle.dumps
    try:
        cloudpickle: Any = importlib.import_module("cloudpickle")  # no type information
        dumps = cloudpickle.dumps
    except ImportError:  # pragma: no cover - installed with the test extras
        pass
    try:
        payload: bytes = dumps(sub_pipeline)
    except Exception as exc:
        raise TypeError(
            f"offload() sends its sub-pipeline to the executor's workers, so it must pickle, "
            f"but pickling {sub_pipeline!r} failed: {type(exc).__name__}: {exc}. Use functions "
            "defined at the top level of a module (or install cloudpickle, which also sends "
            "lambdas and closures), and operators made by streamkit's operator functions"
        ) from exc
    return payload
