"""Per-run bookkeeping of one operator: its name for error notes, its failure policy and the
counters that ``statistics()`` reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from .._awaitable import awaitable
from .._errors import SKIP, add_operator_note

if TYPE_CHECKING:
    from .._hooks import Hooks
    from .._observe import StageStatistics
    from .._options import OnError
    from ._build import Build

SAMPLE_EVERY = 16
"""A sequential stage times the calls whose 1-based count is 1 modulo this (a power of 2)."""

RAISE: Final = object()
"""What :meth:`Stage.recover` returns when the caller must re-raise the exception."""


class BufferCounters(Protocol):
    """The counters of a worker pool's reorder buffer that :meth:`Stage.statistics` reads."""

    @property
    def started(self) -> int: ...
    @property
    def window(self) -> int: ...
    @property
    def held(self) -> int: ...
    @property
    def buffered(self) -> int: ...


class PoolCounters(Protocol):
    """The counters of a worker pool that :meth:`Stage.statistics` reads; the pool registers
    itself as :attr:`Stage.pool`."""

    @property
    def buffer(self) -> BufferCounters: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def peak_held(self) -> int: ...
    @property
    def emitted(self) -> int: ...
    @property
    def busy_time(self) -> float: ...


class ThreadCounters(Protocol):
    """The counters of an operator's worker threads that :meth:`Stage.statistics` reads."""

    @property
    def abandoned(self) -> int: ...


class Stage:
    """One operator within one run of a pipeline.

    A sequential operator that counts sets :attr:`items_in` (from ``None``) as items arrive,
    and counts in :attr:`dropped` those it consumes without emitting or skipping (filtered
    out, failed); while it awaits a call, :attr:`in_flight` is 1. The items it emitted
    follow. Operators that time their calls set :attr:`sampled_time`. A worker pool keeps its
    own counters (:attr:`pool`). :attr:`failures` and :attr:`retries` count final failures
    and retried attempts.
    """

    __slots__ = (
        "build",
        "dropped",
        "failures",
        "fed_by",
        "hooks",
        "in_flight",
        "items_in",
        "name",
        "on_error",
        "pool",
        "retries",
        "sampled_calls",
        "sampled_time",
        "skipped",
        "threads",
    )

    def __init__(
        self,
        name: str,
        on_error: OnError = "raise",
        hooks: Hooks | None = None,
        build: Build | None = None,
    ) -> None:
        self.name: str = name
        self.build: Build = build if build is not None else _detached()
        """The build this stage was made in: its run, and the context for what it builds per
        item (:meth:`Build.inner`)."""
        self.on_error: OnError = on_error
        self.hooks: Hooks | None = hooks
        self.skipped: int = 0
        self.failures: int = 0
        self.retries: int = 0
        self.pool: PoolCounters | None = None
        self.threads: ThreadCounters | None = None
        """The worker threads of ``executor="thread"``, in this run's event loop."""
        self.items_in: int | None = None
        self.fed_by: Stage | None = None
        """For a fused stage after the first: the stage before it, whose output is this one's
        input, so the fused loop need not count it (see :meth:`counted_in`)."""
        self.in_flight: int = 0
        self.dropped: int = 0
        self.sampled_time: float | None = None
        self.sampled_calls: int = 0

    def failed(self, exc: Exception, index: int, item: object) -> bool:
        """Count the failure ``exc`` raised on item ``index`` and report it to the hooks.

        Returns ``True`` when ``on_error="skip"`` drops the item (counted as skipped);
        otherwise attaches the note that names this operator and the item, and returns
        ``False``.
        """
        self.failures += 1
        skip = self.on_error == "skip"
        if self.hooks is not None:
            self.hooks.error(self.name, exc, index, item, skipped=skip)
        if skip:
            self.skipped += 1
            return True
        add_operator_note(exc, self.name, index, item)
        return False

    def retrying(
        self, exc: Exception, index: int, item: object, *, attempt: int, delay: float
    ) -> None:
        """Report that the call on item ``index`` raised ``exc`` and will be retried after
        ``delay`` seconds (``attempt`` counts the failed attempts from 1); retry code calls
        this before each retry: it is counted in :attr:`retries` and reaches
        :meth:`Hooks.retry`."""
        self.retries += 1
        if self.hooks is not None:
            self.hooks.retry(self.name, exc, index, item, attempt=attempt, delay=delay)

    async def recover(self, exc: Exception, index: int, item: object) -> object:
        """Apply ``on_error`` to ``exc`` raised on item ``index``: :data:`~streamkit.SKIP` to
        drop the item, a handler's replacement for the call's result, or :data:`RAISE`.

        The exception carries its note before a handler sees it; the handler (sync or async)
        may also raise, which stops the pipeline with the handler's exception.
        """
        if self.failed(exc, index, item):
            return SKIP
        handler = self.on_error
        if isinstance(handler, str):  # "raise"
            return RAISE
        replacement = handler(exc, item)
        if awaitable(replacement):
            replacement = await replacement
        if replacement is SKIP:
            self.skipped += 1
        return replacement

    def sample(self, seconds: float) -> None:
        """Record the duration of a sampled call (see :data:`SAMPLE_EVERY`)."""
        self.sampled_time = (self.sampled_time or 0.0) + seconds
        self.sampled_calls += 1

    def counted_in(self) -> int | None:
        """The items that entered this stage: :attr:`items_in`, or for a fused stage fed by
        another, what that one passed on (its input less what it skipped, dropped or holds)."""
        chain: list[Stage] = []
        stage = self
        while stage.fed_by is not None:
            chain.append(stage.fed_by)
            stage = stage.fed_by
        count = stage.items_in
        for before in reversed(chain):
            if count is None:
                return None
            count -= before.skipped + before.dropped + before.in_flight
        return count

    def statistics(self, elapsed: float) -> StageStatistics:
        """A snapshot of this stage's counters, ``elapsed`` seconds into the run."""
        from .._observe import StageStatistics

        pool = self.pool
        if pool is None:
            items_in = self.counted_in()
            items_out = None
            if items_in is not None:
                items_out = items_in - self.skipped - self.dropped - self.in_flight
            busy = self.sampled_time
            if busy is not None and self.sampled_calls and items_in:
                busy *= items_in / self.sampled_calls
            return StageStatistics(
                operator=self.name,
                items_in=items_in,
                items_out=items_out,
                skipped=self.skipped,
                failed=self.failures,
                retries=self.retries,
                concurrency=1,
                in_flight=self.in_flight,
                window=0,
                held=0,
                peak_held=0,
                buffered=0,
                busy_time=busy,
                elapsed=elapsed,
                abandoned_threads=self._abandoned_threads(),
            )
        buffer = pool.buffer
        return StageStatistics(
            operator=self.name,
            items_in=buffer.started,
            items_out=pool.emitted,
            skipped=self.skipped,
            failed=self.failures,
            retries=self.retries,
            concurrency=pool.concurrency,
            in_flight=pool.in_flight,
            window=buffer.window,
            held=buffer.held,
            peak_held=pool.peak_held,
            buffered=buffer.buffered,
            busy_time=pool.busy_time,
            elapsed=elapsed,
            abandoned_threads=self._abandoned_threads(),
        )

    def _abandoned_threads(self) -> int:
        return 0 if self.threads is None else self.threads.abandoned


def _detached() -> Build:
    """The build of a stage made outside any run (for an error note only)."""
    from ._build import Build

    return Build(None)
