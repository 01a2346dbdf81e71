"""The library-wide promises, checked for every public operator and source on both backends.

:data:`REGISTRY` maps each public operator and source constructor to sample constructions,
each written as the code a user would write (``"map_(fn, concurrency=3)"``). The code is
evaluated with ``fn`` (the user function), ``src`` (the upstream of a source sample),
``other`` (a second input) and ``neg`` bound for the check at hand; an operator sample is run
as ``stream(src).pipe(<sample>)``. Every sample goes through the same checks:

- ``output``: on its small input it gives the expected output (when that is deterministic);
- ``early_exit``: ``take(1)`` after it on an endless source (``break`` out of ``open()`` for
  operators that read everything first, on a long one): every input is closed, no task is
  left;
- ``cancel``: an outside cancel scope, while the pipeline waits on a stalled source, is
  honoured (no other exception), every input is closed, no task is left;
- ``cancel_in_fn``: the same, while the user function of a sample that has one waits;
- ``source_error``: an exception raised by the source mid-stream reaches the consumer as the
  same object (``other_error``: raised by the second input, for samples that take one);
- ``inner_error``, ``inner_cancel``: the same two for an inner stream (what ``fn`` returns, or
  the items of ``flatten``);
- ``fn_error``: an exception of the user function reaches the consumer as the same object,
  with a streamkit note naming the operator as constructed;
- ``interrupt_in_fn``, ``interrupt_in_source``: a ``KeyboardInterrupt`` raised by the user
  function or by the source comes out as itself;
- ``repr``: the operator's repr is its constructor call as written.

A new public operator fails :func:`test_every_public_operator_has_samples` until it has an
entry here.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

import streamkit
from streamkit import PushSource, Stream, StreamFactory, chain, stream, take
from streamkit.testing import TrackedSource, assert_no_leaked_tasks
from tests.strategies import streamkit_notes

pytestmark = pytest.mark.anyio

STALLED = 3600.0
"""Per-item delay of a source that never gets to its first item while a check runs."""
GUARD = 10.0
"""Hang guard (seconds) around every run: generous, never a timing assertion."""


class Boom(Exception):
    pass


@dataclass(frozen=True)
class Sample:
    """One construction of an operator (or, with ``source=True``, of a whole stream)."""

    call: str
    """The code, as a user writes it; its repr must read the same (unless ``shown``)."""
    fn: Callable[..., Any] | None = None
    """What ``fn`` does in this sample; ``None`` if the code takes no user function."""
    items: tuple[Any, ...] = (1, 2, 3, 4)
    """The small input (the upstream's items)."""
    expected: list[Any] | None = None
    """The output for ``items`` (``None``: it depends on timing, not checked)."""
    other: tuple[Any, ...] = (10, 20, 30)
    """The items of ``other``, for samples that take a second input."""
    shown: str | None = None
    """The repr if it differs from ``call`` (inputs show as their streams); ``""``: no repr."""
    unordered: bool = False
    """Compare the output with ``expected`` as a multiset."""
    reads_all: bool = False
    """It reads its whole input before emitting: early exit uses a long finite source."""
    in_task: bool = False
    """It reads its upstream or calls ``fn`` in a task: on asyncio a ``KeyboardInterrupt``
    there would be re-raised by the event loop (stopping the test session), so that check runs
    on trio only."""
    endless: Callable[[], Iterable[Any]] = itertools.count
    """Items of an endless upstream of the right type, for the early-exit check."""
    delay: float = 0
    """Per-item delay (seconds) of the upstream, for samples whose output depends on time."""
    endless_output: bool = False
    """Its output never ends, even on a finite input."""
    source: bool = False
    """The code makes the whole stream (from ``src``/``other`` if it uses them)."""
    finite: bool = False
    """A source sample that ends by itself at once (``stream.empty()``): no cancel check."""
    tracks_src: bool = True
    """Whether the upstream is ``src`` (so source errors can be injected)."""
    prefix: int = 1
    """Items the source yields before it stalls or raises (the sample must still be reading by
    then)."""
    skips_errors: bool = False
    """``on_error="skip"``: the user function's exceptions are dropped by design."""
    sync_fn: bool = False
    """``fn`` must be sync (it runs on an executor): no check with a waiting async ``fn``."""
    note: str | None = None
    """The operator a user function's exception is noted with, if not the sample's repr."""
    marks: dict[str, pytest.MarkDecorator] = field(default_factory=dict[str, pytest.MarkDecorator])
    """Per-check marks (``xfail`` for known bugs)."""


def double(x: int) -> int:
    return 2 * x


async def double_async(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return 2 * x


def twice(x: int) -> list[int]:
    return [x, x]


def neg(x: int) -> int:
    return -x


def add(a: int, b: int) -> int:
    return a + b


def odd(x: int) -> bool:
    return x % 2 == 1


def below_3(x: int) -> bool:
    return x < 3


def half(x: int) -> int:
    return x // 2


def parity(x: int) -> int:
    return x % 2


def asynced(behaviour: Callable[..., Any]) -> Callable[..., Any]:
    """``behaviour`` as an async function (that checkpoints first)."""

    async def call(*args: Any) -> Any:
        await anyio.lowlevel.checkpoint()
        return behaviour(*args)

    call.__name__ = f"async {behaviour.__name__}"
    return call


def count_from(x: int) -> Stream[int]:
    return stream.count(x)


def lists() -> Iterator[list[int]]:
    return ([i] for i in itertools.count())


S = Sample
OTHER = "stream(TrackedSource)"
"""How a TrackedSource input shows in a repr."""

REGISTRY: dict[str, tuple[Sample, ...]] = {
    # -- transform ------------------------------------------------------------------------------
    "map_": (
        S("map_(fn)", double, expected=[2, 4, 6, 8]),
        S("map_(fn, concurrency=3)", double, expected=[2, 4, 6, 8], in_task=True),
        S(
            "map_(fn, concurrency=3, ordered=False)",
            double_async,
            expected=[2, 4, 6, 8],
            unordered=True,
            in_task=True,
        ),
        S("map_(fn, on_error='skip')", double, expected=[2, 4, 6, 8], skips_errors=True),
        S("map_(fn, executor='thread')", double, expected=[2, 4, 6, 8], sync_fn=True),
        S("map_(fn, timeout=30)", double, expected=[2, 4, 6, 8]),
        S("map_(fn, retry=Retry(on=(LookupError,), attempts=2))", double, expected=[2, 4, 6, 8]),
        S(
            "map_(fn, concurrency=2, timeout=30, retry=Retry(on=(LookupError,), attempts=2))",
            double_async,
            expected=[2, 4, 6, 8],
            in_task=True,
        ),
        S("map_(fn, rate_limit=(1000, 1.0))", double, expected=[2, 4, 6, 8]),
        S("map_(fn, on_error=Failures())", double, expected=[2, 4, 6, 8], skips_errors=True),
        S(
            "map_(fn, concurrency=3, key=parity, per_key=1)",
            double_async,
            expected=[2, 4, 6, 8],
            in_task=True,
        ),
        S(
            "map_(fn, concurrency=3, ordered='key', key=parity, per_key=2)",
            double_async,
            expected=[2, 4, 6, 8],
            unordered=True,
            in_task=True,
        ),
        S(
            "map_(fn, executor='thread', chunksize=3)",
            double,
            expected=[2, 4, 6, 8],
            sync_fn=True,
            in_task=True,
        ),
        S(
            "map_(fn, concurrency=2, executor='thread', chunksize='auto')",
            double,
            expected=[2, 4, 6, 8],
            sync_fn=True,
            in_task=True,
        ),
    ),
    "filter_": (
        S("filter_(fn)", odd, expected=[1, 3]),
        S("filter_(fn, concurrency=2)", odd, expected=[1, 3], in_task=True),
        S("filter_(fn, concurrency=2, key=parity, per_key=1)", odd, expected=[1, 3], in_task=True),
        S(
            "filter_(fn, concurrency=2, ordered=False)",
            asynced(odd),
            expected=[1, 3],
            unordered=True,
            in_task=True,
        ),
    ),
    "flat_map": (
        S("flat_map(fn)", twice, expected=[1, 1, 2, 2, 3, 3, 4, 4]),
        S(
            "flat_map(fn, concurrency=2, ordered='key', key=parity)",
            asynced(twice),
            expected=[1, 1, 2, 2, 3, 3, 4, 4],
            unordered=True,
            in_task=True,
        ),
        S("flat_map(fn)", stream.range, expected=[0, 0, 1, 0, 1, 2, 0, 1, 2, 3]),
        S("flat_map(fn, concurrency=2)", twice, expected=[1, 1, 2, 2, 3, 3, 4, 4], in_task=True),
        S("flat_map(fn)", asynced(twice), expected=[1, 1, 2, 2, 3, 3, 4, 4]),
        # Endless inner streams: the output is not checked (it would not end).
        S(
            "flat_map(fn, concurrency=2, ordered=False)",
            count_from,
            in_task=True,
            endless_output=True,
        ),
    ),
    "flatten": (
        S("flatten()", items=([1], [2, 3], [], [4]), expected=[1, 2, 3, 4], endless=lists),
        S(
            "flatten(concurrency=2)",
            items=([1], [2, 3], [], [4]),
            expected=[1, 2, 3, 4],
            endless=lists,
            in_task=True,
        ),
    ),
    "scan": (
        S("scan(fn, 0)", add, expected=[1, 3, 6, 10]),
        S("scan(fn, 0)", asynced(add), expected=[1, 3, 6, 10]),
    ),
    "enumerate_": (
        S("enumerate_()", expected=[(0, 1), (1, 2), (2, 3), (3, 4)]),
        S("enumerate_(5)", items=("a",), expected=[(5, "a")]),
    ),
    "tap": (
        S("tap(fn)", neg, expected=[1, 2, 3, 4]),
        S("tap(fn)", asynced(neg), expected=[1, 2, 3, 4]),
    ),
    # -- select ---------------------------------------------------------------------------------
    "take": (S("take(2)", expected=[1, 2]),),
    "take_while": (
        S("take_while(fn)", below_3, expected=[1, 2]),
        S("take_while(fn)", asynced(below_3), expected=[1, 2]),
    ),
    "skip": (S("skip(2)", expected=[3, 4]),),
    "skip_while": (
        S("skip_while(fn)", below_3, expected=[3, 4]),
        S("skip_while(fn)", asynced(below_3), expected=[3, 4]),
    ),
    # -- buffer ---------------------------------------------------------------------------------
    "batch": (
        S("batch(3)", expected=[[1, 2, 3], [4]]),
        S("batch(3, timeout=30)", expected=[[1, 2, 3], [4]], in_task=True),
        S("batch(3, timeout=0.001)", in_task=True),
    ),
    "buffer": (
        S("buffer(2)", expected=[1, 2, 3, 4], in_task=True),
        S(
            "buffer(2, priority=fn)",
            neg,
            expected=[1, 2, 3, 4],
            unordered=True,
            in_task=True,
        ),
    ),
    # -- recursive ------------------------------------------------------------------------------
    "expand": (
        S(
            "expand(fn, max_depth=1)",
            twice,
            expected=[1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
            unordered=True,
            in_task=True,
        ),
        S(
            "expand(fn, max_depth=2, concurrency=3)",
            asynced(twice),
            expected=[x for x in (1, 2, 3, 4) for _ in range(7)],
            unordered=True,
            in_task=True,
        ),
    ),
    # -- combine --------------------------------------------------------------------------------
    "chain": (S("chain(other)", expected=[1, 2, 3, 4, 10, 20, 30], shown=f"chain({OTHER})"),),
    "concat_map": (
        S("concat_map(fn)", twice, expected=[1, 1, 2, 2, 3, 3, 4, 4]),
        S("concat_map(fn)", asynced(stream.range), expected=[0, 0, 1, 0, 1, 2, 0, 1, 2, 3]),
    ),
    "merge": (
        S(
            "merge(other)",
            expected=[1, 2, 3, 4, 10, 20, 30],
            unordered=True,
            shown=f"merge({OTHER})",
            in_task=True,
        ),
    ),
    "start_with": (S("start_with(0)", expected=[0, 1, 2, 3, 4]),),
    # Each item cancels the inner stream of the one before: an endless upstream must leave
    # time for an inner stream to emit.
    "switch_map": (
        S("switch_map(fn)", twice, in_task=True, delay=0.01),
        S("switch_map(fn)", asynced(stream.range), in_task=True, delay=0.01),
        S("switch_map(fn)", count_from, in_task=True, delay=0.01, endless_output=True),
    ),
    "zip_": (
        S("zip_(other)", expected=[(1, 10), (2, 20), (3, 30)], shown=f"zip_({OTHER})"),
        S(
            "zip_(other, strict=True)",
            other=(10, 20, 30, 40),
            expected=[(1, 10), (2, 20), (3, 30), (4, 40)],
            shown=f"zip_({OTHER}, strict=True)",
        ),
    ),
    "zip_latest": (S("zip_latest(other)", shown=f"zip_latest({OTHER})", in_task=True),),
    # -- fan-out --------------------------------------------------------------------------------
    "broadcast": (
        S(
            "broadcast(map_(fn), pipe())",
            double,
            expected=[1, 2, 2, 3, 4, 4, 6, 8],
            unordered=True,
            in_task=True,
        ),
        S("broadcast(take(1), pipe())", expected=[1, 1, 2, 3, 4], unordered=True, in_task=True),
    ),
    "partition": (
        S(
            "partition(fn, pipe(), map_(neg), buffer=2)",
            asynced(odd),
            expected=[-4, -2, 1, 3],
            unordered=True,
            in_task=True,
        ),
    ),
    "route": (
        S(
            "route(fn, {0: pipe(), 1: map_(neg)})",
            parity,
            expected=[-3, -1, 2, 4],
            unordered=True,
            in_task=True,
        ),
        S(
            "route(fn, {1: take(1)}, default=pipe())",
            parity,
            expected=[1, 2, 4],
            unordered=True,
            in_task=True,
        ),
    ),
    # -- aggregate ------------------------------------------------------------------------------
    "chunk_by": (
        S("chunk_by(fn)", half, expected=[(0, [1]), (1, [2, 3]), (2, [4])]),
        S(
            "chunk_by(fn, max_size=1)",
            asynced(half),
            expected=[(0, [1]), (1, [2]), (1, [3]), (2, [4])],
        ),
    ),
    "distinct": (
        S("distinct()", items=(1, 2, 1, 3), expected=[1, 2, 3]),
        S("distinct(fn, window=2)", parity, expected=[1, 2]),
        S("distinct(fn)", asynced(parity), expected=[1, 2]),
    ),
    "distinct_until_changed": (
        S("distinct_until_changed()", items=(1, 1, 2, 1), expected=[1, 2, 1]),
        S("distinct_until_changed(fn)", half, expected=[1, 2, 4]),
    ),
    "first": (
        S("first()", expected=[1], prefix=0),
        S("first(default=0)", expected=[1], prefix=0),
    ),
    "last": (S("last()", expected=[4], reads_all=True),),
    "group_by": (
        S("group_by(fn)", parity, expected=[(1, [1, 3]), (0, [2, 4])], reads_all=True),
        S("group_by(fn, max_size=2)", parity, expected=[(1, [1, 3]), (0, [2, 4])]),
        S(
            "group_by(fn, max_groups=1)",
            asynced(parity),
            expected=[(1, [1]), (0, [2]), (1, [3]), (0, [4])],
        ),
    ),
    "pairwise": (S("pairwise()", expected=[(1, 2), (2, 3), (3, 4)]),),
    "window": (S("window(3, step=2)", expected=[(1, 2, 3)]),),
    "reduce": (
        S("reduce(fn)", add, expected=[10], reads_all=True),
        S("reduce(fn)", asynced(add), expected=[10], reads_all=True),
        S(
            "reduce(fn, 100, on_error='skip')",
            add,
            expected=[110],
            reads_all=True,
            skips_errors=True,
        ),
    ),
    "skip_last": (S("skip_last(1)", expected=[1, 2, 3]),),
    "sort": (
        S("sort()", items=(3, 1, 4, 2), expected=[1, 2, 3, 4], reads_all=True),
        S("sort(fn, reverse=True)", neg, items=(3, 1, 4, 2), expected=[1, 2, 3, 4], reads_all=True),
        S("sort(fn)", asynced(neg), items=(3, 1, 4, 2), expected=[4, 3, 2, 1], reads_all=True),
    ),
    "take_last": (S("take_last(2)", expected=[3, 4], reads_all=True),),
    # -- time -----------------------------------------------------------------------------------
    "debounce": (S("debounce(0.001)", expected=[1, 2, 3, 4], in_task=True, delay=0.005),),
    "delay": (S("delay(0.001)", expected=[1, 2, 3, 4], in_task=True),),
    "rate_limit": (S("rate_limit(2, per=0.001)", expected=[1, 2, 3, 4]),),
    "sample": (S("sample(0.001)", in_task=True),),
    "throttle_first": (S("throttle_first(0.001)"),),
    "timeout": (S("timeout(30)", expected=[1, 2, 3, 4], in_task=True),),
    # -- other operators ------------------------------------------------------------------------
    "offload": (
        # The sub-pipeline runs in a worker thread's own event loop: fn cannot wait on this one.
        S(
            "offload(pipe(map_(fn)), executor='thread')",
            double,
            expected=[2, 4, 6, 8],
            sync_fn=True,
            in_task=True,
        ),
        S(
            "offload(pipe(map_(fn), filter_(bool)), executor='thread', chunksize=3, concurrency=2)",
            double,
            expected=[2, 4, 6, 8],
            sync_fn=True,
            in_task=True,
        ),
    ),
    "pipe": (S("pipe(map_(fn), take(3))", double, expected=[2, 4, 6], note="map_(fn)"),),
    "progress": (S("progress()", expected=[1, 2, 3, 4]), S("progress('items', total=4)")),
    # -- sources --------------------------------------------------------------------------------
    "stream": (S("stream(src)", source=True, expected=[1, 2, 3, 4], shown=OTHER),),
    "open_pipeline": (
        S(
            "open_pipeline(src, map_(fn))",
            double,
            source=True,
            expected=[2, 4, 6, 8],
            shown="",
            note="map_(fn)",
        ),
    ),
    "stream.range": (
        S("stream.range(1, 5)", source=True, expected=[1, 2, 3, 4], finite=True, tracks_src=False),
        S("stream.range(1000000000)", source=True, tracks_src=False),
        S(
            "stream.range(10, 0, -3)",
            source=True,
            expected=[10, 7, 4, 1],
            finite=True,
            tracks_src=False,
        ),
    ),
    "stream.count": (
        S("stream.count()", source=True, tracks_src=False),
        S("stream.count(5)", source=True, tracks_src=False),
        S("stream.count(5, -1)", source=True, tracks_src=False),
    ),
    "stream.repeat": (
        S(
            "stream.repeat(7, times=3)",
            source=True,
            expected=[7, 7, 7],
            finite=True,
            tracks_src=False,
        ),
        S("stream.repeat(7)", source=True, tracks_src=False),
    ),
    "stream.interval": (S("stream.interval(0.001)", source=True, tracks_src=False),),
    "stream.empty": (S("stream.empty()", source=True, expected=[], finite=True, tracks_src=False),),
    "stream.push": (S("stream.push(4)", source=True, expected=[1, 2, 3, 4]),),
    "stream.merge": (
        S(
            "stream.merge(src, other)",
            source=True,
            expected=[1, 2, 3, 4, 10, 20, 30],
            unordered=True,
            shown=f"stream.merge({OTHER}, {OTHER})",
            in_task=True,
        ),
    ),
    "stream.chain": (
        S(
            "stream.chain(src, other)",
            source=True,
            expected=[1, 2, 3, 4, 10, 20, 30],
            shown=f"stream.chain({OTHER}, {OTHER})",
        ),
    ),
    "stream.zip": (
        S(
            "stream.zip(src, other)",
            source=True,
            expected=[(1, 10), (2, 20), (3, 30)],
            shown=f"stream.zip({OTHER}, {OTHER})",
        ),
    ),
}


def public_operators() -> set[str]:
    """Every public operator and source constructor: the lower-case names of ``__all__`` and
    the public methods of :data:`stream`."""
    names = {name for name in streamkit.__all__ if name[0].islower() and name != "stream"}
    methods = {
        f"stream.{name}"
        for name, value in vars(StreamFactory).items()
        if not name.startswith("_") and isinstance(value, staticmethod)
    }
    return names | methods | {"stream"}


def test_every_public_operator_has_samples() -> None:
    missing = public_operators() - REGISTRY.keys()
    assert not missing, f"add samples to tests/test_guarantees.py REGISTRY for {sorted(missing)}"
    stale = REGISTRY.keys() - public_operators()
    assert not stale, f"REGISTRY has entries for names that are not public: {sorted(stale)}"


# -- running a sample -----------------------------------------------------------------------


def user_fn(
    behaviour: Callable[..., Any], failure: BaseException | None = None, *, stall: bool = False
) -> Any:
    """``fn`` as the samples see it (shown as ``fn``): ``behaviour``, except that the second
    call raises ``failure`` if given (mid-stream: the first call has succeeded), or with
    ``stall`` (``fn`` is then async) never returns."""
    calls = 0

    def fail_on_second_call() -> None:
        nonlocal calls
        calls += 1
        if failure is not None and calls == 2:
            raise failure

    if stall or inspect.iscoroutinefunction(behaviour):

        async def fn(*args: Any) -> Any:
            await anyio.lowlevel.checkpoint()
            fail_on_second_call()
            if stall and calls == 2:
                await anyio.sleep_forever()
            result = behaviour(*args)
            return (await result) if inspect.isawaitable(result) else result

    else:

        def fn(*args: Any) -> Any:
            fail_on_second_call()
            return behaviour(*args)

    return fn


def raising(items: Iterable[Any], error: BaseException) -> Iterator[Any]:
    yield from items
    raise error


@dataclass
class Built:
    made: Any
    """What the sample's code returned (an operator, a stream, a context manager)."""
    run: Any
    """What to consume: a Stream, or the async context manager of ``open_pipeline``."""
    inputs: list[TrackedSource[Any]]


def stalling(inputs: list[TrackedSource[Any]]) -> Stream[Any]:
    """The last of ``inputs``, then nothing for ever (a TrackedSource added to ``inputs``)."""
    inputs.append(TrackedSource(itertools.count(), delay=STALLED))
    return stream(inputs[-2]).pipe(chain(inputs[-1]))


def build(
    sample: Sample,
    *,
    fn: Any = None,
    src: Iterable[Any] | None = None,
    other: Iterable[Any] | None = None,
    stall: bool = False,
    extra: Iterable[TrackedSource[Any]] = (),
    push_end: BaseException | bool = True,
) -> Built:
    """Evaluate the sample's code with these inputs bound.

    ``src``/``other`` default to the sample's items. With ``stall``, each input then waits
    for ever (a second TrackedSource, chained). ``push_end`` says how a push source is fed
    its items: then closed (``True``), left open (``False``), or failed with an exception.
    """
    inputs: list[TrackedSource[Any]] = list(extra)

    def tracked(items: Iterable[Any]) -> Any:
        inputs.append(TrackedSource(items, delay=sample.delay))
        return stalling(inputs) if stall else inputs[-1]

    upstream = tracked(sample.items if src is None else src)
    namespace: dict[str, Any] = {name: getattr(streamkit, name) for name in streamkit.__all__}
    namespace |= {
        "fn": user_fn(sample.fn) if fn is None and sample.fn is not None else fn,
        "src": upstream,
        "other": tracked(sample.other if other is None else other),
        "neg": neg,
        "parity": parity,
    }
    made = eval(sample.call, namespace)  # the sample's code, as written
    run: Any = made if sample.source else stream(upstream).pipe(made)
    if isinstance(made, PushSource):
        feed: PushSource[Any] = made
        for item in sample.items[: sample.prefix if push_end is False else None]:
            feed.send_nowait(item)
        if isinstance(push_end, BaseException):
            feed.fail(push_end)
        elif push_end:
            feed.close()
    return Built(made, run, inputs)


async def consume(run: Any, *, limit: int | None = None, stop_early: bool = False) -> list[Any]:
    """Every item (at most ``limit``: by ``take`` unless ``stop_early``, which breaks out of the
    ``open()`` block instead)."""
    if isinstance(run, Stream) and limit is not None and not stop_early:
        run = run.pipe(take(limit))
    opened = run.open() if isinstance(run, Stream) else run
    out: list[Any] = []
    with anyio.fail_after(GUARD):
        async with opened as items:
            async for item in items:
                out.append(item)
                if len(out) == limit:
                    break
    return out


def assert_closed(built: Built) -> None:
    for source in built.inputs:
        source.assert_closed()


# -- the checks -----------------------------------------------------------------------------

CHECKS = (
    "output",
    "early_exit",
    "cancel",
    "cancel_in_fn",
    "source_error",
    "other_error",
    "inner_error",
    "inner_cancel",
    "fn_error",
    "interrupt_in_fn",
    "interrupt_in_source",
    "repr",
)


INNER = ("flat_map", "flatten", "concat_map", "switch_map")
"""Operators that read inner streams (what ``fn`` returns, or the items for ``flatten``)."""


def applies(name: str, sample: Sample, check: str) -> bool:
    if check in ("inner_error", "inner_cancel"):
        return name in INNER
    if check == "output":  # an endless source cannot be collected
        return not sample.endless_output and (sample.expected is not None or not sample.source)
    if check == "cancel":
        return not sample.finite
    if check == "source_error":
        return sample.tracks_src
    if check == "other_error":
        return "other" in sample.call
    if check == "fn_error":
        return sample.fn is not None and not sample.skips_errors
    if check == "cancel_in_fn":
        return sample.fn is not None and not sample.source and not sample.sync_fn
    if check == "interrupt_in_fn":
        return sample.fn is not None
    if check == "interrupt_in_source":
        return sample.tracks_src
    if check == "repr":
        return sample.shown != ""
    return True


def cases(check: str) -> list[Any]:
    assert check in CHECKS
    return [
        pytest.param(sample, id=sample_id(name, sample), marks=sample.marks.get(check, ()))
        for name, samples in REGISTRY.items()
        for sample in samples
        if applies(name, sample, check)
    ]


def sample_id(name: str, sample: Sample) -> str:
    doing = "" if sample.fn is None else f" with fn={sample.fn.__name__}"
    return f"{name}:{sample.call}{doing}"


@pytest.mark.parametrize("sample", cases("output"))
async def test_output(sample: Sample) -> None:
    built = build(sample)
    out = await consume(built.run)
    if sample.expected is not None:
        if sample.unordered:
            assert sorted(out) == sorted(sample.expected)
        else:
            assert out == sample.expected
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("early_exit"))
async def test_early_exit(sample: Sample) -> None:
    if sample.reads_all:
        built = build(sample, src=range(200), other=range(200))
    else:
        built = build(
            sample,
            src=sample.endless(),
            other=itertools.count(),
            push_end=False,
        )
    async with assert_no_leaked_tasks():
        out = await consume(built.run, limit=1, stop_early=sample.reads_all)
    assert len(out) <= 1
    if not sample.finite:
        assert out, "an endless input gave no item"
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("cancel"))
async def test_cancel(sample: Sample) -> None:
    built = build(sample, src=sample.items[: sample.prefix], stall=True, push_end=False)
    async with assert_no_leaked_tasks():
        with anyio.fail_after(GUARD), anyio.move_on_after(0.01) as scope:
            await consume(built.run)
    assert scope.cancelled_caught, "the pipeline ended before it was cancelled"
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("cancel_in_fn"))
async def test_cancel_in_fn(sample: Sample) -> None:
    assert sample.fn is not None
    built = build(sample, fn=user_fn(sample.fn, stall=True), src=itertools.count())
    async with assert_no_leaked_tasks():
        with anyio.fail_after(GUARD), anyio.move_on_after(0.01) as scope:
            await consume(built.run)
    assert scope.cancelled_caught, "the pipeline ended before it was cancelled"
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("source_error"))
@pytest.mark.parametrize("at_first_item", [False, True], ids=["mid-stream", "first"])
async def test_source_error(sample: Sample, at_first_item: bool) -> None:
    if sample.endless_output and not at_first_item:
        pytest.skip("the error comes in stream order, after an output that never ends")
    error = Boom("source")
    items = sample.items[: 0 if at_first_item else sample.prefix]
    built = build(sample, src=raising(items, error), other=itertools.count(), push_end=error)
    with pytest.raises(Boom) as info:
        await consume(built.run)
    assert info.value is error
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("other_error"))
async def test_other_error(sample: Sample) -> None:
    error = Boom("other")
    built = build(sample, other=raising(sample.other[:1], error))
    with pytest.raises(Boom) as info:
        await consume(built.run)
    assert info.value is error
    assert_closed(built)


