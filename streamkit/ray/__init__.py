"""Ray as an executor: :class:`RayExecutor`, a :class:`concurrent.futures.Executor` whose calls
run as Ray tasks (the optional extra ``streamkit-anyio[ray]``).

``import streamkit`` does not import Ray; ``import streamkit.ray`` does.

Example::

    import ray
    from streamkit.ray import RayExecutor

    ray.init()
    scores = await stream(docs).pipe(
        map_(score, executor=RayExecutor(num_cpus=1), chunksize=256, concurrency=8)
    ).collect()
"""

from __future__ import annotations

from ._executor import RayExecutor as RayExecutor

__all__ = ("RayExecutor",)

RayExecutor.__module__ = __name__
