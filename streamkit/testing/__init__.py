"""Helpers for testing code that uses streamkit, like :mod:`trio.testing`."""

from __future__ import annotations

from ._sources import TrackedSource as TrackedSource

__all__ = ("TrackedSource",)

TrackedSource.__module__ = __name__
