"""A resumable evaluation job: the ledger records what is done, a restart skips it.

The first run crashes halfway (a bad prompt); the second run, with the same ledger file,
evaluates only what the first did not finish. The sink is idempotent (results keyed on the
prompt id, written again harmlessly), as at-least-once delivery needs.
Run it with ``python examples/resumable.py --backend trio``.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import anyio

from streamkit import Ledger, Stream, map_, stream

PROMPTS = [f"prompt-{i}" for i in range(40)]


async def main() -> None:
    folder = tempfile.mkdtemp()
    ledger = Ledger(os.path.join(folder, "job.sqlite"), batch_size=8)
    results: dict[str, str] = {}  # the sink's store: an upsert keyed on the prompt id
    calls: list[str] = []

    def job(crash_at: str | None) -> Stream[str]:
        async def evaluate(prompt: str) -> tuple[str, str]:
            calls.append(prompt)
            await anyio.sleep(0.001)  # stands in for a model call
            if prompt == crash_at:
                raise RuntimeError(f"the model choked on {prompt}")
            return prompt, prompt.upper()

        def save(result: tuple[str, str]) -> str:
            prompt, answer = result
            results[prompt] = answer  # idempotent: writing it twice changes nothing
            return prompt

        return stream(PROMPTS).pipe(
            ledger.skip_done(key=str),
            map_(evaluate, concurrency=4),
            map_(save),
            ledger.mark_done(key=str),
        )

    try:
        await job(crash_at="prompt-25").drain()
    except RuntimeError as exc:
        print(f"first run stopped: {exc}")
    print(f"recorded after the crash: {len(ledger)}")
    first_calls = len(calls)
    await job(crash_at=None).drain()
    print(f"second run evaluated {len(calls) - first_calls} prompts")
    print(f"all {len(PROMPTS)} done: {len(results) == len(PROMPTS) and len(ledger) == 40}")
    ledger.close()


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
