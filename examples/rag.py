"""RAG-style retrieval: fetch passages per question, rerank them in batches, enrich the best.

Three stages with different shapes, against in-process fakes (no network):

- ``retrieve`` is I/O-bound: many calls at once (``map_(..., concurrency=8)``);
- ``rerank`` is a model that prefers batches: ``batch(4, timeout=0.05)`` groups questions, so a
  slow trickle still gets answered within 50 ms, and ``flatten`` unpacks each batch;
- ``enrich`` fetches metadata for the winning passage, a few calls at once.

Run it with ``python examples/rag.py`` (asyncio) or ``python examples/rag.py --backend trio``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import anyio

from streamkit import batch, flatten, map_, open_pipeline

QUESTIONS = [
    "how do cancel scopes work",
    "what is backpressure",
    "why bound a buffer",
    "what does take do",
    "how are errors reported",
    "what is a reorder window",
    "when to use flat_map",
    "how to test with virtual time",
    "what is structured concurrency",
    "why not create_task",
]

CORPUS = [
    "cancel scopes stop work at once",
    "backpressure makes a fast producer wait",
    "a bounded buffer keeps memory flat",
    "take stops upstream work and closes the source",
    "errors reach you as the same object with a note",
    "a reorder window bounds the results held for order",
    "flat_map turns one item into many",
    "virtual time jumps ahead when every task sleeps",
    "structured concurrency means no task outlives its block",
    "create_task leaks tasks that nobody waits for",
]


STOP_WORDS = {"a", "are", "do", "does", "how", "is", "not", "to", "use", "what", "when", "why"}


def keywords(text: str) -> set[str]:
    return set(text.split()) - STOP_WORDS


@dataclass(frozen=True)
class Answer:
    question: str
    passage: str
    score: int
    source: str = ""


async def retrieve(question: str) -> tuple[str, list[str]]:
    """A fake vector store: the three passages sharing the most words, after some latency."""
    await anyio.sleep(0.01 + len(question) % 3 * 0.01)
    words = keywords(question)
    ranked = sorted(CORPUS, key=lambda passage: -len(words & keywords(passage)))
    return question, ranked[:3]


batch_sizes: list[int] = []


async def rerank(group: list[tuple[str, list[str]]]) -> list[Answer]:
    """A fake cross-encoder: one call scores a whole batch of questions."""
    batch_sizes.append(len(group))
    await anyio.sleep(0.02)
    answers: list[Answer] = []
    for question, passages in group:
        words = keywords(question)
        scored = [(len(words & keywords(p)) * 10 + len(p) % 7, p) for p in passages]
        score, best = max(scored)
        answers.append(Answer(question, best, score))
    return answers


async def enrich(answer: Answer) -> Answer:
    """A fake metadata service."""
    await anyio.sleep(0.005)
    source = f"doc-{CORPUS.index(answer.passage)}"
    return Answer(answer.question, answer.passage, answer.score, source)


async def main() -> None:
    async with open_pipeline(
        QUESTIONS,
        map_(retrieve, concurrency=8),
        batch(4, timeout=0.05),
        map_(rerank),
        flatten(),
        map_(enrich, concurrency=4),
    ) as answers:
        async for answer in answers:
            print(f"{answer.question!r} -> {answer.passage!r} [{answer.source}]")
    print(f"reranked {sum(batch_sizes)} questions in {len(batch_sizes)} batches")


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit RAG-style pipeline")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
