"""One pipeline per shard, on workers, with one set of statistics: offload() with chunksize=1.

Each shard (a file, a key range, a partition) is read by the worker that processes it, its rows
go through an async enrich step with concurrency and are written to an idempotent sink (a file
per batch, named by its first row: writing it again gives the same file). The caller sends only
shard numbers, gets back one shard number per finished shard, and records it in a Ledger, so a
run stopped at any point and started again does only the shards not yet done.

Run it with ``python examples/sharded.py`` (add ``--backend trio`` for trio). Here the workers
are a ProcessPoolExecutor; a dask ``client.get_executor()`` or a ``streamkit.ray.RayExecutor``
takes its place unchanged.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import anyio

from streamkit import Ledger, batch, flat_map, last, map_, offload, pipe, stream

ROWS_PER_SHARD = 100


def read_shard(shard: int) -> list[tuple[int, int]]:
    """The rows of one shard, read where the shard is processed: (shard, n)."""
    first = shard * ROWS_PER_SHARD
    return [(shard, n) for n in range(first, first + ROWS_PER_SHARD)]


async def enrich(row: tuple[int, int]) -> tuple[int, int, int]:
    """A simulated request per row (1 ms)."""
    await anyio.sleep(0.001)
    shard, n = row
    return shard, n, n * n


def write_batch(out: Path, rows: list[tuple[int, int, int]]) -> int:
    """Write a batch of one shard's rows to a file named by its first row; the shard's number."""
    shard, first, _ = rows[0]
    lines = "".join(f"{n},{square}\n" for _, n, square in rows)
    (out / f"shard-{shard}-{first}.csv").write_text(lines)
    return shard


def shard_key(shard: int) -> str:
    """How the ledger records a shard."""
    return str(shard)


async def run_job(workdir: Path, executor: ProcessPoolExecutor) -> None:
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    # What runs on the workers: one shard per chunk, its last output is the shard's number.
    per_shard = pipe(
        flat_map(read_shard),
        map_(enrich, concurrency=16),
        batch(40),
        map_(partial(write_batch, out)),
        last(),
    )
    async with Ledger(workdir / "shards.sqlite") as ledger:
        job = stream(range(6)).pipe(
            ledger.skip_done(key=shard_key),
            offload(per_shard, executor=executor, chunksize=1, concurrency=2),
            ledger.mark_done(key=shard_key),
        )
        async with job.open() as shards:
            done = [shard async for shard in shards]
    print(f"shards done: {sorted(done)}")
    for stage in shards.statistics().stages:  # the offload stage, then its sub-pipeline's
        where = " on the workers" if stage.operator.endswith("(offloaded)") else ""
        name = stage.operator.split("(", 1)[0]
        print(f"  {name}{where}: {stage.items_in} in, {stage.items_out} out")
    print(f"files written: {len(list(out.iterdir()))}")


async def main() -> None:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(2, mp_context=context) as pool:
        print("first run:")
        await run_job(Path(tmp), pool)
        print("second run (the ledger has every shard):")
        await run_job(Path(tmp), pool)


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit sharded offload example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


# Worker processes import this module to find its functions: the guard keeps them from running
# the job themselves.
if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
