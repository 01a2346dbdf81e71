"""Helpers for testing code that uses streamkit, like :mod:`trio.testing`."""

from __future__ import annotations

from ._clock import run_in_virtual_time as run_in_virtual_time
from ._clock import virtual_time_backend as virtual_time_backend
from ._leaks import assert_no_leaked_tasks as assert_no_leaked_tasks
from ._sources import TrackedSource as TrackedSource

__all__ = (
    "TrackedSource",
    "assert_no_leaked_tasks",
    "run_in_virtual_time",
    "virtual_time_backend",
)


def _show_public_module() -> None:
    namespace = globals()
    for name in __all__:
        namespace[name].__module__ = __name__


_show_public_module()
del _show_public_module
