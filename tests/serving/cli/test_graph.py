"""``credlink graph`` commands on the session's ingested county."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk.synth import SynthConfig
from serving.cli import app
from tests.serving.conftest import copy_county

runner = CliRunner()
AS_OF = SynthConfig().end.isoformat()


@pytest.fixture(scope="module")
def county_store(tmp_path_factory: pytest.TempPathFactory, api_template: Path) -> Path:
    """A work directory holding a copy of the session's ingested 1,000-enterprise county."""
    county = copy_county(api_template, tmp_path_factory.mktemp("graph-cli"))
    county.engine.dispose()
    return county.settings.work_dir


def invoke(work: Path, *args: str) -> object:
    return runner.invoke(app, [*args, "--work-dir", str(work)])


def test_build_prints_graph_and_top_linked(county_store: Path) -> None:
    result = invoke(county_store, "graph", "build", "--as-of", AS_OF, "--top", "3")
    assert result.exit_code == 0, result.output
    assert "nodes" in result.output and "关联企业群" in result.output
    assert "top" in result.output and "linked-risk enterprises" in result.output


def test_explain_json_cites_records_and_masks_persons(county_store: Path) -> None:
    build = invoke(county_store, "graph", "build", "--as-of", AS_OF, "--top", "1")
    uscc = next(tok for tok in build.output.split() if len(tok) == 18 and tok.startswith("9"))
    result = invoke(county_store, "graph", "explain", uscc, "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["sources"], payload
    assert all(source["record_id"] for source in payload["sources"])


def test_explain_unknown_enterprise_exits_2(county_store: Path) -> None:
    result = invoke(county_store, "graph", "explain", "91110000600037341L", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "91110000600037341L" in result.output


def test_bad_as_of_is_a_usage_error(county_store: Path) -> None:
    result = invoke(county_store, "graph", "build", "--as-of", "2026-02-30")
    assert result.exit_code == 2
    assert "as-of must be a date" in result.output


def test_controller_unknown_and_known(county_store: Path) -> None:
    missing = invoke(county_store, "graph", "controller", "91110000600037341L")
    assert missing.exit_code == 2 and "not in the store" in missing.output


def test_bods_export_import_round_trip_changes_nothing(county_store: Path) -> None:
    target = county_store / "bods.jsonl"
    exported = invoke(county_store, "graph", "export-bods", str(target), "--as-of", AS_OF)
    assert exported.exit_code == 0, exported.output
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines and all(json.loads(line)["recordType"] for line in lines)
    imported = invoke(county_store, "graph", "import-bods", str(target))
    assert imported.exit_code == 0, imported.output
    for row in imported.output.splitlines():
        if row.startswith("│ roles") or row.startswith("│ enterprises"):
            cells = [c.strip() for c in row.split("│") if c.strip()]
            assert cells[2] == "0" and cells[3] == "0", row  # nothing inserted or updated
