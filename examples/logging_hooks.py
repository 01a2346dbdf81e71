"""Hooks: log what a pipeline does with the standard logging module, then read its statistics.

Run it with ``python examples/logging_hooks.py`` (add ``--backend trio`` for trio).
"""

from __future__ import annotations

import argparse
import logging
import sys

import anyio

from streamkit import Hooks, PipelineStatistics, StageStatistics, map_, stream

log = logging.getLogger("pipeline")


class LoggingHooks(Hooks):
    """Log the run, each stage's end and every failure; items only at DEBUG level."""

    def run_started(self, pipeline: str) -> None:
        log.info("run started: %s", pipeline)

    def stage_finished(self, stage: StageStatistics) -> None:
        log.info("%s finished: %s in, %s out", stage.operator, stage.items_in, stage.items_out)

    def item_emitted(self, stage: str, item: object) -> None:
        log.debug("%s emitted %r", stage, item)

    def error(self, stage: str, exc: Exception, index: int, item: object, *, skipped: bool) -> None:
        action = "skipped" if skipped else "stopping"
        log.warning("%s failed on item %d (%r): %r, %s", stage, index, item, exc, action)

    def run_finished(self, statistics: PipelineStatistics, error: BaseException | None) -> None:
        log.info("run finished (error: %r); %s", error, statistics.bottleneck_hint())


async def parse(record: str) -> int:
    await anyio.sleep(0.001)  # as if parsing needed a little I/O
    return int(record)


async def main() -> None:
    records = ["1", "2", "three", "4", "five", "6"]
    s = stream(records).pipe(map_(parse, concurrency=2, on_error="skip"), map_(lambda n: n * 10))
    numbers = await s.collect(hooks=LoggingHooks())
    print(f"numbers: {numbers}")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit logging hooks example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(message)s")
    anyio.run(main, backend=parse_backend())
