"""Tests for risk.ingest: validated, idempotent ingestion of contract files into the store.

Every test writes its own tiny file (CSV text, Parquet via pandas, XLSX via openpyxl) under
``tmp_path`` and runs on SQLite and on PostgreSQL (the ``engine`` fixture). What is asserted
is what a user of the platform sees: the counts (``read = inserted + updated + unchanged +
quarantined`` always), the quarantine rows (spreadsheet row numbers: header = row 1), and the
values in the store. Expected values are worked out by hand in comments.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, MetaData, select

import risk.ingest
from risk.identifiers import make_uscc
from risk.ingest import FileSummary, IngestSummary, ingest_file, ingest_paths
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
    key = list(risk.ingest.TABLES[table].key)
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


# --------------------------------------------------------------------------- USCC checks


def test_bad_check_character_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    bad = wrong_check(U2)
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1), ent(bad, "来安县乙公司")])

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (2, 1, 1)
    assert (summary.uscc_read, summary.uscc_invalid) == (2, 1)
    rows = quarantined(engine)
    row = assert_quarantined(
        rows, 3, "uscc", rf"uscc check character must be '{U2[17]}'; got '{bad[17]}'"
    )
    assert row["batch_id"] == summary.batch_id
    assert row["source"] == str(path)
    assert row["raw"]["uscc"] == bad  # the raw cells, as in the file
    assert row["raw"]["name"] == "来安县乙公司"
    assert stored(engine, "enterprises")["uscc"].tolist() == [U1]


def test_wrong_length_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1[:17]), ent(U2 + "1"), ent(U3)])

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined, summary.uscc_invalid) == (1, 2, 2)
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "uscc", r"uscc must be 18 characters; got 17")
    assert_quarantined(rows, 3, "uscc", r"uscc must be 18 characters; got 19")


def test_forbidden_letters_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    # Position 10 of U1 (the "A" of "MA…") replaced by each letter the alphabet leaves out.
    codes = [U1[:9] + letter + U1[10:] for letter in "IOSVZ"]
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(c) for c in codes])

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (5, 0, 5)
    rows = quarantined(engine)
    for row_number, bad in enumerate(codes, start=2):
        assert_quarantined(
            rows, row_number, "uscc", rf"uscc must use only .*\(no I, O, S, V, Z\); got '{bad}'"
        )


def test_full_width_lower_case_uscc_is_normalised_and_accepted(
    engine: Engine, tmp_path: Path
) -> None:
    spaced = f" {U2[:8].lower()} {U2[8:].lower()} "  # "91341122 ma0000002y"
    path = write(
        tmp_path, "enterprises.csv", ENTERPRISES, [ent(full_width(U1)), ent(f'"{spaced}"')]
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined, summary.uscc_invalid) == (2, 0, 0)
    assert stored(engine, "enterprises")["uscc"].tolist() == [U1, U2]


def test_pilot_code_is_accepted_only_when_allow_listed(engine: Engine, tmp_path: Path) -> None:
    # 91350100000000001A: Σ value·weight = 9·1 + 1·3 + 3·9 + 5·27 + 1·26 + 1·28 = 228,
    # 228 mod 31 = 11, 31 − 11 = 20 → the check character should be "L", not "A".
    pilot = "91350100000000001A"
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(pilot, region="350100")])

    refused = ingest(engine, path)
    accepted = ingest(engine, path, uscc_allowlist=[pilot.lower()])  # normalised like codes

    assert (refused.inserted, refused.quarantined, refused.pilot_codes) == (0, 1, 0)
    assert refused.uscc_invalid == 1
    assert_quarantined(quarantined(engine), 2, "uscc", r"uscc check character must be 'L'; got 'A'")
    assert (accepted.inserted, accepted.quarantined) == (1, 0)
    assert (accepted.pilot_codes, accepted.uscc_invalid) == (1, 0)
    assert stored(engine, "enterprises")["uscc"].tolist() == [pilot]


# --------------------------------------------------------------------------- enums


def test_unknown_enum_value_lists_the_allowed_values(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1, kind="limited"), ent(U2)])

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(
        quarantined(engine),
        2,
        "kind",
        r"kind must be one of company, individual_business, branch, partnership, social_org; "
        r"got 'limited'",
    )


def test_chinese_enum_labels_are_accepted(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [
            ent(U1, kind="公司", status="存续"),
            ent(U2, kind="个体工商户", status="注销", closed="2023-06-30"),
            ent(U3, kind="合伙企业", status="吊销", closed="2024-01-31"),
            ent(U4, kind="Company", status="ACTIVE"),  # codes in any case
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (4, 0)
    frame = stored(engine, "enterprises")
    assert frame["kind"].tolist() == ["company", "individual_business", "partnership", "company"]
    assert frame["status"].tolist() == ["active", "deregistered", "revoked", "active"]


# --------------------------------------------------------------------------- dates


def test_unparseable_and_impossible_dates_have_different_reasons(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [
            ent(U1, founded="yesterday"),
            ent(U2, founded="2024-02-30"),
            ent(U3),
            ent(U4, status="deregistered", founded="2020-01-05", closed="2019-12-31"),
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 3)
    rows = quarantined(engine)
    unparseable = assert_quarantined(
        rows, 2, "founded", r"founded must be a date like 2024-05-31; got 'yesterday'"
    )
    impossible = assert_quarantined(
        rows, 3, "founded", r"founded must be a real calendar date .*; got '2024-02-30'"
    )
    assert unparseable["reason"].split(";")[0] != impossible["reason"].split(";")[0]
    assert_quarantined(
        rows, 5, "closed", r"closed must be on or after founded \(2020-01-05\); got 2019-12-31"
    )


def test_common_date_formats_are_accepted(engine: Engine, tmp_path: Path) -> None:
    formats = ["2024/01/05", "20240105", "2024年1月5日", "2024-1-5", "2024.01.05"]
    rows = [ent(code(10 + i), founded=f) for i, f in enumerate(formats)]
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, rows)

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (len(formats), 0)
    assert stored(engine, "enterprises")["founded"].tolist() == [pd.Timestamp("2024-01-05")] * 5


# --------------------------------------------------------------------------- records


def test_publicity_end_before_decided_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "records.csv",
        RECORDS,
        [rec("R1", publicity_end="2024-02-01"), rec("R2", publicity_end="2024-03-01")],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)  # same day is allowed
    assert_quarantined(
        quarantined(engine),
        2,
        "publicity_end",
        r"publicity_end must be on or after decided \(2024-03-01\); got 2024-02-01",
    )


def test_repaired_before_decided_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "records.csv",
        RECORDS,
        [rec("R1", repaired="2024-02-29"), rec("R2", repaired="2024-09-01")],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(
        quarantined(engine),
        2,
        "repaired",
        r"repaired must be on or after decided \(2024-03-01\); got 2024-02-29",
    )
    assert stored(engine, "records").loc[0, "repaired"] == pd.Timestamp("2024-09-01")


def test_negative_amount_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path, "records.csv", RECORDS, [rec("R1", amount="-5"), rec("R2", amount='"1,250.5"')]
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(quarantined(engine), 2, "amount", r"amount must be ≥ 0; got '-5'")
    assert stored(engine, "records").loc[0, "amount"] == 1250.5  # thousands separator


# --------------------------------------------------------------------------- roles, loans


def test_share_outside_zero_one_is_quarantined_and_percent_accepted(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [
            f"{U1},person,P1,shareholder,1.5,2020-01-01,",
            f"{U1},person,P2,shareholder,-0.1,2020-01-01,",
            f"{U1},person,P3,shareholder,35%,2020-01-01,",
            f"{U1},person,P4,shareholder,１００％,2020-01-01,",  # full-width 100% = 1.0
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (2, 2)
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "share", r"share must be between 0 and 1; got '1\.5'")
    assert_quarantined(rows, 3, "share", r"share must be between 0 and 1; got '-0\.1'")
    frame = stored(engine, "roles")
    assert frame["holder_id"].tolist() == ["P3", "P4"]
    assert frame["share"].tolist() == pytest.approx([0.35, 1.0])


def test_share_on_a_non_shareholder_role_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [f"{U1},person,P1,legal_rep,0.5,2020-01-01,", f"{U1},person,P1,法定代表人,,2020-01-01,"],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(quarantined(engine), 2, "share", r"share is only for shareholders")
    assert stored(engine, "roles")["role"].tolist() == ["legal_rep"]


def test_role_ending_on_or_before_its_start_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [
            f"{U1},person,P1,executive,,2020-01-01,2020-01-01",
            f"{U1},person,P2,executive,,2020-01-01,2019-06-30",
            f"{U1},person,P3,executive,,2020-01-01,2020-01-02",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "end", r"end must be after start \(2020-01-01\); got 2020-01-01")
    assert_quarantined(rows, 3, "end", r"end must be after start \(2020-01-01\); got 2019-06-30")


def test_loan_drawn_above_approved_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "loans.csv",
        LOANS,
        [
            f"L1,{U1},来安农商银行,2024-01-10,100,120,12,performing,2024-06-30",
            f"L2,{U1},来安农商银行,2024-01-10,100,100,12,正常,2024-06-30",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(
        quarantined(engine),
        2,
        "drawn_amount",
        r"drawn_amount must not exceed approved_amount \(100(\.0)?\); got 120(\.0)?",
    )
    assert stored(engine, "loans")["status"].tolist() == ["performing"]


# --------------------------------------------------------------------------- duplicates


def test_duplicate_keys_quarantine_every_occurrence(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [
            ent(U1, "来安县甲公司"),
            ent(U2),
            ent(U1, "来安县甲公司（重复）"),
            ent(full_width(U1), "来安县甲公司（全角）"),  # the same code once normalised
        ],
    )

    result = ingest_paths(engine, [path])
    (summary,) = result.files

    assert summary.reconciled
    assert (summary.read, summary.inserted, summary.quarantined) == (4, 1, 3)
    assert summary.uscc_duplicate == 3  # 重错码: every occurrence counts
    assert result.to_dict()["uscc_report"]["duplicate"] == 3
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "uscc", rf"duplicate key \(uscc={U1}\) also at row\(s\) \[4, 5\]")
    assert_quarantined(rows, 4, "uscc", rf"duplicate key \(uscc={U1}\) also at row\(s\) \[2, 5\]")
    assert_quarantined(rows, 5, "uscc", rf"duplicate key \(uscc={U1}\) also at row\(s\) \[2, 4\]")
    assert stored(engine, "enterprises")["uscc"].tolist() == [U2]

    # A composite key (roles): the same edge twice, its start date written two ways.
    roles = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [
            f"{U2},person,P1,shareholder,0.4,2020-01-01,",
            f"{U2},person,P1,shareholder,0.6,2021-01-01,",  # other start: another edge
            f"{U2},person,P1,shareholder,0.5,2020/01/01,",  # same key as row 2
        ],
    )
    summary = ingest(engine, roles)
    assert (summary.inserted, summary.quarantined) == (1, 2)
    rows = quarantined(engine, summary.batch_id)
    assert_quarantined(rows, 2, "uscc", r"duplicate key \(uscc=.*holder_id=P1.*\) .*\[4\]")
    assert_quarantined(rows, 4, "uscc", r"duplicate key \(uscc=.*holder_id=P1.*\) .*\[2\]")
    assert stored(engine, "roles")["start"].tolist() == [pd.Timestamp("2021-01-01")]


# --------------------------------------------------------------------------- reading files


def test_gb18030_csv_with_chinese_headers(engine: Engine, tmp_path: Path) -> None:
    header = (
        "统一社会信用代码,企业名称,市场主体类型,登记状态,行业门类,行政区划代码,"
        "注册资本（万元）,成立日期"
    )
    # 䶮 (U+4DAE, CJK Extension A) is in GB18030 but not in GBK.
    path = write(
        tmp_path,
        "企业登记信息.csv",
        header,
        [
            f"{U1},来安县刘䶮商贸有限公司,公司,存续,F,341122,50,2019年3月8日",
            f"{U2},来安县张记面馆,个体工商户,存续,H,341122,,2021/07/01",
        ],
        encoding="gb18030",
        newline="\r\n",
    )

    summary = ingest(engine, path)

    assert summary.table == "enterprises"
    assert summary.encoding == "gb18030"
    assert (summary.inserted, summary.quarantined) == (2, 0)
    frame = stored(engine, "enterprises")
    assert frame["name"].tolist() == ["来安县刘䶮商贸有限公司", "来安县张记面馆"]
    assert frame["kind"].tolist() == ["company", "individual_business"]
    assert frame["registered_capital"].iloc[0] == 50.0
    assert np.isnan(frame["registered_capital"].iloc[1])
    assert frame["founded"].tolist() == [pd.Timestamp("2019-03-08"), pd.Timestamp("2021-07-01")]


def test_truncated_csv_quarantines_the_cut_row_only(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "enterprises.csv"
    text = "\n".join([ENTERPRISES, ent(U1), ent(U2), f"{U3},来安县丙有限公司,comp"])
    path.write_text(text, encoding="utf-8")  # the transfer stopped mid-row: no final newline

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (3, 2, 1)
    row = assert_quarantined(
        quarantined(engine),
        4,
        "status",  # the first column the cut line does not reach
        r"row has 3 fields; the header has 9 \(truncated or malformed line\)",
    )
    assert row["raw"] == {"uscc": U3, "name": "来安县丙有限公司", "kind": "comp"}
    assert stored(engine, "enterprises")["uscc"].tolist() == [U1, U2]


def test_utf8_csv_truncated_inside_a_character(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "enterprises.csv"
    head = "\n".join([ENTERPRISES, ent(U1, "甲乙"), f"{U2},"]).encode("utf-8")
    path.write_bytes(head + "丙丁".encode()[:4])  # 丙 and the first byte of 丁

    summary = ingest(engine, path)

    assert summary.status == "ok"
    assert summary.encoding == "utf-8"
    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert stored(engine, "enterprises")["name"].tolist() == ["甲乙"]


def test_row_numbers_count_records_not_lines(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [ent(U1, '"来安县甲\n有限公司"'), ent(U2, kind="limited")],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    rows = quarantined(engine)
    assert [(r["row_number"], r["column_name"]) for r in rows] == [(3, "kind")]
    assert stored(engine, "enterprises")["name"].tolist() == ["来安县甲\n有限公司"]


def test_missing_required_column_refuses_the_whole_file(engine: Engine, tmp_path: Path) -> None:
    header = "uscc,name,kind,status,industry,region,registered_capital"  # no founded
    path = write(
        tmp_path, "enterprises.csv", header, [f"{U1},来安县甲公司,company,active,C,{COUNTY},1"]
    )

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert re.search(
        r"table 'enterprises' requires column\(s\) founded; file refused", summary.message
    )
    assert (summary.read, summary.inserted, summary.quarantined) == (0, 0, 0)
    assert count(engine, "enterprises") == 0
    assert quarantined(engine) == []
    (batch,) = batches(engine)
    assert batch["status"] == "refused"
    assert batch["id"] == summary.batch_id
    assert batch["table_name"] == "enterprises"
    assert "founded" in batch["message"]
    assert batch["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_of_unknown_table_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "stuff.csv", "foo,bar", ["1,2"])

    result = ingest_paths(engine, [path])
    (summary,) = result.files

    assert summary.status == "refused"
    assert not result.ok
    assert re.search(
        r"cannot tell which table this file holds; name it after a table "
        r"\(enterprises, persons, roles, records, financials, loans\)",
        summary.message,
    )
    assert [b["status"] for b in batches(engine)] == ["refused"]


def test_unknown_table_argument_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1)])

    summary = ingest_file(engine, path, table="nope")

    assert summary.status == "refused"
    assert re.search(r"table must be one of enterprises, .*loans; got 'nope'", summary.message)
    assert count(engine, "enterprises") == 0


def test_unsupported_extension_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "enterprises.json"
    path.write_text('[{"uscc": "x"}]', encoding="utf-8")

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert re.search(r"file type must be \.csv, \.parquet or \.xlsx; got '\.json'", summary.message)
    assert [b["status"] for b in batches(engine)] == ["refused"]


def test_parquet_and_xlsx_ingest_the_same_rows_as_csv(engine: Engine, tmp_path: Path) -> None:
    # The same four rows, typed as a spreadsheet or a data tool would type them: dates as
    # dates, money as floats, region codes as integers. Row 4 (U3) has a wrong check character.
    frame = pd.DataFrame(
        {
            "uscc": [U1, U2, wrong_check(U3), U4],
            "name": ["来安县甲有限公司", "来安县乙商行", "来安县丙公司", "来安县丁合伙企业"],
            "kind": ["company", "个体工商户", "company", "partnership"],
            "status": ["active", "注销", "active", "revoked"],
            "industry": ["C", None, "C", "F"],
            "region": [341122, 341122, 341122, 341122],
            "registered_capital": [100.0, np.nan, 30.0, 12.5],
            "founded": pd.to_datetime(["2020-01-05", "2019-03-01", "2021-05-05", "2018-07-09"]),
            "closed": pd.to_datetime([None, "2023-06-30", None, "2024-02-29"]),
        }
    )
    csv_path = tmp_path / "enterprises.csv"
    frame.to_csv(csv_path, index=False)
    parquet_path = tmp_path / "enterprises.parquet"
    frame.to_parquet(parquet_path)
    xlsx_path = tmp_path / "enterprises.xlsx"
    frame.to_excel(xlsx_path, index=False, engine="openpyxl")

    from_csv = ingest(engine, csv_path)
    after_csv = stored(engine, "enterprises")
    from_parquet = ingest(engine, parquet_path)
    from_xlsx = ingest(engine, xlsx_path)

    assert (from_csv.inserted, from_csv.quarantined) == (3, 1)
    for summary in (from_parquet, from_xlsx):  # identical values: nothing to insert or update
        assert summary.status == "ok"
        assert (summary.read, summary.unchanged, summary.quarantined) == (4, 3, 1)
        assert (summary.inserted, summary.updated) == (0, 0)
    pd.testing.assert_frame_equal(stored(engine, "enterprises"), after_csv)
    assert after_csv["closed"].tolist()[1] == pd.Timestamp("2023-06-30")
    assert after_csv["region"].tolist() == [COUNTY] * 3
    rows = quarantined(engine)
    assert [(r["row_number"], r["column_name"]) for r in rows] == [(4, "uscc")] * 3
    assert len({r["reason"] for r in rows}) == 1


def test_parquet_with_nullable_dtypes_reads_missing_cells_as_empty(
    engine: Engine, tmp_path: Path
) -> None:
    frame = pd.DataFrame(
        {
            "uscc": [U1, U2],
            "period": ["2024", "2024"],
            "tax_paid": [1.5, None],
            "tax_grade": pd.array(["A", None], dtype="string"),
            "insured_employees": pd.array([3, None], dtype="Int64"),
            "utility_on_time": [0.9, None],
            "procurement_amount": [None, None],
        }
    )
    path = tmp_path / "financials.parquet"
    frame.to_parquet(path)

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (2, 0)
    assert stored(engine, "financials")["insured_employees"].isna().tolist() == [False, True]


# --------------------------------------------------------------------------- 双公示 files

PENALTY_HEADER = (
    "行政相对人名称,行政相对人类别,统一社会信用代码,行政处罚决定书文号,处罚类别,处罚决定日期,"
    "公示截止期,处罚机关,罚款金额（万元）"
)


def test_national_penalty_file_with_chinese_headers(engine: Engine, tmp_path: Path) -> None:
    org = "法人及非法人组织"
    path = write(
        tmp_path,
        "来安县行政处罚双公示.csv",
        PENALTY_HEADER,
        [
            f"来安县甲公司,{org},{U1},来市监罚〔2025〕1号,警告,2025-01-15,,某县市场监督管理局,",
            f"来安县乙公司,{org},{U2},来环罚〔2025〕2号,罚款,2025-03-10,,某县生态环境局,2",
            f"来安县丙公司,{org},{U3},来市监罚〔2025〕3号,吊销营业执照,2025-06-30,2028-06-30,"
            "某县市场监督管理局,",
            f"来安县丁公司,{org},{U4},来交罚〔2026〕4号,罚款,2026-05-10,,某县交通运输局,0.5",
            f"来安县戊公司,{org},{U5},来应急罚〔2025〕5号,警告;罚款,2025-08-01,,某县应急管理局,1",
            # 9999-12-31 is how publicity files write 长期 (no end).
            f"来安县己公司,{org},{U6},来市监罚〔2025〕6号,吊销营业执照,2025-09-01,9999-12-31,"
            "某县市场监督管理局,",
        ],
        encoding="utf-8-sig",  # as Excel saves "CSV UTF-8": with a byte-order mark
    )

    summary = ingest(engine, path)

    assert summary.table == "records"
    assert (summary.inserted, summary.quarantined) == (6, 0)
    frame = stored(engine, "records").set_index("subject_id")
    assert set(frame["kind"]) == {"administrative_penalty"}
    assert set(frame["subject_type"]) == {"enterprise"}
    assert frame.loc[U1, "record_id"] == "来市监罚〔2025〕1号"
    assert frame.loc[U1, "subject_name"] == "来安县甲公司"
    assert frame.loc[U2, "authority"] == "某县生态环境局"
    assert frame["domain"].to_dict() == {
        U1: "market_regulation",
        U2: "ecology_environment",
        U3: "market_regulation",
        U4: "transport",
        U5: "work_safety",
        U6: "market_regulation",
    }
    assert frame["severity"].to_dict() == {
        U1: "minor",  # 警告
        U2: "general",  # 罚款
        U3: "serious",  # 吊销营业执照
        U4: "general",
        U5: "general",  # 警告;罚款: the most severe category wins
        U6: "serious",
    }
    assert frame.loc[U2, "amount"] == 2.0
    assert np.isnan(frame.loc[U1, "amount"])
    # Publicity ends, by hand:
    #   U1 market regulation, minor: 3 months from 2025-01-15 → 2025-04-15.
    #   U2 Order No. 58 (decided before 2026-04-01), general: 3 years → 2028-03-10.
    #   U3, U6 公示截止期 given → kept, regime explicit.
    #   U4 NDRC 信用修复管理办法 (decided 2026-05-10 ≥ 2026-04-01), general: 1 year → 2027-05-10.
    #   U5 Order No. 58, general (work safety): 3 years → 2028-08-01.
    assert frame["regime"].to_dict() == {
        U1: "market_regulation",
        U2: "order_58",
        U3: "explicit",
        U4: "ndrc_2026",
        U5: "order_58",
        U6: "explicit",
    }
    assert frame["publicity_end"].to_dict() == {
        U1: pd.Timestamp("2025-04-15"),
        U2: pd.Timestamp("2028-03-10"),
        U3: pd.Timestamp("2028-06-30"),
        U4: pd.Timestamp("2027-05-10"),
        U5: pd.Timestamp("2028-08-01"),
        U6: pd.Timestamp("9999-12-31"),
    }
    assert ingest(engine, path).unchanged == 6  # derived ends compare equal on re-ingest


def test_penalty_file_without_subject_type_quarantines_a_bad_uscc(
    engine: Engine, tmp_path: Path
) -> None:
    header = "行政相对人名称,统一社会信用代码,行政处罚决定书文号,处罚类别,处罚决定日期,处罚机关"
    path = write(
        tmp_path,
        "行政处罚.csv",
        header,
        [
            f"来安县甲公司,{U1},来环罚〔2025〕1号,罚款,2025-03-10,某县生态环境局",
            f"来安县乙公司,{wrong_check(U2)},来环罚〔2025〕2号,罚款,2025-03-10,某县生态环境局",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(quarantined(engine), 3, "subject_id", r"check character")


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


# --------------------------------------------------------------------------- persons, IDs


def test_resident_id_helper_matches_the_standard_example() -> None:
    assert resident_id(ID_X[:17]) == ID_X


def test_raw_resident_id_is_hashed_masked_and_never_stored(engine: Engine, tmp_path: Path) -> None:
    other = resident_id("34112219900307123")
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,身份证号",
        [f"P1,张三,{ID_X.lower()}", f"P2,李四,{other}"],
    )

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (2, 0)
    frame = stored(engine, "persons")
    assert frame["id_masked"].tolist() == ["110105********002X", f"341122********{other[-4:]}"]
    assert frame["id_hash"].tolist() == [
        hmac.new(SALT, number.encode("ascii"), hashlib.sha256).hexdigest()
        for number in (ID_X, other)  # the hash of the normalised (upper-case X) number
    ]
    assert_nowhere_in_store(engine, [ID_X, other])


def test_invalid_raw_resident_id_is_quarantined_masked(engine: Engine, tmp_path: Path) -> None:
    valid = resident_id("34112219900307123")
    invalid = valid[:17] + ("0" if valid[17] != "0" else "1")
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_number",
        [f"P1,张三,{ID_X}", f"P2,李四,{invalid}"],
    )

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    row = assert_quarantined(
        quarantined(engine), 3, "id_number", r"resident ID check character does not match"
    )
    assert invalid not in row["reason"]
    assert row["raw"]["id_number"] == f"341122********{invalid[-4:]}"
    assert row["raw"]["name"] == "李四"
    assert_nowhere_in_store(engine, [ID_X, invalid])


def test_malformed_persons_line_never_stores_the_raw_id(engine: Engine, tmp_path: Path) -> None:
    second = resident_id("34112219900307123")
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_number",
        [f"P1,张三,{ID_X}", f"P2,李,四,{second}", f"P3,{resident_id('34112219851111001')}"],
    )

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    assert_nowhere_in_store(engine, [ID_X, second, resident_id("34112219851111001")])


def test_raw_resident_ids_without_a_salt_store_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "persons.csv", "person_id,name,id_number", [f"P1,张三,{ID_X}"])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status != "ok"
    assert re.search(r"raw ID numbers; an id_salt is required", summary.message)
    assert count(engine, "persons") == 0
    assert quarantined(engine) == []
    assert_nowhere_in_store(engine, [ID_X])


def test_raw_resident_ids_without_a_salt_are_refused(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "persons.csv", "person_id,name,id_number", [f"P1,张三,{ID_X}"])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert [b["status"] for b in batches(engine)] == ["refused"]


# --------------------------------------------------------------------------- failure, report


def _explode(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("disk on fire")


def test_failed_transaction_leaves_nothing_behind(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(risk.ingest, "_count_orphans", _explode)
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


def test_failed_file_summary_reconciles_and_counts_no_codes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(risk.ingest, "_count_orphans", _explode)
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


# --------------------------------------------------------------------------- ID numbers (#11)

OTHER_ID = resident_id("34112219900307123")


def test_id_masked_must_have_the_masked_form(engine: Engine, tmp_path: Path) -> None:
    hash_hex = "ab" * 32
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_hash,id_masked",
        [
            f"P1,张三,{hash_hex},110105********002X",
            f"P2,李四,{hash_hex},{OTHER_ID}",  # the raw number where the masked form belongs
            f"P3,王五,{hash_hex},110105-002X",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    rows = quarantined(engine)
    row = assert_quarantined(rows, 3, "id_masked", r"id_masked must not hold a resident ID")
    assert OTHER_ID not in json.dumps(row, ensure_ascii=False, default=str)
    assert f"341122********{OTHER_ID[-4:]}" in row["reason"]
    assert_quarantined(
        rows,
        4,
        "id_masked",
        r"id_masked must be like 340321\*\*\*\*\*\*\*\*1234; got '110105-002X'",
    )
    assert_nowhere_in_store(engine, [OTHER_ID])


def test_id_hash_must_be_64_hexadecimal_characters(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_hash,id_masked",
        [
            f"P1,张三,{'AB' * 32},110105********002X",  # upper case: normalised to lower
            f"P2,李四,{OTHER_ID},341122********{OTHER_ID[-4:]}",
            f"P3,王五,{'g' * 64},341122********{OTHER_ID[-4:]}",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    assert stored(engine, "persons")["id_hash"].tolist() == ["ab" * 32]
    rows = quarantined(engine)
    assert_quarantined(rows, 3, "id_hash", r"id_hash must not hold a resident ID number")
    assert_quarantined(rows, 4, "id_hash", r"id_hash must be 64 hexadecimal characters")
    assert_nowhere_in_store(engine, [OTHER_ID])


@pytest.mark.parametrize(
    ("table", "header", "row", "column"),
    [
        ("persons", "person_id,name,id_number", f"{OTHER_ID},张三,{ID_X}", "person_id"),
        ("persons", "person_id,name,id_number", f"P1,张三{OTHER_ID},{ID_X}", "name"),
        ("enterprises", ENTERPRISES, ent(U1, f"来安县{OTHER_ID}商行"), "name"),
        ("roles", ROLES, f"{U1},person,{OTHER_ID},legal_rep,,2020-01-05,", "holder_id"),
        ("records", RECORDS, rec("R1", OTHER_ID, subject_type="person"), "subject_id"),
        ("records", RECORDS, rec(f"来环罚{OTHER_ID}号"), "record_id"),
        ("records", RECORDS, rec("R1", authority=f"来安县 {OTHER_ID}"), "authority"),
        (
            "loans",
            LOANS,
            f"{OTHER_ID},{U1},来安农商银行,2024-01-10,1,1,12,performing,2024-02-01",
            "loan_id",
        ),
        ("loans", LOANS, f"L1,{U1},{OTHER_ID},2024-01-10,1,1,12,performing,2024-02-01", "bank"),
    ],
)
def test_id_number_in_a_stored_column_is_quarantined_masked(
    engine: Engine, tmp_path: Path, table: str, header: str, row: str, column: str
) -> None:
    path = write(tmp_path, f"{table}.csv", header, [row])

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (0, 1)
    (only,) = quarantined(engine)
    assert only["column_name"] == column
    assert re.search(
        rf"{column} must not hold a resident ID number; got .*341122\*{{8}}", only["reason"]
    )
    assert_nowhere_in_store(engine, [OTHER_ID, ID_X])


def test_full_width_or_spaced_id_number_is_found_too(engine: Engine, tmp_path: Path) -> None:
    spaced = f"{OTHER_ID[:6]} {OTHER_ID[6:14]} {OTHER_ID[14:]}"
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [ent(U1, f"来安县{full_width(OTHER_ID)}"), ent(U2, f"来安县{spaced}")],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (0, 2)
    assert_nowhere_in_store(engine, [full_width(OTHER_ID), spaced, OTHER_ID])


def test_file_name_with_an_id_number_is_stored_and_reported_masked(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, f"enterprises_{OTHER_ID}.csv", ENTERPRISES, [ent(U1), ent("bad")])
    refused = write(tmp_path, f"{OTHER_ID}.csv", "foo,bar", ["1,2"])

    result = ingest_paths(engine, [path, refused])

    assert [f.status for f in result.files] == ["ok", "refused"]
    assert all(OTHER_ID not in json.dumps(f.__dict__, default=str) for f in result.files)
    assert f"341122********{OTHER_ID[-4:]}" in result.files[0].source
    assert_nowhere_in_store(engine, [OTHER_ID])


def test_failed_statement_stores_a_short_message_without_parameters(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1, "来安县甲有限公司")])
    ingest(engine, path)
    real_existing = risk.ingest._existing

    def nothing_known(conn: Any, spec: Any, frame: pd.DataFrame) -> pd.DataFrame:
        return real_existing(conn, spec, frame.iloc[0:0])  # every row looks new: a key clash

    monkeypatch.setattr(risk.ingest, "_existing", nothing_known)

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "failed"
    assert summary.message.startswith(("IntegrityError", "UniqueViolation"))
    for leaked in ("来安县甲有限公司", "[SQL", "parameters", "INSERT"):
        assert leaked not in summary.message
    assert len(summary.message) < 400
    assert batches(engine)[-1]["message"] == summary.message


# --------------------------------------------------------------------------- bad files (#11)


def test_huge_cell_is_quarantined_and_the_rest_ingested(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1, "甲" * 200_000), ent(U2)])

    summary = ingest(engine, path)

    assert (summary.status, summary.inserted, summary.quarantined) == ("ok", 1, 1)
    row = assert_quarantined(
        quarantined(engine), 2, "name", r"name must be at most 200 characters; got 200000"
    )
    assert len(json.dumps(row["raw"], ensure_ascii=False)) < 5_000  # cells are cut in quarantine


def _corrupt_xlsx(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    return path


def test_corrupt_xlsx_is_refused_and_the_directory_goes_on(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "enterprises.csv", ENTERPRISES, [ent(U1)])
    _corrupt_xlsx(folder / "records.xlsx")
    write(folder, "roles.csv", ROLES, [f"{U1},person,P1,legal_rep,,2020-01-05,"])

    result = ingest_paths(engine, [folder])

    assert [(f.table, f.status) for f in result.files] == [
        ("enterprises", "ok"),
        ("roles", "ok"),
        ("?", "refused"),  # records come after roles in dependency order
    ]
    assert re.search(r"not a readable XLSX workbook", result.files[2].message)
    assert [b["status"] for b in batches(engine)] == ["ok", "ok", "refused"]
    assert count(engine, "roles") == 1


def _workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_every_sheet_of_a_workbook_is_ingested(engine: Engine, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "county.xlsx",
        {
            "enterprises": [ENTERPRISES.split(","), ent(U1).split(","), ent("bad").split(",")],
            "Sheet2": [ROLES.split(","), [U1, "person", "P1", "legal_rep", None, "2020-01-05"]],
            "empty": [],
        },
    )

    result = ingest_paths(engine, [path])

    assert [(Path(f.source).name, f.table, f.status) for f in result.files] == [
        ("county.xlsx#enterprises", "enterprises", "ok"),
        ("county.xlsx#Sheet2", "roles", "ok"),
    ]
    assert [(f.read, f.inserted, f.quarantined) for f in result.files] == [(2, 1, 1), (1, 1, 0)]
    assert only_row(quarantined(engine), 3)["source"].endswith("county.xlsx#enterprises")


def test_sheet_of_no_known_table_is_refused_not_ignored(engine: Engine, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "enterprises.xlsx",
        {"Sheet1": [ENTERPRISES.split(","), ent(U1).split(",")], "说明": [["备注"], ["见附件"]]},
    )

    result = ingest_paths(engine, [path])

    assert [f.status for f in result.files] == ["ok", "refused"]
    assert re.search(r"cannot tell which table", result.files[1].message)
    assert not result.ok


def test_unclosed_quote_quarantines_its_line_and_keeps_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [ent(U1), ent(U2, '"来安县乙有限公司'), ent(U3), ent(U4), ent(U5)]
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (5, 4, 1)
    row = assert_quarantined(quarantined(engine), 3, "name", r"quote .* never closed")
    assert U2 in json.dumps(row["raw"])
    assert stored(engine, "enterprises")["uscc"].tolist() == sorted([U1, U3, U4, U5])


def test_quote_closed_inside_a_field_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    rows = [ent(U1), ent(U2, '"来安县"乙有限公司'), ent(U3)]
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (3, 2, 1)
    assert_quarantined(quarantined(engine), 3, "name", r"quote")


def _with_cached_value(path: Path, cell: str, value: str) -> None:
    """Give a formula cell written by openpyxl (which never stores results) a cached value."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    start = sheet.index(f'<c r="{cell}"')
    end = sheet.index("</c>", start)
    parts["xl/worksheets/sheet1.xml"] = (
        sheet[:start] + sheet[start:end].replace("<v />", f"<v>{value}</v>") + sheet[end:]
    ).encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)


