"""The build step: a stream's description turned into the running iterators of one run.

::

    Stream (source, operators)  --Build-->  parts [source, stage, stage, ...]  --Run-->  items

A :class:`Build` is the context every source and built-in operator is built in. It gives them
the run, through which each stage is made (:meth:`Build.stage`: listed in the run's statistics
or not, with the run's hooks), and the context for what they build per item (:meth:`inner`:
inner streams, branches of a per-item stream, switched-to streams). Nothing is found out by
watching shared state: each operator returns its output and its stage, and the build wraps
that output for the hooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from .._hooks import observed
from .._options import OnError, describe
from ._closing import Parts, aclose_all, close_while_failing
from ._fused import Fused, Step
from ._relay import stacked
from ._stage import Stage

if TYPE_CHECKING:
    from .._gate import Gate
    from .._source import Source
    from ._run import Run


class Built:
    """Base of what a :class:`Build` builds itself (the built-in operators): it makes its
    stages through the build instead of being called on its input."""

    __slots__ = ()

    step: Step | None = None
    """A sequential per-item operator's step: consecutive ones are fused (:mod:`._fused`)."""
    label: str = "operator"
    on_error: OnError = "raise"

    def _build(self, upstream: AsyncIterator[Any], build: Build) -> AsyncIterator[Any]:
        raise NotImplementedError


def describe_operator(operator: Callable[..., object]) -> str:
    """How an operator shows in a pipeline's repr: a built-in one as its label, any other
    callable by its name."""
    return repr(operator) if isinstance(operator, Built) else describe(operator)


class Build:
    """The context one pipeline, or one inner stream, is built in.

    ``run`` is ``None`` for an operator called directly outside any pipeline (it runs
    sequentially; one that needs tasks says so). Stages made while ``listed`` is false are
    not listed in the run's statistics, since they are made once per item; the hooks still
    see them.
    """

    __slots__ = ("_inner", "listed", "run")

    def __init__(self, run: Run | None, *, listed: bool = True) -> None:
        self.run: Run | None = run
        self.listed: bool = listed
        self._inner: Build | None = None if listed else self

    def stage(self, name: str, on_error: OnError = "raise") -> Stage:
        """A new stage of this build, listed in the run's statistics if :attr:`listed`."""
        run = self.run
        stage = Stage(name, on_error, None if run is None else run.hooks, self)
        self.add(stage)
        return stage

    def add(self, stage: Stage) -> None:
        """List ``stage`` (made elsewhere, such as a fan-out's branch input) if this build's
        stages are listed."""
        if self.listed and self.run is not None:
            self.run.stages.append(stage)

    def inner(self) -> Build:
        """The context for what is built once per item: the same run, stages not listed."""
        inner = self._inner
        if inner is None:
            inner = self._inner = Build(self.run, listed=False)
        return inner

    def require_run(self, stage: Stage) -> Run:
        """The run, for an operator that runs tasks; an error outside of any pipeline."""
        if self.run is None:
            raise RuntimeError(
                f"{stage.name} runs tasks, so it must run inside a pipeline: use "
                "stream(source).pipe(...) and consume it with collect() or open()"
            )
        return self.run

    @property
    def observing(self) -> bool:
        """Whether the run has hooks (they see every stage's items, so nothing is fused)."""
        return self.run is not None and self.run.hooks is not None

    def operator(
        self, operator: Callable[[AsyncIterable[Any]], object], upstream: AsyncIterable[Any]
    ) -> AsyncIterator[Any]:
        """The output of ``operator`` applied to ``upstream``: a built-in one is built here,
        any other callable is called, and must return an async iterator."""
        if isinstance(operator, Built):
            built = operator._build(aiter(upstream), self)  # pyright: ignore[reportPrivateUsage]
            return stacked(upstream, built, self.run)
        output = operator(upstream)
        if not isinstance(output, AsyncIterator):
            raise TypeError(
                f"operator {describe_operator(operator)} returned "
                f"{type(output).__name__}, not an async iterator; an operator takes an "
                "async iterable and returns an async iterator, like an async generator "
                "function does"
            )
        checked: AsyncIterator[Any] = output  # pyright: ignore[reportUnknownVariableType]
        return stacked(upstream, checked, self.run)

    def operators(
        self,
        operators: Sequence[Callable[[AsyncIterable[Any]], object]],
        parts: list[AsyncIterator[Any]],
        iterable: Iterable[Any] | None = None,
    ) -> None:
        """Append to ``parts`` the outputs of ``operators``, each applied to the last part (the
        first to ``iterable`` if given: a sync source its fused part iterates directly). Each
        run of consecutive steps becomes one :class:`Fused` part, unless the run has hooks,
        which see every stage's output."""
        fusing = not self.observing
        start = 0
        while start < len(operators):
            first = operators[start]
            if not (fusing and isinstance(first, Built) and first.step is not None):
                assert iterable is None
                parts.append(self.operator(operators[start], parts[-1]))
                start += 1
                continue
            end = start
            steps: list[Step] = []
            stages: list[Stage] = []
            while end < len(operators):
                fused = operators[end]
                if not (isinstance(fused, Built) and fused.step is not None):
                    break
                steps.append(fused.step)
                stages.append(self.stage(fused.label, fused.on_error))
                end += 1
            source = parts[-1] if iterable is None else iterable
            part = Fused(source, tuple(steps), tuple(stages), sync=iterable is not None)
            parts.append(stacked(source, part, self.run))
            iterable = None
            start = end

    def observe(self, output: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        """``output`` of ``stage``, reported to the run's hooks if it has any."""
        run = self.run
        if run is None or run.hooks is None:
            return output
        return observed(output, stage, run)

    def into(
        self, source: Source[Any], parts: list[AsyncIterator[Any]], gate: Gate | None = None
    ) -> None:
        """Append the iterators of a fresh iteration of ``source`` to ``parts`` (see
        :meth:`Source._build_into`)."""
        source._build_into(parts, self, gate)  # pyright: ignore[reportPrivateUsage]

    async def open(self, source: Source[Any], gate: Gate | None = None) -> Parts[Any]:
        """A fresh iteration of ``source``; if building it fails (an operator raises, or
        returns something that is not an async iterator), what was already made is closed
        first."""
        parts: list[AsyncIterator[Any]] = []
        try:
            self.into(source, parts, gate)
        except BaseException:
            await close_while_failing(partial(aclose_all, parts))
            raise
        return Parts(parts)
