"""A job killed from outside by tests/jobs/test_resume.py: each item it handles is appended to
a log (the sink), then marked done in the ledger. Args: ledger path, log path, count, backend."""

from __future__ import annotations

import sys
from typing import TextIO

import anyio

from streamkit import Ledger, map_, stream


async def main(ledger_path: str, log: TextIO, count: int) -> None:
    ledger = Ledger(ledger_path, batch_size=16)

    async def work(n: int) -> int:
        await anyio.sleep(0.0005)
        return n

    def sink(n: int) -> int:
        log.write(f"{n}\n")
        return n

    await (
        stream(range(count))
        .pipe(
            ledger.skip_done(key=int),
            map_(work, concurrency=4),
            map_(sink),
            ledger.mark_done(key=int),
        )
        .drain()
    )


if __name__ == "__main__":
    with open(sys.argv[2], "a", buffering=1) as log_file:  # line-buffered: a line per item
        anyio.run(main, sys.argv[1], log_file, int(sys.argv[3]), backend=sys.argv[4])
