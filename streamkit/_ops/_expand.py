"""Recursive expansion: ``expand``, a crawl through one stage (pages -> links -> pages).

A worker pool whose input is a :class:`~streamkit._runtime._frontier.Frontier`: the upstream's
items and, fed back, every item that a call of ``fn`` found, until no work is left.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Unpack, cast, overload

from .._errors import SKIP
from .._operator import StreamOperator, labelled
from .._options import check_callable, check_int, check_window
from .._per_item import PerItemOptions, per_item, per_item_signature
from .._retry import Call
from .._runtime._closing import aclose
from .._runtime._frontier import Entry, Frontier
from .._runtime._pool import Job, start_pool
from .._runtime._stage import RAISE, Stage
from .._types import MYPY, AnyIterable, T
from ._buffer import read_ahead
from ._each import settle
from ._transform import items_of

MAX_FRONTIER = 10_000
"""``expand``'s default bound on found items waiting to be taken up."""

if MYPY:  # mypy reads these overloads; pyright and the runtime the def below (_types.MYPY)

    @overload
    def expand(
        fn: Callable[[T], Awaitable[AnyIterable[T]]],
        *,
        max_depth: int | None = None,
        max_frontier: int = MAX_FRONTIER,
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, T]: ...
    @overload
    def expand(
        fn: Callable[[T], AnyIterable[T]],
        *,
        max_depth: int | None = None,
        max_frontier: int = MAX_FRONTIER,
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, T]: ...
    def expand(*args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportRedeclaration]
        raise NotImplementedError

else:

    @labelled
    @per_item_signature
    def expand(
        fn: Callable[[T], Awaitable[AnyIterable[T]]] | Callable[[T], AnyIterable[T]],
        *,
        max_depth: int | None = None,
        max_frontier: int = MAX_FRONTIER,
        **options: Unpack[PerItemOptions],
    ) -> StreamOperator[T, T]:
        """Emit each input and, recursively, every item that ``fn`` finds from it, fed back
        through the same stage: a crawl (pages -> links -> pages), a tree walk, a graph search.

        ``fn`` (sync or async) returns an iterable, an async iterable or a :class:`Stream` of
        new items. An item is emitted once its call has ended (so its found items are queued
        first), in completion order. The stream ends when the input has ended and no item is
        waiting or being expanded: there is no counter to keep. ``fn`` is called on every item
        it is given: to visit each node of a graph once, drop the ones seen already in ``fn``.

        Args:
            fn: called with each item; returns the items found from it.
            max_depth: expand items at most this deep (the inputs are at depth 0, the items
                found from them at 1, ...); deeper ones are not looked for, and items at
                ``max_depth`` are emitted without a call. ``None``: no limit.
            max_frontier: at most this many found items wait to be taken up. A call that finds
                more waits until a worker takes one; if every worker is waiting so, the run
                fails with :exc:`FrontierFullError` rather than hang.
            options: as for :func:`map_` (``concurrency``, ``window``, ``key``/``per_key``,
                ``on_error``, ``timeout``, ``retry``, ``rate_limit``, ``executor``), applied to
                every call, fed-back items included; except ``ordered``, which ``expand`` does
                not take. A failed call that ``on_error`` skips drops its item (counted);
                a failure while reading what ``fn`` returned does the same, keeping the items
                found before it.

        Memory: at most ``max_frontier`` found items plus ``window`` items held by the stage
        (being expanded, or emitted and not yet taken by the consumer). See :doc:`flow`.

        Raises:
            FrontierFullError: (while running) as said under ``max_frontier``.

        Example::

            def children(path: Path) -> list[Path]:
                return sorted(path.iterdir()) if path.is_dir() else []

            everything = await stream([root]).pipe(expand(children, concurrency=8)).collect()
        """
        check_callable("fn", fn)
        if max_depth is not None:
            check_int("max_depth", max_depth, minimum=0)
        check_int("max_frontier", max_frontier, minimum=1)
        if "ordered" in options:
            raise TypeError(
                "expand() emits each item as its call ends; it takes no ordered= (add "
                "sort() or use key=/per_key= to shape the order of the calls)"
            )
        given: PerItemOptions = {**options, "ordered": False}
        key = options.get("key")
        if key is not None:
            item_key = key
            given["key"] = lambda entry: item_key(entry[0])
        one_window = check_window(options.get("window"), 1)

        def one_worker(
            source: AsyncIterator[Entry], called: Callable[[Any], Any], stage: Stage
        ) -> AsyncIterator[Any]:
            job = _job(lambda item, index: called(item), stage)
            return start_pool(source, job, stage, concurrency=1, ordered=False, window=one_window)

        def frontier(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Entry]:
            intake = Stage(f"{stage.name} intake", build=stage.build)  # not listed
            ahead = read_ahead(source, intake, window=1)
            return Frontier(ahead, stage, max_depth=max_depth, max_frontier=max_frontier)

        call_on_items: Callable[[Any], Any] = fn  # the stage's input is entries, not items
        operator = per_item(call_on_items, one_worker, _job, given, intake=frontier)
        return cast("StreamOperator[T, T]", operator)


def _job(call: Call, stage: Stage) -> Job[Entry, Any]:
    """The pool's job: call ``fn`` on the entry's item, add what it found, emit the item."""

    async def job(entry: Entry, index: int) -> tuple[Any, ...]:
        item, depth, frontier = entry
        try:
            if not frontier.expands(depth):
                return (item,)
            produced = await settle(call, item, index, stage)
            if produced is SKIP:
                return ()
            added = await _add_found(produced, item, index, depth + 1, frontier, stage)
            return (item,) if added else ()
        finally:
            frontier.done()

    return job


async def _add_found(
    produced: object, item: Any, index: int, depth: int, frontier: Frontier[Any], stage: Stage
) -> bool:
    """Add each item of ``produced`` to ``frontier``; ``False`` if reading it failed and the
    stage's ``on_error`` dropped the item (a :exc:`FrontierFullError` is never dropped)."""
    if isinstance(produced, list | tuple):
        for found in cast("Sequence[Any]", produced):
            await frontier.add(found, depth)
        return True
    items = items_of(produced, stage.build.inner())
    try:
        while True:
            try:
                found = await items.__anext__()
            except StopAsyncIteration:
                return True
            except Exception as exc:
                if await stage.recover(exc, index, item) is RAISE:
                    raise
                return False
            await frontier.add(found, depth)
    finally:
        await aclose(items)
