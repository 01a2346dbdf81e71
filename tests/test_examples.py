"""Run every script in ``examples/`` as a user would, on each backend it supports.

The docs ``literalinclude`` these files, so this also keeps the docs' examples working.
``notebook.ipynb`` is listed here too; tests/test_notebook.py runs it in a Jupyter kernel.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIMEOUT = 30  # seconds; each example takes well under 3

# On asyncio, anyio's process-pool shutdown kills a worker twice (from the main task's done
# callback, then from its shutdown task; since agronholm/anyio#1074), and the second kill's
# poll() can reap the worker before asyncio's child watcher, which then logs this line. The
# worker is gone either way; nothing else in an example's stderr is tolerated.
CHILD_WATCHER_RACE = re.compile(r"^.*child process pid \d+.* will report returncode 255\n", re.M)

# A fragment of each example's output per run that shows it did what it says.
EXPECTED = {
    "hello.py": ["[0, 9, 36, 81, 144]"],
    "quickstart.py": [
        "pipeline: stream(range(0, 1000)) | map_(fetch, concurrency=10) | filter_(is_long)",
        "first 5 long pages: [2, 5, 7, 8, 10]",
        "batch of 5: pages [0, 1, 2, 3, 4]",
        "batch of 2: pages [10, 11]",
        "done",
    ],
    "errors.py": [
        "caught ValueError: invalid literal for int() with base 10: 'three'",
        "same object that parse() raised: True",
        "note: streamkit: raised by map_(parse, concurrency=3) on item 2: 'three'",
        "parsed [1, 2, 4, 6], skipped 2",
        "endless pipeline cancelled from outside: True",
    ],
    "ordered_window.py": [
        "output order:  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]",
        "items started while item 0 ran: 19",
        "items started while item 0 ran: 3",
        "at most 4 inputs held at once",
    ],
    "rag.py": [
        "'what is backpressure' -> 'backpressure makes a fast producer wait' [doc-1]",
        "'why not create_task' -> 'create_task leaks tasks that nobody waits for' [doc-9]",
        "reranked 10 questions in",
    ],
    "ml_batch.py": [
        "answered 35 requests in order: True",
        "batch sizes: [8, 8, 8, 8, 1, 1, 1]",
        "model calls: 7 instead of 35",
    ],
    "logging_hooks.py": [
        "INFO run started: stream(list[6]) | map_(parse, concurrency=2, on_error='skip')",
        "WARNING map_(parse, concurrency=2, on_error='skip') failed on item 2 ('three')",
        "INFO map_(parse, concurrency=2, on_error='skip') finished: 6 in, 4 out",
        "INFO map_(<lambda>) finished: 4 in, 4 out",
        "INFO run finished (error: None);",
        "numbers: [10, 20, 40, 60]",
    ],
    "retries.py": [
        "retry https://example.org/3 after attempt 2: ConnectionError",
        "pages: ['<page 0>', '<page 1>', '<page 2>', '<page 3>', '<page 4>', '<page 7>']",
        "failed: https://example.org/6 LookupError",
        "failed: https://example.org/5 TimeoutError",
        "retries 4, failed 2",
        "accounted for: 8 of 8",
    ],
    "crawler.py": [
        "crawled 17 pages: blog.test 6, docs.test 6, shop.test 5",
        "retries 2, failed 1",
        "most requests at once on one host: 2 (per_key=2)",
        "could not fetch http://blog.test/missing: NotFound",
        "pages seen 18 = fetched 17 + failed 1",
    ],
    "early_exit.py": [
        "got [10, 20, 30]",
        "[take] source closed",
        "breaking at 20",
        "[break] source closed",
        "[first] source closed after reading 1 item(s)",
        "first reading: 1",
    ],
    "offload.py": [
        "pipeline: stream(list[8]) | map_(count_primes, concurrency=2, executor='process')",
        "primes below each limit: [2262, 2360, 2464, 2564, 2668, 2762, 2860, 2961]",
        "endless computation cancelled: True",
    ],
    "sharded.py": [
        "shards done: [0, 1, 2, 3, 4, 5]",
        "  offload: 6 in, 6 out",
        "  map_ on the workers: 600 in, 600 out",
        "files written: 18",
        "second run (the ledger has every shard):\nshards done: []",
    ],
    "files.py": [
        "map_(analyse, concurrency=2, executor='process') | batch(5) | map_(write_summary)",
        "lines written per batch: [5, 5, 2]",
        "file-00.txt: 400 words, 3 distinct, top 'batch', 03bec730c194",
        "file-11.txt: 1500 words, 8 distinct, top 'batch', 47aad498bea5",
    ],
    "resumable.py": [
        "first run stopped: the model choked on prompt-25",
        "recorded after the crash: 25",
        "second run evaluated 15 prompts",
        "all 40 done: True",
    ],
    "graceful_stop.py": ["ready", "got SIGTERM: stopping intake", "stopped cleanly after"],
    "notebook.ipynb": [
        "stream(range(0, 40)) | map_(fetch, concurrency=4) | filter_(is_long)",
        "22 long pages out of 40",
        "long pages: 22 items",  # tqdm's text bar: nbclient has no widgets
        "<td>map_(fetch, concurrency=4)</td><td>40</td><td>40</td>",
        "map_(fetch, concurrency=4) is the bottleneck: busy",
        'n1["map_(fetch, concurrency=4)<br/>concurrency 4<br/>window 64"]',
    ],
}


def example_runs() -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    for path in sorted(EXAMPLES.glob("*.py")):
        backends = ["asyncio", "trio"] if "--backend" in path.read_text() else ["default"]
        runs.extend((path.name, backend) for backend in backends)
    return runs


def test_every_example_has_expected_output() -> None:
    examples = [*EXAMPLES.glob("*.py"), *EXAMPLES.glob("*.ipynb")]
    assert {path.name for path in examples} == set(EXPECTED)


@pytest.mark.parametrize(("name", "backend"), example_runs())
def test_example(name: str, backend: str) -> None:
    command = [sys.executable, str(EXAMPLES / name)]
    if backend != "default":
        command += ["--backend", backend]
    # This checkout's streamkit, whichever one is installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if name in SIGNALLED:
        stdout, stderr, returncode = run_and_signal(command, env)
    else:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env, check=False
        )
        stdout, stderr, returncode = result.stdout, result.stderr, result.returncode
    assert returncode == 0, stderr
    assert CHILD_WATCHER_RACE.sub("", stderr) == ""
    for fragment in EXPECTED[name]:
        assert fragment in stdout


SIGNALLED = {"graceful_stop.py"}
"""Examples that run until a signal: the test sends SIGTERM once they print ``ready``."""


def run_and_signal(command: list[str], env: dict[str, str]) -> tuple[str, str, int]:
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
        return first + stdout, stderr, process.returncode


def test_readme_shows_hello_example() -> None:
    """The README's example is examples/hello.py, from its imports on, word for word."""
    source = (EXAMPLES / "hello.py").read_text()
    code = source[source.index("import anyio") :]
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert code in blocks
