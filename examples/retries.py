"""Retries, timeouts and failed items: flaky calls are retried, slow ones cut short, and every
input ends up as a result or a recorded failure.

Run it with ``python examples/retries.py`` (add ``--backend trio`` for trio).
"""

from __future__ import annotations

import argparse
import random

import anyio

from streamkit import Failures, Retry, RetryAttempt, map_, stream

URLS = [f"https://example.org/{i}" for i in range(8)]
tries: dict[str, int] = {}


async def fetch(url: str) -> str:
    """A flaky service: page 3 fails twice before it answers, page 5 hangs, page 6 is gone."""
    tries[url] = tries.get(url, 0) + 1
    await anyio.sleep(0.01)
    if url.endswith("/3") and tries[url] <= 2:
        raise ConnectionError(f"connection reset fetching {url}")
    if url.endswith("/5"):
        await anyio.sleep_forever()
    if url.endswith("/6"):
        raise LookupError(f"404 for {url}")
    return f"<page {url[-1]}>"


def log_retry(attempt: RetryAttempt) -> None:
    print(f"  retry {attempt.item} after attempt {attempt.attempt}: {attempt.error!r}")


async def main() -> None:
    failures = Failures()
    policy = Retry(
        (ConnectionError, TimeoutError),
        attempts=3,
        backoff=0.01,
        random=random.Random(1).random,  # seeded jitter: the same waits on every run
        on_retry=log_retry,
    )
    fetch_all = map_(fetch, concurrency=4, timeout=0.2, retry=policy, on_error=failures)
    async with stream(URLS).pipe(fetch_all).open() as pages:
        got = [page async for page in pages]
    stats = pages.statistics()
    print(f"pages: {got}")
    for failure in failures:
        print(f"failed: {failure.item} {type(failure.error).__name__}")
    print(f"retries {stats.retries}, failed {stats.failed}")
    print(f"accounted for: {len(got) + failures.count} of {len(URLS)}")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit retries example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
