"""Property tests of the pure reorder buffer, against a plain-Python model (no event loop).

A random schedule of ``start``/``put``/``finish``/``pop`` calls (including misuse) drives a
:class:`ReorderBuffer` and a model side by side; after every step the buffer's observable
state must match the model, and its bounds must hold.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit._runtime._reorder import ReorderBuffer

Result = tuple[int, int]
"""``(input index, result number within that input)``."""


@dataclass
class Model:
    """What a correct buffer holds, kept with lists and counters only."""

    ordered: bool
    window: int
    started: int = 0
    finished: set[int] = field(default_factory=set[int])
    puts: dict[int, list[Result]] = field(default_factory=dict[int, list[Result]])
    popped: dict[int, int] = field(default_factory=dict[int, int])
    completion: deque[Result] = field(default_factory=deque[Result])
    """Results put and not yet popped, in completion (put) order."""

    def fully_popped(self, i: int) -> bool:
        return i in self.finished and self.popped[i] == len(self.puts[i])

    def is_held(self, i: int) -> bool:
        """Ordered inputs are held until every input before them is released, too."""
        return i >= self.released if self.ordered else not self.fully_popped(i)

    @property
    def released(self) -> int:
        if self.ordered:
            head = 0
            while head < self.started and self.fully_popped(head):
                head += 1
            return head
        return sum(self.fully_popped(i) for i in range(self.started))

    @property
    def held(self) -> int:
        return self.started - self.released

    @property
    def buffered(self) -> int:
        return len(self.completion)

    @property
    def next_result(self) -> Result | None:
        """The result :meth:`ReorderBuffer.pop` must return now, or ``None`` if none is due."""
        if not self.ordered:
            return self.completion[0] if self.completion else None
        head = self.released
        if head < self.started and self.popped[head] < len(self.puts[head]):
            return self.puts[head][self.popped[head]]
        return None

    def open_inputs(self) -> list[int]:
        return [i for i in range(self.started) if i not in self.finished]


def check_state(buf: ReorderBuffer[Result], model: Model) -> None:
    assert buf.started == model.started
    assert buf.released == model.released
    assert buf.held == model.held
    assert buf.buffered == model.buffered
    assert buf.held <= buf.window, "more inputs held than the window allows"
    assert buf.has_room == (model.held < model.window)
    assert buf.ready == (model.next_result is not None)
    if model.ordered:
        assert buf.head == model.released
    # Bounded memory: puts that respect may_put never buffer more than window + 1 results.
    assert buf.buffered <= buf.window + 1
    # Liveness: the consumer can always make progress. Either a result is ready, or the input
    # next in line (ordered) / every input (unordered) may add a result, or a new input may
    # start because nothing is held at all.
    if not buf.ready:
        if model.ordered:
            head = model.released
            if head in model.open_inputs():
                assert buf.may_put(head), "the head input is blocked with nothing to pop"
            else:
                assert head == model.started, "nothing ready, yet the head is finished"
                assert buf.has_room
        else:
            assert buf.buffered == 0
            assert all(buf.may_put(i) for i in model.open_inputs())


@st.composite
def schedules(draw: st.DrawFn) -> tuple[bool, int, int, list[tuple[str, int]]]:
    ordered = draw(st.booleans())
    window = draw(st.integers(1, 6))
    n_inputs = draw(st.integers(0, 12))
    # Each step names an action; the integer picks among the inputs it could apply to.
    actions = st.sampled_from(["start", "put", "put", "put", "finish", "pop", "pop", "misuse"])
    steps = draw(st.lists(st.tuples(actions, st.integers(0, 50)), max_size=120))
    return ordered, window, n_inputs, steps


def apply_step(buf: ReorderBuffer[Result], model: Model, action: str, pick: int) -> None:
    open_inputs = model.open_inputs()
    if action == "start":
        if buf.has_room:
            index = buf.start()
            assert index == model.started
            model.started += 1
            model.puts[index] = []
            model.popped[index] = 0
        else:
            with pytest.raises(RuntimeError, match="window is full"):
                buf.start()
    elif action == "put" and open_inputs:
        # A worker puts only when may_put says so (as the pool does); otherwise it waits.
        index = open_inputs[pick % len(open_inputs)]
        if buf.may_put(index):
            result = (index, len(model.puts[index]))
            was_due = model.next_result is not None
            made_ready = buf.put(index, result)
            model.puts[index].append(result)
            model.completion.append(result)
            # put reports exactly the not-ready -> ready transition (the pool wakes on it).
            assert made_ready == (not was_due and model.next_result is not None)
    elif action == "finish" and open_inputs:
        index = open_inputs[pick % len(open_inputs)]
        buf.finish(index)
        model.finished.add(index)
    elif action == "pop":
        expected = model.next_result
        if expected is None:
            with pytest.raises(IndexError, match="no result is ready"):
                buf.pop()
        else:
            assert buf.pop() == expected
            model.popped[expected[0]] += 1
            model.completion.remove(expected)
    elif action == "misuse":
        # put after finish, on an input that is finished but still held, or already released.
        finished_held = [i for i in sorted(model.finished) if model.is_held(i)]
        released = [i for i in range(model.started) if not model.is_held(i)]
        if finished_held and pick % 2:
            index = finished_held[pick % len(finished_held)]
            with pytest.raises(RuntimeError, match=f"input {index} is already finished"):
                buf.put(index, (index, -1))
        elif released:
            index = released[pick % len(released)]
            with pytest.raises(RuntimeError, match=f"input {index} is already released"):
                buf.put(index, (index, -1))
        elif not buf.has_room:
            with pytest.raises(RuntimeError, match="window is full"):
                buf.start()


def drain(buf: ReorderBuffer[Result], model: Model) -> list[Result]:
    """Let every worker finish its input and the consumer pop everything that is left."""
    out: list[Result] = []
    while True:
        progressed = False
        while buf.ready:
            expected = model.next_result
            assert expected is not None
            assert buf.pop() == expected
            model.popped[expected[0]] += 1
            model.completion.remove(expected)
            out.append(expected)
            progressed = True
            check_state(buf, model)
        for index in model.open_inputs():
            buf.finish(index)
            model.finished.add(index)
            progressed = True
            check_state(buf, model)
        if not progressed:
            break
    return out


class TestReorderBuffer:
    @given(schedules())
    def test_random_schedule_matches_model(
        self, schedule: tuple[bool, int, int, list[tuple[str, int]]]
    ) -> None:
        ordered, window, n_inputs, steps = schedule
        buf = ReorderBuffer[Result](ordered=ordered, window=window)
        model = Model(ordered=ordered, window=window)
        out: list[Result] = []
        for action, pick in steps:
            if action == "start" and model.started >= n_inputs:
                continue
            before = model.completion.copy()
            apply_step(buf, model, action, pick)
            if action == "pop" and len(model.completion) < len(before):
                (gone,) = [r for r in before if r not in model.completion]
                out.append(gone)
            check_state(buf, model)
        out += drain(buf, model)

        # No loss, no duplicate: every result put was popped exactly once.
        everything = [r for i in range(model.started) for r in model.puts[i]]
        assert len(set(out)) == len(out)
        assert sorted(out) == sorted(everything)
        assert buf.buffered == 0
        assert buf.held == 0
        assert buf.released == buf.started == model.started
        if ordered:
            # Per-input concatenation, in input order.
            assert out == everything
        else:
            # A permutation that keeps each input's results in the order they were put.
            for i in range(model.started):
                assert [r for r in out if r[0] == i] == model.puts[i]

    @given(
        ordered=st.booleans(),
        window=st.integers(1, 6),
        counts=st.lists(st.integers(0, 4), max_size=15),
        data=st.data(),
    )
    def test_completion_permutation(
        self, ordered: bool, window: int, counts: list[int], data: st.DataObject
    ) -> None:
        """Inputs of a known result count complete in a random order, as workers would; a
        consumer pops whenever something is ready. Output order is checked exactly."""
        buf = ReorderBuffer[Result](ordered=ordered, window=window)
        out: list[Result] = []
        completion_order: list[Result] = []
        pending: dict[int, int] = {}  # started input -> results still to put
        next_input = 0
        while next_input < len(counts) or pending:
            choices: list[str] = []
            if buf.has_room and next_input < len(counts):
                choices.append("start")
            workable = [i for i in pending if buf.may_put(i) or pending[i] == 0]
            if workable:
                choices.append("work")
            if buf.ready:
                choices.append("pop")
            # Liveness: whatever has happened, something can always happen next.
            assert choices, "deadlock: no start, no put, no pop possible"
            choice = data.draw(st.sampled_from(choices))
            if choice == "start":
                index = buf.start()
                assert index == next_input
                pending[index] = counts[index]
                next_input += 1
            elif choice == "work":
                index = data.draw(st.sampled_from(sorted(workable)))
                if pending[index]:
                    result = (index, counts[index] - pending[index])
                    buf.put(index, result)
                    completion_order.append(result)
                    pending[index] -= 1
                else:
                    buf.finish(index)
                    del pending[index]
            else:
                out.append(buf.pop())
            assert buf.held <= window
            assert buf.buffered <= window + 1
        while buf.ready:
            out.append(buf.pop())

        expected = [(i, k) for i, n in enumerate(counts) for k in range(n)]
        if ordered:
            assert out == expected
        else:
            assert out == completion_order
            assert sorted(out) == expected
        assert not buf.ready
        assert buf.held == 0
        assert buf.buffered == 0

    @given(window=st.integers(1, 6), extra=st.integers(1, 5))
    def test_head_can_always_put_past_a_full_buffer(self, window: int, extra: int) -> None:
        """Later inputs fill the buffer; the input next in line may still put one result (and
        then, once it is popped, another), so the consumer is never starved."""
        buf = ReorderBuffer[Result](ordered=True, window=window + 1)
        head = buf.start()
        later = buf.start()
        for k in range(window + 1):
            if buf.may_put(later):
                buf.put(later, (later, k))
        assert buf.buffered == window + 1
        assert not buf.may_put(later)
        for k in range(extra):
            assert buf.may_put(head)
            buf.put(head, (head, k))
            assert buf.buffered <= buf.window + 1
            assert not buf.may_put(head), "the head may add only one result past the bound"
            assert buf.pop() == (head, k)
        buf.finish(head)
        buf.finish(later)
        assert [buf.pop() for _ in range(buf.buffered)] == [(later, k) for k in range(window + 1)]

    def test_start_when_full(self) -> None:
        buf = ReorderBuffer[str](ordered=True, window=2)
        buf.start()
        buf.start()
        assert not buf.has_room
        with pytest.raises(RuntimeError, match="window is full; wait for has_room"):
            buf.start()
        assert buf.started == 2

    def test_put_after_finish(self) -> None:
        buf = ReorderBuffer[str](ordered=True, window=2)
        first, second = buf.start(), buf.start()
        buf.finish(second)  # held: waits for `first`
        with pytest.raises(RuntimeError, match="input 1 is already finished"):
            buf.put(second, "late")
        assert buf.buffered == 0
        buf.finish(first)
        assert buf.held == 0

    @pytest.mark.parametrize("ordered", [True, False])
    def test_put_after_release_is_refused(self, ordered: bool) -> None:
        buf = ReorderBuffer[str](ordered=ordered, window=2)
        index = buf.start()
        buf.finish(index)
        assert buf.released == 1
        with pytest.raises(RuntimeError, match="input 0 is already released"):
            buf.put(index, "late")
        with pytest.raises(RuntimeError, match="input 0 is already released"):
            buf.finish(index)
        assert buf.buffered == 0
        assert buf.released == 1
        assert not buf.ready

    @pytest.mark.parametrize("index", [-1, 1, 5])
    def test_index_never_started_is_refused(self, index: int) -> None:
        buf = ReorderBuffer[str](ordered=True, window=2)
        buf.start()
        message = f"input {index} was never started; start\\(\\) has given out 1 index"
        with pytest.raises(ValueError, match=message):
            buf.put(index, "x")
        with pytest.raises(ValueError, match=message):
            buf.finish(index)
        assert buf.buffered == 0
        assert buf.held == 1

    @pytest.mark.parametrize("ordered", [True, False])
    def test_pop_when_not_ready(self, ordered: bool) -> None:
        buf = ReorderBuffer[str](ordered=ordered, window=2)
        with pytest.raises(IndexError, match="no result is ready"):
            buf.pop()
        first, second = buf.start(), buf.start()
        buf.put(second, "b")
        if ordered:
            # "b" waits for input 0.
            with pytest.raises(IndexError, match="no result is ready"):
                buf.pop()
            buf.put(first, "a")
            assert buf.pop() == "a"
            with pytest.raises(IndexError, match="no result is ready"):
                buf.pop()  # input 0 may still put more
            buf.finish(first)
        assert buf.pop() == "b"
        with pytest.raises(IndexError, match="no result is ready"):
            buf.pop()

    @pytest.mark.parametrize("window", [0, -1])
    def test_window_below_one(self, window: int) -> None:
        with pytest.raises(ValueError, match=f"window must be an int >= 1, got {window}"):
            ReorderBuffer[str](ordered=True, window=window)

    def test_docstring_example(self) -> None:
        buf = ReorderBuffer[str](ordered=True, window=4)
        a, b = buf.start(), buf.start()
        buf.put(b, "b")
        buf.finish(b)
        assert not buf.ready
        buf.put(a, "a")
        buf.finish(a)
        assert [buf.pop(), buf.pop()] == ["a", "b"]
        assert buf.held == 0
