"""``credlink ingest --live``: files ingested, then what they changed rescored as deltas on the
current score set (a copy of the 1,000-enterprise API county, no models)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from risk.config import RiskConfig
from risk.scoresets import current, events_after, get_set
from risk.store import read_table, score_pointer
from serving.cli import app as cli
from tests.risk.live_helpers import assert_equals_full_recompute, publish_set
from tests.serving.conftest import ApiCounty, copy_county

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory, api_template: Path) -> Iterator[ApiCounty]:
    built = copy_county(api_template, tmp_path_factory.mktemp("ingest-live"))
    yield built
    built.engine.dispose()


def _cli(county: ApiCounty, *args: str) -> tuple[int, str]:
    settings = county.settings
    common = ["--work-dir", str(settings.work_dir), "--database-url", settings.store_url]
    result = runner.invoke(cli, ["ingest", *args, *common])
    return result.exit_code, result.output


def _drop(county: ApiCounty, directory: Path) -> list[Path]:
    """A daily drop: two penalties and a new shareholder (CSV files as a platform sends)."""
    roles = read_table(county.engine, "roles")
    busiest = roles.groupby("uscc").size().sort_values(kind="stable").index[-2:]
    day = county.as_of.replace(day=1).isoformat()
    records = pd.DataFrame(
        [
            {
                "record_id": f"皖清市监罚〔2026〕LIVE{i}号",
                "subject_type": "enterprise",
                "subject_id": uscc,
                "kind": "administrative_penalty",
                "domain": "market_regulation",
                "severity": "serious",
                "authority": "清源县市场监督管理局",
                "decided": day,
            }
            for i, uscc in enumerate(busiest)
        ]
    )
    holding = pd.DataFrame(
        [
            {
                "uscc": busiest[0],
                "holder_type": "enterprise",
                "holder_id": busiest[1],
                "role": "shareholder",
                "share": 0.35,
                "start": day,
                "end": "",
            }
        ]
    )
    directory.mkdir(parents=True, exist_ok=True)
    records.to_csv(directory / "records.csv", index=False)
    holding.to_csv(directory / "roles.csv", index=False)
    return [directory / "records.csv", directory / "roles.csv"]


def test_without_a_score_set_nothing_is_stored(county: ApiCounty, tmp_path: Path) -> None:
    with county.engine.begin() as conn:  # whatever the template published: no current set
        conn.execute(delete(score_pointer))
    paths = _drop(county, tmp_path / "drop")
    code, output = _cli(county, *map(str, paths), "--live")
    assert code == 1 and "no score set has been published" in output
    assert (
        read_table(county.engine, "records")
        .query("record_id.str.startswith('皖清市监罚〔2026〕LIVE')")
        .empty
    )


def test_a_drop_is_ingested_and_rescored_as_deltas(county: ApiCounty, tmp_path: Path) -> None:
    threshold = publish_set(county.engine, RiskConfig(), county.as_of)
    paths = _drop(county, tmp_path / "drop")
    code, output = _cli(county, *map(str, paths), "--live", "--json")
    assert code == 0, output
    answer = json.loads(output[output.index("{") :])
    assert answer["totals"]["inserted"] == 3 and answer["ok"]
    live = {r["table"]: r for r in answer["live"]}
    assert set(live) == {"roles", "records"}  # in dependency order: roles first
    assert [r["table"] for r in answer["live"]] == ["roles", "records"]
    assert live["records"]["changed"] == [  # each record's key: its 文号 and its authority
        "皖清市监罚〔2026〕LIVE0号/清源县市场监督管理局",
        "皖清市监罚〔2026〕LIVE1号/清源县市场监督管理局",
    ]
    pointer = current(county.engine)
    assert pointer is not None and get_set(county.engine, pointer.set_id).seq == pointer.seq
    assert pointer.seq == max(r["seq"] for r in answer["live"]) >= 1
    causes = [c for c in events_after(county.engine)["cause"] if "table" in c]
    assert causes and all("ingest_batches" in c for c in causes)
    assert "assessments kept: no MLflow store (MLFLOW_TRACKING_URI unset" in answer["notes"][0]
    assert_equals_full_recompute(county.engine, RiskConfig(), threshold)

    # The same files again: stored unchanged, nothing rescored.
    code, output = _cli(county, *map(str, paths), "--live")
    assert code == 0, output
    assert "no stored row changed" in output
    again = current(county.engine)
    assert again is not None and again.seq == pointer.seq


def test_live_takes_files_not_directories(county: ApiCounty, tmp_path: Path) -> None:
    code, output = _cli(county, str(tmp_path), "--live")
    assert code == 2 and "--live takes files" in output
