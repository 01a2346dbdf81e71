"""Static typing expectations, checked by mypy --strict and pyright (not run by pytest)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import assert_type

from streamkit import (
    SKIP,
    Failure,
    Failures,
    Hooks,
    Operator,
    Pipeline,
    PipelineStatistics,
    Retry,
    Skip,
    StageStatistics,
    Stream,
    StreamOperator,
    SyncPipeline,
    batch,
    broadcast,
    buffer,
    chain,
    chunk_by,
    concat_map,
    distinct,
    distinct_until_changed,
    enumerate_,
    expand,
    filter_,
    first,
    flat_map,
    flatten,
    group_by,
    last,
    map_,
    merge,
    offload,
    open_pipeline,
    pairwise,
    partition,
    pipe,
    progress,
    reduce,
    route,
    scan,
    skip_last,
    sort,
    start_with,
    stream,
    switch_map,
    take,
    take_last,
    window,
    zip_,
    zip_latest,
)
from streamkit.ray import RayExecutor


async def fetch(url: str) -> bytes:
    return url.encode()


async def fetch_all(url: str) -> list[bytes]:
    return [url.encode()]


async def headers(url: str) -> tuple[str, list[dict[str, int]]]:
    return url, [{url: 1}]


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
    # An async function returning a nested generic: the awaited type, not a Coroutine (pyright
    # once preferred the Coroutine, the simpler solution by its measure).
    assert_type(map_(headers), StreamOperator[str, tuple[str, list[dict[str, int]]]])
    assert_type(urls.pipe(map_(headers, concurrency=4)), Stream[tuple[str, list[dict[str, int]]]])
    assert_type(urls.pipe(map_(headers), batch(2)), Stream[list[tuple[str, list[dict[str, int]]]]])
    async with open_pipeline(urls, map_(headers), batch(2)) as found:
        assert_type(found, Pipeline[list[tuple[str, list[dict[str, int]]]]])
    assert_type(stream([1]).pipe(twice, batch(2)), Stream[list[int]])
    assert_type(urls.pipe(enumerate_()), Stream[tuple[int, str]])
    assert_type(urls.pipe(flat_map(list)), Stream[str])
    assert_type(stream([[1], [2]]).pipe(flatten()), Stream[int])
    assert_type(stream([1]).pipe(scan(add, 0)), Stream[int])
    assert_type(stream.zip(urls, stream.range(2)), Stream[tuple[str, int]])
    assert_type(stream.merge(urls, ["c"]), Stream[str])

    # Combining: element types flow from every input.
    nums = stream.range(3)
    assert_type(urls | merge(["c"], stream(["d"])), Stream[str])
    assert_type(nums | merge(["c"]), Stream[int | str])
    assert_type(urls | chain(["c"]), Stream[str])
    assert_type(urls | start_with(b"x"), Stream[str | bytes])
    assert_type(urls | zip_(nums), Stream[tuple[str, int]])
    assert_type(urls | zip_(nums, [b"x"], strict=True), Stream[tuple[str, int, bytes]])
    assert_type(urls | zip_(), Stream[tuple[str]])
    assert_type(urls | zip_latest(nums, urls), Stream[tuple[str, int, str]])
    assert_type(urls | concat_map(list), Stream[str])
    assert_type(urls | switch_map(fetch_all), Stream[bytes])
    zip_(nums, strict="yes")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

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


async def async_size_of_str(text: str) -> int:
    return len(text)


async def check_aggregate() -> None:
    words = stream(["a", "bb"])
    assert_type(words.pipe(group_by(size_of_str)), Stream[tuple[int, list[str]]])
    assert_type(
        words.pipe(group_by(async_size_of_str, max_groups=2)), Stream[tuple[int, list[str]]]
    )
    assert_type(words.pipe(chunk_by(size_of_str, max_size=3)), Stream[tuple[int, list[str]]])
    assert_type(words.pipe(distinct()), Stream[str])
    assert_type(words.pipe(distinct(size_of_str, window=8)), Stream[str])
    assert_type(words.pipe(distinct_until_changed()), Stream[str])
    assert_type(words.pipe(distinct_until_changed(async_size_of_str)), Stream[str])
    assert_type(words.pipe(sort()), Stream[str])
    assert_type(words.pipe(sort(size_of_str, reverse=True)), Stream[str])
    assert_type(words.pipe(window(3, step=2)), Stream[tuple[str, ...]])
    assert_type(words.pipe(pairwise()), Stream[tuple[str, str]])
    assert_type(words.pipe(take_last(2), skip_last(1)), Stream[str])
    assert_type(words.pipe(first()), Stream[str])
    assert_type(words.pipe(last(default=None)), Stream[str | None])
    assert_type(stream([1]).pipe(reduce(add)), Stream[int])
    assert_type(words.pipe(reduce(lambda n, s: n + len(s), 0)), Stream[int])
    assert_type(words.pipe(reduce(lambda n, s: n + len(s), 0, on_error="skip")), Stream[int])
    sort(key=3)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


def add(a: int, b: int) -> int:
    return a + b


def size_of_str(text: str) -> int:
    return len(text)


async def check_fanout(numbers: Stream[int]) -> None:
    assert_type(broadcast(map_(size_of_int), map_(size_of_int)), StreamOperator[int, int])
    assert_type(numbers.pipe(broadcast(map_(str), pipe(map_(str), take(2)))), Stream[str])
    assert_type(numbers.pipe(partition(is_even, map_(show), pipe(map_(show)))), Stream[str])
    assert_type(numbers.pipe(route(is_even, {True: map_(show)}, default=map_(show))), Stream[str])
    assert_type(numbers.pipe(route(async_key, {"a": map_(size_of_int)})), Stream[int])
    broadcast(map_(str), buffer=None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    route(is_even, {"a": map_(show)})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    # A mapping mixing take(n) with map_(f) needs an annotation for mypy (see operators.rst).
    mixed: dict[bool, Operator[int, int]] = {True: take(3), False: map_(size_of_int)}
    assert_type(numbers.pipe(route(is_even, mixed)), Stream[int])


def size_of_int(x: int) -> int:
    return x


def show(x: int) -> str:
    return str(x)


def is_even(x: int) -> bool:
    return x % 2 == 0


async def async_key(x: int) -> str:
    return "a"


async def check_time() -> None:
    from streamkit import (
        PushSource,
        debounce,
        delay,
        rate_limit,
        sample,
        throttle_first,
        timeout,
    )

    words = stream(["a", "b"])
    assert_type(words.pipe(timeout(1), rate_limit(5, per=0.5), throttle_first(0.2)), Stream[str])
    assert_type(words | debounce(0.3) | sample(1) | delay(2, window=8), Stream[str])
    assert_type(words.pipe(map_(fetch, concurrency=4, rate_limit=(10, 1.0))), Stream[bytes])
    assert_type(words.pipe(filter_(bool, rate_limit=(1, 2))), Stream[str])
    assert_type(words.pipe(flat_map(list, rate_limit=(1, 2))), Stream[str])
    feed: PushSource[int] = stream.push(10, overflow="drop_oldest")
    assert_type(feed.pipe(batch(2)), Stream[list[int]])
    await feed.send(1)
    feed.send_nowait(2)
    feed.fail(ValueError())
    assert_type(feed.dropped, int)
    map_(size, rate_limit=10)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    stream.push(1, overflow="latest")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    rate_limit(2, 1.0)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


async def check_observe() -> None:
    urls = stream(["a", "b"])
    assert_type(urls.pipe(progress("urls", total=2)), Stream[str])
    assert_type(await urls.collect(hooks=Hooks(), progress=True), list[str])
    assert_type(await urls.reduce(lambda n, s: n + len(s), 0, hooks=Hooks()), int)
    assert_type(urls.to_mermaid(), str)
    async with urls.open(hooks=Hooks()) as items:
        stats = items.statistics()
        assert_type(stats, PipelineStatistics)
        assert_type(stats.bottleneck, StageStatistics | None)
        assert_type(stats.bottleneck_hint(), str)
        assert_type(stats.stages[0].items_out, int | None)
        assert_type(stats.stages[0].failed, int)
        assert_type(stats.retries, int)
        assert_type(stats.stages[0].throughput, float | None)
    urls.open(hooks=print)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


async def check_offload(pool: ThreadPoolExecutor) -> None:
    words = stream(["a", "bb"])
    assert_type(words.pipe(map_(len, executor="process", concurrency=2)), Stream[int])
    assert_type(words.pipe(map_(len, executor=pool)), Stream[int])
    assert_type(words.pipe(filter_(str.isupper, executor="thread")), Stream[str])
    assert_type(words.pipe(flat_map(list, executor=pool)), Stream[str])
    map_(len, executor="threads")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


async def check_scale_out(pool: ThreadPoolExecutor) -> None:
    """chunksize= on the per-item operators, offload(), and streamkit.ray.RayExecutor."""
    words = stream(["a", "bb"])
    assert_type(words.pipe(map_(len, executor=pool, chunksize=256)), Stream[int])
    assert_type(words.pipe(filter_(str.isupper, executor="process", chunksize="auto")), Stream[str])
    assert_type(words.pipe(flat_map(list, executor=pool, chunksize=8)), Stream[str])
    map_(len, executor=pool, chunksize=2.5)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    sizes = offload(pipe(map_(fetch, concurrency=8), map_(size)), executor=pool, chunksize=64)
    assert_type(sizes, StreamOperator[str, int])
    assert_type(stream(["u"]).pipe(sizes), Stream[int])
    assert_type(
        words.pipe(offload(pipe(map_(fetch)), executor="process", backend="trio", ordered=False)),
        Stream[bytes],
    )
    offload(pipe(map_(fetch)), executor=pool, backend="curio")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    offload(pipe(map_(fetch)))  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    with RayExecutor(num_cpus=1) as ray_executor:
        assert_type(ray_executor.submit(len, "ab"), Future[int])
        assert_type(words.pipe(map_(len, executor=ray_executor, chunksize=16)), Stream[int])


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
    every = map_(fetch, on_error=fallback, timeout=1, retry=policy, rate_limit=(5, 1.0))
    assert_type(urls.pipe(every), Stream[bytes])
    assert_type(urls.pipe(map_(len, timeout=1, retry=policy, executor="thread")), Stream[int])
    for failure in failures:
        assert_type(failure, Failure)
        assert_type(failure.error, Exception)
    assert_type(policy.delay(1), float)
    map_(fetch, retry=3)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    Retry(on=KeyboardInterrupt)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def host(url: str) -> str:
    return url.split("/")[2]


async def links(url: str) -> list[str]:
    return [url + "/a"]


def rows() -> Iterator[tuple[int, str]]:
    yield (1, "a")


async def check_flow(urls: Stream[str]) -> None:
    keyed = urls.pipe(map_(fetch, concurrency=8, key=host, per_key=2, ordered="key"))
    assert_type(keyed, Stream[bytes])
    kept = urls.pipe(filter_(bool, concurrency=4, key=host, per_key=1))
    assert_type(kept, Stream[str])
    assert_type(urls.pipe(buffer(10, priority=len)), Stream[str])
    crawled = urls.pipe(expand(links, concurrency=4, max_depth=3, key=host, per_key=2))
    assert_type(crawled, Stream[str])
    assert_type(expand(links, max_frontier=100), StreamOperator[str, str])
    assert_type(stream(rows(), executor="thread"), Stream[tuple[int, str]])
    async with crawled.open() as pages:
        statistics = pages.statistics().stages[0]
        assert_type(statistics.keys_active, int | None)


def check_open_sync(numbers: Stream[int]) -> None:
    with numbers.open_sync(backend="trio") as items:
        assert_type(items, SyncPipeline[int])
        for item in items:
            assert_type(item, int)
        assert_type(items.statistics(), PipelineStatistics)
