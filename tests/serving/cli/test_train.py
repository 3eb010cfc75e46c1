"""``credlink train`` / ``credlink models`` and the pre-credit demo step, as a user runs them."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from models.registry import ModelRegistry, QualityFloor
from models.tracking import mlflow_session, tracking_uris
from serving.cli import train as cli_train
from serving.cli.train import demo_precredit, models_app, train_app
from serving.settings import Settings
from tests.models.test_table import bank_table
from tests.serving.conftest import copy_county

runner = CliRunner()


@contextmanager
def redirect(console: Console) -> Iterator[None]:
    """Send what the demo step prints to ``console``."""
    saved = cli_train.out
    cli_train.out = console
    try:
        yield
    finally:
        cli_train.out = saved


app = typer.Typer()
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, precredit_template: Path) -> Path:
    """A work directory with the session's pre-credit county in its store, no models yet."""
    county = copy_county(precredit_template, tmp_path_factory.mktemp("work"))
    county.engine.dispose()
    return county.settings.work_dir


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
    assert "psi_score_valid_test" in json.loads(trained.stdout)["metrics"]
    promote = ["models", "promote", "credlink-pd", version, "--work-dir", str(work)]
    refused = runner.invoke(app, promote)
    assert refused.exit_code == 1 and "does not beat champion" in refused.output
    for missing in (["--force"], ["--force", "--actor", "张三"], ["--force", "--reason", "x" * 20]):
        unaccountable = runner.invoke(app, [*promote, *missing])
        assert unaccountable.exit_code == 2, unaccountable.output
        assert "--actor and --reason are required with --force" in unaccountable.output
    too_short = runner.invoke(app, [*promote, "--force", "--actor", "张三", "--reason", "why"])
    assert too_short.exit_code == 2 and "reason must have 10–500 characters" in too_short.output
    reason = "月度复核：同一数据重新训练，信用办同意上线"
    forced = runner.invoke(app, [*promote, "--force", "--actor", "张三", "--reason", reason])
    assert forced.exit_code == 0, forced.output
    assert f"version {version} is now champion" in forced.output
    assert "FORCED by 张三" in forced.output and reason in forced.output
    assert "failed checks: challenger score" in forced.output
    tags = ModelRegistry(tracking_uris(work)[0]).tags("credlink-pd", version)
    assert (tags["forced_by"], tags["forced_reason"]) == ("张三", reason)
    assert "does not beat champion" in json.loads(tags["forced_failures"])[0]
    missing = runner.invoke(
        app, ["models", "promote", "credlink-pd", "99", "--work-dir", str(work)]
    )
    assert missing.exit_code == 2


def test_a_version_that_cannot_load_is_one_line_and_never_promoted(work: Path) -> None:
    trained = runner.invoke(
        app, ["train", "precredit", "--as-of", "2026-06-30", "--work-dir", str(work), "--json"]
    )
    assert trained.exit_code == 0, trained.output
    version = json.loads(trained.stdout)["pd_run"]["version"]
    uri = tracking_uris(work)[0]
    with mlflow_session(uri) as client:
        location = client.get_model_version_download_uri("credlink-pd", version)
    booster = Path(unquote(urlparse(location).path)) / "artifacts" / "estimator" / "booster.txt"
    booster.write_bytes(booster.read_bytes()[:1000])
    forced = runner.invoke(
        app,
        ["models", "promote", "credlink-pd", version, "--work-dir", str(work),
         "--force", "--actor", "张三", "--reason", "a broken version, forced anyway"],
    )  # fmt: skip
    assert forced.exit_code == 1
    lines = forced.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in forced.output, forced.output
    assert f"credlink-pd version {version}: artifact booster.txt" in lines[0]
    assert "changed after registration" in lines[0]
    assert ModelRegistry(uri).alias_version("credlink-pd") != version


def test_the_demo_says_so_when_the_floor_refuses_and_carries_on(work: Path, tmp_path: Path) -> None:
    # The store, no MLflow yet; sqlite3's backup copies what is still in the WAL file too.
    with (
        sqlite3.connect(work / "credlink.db") as source,
        sqlite3.connect(tmp_path / "credlink.db") as copy,
    ):
        source.backup(copy)
    console = Console(width=200, record=True)
    with redirect(console):
        result = demo_precredit(
            Settings(work_dir=tmp_path), date(2026, 6, 30), floor=QualityFloor(min_auc=0.99)
        )
    text = console.export_text()
    assert not result["promotions"]["credlink-pd"].promoted
    assert "credlink-pd version 1 stays challenger: holdout AUC" in text
    assert "below the floor 0.99" in text
    assert "no pre-credit champion pair" in text and "/readyz" in text
    assert "challenger preview" in text
    assert result["whitelist"]["whitelisted"].sum() > 0


