"""The per-item operators' assembly: their options, declared once, and the stage they make.

``map_``, ``filter_`` and ``flat_map`` take the same keyword options. :class:`PerItemOptions`
declares them (names and types, for the type checkers) and :data:`DEFAULTS` their defaults;
:func:`per_item_signature` gives each factory the signature that ``help()``, the API reference
and the operator's label show, and :func:`per_item` turns the options into the stage: the
sequential loop (fused with its neighbours when nothing stands in the way), or a worker pool.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any, Final, ForwardRef, Literal, TypedDict, TypeVar

import anyio

from ._operator import StreamOperator
from ._options import (
    OnError,
    check_int,
    check_on_error,
    check_rate_limit,
    check_timeout,
    check_window,
)
from ._per_chunk import per_chunk
from ._retry import Call, Retry, check_retry, guard, in_order
from ._runtime._chunks import Chunksize, check_chunksize
from ._runtime._fused import Fused, Kind, Step
from ._runtime._keyed import start_keyed_pool
from ._runtime._offload import ExecutorOption, InThread, offloaded
from ._runtime._pool import Job, start_pool
from ._runtime._rate import RateLimiter, paced
from ._runtime._stage import Stage
from ._types import T, U

LIMITER_WINDOW = 256
"""With ``concurrency=CapacityLimiter``: the default window, and so the most calls at once."""


class PerItemOptions(TypedDict, total=False):
    """The keyword options of :func:`map_`, :func:`filter_` and :func:`flat_map` (described
    under :func:`map_`); :data:`DEFAULTS` holds the value of each when it is not given."""

    concurrency: int | anyio.CapacityLimiter
    ordered: bool | Literal["key"]
    window: int | None
    key: Callable[[Any], Hashable] | None
    per_key: int | None
    on_error: OnError
    timeout: float | None
    retry: Retry | None
    rate_limit: tuple[int, float] | None
    executor: ExecutorOption | None
    chunksize: Chunksize


DEFAULTS: Final[PerItemOptions] = {
    "concurrency": 1,
    "ordered": True,
    "window": None,
    "key": None,
    "per_key": None,
    "on_error": "raise",
    "timeout": None,
    "retry": None,
    "rate_limit": None,
    "executor": None,
    "chunksize": 1,
}

Factory = TypeVar("Factory", bound=Callable[..., Any])
Sequential = Callable[[AsyncIterator[T], Callable[[T], Any], Stage], AsyncIterator[U]]
"""The sequential loop of a per-item operator, given its (guarded) function and stage; or the
:class:`Kind` of its step, run fused."""
Apply = Callable[[AsyncIterator[T], Stage], AsyncIterator[U]]
MakeJob = Callable[[Call, Stage], Job[T, U]]
"""The worker pool's job of a per-item operator, given its (guarded) function and stage."""


def per_item_signature(factory: Factory) -> Factory:
    """``factory(fn, **options)`` with the signature ``factory(fn, *, concurrency=1, ...)``:
    each option by name with its type and default, as ``help()``, the API reference and
    :func:`~streamkit._operator.labelled` show it. An unknown option is refused as Python
    refuses an unknown keyword, with the closest option named."""
    names = PerItemOptions.__annotations__
    signature = inspect.signature(factory)
    first = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    options = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=value, annotation=_shown(names[name])
        )
        for name, value in DEFAULTS.items()
    ]

    @functools.wraps(factory)
    def make(*args: Any, **kwargs: Any) -> Any:
        for name in kwargs.keys() - names.keys():
            if name not in signature.parameters:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(
                    f"{factory.__name__}() got an unexpected keyword argument {name!r}{hint}"
                )
        return factory(*args, **kwargs)

    make.__signature__ = signature.replace(parameters=[*first, *options])  # type: ignore[attr-defined]
    return make  # type: ignore[return-value]


def _shown(annotation: object) -> object:
    """An annotation as written (a TypedDict keeps those of a module with postponed
    annotations as forward references)."""
    return annotation.__forward_arg__ if isinstance(annotation, ForwardRef) else annotation


