"""``credlink demo`` end to end, twice: the second run re-ingests only unchanged rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_demo_twice_second_run_only_unchanged(env: Path) -> None:
    args = ["demo", "--enterprises", "300", "--work-dir", str(env / "demo"), "--no-serve"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "重错码 report" in first.output
    assert "current score set → 1" in first.output  # the pipeline published the set
    # MLflow's own progress lines stay out of the demo's output
    for noise in ("INFO mlflow", "Successfully registered model", "Created version"):
        assert noise not in first.output, noise
    second = runner.invoke(app, args)
    assert "current score set → 2" in second.output
    assert second.exit_code == 0, second.output
    total = [line for line in second.output.splitlines() if line.strip().startswith("│ total")]
    assert total, second.output
    cells = [c.strip() for c in total[-1].split("│") if c.strip()]
    # total row: read, inserted, updated, unchanged, quarantined, orphans
    read, inserted, updated, unchanged = (int(c.replace(",", "")) for c in cells[1:5])
    assert inserted == updated == 0
    assert unchanged > 0 and read == unchanged + int(cells[5].replace(",", ""))
