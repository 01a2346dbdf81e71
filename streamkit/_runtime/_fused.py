"""Fused sequential stages: consecutive per-item operators run as one step.

``map_(f) | filter_(p) | map_(g)``, run sequentially, needs no generator per stage: the build
(:class:`~streamkit._runtime._build.Build`) turns each run of consecutive :class:`Step` s into one
:class:`Fused` part, whose loop calls every stage's function in turn on each item, and which
iterates a sync source directly. Items are still pulled one at a time, only when needed, so
``map_(f) | take(5)`` calls ``f`` five times.

The loop is generated code, one function per shape (the kinds of the steps, the kind of source,
and whether it yields or feeds a consumer), compiled once and cached, as :mod:`dataclasses`
does: a loop that interprets a list of steps costs as much as the generators it replaces.
Each stage keeps its own counters, ``on_error`` and error notes; the counters are written back
to the stages before every suspension (a checkpoint, an awaited call, a yield), so
``statistics()`` reads them exact. One call in :data:`SAMPLE_EVERY` is timed, and the first.

The consumers ``collect()``, ``count()`` and ``drain()`` run a fused tail without an async
generator at all (:meth:`Fused.consume`).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import islice
from time import perf_counter
from types import CoroutineType, GeneratorType
from typing import Any

from anyio.lowlevel import checkpoint

from .._awaitable import awaitable
from .._errors import SKIP
from .._types import MISSING
from ._closing import aclose
from ._stage import RAISE, Stage

SAMPLE_EVERY = 256
"""Fused stages time the first call and then one call in this many; a sync source checkpoints
at the same items (see :data:`streamkit._source.CHECKPOINT_EVERY`)."""


class Kind(enum.Enum):
    """What a step does with an item."""

    MAP = "emit fn(item) (map_)"
    FILTER = "emit the item if fn(item) is true (filter_)"
    TAP = "call fn(item), emit the item (tap)"
    TAKE_WHILE = "emit items while fn(item) is true, then stop (take_while)"
    SKIP_WHILE = "drop items while fn(item) is true, then emit the rest (skip_while)"
    SCAN = "emit each fn(accumulated, item) (scan)"
    ENUMERATE = "emit (index, item) (enumerate_)"
    TAKE = "emit n items, then stop (take)"
    SKIP = "drop n items, emit the rest (skip)"


CALLS = frozenset({Kind.MAP, Kind.FILTER, Kind.TAP, Kind.TAKE_WHILE, Kind.SKIP_WHILE})
"""Kinds whose function is called on the item alone, under the stage's ``on_error``."""


@dataclass(frozen=True, slots=True)
class Step:
    """One sequential per-item stage: its kind, function (or ``None``) and argument (``n`` of
    take/skip, ``start`` of enumerate_, ``initial`` of scan)."""

    kind: Kind
    fn: Callable[..., Any] | None = None
    arg: Any = None


