"""Resume after a kill: SIGKILL a real job at random points, restart it with the same ledger."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
JOB = Path(__file__).with_name("kill_job.py")
COUNT = 3000
BATCH, CONCURRENCY = 16, 4


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigkill_at_random_points_loses_nothing(tmp_path: Path, backend: str) -> None:
    ledger, log = tmp_path / "job.sqlite", tmp_path / "done.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(JOB), str(ledger), str(log), str(COUNT), backend]
    rng = random.Random(12)
    kills = 0
    attempts = 8
    for attempt in range(attempts):
        with (tmp_path / "stderr").open("w") as stderr:
            job = subprocess.Popen(command, env=env, stderr=stderr)
        # Killed at a random point, but the last run is left to finish (on a loaded machine a
        # run may take longer than any of the random points).
        last = attempt == attempts - 1
        try:
            job.wait(timeout=120 if last else rng.uniform(0.4, 0.9))
        except subprocess.TimeoutExpired:
            job.send_signal(signal.SIGKILL)
            job.wait()
            kills += 1
            continue
        assert job.returncode == 0, (tmp_path / "stderr").read_text()
        break
    else:
        pytest.fail("the job never finished")
    handled = Counter(int(line) for line in log.read_text().split())
    assert set(handled) == set(range(COUNT))  # nothing lost
    redone = sum(n - 1 for n in handled.values())
    # Per kill, only what had not been committed: the open batch and the calls in flight
    # (workers, the handoff between stages, the item at the sink).
    assert redone <= kills * (BATCH + CONCURRENCY + 4)
    assert kills >= 1, "no kill happened: raise COUNT"
