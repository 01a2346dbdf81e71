"""The pure parts of per-key limits: :class:`KeySlots` and :class:`KeyOrderBuffer`, checked
against simple models on random operation sequences (issue 13)."""

from __future__ import annotations

from collections import Counter, deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit._runtime._keyed import KeyOrderBuffer, KeySlots


class TestKeySlots:
    @given(
        per_key=st.integers(1, 3),
        ops=st.lists(st.tuples(st.booleans(), st.sampled_from("abc")), max_size=60),
    )
    def test_matches_model(self, per_key: int, ops: list[tuple[bool, str]]) -> None:
        """admit runs an entry if its key has fewer than per_key running, else queues it
        FIFO; release hands the slot to the oldest queued entry of the key."""
        slots = KeySlots(per_key)
        running: Counter[str] = Counter()
        queued: dict[str, deque[tuple[object, int]]] = {}
        n = 0
        for admit, key in ops:
            if admit:
                entry = (key, n)
                n += 1
                ran = slots.admit(key, entry)
                assert ran == (running[key] < per_key)
                if ran:
                    running[key] += 1
                else:
                    queued.setdefault(key, deque()).append(entry)
            elif running[key]:
                expected = queued[key].popleft() if queued.get(key) else None
                if expected is None:
                    running[key] -= 1
                assert slots.release(key) == expected
            assert slots.running(key) == running[key] <= per_key
            assert slots.keys_active == sum(1 for k in running if running[k])
            assert slots.keys_waiting == sum(1 for k in queued if queued[k])
            assert slots.parked == sum(len(q) for q in queued.values())

    def test_unlimited(self) -> None:
        slots = KeySlots(None)
        assert all(slots.admit("a", ("x", i)) for i in range(100))
        assert slots.keys_active == 1
        assert slots.parked == 0


@st.composite
def keyed_runs(draw: st.DrawFn) -> tuple[list[str], list[int], list[int], list[bool]]:
    keys = draw(st.lists(st.sampled_from("xyz"), min_size=1, max_size=12))
    order = draw(st.permutations(range(len(keys))))
    counts = draw(st.lists(st.integers(0, 3), min_size=len(keys), max_size=len(keys)))
    pops = draw(st.lists(st.booleans(), min_size=len(keys), max_size=len(keys)))
    return keys, list(order), counts, pops


class TestKeyOrderBuffer:
    @given(run=keyed_runs())
    def test_order_within_each_key(
        self, run: tuple[list[str], list[int], list[int], list[bool]]
    ) -> None:
        """Inputs finish in a random order, each with 0-3 results, with pops in between:
        within a key, results come in input order; a result is ready exactly when some key's
        oldest unreleased input has one; nothing is lost; every input is released."""
        keys, order, counts, pops = run
        buf = KeyOrderBuffer[tuple[int, int]](window=len(keys))
        for index, key in enumerate(keys):
            assert buf.start() == index
            buf.assign(index, key)
        done: set[int] = set()
        out: list[tuple[int, int]] = []

        def model_ready() -> bool:
            """Some key's oldest input not yet done with has a result waiting."""
            emitted = Counter(i for i, _ in out)
            for key in set(keys):
                mine = [i for i, k in enumerate(keys) if k == key]
                head = next((i for i in mine if i not in done or emitted[i] < counts[i]), None)
                if head is not None and head in done:
                    return True
            return False

        for index, pop in zip(order, pops, strict=True):
            for j in range(counts[index]):
                buf.put(index, (index, j))
            buf.finish(index)
            done.add(index)
            assert buf.ready == model_ready()
            while pop and buf.ready:
                out.append(buf.pop())
                assert buf.ready == model_ready()
        while buf.ready:
            out.append(buf.pop())
        with pytest.raises(IndexError):
            buf.pop()
        assert sorted(out) == [(i, j) for i in range(len(keys)) for j in range(counts[i])]
        for key in set(keys):
            mine = [result for result in out if keys[result[0]] == key]
            assert mine == sorted(mine)
        assert buf.held == 0
        assert buf.buffered == 0
        assert buf.released == len(keys)

    def test_values_before_finish_and_bounds(self) -> None:
        buf = KeyOrderBuffer[str](window=2)
        a, b = buf.start(), buf.start()
        buf.assign(a, "k")
        buf.assign(b, "k")
        assert not buf.has_room
        assert buf.put(a, "a1")  # the head: ready at once, before it finishes
        assert buf.pop() == "a1"
        assert buf.may_put(b)  # buffered < window
        buf.put(b, "b1")
        assert not buf.ready  # b waits for a
        buf.put(a, "a2")
        assert not buf.may_put(b)  # full, and b is not its key's head
        buf.finish(a)
        assert [buf.pop(), buf.pop()] == ["a2", "b1"]
        buf.finish(b)
        assert buf.held == 0
        with pytest.raises(RuntimeError, match="already released"):
            buf.put(a, "late")