def test_formula_without_a_cached_value_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "enterprises.xlsx",
        {
            "Sheet1": [
                ENTERPRISES.split(","),
                [U1, "甲", "company", "active", "C", COUNTY, "=10*10", "2020-01-05"],
                [U2, "乙", "company", "active", "C", COUNTY, "=10*3", "2020-01-05"],
            ]
        },
    )
    _with_cached_value(path, "G2", "100")

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert stored(engine, "enterprises")["registered_capital"].tolist() == [100.0]
    assert_quarantined(
        quarantined(engine), 3, "registered_capital", r"formula without a cached value"
    )


def test_legacy_xls_is_refused_clearly_also_in_a_directory(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "enterprises.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504)

    (summary,) = ingest_paths(engine, [folder]).files

    assert summary.status == "refused"
    assert re.search(r"legacy Excel 97-2003 \.xls.*save it as \.xlsx or CSV", summary.message)


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("enterprises.csv", r"named \.csv but holds a ZIP archive \(an XLSX workbook\?\)"),
        ("enterprises.parquet", r"named \.parquet but holds a ZIP archive"),
    ],
)
def test_misnamed_file_is_refused_clearly(
    engine: Engine, tmp_path: Path, name: str, pattern: str
) -> None:
    xlsx = _workbook(
        tmp_path / "real.xlsx", {"Sheet1": [ENTERPRISES.split(","), ent(U1).split(",")]}
    )
    path = tmp_path / name
    path.write_bytes(xlsx.read_bytes())

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert re.search(pattern, summary.message)


