"""Static typing expectations, checked by mypy --strict and pyright (not run by pytest)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import assert_type

from streamkit import (
    SKIP,
    Failure,
    Failures,
    Pipeline,
    Retry,
    Skip,
    Stream,
    batch,
    enumerate_,
    filter_,
    flat_map,
    flatten,
    map_,
    open_pipeline,
    pipe,
    scan,
    stream,
    take,
)


async def fetch(url: str) -> bytes:
    return url.encode()


def size(data: bytes) -> int:
    return len(data)


async def twice(source: AsyncIterable[int]) -> AsyncIterator[int]:
    async for x in source:
        yield 2 * x


async def check() -> None:
    urls = stream(["a", "b"])
    assert_type(urls, Stream[str])
    assert_type(stream.range(3), Stream[int])
    assert_type(urls.pipe(map_(fetch)), Stream[bytes])
    assert_type(urls.pipe(map_(fetch, concurrency=4), map_(size)), Stream[int])
    assert_type(urls | map_(fetch) | map_(size), Stream[int])
    assert_type(stream([1]).pipe(map_(str)), Stream[str])
    assert_type(stream([1]).pipe(twice, batch(2)), Stream[list[int]])
    assert_type(urls.pipe(enumerate_()), Stream[tuple[int, str]])
    assert_type(urls.pipe(flat_map(list)), Stream[str])
    assert_type(stream([[1], [2]]).pipe(flatten()), Stream[int])
    assert_type(stream([1]).pipe(scan(add, 0)), Stream[int])
    assert_type(stream.zip(urls, stream.range(2)), Stream[tuple[str, int]])
    assert_type(stream.merge(urls, ["c"]), Stream[str])

    pages = pipe(map_(fetch), take(3))
    assert_type(urls.pipe(pages), Stream[bytes])

    assert_type(await urls.collect(), list[str])
    assert_type(await urls.first(), str)
    assert_type(await urls.last(default="z"), str)
    assert_type(await urls.count(), int)
    assert_type(await urls.pipe(map_(size_of_str)).reduce(max), int)
    assert_type(await urls.reduce(lambda n, s: n + len(s), 0), int)

    async with urls.pipe(filter_(bool)).open() as items:
        assert_type(items, Pipeline[str])
        async for item in items:
            assert_type(item, str)
    async with open_pipeline(["x"], map_(fetch)) as fetched:
        assert_type(await fetched.receive(), bytes)

    map_(size, concurrency="many")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    async for _ in urls:  # type: ignore[attr-defined]  # pyright: ignore[reportGeneralTypeIssues]
        pass


def add(a: int, b: int) -> int:
    return a + b


def size_of_str(text: str) -> int:
    return len(text)


async def check_errors_and_retries(urls: Stream[str]) -> None:
    """timeout=, retry=Retry(...), on_error handlers and Failures keep the item types."""
    policy = Retry((ConnectionError, TimeoutError), attempts=4, on_retry=print)
    failures = Failures(limit=10)

    def fallback(exc: Exception, url: str) -> bytes | Skip:
        return SKIP if isinstance(exc, KeyError) else b""

    assert_type(urls.pipe(map_(fetch, timeout=2, retry=policy)), Stream[bytes])
    assert_type(urls.pipe(map_(fetch, on_error=failures)), Stream[bytes])
    assert_type(urls.pipe(map_(fetch, on_error=fallback)), Stream[bytes])
    assert_type(urls.pipe(filter_(bool, retry=policy, timeout=0.5)), Stream[str])
    assert_type(urls.pipe(flat_map(str.split, on_error=failures, retry=policy)), Stream[str])
    assert_type(urls.pipe(batch(10), map_(len, on_error="skip")), Stream[int])
    for failure in failures:
        assert_type(failure, Failure)
        assert_type(failure.error, Exception)
    assert_type(policy.delay(1), float)
    map_(fetch, retry=3)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    Retry(on=KeyboardInterrupt)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
