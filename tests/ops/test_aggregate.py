"""Grouping and aggregate operators: group_by, chunk_by, distinct, distinct_until_changed, sort,
window, pairwise, reduce, first, last, take_last, skip_last.

Each class checks its operator against a plain model (``itertools``, ``sorted``, a dict, an
LRU list, list slicing) on random inputs with sync and async key functions, then early exit
(the source is closed), errors (same object, note naming the operator) and options.
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    EmptyStreamError,
    Operator,
    chunk_by,
    distinct,
    distinct_until_changed,
    first,
    group_by,
    last,
    map_,
    pairwise,
    reduce,
    skip_last,
    sort,
    stream,
    take,
    take_last,
    window,
)
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, delays, failing_source, ints, pause, streamkit_notes

pytestmark = pytest.mark.anyio

small_ints = st.lists(st.integers(0, 9), max_size=30)
"""Short lists with many repeats."""
bounds = st.none() | st.integers(1, 5)


class Key:
    """``x % modulus``, sync or (with ``latencies``) async, recording the items it saw."""

    def __init__(self, modulus: int, latencies: list[float | None] | None = None) -> None:
        self.modulus = modulus
        self.latencies = latencies
        self.calls: list[int] = []

    def __call__(self, x: int) -> Any:
        if self.latencies is None:
            return self.of(x)
        return self._async(x)

    async def _async(self, x: int) -> int:
        assert self.latencies is not None
        await pause(self.latencies, x)
        return self.of(x)

    def of(self, x: int) -> int:
        self.calls.append(x)
        return x % self.modulus


keys = st.builds(
    lambda modulus, is_async, latencies: Key(modulus, latencies if is_async else None),
    st.integers(1, 7),
    st.booleans(),
    delays,
)


def fails_on(bad: int, error: Exception, *, is_async: bool = False) -> Any:
    """A key (or, with two arguments, a reducer) that raises ``error`` on item ``bad``."""

    def check(*args: int) -> int:
        if args[-1] == bad:
            raise error
        return sum(args)

    async def acheck(*args: int) -> int:
        await checkpoint()
        return check(*args)

    return acheck if is_async else check


async def run(op: Operator[Any, Any], xs: Any) -> list[Any]:
    with anyio.fail_after(10):
        return await stream(xs).pipe(op).collect()


async def check_error(op: Operator[Any, Any], xs: list[int], boom: Exception, label: str) -> None:
    """``op`` over ``xs`` raises ``boom`` itself, with one note naming ``label`` and item 2."""
    with anyio.fail_after(10), pytest.raises(type(boom)) as info:
        await stream(xs).pipe(op).collect()
    assert info.value is boom
    (note,) = streamkit_notes(boom)
    assert f"raised by {label}" in note
    assert f"on item 2: {xs[2]}" in note


async def check_closes_early(op: Operator[Any, Any], n: int, expected: list[Any]) -> None:
    """On an endless source, ``op`` then ``take(n)`` gives ``expected`` and closes the source."""
    source = TrackedSource.infinite()
    with anyio.fail_after(10):
        assert await stream(source).pipe(op, take(n)).collect() == expected
    source.assert_closed()


async def check_closes_on_break(op: Operator[Any, Any], xs: list[int]) -> Any:
    """Leaving the block after ``op``'s first output closes the source; returns that output."""
    source = TrackedSource(xs)
    with anyio.fail_after(10):
        async with stream(source).pipe(op).open() as items:
            got = await items.receive()
    source.assert_closed()
    assert source.pulled == len(xs), "a materializing operator reads the whole stream first"
    return got


# -- grouping -------------------------------------------------------------------------------


def group_by_model(
    xs: list[int], key: Any, max_size: int | None, max_groups: int | None
) -> list[tuple[int, list[int]]]:
    """group_by's documented semantics, on plain lists."""
    out: list[tuple[int, list[int]]] = []
    held: list[tuple[int, list[int]]] = []
    for x in xs:
        k = key(x)
        group = next((g for g in held if g[0] == k), None)
        if group is None:
            if len(held) == max_groups:
                out.append(held.pop(0))
            group = (k, [])
            held.append(group)
        group[1].append(x)
        if len(group[1]) == max_size:
            held.remove(group)
            out.append(group)
    return out + held


