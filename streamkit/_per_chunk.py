"""``map_``/``filter_``/``flat_map`` with ``executor=`` and ``chunksize=n``: one executor task
per chunk of up to ``n`` items, with every policy still applied per item.

The worker calls the function on each item of its chunk in turn and sends back each call's
outcome, a result or the exception it raised (:func:`~streamkit._worker.call_each`; a call
that exceeded ``timeout`` comes back as :exc:`TimeoutError`). Back in the event loop each
item goes through the operator's own job, as if its call had just been made here: its
``on_error`` (so ``"skip"`` and :class:`~streamkit.Failures` see single items), ``retry``
(a retried item is sent again alone, as a chunk of one) and the per-item statistics.
A task that fails as a whole (its worker died, its results did not unpickle) fails each of its
items with that exception, and those go through the same policies.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from functools import partial
from time import perf_counter
from typing import Any

import anyio

from ._retry import Call, Retry, guard
from ._runtime._chunks import Chunk, Chunksize, Sizer, run_chunks, then_raise
from ._runtime._closing import aclose
from ._runtime._offload import InThread, offloaded
from ._runtime._pool import Job
from ._runtime._stage import Stage
from ._worker import ChunkDone, Raised, call_each

Apply = Callable[[AsyncIterator[Any], Stage], AsyncIterator[Any]]


def per_chunk(
    fn: Callable[[Any], Any],
    make_job: Callable[[Call, Stage], Job[Any, Any]],
    executor: object,
    *,
    chunksize: Chunksize,
    concurrency: int,
    ordered: bool,
    window: int,
    limiter: anyio.CapacityLimiter | None,
    timeout: float | None,
    retry: Retry | None,
) -> Apply:
    """How a per-item operator builds its stage when it sends chunks of items to
    ``executor``: ``concurrency`` chunks in flight, at most ``window`` chunks held."""
    offloaded(fn, executor, concurrency=concurrency)  # refuses an async fn, a bad executor
    submit = offloaded(partial(call_each, fn, timeout), executor, concurrency=concurrency)

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        if isinstance(submit, InThread):
            stage.threads = submit.slots.current()
        sizer = Sizer(chunksize)

        async def again(item: Any) -> Any:
            """A retry: the item sent again alone."""
            done: ChunkDone = await submit([item])
            (outcome,) = done.outputs
            if isinstance(outcome, Raised):
                raise _noted(outcome.error, done.worker, "a retry of this item alone")
            return outcome

        async def job(chunk: Chunk) -> Iterable[list[Any]]:
            sent = perf_counter()
            try:
                done: ChunkDone = await submit(chunk.items)
            except Exception as exc:
                exc.add_note(
                    f"streamkit: the task of {stage.name} for {chunk.span} failed as a whole; "
                    "each of its items failed with this error"
                )
                outcomes: list[Any] = [Raised(exc)] * len(chunk.items)
            else:
                sizer.observe(len(chunk.items), perf_counter() - sent, done.seconds)
                outcomes = done.outputs
                for outcome in outcomes:
                    if isinstance(outcome, Raised):
                        _noted(outcome.error, done.worker, f"the task for {chunk.span}")

            def call(item: Any, index: int) -> Any:
                outcome = outcomes[index - chunk.start]
                if not isinstance(outcome, Raised):
                    return outcome
                if retry is None:
                    raise outcome.error
                return guard(_first_then(outcome.error, again), stage, timeout=None, retry=retry)(
                    item, index
                )

            run = make_job(call, stage)
            outputs: list[Any] = []
            try:
                for offset, item in enumerate(chunk.items):
                    produced = await run(item, chunk.start + offset)
                    if isinstance(produced, AsyncIterable):
                        iterator = aiter(produced)
                        try:
                            outputs.extend([value async for value in iterator])
                        finally:
                            await aclose(iterator)
                    else:
                        outputs.extend(produced)
            except Exception as exc:  # on_error="raise": the items before it are emitted
                return then_raise(outputs, exc)
            return (outputs,)

        return run_chunks(
            source,
            stage,
            job,
            sizer=sizer,
            concurrency=concurrency,
            ordered=ordered,
            window=window,
            limiter=limiter,
        )

    return apply


def _noted(error: Exception, worker: str, task: str) -> Exception:
    error.add_note(f"streamkit: raised on {worker}, in {task}")
    return error


def _first_then(error: Exception, again: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Any]:
    """A function whose first call raises ``error`` (the outcome of the item's call in its
    chunk) and whose later calls are ``again`` (for :func:`guard`'s retries)."""
    tried = False

    def attempt(item: Any) -> Any:
        nonlocal tried
        if not tried:
            tried = True
            raise error
        return again(item)

    return attempt