def test_csv_named_xlsx_is_refused_clearly(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.xlsx", ENTERPRISES, [ent(U1)])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert re.search(r"named \.xlsx but holds text", summary.message)


def test_integer_beyond_the_store_range_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "loans.csv",
        LOANS,
        [
            f"L1,{U1},来安农商银行,2024-01-10,100,80,12,performing,2024-06-30",
            f"L2,{U1},来安农商银行,2024-01-10,100,80,1e15,performing,2024-06-30",
            f"L3,{U1},来安农商银行,2024-01-10,100,80,2147483648,performing,2024-06-30",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.status, summary.inserted, summary.quarantined) == ("ok", 1, 2)
    rows = quarantined(engine)
    assert_quarantined(
        rows,
        3,
        "term_months",
        r"term_months must be at most 2147483647 \(the store's integer range\); got '1e15'",
    )
    assert_quarantined(rows, 4, "term_months", r"term_months must be at most 2147483647")


def test_duplicate_header_refuses_the_file_naming_it(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", f"{ENTERPRISES},name", [f"{ent(U1)},乙"])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert re.search(r"header 'name' appears more than once \(columns 2 and 10\)", summary.message)
    assert count(engine, "enterprises") == 0


def test_nul_byte_in_a_cell_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1, "甲\x00乙"), ent(U2)])

    summary = ingest(engine, path)

    assert (summary.status, summary.inserted, summary.quarantined) == ("ok", 1, 1)
    row = assert_quarantined(quarantined(engine), 2, "name", r"name must not contain a NUL byte")
    assert "\x00" not in json.dumps(row["raw"])