class TestGroupBy:
    @ASYNC_SETTINGS
    @given(xs=ints, key=keys)
    async def test_unbounded_matches_dict_model(self, xs: list[int], key: Key) -> None:
        model: dict[int, list[int]] = {}
        for x in xs:
            model.setdefault(x % key.modulus, []).append(x)
        assert await run(group_by(key), xs) == list(model.items())
        assert key.calls == xs, "key is called once per item, in order"

    @ASYNC_SETTINGS
    @given(xs=ints, key=keys, max_size=bounds, max_groups=bounds)
    async def test_bounded_matches_model(
        self, xs: list[int], key: Key, max_size: int | None, max_groups: int | None
    ) -> None:
        out = await run(group_by(key, max_size=max_size, max_groups=max_groups), xs)
        assert out == group_by_model(xs, key.of, max_size, max_groups)
        for k in {x % key.modulus for x in xs}:
            # Each key's groups, in emission order, hold its items in stream order.
            joined = [x for group_key, items in out if group_key == k for x in items]
            assert joined == [x for x in xs if x % key.modulus == k]
        assert all(0 < len(items) <= (max_size or len(xs)) for _, items in out)

    async def test_bound_holds_on_an_endless_stream(self) -> None:
        source = TrackedSource.infinite()
        max_size, max_groups = 3, 4
        emitted = 0
        with anyio.fail_after(10):
            async with (
                stream(source)
                .pipe(group_by(lambda x: x % 7, max_size=max_size, max_groups=max_groups))
                .open() as groups
            ):
                for _ in range(50):
                    _, items = await groups.receive()
                    emitted += len(items)
                    assert source.pulled - emitted <= max_size * max_groups
        source.assert_closed()

    async def test_early_exit(self) -> None:
        await check_closes_early(
            group_by(lambda x: x % 2, max_size=2), 2, [(0, [0, 2]), (1, [1, 3])]
        )
        assert await check_closes_on_break(group_by(lambda x: x % 2), [1, 2, 3]) == (1, [1, 3])

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_error_reaches_caller_unwrapped(self, is_async: bool) -> None:
        boom = KeyError("no key")
        key = fails_on(12, boom, is_async=is_async)
        await check_error(group_by(key, max_groups=1), [10, 11, 12, 13], boom, "group_by(")

    async def test_unhashable_key_gets_a_note(self) -> None:
        with anyio.fail_after(10), pytest.raises(TypeError, match="unhashable") as info:
            await stream([1, 2, 3]).pipe(group_by(lambda x: [x] if x == 2 else x)).collect()
        (note,) = streamkit_notes(info.value)
        assert note == "streamkit: raised by group_by(<lambda>) on item 1: 2"

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"key must be a callable"):
            group_by(None)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"max_size must be an int >= 1, got 0"):
            group_by(abs, max_size=0)
        with pytest.raises(ValueError, match=r"max_groups must be an int >= 1, got -1"):
            group_by(abs, max_groups=-1)
        with pytest.raises(TypeError, match=r"max_groups must be an int >= 1, got float"):
            group_by(abs, max_groups=2.0)  # type: ignore[call-overload]


class TestChunkBy:
    @ASYNC_SETTINGS
    @given(xs=small_ints, key=keys, max_size=bounds)
    async def test_matches_itertools_groupby(
        self, xs: list[int], key: Key, max_size: int | None
    ) -> None:
        out = await run(chunk_by(key, max_size=max_size), xs)
        step = max_size or len(xs) or 1
        expected = [
            (k, run[i : i + step])
            for k, group in itertools.groupby(xs, key.of)
            for run in [list(group)]
            for i in range(0, len(run), step)
        ]
        assert out == expected

    async def test_unhashable_keys(self) -> None:
        rows = [{"tags": ["a"]}, {"tags": ["a"]}, {"tags": []}]
        out = await run(chunk_by(operator.itemgetter("tags")), rows)
        assert out == [(["a"], rows[:2]), ([], rows[2:])]

    async def test_keys_compare_as_in_itertools(self) -> None:
        """Identity first, then ``==``: one NaN object is one key, as in itertools.groupby."""
        nan = float("nan")
        xs = [1, 2, 3]
        expected = [(k, list(g)) for k, g in itertools.groupby(xs, lambda x: nan)]
        assert await run(chunk_by(lambda x: nan), xs) == expected == [(nan, xs)]
        assert await run(distinct_until_changed(lambda x: nan), xs) == [1]

    async def test_early_exit(self) -> None:
        await check_closes_early(chunk_by(lambda x: x // 3), 2, [(0, [0, 1, 2]), (1, [3, 4, 5])])
        await check_closes_early(chunk_by(lambda x: 0, max_size=2), 1, [(0, [0, 1])])

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_error_reaches_caller_unwrapped(self, is_async: bool) -> None:
        boom = ValueError("no key")
        key = fails_on(3, boom, is_async=is_async)
        await check_error(chunk_by(key), [1, 2, 3, 4], boom, "chunk_by(")

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"key must be a callable"):
            chunk_by("x")  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"max_size must be an int >= 1, got 0"):
            chunk_by(abs, max_size=0)


