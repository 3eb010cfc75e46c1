"""Helpers of the risk.ingest tests: tiny files written by hand, and what a user sees of them.

Every test writes its own tiny file (CSV text, Parquet via pandas, XLSX via openpyxl) under
``tmp_path`` and runs on SQLite and on PostgreSQL (the ``engine`` fixture). What is asserted
is what a user of the platform sees: the counts (``read = inserted + updated + unchanged +
quarantined`` always), the quarantine rows (spreadsheet row numbers: header = row 1), and the
values in the store. Expected values are worked out by hand in comments.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, MetaData, select

from risk.contract import TABLES
from risk.identifiers import make_uscc
from risk.ingest import FileSummary, ingest_paths
from risk.store import ingest_batches, quarantine, read_table

COUNTY = "341122"  # 安徽省滁州市来安县 (GB/T 2260)
SALT = b"county-salt-0123456789"


def code(n: int, region: str = COUNTY) -> str:
    """A valid USCC of a company registered in ``region`` (check character by make_uscc)."""
    return make_uscc("9", "1", region, f"MA{n:07d}")


U1, U2, U3, U4, U5, U6 = (code(n) for n in range(1, 7))


def wrong_check(valid: str) -> str:
    """``valid`` with a different (hence wrong) check character."""
    return valid[:17] + ("0" if valid[17] != "0" else "1")


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# The standard example of GB 11643, worked by hand:
#   1·7 + 1·9 + 0·10 + 1·5 + 0·8 + 5·4 + 1·2 + 9·1 + 4·6 + 9·3 + 1·7 + 2·9 + 3·10 + 1·5
#   + 0·8 + 0·4 + 2·2 = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2 → "X".
ID_X = "11010519491231002X"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    """Append the GB 11643 mod 11-2 check character."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


ENTERPRISES = "uscc,name,kind,status,industry,region,registered_capital,founded,closed"
ROLES = "uscc,holder_type,holder_id,role,share,start,end"
RECORDS = (
    "record_id,subject_type,subject_id,kind,domain,severity,authority,decided,"
    "publicity_end,repaired,removed,amount"
)
LOANS = "loan_id,uscc,bank,applied,approved_amount,drawn_amount,term_months,status,status_date"
FINANCIALS = "uscc,period,tax_paid,tax_grade,insured_employees,utility_on_time,procurement_amount"


def ent(
    uscc: str,
    name: str = "来安县某某有限公司",
    *,
    kind: str = "company",
    status: str = "active",
    industry: str = "C",
    region: str = COUNTY,
    capital: str = "100",
    founded: str = "2020-01-05",
    closed: str = "",
) -> str:
    return ",".join([uscc, name, kind, status, industry, region, capital, founded, closed])


def rec(
    record_id: str,
    subject_id: str = U1,
    *,
    subject_type: str = "enterprise",
    kind: str = "administrative_penalty",
    domain: str = "ecology_environment",
    severity: str = "general",
    authority: str = "来安县生态环境分局",
    decided: str = "2024-03-01",
    publicity_end: str = "",
    repaired: str = "",
    removed: str = "",
    amount: str = "",
) -> str:
    cells = [record_id, subject_type, subject_id, kind, domain, severity, authority, decided]
    return ",".join([*cells, publicity_end, repaired, removed, amount])


def write(
    tmp_path: Path,
    name: str,
    header: str,
    rows: list[str],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join([header, *rows, ""]).encode(encoding))
    return path


def ingest(engine: Engine, path: Path, **kwargs: Any) -> FileSummary:
    """Ingest one file through ingest_paths and check that its counts reconcile."""
    (summary,) = ingest_paths(engine, [path], **kwargs).files
    assert summary.reconciled, summary
    assert summary.read == (
        summary.inserted + summary.updated + summary.unchanged + summary.quarantined
    )
    return summary


def quarantined(engine: Engine, batch_id: int | None = None) -> list[dict[str, Any]]:
    query = select(quarantine).order_by(quarantine.c.batch_id, quarantine.c.row_number)
    if batch_id is not None:
        query = query.where(quarantine.c.batch_id == batch_id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def only_row(rows: list[dict[str, Any]], row_number: int) -> dict[str, Any]:
    (row,) = [r for r in rows if r["row_number"] == row_number]
    return row


def assert_quarantined(
    rows: list[dict[str, Any]], row_number: int, column: str | None, pattern: str
) -> dict[str, Any]:
    row = only_row(rows, row_number)
    assert row["column_name"] == column, row
    assert re.search(pattern, row["reason"]), row["reason"]
    return row


def batches(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ingest_batches).order_by(ingest_batches.c.id))
        return [dict(row._mapping) for row in rows]


def stored(engine: Engine, table: str) -> pd.DataFrame:
    key = list(TABLES[table].key)
    return read_table(engine, table).sort_values(key).reset_index(drop=True)


def count(engine: Engine, table: str) -> int:
    return len(read_table(engine, table))


def database_text(engine: Engine) -> str:
    """Every value of every table (contract, bookkeeping, alembic) as one text."""
    meta = MetaData()
    parts: list[str] = []
    with engine.connect() as conn:
        meta.reflect(conn)
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                parts.extend(json.dumps(v, ensure_ascii=False, default=str) for v in row)
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


def assert_nowhere_in_store(engine: Engine, secrets: list[str]) -> None:
    text = database_text(engine)
    for secret in secrets:
        assert secret not in text
        assert secret.lower() not in text
    if engine.dialect.name == "sqlite":  # also the bytes on disk (database file and WAL)
        engine.dispose()
        database = Path(str(engine.url.database))
        blobs = [p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists()]
        for secret in secrets:
            assert all(secret.encode() not in blob for blob in blobs)


#: A valid resident ID number that belongs in no stored column.
OTHER_ID = resident_id("34112219900307123")