def inner_of(sample: Sample, inputs: list[TrackedSource[Any]], inner: Any) -> Built:
    """The sample reading ``inner`` as the inner stream of its first item."""
    if sample.fn is None:  # flatten: the items are the inner streams
        return build(sample, src=[inner], extra=inputs)
    return build(sample, fn=lambda _: inner, src=[0], extra=inputs)


@pytest.mark.parametrize("sample", cases("inner_error"))
async def test_inner_error(sample: Sample) -> None:
    error = Boom("inner")
    inputs = [TrackedSource(raising([1], error))]
    built = inner_of(sample, inputs, inputs[0])
    with pytest.raises(Boom) as info:
        await consume(built.run)
    assert info.value is error
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("inner_cancel"))
async def test_inner_cancel(sample: Sample) -> None:
    inputs = [TrackedSource([1])]
    built = inner_of(sample, inputs, stalling(inputs))
    async with assert_no_leaked_tasks():
        with anyio.fail_after(GUARD), anyio.move_on_after(0.01) as scope:
            await consume(built.run)
    assert scope.cancelled_caught, "the pipeline ended before it was cancelled"
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("fn_error"))
async def test_fn_error(sample: Sample) -> None:
    assert sample.fn is not None
    error = Boom("fn")
    built = build(sample, fn=user_fn(sample.fn, error))
    with pytest.raises(Boom) as info:
        await consume(built.run)
    assert info.value is error
    notes = streamkit_notes(error)
    name = sample.note or repr(built.made)
    assert any(name in note for note in notes), f"no note names {name}: {notes}"
    assert_closed(built)


