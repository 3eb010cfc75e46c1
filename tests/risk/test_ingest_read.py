"""risk.ingest.read: files, sheets and encodings (CSV, Parquet, XLSX), and the files refused.

See :mod:`tests.risk.ingest_helpers` for how the files are written and what is asserted.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

import risk.ingest.pipeline
import risk.ingest.read
import risk.ingest.upsert
from risk.ingest import ingest_file, ingest_paths
from tests.risk.ingest_helpers import (
    COUNTY,
    ENTERPRISES,
    LOANS,
    OTHER_ID,
    RECORDS,
    ROLES,
    U1,
    U2,
    U3,
    U4,
    U5,
    assert_quarantined,
    batches,
    count,
    ent,
    ingest,
    only_row,
    quarantined,
    rec,
    stored,
    write,
    wrong_check,
)

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
    real_read = risk.ingest.pipeline.read_raw

    def explode_on_roles(path: Path, **kwargs: Any) -> Any:
        if path.stem == "roles":
            raise KeyError(f"surprise in {path} for {OTHER_ID}")
        return real_read(path, **kwargs)

    monkeypatch.setattr(risk.ingest.pipeline, "read_raw", explode_on_roles)

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
    monkeypatch.setattr(risk.ingest.upsert, "ingest_batches", None)  # any use of it fails

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert summary.batch_id is None
    assert re.search(r"cannot tell which table.*; the batch could not be logged", summary.message)


@pytest.mark.parametrize(
    "body",
    [
        # comma-separated, CRLF, a whitespace-only row, a row of empty cells, Chinese text
        "uscc,name,note\r\n91110000600037341L,甲公司, x \r\n ,\u3000, \r\n,,\r\n"
        "91110000600037341L,乙,\u00a0y\r\n",
        # tab-separated (Excel's Unicode text), no final newline
        "uscc\tname\n91110000600037341L\t甲\n\t \n91110000600037341L\t乙",
        # a field-count error and an empty line: the line-by-line reader takes the file
        "uscc,name\n91110000600037341L,甲\n\n91110000600037341L,乙,丙\n91110000600037341L,丁\n",
    ],
)
def test_fast_and_line_by_line_readers_read_a_file_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    path = tmp_path / "enterprises.csv"
    path.write_text(body, encoding="utf-8")
    fast = risk.ingest.read.read_raw(path)
    monkeypatch.setattr(risk.ingest.read, "_plain_csv", lambda *_args: None)
    slow = risk.ingest.read.read_raw(path)

    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    assert fast.row_numbers.tolist() == slow.row_numbers.tolist()
    assert (fast.blank_rows, fast.encoding) == (slow.blank_rows, slow.encoding)
    assert [(p.number, p.header, p.reason) for p in fast.malformed] == [
        (p.number, p.header, p.reason) for p in slow.malformed
    ]
