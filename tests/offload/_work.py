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