def lru_distinct_model(xs: list[int], key: Any, size: int) -> list[int]:
    remembered: list[int] = []  # least recently seen first
    out: list[int] = []
    for x in xs:
        k = key(x)
        if k in remembered:
            remembered.remove(k)
            remembered.append(k)
            continue
        remembered.append(k)
        if len(remembered) > size:
            remembered.pop(0)
        out.append(x)
    return out


class TestDistinct:
    @ASYNC_SETTINGS
    @given(xs=small_ints, key=st.none() | keys)
    async def test_matches_dict_fromkeys(self, xs: list[int], key: Key | None) -> None:
        out = await run(distinct(key), xs)
        if key is None:
            assert out == list(dict.fromkeys(xs))
        else:
            firsts: dict[int, int] = {}
            for x in xs:
                firsts.setdefault(x % key.modulus, x)
            assert out == list(firsts.values())

    @ASYNC_SETTINGS
    @given(xs=small_ints, key=st.none() | keys, size=st.integers(1, 6))
    async def test_window_matches_lru_model(
        self, xs: list[int], key: Key | None, size: int
    ) -> None:
        out = await run(distinct(key, window=size), xs)
        assert out == lru_distinct_model(xs, key.of if key else (lambda x: x), size)

    async def test_early_exit(self) -> None:
        await check_closes_early(distinct(lambda x: x // 2, window=1), 3, [0, 2, 4])
        await check_closes_early(distinct(), 2, [0, 1])

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_error_reaches_caller_unwrapped(self, is_async: bool) -> None:
        boom = TypeError("no key")
        key = fails_on(7, boom, is_async=is_async)
        await check_error(distinct(key, window=5), [5, 6, 7], boom, "distinct(")

    async def test_unhashable_item_gets_a_note(self) -> None:
        with anyio.fail_after(10), pytest.raises(TypeError, match="unhashable") as info:
            await stream([1, 2, [3]]).pipe(distinct()).collect()
        (note,) = streamkit_notes(info.value)
        assert note == "streamkit: raised by distinct() on item 2: [3]"

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"window must be an int >= 1, got 0"):
            distinct(window=0)
        with pytest.raises(TypeError, match=r"window must be an int >= 1, got str"):
            distinct(window="8")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"key must be a callable"):
            distinct(3)  # type: ignore[call-overload]


class TestDistinctUntilChanged:
    @ASYNC_SETTINGS
    @given(xs=small_ints, key=st.none() | keys)
    async def test_matches_itertools_groupby(self, xs: list[int], key: Key | None) -> None:
        out = await run(distinct_until_changed(key), xs)
        assert out == [next(group) for _, group in itertools.groupby(xs, key and key.of)]

    async def test_early_exit(self) -> None:
        await check_closes_early(distinct_until_changed(lambda x: x // 3), 2, [0, 3])

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_error_reaches_caller_unwrapped(self, is_async: bool) -> None:
        boom = ArithmeticError("no key")
        key = fails_on(0, boom, is_async=is_async)
        await check_error(distinct_until_changed(key), [2, 1, 0], boom, "distinct_until_changed(")

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"key must be a callable"):
            distinct_until_changed(1)  # type: ignore[call-overload]


class TestSort:
    @ASYNC_SETTINGS
    @given(xs=ints, key=st.none() | keys, reverse=st.booleans())
    async def test_matches_sorted(self, xs: list[int], key: Key | None, reverse: bool) -> None:
        # With key=x % m, equal keys keep their input order (stable), as in sorted().
        out = await run(sort(key, reverse=reverse), xs)
        assert out == sorted(xs, key=key and key.of, reverse=reverse)

    async def test_early_exit(self) -> None:
        assert await check_closes_on_break(sort(), [3, 1, 2]) == 1

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_error_reaches_caller_unwrapped(self, is_async: bool) -> None:
        boom = LookupError("no key")
        key = fails_on(30, boom, is_async=is_async)
        await check_error(sort(key), [10, 20, 30], boom, "sort(")

    async def test_incomparable_keys_get_a_note(self) -> None:
        # list.sort() does not say which items it compared, so the note names none.
        with anyio.fail_after(10), pytest.raises(TypeError, match="not supported") as info:
            await stream([1, "a", 2]).pipe(sort()).collect()
        (note,) = streamkit_notes(info.value)
        assert note == "streamkit: raised by sort() comparing the keys of 3 items"

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"reverse must be True or False, got 'yes'"):
            sort(reverse="yes")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"key must be a callable"):
            sort(1)  # type: ignore[call-overload]


