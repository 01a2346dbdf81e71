"""Fault injection with retries, timeouts and failed-item records: random transient and permanent
failures, hanging calls, latencies, retry policies and cancellation points.

Whatever happens, every input is accounted for exactly once (an output or a recorded failure),
the number of calls is exactly what the policy allows, nothing is duplicated, the source is
closed, no call is still running, and every test ends under a deadline.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit import Failures, Retry, stream
from streamkit.testing import TrackedSource
from tests.strategies import (
    ASYNC_SETTINGS,
    PER_ITEM_OPS,
    ObservedCalls,
    assert_part_of,
    cancel_when,
    pause,
    per_item_op,
    per_item_outputs,
    pool_options,
)

pytestmark = pytest.mark.anyio

N = 30


@st.composite
def scenarios(draw: st.DrawFn, *, timeouts: bool = False) -> dict[str, Any]:
    """Per item: transient failures (ConnectionError, 1..3 times), or a permanent failure
    (ConnectionError, ValueError, or, with ``timeouts``, a call that hangs until the
    operator's timeout). Timeouts are drawn only for virtual time (tests/trio), where a call
    that does not hang cannot exceed them however loaded the machine is."""
    n = draw(st.integers(0, N))
    timeout = timeouts and draw(st.booleans())
    fate = st.sampled_from(["ok", "flaky", "broken", "bad", *(["hang"] if timeout else [])])
    return {
        "n": n,
        "fates": draw(st.lists(fate, min_size=n, max_size=n)),
        "flaky": draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)),
        # With a timeout, calls that do not hang never sleep, so they cannot time out.
        "latencies": draw(
            st.lists(
                st.sampled_from([None, 0.0] if timeout else [None, 0.0, 0.0005, 0.002]),
                min_size=1,
                max_size=5,
            )
        ),
        "timeout": 0.005 if timeout else None,
        "attempts": draw(st.integers(1, 4)),
        "backoff": draw(st.sampled_from([0, 0.0005])),
        "seed": draw(st.integers(0, 1000)),
    }


class FatedCalls(ObservedCalls):
    """The user function: fails or hangs as each item's fate says; counts the calls of each
    item."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        super().__init__()
        self.s = scenario
        self.calls: Counter[int] = Counter()

    async def behave(self, x: int) -> int:
        self.calls[x] += 1
        await pause(self.s["latencies"], x)
        fate = self.s["fates"][x]
        if fate == "hang":
            await anyio.sleep_forever()
        if fate == "broken" or (fate == "flaky" and self.calls[x] <= self.s["flaky"][x]):
            raise ConnectionError(x)
        if fate == "bad":
            raise ValueError(x)
        return x

    def expected_calls(self, x: int) -> int:
        attempts = self.s["attempts"]
        fate = self.s["fates"][x]
        if fate == "bad":
            return 1
        if fate == "flaky":
            return min(self.s["flaky"][x] + 1, attempts)
        return 1 if fate == "ok" else attempts

    def succeeds(self, x: int) -> bool:
        fate = self.s["fates"][x]
        return fate == "ok" or (fate == "flaky" and self.s["flaky"][x] < self.s["attempts"])


def make_op(kind: str, calls: FatedCalls, scenario: dict[str, Any], options: dict[str, Any]) -> Any:
    import random

    policy = Retry(
        (ConnectionError, TimeoutError),
        attempts=scenario["attempts"],
        backoff=scenario["backoff"],
        random=random.Random(scenario["seed"]).random,
    )
    return per_item_op(kind, calls, **options, timeout=scenario["timeout"], retry=policy)


@ASYNC_SETTINGS
@given(
    scenario=scenarios(),
    kind=st.sampled_from(PER_ITEM_OPS),
    options=pool_options(max_extra_window=4),
    record=st.booleans(),
)
async def test_every_input_is_an_output_or_a_failure(
    scenario: dict[str, Any], kind: str, options: dict[str, Any], record: bool
) -> None:
    await check_accounting(scenario, kind, options, record)


async def check_accounting(
    scenario: dict[str, Any], kind: str, options: dict[str, Any], record: bool
) -> None:
    """Run one scenario with ``on_error="skip"`` or a :class:`Failures` sink and check it."""
    n = scenario["n"]
    calls = FatedCalls(scenario)
    failures = Failures()
    source = TrackedSource(range(n))
    op = make_op(kind, calls, scenario, {**options, "on_error": failures if record else "skip"})
    with anyio.fail_after(20):
        async with stream(source).pipe(op).open() as items:
            out = [x async for x in items]
            stats = items.statistics()

    ok = [x for x in range(n) if calls.succeeds(x)]
    failed = [x for x in range(n) if not calls.succeeds(x)]
    want = [v for x in ok for v in per_item_outputs(kind, x)]
    assert len(set(out)) == len(out), "duplicate outputs"
    if options["ordered"]:
        assert out == want
    else:
        assert Counter(out) == Counter(want)
    # Exact accounting: each input is an output or a failure, once.
    assert len(ok) + stats.failed == n
    assert stats.skipped == stats.failed == len(failed)
    if record:
        assert sorted(f.item for f in failures) == failed
        assert failures.count == len(failed)
        for f in failures:
            want_type = {"bad": ValueError, "hang": TimeoutError}.get(
                scenario["fates"][f.item], ConnectionError
            )
            assert type(f.error) is want_type
    # Exactly the calls the policy allows, and the retries counted.
    assert dict(calls.calls) == {x: calls.expected_calls(x) for x in range(n)}
    assert stats.retries == sum(calls.expected_calls(x) - 1 for x in range(n))
    source.assert_closed()
    assert calls.in_flight == 0


@ASYNC_SETTINGS
@given(
    scenario=scenarios(),
    kind=st.sampled_from(PER_ITEM_OPS),
    options=pool_options(max_extra_window=4),
    cancel_at=st.one_of(
        st.tuples(st.just("deadline"), st.sampled_from([0, 0.001, 0.003, 0.01])),
        st.tuples(st.just("call"), st.integers(1, 40)),
    ),
)
async def test_cancellation_at_random_points(
    scenario: dict[str, Any],
    kind: str,
    options: dict[str, Any],
    cancel_at: tuple[str, float],
) -> None:
    """Cancelled from outside (during calls, timeouts or backoff sleeps): it ends promptly,
    the cancellation is absorbed by its own scope, nothing runs afterwards, and the output is
    a duplicate-free part of the full run's output (a prefix when ordered)."""
    n = scenario["n"]
    calls = FatedCalls(scenario)
    source = TrackedSource(range(n))
    op = make_op(kind, calls, scenario, {**options, "on_error": "skip"})
    received: list[Any] = []
    with anyio.fail_after(20):
        with anyio.CancelScope() as scope:
            cancel_when(scope, cancel_at, calls)
            async with stream(source).pipe(op).open() as items:
                async for value in items:
                    received.append(value)
        total = calls.calls.total()
        await anyio.sleep(0.003)
        assert calls.calls.total() == total, "a call started after the pipeline ended"

    source.assert_closed()
    assert calls.in_flight == 0
    universe = [v for x in range(n) if calls.succeeds(x) for v in per_item_outputs(kind, x)]
    assert_part_of(received, universe, ordered=options["ordered"])
    for x, made in calls.calls.items():
        assert made <= calls.expected_calls(x), "more attempts than the policy allows"