def test_event_dates_after_the_ingest_day_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "records.csv",
        RECORDS,
        [
            rec("R1", decided="2026-06-30", publicity_end="9999-12-31"),
            rec("R2", decided="2026-07-01"),
            rec("R3", decided="2099-01-01"),
            rec("R4", decided="2026-01-01", repaired="2031-01-01"),
        ],
    )

    summary = ingest(engine, path, today=date(2026, 6, 30))

    assert (summary.inserted, summary.quarantined) == (1, 3)
    rows = quarantined(engine)
    assert_quarantined(
        rows,
        3,
        "decided",
        r"decided must not be after the ingest day \(2026-06-30\); got '2026-07-01'",
    )
    assert_quarantined(rows, 4, "decided", r"must not be after the ingest day")
    assert_quarantined(rows, 5, "repaired", r"must not be after the ingest day")
    assert stored(engine, "records")["publicity_end"].tolist() == [pd.Timestamp("9999-12-31")]


def test_event_dates_default_to_today_as_the_ingest_day(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1, founded="2099-01-01")])

    summary = ingest(engine, path)

    assert summary.quarantined == 1


def test_parquet_with_nested_and_mistyped_columns_is_quarantined(
    engine: Engine, tmp_path: Path
) -> None:
    frame = pd.DataFrame(
        {
            "uscc": [U1, U2, U3],
            "name": [["甲"], ["乙", "丙"], ["丁"]],  # a list column
            "kind": ["company"] * 3,
            "status": ["active"] * 3,
            "industry": ["C"] * 3,
            "region": [COUNTY] * 3,
            "registered_capital": [1.0, 2.0, 3.0],
            "founded": [5, 6, 7],  # integers where a date belongs
        }
    )
    path = tmp_path / "enterprises.parquet"
    frame.to_parquet(path)

    summary = ingest(engine, path)

    assert (summary.status, summary.quarantined) == ("ok", 3)
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "name", r"name must be a single value; got a list")


