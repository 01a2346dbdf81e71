"""The one check of whether what a user function returned must be awaited.

A function may be sync for some items and async for others (``return cache[x]`` or
``return fetch(x)``), so every result is judged, not just the first. :func:`inspect.isawaitable`
costs about 0.3 us a call; the answer for most types is a property of the type, so it is
cached by type (about 0.05 us). Generators are judged one by one: a generator-based coroutine
(``@types.coroutine``) is awaitable and a plain generator is not, with the same type.
"""

from __future__ import annotations

from inspect import isawaitable
from types import GeneratorType

_by_type: dict[type, bool] = {}


def awaitable(result: object) -> bool:
    """Whether ``result`` is awaitable.

    Example::

        result = fn(item)
        if awaitable(result):
            result = await result
    """
    kind = type(result)
    known = _by_type.get(kind)
    if known is None:
        known = isawaitable(result)
        if kind is not GeneratorType:
            _by_type[kind] = known
    return known