class Fused:
    """The parts of consecutive :class:`Step` s, run as one: an async iterator over
    ``source`` (an async iterator, or a sync iterable it iterates directly)."""

    __slots__ = ("__weakref__", "_generator", "_source", "_stages", "_steps", "_sync")

    def __init__(
        self,
        source: AsyncIterator[Any] | Iterable[Any],
        steps: tuple[Step, ...],
        stages: tuple[Stage, ...],
        *,
        sync: bool,
    ) -> None:
        self._source = source
        self._steps = steps
        self._stages = stages
        self._sync = sync
        self._generator: AsyncIterator[Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        generator = self._generator
        if generator is None:
            run = _compiled(tuple(step.kind for step in self._steps), self._sync, None)
            generator = self._generator = run(self._source, *self._arguments())
        return generator

    async def __anext__(self) -> Any:
        return await self.__aiter__().__anext__()

    async def aclose(self) -> None:
        if self._generator is not None:
            await aclose(self._generator)
        elif not self._sync:
            await aclose(self._source)

    async def consume(self, sink: str, into: list[Any] | None = None) -> int:
        """Run to the end feeding a consumer: ``"collect"`` appends to ``into``, ``"count"``
        and ``"drain"`` keep nothing; returns the number of items."""
        run = _compiled(tuple(step.kind for step in self._steps), self._sync, sink)
        self._generator = _closed()  # iterated no more: aclose() has nothing to do
        count: int = await run(self._source, *self._arguments(), into)
        return count

    def _arguments(self) -> tuple[Any, ...]:
        flat = [value for step in self._steps for value in (step.fn, step.arg)]
        return (*flat, self._stages, _Helpers)


async def _closed() -> AsyncIterator[Any]:
    return
    yield  # an async generator that ends at once


class _Helpers:
    """What the generated loops call, passed in as one object."""

    awaitable = staticmethod(awaitable)
    Coroutine = CoroutineType
    Generator = GeneratorType
    checkpoint = staticmethod(checkpoint)
    aclose = staticmethod(aclose)
    perf_counter = staticmethod(perf_counter)
    islice = islice
    SKIP = SKIP
    RAISE = RAISE
    MISSING = MISSING
    every = SAMPLE_EVERY


def _lines(kinds: tuple[Kind, ...], sync: bool, sink: str | None) -> list[str]:
    """The source of the loop for one shape (see the module docstring)."""
    count = len(kinds)
    takes = [k for k, kind in enumerate(kinds) if kind is Kind.TAKE]
    params = ", ".join(f"f{k}, a{k}" for k in range(count))
    head = "async def run(source, " + params + ", stages, h" + (", into):" if sink else "):")
    out: list[str] = [head]
    out.append("    " + ", ".join(f"s{k}" for k in range(count)) + ", = stages")
    # Only the first step, take and skip count their items; the others' counts follow from
    # the step before: what entered it, less what it skipped, dropped or holds in a call.
    counted = [k for k, kind in enumerate(kinds) if k == 0 or kind in (Kind.TAKE, Kind.SKIP)]
    out.append("    " + " = ".join(f"n{k}" for k in counted) + " = 0")
    out.append("    emitted = 0")
    out.append("    stop = False")
    out.append("    awaitable, Coroutine, SKIP, RAISE = h.awaitable, h.Coroutine, h.SKIP, h.RAISE")
    out.append("    Generator = h.Generator")
    out.append("    " + " = ".join(f"plain{k}" for k in range(count)) + " = None")
    for k, kind in enumerate(kinds):
        out.append(f"    s{k}.items_in = 0")
        if kind in CALLS or kind is Kind.SCAN:
            out.append(f"    s{k}.sampled_time = 0.0")
    for k, kind in enumerate(kinds):
        if kind is Kind.ENUMERATE:
            out.append(f"    i{k} = a{k}")
        elif kind is Kind.SCAN:
            out.append(f"    acc{k} = a{k}")
        elif kind is Kind.SKIP_WHILE:
            out.append(f"    skipping{k} = True")
        elif kind is Kind.TAKE:
            out.append(f"    if a{k} <= 0:")
            out.append("        return" + (" 0" if sink else ""))
    if sink == "collect":
        out.append("    append = into.append")
    flush = "; ".join(f"s{k}.items_in = n{k}" for k in counted)
    for k in range(count):
        if k not in counted:
            out.append(f"    s{k}.fed_by = s{k - 1}")
    if sync:
        # In chunks of ``every`` items: a checkpoint and one timed call before each, and no
        # per-item countdown. A chunk that comes short means the source has ended.
        out.append("    iterator = iter(source)")
        out.append("    islice, every = h.islice, h.every")
        out.append("    try:")
        out.append("        while True:")
        out.append(f"            {flush}")
        out.append("            await h.checkpoint()")
        out.append("            begun = n0")
        out.append("            chunk = islice(iterator, every)")
        out.append("            for x in chunk:")
        out.extend(_body(kinds, sync, takes, counted, True, 16, flush, sink))
        out.append("                break")
        out.append("            if not stop:")
        out.append("                for x in chunk:")
        out.extend(_body(kinds, sync, takes, counted, False, 20, flush, sink))
        out.append("            if stop or n0 - begun < every:")
        out.append("                break")
        out.append(f"        {flush}")
        out.append("        await h.checkpoint()")
    else:
        out.append("    countdown = 1")
        out.append("    try:")
        out.append("        async for x in source:")
        out.append("            countdown -= 1")
        out.append("            if not countdown:")
        out.append("                countdown = h.every")
        out.extend(_body(kinds, sync, takes, counted, True, 16, flush, sink))
        out.append("                continue")
        out.extend(_body(kinds, sync, takes, counted, False, 12, flush, sink))
    out.append("    finally:")
    out.append(f"        {flush}")
    for k in range(count):
        out.append(f"        if s{k}.in_flight:  # cancelled in a call, or its on_error raised")
        out.append(f"            s{k}.in_flight = 0")
        out.append(f"            s{k}.dropped += 1")
    if sync:
        out.append("        close = getattr(iterator, 'close', None)")
        out.append("        if close is not None:")
        out.append("            close()")
    else:
        out.append("        await h.aclose(source)")
    if sink:
        out.append("    return emitted")  # counted for count() only
    return out


def _body(
    kinds: tuple[Kind, ...],
    sync: bool,
    takes: list[int],
    counted: list[int],
    timed: bool,
    indent: int,
    flush: str,
    sink: str | None,
) -> list[str]:
    pad = " " * indent
    out: list[str] = []

    def drop(k: int) -> list[str]:
        # An item that goes no further: the next one, or the end if a take has had its last.
        if any(t < k for t in takes):
            return ["if stop:", "    break", "continue"]
        return ["continue"]

    def call(k: int, expression: str, failed: list[str]) -> None:
        # result = expression, awaited if awaitable; a failure goes to the stage's on_error.
        lines = ["try:"]
        if timed:
            lines.append("    started = h.perf_counter()")
        lines += [
            f"    r = {expression}",
            # plain{k}: the type of the last plain result, judged once per type (a generator is
            # judged each time: a generator-based coroutine has the type of a plain one).
            f"    if type(r) is not plain{k}:",
            "        if type(r) is Coroutine or (hasattr(r, '__await__') and awaitable(r)):",
            f"            s{k}.in_flight = 1",
            f"            {flush}",
            "            r = await r",
            f"            s{k}.in_flight = 0",
            "        elif type(r) is not Generator:",
            f"            plain{k} = type(r)",
        ]
        if timed:
            lines.append(f"    s{k}.sample(h.perf_counter() - started)")
        lines += ["except Exception as exc:", *("    " + line for line in failed)]
        out.extend(pad + line for line in lines)

    def recovered(k: int) -> list[str]:
        return [
            f"s{k}.in_flight = 1",
            flush,
            f"r = await s{k}.recover(exc, s{k}.counted_in() - 1, x)",
            f"s{k}.in_flight = 0",
            "if r is SKIP:",
            *("    " + line for line in drop(k)),
            "if r is RAISE:",
            f"    s{k}.dropped += 1",
            "    raise",
        ]

    for k, kind in enumerate(kinds):
        if k in counted:
            out.append(f"{pad}n{k} += 1")
        if kind in CALLS and kind is not Kind.SKIP_WHILE:
            call(k, f"f{k}(x)", recovered(k))
        if kind is Kind.MAP:
            out.append(f"{pad}x = r")
        elif kind is Kind.FILTER:
            out.append(f"{pad}if not r:")
            out.append(f"{pad}    s{k}.dropped += 1")
            out.extend(f"{pad}    {line}" for line in drop(k))
        elif kind is Kind.TAKE_WHILE:
            out.append(f"{pad}if not r:")
            out.append(f"{pad}    s{k}.dropped += 1")
            out.append(f"{pad}    stop = True")
            out.append(f"{pad}    break")
        elif kind is Kind.SKIP_WHILE:
            out.append(f"{pad}if skipping{k}:")
            saved = len(out)
            call(k, f"f{k}(x)", recovered(k))
            out[saved:] = ["    " + line for line in out[saved:]]
            out.append(f"{pad}    if r:")
            out.append(f"{pad}        s{k}.dropped += 1")
            out.extend(f"{pad}        {line}" for line in drop(k))
            out.append(f"{pad}    skipping{k} = False")
        elif kind is Kind.SCAN:
            out.append(f"{pad}if acc{k} is h.MISSING:")
            out.append(f"{pad}    acc{k} = x")
            out.append(f"{pad}else:")
            saved = len(out)
            failed = [
                f"s{k}.in_flight = 1",
                flush,
                f"s{k}.in_flight = 0",
                f"if s{k}.failed(exc, s{k}.counted_in() - 1, x):",
                *("    " + line for line in drop(k)),
                "raise",
            ]
            call(k, f"f{k}(acc{k}, x)", failed)
            out[saved:] = ["    " + line for line in out[saved:]]
            out.append(f"{pad}    acc{k} = r")
            out.append(f"{pad}x = acc{k}")
        elif kind is Kind.ENUMERATE:
            out.append(f"{pad}x = (i{k}, x)")
            out.append(f"{pad}i{k} += 1")
        elif kind is Kind.TAKE:
            # The last item: close the source before passing it on, then stop.
            out.append(f"{pad}if n{k} == a{k}:")
            out.append(f"{pad}    stop = True")
            if sync:
                out.append(f"{pad}    {flush}")
                out.append(f"{pad}    close = getattr(iterator, 'close', None)")
                out.append(f"{pad}    if close is not None:")
                out.append(f"{pad}        close()")
            else:  # the item waits in this stage while the source closes
                out.append(f"{pad}    s{k}.in_flight = 1")
                out.append(f"{pad}    {flush}")
                out.append(f"{pad}    await h.aclose(source)")
                out.append(f"{pad}    s{k}.in_flight = 0")
        elif kind is Kind.SKIP:
            out.append(f"{pad}if n{k} <= a{k}:")
            out.append(f"{pad}    s{k}.dropped += 1")
            out.extend(f"{pad}    {line}" for line in drop(k))
    if sink == "count":
        out.append(f"{pad}emitted += 1")
    if sink == "collect":
        out.append(f"{pad}append(x)")
    elif sink is None:
        out.append(f"{pad}{flush}")
        out.append(f"{pad}yield x")
    if takes:
        out.append(f"{pad}if stop:")
        out.append(f"{pad}    break")
    return out


@cache
def _compiled(kinds: tuple[Kind, ...], sync: bool, sink: str | None) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    source = "\n".join(_lines(kinds, sync, sink))
    exec(compile(source, f"<streamkit fused {'|'.join(k.name for k in kinds)}>", "exec"), namespace)
    run: Callable[..., Any] = namespace["run"]
    return run
