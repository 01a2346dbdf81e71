"""Offload: run CPU-bound sync work in worker processes, with executor="process".

Run it with ``python examples/offload.py`` (add ``--backend trio`` for trio).
"""

from __future__ import annotations

import argparse

import anyio

from streamkit import map_, stream


def count_primes(limit: int) -> int:
    """Pure-Python CPU work: the number of primes below ``limit``."""
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit))


async def main() -> None:
    limits = [20_000 + 1_000 * i for i in range(8)]
    # Two worker processes, so two calls run on two cores at once. count_primes, the items
    # and the results travel by pickle: a module-level function, ints in, ints out.
    counts = stream(limits).pipe(map_(count_primes, executor="process", concurrency=2))
    print(f"pipeline: {counts!r}")
    print(f"primes below each limit: {await counts.collect()}")

    # Cancelling really stops the work: the worker process running a call is killed.
    with anyio.move_on_after(0.5) as scope:
        await stream([10**9]).pipe(map_(count_primes, executor="process")).drain()
    print(f"endless computation cancelled: {scope.cancelled_caught}")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit offload example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


# Worker processes import this module to find count_primes: the guard keeps them from running
# the pipeline themselves.
if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
