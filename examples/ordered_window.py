"""Ordered results without head-of-line blocking: a slow item does not stall the others.

With ``concurrency=4`` and ``ordered=True``, item 0 takes 0.3 s and every other item 0.02 s.
While item 0 runs, the other workers keep taking new items, up to the reorder ``window``; their
results wait, in order, until item 0 is done. A small ``window`` bounds that memory and so
limits how far ahead the workers may run. ``ordered=False`` yields in completion order.

Run it with ``python examples/ordered_window.py`` (add ``--backend trio`` for trio).
"""

from __future__ import annotations

import argparse

import anyio

from streamkit import map_, stream


async def demo(title: str, *, ordered: bool = True, window: int | None = None) -> None:
    start = anyio.current_time()
    started_while_slow: list[int] = []
    slow_running = False

    async def work(item: int) -> int:
        nonlocal slow_running
        if item == 0:
            slow_running = True
            await anyio.sleep(0.3)
            slow_running = False
        else:
            if slow_running:
                started_while_slow.append(item)
            await anyio.sleep(0.02)
        return item

    pipeline = stream(range(20)).pipe(map_(work, concurrency=4, ordered=ordered, window=window))
    async with pipeline.open() as results:
        order = [item async for item in results]
        peak = results.statistics().stages[0].peak_held
    elapsed = anyio.current_time() - start
    print(f"{title}")
    print(f"  output order:  {order}")
    print(f"  items started while item 0 ran: {len(started_while_slow)}")
    print(f"  at most {peak} inputs held at once; all 20 done in {elapsed:.2f} s")


async def main() -> None:
    await demo("ordered=True, default window (64)")
    await demo("ordered=True, window=4: the bound stops workers running far ahead", window=4)
    await demo("ordered=False: completion order, the slow item comes last", ordered=False)


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit ordered window example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
