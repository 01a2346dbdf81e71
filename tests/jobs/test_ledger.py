"""Ledger: the done set in a real SQLite file, its operators, errors, and a model test."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import Ledger, LedgerError, map_, stream, take

pytestmark = pytest.mark.anyio


async def test_mark_then_skip(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    assert await stream(range(5)).pipe(ledger.mark_done(key=int)).collect() == [0, 1, 2, 3, 4]
    assert len(ledger) == 5
    assert 3 in ledger
    assert 7 not in ledger
    again = await stream(range(8)).pipe(ledger.skip_done(key=int)).collect()
    assert again == [5, 6, 7]
    ledger.clear()
    assert len(ledger) == 0


async def test_keys_of_each_type_are_distinct(tmp_path: Path) -> None:
    async with Ledger(tmp_path / "l.sqlite") as ledger:
        await stream([1, "1", b"1"]).pipe(ledger.mark_done(key=lambda k: k)).drain()
        assert len(ledger) == 3
        assert "1" in ledger
        assert b"1" in ledger
        assert 1 in ledger
    assert len(Ledger(tmp_path / "l.sqlite")) == 3  # reopened after close


@pytest.mark.parametrize("bad", [1.5, None, (1,), True])
async def test_other_keys_are_a_type_error(tmp_path: Path, bad: object) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    with pytest.raises(TypeError, match="str, int or bytes"):
        await stream([bad]).pipe(ledger.mark_done(key=lambda k: k)).drain()
    with pytest.raises(TypeError, match="str, int or bytes"):
        _ = bad in ledger


async def test_committed_on_error_cancel_and_early_exit(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite", batch_size=10_000, flush_interval=3600)

    def fail_at_3(n: int) -> int:
        if n == 3:
            raise ValueError(n)
        return n

    with pytest.raises(ValueError):
        await stream(range(10)).pipe(map_(fail_at_3), ledger.mark_done(key=int)).drain()
    assert sorted(k for k in range(10) if k in ledger) == [0, 1, 2]

    ledger.clear()
    await stream(range(10)).pipe(ledger.mark_done(key=int), take(4)).drain()
    assert len(ledger) == 4

    ledger.clear()
    async with stream(range(10)).pipe(ledger.mark_done(key=int)).open() as items:
        async for n in items:
            if n == 5:
                break
    assert len(ledger) == 6

    ledger.clear()

    async def endless() -> AsyncIterator[int]:
        n = 0
        while True:
            yield n
            n += 1
            await anyio.sleep(0.001)

    with anyio.move_on_after(0.05) as scope:
        await stream(endless()).pipe(ledger.mark_done(key=int)).drain()
    assert scope.cancelled_caught
    assert len(ledger) > 0


def test_bad_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="not a file in an existing directory"):
        Ledger(tmp_path / "missing" / "l.sqlite")
    with pytest.raises(LedgerError, match="not a file in an existing directory"):
        Ledger(tmp_path)


def test_read_only_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    Ledger(path).commit([1])
    path.chmod(0o444)
    with pytest.raises(LedgerError, match="read-only"):
        Ledger(path)


def test_corrupt_file_is_a_clear_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError, match="not a usable SQLite database"):
        Ledger(path)
    assert path.read_bytes() == b"not a database at all" * 100


def test_invalid_options() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Ledger("x.sqlite", batch_size=0)
    with pytest.raises(ValueError, match="flush_interval"):
        Ledger("x.sqlite", flush_interval=0)


def test_another_process_sees_committed_keys(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    ledger, other = Ledger(path), Ledger(path)  # two connections, as two workers would have
    ledger.commit(["a", "b"])
    assert "a" in other
    assert len(other) == 2
    with sqlite3.connect(path) as raw:  # a plain writer holding the file meanwhile
        raw.execute("INSERT INTO streamkit_done VALUES ('c')")
    other.commit(["d"])
    assert len(ledger) == 4


keys = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=5), st.binary(max_size=5))
actions = st.lists(
    st.one_of(
        st.tuples(st.just("add"), keys),
        st.tuples(st.just("commit"), st.none()),
        st.tuples(st.just("kill"), st.none()),
        st.tuples(st.just("reopen"), st.none()),
        st.tuples(st.just("clear"), st.none()),
    ),
    max_size=30,
)


@given(actions=actions)
def test_ledger_matches_a_set_model(
    tmp_path_factory: pytest.TempPathFactory, actions: list[tuple[str, object]]
) -> None:
    path = tmp_path_factory.mktemp("model") / "l.sqlite"
    ledger = Ledger(path)
    committed: set[object] = set()
    pending: list[object] = []
    for action, key in actions:
        if action == "add":
            pending.append(key)
        elif action == "commit":
            ledger.commit(pending)  # type: ignore[arg-type]
            committed.update(pending)
            pending = []
        elif action == "kill":  # the uncommitted batch dies with the process
            pending = []
            ledger = Ledger(path)
        elif action == "reopen":
            ledger.close()
        else:
            ledger.clear()
            committed.clear()
        assert len(ledger) == len(committed)
        assert all(k in ledger for k in committed)
    ledger.close()
