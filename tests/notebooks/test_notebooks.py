"""The analyst notebooks run end to end on a small county and are committed without outputs.

Each notebook is executed with nbclient after its ``parameters`` cell is rewritten to point
at a temporary work directory; the first notebook builds the county there, the others reuse
it. The retraining notebook runs twice so that the second run has a champion to compare with.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from nbformat import NotebookNode

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPLORE = NOTEBOOKS / "0.1-explore-linked-risk.ipynb"
RETRAIN = NOTEBOOKS / "1.0-retrain-precredit.ipynb"
ENTERPRISES = 2000  # quick, yet (seed 0) enough loans for an out-of-time split with bads
AS_OF = "2026-06-30"


def _parameters_cell(notebook: NotebookNode) -> NotebookNode:
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook must have exactly one cell tagged 'parameters'"
    return tagged[0]


def _run(path: Path, work_dir: Path) -> NotebookNode:
    """Execute a notebook with injected parameters; return it with outputs."""
    notebook = nbformat.read(path, as_version=4)
    parameters = {"WORK_DIR": str(work_dir), "ENTERPRISES": ENTERPRISES, "AS_OF": AS_OF}
    _parameters_cell(notebook).source = "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(work_dir.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    return notebook


def _text(notebook: NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise AssertionError(f"cell raised {output['ename']}: {output['evalue']}")
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _images(notebook: NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


def _check_all_ran(notebook: NotebookNode) -> None:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell {cell.get('id')} did not run"


@pytest.mark.parametrize("path", [EXPLORE, RETRAIN], ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    _parameters_cell(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {cell.get('id')} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {cell.get('id')} was run"


def test_promotion_is_its_own_cell() -> None:
    notebook = nbformat.read(RETRAIN, as_version=4)
    promoting = [c for c in notebook.cells if ".promote(" in c.source]
    assert len(promoting) == 1
    assert "train_precredit(" not in promoting[0].source
    assert "promote" in promoting[0].metadata.get("tags", [])


@pytest.mark.slow
def test_notebooks_run_on_a_small_county(tmp_path: Path) -> None:
    work_dir = tmp_path / "credlink-work"

    explore = _run(EXPLORE, work_dir)
    _check_all_ran(explore)
    text = _text(explore)
    assert f"built a {ENTERPRISES:,}-enterprise county" in text
    top = int(text.split("TOP LINKED: ")[1].split()[0])
    assert top > 0, "the top linked-risk table must not be empty"
    assert "EGO GRAPH: " in text
    assert _images(explore) >= 2  # group sizes, ego graph

    first = _run(RETRAIN, work_dir)
    _check_all_ran(first)
    text = _text(first)
    assert "using the existing store" in text
    assert "no champion yet" in text
    assert "PROMOTION credlink-pd v1: promoted=" in text
    assert "PROMOTION credlink-limit v1: promoted=" in text
    assert _images(first) >= 1

    second = _run(RETRAIN, work_dir)  # now there is a champion to compare with
    _check_all_ran(second)
    text = _text(second)
    assert "challenger version 2" in text
    assert "PROMOTION credlink-pd v2: promoted=" in text
