"""Built-in operators: named, validated descriptions of one stage; and :func:`pipe`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, TypeVar, cast, overload

from ._diagram import Node
from ._options import OnError, show
from ._runtime._build import Build, Built, describe_operator
from ._runtime._fused import Fused, Step
from ._runtime._run import current_run
from ._runtime._stage import Stage
from ._types import T1, T2, T3, T4, T5, T6, T7, Operator, T, U

F = TypeVar("F", bound=Callable[..., Any])
Apply = Callable[[AsyncIterator[T], Stage], AsyncIterator[U]]


class StreamOperator(Operator[T, U], Built):
    """A streamkit operator: call it on an async iterable to get the transformed iterator.

    Within a pipeline each call registers a stage with the run, which names the operator in
    error notes and counts skipped failures in ``statistics()``.
    """

    __slots__ = ("_apply", "details", "label", "on_error", "recipe", "step")

    def __init__(
        self,
        apply: Apply[T, U] | Step,
        *,
        on_error: OnError = "raise",
        details: tuple[str, ...] = (),
    ) -> None:
        """``apply`` builds the stage's output from its input; or it is the :class:`Step` of a
        sequential per-item operator, which the build fuses with its neighbours."""
        if isinstance(apply, Step):
            step = apply
            self.step: Step | None = step
            self._apply: Apply[T, U] = lambda source, stage: Fused(
                source, (step,), (stage,), sync=False
            )
        else:
            self.step = None
            self._apply = apply
        self.on_error: OnError = on_error
        self.label: str = "operator"
        self.details: tuple[str, ...] = details
        """Facts shown under the label in :meth:`Stream.to_mermaid`."""
        self.recipe: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = None
        """The factory call that made this operator (set by :func:`labelled`): what it pickles
        as, so that :func:`offload` can send it to another process to be made again there."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[U]:
        """Called directly (by a user's own operator, say): built in the current run, if
        any."""
        return Build(current_run()).operator(self, source)

    def _build(self, upstream: AsyncIterator[Any], build: Build) -> AsyncIterator[Any]:
        stage = build.stage(self.label, self.on_error)
        return build.observe(self._apply(upstream, stage), stage)

    def __repr__(self) -> str:
        return self.label

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        if self.recipe is None:
            raise TypeError(
                f"{self.label} cannot be pickled: only operators made by streamkit's operator "
                "functions (map_(...), take(...)) are sent to other processes"
            )
        return (_remake, self.recipe)

    def diagram_node(self) -> Node:
        """How this operator is drawn by :meth:`Stream.to_mermaid`."""
        return Node(self.label, self.details)


FACTORIES: dict[object, str] = {}
"""Every public operator factory, with an example call (for the error of passing it uncalled)."""

_EXAMPLE_ARGUMENTS = {"n": "5", "size": "10", "count": "10", "seconds": "1.0", "start": "0"}


def register_factory(make: F) -> F:
    """Register ``make`` as an operator factory (see :func:`check_operator`)."""
    required = [
        _EXAMPLE_ARGUMENTS.get(param.name, param.name)
        for param in inspect.signature(make).parameters.values()
        if param.default is param.empty and param.kind in _BY_POSITION
    ]
    FACTORIES[make] = f"{make.__name__}({', '.join(required)})"
    return make


def check_operator(operator: object) -> None:
    """Refuse what cannot be an operator, saying what to pass instead: a factory passed
    without calling it (``take`` for ``take(5)``), or anything not callable."""
    example = FACTORIES.get(operator) if callable(operator) else None
    if example is not None:
        name = getattr(operator, "__name__", "")
        raise TypeError(f"{name} is an operator factory: call it, e.g. {example}")
    if not callable(operator):
        raise TypeError(
            f"pipe() takes operators (callables such as map_(fn) or an async generator "
            f"function), got {operator!r}"
        )