# -- windows --------------------------------------------------------------------------------


class TestWindow:
    @ASYNC_SETTINGS
    @given(xs=ints, size=st.integers(1, 6), step=st.integers(1, 8))
    async def test_matches_slices(self, xs: list[int], size: int, step: int) -> None:
        out = await run(window(size, step=step), xs)
        assert out == [tuple(xs[i : i + size]) for i in range(0, len(xs) - size + 1, step)]

    async def test_shorter_than_size_gives_nothing(self) -> None:
        assert await run(window(4), [1, 2, 3]) == []

    async def test_early_exit(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            out = await stream(source).pipe(window(3, step=2), take(2)).collect()
        assert out == [(0, 1, 2), (2, 3, 4)]
        source.assert_closed()
        assert source.pulled == 5

    async def test_upstream_error_passes_through(self) -> None:
        boom = RuntimeError("upstream")
        with anyio.fail_after(10), pytest.raises(RuntimeError) as info:
            await stream(failing_source([1, 2, 3], boom)).pipe(window(2)).collect()
        assert info.value is boom

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"size must be an int >= 1, got 0"):
            window(0)
        with pytest.raises(ValueError, match=r"step must be an int >= 1, got 0"):
            window(2, step=0)
        with pytest.raises(TypeError, match=r"size must be an int >= 1, got float"):
            window(2.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"positional argument"):
            window(2, 1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


class TestPairwise:
    @ASYNC_SETTINGS
    @given(xs=ints)
    async def test_matches_itertools(self, xs: list[int]) -> None:
        assert await run(pairwise(), xs) == list(itertools.pairwise(xs))

    async def test_early_exit(self) -> None:
        await check_closes_early(pairwise(), 2, [(0, 1), (1, 2)])

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError):
            pairwise(2)  # type: ignore[call-arg]


class TestTakeLast:
    @ASYNC_SETTINGS
    @given(xs=ints, n=st.integers(0, 35))
    async def test_matches_slice(self, xs: list[int], n: int) -> None:
        assert await run(take_last(n), xs) == xs[max(len(xs) - n, 0) :]

    async def test_early_exit(self) -> None:
        assert await check_closes_on_break(take_last(2), [1, 2, 3, 4]) == 3

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"n must be an int >= 0, got -1"):
            take_last(-1)
        with pytest.raises(TypeError, match=r"n must be an int >= 0, got bool"):
            take_last(True)


class TestSkipLast:
    @ASYNC_SETTINGS
    @given(xs=ints, n=st.integers(0, 35))
    async def test_matches_slice(self, xs: list[int], n: int) -> None:
        assert await run(skip_last(n), xs) == xs[: max(len(xs) - n, 0)]

    async def test_holds_exactly_n(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            async with stream(source).pipe(skip_last(3)).open() as items:
                for expected in range(10):
                    assert await items.receive() == expected
                    assert source.pulled == expected + 4
        source.assert_closed()

    async def test_early_exit(self) -> None:
        await check_closes_early(skip_last(2), 2, [0, 1])

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match=r"n must be an int >= 0, got -1"):
            skip_last(-1)


# -- folding to one value -------------------------------------------------------------------