@pytest.mark.parametrize("sample", cases("interrupt_in_fn"))
async def test_interrupt_in_fn(sample: Sample, backend_name: str) -> None:
    assert sample.fn is not None
    interrupt = KeyboardInterrupt()
    built = build(sample, fn=user_fn(sample.fn, interrupt))
    await check_interrupt(sample, backend_name, built, interrupt)


@pytest.mark.parametrize("sample", cases("interrupt_in_source"))
async def test_interrupt_in_source(sample: Sample, backend_name: str) -> None:
    interrupt = KeyboardInterrupt()
    items = sample.items[: sample.prefix]
    built = build(sample, src=raising(items, interrupt), push_end=interrupt)
    await check_interrupt(sample, backend_name, built, interrupt)


async def check_interrupt(
    sample: Sample, backend: str, built: Built, interrupt: KeyboardInterrupt
) -> None:
    if sample.in_task and backend == "asyncio":
        pytest.skip("asyncio re-raises a KeyboardInterrupt of a task from the event loop")
    with pytest.raises(KeyboardInterrupt) as info:
        await consume(built.run)
    assert info.value is interrupt


@pytest.mark.parametrize("sample", cases("repr"))
def test_repr(sample: Sample) -> None:
    made = build(sample).made
    assert repr(made) == (sample.shown or sample.call)