def labelled(factory: F) -> F:
    """Name what ``factory`` makes after the call that made it, as written (arguments given by
    position shown by position), leaving out options given their default value:
    ``map_(fetch, concurrency=16)``."""
    signature = inspect.signature(factory)

    @functools.wraps(factory)
    def make(*args: Any, **kwargs: Any) -> StreamOperator[Any, Any]:
        operator: StreamOperator[Any, Any] = factory(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        shown: list[str] = []
        for position, (name, value) in enumerate(bound.arguments.items()):
            param = signature.parameters[name]
            if param.kind is param.VAR_POSITIONAL:
                shown.extend(map(show, value))
            elif position < len(args) and param.kind in _BY_POSITION:
                shown.append(show(value))
            elif param.default is not param.empty and (
                value is param.default or value == param.default
            ):
                continue
            else:
                shown.append(f"{name}={show(value)}")
        operator.label = f"{factory.__name__}({', '.join(shown)})"
        operator.recipe = (make, args, kwargs)
        return operator

    return register_factory(cast(F, make))


def _remake(factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """An operator made again from its recipe (see :attr:`StreamOperator.recipe`)."""
    return factory(*args, **kwargs)


_BY_POSITION = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Pipe(Operator[T, U], Built):
    """Several operators composed into one; made by :func:`pipe`."""

    __slots__ = ("operators",)

    def __init__(self, operators: tuple[Operator[Any, Any], ...]) -> None:
        self.operators: tuple[Operator[Any, Any], ...] = operators

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[U]:
        return Build(current_run()).operator(self, source)

    def _build(self, upstream: AsyncIterator[Any], build: Build) -> AsyncIterator[Any]:
        for operator in self.operators:
            upstream = build.operator(operator, upstream)
        return upstream

    def __repr__(self) -> str:
        return f"pipe({', '.join(map(describe_operator, self.operators))})"


@overload
def pipe(op1: Operator[T, T1], /) -> Pipe[T, T1]: ...
@overload
def pipe(op1: Operator[T, T1], op2: Operator[T1, T2], /) -> Pipe[T, T2]: ...
@overload
def pipe(op1: Operator[T, T1], op2: Operator[T1, T2], op3: Operator[T2, T3], /) -> Pipe[T, T3]: ...
@overload
def pipe(
    op1: Operator[T, T1], op2: Operator[T1, T2], op3: Operator[T2, T3], op4: Operator[T3, T4], /
) -> Pipe[T, T4]: ...
@overload
def pipe(
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    op4: Operator[T3, T4],
    op5: Operator[T4, T5],
    /,
) -> Pipe[T, T5]: ...
@overload
def pipe(
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    op4: Operator[T3, T4],
    op5: Operator[T4, T5],
    op6: Operator[T5, T6],
    /,
) -> Pipe[T, T6]: ...
@overload
def pipe(
    op1: Operator[T, T1],
    op2: Operator[T1, T2],
    op3: Operator[T2, T3],
    op4: Operator[T3, T4],
    op5: Operator[T4, T5],
    op6: Operator[T5, T6],
    op7: Operator[T6, T7],
    /,
) -> Pipe[T, T7]: ...
@overload
def pipe(  # more than 7: typed Any, on purpose (the overloads above stop at 7)
    op1: Operator[Any, Any],
    op2: Operator[Any, Any],
    op3: Operator[Any, Any],
    op4: Operator[Any, Any],
    op5: Operator[Any, Any],
    op6: Operator[Any, Any],
    op7: Operator[Any, Any],
    op8: Operator[Any, Any],
    /,
    *more: Operator[Any, Any],
) -> Pipe[Any, Any]: ...
def pipe(*operators: Operator[Any, Any]) -> Pipe[Any, Any]:
    """Compose operators into one reusable operator.

    Example::

        clean = pipe(map_(str.strip), filter_(bool))
        lines = await stream(raw).pipe(clean, take(10)).collect()
    """
    for operator in operators:
        check_operator(operator)
    flat: list[Operator[Any, Any]] = []
    for operator in operators:
        flat.extend(operator.operators if isinstance(operator, Pipe) else (operator,))
    return Pipe(tuple(flat))
