"""``credlink synth``, ``ingest`` and ``quarantine`` as a user drives them: synth → ingest →
re-ingest, refusals, and no raw ID number in what they print."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from serving.cli import app

runner = CliRunner()


def test_synth_ingest_reingest_json(env: Path) -> None:
    county = env / "county"
    result = runner.invoke(app, ["synth", "--out", str(county), "--enterprises", "300"])
    assert result.exit_code == 0, result.output
    assert {p.stem for p in county.glob("*.csv")} >= {
        "enterprises",
        "persons",
        "roles",
        "records",
        "financials",
        "loans",
    }

    first = runner.invoke(app, ["ingest", str(county), "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["ok"] and all(f["reconciled"] for f in summary["files"])
    totals = summary["totals"]
    assert totals["read"] == totals["inserted"] + totals["quarantined"] > 0
    assert summary["uscc_report"]["meets_target"]

    second = json.loads(runner.invoke(app, ["ingest", str(county), "--json"]).stdout)
    assert second["totals"]["unchanged"] == totals["inserted"]
    assert second["totals"]["inserted"] == second["totals"]["updated"] == 0


def test_ingest_refused_file_exits_1_and_names_column(env: Path) -> None:
    path = env / "enterprises.csv"
    pd.DataFrame({"uscc": ["91110000600037341L"], "name": ["甲公司"]}).to_csv(path, index=False)
    result = runner.invoke(app, ["ingest", str(path), "--json"])
    assert result.exit_code == 1
    (file,) = json.loads(result.stdout)["files"]
    assert file["status"] == "refused"
    assert "kind" in file["message"] and "founded" in file["message"]


def test_ingest_missing_path_is_a_usage_error(env: Path) -> None:
    result = runner.invoke(app, ["ingest", str(env / "nope.csv")])
    assert result.exit_code == 2
    assert "path must exist" in result.output


def test_synth_rejects_unknown_header_language(env: Path) -> None:
    result = runner.invoke(app, ["synth", "--out", str(env / "c"), "--headers", "fr"])
    assert result.exit_code == 2
    assert "headers must be en or zh" in result.output


def test_quarantine_list_shows_reason(env: Path) -> None:
    path = env / "enterprises.csv"
    path.write_text(
        "uscc,name,kind,status,industry,region,registered_capital,founded\n"
        "91110000600037341A,坏码公司,company,active,C,110000,100,2010-01-01\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["ingest", str(path)]).exit_code == 0
    result = runner.invoke(app, ["quarantine", "list", "--json"])
    (row,) = json.loads(result.stdout)
    assert row["row_number"] == 2 and row["column_name"] == "uscc"
    assert "check character must be 'L'" in row["reason"]


ID_NUMBER = "11010519491231002X"  # the GB 11643 standard example (check character X)


def test_ingest_output_never_shows_a_raw_id_number(env: Path) -> None:
    enterprise = "91110000600037341L"
    path = env / f"roles_{ID_NUMBER}.csv"
    path.write_text(
        "uscc,holder_type,holder_id,role,share,start,end\n"
        f"{enterprise},person,{ID_NUMBER},legal_rep,,2020-01-05,\n"
        f"{enterprise},person,P-{ID_NUMBER[:6]},legal_rep,,2021-01-05,\n",
        encoding="utf-8",
    )

    table = runner.invoke(app, ["ingest", str(path)])
    as_json = runner.invoke(app, ["ingest", str(path), "--json"])
    listed = runner.invoke(app, ["quarantine", "list"])
    listed_json = runner.invoke(app, ["quarantine", "list", "--json"])

    for result in (table, as_json, listed, listed_json):
        assert result.exit_code == 0, result.output
        assert ID_NUMBER not in result.output
    assert "110105********002X" in table.output  # the file name, masked
    (file,) = json.loads(as_json.stdout)["files"]
    assert file["orphans"] == 1 and file["quarantined"] == 1
    rows = json.loads(listed_json.stdout)
    assert {r["column_name"] for r in rows} == {"holder_id"}


def test_quarantine_list_masks_rows_stored_before_the_masking(env: Path) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from risk.store import ingest_batches, migrate, open_engine, quarantine

    engine = open_engine(f"sqlite:///{env / 'work' / 'credlink.db'}")
    migrate(engine)
    with engine.begin() as conn:
        batch = conn.execute(
            insert(ingest_batches).returning(ingest_batches.c.id),
            {
                "source": f"/in/{ID_NUMBER}.csv",
                "sha256": "0" * 64,
                "table_name": "persons",
                "started_at": datetime.now(UTC),
                "status": "ok",
            },
        ).scalar_one()
        conn.execute(
            insert(quarantine),
            {
                "batch_id": batch,
                "source": f"/in/{ID_NUMBER}.csv",
                "row_number": 2,
                "column_name": "name",
                "reason": f"name is odd; got '{ID_NUMBER}'",
                "raw": {"name": ID_NUMBER},
            },
        )
    engine.dispose()

    for args in (["quarantine", "list"], ["quarantine", "list", "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert ID_NUMBER not in result.output
        assert "110105********002X" in result.output
