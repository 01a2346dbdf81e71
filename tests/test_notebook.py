"""Execute ``examples/notebook.ipynb`` in a Jupyter kernel, as a user would, and check its outputs.

The docs point notebook users at this file, so this keeps it working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "notebook.ipynb"
KERNEL = "streamkit-tests"


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec that starts this interpreter, found before any other, so that the notebook
    runs with the Python (and this checkout's streamkit) that runs the tests, in any venv."""
    write_kernel_spec(tmp_path / "kernels" / KERNEL)  # argv[0] is sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return KERNEL


def text(cell: Any) -> str:
    """Everything a code cell showed: streams, printed results and plain-text reprs."""
    parts: list[str] = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in {"execute_result", "display_data"}:
            parts.extend(str(value) for value in output.data.values())
    return "".join(parts)


@pytest.mark.slow
def test_notebook_runs(kernel_name: str) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        kernel_name=kernel_name,
        timeout=60,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()  # raises CellExecutionError if a cell fails
    cells = {cell.id: cell for cell in notebook.cells if cell.cell_type == "code"}
    for cell in cells.values():
        assert all(output.output_type != "error" for output in cell.outputs)

    shown = cells["pipeline"].outputs[0].data
    assert shown["text/plain"] == (
        "stream(range(0, 40)) | map_(fetch, concurrency=4) | filter_(is_long)"
    )
    assert shown["text/markdown"].startswith("```mermaid\nflowchart LR\n")
    assert "22 long pages out of 40" in text(cells["collect"])
    assert "long pages: 22" in text(cells["progress"])  # tqdm's text bar, on stderr
    table = cells["statistics"].outputs[0].data["text/html"]
    assert "<td>map_(fetch, concurrency=4)</td><td>40</td><td>40</td>" in table
    assert "finished" in table
    assert "map_(fetch, concurrency=4) is the bottleneck" in text(cells["hint"])
    assert 'n1["map_(fetch, concurrency=4)<br/>concurrency 4' in text(cells["mermaid"])
