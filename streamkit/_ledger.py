"""A durable set of done keys in a SQLite file, for jobs that resume after a crash.

Guarantee: at-least-once. Each commit is one SQLite transaction (WAL mode), so a kill at any
instant leaves the file consistent. On every exit of a run (normal, error, cancellation, the
consumer leaving early) what passed ``mark_done`` is committed; after a kill (SIGKILL, power
loss) only the keys of the batch not yet committed (at most ``batch_size`` items, or
``flush_interval`` seconds of them) are redone. Several processes may share one file: each sees
the keys the others committed; an item that two workers take before either commits is done twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable
from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeAlias

import anyio

from ._errors import StreamkitError
from ._types import T

Key: TypeAlias = str | int | bytes
"""The types a ledger key may have."""

_SCHEMA = "CREATE TABLE IF NOT EXISTS streamkit_done (key PRIMARY KEY) WITHOUT ROWID"

if TYPE_CHECKING:
    import sqlite3


class LedgerError(StreamkitError, OSError):
    """The ledger's file cannot be used: a bad path, a read-only file, a corrupt database."""


def check_key(key: object) -> Key:
    """``key`` if it is a ``str``, ``int`` or ``bytes``; else ``TypeError``."""
    if isinstance(key, (str, bytes)) or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    raise TypeError(f"a ledger key must be str, int or bytes, got {type(key).__name__}: {key!r}")


class Ledger:
    """A durable set of done keys in the SQLite file ``path`` (created if missing).

    Writes are batched: one transaction per ``batch_size`` keys or ``flush_interval`` seconds
    (checked as keys arrive), made off the event loop, and always on every exit of the run.

    Example::

        ledger = Ledger("job.sqlite")
        await stream(prompts).pipe(
            ledger.skip_done(key=lambda p: p.id),
            map_(evaluate, concurrency=8),
            map_(save),  # the sink: idempotent (an upsert keyed on the id)
            ledger.mark_done(key=lambda r: r.prompt_id),
        ).drain()
    """

    def __init__(
        self, path: str | os.PathLike[str], *, batch_size: int = 1000, flush_interval: float = 1.0
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not isinstance(flush_interval, (int, float)) or not flush_interval > 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"flush_interval must be a number > 0, got {flush_interval!r}")
        self.path: str = os.fspath(path)
        self.batch_size = batch_size
        self.flush_interval: float = float(flush_interval)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._connect()

    # -- the file ----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        path = self.path
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path) or not os.path.isdir(folder):
            raise LedgerError(f"ledger path {path!r} is not a file in an existing directory")
        if os.path.exists(path) and (
            not os.access(path, os.W_OK) or not os.stat(path).st_mode & 0o222
        ):
            raise LedgerError(f"ledger file {path!r} is read-only; a ledger must record keys")
        import sqlite3  # on the first ledger: no cost to a program without one

        try:
            db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger file {path!r}: {exc}") from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise LedgerError(
                f"ledger file {path!r} is not a usable SQLite database ({exc}); it was left "
                "untouched: move it aside or pass another path"
            ) from exc
        self._db = db
        return db

    def close(self) -> None:
        """Close the file (it reopens on next use). Pending keys belong to runs, which commit
        them as they end."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sync queries ------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            row = self._connect().execute("SELECT count(*) FROM streamkit_done").fetchone()
        return int(row[0])

    def __contains__(self, key: object) -> bool:
        checked = check_key(key)
        with self._lock:
            found = (
                self
                ._connect()
                .execute("SELECT 1 FROM streamkit_done WHERE key = ?", (checked,))
                .fetchone()
            )
        return found is not None

    def keys(self) -> set[Key]:
        """Every recorded key (one query)."""
        with self._lock:
            rows = self._connect().execute("SELECT key FROM streamkit_done").fetchall()
        return {row[0] for row in rows}

    def clear(self) -> None:
        """Forget every recorded key (one transaction)."""
        with self._lock:
            self._connect().execute("DELETE FROM streamkit_done")

    def commit(self, keys: list[Key]) -> None:
        """Record ``keys`` in one transaction (blocking; the operators call it in a thread)."""
        if not keys:
            return
        with self._lock:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR IGNORE INTO streamkit_done (key) VALUES (?)", [(k,) for k in keys]
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- operators ---------------------------------------------------------------------------

    def skip_done(
        self, *, key: Callable[[T], object]
    ) -> Callable[[AsyncIterable[T]], AsyncIterator[T]]:
        """An operator that drops the items whose ``key(item)`` was recorded when the run
        started (read once, then held as a set).

        Example::

            stream(ids).pipe(ledger.skip_done(key=str))
        """

        async def skip_done(source: AsyncIterable[T]) -> AsyncIterator[T]:
            iterator = aiter(source)
            try:
                # The keys recorded when the run starts, read once in a thread: a set lookup
                # per item instead of a query (memory: the recorded keys, ~100 bytes each).
                done = await anyio.to_thread.run_sync(self.keys)
                async for item in iterator:
                    if check_key(key(item)) not in done:
                        yield item
            finally:
                await _aclose(iterator)

        return skip_done

    def mark_done(
        self, *, key: Callable[[T], object]
    ) -> Callable[[AsyncIterable[T]], AsyncIterator[T]]:
        """An operator that passes items on and records ``key(item)`` of each as it arrives;
        put it after the sink, so that what is recorded has really been done.

        Example::

            stream(ids).pipe(map_(save), ledger.mark_done(key=str))
        """

        async def mark_done(source: AsyncIterable[T]) -> AsyncIterator[T]:
            limiter = anyio.CapacityLimiter(1)
            pending: list[Key] = []
            last = monotonic()
            iterator = aiter(source)

            async def flush() -> None:
                nonlocal pending, last
                keys, pending, last = pending, [], monotonic()
                await anyio.to_thread.run_sync(self.commit, keys, limiter=limiter)

            try:
                async for item in iterator:
                    pending.append(check_key(key(item)))
                    if len(pending) >= self.batch_size or monotonic() - last >= self.flush_interval:
                        await flush()
                    yield item
            finally:
                try:
                    await _aclose(iterator)
                finally:
                    with anyio.CancelScope(shield=True):
                        await flush()

        return mark_done


async def _aclose(iterator: Any) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
