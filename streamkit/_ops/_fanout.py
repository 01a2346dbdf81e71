"""Fan-out operators: send each item to one or several sub-pipelines (*branches*) and merge
their outputs back into the stream.

``broadcast``, ``partition``, ``route``. A branch is any operator (``map_(f)``,
``pipe(filter_(p), batch(10))``, an async generator function). Each branch reads its items
from a queue of at most ``buffer`` items and runs in its own task; when a branch's queue is
full, the upstream waits. Outputs are merged in the order they are produced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

from .._operator import StreamOperator, labelled, register_factory
from .._options import check_callable, check_int
from .._runtime._fanout import Choose, Fanout
from .._runtime._stage import Stage
from .._types import MYPY, Operator, T, U
from ._each import call

K = TypeVar("K")

DEFAULT_BUFFER = 16
"""Items each branch's queue holds by default."""


@labelled
@register_factory
def broadcast(*branches: Operator[T, U], buffer: int = DEFAULT_BUFFER) -> StreamOperator[T, U]:
    """Send every item to each branch and merge what the branches emit.

    Each branch is an operator (``pipe(...)`` for several) run in its own task, reading from a
    queue of at most ``buffer`` items: when a branch's queue is full the upstream waits for it,
    so a slow branch slows the others down (memory stays bounded) but never deadlocks them. A
    branch that ends early (``take``) gets no more items; the upstream stops once every branch
    has ended. Outputs are merged in completion order; tag them at the end of each branch
    (``map_(lambda y: ("sum", y))``) to tell them apart. ``statistics()`` lists each branch's
    queue as a stage named ``<operator> branch <i>``.

    Args:
        branches: the operators each item goes through, one sub-pipeline per branch.
        buffer: the most items waiting in one branch's queue; the merged output holds at most
            ``buffer`` times the number of branches results.

    Example::

        both = await stream(range(3)).pipe(
            broadcast(map_(lambda x: x * 10), filter_(lambda x: x % 2))
        ).collect()
        assert sorted(both) == [0, 1, 10, 20]
    """
    return _fan_out("broadcast", branches, [str(i) for i in range(len(branches))], buffer, None)


@labelled
@register_factory
def partition(
    pred: Callable[[T], object],
    if_true: Operator[T, U],
    if_false: Operator[T, U],
    *,
    buffer: int = DEFAULT_BUFFER,
) -> StreamOperator[T, U]:
    """Send the items for which ``pred`` (sync or async) is true to ``if_true``, the others to
    ``if_false``, and merge what the two branches emit.

    Branches and ``buffer`` as for :func:`broadcast`; :func:`pipe` with no operators passes
    items through unchanged.

    Example::

        out = await stream(range(6)).pipe(
            partition(lambda x: x % 2, map_(lambda x: -x), pipe())
        ).collect()
        assert sorted(out) == [-5, -3, -1, 0, 2, 4]
    """
    check_callable("pred", pred)

    async def choose(item: Any) -> int:
        return 0 if await call(pred, item) else 1

    return _fan_out("partition", (if_true, if_false), ["if_true", "if_false"], buffer, choose)


if MYPY:  # mypy reads these overloads; pyright and the runtime the def below (_types.MYPY)

    @overload
    def route(
        key: Callable[[T], Awaitable[K]],
        branches: Mapping[K, Operator[T, U]],
        *,
        default: Operator[T, U] | None = None,
        buffer: int = DEFAULT_BUFFER,
    ) -> StreamOperator[T, U]: ...
    @overload
    def route(
        key: Callable[[T], K],
        branches: Mapping[K, Operator[T, U]],
        *,
        default: Operator[T, U] | None = None,
        buffer: int = DEFAULT_BUFFER,
    ) -> StreamOperator[T, U]: ...
    def route(*args: Any, **kwargs: Any) -> Any:  # pyright: ignore[reportRedeclaration]
        raise NotImplementedError

else:

    @labelled
    def route(
        key: Callable[[T], Awaitable[K]] | Callable[[T], K],
        branches: Mapping[K, Operator[T, U]],
        *,
        default: Operator[T, U] | None = None,
        buffer: int = DEFAULT_BUFFER,
    ) -> StreamOperator[T, U]:
        """Send each item to the branch that ``key(item)`` (sync or async) names, and merge what
        the branches emit.

        An item whose key has no branch goes to ``default``; without a ``default`` it stops the
        pipeline with a :exc:`KeyError`. Branches and ``buffer`` as for :func:`broadcast`. For
        mypy, annotate a mapping that mixes ``take(n)`` with typed operators (see the Fan-out
        section of the operators page).

        Example::

            out = await stream(["a1", "b2", "a3"]).pipe(
                route(lambda s: s[0], {"a": map_(str.upper), "b": map_(len)})
            ).collect()
            assert sorted(out, key=str) == [2, "A1", "A3"]
        """
        check_callable("key", key)
        if not isinstance(branches, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"branches must be a mapping of key to operator, got {type(branches).__name__}"
            )
        index = {branch_key: i for i, branch_key in enumerate(branches)}
        operators = list(branches.values())
        names = [repr(branch_key) for branch_key in branches]
        fallback: int | None = None
        if default is not None:
            fallback = len(operators)
            operators.append(default)
            names.append("default")

        async def choose(item: Any) -> int:
            item_key = await call(key, item)
            chosen = index.get(item_key, fallback)
            if chosen is None:
                raise KeyError(f"route() has no branch for key {item_key!r} and no default branch")
            return chosen

        return _fan_out("route", operators, names, buffer, choose)


def _fan_out(
    name: str,
    branches: Sequence[Operator[Any, Any]],
    names: Sequence[str],
    buffer: int,
    choose: Choose[Any] | None,
) -> StreamOperator[Any, Any]:
    """The operator running ``branches`` on a :class:`Fanout`; checks what they share."""
    check_int("buffer", buffer, minimum=1)
    if not branches:
        raise ValueError(f"{name}() needs at least one branch (an operator), got none")
    for branch in branches:
        if not callable(branch):
            raise TypeError(
                f"{name}() branches must be operators (callables such as map_(fn), pipe(...) "
                f"or an async generator function), got {branch!r}"
            )

    def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        run = stage.build.require_run(stage)
        return Fanout(source, branches, names, stage, run, buffer=buffer, choose=choose)

    return StreamOperator(apply)
