"""Pipeline diagrams: each operator describes itself as a :class:`Node`; :func:`to_mermaid`
draws the nodes as a Mermaid flowchart.

An operator describes itself through a ``diagram_node()`` method (:class:`StreamOperator` has
one); any other callable is drawn by name. A fan-out operator returns a node with
``branches``: each branch is a chain of nodes that starts from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Kind = Literal["source", "operator", "custom"]


@dataclass(frozen=True, slots=True)
class Node:
    """One box of a pipeline diagram."""

    label: str
    """The operator (or source) as written, e.g. ``map_(fetch, concurrency=16)``."""
    details: tuple[str, ...] = ()
    """Short facts shown under the label, e.g. ``("concurrency 16", "window 256")``."""
    branches: tuple[tuple[Node, ...], ...] = ()
    """For fan-out: the chains of nodes fed by this one, besides the main line."""
    kind: Kind = "operator"
    """``"source"``, a streamkit ``"operator"``, or a ``"custom"`` (user-written) operator."""


@runtime_checkable
class Drawable(Protocol):
    """An operator that says how it is drawn."""

    def diagram_node(self) -> Node: ...


_SHAPES: dict[Kind, tuple[str, str]] = {
    "source": ('(["', '"])'),
    "operator": ('["', '"]'),
    "custom": ('[["', '"]]'),
}


def to_mermaid(nodes: Iterable[Node]) -> str:
    """A Mermaid flowchart (left to right) of ``nodes`` in a line, with their branches."""
    lines = ["flowchart LR"]
    counter = itertools.count()

    def draw(chain: Iterable[Node], previous: str | None) -> None:
        for node in chain:
            name = f"n{next(counter)}"
            text = "<br/>".join(_escape(part) for part in (node.label, *node.details))
            opening, closing = _SHAPES[node.kind]
            lines.append(f"    {name}{opening}{text}{closing}")
            if previous is not None:
                lines.append(f"    {previous} --> {name}")
            for branch in node.branches:
                draw(branch, name)
            previous = name

    draw(nodes, None)
    return "\n".join(lines)


def _escape(text: str) -> str:
    # Mermaid's entity codes (#34; for a quote): a quote would end the label, < and > would
    # read as HTML, and a line break would end the statement.
    return "".join(
        f"#{ord(char)};" if char in '#"<>' or not char.isprintable() else char for char in text
    )
