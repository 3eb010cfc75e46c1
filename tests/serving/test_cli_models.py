"""``credlink train`` / ``credlink models`` and the pre-credit demo step, as a user runs them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from risk.ingest import ingest_paths
from risk.store import migrate, open_engine
from risk.synth import write_county
from serving.cli_models import demo_precredit, models_app, train_app
from serving.settings import Settings
from tests.features.county import small_county
from tests.models.test_training import bank_table

runner = CliRunner()
app = typer.Typer()
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory with the synthetic county ingested into its store."""
    work_dir = tmp_path_factory.mktemp("work")
    county = small_county(3000, 0)
    write_county(county, work_dir / "county")
    engine = open_engine(Settings(work_dir=work_dir).store_url)
    migrate(engine)
    ingest_paths(engine, [work_dir / "county"], id_salt=county.config.id_salt)
    return work_dir


def test_demo_step_trains_promotes_and_prints_the_whitelist(work: Path) -> None:
    result = demo_precredit(Settings(work_dir=work), date(2026, 6, 30))
    assert result["metrics"]["test_auc"] > 0.6
    assert all(p.promoted for p in result["promotions"].values())
    whitelist = result["whitelist"]
    assert whitelist["whitelisted"].sum() > 0 and (~whitelist["eligible"]).sum() > 0
    listed = runner.invoke(app, ["models", "list", "--json", "--work-dir", str(work)])
    assert listed.exit_code == 0, listed.output
    aliases = {(r["name"], r["version"]): r["aliases"] for r in json.loads(listed.stdout)}
    assert aliases[("credlink-pd", "1")] == "champion"


def test_train_from_the_store_then_the_gate_refuses_an_equal_challenger(work: Path) -> None:
    trained = runner.invoke(
        app, ["train", "precredit", "--as-of", "2026-06-30", "--work-dir", str(work), "--json"]
    )
    assert trained.exit_code == 0, trained.output
    version = json.loads(trained.stdout)["pd_run"]["version"]
    refused = runner.invoke(
        app, ["models", "promote", "credlink-pd", version, "--work-dir", str(work)]
    )
    assert refused.exit_code == 1 and "does not beat champion" in refused.output
    forced = runner.invoke(
        app, ["models", "promote", "credlink-pd", version, "--force", "--work-dir", str(work)]
    )
    assert forced.exit_code == 0 and "is now champion (forced past" in forced.output
    missing = runner.invoke(
        app, ["models", "promote", "credlink-pd", "99", "--work-dir", str(work)]
    )
    assert missing.exit_code == 2


def test_train_a_bank_table(work: Path, tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    bank_table().to_csv(path, index=False)
    result = runner.invoke(
        app,
        ["train", "precredit", "--table", str(path), "--target", "defaulted", "--id", "loan_no",
         "--date", "opened", "--name", "bank-csv", "--work-dir", str(work)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "PD model, out-of-time evaluation" in result.output and "mlflow ui" in result.output
    no_target = runner.invoke(
        app, ["train", "precredit", "--table", str(path), "--work-dir", str(work)]
    )
    assert no_target.exit_code == 2 and "--target is required" in no_target.output
    wrong = runner.invoke(
        app, ["train", "precredit", "--table", str(tmp_path / "x.txt"), "--target", "y"]
    )
    assert wrong.exit_code == 2
