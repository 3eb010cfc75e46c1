"""``credlink warn train`` and the learned-warning demo step, as a user runs them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from models.registry import WARNING_MODEL_NAME
from models.registry import ModelRegistry as WarningRegistry
from models.tracking import tracking_uris
from risk.ingest import ingest_paths
from risk.store import migrate, open_engine
from risk.synth import write_county
from serving.cli.warn_model import demo_warning_model, train_warning_command
from serving.settings import Settings
from tests.features.county import small_county

runner = CliRunner()
warn = typer.Typer()
warn.command("train")(train_warning_command)
app = typer.Typer()
app.add_typer(warn, name="warn")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory with a small synthetic county ingested into its store."""
    work_dir = tmp_path_factory.mktemp("work")
    # 2,500 enterprises (the feature tests' county): on 1,500 the rules flag 19 and the gate's
    # precision at their workload compares 2 hits with 3, which one changed feature tips.
    county = small_county()
    write_county(county, work_dir / "county")
    engine = open_engine(Settings(work_dir=work_dir).store_url)
    migrate(engine)
    ingest_paths(engine, [work_dir / "county"], id_salt=county.config.id_salt)
    return work_dir


def test_demo_step_trains_promotes_and_compares_with_the_rules(work: Path) -> None:
    console = Console(width=200, record=True)
    console.print(demo_warning_model(Settings(work_dir=work), date(2026, 6, 30)))
    text = console.export_text()
    assert "precision@100" in text and "vs rules" in text
    assert "credlink-warning version 1 is now champion: holdout AUC" in text
    assert "new violations (floor 0.55), precision at the rules' workload" in text
    assert "self + graph" in text and "self only" in text


def test_train_then_the_gate_refuses_an_equal_version_unless_forced(work: Path) -> None:
    args = ["warn", "train", "--as-of", "2026-06-30", "--work-dir", str(work)]
    refused = runner.invoke(app, [*args, "--json"])
    assert refused.exit_code == 1, refused.output
    payload = json.loads(refused.stdout)
    assert payload["run"]["version"] == "2" and "does not beat champion" in payload["refused"]
    assert {row["features"] for row in payload["ablation"]} == {
        "rules",
        "self only",
        "self + graph",
    }
    assert "--force --actor NAME --reason TEXT" in runner.invoke(app, args).output
    unaccountable = runner.invoke(app, [*args, "--force"])  # refused before any training
    assert unaccountable.exit_code == 2, unaccountable.output
    assert "--actor and --reason are required with --force" in unaccountable.output
    reason = "试点期间按信用办要求上线新版本"
    forced = runner.invoke(app, [*args, "--force", "--actor", "李四", "--reason", reason])
    assert forced.exit_code == 0, forced.output
    assert "version 4 is now champion: holdout AUC" in forced.output
    assert "FORCED by 李四" in forced.output and reason in forced.output
    assert "held-out year" in forced.output and "mlflow ui" in forced.output
    tags = WarningRegistry(tracking_uris(work)[0]).tags(WARNING_MODEL_NAME, "4")
    assert (tags["forced_by"], tags["forced_reason"]) == ("李四", reason)
    bad = runner.invoke(app, ["warn", "train", "--as-of", "2026-13-01", "--work-dir", str(work)])
    assert bad.exit_code == 2


def test_a_store_that_cannot_train_is_one_line(tmp_path: Path) -> None:
    """No records to learn from: one line saying so, exit 2, no traceback."""
    migrate(open_engine(Settings(work_dir=tmp_path).store_url))
    result = runner.invoke(
        app, ["warn", "train", "--as-of", "2026-06-30", "--work-dir", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert "cannot train: the platform must hold records decided by" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