def per_item(
    fn: Callable[[T], Any],
    sequential: Sequential[T, U] | Kind,
    make_job: MakeJob[T, U],
    options: PerItemOptions,
    *,
    intake: Callable[[AsyncIterator[Any], Stage], AsyncIterator[T]] | None = None,
) -> StreamOperator[T, U]:
    """The operator for ``map_``/``filter_``/``flat_map``: ``sequential`` when ``concurrency``
    is 1 (no task, no handoff), else a :class:`WorkerPool` running the job on each item. Both
    call ``fn`` wrapped with ``timeout`` and ``retry`` (:func:`guard`; the sequential loop calls
    ``fn`` itself when there are neither), and both apply ``on_error`` the same way. With an
    ``executor``, each call of ``fn`` runs there (:func:`offloaded`).

    With ``rate_limit=(count, per)`` the input is :func:`paced` by one :class:`RateLimiter` per
    run: a call starts as soon as its input is released (workers pull one at a time), so at
    most ``count`` calls start in any ``per`` seconds, across all workers. Retries are not
    paced: they belong to the call whose input was released.

    ``intake`` makes the stage's input from the upstream in each run, before anything else
    (``expand`` feeds found items back through it).
    """
    given: PerItemOptions = {**DEFAULTS, **options}
    concurrency = given["concurrency"]
    window = given["window"]
    ordered = given["ordered"]
    executor = given["executor"]
    limiter: anyio.CapacityLimiter | None = None
    if isinstance(concurrency, anyio.CapacityLimiter):
        # A live limit: the pool starts ``window`` workers, each call holds one of its tokens.
        limiter = concurrency
        size = check_window(window, 1) if window is not None else LIMITER_WINDOW
        concurrency = size
    else:
        check_int("concurrency", concurrency, minimum=1)
        size = check_window(window, concurrency)
    key, per_key = given["key"], given["per_key"]
    by_key = _check_keys(ordered, key, per_key)
    keep_order = ordered is True
    chunksize = check_chunksize(given["chunksize"])
    chunked: Apply[T, U] | None = None
    if chunksize != 1:
        if key is not None:
            raise ValueError(
                "key= limits calls per key one item at a time; it cannot be combined with "
                f"chunksize={chunksize!r}, which sends items in chunks"
            )
        if executor is None:
            raise ValueError(
                f"chunksize={chunksize!r} sends items to an executor in chunks: give executor= "
                "too (a dask client.get_executor(), 'process', ...)"
            )
        if window is None:  # chunks held: each is up to chunksize items
            size = 2 * concurrency
        chunked = per_chunk(
            fn,
            make_job,
            executor,
            chunksize=chunksize,
            concurrency=concurrency,
            ordered=keep_order,
            window=size,
            limiter=limiter,
            timeout=check_timeout(given["timeout"]),
            retry=check_retry(given["retry"]),
        )
    elif executor is not None:
        fn = offloaded(fn, executor, concurrency=concurrency)
    policy = check_on_error(given["on_error"])
    seconds = check_timeout(given["timeout"])
    retries = check_retry(given["retry"])
    rate = check_rate_limit(given["rate_limit"])

    guarded = seconds is not None or retries is not None
    workers = concurrency

    def per_call(source: AsyncIterator[T], stage: Stage) -> AsyncIterator[U]:
        if isinstance(fn, InThread):
            stage.threads = fn.slots.current()
        call = guard(fn, stage, timeout=seconds, retry=retries)
        if workers == 1 and limiter is None:  # fn itself unless guarded: the hot path
            called = in_order(call) if guarded else fn
            if isinstance(sequential, Kind):
                return Fused(source, (Step(sequential, called),), (stage,), sync=False)
            return sequential(source, called, stage)
        if key is not None:
            return start_keyed_pool(
                source,
                make_job(call, stage),
                stage,
                key=key,
                per_key=per_key,
                concurrency=workers,
                ordered=keep_order,
                by_key=by_key,
                window=size,
                limiter=limiter,
            )
        return start_pool(
            source,
            make_job(call, stage),
            stage,
            concurrency=workers,
            ordered=keep_order,
            window=size,
            limiter=limiter,
        )

    apply: Apply[T, U] = per_call if chunked is None else chunked
    limit = "limiter" if limiter is not None else f"concurrency {concurrency}"
    details = (
        ()
        if concurrency == 1 and limiter is None
        else (limit, f"window {size}")
        + (() if keep_order else ("ordered by key",) if by_key else ("unordered",))
    )
    if key is not None and per_key is not None:
        details += (f"{per_key} per key",)
    if chunked is not None:
        details += (f"chunksize {chunksize}",)
    if seconds is not None:
        details += (f"timeout {seconds} s",)
    if retries is not None:
        details += (f"up to {retries.attempts} attempts",)
    chosen: Apply[T, U]
    if rate is not None:
        count, per = rate
        details += (f"rate {count} per {per} s",)
        unpaced = apply

        def paced_apply(source: AsyncIterator[T], stage: Stage) -> AsyncIterator[U]:
            return unpaced(paced(source, RateLimiter(count, per)), stage)

        chosen = paced_apply
    else:
        fusable = concurrency == 1 and limiter is None and not guarded and executor is None
        if fusable and isinstance(sequential, Kind):
            return StreamOperator(Step(sequential, fn), on_error=policy, details=details)
        chosen = apply
    if intake is not None:  # outermost: what it feeds back is paced too
        feed, stage_apply = intake, chosen

        def fed(source: AsyncIterator[T], stage: Stage) -> AsyncIterator[U]:
            return stage_apply(feed(source, stage), stage)

        chosen = fed

    return StreamOperator(chosen, on_error=policy, details=details)


def _check_keys(ordered: object, key: object, per_key: object) -> bool:
    """Check ``ordered``, ``key`` and ``per_key`` together; whether output is ordered by key."""
    if ordered not in (True, False, "key") or not isinstance(ordered, bool | str):
        raise TypeError(f"ordered must be True, False or 'key', got {ordered!r}")
    if key is not None and not callable(key):
        raise TypeError(f"key must be a function of an item (returning a hashable), got {key!r}")
    if per_key is not None:
        check_int("per_key", per_key, minimum=1)
    if key is None and (per_key is not None or ordered == "key"):
        given = "per_key=" if per_key is not None else "ordered='key'"
        raise ValueError(f"{given} needs key=fn, the function that gives each item's key")
    if key is not None and per_key is None and ordered != "key":
        raise ValueError("key= needs per_key=n (at most n calls per key) or ordered='key'")
    return ordered == "key"
