"""Retry backoff and per-call timeouts in trio's virtual time: every attempt starts exactly when
the policy says, to the nanosecond."""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from streamkit import Failures, Retry, map_, stream
from tests.runtime.test_retry_faults import check_accounting, scenarios
from tests.strategies import PER_ITEM_OPS, pool_options

EPS = 1e-9


class Clocked:
    """Records the (virtual) time of every attempt; each attempt sleeps ``duration`` and fails
    while attempts remain in ``fails``."""

    def __init__(self, fails: int, duration: float = 0, error: type[Exception] = OSError) -> None:
        self.fails = fails
        self.duration = duration
        self.error = error
        self.times: list[float] = []
        self.start = trio.current_time()

    async def __call__(self, x: int) -> int:
        self.times.append(trio.current_time() - self.start)
        await trio.sleep(self.duration)
        if len(self.times) <= self.fails:
            raise self.error(x)
        return x


def expected_starts(policy: Retry, attempts: int, duration: float) -> list[float]:
    starts = [0.0]
    for k in range(1, attempts):
        starts.append(starts[-1] + duration + policy.delay(k))
    return starts


@pytest.mark.trio
async def test_backoff_doubles_up_to_the_cap(autojump_clock: trio.testing.MockClock) -> None:
    policy = Retry(OSError, attempts=6, backoff=1, max_backoff=5, jitter=False)
    fn = Clocked(fails=5, duration=0.5)
    assert await stream([7]).pipe(map_(fn, retry=policy)).collect() == [7]
    # Waits 1, 2, 4, 5, 5 between attempts that each take 0.5 s.
    assert fn.times == pytest.approx([0, 1.5, 4, 8.5, 14, 19.5], abs=EPS)


@pytest.mark.trio
async def test_timeout_per_attempt_then_retry(autojump_clock: trio.testing.MockClock) -> None:
    """Each attempt is cut at 3 s (TimeoutError, retried), backoff 1 then 2; the last attempt's
    TimeoutError reaches the consumer at 3 + 1 + 3 + 2 + 3 = 12 s."""
    fn = Clocked(fails=0, duration=10)
    start = trio.current_time()
    policy = Retry(TimeoutError, attempts=3, backoff=1, jitter=False)
    with pytest.raises(TimeoutError):
        await stream([1]).pipe(map_(fn, timeout=3, retry=policy)).collect()
    assert fn.times == pytest.approx([0, 4, 9], abs=EPS)
    assert trio.current_time() - start == pytest.approx(12, abs=EPS)


@given(
    attempts=st.integers(1, 6),
    fails=st.integers(0, 6),
    backoff=st.sampled_from([0, 0.25, 1, 3]),
    cap=st.sampled_from([0, 0.5, 2, 10]),
    duration=st.sampled_from([0, 0.5, 2]),
    seed=st.integers(0, 2**32 - 1),
    jitter=st.booleans(),
    concurrency=st.sampled_from([1, 3]),
)
def test_attempts_start_when_the_policy_says(
    attempts: int,
    fails: int,
    backoff: float,
    cap: float,
    duration: float,
    seed: int,
    jitter: bool,
    concurrency: int,
) -> None:
    """Random policies (seeded jitter): the attempt times match ``Retry.delay`` exactly, the
    number of attempts is min(fails + 1, attempts), and a call that still fails is recorded."""

    async def main() -> tuple[list[float], list[int], Failures, float]:
        fn = Clocked(fails=fails, duration=duration)
        failures = Failures()
        policy = Retry(
            OSError,
            attempts=attempts,
            backoff=backoff,
            max_backoff=cap,
            jitter=jitter,
            random=random.Random(seed).random,
        )
        op = map_(fn, retry=policy, on_error=failures, concurrency=concurrency)
        with trio.fail_after(10_000):
            out = await stream([5]).pipe(op).collect()
        return fn.times, out, failures, trio.current_time() - fn.start

    times, out, failures, ended = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    made = min(fails + 1, attempts)
    reference = Retry(
        OSError,
        attempts=attempts,
        backoff=backoff,
        max_backoff=cap,
        jitter=jitter,
        random=random.Random(seed).random,
    )
    starts = expected_starts(reference, made, duration)
    assert times == pytest.approx(starts, abs=EPS)
    assert ended == pytest.approx(starts[-1] + duration, abs=EPS)
    if fails < attempts:
        assert out == [5]
        assert failures.count == 0
    else:
        assert out == []
        assert failures.count == 1


@given(
    scenario=scenarios(timeouts=True),
    kind=st.sampled_from(PER_ITEM_OPS),
    options=pool_options(max_extra_window=4),
    record=st.booleans(),
)
def test_accounting_with_timeouts(
    scenario: dict[str, Any], kind: str, options: dict[str, Any], record: bool
) -> None:
    """The fault-injection accounting of tests/runtime/test_retry_faults.py, with calls that
    hang until their timeout, in virtual time."""
    trio.run(
        check_accounting,
        scenario,
        kind,
        options,
        record,
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
