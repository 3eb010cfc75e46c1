"""Spreadsheet-safe exports: CSV and XLSX files people open in Excel or WPS.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` is read as a formula by
spreadsheet programs (CSV injection, OWASP): an enterprise registered as
``=HYPERLINK("http://…","点击")`` would become a live link in the 通报 list a regulator opens.
:func:`spreadsheet_safe` is the one rule, applied to every cell of every file credlink writes
for people (the 通报 list from ``credlink warn export`` and ``GET /v1/warnings/export``):

* a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — also
  after leading whitespace, and in the full-width (``＝＋－＠``) or small forms that
  spreadsheets normalise (NFKC) — gets a single quote in front (``'=HYPERLINK(…)``): the text
  is kept, readable after the quote, and never evaluated;
* numbers stay numbers: a fine of ``-1.5`` written from a numeric value is a number cell
  (XLSX) or a plain number (CSV), which a spreadsheet never evaluates. Only *text* that
  looks like a number (``"-1"`` in a text column) gets the quote.

CSV files additionally quote every field (``QUOTE_ALL``, OWASP's "wrap each cell in double
quotes"), so that a separator inside a cell (``甲;=cmd``) cannot start a new cell in a
spreadsheet whose list separator is not the comma. XLSX text cells are written with their
data type forced to string, so openpyxl never stores a formula whatever the text; control
characters XLSX cannot hold become U+FFFD instead of failing the export.

Files written for ingest (``bods_*.csv``, the outcomes' loans file) are machine input, not
exports for people, and do not pass through here: a quote would change the data.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

__all__ = ["csv_bytes", "spreadsheet_safe", "write_spreadsheet"]

_FORMULA_STARTS = frozenset("=+-@")
_CONTROL_STARTS = frozenset("\t\r")
_MAX_WIDTH = 80


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise one cell for spreadsheets: text that a spreadsheet would evaluate gets ``'``.

    Parameters
    ----------
    value
        A cell value of any type.

    Returns
    -------
    Any
        ``"'" + value`` for text starting (after any leading whitespace, full-width forms
        normalised) with ``=``, ``+``, ``-``, ``@``, or starting with a tab or a carriage
        return; every other value unchanged (numbers, dates and missing values included).
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in _CONTROL_STARTS:
        return "'" + value
    stripped = value.lstrip()
    # NFKC maps the full-width and small forms (＝ ＋ － ＠ ﹦ ﹢ ﹣) to the ASCII ones, as
    # Excel and WPS do when they parse a cell.
    if stripped and unicodedata.normalize("NFKC", stripped[0])[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).map(spreadsheet_safe) if len(frame) else frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as a spreadsheet-safe CSV: UTF-8 with a byte-order mark, every field quoted.

    The byte-order mark makes Excel on Chinese Windows read UTF-8 without mojibake.
    """
    text = _safe_frame(frame).to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def _xlsx_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _xlsx_bytes(frame: pd.DataFrame, sheet_name: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_name
    bold = Font(bold=True)
    widths = [len(str(c)) for c in frame.columns]
    for column, header in enumerate(frame.columns, start=1):
        cell = sheet.cell(row=1, column=column, value=_xlsx_text(str(spreadsheet_safe(header))))
        cell.data_type = "s"
        cell.font = bold
    for row, values in enumerate(frame.itertuples(index=False, name=None), start=2):
        for column, raw in enumerate(values, start=1):
            value = spreadsheet_safe(raw)
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            if isinstance(value, str):
                cell = sheet.cell(row=row, column=column, value=_xlsx_text(value))
                cell.data_type = "s"  # never a formula, whatever the text
            else:
                sheet.cell(row=row, column=column, value=value)
            widths[column - 1] = max(widths[column - 1], len(str(value)))
    for column, cells in enumerate(sheet.iter_cols(min_row=1, max_row=1), start=1):
        letter = cells[0].column_letter
        sheet.column_dimensions[letter].width = min(2 + 1.6 * widths[column - 1], _MAX_WIDTH)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_spreadsheet(frame: pd.DataFrame, path: str | Path, *, sheet_name: str = "Sheet1") -> Path:
    """Write the frame as a spreadsheet-safe ``.csv`` (:func:`csv_bytes`) or ``.xlsx`` file.

    Parameters
    ----------
    frame
        The table; its column names are the header row.
    path
        The file to write, ending in ``.csv`` or ``.xlsx`` (parent folders are created).
    sheet_name
        The XLSX sheet's name.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If the path ends in neither ``.csv`` nor ``.xlsx``.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"path must end in .csv or .xlsx; got {str(target)!r}")
    data = csv_bytes(frame) if suffix == ".csv" else _xlsx_bytes(frame, sheet_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target
