"""Module-level functions for offload tests: worker processes import them by name."""

from __future__ import annotations

import os
import time
from pathlib import Path


def square(x: int) -> int:
    return x * x


def is_odd(x: int) -> bool:
    return x % 2 == 1


def repeat(x: int) -> list[int]:
    return [x] * (x % 3)


class WorkError(Exception):
    """Raised by :func:`fail_on_3`; its ``args`` compare equal across processes."""


def fail_on_3(x: int) -> int:
    if x == 3:
        raise WorkError("no threes", x)
    return x


def report_pid_then_sleep(fifo: str) -> None:
    """Write this process's id to the named pipe ``fifo``, then sleep longer than any test."""
    Path(fifo).write_text(str(os.getpid()))
    time.sleep(120)


def fail_on_multiples_of_7(x: int) -> int:
    """``x``, except that multiples of 7 (0 included) raise :class:`WorkError`."""
    if x % 7 == 0:
        raise WorkError("a multiple of 7", x)
    return x


def sleep_if_negative(x: float) -> float:
    """Sleeps ``-x`` seconds for a negative ``x`` (a slow call), else returns at once."""
    if x < 0:
        time.sleep(-x)
    return x


def wait_for_file(path: str) -> str:
    """Blocks until the file ``path`` exists (a gate that works across processes)."""
    while not os.path.exists(path):
        time.sleep(0.01)
    return path


def pid_then_sleep(path: str) -> None:
    """Writes this process's id to ``path``, then sleeps longer than any test."""
    Path(path + ".tmp").write_text(str(os.getpid()))
    os.replace(path + ".tmp", path)
    time.sleep(120)


def die_once(marker: str, x: int) -> int:
    """Kills its own worker process the first time it sees item 5 (``marker`` records that it
    did), so that the task is lost with its worker; ``x`` otherwise."""
    if x == 5 and not os.path.exists(marker):
        Path(marker).write_text("died")
        os._exit(1)
    return x


async def add_one_slowly(x: int) -> int:
    """An async function for sub-pipelines: ``x + 1`` after a short sleep."""
    import anyio

    await anyio.sleep(0.001)
    return x + 1


def event_loop_name(x: int) -> str:
    """The async library running the calling code (called from a sub-pipeline's map_)."""
    import sniffio

    return sniffio.current_async_library()


def make_lock(x: object) -> object:
    """A result that cannot be pickled, so a process pool fails the whole task."""
    import threading

    return threading.Lock()


def fail_once_on_5(marker: str, x: int) -> int:
    """Raises :class:`WorkError` the first time it sees item 5 (``marker`` records that)."""
    if x == 5 and not os.path.exists(marker):
        Path(marker).write_text("failed")
        raise WorkError("once", x)
    return x
