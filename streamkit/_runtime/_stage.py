"""Per-run bookkeeping of one operator: its name for error notes, its failure policy and its
counters."""

from __future__ import annotations

from inspect import isawaitable
from typing import TYPE_CHECKING, Any, Final

from .._errors import SKIP, add_operator_note

if TYPE_CHECKING:
    from .._observe import StageStatistics
    from .._options import OnError
    from ._pool import WorkerPool

RAISE: Final = object()
"""What :meth:`Stage.recover` returns when the caller must re-raise the exception."""


class Stage:
    """One operator within one run of a pipeline."""

    __slots__ = ("failures", "name", "on_error", "pool", "retries", "skipped")

    def __init__(self, name: str, on_error: OnError = "raise") -> None:
        self.name = name
        self.on_error = on_error
        self.skipped = 0
        self.failures = 0
        self.retries = 0
        self.pool: WorkerPool[Any, Any] | None = None

    def failed(self, exc: BaseException, index: int, item: object) -> bool:
        """Count the failure ``exc`` raised on item ``index``.

        Returns ``True`` when ``on_error="skip"`` drops the item (counted as skipped);
        otherwise attaches the note that names this operator and the item, and returns
        ``False``.
        """
        self.failures += 1
        if self.on_error == "skip":
            self.skipped += 1
            return True
        add_operator_note(exc, self.name, index, item)
        return False

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
        if isawaitable(replacement):
            replacement = await replacement
        if replacement is SKIP:
            self.skipped += 1
        return replacement

    def statistics(self) -> StageStatistics:
        """A snapshot of this stage's counters."""
        from .._observe import StageStatistics

        pool = self.pool
        return StageStatistics(
            operator=self.name,
            skipped=self.skipped,
            in_flight=0 if pool is None else pool.in_flight,
            held=0 if pool is None else pool.buffer.held,
            buffered=0 if pool is None else pool.buffer.buffered,
            peak_held=0 if pool is None else pool.peak_held,
            failed=self.failures,
            retries=self.retries,
        )
