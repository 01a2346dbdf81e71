"""Batch inference: requests arrive one by one; the model is called with batches.

A model served on an accelerator answers a batch of 8 about as fast as a single request, so
grouping requests pays off, but a lone request must not wait for seven others that may never
come. ``batch(8, timeout=0.05)`` gives both: a batch goes to the model as soon as it is full,
or once its oldest request has waited 50 ms. ``map_(infer, concurrency=2)`` keeps two batches
in flight, and ``flatten`` turns the answers back into one stream, in request order.

The requests here come as a burst of 32, then three stragglers 0.2 s apart.

Run it with ``python examples/ml_batch.py`` (asyncio) or
``python examples/ml_batch.py --backend trio``.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import anyio

from streamkit import batch, flatten, map_, stream

batch_sizes: list[int] = []


async def requests() -> AsyncIterator[str]:
    """Incoming requests: a burst, then a trickle."""
    for n in range(32):
        yield f"request {n}"
    for n in range(32, 35):
        await anyio.sleep(0.2)
        yield f"request {n}"


async def infer(inputs: list[str]) -> list[str]:
    """A fake model: one call per batch, 30 ms whatever the batch size."""
    batch_sizes.append(len(inputs))
    await anyio.sleep(0.03)
    return [f"label({text.split()[1]})" for text in inputs]


async def main() -> None:
    start = anyio.current_time()
    labels = (
        await stream(requests())
        .pipe(
            batch(8, timeout=0.05),  # full batches at once; a partial one after 50 ms
            map_(infer, concurrency=2),  # two batches in flight
            flatten(),
        )
        .collect()
    )
    elapsed = anyio.current_time() - start
    print(
        f"answered {len(labels)} requests in order: {labels == [f'label({n})' for n in range(35)]}"
    )
    print(f"batch sizes: {batch_sizes}")
    print(f"model calls: {len(batch_sizes)} instead of {len(labels)} ({elapsed:.2f} s)")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit batch inference")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