def test_any_exception_reading_a_file_is_a_refusal_not_a_crash(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    write(folder, "enterprises.csv", ENTERPRISES, [ent(U1)])
    write(folder, "roles.csv", ROLES, [f"{U1},person,P1,legal_rep,,2020-01-05,"])
    real_read = risk.ingest.read_raw

    def explode_on_roles(path: Path, **kwargs: Any) -> Any:
        if path.stem == "roles":
            raise KeyError(f"surprise in {path} for {OTHER_ID}")
        return real_read(path, **kwargs)

    monkeypatch.setattr(risk.ingest, "read_raw", explode_on_roles)

    result = ingest_paths(engine, [folder])

    assert [f.status for f in result.files] == ["ok", "refused"]
    assert result.files[1].message.startswith("KeyError: ")
    assert OTHER_ID not in result.files[1].message
    assert [b["status"] for b in batches(engine)] == ["ok", "refused"]


def test_ingest_file_takes_one_sheet_and_names_the_others(engine: Engine, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "book.xlsx",
        {
            "Sheet1": [ENTERPRISES.split(","), ent(U1).split(",")],
            "records": [RECORDS.split(","), rec("R1").split(",")],
        },
    )

    first = ingest_file(engine, path)
    second = ingest_file(engine, path, sheet="records")
    missing = ingest_file(engine, path, sheet="nope")

    assert (first.table, first.inserted, first.source) == ("enterprises", 1, str(path))
    assert re.search(r"other sheets not ingested here: records", first.message)
    assert (second.table, second.inserted, second.source) == ("records", 1, f"{path}#records")
    assert missing.status == "refused"
    assert re.search(r"sheet must be one of Sheet1, records; got 'nope'", missing.message)


def test_utf16_tab_separated_text_is_read(engine: Engine, tmp_path: Path) -> None:
    text = "\r\n".join([ENTERPRISES.replace(",", "\t"), ent(U1).replace(",", "\t"), ""])
    path = tmp_path / "enterprises.csv"
    path.write_bytes(text.encode("utf-16"))  # Excel's "Unicode text": UTF-16 with a BOM, tabs

    summary = ingest(engine, path)

    assert (summary.encoding, summary.inserted) == ("utf-16", 1)
    assert stored(engine, "enterprises")["uscc"].tolist() == [U1]


def test_a_refusal_that_cannot_be_logged_is_still_reported(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "stuff.csv", "foo,bar", ["1,2"])
    monkeypatch.setattr(risk.ingest, "ingest_batches", None)  # any use of it fails

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert summary.batch_id is None
    assert re.search(r"cannot tell which table.*; the batch could not be logged", summary.message)
