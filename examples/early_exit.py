"""Early exit: take(), break and first() stop all upstream work and close the source.

``take(n)`` passes on the first n items, then at once: no further call starts, calls in flight
are cancelled and the source is closed. Leaving an ``async with ... open()`` block early, by
``break`` or an exception, does the same.

Run it with ``python examples/early_exit.py`` (add ``--backend trio`` for trio).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import anyio

from streamkit import map_, open_pipeline, stream, take


class Sensor:
    """An endless source that reports how much of it was read and when it was closed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.read = 0

    async def readings(self) -> AsyncIterator[int]:
        try:
            while True:
                await anyio.sleep(0.005)
                self.read += 1
                yield self.read
        finally:
            print(f"  [{self.name}] source closed after reading {self.read} item(s)")


class Calls:
    """Counts calls of a slow async function: started, finished and cancelled."""

    def __init__(self) -> None:
        self.started = self.finished = self.cancelled = 0

    async def check(self, reading: int) -> int:
        self.started += 1
        try:
            await anyio.sleep(0.05)
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        self.finished += 1
        return reading * 10

    def __str__(self) -> str:
        return f"{self.started} started, {self.finished} finished, {self.cancelled} cancelled"


async def main() -> None:
    print("take(3) after map_(concurrency=4) over an endless source:")
    calls = Calls()
    sensor = Sensor("take")
    first_three = (
        await stream(sensor.readings()).pipe(map_(calls.check, concurrency=4), take(3)).collect()
    )
    print(f"  got {first_three}; calls: {calls}")

    print("break out of an async with block:")
    calls = Calls()
    sensor = Sensor("break")
    async with open_pipeline(sensor.readings(), map_(calls.check, concurrency=4)) as checked:
        async for value in checked:
            if value >= 20:
                print(f"  breaking at {value}")
                break
    print(f"  calls: {calls}")

    print("first():")
    sensor = Sensor("first")
    print(f"  first reading: {await stream(sensor.readings()).first()}")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit early exit example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
