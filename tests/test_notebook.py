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

from tests.test_examples import EXPECTED

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


def shown(cell: Any) -> str:
    """Everything a code cell showed: printed text and each format of its displayed results."""
    parts: list[str] = []
    for output in cell.outputs:
        assert output.output_type != "error", output
        if output.output_type == "stream":
            parts.append(output.text)
        else:
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
    output = "".join(shown(cell) for cell in cells.values())
    for fragment in EXPECTED[NOTEBOOK.name]:
        assert fragment in output

    # The notebook display: a stream as a Mermaid diagram, a finished pipeline as a table.
    [stream_display] = cells["pipeline"].outputs
    assert stream_display.data["text/markdown"].startswith("```mermaid\nflowchart LR\n")
    [pipeline_display] = cells["statistics"].outputs
    table = pipeline_display.data["text/html"]
    assert table.startswith("<table>")
    assert "</table><p>finished, " in table
    assert "is the bottleneck" in table
