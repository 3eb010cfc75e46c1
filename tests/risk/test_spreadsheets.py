"""Tests for risk.spreadsheets: exports that a spreadsheet never evaluates (OWASP CSV injection).

Files are read back the way a person's spreadsheet sees them: the XLSX with openpyxl (cell
data types, not pandas' reading of them), the CSV with the csv module.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from risk.spreadsheets import csv_bytes, spreadsheet_safe, write_spreadsheet

HOSTILE = [
    '=HYPERLINK("http://evil.example/x","点击")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\tplain after a tab",
    "  =1+1",  # after leading spaces
    "\u3000=1+1",  # after an ideographic (full-width) space
    "\n@SUM(1)",
    "＝1+1",  # full-width forms spreadsheets normalise
    "＋1",
    "－1",
    "＠SUM(1)",
    "﹦1+1",  # small form of =
    "-1",  # text that looks like a negative number is still text
]
HARMLESS = ["清源县利中贸易有限公司", "913411006958188871", "a=b", "1-2", "'=already quoted", " x"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_evaluate_gets_a_quote(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", [*HARMLESS, "", None, -1, -1.5, 0, 2.0, date(2026, 6, 30), True])
def test_everything_else_is_unchanged(value: object) -> None:
    assert spreadsheet_safe(value) is value


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "企业名称": [*HOSTILE, "乙公司"],
            "罚款金额(万元)": [-1.0] + [float(i) for i in range(len(HOSTILE))],
            "决定日期": ["2026-06-30"] * (len(HOSTILE) + 1),
        }
    )


def test_xlsx_has_no_formula_and_keeps_the_text_after_the_quote(tmp_path: Path) -> None:
    frame = _frame()
    path = write_spreadsheet(frame, tmp_path / "通报.xlsx", sheet_name="预警通报")
    sheet = openpyxl.load_workbook(path)["预警通报"]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in sheet[1]] == list(frame.columns)
    names = [sheet.cell(row=r, column=1) for r in range(2, len(frame) + 2)]
    # XML reads a carriage return back as a line feed; the text is otherwise kept as is.
    expected = ["'" + t.replace("\r", "\n") for t in HOSTILE] + ["乙公司"]
    assert [c.value for c in names] == expected
    assert {c.data_type for c in names} == {"s"}
    # A real negative number is a number cell, not text and not a formula.
    fine = sheet.cell(row=2, column=2)
    assert fine.value == -1 and fine.data_type == "n"


def test_xlsx_forces_text_cells_to_strings_and_replaces_illegal_characters(
    tmp_path: Path,
) -> None:
    # Even text that reaches the writer unneutralised would be stored as a string.
    frame = pd.DataFrame({"名称": ["甲\x01公司", None], "金额": [None, -3]})
    path = write_spreadsheet(frame, tmp_path / "x.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert sheet["A2"].value == "甲\ufffd公司" and sheet["A2"].data_type == "s"
    assert sheet["A3"].value is None and sheet["B2"].value is None
    assert sheet["B3"].value == -3 and sheet["B3"].data_type == "n"


def test_csv_quotes_every_field_and_neutralises_each_cell(tmp_path: Path) -> None:
    frame = _frame()
    data = csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(frame.columns)
    assert [r[0] for r in rows[1:]] == ["'" + t for t in HOSTILE] + ["乙公司"]
    assert all(r[0].startswith("'") for r in rows[1:-1])
    assert rows[1][1] == "-1.0"  # a number stays a number
    # Every field is quoted (a ; inside a cell cannot start a new cell in any locale).
    first_line = data.decode("utf-8-sig").split("\r\n")[1]
    assert first_line.startswith('"\'=HYPERLINK(""http://evil.example/x"",""点击"")","-1.0",')
    write_spreadsheet(frame, tmp_path / "a" / "x.csv")
    assert (tmp_path / "a" / "x.csv").read_bytes() == data


def test_empty_frame_writes_the_header_only(tmp_path: Path) -> None:
    frame = pd.DataFrame(columns=["企业名称", "状态"])
    assert csv_bytes(frame).decode("utf-8-sig") == '"企业名称","状态"\r\n'
    sheet = openpyxl.load_workbook(write_spreadsheet(frame, tmp_path / "x.xlsx")).active
    assert sheet is not None and sheet.max_row == 1


def test_other_suffixes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"path must end in \.csv or \.xlsx; got '.*x\.pdf'"):
        write_spreadsheet(pd.DataFrame(), tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
