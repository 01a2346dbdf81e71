"""Graceful stop: on SIGTERM or SIGINT, pull no more input, finish what was pulled, exit 0.

``Pipeline.stop_intake()`` closes the source; the items already taken are processed and
delivered, then the ``async for`` ends normally. Run it with
``python examples/graceful_stop.py --backend trio`` and press Ctrl-C (or ``kill -TERM``).
"""

from __future__ import annotations

import argparse
import signal

import anyio

from streamkit import Pipeline, map_, stream


async def handle(n: int) -> int:
    await anyio.sleep(0.01)  # stands in for real work
    return n


async def stop_on_signal(results: Pipeline[int]) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        print("ready", flush=True)  # the signals are ours from here on
        async for signum in signals:
            print(f"got {signal.Signals(signum).name}: stopping intake", flush=True)
            results.stop_intake()
            return


async def main() -> None:
    done = 0
    async with anyio.create_task_group() as tg:
        async with stream.count().pipe(map_(handle, concurrency=4)).open() as results:
            tg.start_soon(stop_on_signal, results)
            async for _ in results:
                done += 1
        tg.cancel_scope.cancel()
    print(f"stopped cleanly after {done} items", flush=True)


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
