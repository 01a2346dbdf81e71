"""Per-run bookkeeping of one operator: its name for error notes and its failure policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import add_operator_note

if TYPE_CHECKING:
    from .._observe import StageStatistics
    from .._options import OnError
    from ._pool import WorkerPool


class Stage:
    """One operator within one run of a pipeline."""

    __slots__ = ("name", "on_error", "pool", "skipped")

    def __init__(self, name: str, on_error: OnError = "raise") -> None:
        self.name = name
        self.on_error = on_error
        self.skipped = 0
        self.pool: WorkerPool[Any, Any] | None = None

    def failed(self, exc: BaseException, index: int, item: object) -> bool:
        """Apply the failure policy to ``exc`` raised on item ``index``.

        Returns ``True`` when the item is skipped (and counted); otherwise attaches the note that
        names this operator and the item, and returns ``False`` so the caller re-raises.
        """
        if self.on_error == "skip":
            self.skipped += 1
            return True
        add_operator_note(exc, self.name, index, item)
        return False

    def statistics(self) -> StageStatistics:
        """A snapshot of this stage's counters."""
        from .._observe import StageStatistics

        pool = self.pool
        if pool is None:
            return StageStatistics(self.name, self.skipped, 0, 0, 0, 0)
        buf = pool.buffer
        return StageStatistics(
            operator=self.name,
            skipped=self.skipped,
            in_flight=pool.in_flight,
            held=buf.held,
            buffered=buf.buffered,
            peak_held=pool.peak_held,
        )
