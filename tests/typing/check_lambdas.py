"""The typing corpus: ordinary pipelines with lambdas, checked by mypy --strict and pyright strict.

Each line asserts the element type a user expects. CI runs both checkers on this file against an
installed (non-editable) copy. Forms one checker cannot infer are at the end, with the
annotation that fixes them (docs/typing.rst lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_type

from streamkit import (
    Failure,
    Failures,
    Operator,
    Pipe,
    Pipeline,
    PushSource,
    Stream,
    StreamOperator,
    batch,
    broadcast,
    chunk_by,
    distinct,
    enumerate_,
    filter_,
    first,
    flat_map,
    group_by,
    last,
    map_,
    open_pipeline,
    pairwise,
    partition,
    pipe,
    reduce,
    route,
    scan,
    skip_while,
    sort,
    stream,
    take,
    take_while,
    tap,
    window,
    zip_,
)


@dataclass
class Event:
    kind: str
    size: int


async def fetch(n: int) -> int:
    return n * n


async def load(url: str) -> bytes:
    return url.encode()


def kind_of(event: Event) -> str:
    return event.kind


async def is_big(event: Event) -> bool:
    return event.size > 10


async def check_pipe_with_lambdas(numbers: Stream[int], events: Stream[Event]) -> None:
    """``.pipe(...)``: one operator, or several whose lambdas come first or compute the type."""
    seen: list[int] = []
    assert_type(numbers.pipe(map_(lambda n: n + 1)), Stream[int])
    assert_type(numbers.pipe(map_(lambda n: str(n))), Stream[str])
    assert_type(numbers.pipe(map_(lambda n: [n, n])), Stream[list[int]])
    assert_type(numbers.pipe(map_(lambda n: n * 2, concurrency=4)), Stream[int])
    assert_type(numbers.pipe(filter_(lambda n: n % 3 == 0)), Stream[int])
    assert_type(numbers.pipe(filter_(lambda n: n > 2, concurrency=2)), Stream[int])
    assert_type(events.pipe(map_(lambda e: e.kind)), Stream[str])
    assert_type(events.pipe(filter_(lambda e: e.size > 1)), Stream[Event])
    assert_type(events.pipe(group_by(lambda e: e.kind)), Stream[tuple[str, list[Event]]])
    assert_type(
        events.pipe(group_by(lambda e: e.size % 2, max_groups=2)),
        Stream[tuple[int, list[Event]]],
    )
    assert_type(events.pipe(distinct(lambda e: e.kind)), Stream[Event])
    assert_type(events.pipe(sort(lambda e: e.size, reverse=True)), Stream[Event])
    assert_type(numbers.pipe(scan(lambda total, n: total + n, 0)), Stream[int])
    assert_type(numbers.pipe(scan(lambda seen, n: [*seen, n], [0])), Stream[list[int]])
    assert_type(numbers.pipe(reduce(lambda total, n: total + n, 0)), Stream[int])
    assert_type(numbers.pipe(flat_map(lambda n: [n, -n])), Stream[int])
    assert_type(numbers.pipe(flat_map(lambda n: str(n))), Stream[str])
    assert_type(numbers.pipe(take_while(lambda n: n < 10)), Stream[int])
    assert_type(numbers.pipe(skip_while(lambda n: n < 10)), Stream[int])
    assert_type(numbers.pipe(tap(lambda n: seen.append(n))), Stream[int])
    assert_type(numbers.pipe(map_(lambda n: n + 1), map_(lambda n: str(n))), Stream[str])
    assert_type(events.pipe(map_(lambda e: e.size), map_(lambda s: s / 2)), Stream[float])
    assert_type(numbers.pipe(filter_(lambda n: n > 0), map_(fetch)), Stream[int])


async def check_chained_pipes(numbers: Stream[int], events: Stream[Event]) -> None:
    """One ``.pipe(op)`` per lambda operator: typed by both checkers whatever the operator."""
    squares = numbers.pipe(filter_(lambda n: n % 3 == 0)).pipe(map_(fetch, concurrency=16), take(5))
    assert_type(squares, Stream[int])
    words = numbers.pipe(map_(str)).pipe(filter_(lambda s: s != "2")).pipe(take(2))
    assert_type(words, Stream[str])
    big = events.pipe(filter_(is_big)).pipe(map_(lambda e: e.kind))
    assert_type(big, Stream[str])
    assert_type(numbers.pipe(map_(lambda n: n + 1)).pipe(map_(lambda n: str(n))), Stream[str])


async def check_consumers(numbers: Stream[int], events: Stream[Event]) -> None:
    """Consumers with and without ``default=``."""
    assert_type(await numbers.collect(), list[int])
    assert_type(await numbers.first(), int)
    assert_type(await numbers.first(default=None), int | None)
    assert_type(await numbers.first(default=0), int)
    assert_type(await numbers.last(), int)
    assert_type(await numbers.last(default=None), int | None)
    assert_type(await numbers.last(default="none"), int | str)
    assert_type(await events.pipe(map_(lambda e: e.size)).first(default=None), int | None)
    assert_type(await numbers.reduce(lambda a, b: a + b), int)
    assert_type(await numbers.reduce(lambda total, n: total + n, 0.0), float)
    assert_type(await numbers.count(), int)
    assert_type(numbers.pipe(first(default=None)), Stream[int | None])
    assert_type(numbers.pipe(last(default=-1)), Stream[int])
    assert_type(numbers.pipe(first()), Stream[int])


async def check_open(numbers: Stream[int]) -> None:
    """``open()``, ``open_pipeline(...)`` and ``pipe()`` composition."""
    async with numbers.pipe(map_(lambda n: n / 2)).open() as halves:
        assert_type(halves, Pipeline[float])
        async for half in halves:
            assert_type(half, float)
    async with open_pipeline(["a"], map_(load, concurrency=8), batch(50)) as pages:
        assert_type(pages, Pipeline[list[bytes]])
    async with open_pipeline(numbers, map_(lambda n: str(n))) as texts:
        assert_type(await texts.receive(), str)
    clean = pipe(map_(str.strip), filter_(str.isalpha))
    assert_type(clean, Pipe[str, str])
    assert_type(stream([" a "]).pipe(clean, take(10)), Stream[str])


async def check_fan_out(numbers: Stream[int], events: Stream[Event]) -> None:
    """``broadcast``, ``partition`` and ``route`` with lambdas."""
    sizes: Operator[Event, int] = map_(lambda e: e.size)  # mypy: name a lambda branch
    assert_type(events.pipe(route(lambda e: e.kind, {"a": sizes})), Stream[int])
    assert_type(events.pipe(route(kind_of, {"a": sizes}, default=sizes)), Stream[int])


def check_small_holes(failures: Failures) -> None:
    """``Failure.item``, ``stream.push()`` and the operator types."""
    for failure in failures:
        assert_type(failure, Failure)
        assert_type(failure.item, object)
    feed: PushSource[str] = stream.push(10)
    assert_type(feed, PushSource[str])
    assert_type(map_(str), StreamOperator[object, str])
    op: Operator[int, int] = map_(lambda n: n + 1)
    assert_type(stream([1]).pipe(op), Stream[int])


async def check_annotated_forms(numbers: Stream[int], events: Stream[Event]) -> None:
    """Forms that need an annotation in one checker (docs/typing.rst, "Limits")."""
    # mypy: a lambda operator after another operator, whose output type is its input type
    # (filter_, take_while, ...), inside one multi-operator .pipe(...): name the operator with
    # its type, or chain .pipe() per operator (check_chained_pipes).
    not_two: Operator[str, str] = filter_(lambda s: s != "2")
    assert_type(numbers.pipe(map_(str), not_two, take(2)), Stream[str])
    # For pyright: a lambda on the right of | (pyright infers the right operand on its own);
    # give the operator its type, or use .pipe(...).
    plus_one: Operator[int, int] = map_(lambda n: n + 1)
    assert_type(numbers | plus_one, Stream[int])
    assert_type(numbers | plus_one | take(3), Stream[int])
    # mypy: a lambda operator after take(), batch(), enumerate_(), window(), pairwise() or
    # zip_() (generic operators) in one .pipe(...): chain .pipe() at the lambda, or name it.
    assert_type(numbers.pipe(take(5)).pipe(map_(lambda n: n * 2)), Stream[int])
    assert_type(numbers.pipe(batch(3)).pipe(map_(lambda b: sum(b))), Stream[int])
    assert_type(numbers.pipe(enumerate_()).pipe(map_(lambda p: p[0] + p[1])), Stream[int])
    assert_type(numbers.pipe(window(2)).pipe(map_(lambda w: len(w))), Stream[int])
    assert_type(numbers.pipe(pairwise()).pipe(map_(lambda p: p[1] - p[0])), Stream[int])
    assert_type(numbers.pipe(zip_(["a"])).pipe(map_(lambda p: p[1] * p[0])), Stream[str])
    doubled: Operator[int, int] = map_(lambda n: n * 2)
    assert_type(numbers.pipe(doubled, map_(fetch, concurrency=8), batch(10)), Stream[list[int]])
    # mypy: open_pipeline(source, lambda operator, ...): name the operator.
    above_one: Operator[int, int] = filter_(lambda n: n > 1)
    async with open_pipeline([1, 2, 3], above_one) as kept:
        assert_type(kept, Pipeline[int])
    # mypy: a lambda inside broadcast()/partition() branches: name the branch.
    twice: Operator[int, str] = map_(lambda n: str(n * 2))
    assert_type(numbers.pipe(broadcast(map_(str), twice)), Stream[str])
    negate: Operator[int, int] = map_(lambda n: -n)
    assert_type(numbers.pipe(partition(lambda n: n > 1, negate, negate)), Stream[int])
    # mypy: a lambda operator after another one in a .pipe(...) whose result depends on its
    # parameter (s.upper(), p[1]) is typed Any without an error: chain .pipe() at the lambda.
    assert_type(numbers.pipe(map_(str)).pipe(map_(lambda s: s.upper())), Stream[str])
    pairs = stream([("a", [1])])
    assert_type(pairs.pipe(map_(lambda p: p[1])).pipe(map_(lambda v: v[0])), Stream[int])
    # mypy: a lambda that returns a coroutine (map_(lambda n: fetch(n))): name the operator.
    fetch_one: Operator[int, int] = map_(lambda n: fetch(n))
    assert_type(numbers.pipe(fetch_one), Stream[int])
    # Both: pipe() alone has no stream to take the lambda's type from: annotate the result.
    doubled_text: Pipe[int, str] = pipe(map_(lambda n: n * 2), map_(str))
    assert_type(numbers.pipe(doubled_text), Stream[str])
    # For pyright: chunk_by with a lambda key: name the key function.
    assert_type(events.pipe(chunk_by(kind_of)), Stream[tuple[str, list[Event]]])
