from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _eager_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose tasks start eagerly (Python 3.12+): a task runs up to its first
    suspension inside ``create_task``, which changes the order tasks see each other in."""
    loop = asyncio.new_event_loop()
    loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
    return loop


BACKENDS = [
    pytest.param("asyncio", id="asyncio"),
    *(
        [pytest.param(("asyncio", {"loop_factory": _eager_loop}), id="asyncio+eager")]
        if sys.version_info >= (3, 12)
        else []
    ),
    pytest.param("trio", id="trio"),
]
"""The backend matrix, as anyio's own tests have it; ``asyncio+eager`` needs Python 3.12."""


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> str | tuple[str, dict[str, Any]]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def backend_name(anyio_backend: str | tuple[str, dict[str, Any]]) -> str:
    """The name of the backend a test runs on, ``asyncio`` or ``trio``, whatever its options."""
    return anyio_backend if isinstance(anyio_backend, str) else anyio_backend[0]
