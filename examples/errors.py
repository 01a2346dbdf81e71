"""Errors: the same exception object reaches you, with a note; or skip failures and count them.

Run it with ``python examples/errors.py`` (add ``--backend trio`` for trio).
"""

from __future__ import annotations

import argparse

import anyio

from streamkit import map_, stream

RECORDS = ["1", "2", "three", "4", "five", "6"]
raised: dict[str, ValueError] = {}


async def parse(record: str) -> int:
    """Parse one record, as if it needed a little I/O first."""
    await anyio.sleep(0.01)
    try:
        return int(record)
    except ValueError as exc:
        raised[record] = exc
        raise


async def main() -> None:
    # 1. By default the first failure stops the pipeline and reaches you unwrapped: the very
    #    object that parse() raised, so `except ValueError` works, plus a PEP 678 note.
    try:
        await stream(RECORDS).pipe(map_(parse, concurrency=3)).collect()
    except ValueError as exc:
        print(f"caught {type(exc).__name__}: {exc}")
        print(f"  same object that parse() raised: {exc is raised['three']}")
        for note in exc.__notes__:
            print(f"  note: {note}")

    # 2. on_error="skip" drops the failing items, and counts them: nothing vanishes unseen.
    async with stream(RECORDS).pipe(map_(parse, on_error="skip")).open() as numbers:
        good = [n async for n in numbers]
    print(f"parsed {good}, skipped {numbers.statistics().skipped}")
    for stage in numbers.statistics().stages:
        print(f"  {stage.operator}: skipped {stage.skipped}")

    # 3. Cancellation from outside stops the pipeline promptly and is not an error.
    with anyio.move_on_after(0.05) as scope:
        await stream.count().pipe(map_(str), map_(parse, concurrency=2)).drain()
    print(f"endless pipeline cancelled from outside: {scope.cancelled_caught}")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit errors example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
