"""risk.ingest.pipeline and risk.ingest.upsert: idempotent upserts, orphans, dependency order,
failed transactions and the USCC report.

See :mod:`tests.risk.ingest_helpers` for how the files are written and what is asserted.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

import risk.ingest.pipeline
import risk.ingest.upsert
from risk.ingest import FileSummary, IngestSummary, ingest_paths
from tests.risk.ingest_helpers import (
    ENTERPRISES,
    FINANCIALS,
    ID_X,
    LOANS,
    RECORDS,
    ROLES,
    SALT,
    U1,
    U2,
    U3,
    U4,
    U5,
    U6,
    batches,
    code,
    count,
    ent,
    ingest,
    quarantined,
    rec,
    stored,
    write,
    wrong_check,
)

# --------------------------------------------------------------------------- idempotency


def test_reingesting_is_idempotent_and_detects_one_changed_value(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [ent(U1), ent(U2, capital="250"), ent(U3)]
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, rows)

    first = ingest(engine, path)
    second = ingest(engine, path)
    rows[1] = ent(U2, capital="300")
    changed = ingest(engine, write(tmp_path, "enterprises.csv", ENTERPRISES, rows))

    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)
    assert stored(engine, "enterprises")["registered_capital"].tolist() == [100.0, 300.0, 100.0]
    logged = batches(engine)
    assert [(b["status"], b["inserted"], b["updated"], b["unchanged"]) for b in logged] == [
        ("ok", 3, 0, 0),
        ("ok", 0, 0, 3),
        ("ok", 0, 1, 2),
    ]
    assert all(b["rows_read"] == 3 and b["finished_at"] is not None for b in logged)


def test_directory_of_all_six_tables_reingests_unchanged(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "county"
    write(
        folder,
        "loans.csv",
        LOANS,
        [f"L1,{U1},来安农商银行,2024-01-10,100,80,12,overdue_30,2024-06-30"],
    )
    write(
        folder,
        "financials.csv",
        FINANCIALS,
        [f"{U1},2024,12.5,B,8,95%,", f"{U1},2024Q1,3,,,0.9,40"],
    )
    write(folder, "records.csv", RECORDS, [rec("R1", U1), rec("R2", "P1", subject_type="person")])
    write(
        folder,
        "roles.csv",
        ROLES,
        [
            f"{U1},person,P1,legal_rep,,2020-01-05,",
            f"{U1},person,P1,shareholder,60%,2020-01-05,",
            f"{U2},enterprise,{U1},branch_of,,2021-03-01,2023-03-01",
        ],
    )
    write(folder, "persons.csv", "person_id,name,id_number", [f"P1,张三,{ID_X}"])
    write(folder, "enterprises.csv", ENTERPRISES, [ent(U1), ent(U2, kind="branch")])
    write(folder, "hidden_risk.csv", "uscc", [U1])  # the generator's answer key: never ingested
    (folder / "README.md").write_text("not data", encoding="utf-8")

    first = ingest_paths(engine, [folder], id_salt=SALT)
    second = ingest_paths(engine, [folder], id_salt=SALT)

    order = ["enterprises", "persons", "roles", "records", "financials", "loans"]
    assert [f.table for f in first.files] == order
    assert first.ok and second.ok
    assert all(f.reconciled and f.orphans == 0 and f.quarantined == 0 for f in first.files)
    assert [f.inserted for f in first.files] == [2, 1, 3, 2, 2, 1]
    assert [(f.inserted, f.updated) for f in second.files] == [(0, 0)] * 6
    assert [f.unchanged for f in second.files] == [2, 1, 3, 2, 2, 1]
    assert stored(engine, "financials")["utility_on_time"].tolist() == pytest.approx([0.95, 0.9])


# --------------------------------------------------------------------------- orphans, order


def test_record_of_an_unknown_enterprise_is_kept_and_reported(
    engine: Engine, tmp_path: Path
) -> None:
    ingest(engine, write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1)]))
    path = write(tmp_path, "records.csv", RECORDS, [rec("R1", U1), rec("R2", U6)])

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (2, 0)
    assert summary.orphans == 1
    assert summary.orphan_examples == [U6]
    assert stored(engine, "records")["subject_id"].tolist() == [U1, U6]
    batch = batches(engine)[-1]
    assert batch["orphans"] == 1
    assert re.search(r"1 rows refer to entities not yet in the store", batch["message"])


def test_directory_ingest_orders_enterprises_before_records(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    records = write(folder, "records.csv", RECORDS, [rec("R1", U1)])
    enterprises = write(folder, "enterprises.csv", ENTERPRISES, [ent(U1)])

    from_folder = ingest_paths(engine, [folder])
    listed_backwards = ingest_paths(engine, [records, enterprises])

    assert [f.table for f in from_folder.files] == ["enterprises", "records"]
    assert [f.orphans for f in from_folder.files] == [0, 0]
    assert [f.table for f in listed_backwards.files] == ["enterprises", "records"]


def test_chinese_titled_files_are_ordered_by_table(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "企业登记信息.csv", ENTERPRISES, [ent(U1), ent(U2, kind="branch")])
    write(folder, "任职与出资信息.csv", ROLES, [f"{U2},enterprise,{U1},branch_of,,2021-03-01,"])

    result = ingest_paths(engine, [folder])

    assert [f.table for f in result.files] == ["enterprises", "roles"]
    assert [f.orphans for f in result.files] == [0, 0]


# --------------------------------------------------------------------------- failure, report


def _explode(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("disk on fire")


def test_failed_transaction_leaves_nothing_behind(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(risk.ingest.pipeline, "count_orphans", _explode)
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1), ent(wrong_check(U2))])

    result = ingest_paths(engine, [path])
    (summary,) = result.files

    assert summary.status == "failed"
    assert not result.ok
    assert summary.message.startswith("RuntimeError: disk on fire")
    assert "nothing stored" in summary.message
    assert (summary.inserted, summary.updated, summary.unchanged, summary.quarantined) == (
        0,
        0,
        0,
        0,
    )
    assert count(engine, "enterprises") == 0
    assert quarantined(engine) == []  # the bad row's quarantine entry was rolled back too
    (batch,) = batches(engine)  # only the failure is logged, not the rolled-back batch
    assert batch["status"] == "failed"
    assert batch["id"] == summary.batch_id
    assert batch["message"].startswith("RuntimeError: disk on fire")


# A child process that ingests one file and stops, holding its transaction open, after the
# upsert has written every row: the parent kills it there with SIGKILL.
_KILLED_INGEST = """
import sys, time
from pathlib import Path
import risk.ingest.pipeline
from risk.store import open_engine

