"""The registry of the implementations compared, by the name the report uses.

Each module has ``unsupported(stages, backend) -> str | None`` (why it cannot run a workload, or
``None``) and ``async run(source, stages, consumer)`` returning the consumer's result. Modules
are imported on demand, so a measuring process loads only the library it measures.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

from _spec import Stage

MODULES = {
    "sync": "sync",
    "asyncgen": "asyncgen",
    "anyio-links": "links",
    "bare-pool": "pool",
    "streamkit": "with_streamkit",
    "aiostream": "with_aiostream",
    "asyncstdlib": "with_asyncstdlib",
}


def load(name: str) -> ModuleType:
    """The module implementing ``name``."""
    return importlib.import_module(f"impls.{MODULES[name]}")


def why_unsupported(name: str, stages: Sequence[Stage], backend: str) -> str | None:
    """Why ``name`` cannot run ``stages`` on ``backend``, or ``None`` if it can."""
    try:
        module = load(name)
    except ModuleNotFoundError as exc:
        return f"not installed ({exc.name})"
    reason: str | None = module.unsupported(stages, backend)
    return reason
