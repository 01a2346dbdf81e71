"""Virtual time: run code that sleeps without waiting, on trio's MockClock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import trio.testing

from .._types import T


def virtual_time_backend() -> tuple[str, dict[str, Any]]:
    """An ``anyio_backend`` value for trio with a clock that jumps ahead whenever all tasks
    sleep, so an hour of ``anyio.sleep`` passes in milliseconds.

    Example::

        @pytest.fixture
        def anyio_backend() -> tuple[str, dict[str, Any]]:
            return virtual_time_backend()
    """
    return "trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}


def run_in_virtual_time(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``fn(*args)`` to completion on trio in virtual time and return its result.

    Example::

        async def ticks() -> list[int]:
            return await stream.interval(3600).pipe(take(24)).collect()

        assert run_in_virtual_time(ticks) == list(range(24))  # a virtual day, no real wait
    """
    backend, options = virtual_time_backend()

    async def main() -> T:
        return await fn(*args)

    return anyio.run(main, backend=backend, backend_options=options)
