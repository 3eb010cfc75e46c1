"""Reading files: CSV (UTF-8, GB18030 or UTF-16; comma or tab), Parquet and XLSX sheets as text.

A file is read into a :class:`RawTable` of strings (``""`` for an empty cell), with the lines
reading refused (wrong field count, broken quoting) kept apart as :class:`RowProblem` and cells
that cannot be trusted (a formula without a cached value, a list in a Parquet cell) listed, so
validation quarantines their rows. A file whose bytes are not what its name says, without a
header or with a header repeated is refused whole (``ValueError`` with the reason).

Row numbers are spreadsheet-style: the header is row 1, the first data row is row 2.

About 620 lines because every reader (CSV in its encodings, XLSX, Parquet, in-memory frames)
must meet the same :class:`RawTable` contract and refusal rules; kept together so that they
stay identical.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from risk.contract import normalise_header
from risk.ingest.privacy import describe, safe_text, show

__all__ = [
    "TEXT_SUFFIXES",
    "WORKBOOK_SUFFIXES",
    "EmptySheet",
    "RawTable",
    "RowProblem",
    "frame_table",
    "normalise_header",
    "read_raw",
    "source_label",
    "typed_table",
    "workbook_sheets",
]

_ZIP_MAGIC = b"PK\x03\x04"

_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # Excel 97-2003 .xls (also encrypted .xlsx)

_PARQUET_MAGIC = b"PAR1"

TEXT_SUFFIXES = (".csv", ".txt")

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")

#: What each format is called in a refusal, and the extension it should carry.
_CONTENT = {
    "zip": ("a ZIP archive (an XLSX workbook?)", ".xlsx"),
    "ole": ("a legacy Excel 97-2003 .xls workbook (or a password-protected one)", None),
    "parquet": ("a Parquet file", ".parquet"),
    "text": ("text (CSV?)", ".csv"),
}

_EXPECTED_CONTENT = {".csv": "text", ".txt": "text", ".xlsx": "zip", ".xlsm": "zip"} | {
    ".parquet": "parquet"
}


@dataclass
class RowProblem:
    """A line refused while reading (wrong field count, broken quoting), before validation."""

    number: int
    header: str  # the file's column where the line breaks (``extra_1`` past the last one)
    reason: str
    raw: dict[str, str]


@dataclass
class RawTable:
    """A file (or one sheet of a workbook) read as strings, with what reading refused.

    ``bad_cells`` are ``(row index in frame, header, reason)`` for cells whose value cannot be
    trusted (a formula without a cached value, a spreadsheet error, a list in a Parquet cell);
    validation quarantines their rows.
    """

    source: str
    frame: pd.DataFrame  # every cell a str, "" for empty
    row_numbers: np.ndarray
    malformed: list[RowProblem] = field(default_factory=list)
    encoding: str | None = None
    sha256: str = ""
    blank_rows: int = 0
    bad_cells: list[tuple[int, str, str]] = field(default_factory=list)
    sheet: str | None = None
    first_sheet: bool = True
    other_sheets: list[str] = field(default_factory=list)
    may_hold_nul: bool = True


class EmptySheet(ValueError):
    """A sheet without a single filled cell: nothing to ingest, nothing lost."""


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"file must be UTF-8, GB18030 or UTF-16 text; undecodable UTF-16 at offset "
                f"{exc.start}"
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            # A UTF-8 file cut inside a character: keep the valid prefix; the cut line then
            # fails the field count and is quarantined as truncated.
            return data[: exc.start].decode("utf-8-sig"), "utf-8"
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"file must be UTF-8 or GB18030 text; undecodable byte at offset {exc.start}"
        ) from None


def _content_kind(data: bytes) -> str:
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    if data.startswith(_OLE_MAGIC):
        return "ole"
    if data.startswith(_PARQUET_MAGIC):
        return "parquet"
    return "text"


def _check_content(suffix: str, data: bytes) -> None:
    """Refuse a file whose bytes are not what its extension says (a misnamed export)."""
    if suffix != ".xls" and suffix not in _EXPECTED_CONTENT:
        raise ValueError(f"file type must be .csv, .parquet or .xlsx; got {suffix!r}")
    if not data:
        raise ValueError("file is empty; a header row is required")
    kind = _content_kind(data)
    what, right = _CONTENT[kind]
    if suffix == ".xls":
        if kind == "ole":
            raise ValueError(
                "legacy Excel 97-2003 .xls workbooks cannot be read; save it as .xlsx or CSV "
                "(UTF-8) and ingest that"
            )
        raise ValueError(
            f"file is named .xls but holds {what}; legacy Excel 97-2003 .xls workbooks cannot "
            f"be read: rename it to {right} if that is what it is, or save it as .xlsx or CSV"
        )
    if kind != _EXPECTED_CONTENT[suffix]:
        advice = f"rename it to {right}" if right else "save it as .xlsx or CSV (UTF-8)"
        raise ValueError(f"file is named {suffix} but holds {what}; {advice}")


def _clean_header(header: Sequence[str]) -> list[str]:
    """Strip header cells, name empty ones ``column_N`` and refuse a repeated header.

    A repeated header would make two columns compete for one contract column; which one is
    meant is the sender's call, so the file is refused naming the header and its positions.
    """
    names = [str(h).strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        seen.setdefault(normalise_header(name), []).append(i + 1)
    for positions in seen.values():
        if len(positions) > 1:
            name = names[positions[0] - 1]
            where = ", ".join(str(p) for p in positions[:-1]) + f" and {positions[-1]}"
            raise ValueError(
                f"header {name!r} appears more than once (columns {where}); file refused: "
                "rename or remove the extra column"
            )
    return names


def _quote_break_column(line: str, delimiter: str) -> int:
    """Index of the field whose quoting breaks on ``line``: opened and not closed on it, or
    closed before the field ends (``"ab"c``)."""
    field_index, i, n = 0, 0, len(line)
    while i < n:
        if line[i] == '"':
            j = i + 1
            while True:
                k = line.find('"', j)
                if k < 0:
                    return field_index  # opened, never closed on this line
                if line.startswith('""', k):
                    j = k + 2  # an escaped quote inside the field
                    continue
                if k + 1 < n and line[k + 1] not in (delimiter, "\r", "\n"):
                    return field_index  # closed before the field ends
                i = k + 1
                break
        else:
            k = line.find(delimiter, i)
            if k < 0:
                break
            i = k
        if i < n and line[i] == delimiter:
            field_index += 1
            i += 1
        else:
            break
    return field_index


def _csv_records(text: str, delimiter: str) -> tuple[list[list[str]], dict[int, int]]:
    """Read CSV records; return them and, by record index, the field where quoting breaks.

    The reader is strict, so a quote that is never closed no longer swallows the rest of the
    file into one field (nor does a quote closed mid-field glue lines together): the line
    where the broken record starts becomes a record of its own, its cells read leniently, and
    reading resumes on the next physical line (lines split as the csv module splits them).
    """
    try:  # the common case, at the csv module's C speed
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)), {}
    except csv.Error:
        pass
    lines = list(io.StringIO(text, newline=""))
    records: list[list[str]] = []
    broken: dict[int, int] = {}
    start = 0  # physical line the current reader started on
    while start <= len(lines):
        reader = csv.reader(
            (lines[j] for j in range(start, len(lines))), delimiter=delimiter, strict=True
        )
        consumed = 0
        try:
            for row in reader:
                records.append(row)
                consumed = reader.line_num
            break
        except csv.Error:
            line = lines[start + consumed]
            broken[len(records)] = _quote_break_column(line, delimiter)
            records.append(next(csv.reader([line], delimiter=delimiter), []))
            start += consumed + 1
    return records, broken


def _read_text(data: bytes, source: str) -> RawTable:
    has_bom = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not has_bom and b"\x00" in data[:4096].split(b"\n", 1)[0]:
        raise ValueError(
            "the header row holds NUL bytes: the file looks like UTF-16 text without a "
            "byte-order mark, or binary data; save it as UTF-8 CSV"
        )
    text, encoding = _decode(data)
    first_line = text.split("\n", 1)[0]
    # Excel's "Unicode text" export is tab-separated; everything else here is comma-separated.
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    # The csv module refuses fields over 128 KiB with an exception that would stop the file;
    # a huge cell is a validation matter (it fails its column's length), so allow any size.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    fast = _plain_csv(text, delimiter, source)
    if fast is not None:
        fast.encoding = encoding
        return fast
    records, broken = _csv_records(text, delimiter)
    if not records or not records[0]:
        raise ValueError("file is empty; a header row is required")
    if 0 in broken:
        raise ValueError("the header row has malformed quoting (a quote that is never closed)")
    header = _clean_header(records[0])
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    malformed: list[RowProblem] = []
    blank = 0
    for index in range(1, len(records)):
        row, number = records[index], index + 1  # header = row 1, as in a spreadsheet
        if broken and index in broken:
            at = broken[index]
            malformed.append(
                RowProblem(
                    number,
                    header[at] if at < width else f"extra_{at - width + 1}",
                    "malformed CSV quoting: a quote opened in this field is never closed, or "
                    "is closed before the field ends; this line is quarantined alone and "
                    "reading resumes on the next line",
                    _raw_cells(header, row),
                )
            )
            continue
        if not row or all(not cell.strip() for cell in row):
            blank += 1
            continue
        if len(row) != width:
            column = header[len(row)] if len(row) < width else "extra_1"
            malformed.append(
                RowProblem(
                    number,
                    column,
                    f"row has {len(row)} fields; the header has {width} "
                    "(truncated or malformed line)",
                    _raw_cells(header, row),
                )
            )
            continue
        rows.append(row)
        numbers.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return RawTable(
        source,
        frame,
        np.array(numbers, dtype=np.int64),
        malformed,
        encoding,
        blank_rows=blank,
        may_hold_nul="\x00" in text,
    )


def _plain_csv(text: str, delimiter: str, source: str) -> RawTable | None:
    """Read a CSV without a quote character at Arrow's C++ speed, or ``None`` to take the
    line-by-line reader instead.

    Without quotes, a record is one physical line and its cells are the text between the
    delimiters: exactly what :func:`_csv_records` reads. Any line Arrow refuses (a wrong
    field count, an empty line) sends the whole file to the line-by-line reader, which
    quarantines such lines with their reasons; so does a NUL byte or a file without data.
    """
    if '"' in text or "\x00" in text:
        return None
    header_line = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    if not header_line:
        return None
    header = _clean_header(header_line)
    width = len(header)
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(
                skip_rows=1, column_names=[f"c{i}" for i in range(width)]
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # a line of another width, an empty line: read line by line
        return None
    if table.num_rows == 0:
        return None
    columns = [table.column(i).to_numpy(zero_copy_only=False) for i in range(width)]
    # A row with a letter or digit anywhere is not blank; the few others are asked as the
    # line-by-line reader asks (str.strip's idea of whitespace, not Arrow's).
    maybe_blank = np.ones(table.num_rows, dtype=bool)
    for i in range(width):
        filled = pc.match_substring_regex(table.column(i), "[0-9A-Za-z]")
        maybe_blank &= ~filled.to_numpy(zero_copy_only=False)
    blank = np.zeros(table.num_rows, dtype=bool)
    for row in np.flatnonzero(maybe_blank).tolist():
        blank[row] = all(not column[row].strip() for column in columns)
    numbers = np.arange(2, table.num_rows + 2, dtype=np.int64)  # the header is row 1
    keep = ~blank
    frame = pd.DataFrame(
        {name: column[keep] for name, column in zip(header, columns, strict=True)},
        columns=header,
        dtype=object,
    )
    return RawTable(
        source,
        frame,
        numbers[keep],
        [],
        blank_rows=int(blank.sum()),
        may_hold_nul=False,
    )


def _raw_cells(header: list[str], row: list[str]) -> dict[str, str]:
    width = len(header)
    return {(header[i] if i < width else f"extra_{i - width + 1}"): v for i, v in enumerate(row)}


def _cell_text(value: Any) -> tuple[str, str | None]:
    """A cell of a typed file as text, or ``("", reason)`` when it is no single value."""
    if isinstance(value, np.ndarray | list | tuple | set | frozenset):
        return "", "must be a single value; got a list"
    if isinstance(value, dict):
        return "", "must be a single value; got a record (struct or map)"
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8"), None
        except UnicodeDecodeError:
            return "", "must be text; got binary data"
    if value is None or pd.isna(value):
        return "", None
    if isinstance(value, pd.Timestamp | datetime):
        return value.strftime("%Y-%m-%d"), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    return str(value), None


@dataclass(frozen=True)
class _BadCell:
    """A typed cell whose value cannot be trusted, and why (see :class:`RawTable`)."""

    reason: str


def typed_table(
    source: str, header: list[Any], rows: Iterable[tuple[int, Sequence[Any]]], **extra: Any
) -> RawTable:
    """Build a RawTable from typed cells (XLSX, Parquet): text, blank rows and bad cells.

    ``rows`` yields ``(row number, cells)``; a cell is a value or a :class:`_BadCell`.
    """
    names = _clean_header([_cell_text(h)[0] for h in header])
    width = len(names)
    texts: list[list[str]] = []
    numbers: list[int] = []
    bad_cells: list[tuple[int, str, str]] = []
    blank = 0
    for number, cells in rows:
        row = [""] * width
        problems = []
        for j, value in enumerate(cells[:width]):
            if isinstance(value, _BadCell):
                problems.append((names[j], value.reason))
                continue
            text, reason = _cell_text(value)
            row[j] = text
            if reason is not None:
                problems.append((names[j], reason))
        if not problems and all(not cell.strip() for cell in row):
            blank += 1
            continue
        bad_cells.extend((len(texts), header_name, reason) for header_name, reason in problems)
        texts.append(row)
        numbers.append(number)
    frame = pd.DataFrame(texts, columns=names, dtype=object)
    return RawTable(
        source,
        frame,
        np.array(numbers, dtype=np.int64),
        blank_rows=blank,
        bad_cells=bad_cells,
        **extra,
    )


def _open_workbook(data: bytes, *, data_only: bool) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike: the file is unusable
        raise ValueError(f"file is not a readable XLSX workbook ({describe(exc)})") from None


def workbook_sheets(path: Path) -> list[str]:
    """Names of the worksheets of an XLSX workbook, in workbook order.

    Raises
    ------
    ValueError
        If the file is not a readable XLSX workbook.
    """
    data = path.read_bytes()
    _check_content(path.suffix.lower(), data)
    book = _open_workbook(data, data_only=False)
    try:
        return [sheet.title for sheet in book.worksheets]
    finally:
        book.close()


def _sheet_cells(book: Any, title: str) -> list[list[tuple[str, Any]]]:
    sheet = book[title]
    sheet.reset_dimensions()  # trust the cells, not the <dimension> a generator wrote
    try:
        return [[(cell.data_type, cell.value) for cell in row] for row in sheet.iter_rows()]
    except Exception as exc:
        raise ValueError(f"file is not a readable XLSX workbook ({describe(exc)})") from None


def _read_workbook(data: bytes, source: str, sheet: str | None) -> RawTable:
    book = _open_workbook(data, data_only=False)
    try:
        titles = [s.title for s in book.worksheets]
        if not titles:
            raise ValueError("workbook has no worksheet")
        title = titles[0] if sheet is None else sheet
        if title not in titles:
            raise ValueError(f"sheet must be one of {', '.join(titles)}; got {sheet!r}")
        cells = _sheet_cells(book, title)
    finally:
        book.close()
    formulas = [
        (i, j) for i, row in enumerate(cells) for j, (kind, _) in enumerate(row) if kind == "f"
    ]
    cached: dict[tuple[int, int], tuple[str, Any]] = {}
    if formulas:
        # openpyxl gives either the formulas or their cached results: read both when needed.
        book = _open_workbook(data, data_only=True)
        try:
            values = _sheet_cells(book, title)
        finally:
            book.close()
        for i, j in formulas:
            inside = i < len(values) and j < len(values[i])
            cached[(i, j)] = values[i][j] if inside else ("n", None)

    def value(i: int, j: int, kind: str, raw: Any) -> Any:
        if kind == "f":
            kind, result = cached.get((i, j), ("n", None))
            if result is None:
                return _BadCell(
                    f"holds a formula without a cached value ({show(str(raw))}); recalculate "
                    "and save the workbook in Excel, or paste the values"
                )
            raw = result
        if kind == "e":
            return _BadCell(f"holds the spreadsheet error {show(str(raw))}")
        return raw

    typed = [
        [value(i, j, kind, raw) for j, (kind, raw) in enumerate(row)] for i, row in enumerate(cells)
    ]
    filled = [i for i, row in enumerate(typed) if any(_is_filled(v) for v in row)]
    if not filled:
        raise EmptySheet(f"sheet {title!r} is empty; a header row is required")
    head = filled[0]  # the first row with anything in it is the header
    last = max((j for row in typed for j, v in enumerate(row) if _is_filled(v)), default=-1)
    header = list(typed[head][: last + 1]) + [None] * max(0, last + 1 - len(typed[head]))
    if any(isinstance(h, _BadCell) for h in header):
        raise ValueError("the header row holds a formula or an error instead of a name")
    body = (
        (i + 1, list(row[: last + 1]) + [None] * max(0, last + 1 - len(row)))
        for i, row in enumerate(typed)
        if i > head
    )
    return typed_table(
        source,
        header,
        body,
        sheet=title,
        first_sheet=title == titles[0],
        other_sheets=[t for t in titles if t != title] if sheet is None else [],
    )


def _is_filled(value: Any) -> bool:
    return isinstance(value, _BadCell) or not (value is None or str(value).strip() == "")


def _read_parquet(data: bytes, source: str) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow's errors: a corrupt or unsupported file
        raise ValueError(f"file is not a readable Parquet file ({describe(exc)})") from None
    return frame_table(source, frame)


def frame_table(source: str, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> RawTable:
    """Rows held in memory read as a typed file's cells (as a Parquet file's, row 2 first).

    A sequence of mappings becomes a frame first (a key missing from a row is an empty cell).
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), dtype=object)
    columns = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    body = ((i + 2, [col[i] for col in columns]) for i in range(len(frame)))
    return typed_table(source, list(frame.columns), body)


def read_raw(path: Path, *, sheet: str | None = None) -> RawTable:
    """Read a CSV, Parquet or XLSX file (one sheet) into strings, keeping refused lines apart.

    Parameters
    ----------
    path
        The file.
    sheet
        For a workbook, the sheet to read (default: the first).

    Raises
    ------
    ValueError
        For an unknown extension, a file whose bytes are not what its extension says (a
        legacy ``.xls``, a CSV named ``.xlsx`` …), an unreadable workbook or Parquet file, an
        undecodable CSV, a file without a header or a header repeated.
    """
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    _check_content(suffix, data)
    source = source_label(path, sheet)
    if suffix in TEXT_SUFFIXES:
        raw = _read_text(data, source)
    elif suffix == ".parquet":
        raw = _read_parquet(data, source)
    else:
        raw = _read_workbook(data, source, sheet)
    raw.sha256 = digest
    return raw


def source_label(path: Path, sheet: str | None) -> str:
    """How a file (or a sheet of it) is named in summaries and the store: ID numbers masked."""
    label = str(path) if sheet is None else f"{path}#{sheet}"
    return safe_text(label, 1_000)
