"""Files: read a folder of text files, analyse them in worker processes, write a summary.

Reading a file is I/O: ``anyio.Path`` reads it in a worker thread, and ``map_(read,
concurrency=4)`` keeps four reads going. Counting words is pure-Python CPU work, which would
block the event loop and hold the GIL: ``executor="process"`` runs it in two worker
processes, on two cores. ``batch(5)`` groups the results so the summary file is opened once per
five files, not once per file. Results stay in file order all the way.

The files are generated into a temporary folder, with fixed contents, so the output is the same
on every run.

Run it with ``python examples/files.py`` (asyncio) or ``python examples/files.py --backend trio``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
from collections import Counter

import anyio

from streamkit import batch, map_, stream

WORDS = ["async", "await", "stream", "pipeline", "task", "group", "cancel", "scope", "batch"]


async def write_corpus(folder: anyio.Path, count: int) -> list[anyio.Path]:
    """``count`` text files of random words, the same words on every run."""
    paths: list[anyio.Path] = []
    for n in range(count):
        rng = random.Random(n)
        vocabulary = rng.sample(WORDS, k=3 + n % 6)
        lines = (" ".join(rng.choices(vocabulary, k=10)) for _ in range(40 + 10 * n))
        path = folder / f"file-{n:02}.txt"
        await path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


# What analyse finds in a file: its name, words, distinct words, most common word and a
# checksum. Builtins only: a class defined in this script could not be unpickled back here.
Stats = tuple[str, int, int, str, str]


async def read(path: anyio.Path) -> tuple[str, str]:
    """The file's name and text (anyio runs the blocking read in a worker thread)."""
    return path.name, await path.read_text()


def analyse(named_text: tuple[str, str]) -> Stats:
    """Pure-Python CPU work, run in a worker process: word counts and a checksum."""
    name, text = named_text
    counts = Counter(text.split())
    [(top, _)] = counts.most_common(1)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return name, counts.total(), len(counts), top, digest


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = anyio.Path(tmp)
        paths = await write_corpus(folder, 12)
        summary = folder / "summary.txt"

        async def write_summary(stats: list[Stats]) -> int:
            """Append one line per file to the summary; one open per batch."""
            async with await anyio.open_file(summary, "a") as out:
                for name, words, distinct, top, digest in stats:
                    line = f"{name}: {words} words, {distinct} distinct, top {top!r}, {digest}"
                    await out.write(line + "\n")
            return len(stats)

        pipeline = stream(paths).pipe(
            map_(read, concurrency=4),  # four reads at once, in threads
            map_(analyse, executor="process", concurrency=2),  # two worker processes
            batch(5),  # five results per write
            map_(write_summary),
        )
        print(f"pipeline: {pipeline!r}")
        written = await pipeline.collect()
        print(f"lines written per batch: {written}")
        print(f"{summary.name}:")
        print(await summary.read_text(), end="")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit file processing")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


# Worker processes import this module to find analyse: the guard keeps them from running the
# pipeline themselves.
if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