class TestReduce:
    @ASYNC_SETTINGS
    @given(xs=ints, initial=st.none() | st.integers(-5, 5), is_async=st.booleans())
    async def test_matches_functools(
        self, xs: list[int], initial: int | None, is_async: bool
    ) -> None:
        def mix(acc: int, x: int) -> int:
            return acc * 3 - x

        async def amix(acc: int, x: int) -> int:
            await checkpoint()
            return mix(acc, x)

        fn = amix if is_async else mix
        op = reduce(fn) if initial is None else reduce(fn, initial)
        if initial is None and not xs:
            with pytest.raises(EmptyStreamError, match=r"reduce\(.*mix\) found an empty stream"):
                await run(op, xs)
            return
        args = () if initial is None else (initial,)
        assert await run(op, xs) == [functools.reduce(mix, xs, *args)]

    async def test_empty_with_initial(self) -> None:
        assert await run(reduce(operator.add, "init"), []) == ["init"]

    async def test_early_exit(self) -> None:
        assert await check_closes_on_break(reduce(operator.add), [1, 2, 3]) == 6

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_error_reaches_caller_unwrapped(self, is_async: bool) -> None:
        boom = OverflowError("too big")
        fn = fails_on(3, boom, is_async=is_async)
        await check_error(reduce(fn, 0), [1, 2, 3], boom, "reduce(")

    @pytest.mark.parametrize("is_async", [False, True])
    async def test_skip_drops_the_items_it_failed_on(self, is_async: bool) -> None:
        def add_but_three(acc: int, x: int) -> int:
            if x == 3:
                raise ValueError(x)
            return acc + x

        async def aadd_but_three(acc: int, x: int) -> int:
            await checkpoint()
            return add_but_three(acc, x)

        fn = aadd_but_three if is_async else add_but_three
        pipeline = stream(range(6)).pipe(reduce(fn, on_error="skip"))
        with anyio.fail_after(10):
            async with pipeline.open() as items:
                out = [x async for x in items]
                stats = items.statistics()
        assert out == [0 + 1 + 2 + 4 + 5]
        assert stats.skipped == 1

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError, match=r"fn must be a callable"):
            reduce(None)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match=r"on_error must be one of"):
            reduce(operator.add, on_error="ignore")  # type: ignore[call-overload]


class TestFirst:
    @ASYNC_SETTINGS
    @given(xs=ints, default=st.none() | st.integers())
    async def test_matches_list(self, xs: list[int], default: int | None) -> None:
        source = TrackedSource(xs)
        op = first() if default is None else first(default=default)
        if not xs and default is None:
            with pytest.raises(EmptyStreamError, match=r"first\(\) found no item; pass default"):
                await run(op, source)
        else:
            assert await run(op, source) == [xs[0] if xs else default]
        assert source.pulled == min(len(xs), 1)
        source.assert_closed()

    async def test_closes_the_source_before_passing_the_item_on(self) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            async with stream(source).pipe(map_(lambda x: x + 1), first()).open() as items:
                assert await items.receive() == 1
                source.assert_closed()
                with pytest.raises(anyio.EndOfStream):
                    await items.receive()
        assert source.pulled == 1

    async def test_upstream_error_before_the_first_item(self) -> None:
        boom = ValueError("upstream")
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream(failing_source([], boom)).pipe(first(default=0)).collect()
        assert info.value is boom

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError):
            first(0)  # type: ignore[call-overload]


class TestLast:
    @ASYNC_SETTINGS
    @given(xs=ints, default=st.none() | st.integers())
    async def test_matches_list(self, xs: list[int], default: int | None) -> None:
        op = last() if default is None else last(default=default)
        if not xs and default is None:
            with pytest.raises(EmptyStreamError, match=r"last\(\) found no item; pass default"):
                await run(op, xs)
        else:
            assert await run(op, xs) == [xs[-1] if xs else default]

    async def test_items_that_are_awaitable_are_not_awaited(self) -> None:
        waiting = checkpoint()
        try:
            assert await run(last(), [1, waiting]) == [waiting]
            assert await run(first(default=0), [waiting]) == [waiting]
        finally:
            waiting.close()

    async def test_early_exit(self) -> None:
        assert await check_closes_on_break(last(), [1, 2, 3]) == 3
        assert await check_closes_on_break(last(default=0), []) == 0

    async def test_upstream_error_passes_through(self) -> None:
        boom = ValueError("upstream")
        with anyio.fail_after(10), pytest.raises(ValueError) as info:
            await stream(failing_source([1, 2], boom)).pipe(last()).collect()
        assert info.value is boom

    def test_bad_options(self) -> None:
        with pytest.raises(TypeError):
            last(0)  # type: ignore[call-overload]
