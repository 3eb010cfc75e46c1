"""risk.ingest.ingest_frame: rows held in memory ingested exactly as a file of them.

Each comparison ingests the same rows twice into one store (SQLite and PostgreSQL), once as a
CSV file and once in memory, emptying the store in between, and asserts the same summary,
the same stored rows and the same quarantine rows.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, delete

import risk.ingest.pipeline
from risk.contract import TABLES
from risk.ingest import FileSummary, ingest_file, ingest_frame
from risk.store import contract_table, ingest_batches, quarantine
from tests.risk.ingest_helpers import (
    ENTERPRISES,
    ID_X,
    OTHER_ID,
    SALT,
    U1,
    U2,
    U3,
    assert_nowhere_in_store,
    batches,
    count,
    ent,
    quarantined,
    stored,
    wrong_check,
)

TODAY = date(2026, 6, 30)
#: Summary fields that name the source rather than describe the outcome.
_SOURCE_FIELDS = {"source", "batch_id", "seconds", "encoding"}


def rows_of(header: str, lines: list[str]) -> list[dict[str, str]]:
    """The CSV lines as the mappings an API body would hold (every value a string; a blank
    line a row of empty cells)."""
    names = header.split(",")
    return [
        dict(zip(names, next(csv.reader([line])) if line else [""] * len(names), strict=True))
        for line in lines
    ]


def outcome(summary: FileSummary) -> dict[str, Any]:
    return {k: v for k, v in vars(summary).items() if k not in _SOURCE_FIELDS}


def quarantine_rows(engine: Engine) -> list[tuple[Any, ...]]:
    return [(r["row_number"], r["column_name"], r["reason"], r["raw"]) for r in quarantined(engine)]


def empty_store(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(quarantine))
        conn.execute(delete(ingest_batches))
        for table in TABLES:
            conn.execute(delete(contract_table(table)))


def as_file_then_in_memory(
    engine: Engine,
    tmp_path: Path,
    table: str,
    header: str,
    lines: list[str],
    rows: Any = None,
    **kwargs: Any,
) -> tuple[FileSummary, FileSummary]:
    """Ingest ``lines`` as a CSV file and ``rows`` (default: the same lines as mappings) in
    memory into an emptied store; assert the same stored rows and quarantine rows."""
    path = tmp_path / f"{table}.csv"
    path.write_text("\n".join([header, *lines, ""]), encoding="utf-8")
    from_file = ingest_file(engine, path, today=TODAY, **kwargs)
    stored_from_file, quarantined_from_file = stored(engine, table), quarantine_rows(engine)
    empty_store(engine)
    rows = rows_of(header, lines) if rows is None else rows
    in_memory = ingest_frame(engine, rows, table, source="API test", today=TODAY, **kwargs)
    pd.testing.assert_frame_equal(stored(engine, table), stored_from_file)
    assert quarantine_rows(engine) == quarantined_from_file
    return from_file, in_memory


def test_mixed_rows_have_the_outcome_of_the_same_csv(engine: Engine, tmp_path: Path) -> None:
    lines = [
        ent(U1),
        ent(wrong_check(U2)),  # bad check character: quarantined
        ent(U3, founded="2024-02-30"),  # impossible date: quarantined
        ent(U3, name="丙有限公司"),  # U3 again, but the row above is bad: no duplicate
        ent(U1, name=f"法人 {OTHER_ID}"),  # an ID number in a name: quarantined
        "",  # a blank line: not read
    ]
    from_file, in_memory = as_file_then_in_memory(
        engine, tmp_path, "enterprises", ENTERPRISES, lines
    )
    assert outcome(in_memory) == outcome(from_file)
    assert (in_memory.read, in_memory.inserted, in_memory.quarantined) == (5, 2, 3)
    assert in_memory.status == "ok" and in_memory.reconciled
    assert in_memory.encoding is None and in_memory.source == "API test"
    (batch,) = batches(engine)
    assert (batch["source"], batch["status"], batch["rows_read"]) == ("API test", "ok", 5)
    assert re.fullmatch(r"[0-9a-f]{64}", batch["sha256"])
    assert_nowhere_in_store(engine, [OTHER_ID])


def test_typed_values_read_as_a_typed_files_cells(engine: Engine, tmp_path: Path) -> None:
    lines = [ent(U1, capital="100", founded="2020-01-05"), ent(U2, capital="", closed="2024-03-01")]
    typed = pd.DataFrame(
        {
            "uscc": [U1, U2],
            "name": ["来安县某某有限公司"] * 2,
            "kind": ["company"] * 2,
            "status": ["active"] * 2,
            "industry": ["C"] * 2,
            "region": ["341122"] * 2,
            "registered_capital": [100.0, np.nan],  # a whole float is its integer
            "founded": [date(2020, 1, 5), pd.Timestamp("2020-01-05 09:30")],  # its day
            "closed": [None, date(2024, 3, 1)],  # None: an empty cell
        }
    )
    from_file, in_memory = as_file_then_in_memory(
        engine, tmp_path, "enterprises", ENTERPRISES, lines, typed
    )
    assert outcome(in_memory) == outcome(from_file)
    assert in_memory.inserted == 2


def test_national_penalty_headers_are_mapped_as_in_a_file(engine: Engine, tmp_path: Path) -> None:
    header = "行政相对人名称,统一社会信用代码,行政处罚决定书文号,处罚类别,处罚决定日期,处罚机关"
    lines = [
        f"来安县甲有限公司,{U1},来环罚〔2024〕1号,罚款,2024-03-01,来安县生态环境分局",
        f"来安县乙有限公司,{wrong_check(U2)},来环罚〔2024〕2号,警告,2024-03-02,来安县市场监督管理局",
    ]
    from_file, in_memory = as_file_then_in_memory(engine, tmp_path, "records", header, lines)
    assert outcome(in_memory) == outcome(from_file)
    assert (in_memory.inserted, in_memory.quarantined) == (1, 1)


def test_raw_resident_ids_are_hashed_as_in_a_file(engine: Engine, tmp_path: Path) -> None:
    header = "person_id,name,id_number"
    lines = ["P1,张三," + ID_X, "P2,李四,110105194912310021"]  # the second fails its check
    from_file, in_memory = as_file_then_in_memory(
        engine, tmp_path, "persons", header, lines, id_salt=SALT
    )
    assert outcome(in_memory) == outcome(from_file)
    assert (in_memory.inserted, in_memory.quarantined) == (1, 1)
    assert_nowhere_in_store(engine, [ID_X, "110105194912310021"])


def test_reingesting_rows_changes_nothing(engine: Engine) -> None:
    rows = rows_of(ENTERPRISES, [ent(U1), ent(U2)])
    first = ingest_frame(engine, rows, "enterprises", source="x")
    again = ingest_frame(engine, rows, "enterprises", source="x")
    changed = ingest_frame(engine, [{**rows[0], "name": "改名后的公司"}], "enterprises", source="x")
    assert (first.inserted, again.unchanged, changed.updated) == (2, 2, 1)
    assert stored(engine, "enterprises")["name"].tolist()[0] in {
        "改名后的公司",
        "来安县某某有限公司",
    }
    assert count(engine, "enterprises") == 2


@pytest.mark.parametrize(
    ("rows", "table", "kwargs", "pattern"),
    [
        ([{"uscc": U1}], "enterprises", {}, r"requires column\(s\) name, kind, .*; file refused"),
        ([{"uscc": U1}], "nonsense", {}, r"table must be one of enterprises, .*; got 'nonsense'"),
        ([{"person_id": "P1", "name": "张三", "id_number": ID_X}], "persons", {}, "id_salt"),
        ([], "enterprises", {}, r"requires column\(s\) uscc, name"),
    ],
)
def test_refused_rows_store_nothing_and_log_the_batch(
    engine: Engine, rows: list[dict[str, str]], table: str, kwargs: dict, pattern: str
) -> None:
    summary = ingest_frame(engine, rows, table, source="API test", **kwargs)
    assert summary.status == "refused" and re.search(pattern, summary.message), summary.message
    assert summary.read == 0 and summary.batch_id is not None
    (batch,) = batches(engine)
    assert (batch["status"], batch["source"]) == ("refused", "API test")
    assert all(count(engine, t) == 0 for t in TABLES)
    assert ID_X not in str(batch)


def test_a_list_in_a_cell_is_quarantined(engine: Engine) -> None:
    rows = [
        {**rows_of(ENTERPRISES, [ent(U1)])[0], "name": ["a", "b"]},
        rows_of(ENTERPRISES, [ent(U2)])[0],
    ]
    summary = ingest_frame(engine, rows, "enterprises", source="API test")
    assert (summary.inserted, summary.quarantined) == (1, 1)
    (row,) = quarantined(engine)
    assert (row["row_number"], row["column_name"]) == (2, "name")
    assert "must be a single value; got a list" in row["reason"]


def test_a_failed_transaction_stores_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(risk.ingest.pipeline, "count_orphans", explode)
    rows = rows_of(ENTERPRISES, [ent(U1), ent(wrong_check(U2))])
    summary = ingest_frame(engine, rows, "enterprises", source="API test")
    assert summary.status == "failed" and summary.message.startswith("RuntimeError: disk on fire")
    assert (summary.read, summary.inserted, summary.quarantined) == (0, 0, 0)
    assert count(engine, "enterprises") == 0 and quarantined(engine) == []
    (batch,) = batches(engine)  # only the failure is logged, not the rolled-back batch
    assert (batch["id"], batch["status"]) == (summary.batch_id, "failed")


@pytest.mark.parametrize(
    ("rows", "source", "error", "match"),
    [
        (
            "uscc,name",
            "x",
            TypeError,
            "rows must be a DataFrame or a sequence of mappings; got str",
        ),
        (7, "x", TypeError, "rows must be a DataFrame or a sequence of mappings; got int"),
        ([("a", 1)], "x", TypeError, r"rows\[0\] must be a mapping; got tuple"),
        ([], None, TypeError, "source must be a str; got NoneType"),
        ([], "  ", ValueError, "source must be a non-empty string"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    engine: Engine, rows: Any, source: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ingest_frame(engine, rows, "enterprises", source=source)
    assert batches(engine) == []
