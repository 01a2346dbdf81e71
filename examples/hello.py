"""The short example shown in the README and on the docs' front page.

Run it with ``python examples/hello.py``; it prints ``[0, 9, 36, 81, 144]``.
"""

from __future__ import annotations

import anyio

from streamkit import filter_, map_, stream, take


async def fetch(n: int) -> int:
    await anyio.sleep(0.1)  # stands in for a network call
    return n * n


async def main() -> None:
    squares = (
        stream(range(1000))
        .pipe(filter_(lambda n: n % 3 == 0))  # a lambda: its own .pipe, for mypy (docs/typing)
        .pipe(
            map_(fetch, concurrency=16),  # at most 16 calls at once, results in input order
            take(5),  # then stop: calls in flight are cancelled, the source is closed
        )
    )
    print(await squares.collect())


if __name__ == "__main__":
    anyio.run(main)