def hold(*_args, **_kwargs):
    print("upserted", flush=True)
    time.sleep(600)

risk.ingest.pipeline.count_orphans = hold
risk.ingest.pipeline.ingest_paths(open_engine(sys.argv[1]), [Path(sys.argv[2])])
"""


def test_an_ingest_killed_mid_file_leaves_the_store_as_it_was(
    engine: Engine, tmp_path: Path
) -> None:
    before_rows = [ent(U1, capital="100"), ent(U2, capital="250")]
    ingest(engine, write(tmp_path / "before", "enterprises.csv", ENTERPRISES, before_rows))
    stored_before, batches_before = stored(engine, "enterprises"), batches(engine)
    # One changed row, one unchanged, thousands of new ones and a bad one to quarantine.
    rows = [ent(U1, capital="999"), ent(U2, capital="250"), ent(wrong_check(U3))]
    rows += [ent(code(n)) for n in range(1_000, 6_000)]
    path = write(tmp_path / "after", "enterprises.csv", ENTERPRISES, rows)
    url = engine.url.render_as_string(hide_password=False)

    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_INGEST, url, str(path)],
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": str(Path(__file__).parents[2])},
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "upserted"  # rows written, not committed
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    engine.dispose()  # new connections: SQLite reads the WAL the dead process left behind
    pd.testing.assert_frame_equal(stored(engine, "enterprises"), stored_before)
    assert batches(engine) == batches_before  # not even a "running" batch survives
    assert quarantined(engine) == []
    # And the store still takes the file whole afterwards.
    summary = ingest(engine, path)
    assert (summary.inserted, summary.updated, summary.unchanged) == (5_000, 1, 1)


def test_failed_file_summary_reconciles_and_counts_no_codes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(risk.ingest.pipeline, "count_orphans", _explode)
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1), ent(wrong_check(U2))])

    result = ingest_paths(engine, [path])
    report = result.to_dict()

    assert result.files[0].reconciled
    totals = report["totals"]
    assert totals["read"] == (
        totals["inserted"] + totals["updated"] + totals["unchanged"] + totals["quarantined"]
    )
    assert (report["uscc_report"]["read"], report["uscc_report"]["invalid"]) == (0, 0)


def test_uscc_report_error_rate_and_target(engine: Engine, tmp_path: Path) -> None:
    bad_file = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [ent(U1), ent(U2), ent(wrong_check(U3)), ent(U2), ent(U4)],
    )
    clean_file = write(tmp_path, "enterprises_clean.csv", ENTERPRISES, [ent(U5), ent(U6)])

    bad: IngestSummary = ingest_paths(engine, [bad_file])
    clean: IngestSummary = ingest_paths(engine, [clean_file])

    # 5 codes read: 1 invalid + 2 duplicates (both occurrences of U2) → 3 / 5 = 0.6.
    report = bad.to_dict()["uscc_report"]
    assert {k: report[k] for k in ("read", "invalid", "duplicate", "pilot_codes")} == {
        "read": 5,
        "invalid": 1,
        "duplicate": 2,
        "pilot_codes": 0,
    }
    assert report["error_rate"] == pytest.approx(0.6)
    assert report["target"] == 0.0001
    assert report["meets_target"] is False
    assert bad.to_dict()["files"][0]["reconciled"] is True
    assert bad.to_dict()["totals"]["quarantined"] == 3
    clean_report = clean.to_dict()["uscc_report"]
    assert (clean_report["error_rate"], clean_report["meets_target"]) == (0.0, True)


def test_uscc_target_is_met_at_exactly_one_bad_code_in_ten_thousand() -> None:
    def report(invalid: int) -> dict[str, Any]:
        files = [
            FileSummary("a.csv", "enterprises", uscc_read=6_000, uscc_invalid=invalid),
            FileSummary("b.csv", "roles", uscc_read=4_000),
        ]
        return IngestSummary(files).to_dict()["uscc_report"]

    assert report(1)["error_rate"] == pytest.approx(1e-4)
    assert report(1)["meets_target"] is True  # 0.01 % is within the target, not above it
    assert report(2)["meets_target"] is False
    assert IngestSummary([]).to_dict()["uscc_report"]["error_rate"] == 0.0


# --------------------------------------------------------------------------- loan history


def test_a_loan_keeps_the_first_date_it_was_90_days_overdue_and_in_default(
    engine: Engine, tmp_path: Path
) -> None:
    """Month 7 overdue, month 9 cured, month 12 default: the history keeps both first dates;
    a later report never moves a date later, an earlier one moves it earlier."""
    ingest(engine, write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1)]))
    loan = f"L1,{U1},来安农商银行,2024-01-10,100,80,12"

    def report(name: str, status: str, on: str, header: str = LOANS, extra: str = "") -> None:
        ingest(engine, write(tmp_path, name, header, [f"{loan},{status},{on}{extra}"]))

    def history() -> list[str | None]:
        row = stored(engine, "loans").iloc[0]
        return [
            None if pd.isna(row[c]) else f"{row[c]:%Y-%m-%d}"
            for c in ("overdue_90_date", "default_date")
        ]

    report("loans_1.csv", "overdue_90", "2024-08-01")
    assert history() == ["2024-08-01", None]  # filled from the status
    report("loans_2.csv", "performing", "2024-10-01")  # cured: the date stays
    assert history() == ["2024-08-01", None]
    assert stored(engine, "loans")["status"].tolist() == ["performing"]
    report("loans_3.csv", "default", "2025-01-05")
    assert history() == ["2024-08-01", "2025-01-05"]
    with_history = f"{LOANS},overdue_90_date,default_date"
    report("loans_4.csv", "default", "2025-01-05", with_history, ",2024-09-01,2025-02-01")
    assert history() == ["2024-08-01", "2025-01-05"]  # later dates never win
    report("loans_5.csv", "default", "2025-01-05", with_history, ",2024-07-20,")
    assert history() == ["2024-07-20", "2025-01-05"]  # an earlier date corrects it
    unchanged = ingest(
        engine,
        write(tmp_path, "loans_5.csv", with_history, [f"{loan},default,2025-01-05,2024-07-20,"]),
    )
    assert (unchanged.updated, unchanged.unchanged) == (0, 1)


def test_a_first_bad_date_outside_the_loans_life_is_quarantined(
    engine: Engine, tmp_path: Path
) -> None:
    header = f"{LOANS},overdue_90_date,default_date"
    loan = f"{U1},来安农商银行,2024-01-10,100,80,12,default,2024-12-01"
    rows = [
        f"L1,{loan},2023-12-01,",  # before the application
        f"L2,{loan},,2025-01-01",  # after the status date it is reported with
        f"L3,{loan},2024-13-01,",  # no such date
        f"L4,{loan},2024-06-01,2024-12-01",
    ]
    summary = ingest(engine, write(tmp_path, "loans.csv", header, rows))
    assert (summary.inserted, summary.quarantined) == (1, 3)
    reasons = [r["reason"] for r in quarantined(engine)]
    assert "overdue_90_date must be on or after applied (2024-01-10); got 2023-12-01" in reasons[0]
    assert "status_date must be on or after default_date (2025-01-01); got 2024-12-01" in reasons[1]
    assert "overdue_90_date" in reasons[2]