def test_train_a_bank_table(work: Path, tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    bank_table().to_csv(path, index=False)
    result = runner.invoke(
        app,
        ["train", "precredit", "--table", str(path), "--target", "defaulted", "--id", "loan_no",
         "--date", "opened", "--name", "bank-csv", "--trials", "2", "--work-dir", str(work)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "out-of-time on the development rows" in result.output and "mlflow ui" in result.output
    assert "chosen: " in result.output and "scorecard" in result.output
    assert "fitted grades (cut on the out-of-fold PDs)" in result.output
    assert "selection AUC" in result.output and "test AUC" in result.output
    assert "used for selection: selection-biased" in result.output
    for name in ("scorecard", "default LightGBM", "tuned LightGBM"):  # AUC, ± std, test AUC
        row = next(line for line in result.output.splitlines() if f"│ {name} " in line)
        assert len(re.findall(r"\b[01]\.\d{3}\b", row)) == 3, row
    no_target = runner.invoke(
        app, ["train", "precredit", "--table", str(path), "--work-dir", str(work)]
    )
    assert no_target.exit_code == 2 and "--target is required" in no_target.output
    wrong = runner.invoke(
        app, ["train", "precredit", "--table", str(tmp_path / "x.txt"), "--target", "y"]
    )
    assert wrong.exit_code == 2


def test_a_bank_table_that_cannot_train_is_one_line_with_what_to_do(tmp_path: Path) -> None:
    """A misspelt --target, labels written as words, a slice without bads: one line on
    standard error naming the problem and what to do, exit 2, never a traceback."""
    table = bank_table(400, seed=5)
    table["defaulted"] = table["defaulted"].map({True: "bad", False: "good"})
    words = tmp_path / "loans.csv"
    table.to_csv(words, index=False)
    table.assign(defaulted=0).to_csv(tmp_path / "no_bads.csv", index=False)
    base = ["train", "precredit", "--work-dir", str(tmp_path / "work")]
    cases = {
        "defaultd": (words, "cannot train: --target defaultd: not a column of loans.csv ("),
        "defaulted": (words, "got 'good', 'bad': map the labels to 0/1 first"),
    }
    for target, (path, expected) in cases.items():
        result = runner.invoke(app, [*base, "--table", str(path), "--target", target])
        assert result.exit_code == 2, result.output
        assert expected in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    empty = runner.invoke(
        app, [*base, "--table", str(tmp_path / "no_bads.csv"), "--target", "defaulted"]
    )
    assert empty.exit_code == 2 and "must hold goods and bads" in empty.output
    assert "too few loans or bads" in empty.output and "Traceback" not in empty.output


def test_folds_with_one_bad_to_fit_on_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    """60 loans, 3 bads, --folds 2: a fold fits on one bad, which LightGBM's stratified
    early-stopping split cannot divide; the user reads how many bads and what to do."""
    table = bank_table(60, seed=1).drop(columns="opened")
    table["defaulted"] = table.index.isin([3, 17, 41])
    path = tmp_path / "few_bads.csv"
    table.to_csv(path, index=False)
    result = runner.invoke(
        app,
        ["train", "precredit", "--table", str(path), "--target", "defaulted", "--id", "loan_no",
         "--folds", "2", "--trials", "1", "--work-dir", str(tmp_path / "work")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "fits on 24 rows with 1 bads" in result.output
    assert "lower --folds or bring more loans" in result.output


def _scored(whitelisted: list[bool]) -> pd.DataFrame:
    n = len(whitelisted)
    return pd.DataFrame(
        {
            "uscc": [f"U{i}" for i in range(n)],
            "eligible": [True] * n,
            "whitelisted": whitelisted,
            "pd": [0.01 * (i + 1) for i in range(n)],
            "grade": [1] * n,
            "suggested_limit": [100.0] * n,
            "limit_low": [80.0] * n,
            "limit_high": [120.0] * n,
            "risk_reasons_zh": [["—"]] * n,
            "strength_reasons_zh": [["纳税信用A级"]] * n,
            "decline_reasons_zh": [[]] * n,
        }
    )


def test_the_whitelist_says_so_when_nobody_qualifies_instead_of_an_empty_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    enterprises = pd.DataFrame({"uscc": ["U0", "U1"], "name": ["甲公司", "乙公司"]})
    cli_train._print_whitelist(_scored([False, False]), enterprises, date(2026, 6, 30))
    printed = capsys.readouterr().out
    assert "0 of 2 active enterprises" in printed
    assert "no enterprise qualifies for the whitelist" in printed
    assert "the 10 lowest PDs" not in printed
    cli_train._print_whitelist(_scored([True, False]), enterprises, date(2026, 6, 30))
    printed = capsys.readouterr().out
    assert "the 10 lowest PDs" in printed and "甲公司" in printed
    assert "no enterprise qualifies" not in printed
