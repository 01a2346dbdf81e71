"""Quickstart: a concurrent pipeline over a fake network call, collected and then iterated.

Run it with ``python examples/quickstart.py`` (asyncio) or
``python examples/quickstart.py --backend trio``. It takes well under a second.
"""

from __future__ import annotations

import argparse

import anyio

from streamkit import batch, filter_, map_, open_pipeline, stream, take


async def fetch(page: int) -> dict[str, int]:
    """Pretend to download ``page``: 50 ms of waiting, then a small result."""
    await anyio.sleep(0.05)
    return {"page": page, "words": page * 37 % 100}


def is_long(result: dict[str, int]) -> bool:
    return result["words"] >= 50


async def main() -> None:
    start = anyio.current_time()

    # 1. Describe a pipeline. Nothing runs yet: a Stream is a lazy description.
    long_pages = stream(range(1_000)).pipe(
        map_(fetch, concurrency=10),  # at most 10 fetches at once, results in input order
        filter_(is_long),
        take(5),  # then stop: calls in flight are cancelled and the source is closed
    )
    print("pipeline:", long_pages)

    # 2. Run it. collect() returns every item in a list.
    found = await long_pages.collect()
    elapsed = anyio.current_time() - start
    print(f"first 5 long pages: {[r['page'] for r in found]} ({elapsed:.2f} s)")

    # 3. Iterate a running pipeline: the stages run for the duration of the block.
    async with open_pipeline(range(12), map_(fetch, concurrency=4), batch(5)) as batches:
        async for group in batches:
            print(f"batch of {len(group)}: pages {[r['page'] for r in group]}")
    print("done")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit quickstart")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
