"""Validated, idempotent ingestion of contract tables into the store.

For each file (each sheet of a workbook): read it (CSV in UTF-8, GB18030 or UTF-16; Parquet;
XLSX), map its headers (English or national 双公示 Chinese), validate every row against
:mod:`risk.contract`, quarantine each bad row with its file, row number, column and reason,
and upsert the good rows by key, all in one transaction. Counts always reconcile:
``read = inserted + updated + unchanged + quarantined``.

Nothing a file holds stops a run or escapes as an exception: a file that cannot be read as
what its name says, lacks a required column or repeats a header is refused whole with the
reason; a value the store could not hold (an integer beyond its range, a NUL byte, a list in
a Parquet cell) is a row error like any other, so a file has one outcome on SQLite and
PostgreSQL alike; a failed transaction is reported without the statement's parameters.

Row numbers are spreadsheet-style: the header is row 1, the first data row is row 2.

Raw resident ID numbers may arrive in a persons file (column ``id_number`` / 身份证号); they
are validated, hashed with the caller's salt, masked, and discarded before anything is stored
or quarantined. An ID number in any other kept column quarantines its row; file names,
messages, reasons and quarantined cells are stored with ID numbers masked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from risk.contract import (
    TABLES,
    ColumnKind,
    ColumnSpec,
    HolderType,
    RecordKind,
    Regime,
    SubjectType,
    TableSpec,
    domain_for_authority,
    enum_lookup,
    severity_for_penalty_category,
)
from risk.exceptions import InvalidIdentifierError, MissingColumnsError, UnknownTableError
from risk.identifiers import (
    PROVINCE_CODES,
    check_uscc_array,
    contains_id_number,
    hash_resident_id,
    mask_id_numbers,
    mask_resident_id,
)
from risk.publicity import resolve_publicity
from risk.store import coerce_frame, contract_table, ingest_batches, quarantine, read_table

__all__ = [
    "INGEST_ORDER",
    "USCC_ERROR_TARGET",
    "FileSummary",
    "IngestSummary",
    "RawTable",
    "RowProblem",
    "ValidatedRows",
    "detect_table",
    "ingest_day",
    "ingest_file",
    "ingest_paths",
    "quarantine_count",
    "read_raw",
    "validate_rows",
    "workbook_sheets",
]

#: Tables in dependency order: ingesting in this order reports only true orphans.
INGEST_ORDER = ("enterprises", "persons", "roles", "records", "financials", "loans")
#: 重错码率 target of the county plans: at most 0.01 % invalid or duplicate codes.
USCC_ERROR_TARGET = 0.0001

_ID_NUMBER_HEADERS = ("id_number", "身份证号", "身份证号码", "证件号码")
_PENALTY_CATEGORY_HEADERS = ("penalty_category", "处罚类别")
_CHUNK = 20_000
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PERIOD_RE = re.compile(r"^\d{4}(Q[1-4])?$")

ProgressCallback = Callable[[str, int, int], None]
#: 北京时间 (UTC+8, no daylight saving time): the platforms' dates are Chinese calendar days.
_CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def ingest_day() -> date:
    """Today in China Standard Time: the default day after which event dates are refused."""
    return datetime.now(_CHINA_STANDARD_TIME).date()


@dataclass
class FileSummary:
    """What happened to one file. ``read`` always equals the sum of the four outcomes."""

    source: str
    table: str
    status: str = "ok"  # ok | refused | failed
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    orphans: int = 0
    orphan_examples: list[str] = field(default_factory=list)
    uscc_read: int = 0
    uscc_invalid: int = 0
    uscc_duplicate: int = 0
    pilot_codes: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    blank_rows: int = 0  # fully empty lines: no data, not counted in read
    encoding: str | None = None
    message: str | None = None
    batch_id: int | None = None
    seconds: float = 0.0

    @property
    def reconciled(self) -> bool:
        return self.read == self.inserted + self.updated + self.unchanged + self.quarantined


@dataclass
class IngestSummary:
    """Totals over several files, and the 重错码 report on USCCs."""

    files: list[FileSummary]

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.files)

    @property
    def uscc_error_rate(self) -> float:
        read = self.total("uscc_read")
        bad = self.total("uscc_invalid") + self.total("uscc_duplicate")
        return bad / read if read else 0.0

    @property
    def ok(self) -> bool:
        return all(f.status == "ok" for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        counts = ("read", "inserted", "updated", "unchanged", "quarantined", "orphans")
        return {
            "files": [asdict(f) | {"reconciled": f.reconciled} for f in self.files],
            "totals": {name: self.total(name) for name in counts},
            "uscc_report": {
                "read": self.total("uscc_read"),
                "invalid": self.total("uscc_invalid"),
                "duplicate": self.total("uscc_duplicate"),
                "pilot_codes": self.total("pilot_codes"),
                "error_rate": self.uscc_error_rate,
                "target": USCC_ERROR_TARGET,
                "meets_target": self.uscc_error_rate <= USCC_ERROR_TARGET,
            },
            "ok": self.ok,
        }


# --------------------------------------------------------------------------- reading

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # Excel 97-2003 .xls (also encrypted .xlsx)
_PARQUET_MAGIC = b"PAR1"
_TEXT_SUFFIXES = (".csv", ".txt")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
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


def _normalise_header(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text)).split())


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
        seen.setdefault(_normalise_header(name), []).append(i + 1)
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


def _typed_table(
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
        raise ValueError(f"file is not a readable XLSX workbook ({_describe(exc)})") from None


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
        raise ValueError(f"file is not a readable XLSX workbook ({_describe(exc)})") from None


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
                    f"holds a formula without a cached value ({_show(str(raw))}); recalculate "
                    "and save the workbook in Excel, or paste the values"
                )
            raw = result
        if kind == "e":
            return _BadCell(f"holds the spreadsheet error {_show(str(raw))}")
        return raw

    typed = [
        [value(i, j, kind, raw) for j, (kind, raw) in enumerate(row)] for i, row in enumerate(cells)
    ]
    filled = [i for i, row in enumerate(typed) if any(_is_filled(v) for v in row)]
    if not filled:
        raise _EmptySheet(f"sheet {title!r} is empty; a header row is required")
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
    return _typed_table(
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
        raise ValueError(f"file is not a readable Parquet file ({_describe(exc)})") from None
    columns = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    body = ((i + 2, [col[i] for col in columns]) for i in range(len(frame)))
    return _typed_table(source, list(frame.columns), body)


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
    source = _source_label(path, sheet)
    if suffix in _TEXT_SUFFIXES:
        raw = _read_text(data, source)
    elif suffix == ".parquet":
        raw = _read_parquet(data, source)
    else:
        raw = _read_workbook(data, source, sheet)
    raw.sha256 = digest
    return raw


def _source_label(path: Path, sheet: str | None) -> str:
    """How a file (or a sheet of it) is named in summaries and the store: ID numbers masked."""
    label = str(path) if sheet is None else f"{path}#{sheet}"
    return _safe_text(label, 1_000)


def _table_from_text(name: str) -> str | None:
    """The table a file or sheet name announces (``roles_2024``, ``任职与出资信息``), if any."""
    lower = name.lower()
    for table, spec in TABLES.items():
        if lower.startswith(table) or spec.zh_title in name:
            return table
    if "行政处罚" in name or "双公示" in name:
        return "records"
    return None


def _table_from_name(path: Path) -> str | None:
    """The table a file name announces (``roles_2024.csv``, ``任职与出资信息.xlsx``), if any."""
    return _table_from_text(path.stem)


def detect_table(
    path: Path, headers: Sequence[str], *, sheet: str | None = None, first_sheet: bool = True
) -> str:
    """Name the contract table of a file or sheet: by name first, else by its headers.

    A sheet's own name comes first; the file name speaks for the first sheet only (a
    workbook ``enterprises.xlsx`` may carry records on its second sheet).

    Raises
    ------
    UnknownTableError
        If neither the names nor the headers identify a table.
    """
    named = _table_from_text(sheet) if sheet is not None else None
    if named is None and first_sheet:
        named = _table_from_name(path)
    if named is not None:
        return named
    found = {_normalise_header(h) for h in headers}
    best, best_score = None, 0.0
    for name, spec in TABLES.items():
        aliases = {_normalise_header(a): c for a, c in spec.header_aliases().items()}
        required = {c.name for c in spec.columns if c.required}
        hits = {aliases[h] for h in found if h in aliases}
        score = len(hits & required) / len(required)
        if score > best_score:
            best, best_score = name, score
    if best is None or best_score < 0.6:
        what = f"sheet {sheet!r}" if sheet is not None else "this file"
        raise UnknownTableError(
            f"{_source_label(path, sheet)}: cannot tell which table {what} holds; name it "
            f"after a table ({', '.join(TABLES)}) or pass --table"
        )
    return best


# --------------------------------------------------------------------------- privacy, text

#: The store's INTEGER range (PostgreSQL's 4-byte integer; SQLite would take more, but one
#: file must have one outcome on both backends).
_INT_MAX = 2**31 - 1
#: Longest cell kept verbatim in a quarantined row's raw copy; longer ones are cut.
_RAW_CELL_LIMIT = 1_000


def _masked(text: str) -> str:
    """``text`` with every resident ID number masked, also one typed in full-width digits or
    spaced out (``110105 19491231 002X``), which :func:`mask_id_numbers` alone would miss."""
    masked = mask_id_numbers(text)
    if not masked.isascii() or " " in masked:
        squeezed = unicodedata.normalize("NFKC", masked).replace(" ", "")
        if contains_id_number(squeezed):
            return mask_id_numbers(squeezed)
    return masked


def _holds_id_number(text: str) -> bool:
    if contains_id_number(text):
        return True
    if text.isascii() and " " not in text:
        return False
    return contains_id_number(unicodedata.normalize("NFKC", text).replace(" ", ""))


def _safe_text(text: str, limit: int) -> str:
    """Text fit for the store, a log or a terminal: ID numbers masked, NUL bytes and lone
    surrogates (from undecodable file names) made visible, at most ``limit`` characters."""
    text = _masked(text).replace("\x00", "\\x00")
    text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) > limit:
        text = f"{text[: limit - 30]}… ({len(text):,} characters)"
    return text


def _show(value: str) -> str:
    """A cell quoted in a reason: masked, NUL-safe, and cut when long."""
    return repr(_safe_text(value, 80))


def _describe(exc: BaseException) -> str:
    """An exception as its class and the first line of its reason.

    SQLAlchemy's text of a failed statement carries the SQL and rows of parameters (names, ID
    numbers); the driver's own first line (``duplicate key value violates …``) does not.
    """
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return _safe_text(f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(), 300)


#: A loose outline of an ID number as typed (17 digits, maybe spaced, then a digit or X; ASCII
#: or full-width, as Chinese input methods produce): only cells matching it reach the detector.
#: It never decides anything; :func:`contains_id_number` does.
_ID_OUTLINE = "[0-9０-９](?:[ \u3000\u00a0]*[0-9０-９]){16}[ \u3000\u00a0]*[0-9０-９XxＸｘ]"


def _id_number_cells(values: pd.Series) -> np.ndarray:
    """Which cells hold a resident ID number, as typed or spaced out or in full-width digits.

    The outline is matched in pyarrow's C++ kernels over the whole column; the few cells it
    lets through are decided one by one by :func:`contains_id_number`.
    """
    cells = values.to_numpy(dtype=object)
    array = pa.array(cells, type=pa.large_string(), from_pandas=True)
    outline = pc.match_substring_regex(array, _ID_OUTLINE).to_numpy(zero_copy_only=False)
    hits = np.zeros(len(cells), dtype=bool)
    for i in np.flatnonzero(outline):
        hits[i] = _holds_id_number(cells[i])
    return hits


# --------------------------------------------------------------------------- validation


class _Errors:
    """Per-row failures: the first failing column and all reasons."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.column: dict[int, str] = {}  # by row index; few rows fail, so kept sparse
        self.reasons: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, column: str, reasons: Iterable[str]) -> None:
        for i, reason in zip(np.flatnonzero(mask).tolist(), reasons, strict=True):
            self.column.setdefault(i, column)
            self.reasons.setdefault(i, []).append(reason)

    @property
    def bad(self) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[list(self.reasons)] = True
        return mask


def _nfkc(series: pd.Series) -> pd.Series:
    return series.map(lambda v: "".join(unicodedata.normalize("NFKC", v).split()))


def _parse_dates(text: pd.Series, max_year: int = 2100) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Return (dates, unparseable mask, impossible mask) for non-empty cells."""
    cleaned = (
        _nfkc(text)
        .str.replace(r"[T ]?\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", regex=True)
        .str.replace("年", "-", regex=False)
        .str.replace("月", "-", regex=False)
        .str.replace("日", "", regex=False)
        .str.replace(r"[/.]", "-", regex=True)
    )
    cleaned = cleaned.where(
        ~cleaned.str.fullmatch(r"\d{8}"),
        cleaned.str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True),
    )
    shape_ok = cleaned.str.fullmatch(_DATE_RE.pattern).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(cleaned.where(shape_ok), format="%Y-%m-%d", errors="coerce")
    present = (text != "").to_numpy()
    unparseable = present & ~shape_ok
    impossible = present & shape_ok & parsed.isna().to_numpy()
    years = parsed.dt.year.to_numpy(dtype=float, na_value=np.nan)
    out_of_range = present & ~np.isnan(years) & ((years < 1900) | (years > max_year))
    return parsed.astype("datetime64[s]"), unparseable, impossible | out_of_range


def _validate_column(
    col: ColumnSpec,
    text: pd.Series,
    errors: _Errors,
    allowlist: frozenset[str],
    summary: FileSummary,
    today: date,
    holder_is_enterprise: np.ndarray | None = None,
) -> pd.Series:
    """Validate one column of strings; return its parsed values (None/NaN/NaT where missing)."""
    name = col.name
    present = (text != "").to_numpy()
    if not col.nullable:
        errors.add(
            ~present, name, [f"{name} is required; got an empty cell"] * int((~present).sum())
        )

    if col.kind in (ColumnKind.text, ColumnKind.subject_id):
        values = text.str.strip()
        too_long = (values.str.len() > col.max_length).to_numpy()
        errors.add(
            too_long,
            name,
            [
                f"{name} must be at most {col.max_length} characters; got {len(v)}"
                for v in values[too_long]
            ],
        )
        if col.kind == ColumnKind.subject_id and holder_is_enterprise is not None:
            mask = present & holder_is_enterprise
            if mask.any():
                checked = check_uscc_array(values[mask], allowlist)
                bad = checked["check"].notna().to_numpy()
                idx = np.flatnonzero(mask)
                errors.add(
                    _mask_at(len(text), idx[bad]),
                    name,
                    [f"{name}: {r}" for r in checked["reason"][bad]],
                )
                values = values.copy()
                values.iloc[idx] = checked["code"].to_numpy()
                summary.pilot_codes += int(checked["pilot"].sum())
        return values.where(present, None)

    if col.kind == ColumnKind.uscc:
        values = text.copy()
        idx = np.flatnonzero(present)
        checked = check_uscc_array(text[present], allowlist)
        bad = checked["check"].notna().to_numpy()
        errors.add(_mask_at(len(text), idx[bad]), name, list(checked["reason"][bad]))
        values.iloc[idx] = checked["code"].to_numpy()
        summary.uscc_read += int(present.sum())
        summary.uscc_invalid += int(bad.sum())
        summary.pilot_codes += int(checked["pilot"].sum())
        return values.where(present, None)

    if col.kind == ColumnKind.enum:
        assert col.enum is not None
        lookup = enum_lookup(col.enum)
        lookup |= {k.lower(): v for k, v in lookup.items()}
        stripped = text.str.strip()
        mapped = stripped.map(lambda v: lookup.get(v, lookup.get(v.lower())))
        bad = present & mapped.isna().to_numpy()
        allowed = ", ".join(m.value for m in col.enum)
        errors.add(
            bad, name, [f"{name} must be one of {allowed}; got {_show(v)}" for v in text[bad]]
        )
        return mapped.where(present, None)

    if col.kind == ColumnKind.date:
        # 9999-12-31 is the conventional 长期 (no end) in publicity files.
        max_year = 9999 if name == "publicity_end" else 2100
        parsed, unparseable, impossible = _parse_dates(text, max_year)
        errors.add(
            unparseable,
            name,
            [f"{name} must be a date like 2024-05-31; got {_show(v)}" for v in text[unparseable]],
        )
        errors.add(
            impossible,
            name,
            [
                f"{name} must be a real calendar date between 1900 and {max_year}; got {_show(v)}"
                for v in text[impossible]
            ],
        )
        if not col.allow_future:
            # An event (决定, 成立, 申请, 修复 …) cannot have happened after the file arrived:
            # a date in 2031 is a typing slip that would otherwise count as active for years.
            future = (parsed > pd.Timestamp(today)).fillna(False).to_numpy(dtype=bool)
            errors.add(
                future,
                name,
                [
                    f"{name} must not be after the ingest day ({today:%Y-%m-%d}); got {_show(v)}"
                    for v in text[future]
                ],
            )
        return parsed

    if col.kind in (ColumnKind.number, ColumnKind.integer, ColumnKind.share):
        cleaned = _nfkc(text).str.replace(",", "", regex=False)
        percent = cleaned.str.endswith("%").to_numpy()
        cleaned = cleaned.str.rstrip("%")
        numbers = pd.to_numeric(cleaned.where(present), errors="coerce").astype("float64")
        if col.kind == ColumnKind.share:
            numbers = numbers.where(~percent, numbers / 100.0)
        not_number = present & (numbers.isna().to_numpy() | ~np.isfinite(numbers.fillna(0)))
        errors.add(
            not_number, name, [f"{name} must be a number; got {_show(v)}" for v in text[not_number]]
        )
        live = present & ~not_number
        vals = numbers.to_numpy()
        if col.kind == ColumnKind.share:
            bad = live & ((vals < 0) | (vals > 1))
            errors.add(
                bad, name, [f"{name} must be between 0 and 1; got {_show(v)}" for v in text[bad]]
            )
        else:
            bad = live & (vals < 0)
            errors.add(bad, name, [f"{name} must be ≥ 0; got {_show(v)}" for v in text[bad]])
        if col.kind == ColumnKind.integer:
            fractional = live & ~bad & (np.floor(np.nan_to_num(vals)) != np.nan_to_num(vals))
            errors.add(
                fractional,
                name,
                [f"{name} must be a whole number; got {_show(v)}" for v in text[fractional]],
            )
            huge = live & ~bad & ~fractional & (np.nan_to_num(vals) > _INT_MAX)
            errors.add(
                huge,
                name,
                [
                    f"{name} must be at most {_INT_MAX} (the store's integer range); got {_show(v)}"
                    for v in text[huge]
                ],
            )
        return numbers

    if col.kind == ColumnKind.region:
        values = _nfkc(text)
        province = pd.to_numeric(values.str.slice(0, 2), errors="coerce")
        ok = (
            values.str.fullmatch(r"[0-9]{6}").fillna(False).to_numpy(dtype=bool)
            & province.isin(list(PROVINCE_CODES)).to_numpy()
        )
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [f"{name} must be a 6-digit GB/T 2260 region code; got {_show(v)}" for v in text[bad]],
        )
        return values.where(present, None)

    if col.kind == ColumnKind.industry:
        values = _nfkc(text).str.upper()
        ok = values.str.fullmatch(r"[A-T]").fillna(False).to_numpy(dtype=bool)
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [f"{name} must be a GB/T 4754 section letter A-T; got {_show(v)}" for v in text[bad]],
        )
        return values.where(present, None)

    if col.kind == ColumnKind.period:
        values = _nfkc(text).str.upper()
        ok = values.str.fullmatch(_PERIOD_RE.pattern).fillna(False).to_numpy(dtype=bool)
        bad = present & ~ok
        errors.add(bad, name, [f"{name} must be YYYY or YYYYQn; got {_show(v)}" for v in text[bad]])
        return values.where(present, None)

    if col.kind == ColumnKind.id_hash:
        values, ok = _normalised_match(text, r"[0-9a-f]{64}", str.lower)
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [
                f"{name} must be 64 hexadecimal characters (a salted hash); got {_show(v)}"
                for v in text[bad]
            ],
        )
        return values.where(present, None)

    if col.kind == ColumnKind.id_masked:
        values, ok = _normalised_match(text, r"[0-9]{6}\*{8}[0-9]{3}[0-9X]", str.upper)
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [f"{name} must be like 340321********1234; got {_show(v)}" for v in text[bad]],
        )
        return values.where(present, None)

    raise AssertionError(col.kind)  # pragma: no cover


def _normalised_match(
    text: pd.Series, pattern: str, case: Callable[[str], str]
) -> tuple[pd.Series, np.ndarray]:
    """Values stripped and cased, and which fully match ``pattern``; a cell that does not is
    retried after NFKC (full-width characters), so the common case skips the slow step."""
    values = text.str.strip().map(case)
    ok = np.array(values.str.fullmatch(pattern).fillna(False), dtype=bool)
    retry = ~ok & (text != "").to_numpy()
    if retry.any():
        values = values.copy()
        values[retry] = _nfkc(text[retry]).map(case)
        ok[retry] = values[retry].str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return values, ok


def _mask_at(n: int, idx: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return mask


def _date_order(
    errors: _Errors, parsed: dict[str, Any], later: str, earlier: str, strict: bool = False
) -> None:
    a, b = parsed[later], parsed[earlier]
    bad = (a < b) if not strict else (a <= b)
    bad_np = bad.fillna(False).to_numpy(dtype=bool)
    rule = "after" if strict else "on or after"
    errors.add(
        bad_np,
        later,
        [
            f"{later} must be {rule} {earlier} ({e:%Y-%m-%d}); got {x:%Y-%m-%d}"
            for x, e in zip(a[bad_np], b[bad_np], strict=True)
        ],
    )


def _cross_checks(table: str, parsed: dict[str, Any], errors: _Errors) -> None:
    """Rules that involve several columns of one row."""
    if table == "enterprises" and "closed" in parsed:
        _date_order(errors, parsed, "closed", "founded")
    elif table == "roles":
        if "end" in parsed:
            _date_order(errors, parsed, "end", "start", strict=True)
        share_given = parsed["share"].notna().to_numpy()
        not_holder = (parsed["role"] != "shareholder").to_numpy(dtype=bool)
        bad = share_given & not_holder
        errors.add(bad, "share", ["share is only for shareholders"] * int(bad.sum()))
    elif table == "records":
        for later in ("publicity_end", "repaired", "removed"):
            if later in parsed:
                _date_order(errors, parsed, later, "decided")
        if "regime" in parsed:
            bad = (parsed["regime"] == Regime.explicit.value).to_numpy(dtype=bool)
            if "publicity_end" in parsed:
                bad = bad & parsed["publicity_end"].isna().to_numpy()
            errors.add(
                bad, "regime", ["regime 'explicit' requires a publicity_end"] * int(bad.sum())
            )
    elif table == "loans":
        drawn, approved = parsed["drawn_amount"], parsed["approved_amount"]
        bad = (drawn > approved).fillna(False).to_numpy(dtype=bool)
        errors.add(
            bad,
            "drawn_amount",
            [
                f"drawn_amount must not exceed approved_amount ({a}); got {d}"
                for d, a in zip(drawn[bad], approved[bad], strict=True)
            ],
        )
        _date_order(errors, parsed, "status_date", "applied")


def _map_headers(raw: RawTable, spec: TableSpec) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Rename the file's headers to contract columns; return the frame, the ignored headers
    and the mapping (file header → contract column)."""
    aliases = {_normalise_header(a): c for a, c in spec.header_aliases().items()}
    extra = {_normalise_header(h): h for h in (*_ID_NUMBER_HEADERS, *_PENALTY_CATEGORY_HEADERS)}
    renamed: dict[str, str] = {}
    ignored: list[str] = []
    for header in raw.frame.columns:
        key = _normalise_header(header)
        target = aliases.get(key)
        if target is None and key in extra:
            target = "id_number" if extra[key] in _ID_NUMBER_HEADERS else "penalty_category"
        if target is None or target in renamed.values():
            ignored.append(str(header))
            continue
        renamed[header] = target
    frame = raw.frame[list(renamed)].rename(columns=renamed)
    frame = frame.fillna("").astype(str)
    return frame, ignored, renamed


def _derive_record_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill kind / domain / severity / subject_type of 双公示 penalty files that lack them."""
    n = len(frame)
    if "kind" not in frame:
        frame["kind"] = [RecordKind.administrative_penalty.value] * n
    if "domain" not in frame and "authority" in frame:
        frame["domain"] = [domain_for_authority(a).value for a in frame["authority"]]
    if "severity" not in frame and "penalty_category" in frame:
        frame["severity"] = [
            (s.value if (s := severity_for_penalty_category(c)) else "")
            for c in frame["penalty_category"]
        ]
    if "subject_type" not in frame and "subject_id" in frame:
        # An 18-character code is a 统一社会信用代码 (validated, and quarantined if wrong);
        # person subjects carry the platform's person_id.
        codes = check_uscc_array(frame["subject_id"])["code"]
        frame["subject_type"] = np.where(
            codes.str.len().to_numpy() == 18,
            SubjectType.enterprise.value,
            SubjectType.person.value,
        )
    return frame


def _hash_id_numbers(frame: pd.DataFrame, salt: bytes | None, errors: _Errors) -> pd.DataFrame:
    """Replace a raw id_number column by id_hash and id_masked; never keep the raw number."""
    if "id_number" not in frame:
        return frame
    if salt is None:
        raise ValueError("persons file carries raw ID numbers; an id_salt is required to hash them")
    hashes, masks = [], []
    bad = np.zeros(len(frame), dtype=bool)
    reasons = []
    for i, number in enumerate(frame["id_number"]):
        try:
            hashes.append(hash_resident_id(number, salt))
            masks.append(mask_resident_id(number))
        except InvalidIdentifierError as exc:
            hashes.append("")
            masks.append("")
            bad[i] = True
            reasons.append(f"id_number: {exc}")
    errors.add(bad, "id_number", reasons)
    frame = frame.drop(columns=["id_number"])
    frame["id_hash"] = hashes
    frame["id_masked"] = masks
    return frame


# --------------------------------------------------------------------------- upsert


def _equal(a: pd.Series, b: pd.Series) -> np.ndarray:
    both_missing = a.isna().to_numpy() & b.isna().to_numpy()
    same = (a == b).fillna(False).to_numpy(dtype=bool)
    return both_missing | same


def _to_rows(frame: pd.DataFrame, spec: TableSpec) -> list[dict[str, Any]]:
    """Turn a frame of contract dtypes into DB-API rows (dates, ints, floats, str, None)."""
    columns: dict[str, np.ndarray] = {}
    for name in frame.columns:
        series = frame[name]
        missing = series.isna().to_numpy()
        kind = spec.column(name).kind
        if kind == ColumnKind.date:
            values = np.array(series.dt.date, dtype=object)
        elif kind == ColumnKind.integer:
            values = np.array(series.astype("Int64").astype(object), dtype=object)
        else:  # floats become Python floats, strings stay str
            values = np.array(series, dtype=object)
        values[missing] = None
        columns[name] = values
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _existing(conn: Connection, spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    table = contract_table(spec.name)
    first = spec.key[0]
    keys = pd.unique(frame[first].to_numpy())
    parts = [
        read_table(conn, spec.name, where=[table.c[first].in_(list(keys[i : i + 5000]))])
        for i in range(0, len(keys), 5000)
    ]
    if not parts:
        return coerce_frame(pd.DataFrame(columns=list(spec.names)), spec)
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _upsert(
    conn: Connection,
    spec: TableSpec,
    frame: pd.DataFrame,
    summary: FileSummary,
    progress: ProgressCallback | None,
    file_columns: set[str],
) -> None:
    """Insert new keys; update existing rows whose values differ, in the file's columns only.

    A column the file does not carry (a 双公示 export without 信用修复日期, say) never
    overwrites what the store already knows; new rows get it empty.
    """
    table = contract_table(spec.name)
    key = list(spec.key)
    current = _existing(conn, spec, frame)
    merged = frame.merge(current, on=key, how="left", suffixes=("", "__db"), indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    changed = np.zeros(len(merged), dtype=bool)
    value_cols = [c for c in frame.columns if c not in key and c in file_columns]
    for name in value_cols:
        changed |= ~_equal(merged[name], merged[f"{name}__db"])
    changed &= ~is_new
    summary.inserted = int(is_new.sum())
    summary.updated = int(changed.sum())
    summary.unchanged = int(len(merged) - is_new.sum() - changed.sum())

    done = summary.quarantined + summary.unchanged
    if progress:
        progress(summary.source, done, summary.read)
    new_rows = frame.loc[is_new]
    for start in range(0, len(new_rows), _CHUNK):
        chunk = new_rows.iloc[start : start + _CHUNK]
        conn.execute(insert(table), _to_rows(chunk, spec))
        done += len(chunk)
        if progress:
            progress(summary.source, done, summary.read)
    changed_rows = frame.loc[changed]
    if len(changed_rows):
        statement = (
            update(table)
            .where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in key)))
            .values({c: bindparam(f"v_{c}") for c in value_cols})
        )
        for start in range(0, len(changed_rows), _CHUNK):
            chunk = changed_rows.iloc[start : start + _CHUNK]
            rows = [
                {(f"k_{k}" if k in key else f"v_{k}"): v for k, v in row.items()}
                for row in _to_rows(chunk, spec)
            ]
            conn.execute(statement, rows)
            done += len(chunk)
            if progress:
                progress(summary.source, done, summary.read)


def _count_orphans(conn: Connection, table: str, frame: pd.DataFrame, summary: FileSummary) -> None:
    """Count accepted rows whose enterprise or person is not in the store (kept, reported)."""
    if table in ("enterprises", "persons") or frame.empty:
        return
    ent = contract_table("enterprises")
    known = set(conn.execute(select(ent.c.uscc)).scalars())
    if table in ("roles", "records"):
        id_col, type_col = (
            ("holder_id", "holder_type") if table == "roles" else ("subject_id", "subject_type")
        )
        per = contract_table("persons")
        persons = set(conn.execute(select(per.c.person_id)).scalars())
        ids = frame[id_col].to_numpy()
        is_ent = (frame[type_col] == HolderType.enterprise.value).to_numpy()
        missing = np.array(
            [
                (i not in known) if e else (i not in persons)
                for i, e in zip(ids, is_ent, strict=True)
            ],
            dtype=bool,
        )
        if table == "roles":
            missing |= ~frame["uscc"].isin(known).to_numpy()
        examples = frame.loc[missing, id_col]
    else:
        missing = ~frame["uscc"].isin(known).to_numpy()
        examples = frame.loc[missing, "uscc"]
    summary.orphans = int(missing.sum())
    summary.orphan_examples = [_safe_text(str(v), 64) for v in pd.unique(examples.to_numpy())[:5]]


# --------------------------------------------------------------------------- driver


_QuarantineItem = tuple[int, str | None, str, dict[str, str]]
#: Files a directory is expanded to; ``.xls`` only to be refused by name, never skipped.
_DIRECTORY_SUFFIXES = (*_TEXT_SUFFIXES[:1], ".parquet", *_WORKBOOK_SUFFIXES, ".xls")
#: Kinds whose validated value could still carry an ID number or a NUL byte into the store
#: (an enum, date, region, industry or period value cannot).
_FREE_KINDS = frozenset(
    {
        ColumnKind.text,
        ColumnKind.subject_id,
        ColumnKind.uscc,
        ColumnKind.number,
        ColumnKind.integer,
        ColumnKind.share,
        ColumnKind.id_hash,
        ColumnKind.id_masked,
    }
)


def _quarantine_rows(
    conn: Connection, batch_id: int, source: str, items: list[_QuarantineItem]
) -> None:
    for start in range(0, len(items), _CHUNK):
        conn.execute(
            insert(quarantine),
            [
                {
                    "batch_id": batch_id,
                    "source": source,
                    "row_number": int(number),
                    "column_name": column,
                    "reason": reason,
                    "raw": raw,
                }
                for number, column, reason, raw in items[start : start + _CHUNK]
            ],
        )


def _privacy_safe(raw: dict[str, str]) -> dict[str, str]:
    """A quarantined row's cells fit for the store: the id_number cell masked whole, any ID
    number elsewhere masked (shifted columns, IDs typed into a name), NUL bytes made visible
    and cells longer than 1,000 characters cut."""
    id_headers = {_normalise_header(h) for h in _ID_NUMBER_HEADERS}
    safe = {}
    for k, v in raw.items():
        key = _safe_text(str(k), 200)
        if _normalise_header(k) in id_headers and v:
            digits = "".join(str(v).split())
            masked = f"{digits[:6]}********{digits[-4:]}" if len(digits) >= 10 else "***"
            safe[key] = _safe_text(masked, 64)
        else:
            safe[key] = _safe_text(str(v), _RAW_CELL_LIMIT)
    return safe


class _EmptySheet(ValueError):
    """A sheet without a single filled cell: nothing to ingest, nothing lost."""


def ingest_file(
    engine: Engine,
    path: Path,
    *,
    table: str | None = None,
    sheet: str | None = None,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    progress: ProgressCallback | None = None,
    today: date | None = None,
) -> FileSummary:
    """Ingest one file (one sheet of a workbook) in one transaction; return its summary.

    A refused file (unreadable, misnamed, missing a required column, unknown table, a
    repeated header) and a file whose transaction failed are reported with ``status``
    ``refused`` / ``failed`` and a message, and logged as a batch; they change nothing in
    the contract tables. No exception about the file escapes.

    Parameters
    ----------
    sheet
        For a workbook, the sheet to ingest (default: the first; :func:`ingest_paths`
        ingests every sheet).
    today
        The ingest day: event dates after it are quarantined (default: :func:`ingest_day`).
    """
    summary = _ingest_source(
        engine,
        path,
        sheet,
        table=table,
        id_salt=id_salt,
        allowlist=frozenset(uscc_allowlist),
        progress=progress,
        today=today or ingest_day(),
        skip_empty_sheet=False,
    )
    assert summary is not None  # only skipped sheets give None
    return summary


def _refusal_text(exc: BaseException) -> str:
    if isinstance(exc, ValueError | OSError):  # credlink's own sentences (and the OS's)
        lines = str(exc).strip().splitlines()
        return _safe_text(lines[0] if lines else type(exc).__name__, 2_000)
    return _describe(exc)


def _ingest_source(
    engine: Engine,
    path: Path,
    sheet: str | None,
    *,
    table: str | None,
    id_salt: bytes | None,
    allowlist: frozenset[str],
    progress: ProgressCallback | None,
    today: date,
    skip_empty_sheet: bool,
) -> FileSummary | None:
    started = time.perf_counter()
    summary = FileSummary(
        source=_source_label(path, sheet),
        table=table if table is not None and table in TABLES else "?",
    )
    digest = ""
    try:
        if table is not None and table not in TABLES:
            raise UnknownTableError(f"table must be one of {', '.join(TABLES)}; got {table!r}")
        try:
            raw = read_raw(path, sheet=sheet)
        except _EmptySheet:
            if skip_empty_sheet:
                return None
            raise
        digest = raw.sha256
        summary.encoding = raw.encoding
        summary.blank_rows = raw.blank_rows
        name = table or detect_table(
            path, list(raw.frame.columns), sheet=raw.sheet, first_sheet=raw.first_sheet
        )
        summary.table = name
        spec = TABLES[name]
        frame, ignored, renamed = _map_headers(raw, spec)
        summary.ignored_columns = [_safe_text(h, 200) for h in ignored]
        if name == "records":
            frame = _derive_record_columns(frame)
        if name == "persons" and "id_number" in frame:
            present = set(frame.columns) | {"id_hash", "id_masked"}
        else:
            present = set(frame.columns)
        missing = [c.name for c in spec.columns if c.required and c.name not in present]
        if missing:
            raise MissingColumnsError(name, missing, summary.source)
        if "id_number" in frame and id_salt is None:
            raise ValueError(
                f"{summary.source}: persons file carries raw ID numbers; an id_salt is "
                "required to hash them (set CREDLINK_ID_SALT)"
            )
    except Exception as exc:  # whatever the file holds, it becomes a refusal, never a crash
        summary.status = "refused"
        summary.message = _refusal_text(exc)
        summary.seconds = time.perf_counter() - started
        _record_refusal(engine, summary, digest or _file_digest(path))
        return summary

    notes = []
    if raw.other_sheets:
        notes.append(
            f"other sheets not ingested here: {', '.join(raw.other_sheets)} "
            "(credlink ingest / ingest_paths ingests every sheet)"
        )
    summary.read = len(frame) + len(raw.malformed)
    try:
        with engine.begin() as conn:
            batch_id = conn.execute(
                insert(ingest_batches).returning(ingest_batches.c.id),
                {
                    "source": summary.source,
                    "sha256": raw.sha256,
                    "table_name": name,
                    "started_at": datetime.now(UTC),
                    "status": "running",
                },
            ).scalar_one()
            summary.batch_id = batch_id
            accepted, items = _validate(
                frame, raw, spec, renamed, id_salt, allowlist, summary, today
            )
            summary.quarantined = len({number for number, *_ in items})
            _quarantine_rows(conn, batch_id, summary.source, items)
            _upsert(conn, spec, accepted, summary, progress, _file_columns(frame, spec))
            _count_orphans(conn, name, accepted, summary)
            summary.seconds = time.perf_counter() - started
            summary.message = _batch_message(summary, notes)
            conn.execute(
                update(ingest_batches)
                .where(ingest_batches.c.id == batch_id)
                .values(
                    finished_at=datetime.now(UTC),
                    status="ok",
                    rows_read=summary.read,
                    inserted=summary.inserted,
                    updated=summary.updated,
                    unchanged=summary.unchanged,
                    quarantined=summary.quarantined,
                    orphans=summary.orphans,
                    message=summary.message,
                )
            )
    except Exception as exc:  # the transaction rolled back: report, keep going
        summary.status = "failed"
        summary.message = (
            f"{_describe(exc)} ({summary.read} rows read; transaction rolled back, nothing stored)"
        )
        for counter in (
            "read",
            "inserted",
            "updated",
            "unchanged",
            "quarantined",
            "orphans",
            "uscc_read",
            "uscc_invalid",
            "uscc_duplicate",
            "pilot_codes",
        ):
            setattr(summary, counter, 0)
        summary.orphan_examples = []
        summary.batch_id = None
        summary.seconds = time.perf_counter() - started
        _record_refusal(engine, summary, raw.sha256)
    if not summary.reconciled and summary.status == "ok":  # pragma: no cover - invariant
        raise AssertionError(f"counts do not reconcile for {summary.source}: {summary}")
    return summary


def _file_columns(frame: pd.DataFrame, spec: TableSpec) -> set[str]:
    """Contract columns a file carries (derived ones included), i.e. the ones it may update."""
    columns = set(frame.columns) & set(spec.names)
    if "id_number" in frame:
        columns |= {"id_hash", "id_masked"}
    if spec.name == "records" and "publicity_end" in columns:
        columns.add("regime")  # derived together with the publicity end
    return columns


def _batch_message(summary: FileSummary, notes: Sequence[str] = ()) -> str | None:
    parts = []
    ignored = summary.ignored_columns
    if ignored:
        more = f" and {len(ignored) - 20:,} more" if len(ignored) > 20 else ""
        parts.append(f"ignored columns: {', '.join(ignored[:20])}{more}")
    if summary.orphans:
        parts.append(f"{summary.orphans} rows refer to entities not yet in the store")
    parts.extend(notes)
    return _safe_text("; ".join(parts), 2_000) or None


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _record_refusal(engine: Engine, summary: FileSummary, digest: str) -> None:
    """Log a refused or failed file as a batch; if even that fails, say so in the summary."""
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            summary.batch_id = conn.execute(
                insert(ingest_batches).returning(ingest_batches.c.id),
                {
                    "source": summary.source,
                    "sha256": digest,
                    "table_name": summary.table,
                    "started_at": now,
                    "finished_at": now,
                    "status": summary.status,
                    "message": summary.message,
                },
            ).scalar_one()
    except Exception as exc:  # the store itself is failing: keep the report, keep going
        summary.batch_id = None
        summary.message = f"{summary.message}; the batch could not be logged ({_describe(exc)})"


def _check_cells(
    frame: pd.DataFrame,
    raw: RawTable,
    spec: TableSpec,
    renamed: dict[str, str],
    errors: _Errors,
) -> None:
    """Refuse rows before any column is parsed: a cell the reader could not trust (a formula
    without a cached value, a list in a Parquet cell), a resident ID number anywhere but the
    id_number column, a NUL byte (PostgreSQL cannot store it in text)."""
    n = len(frame)
    by_column: dict[str, tuple[list[int], list[str]]] = {}
    for index, header, reason in raw.bad_cells:
        column = renamed.get(header)
        if column is not None:
            rows, reasons = by_column.setdefault(column, ([], []))
            rows.append(index)
            reasons.append(f"{column} {reason}")
    for column, (rows, reasons) in by_column.items():
        errors.add(_mask_at(n, np.array(rows, dtype=np.int64)), column, reasons)
    for col in spec.columns:
        if col.name not in frame or col.kind not in _FREE_KINDS:
            continue
        values = frame[col.name]
        ids = _id_number_cells(values)
        errors.add(
            ids,
            col.name,
            [f"{col.name} must not hold a resident ID number; got {_show(v)}" for v in values[ids]],
        )
        if raw.may_hold_nul:
            nul = values.str.contains("\x00", regex=False).to_numpy(dtype=bool)
            errors.add(
                nul,
                col.name,
                [f"{col.name} must not contain a NUL byte; got {_show(v)}" for v in values[nul]],
            )


def _validate(
    frame: pd.DataFrame,
    raw: RawTable,
    spec: TableSpec,
    renamed: dict[str, str],
    id_salt: bytes | None,
    allowlist: frozenset[str],
    summary: FileSummary,
    today: date,
) -> tuple[pd.DataFrame, list[_QuarantineItem]]:
    """Split a mapped frame into accepted rows (parsed, contract dtypes) and quarantine items."""
    n = len(frame)
    errors = _Errors(n)
    original = raw.frame.reset_index(drop=True)
    _check_cells(frame, raw, spec, renamed, errors)
    if spec.name == "persons":
        frame = _hash_id_numbers(frame, id_salt, errors)

    parsed: dict[str, Any] = {}
    type_col = {"records": "subject_type", "roles": "holder_type"}.get(spec.name)
    ordered = sorted(
        (c for c in spec.columns if c.name in frame.columns),
        key=lambda c: c.kind == ColumnKind.subject_id,  # parse the type column first
    )
    for col in ordered:
        holder_is_enterprise = None
        if col.kind == ColumnKind.subject_id and type_col in parsed:
            holder_is_enterprise = (parsed[type_col] == "enterprise").to_numpy(dtype=bool)
        parsed[col.name] = _validate_column(
            col, frame[col.name], errors, allowlist, summary, today, holder_is_enterprise
        )
    _cross_checks(spec.name, parsed, errors)

    accepted = pd.DataFrame({c: parsed[c] for c in spec.names if c in parsed})
    bad = errors.bad
    # Duplicate keys among otherwise good rows: every occurrence is quarantined.
    good_keys = accepted.loc[~bad, list(spec.key)]
    dup = np.zeros(n, dtype=bool)
    dup[np.flatnonzero(~bad)] = good_keys.duplicated(keep=False).to_numpy()
    if dup.any():
        first_rows: dict[tuple[Any, ...], list[int]] = {}
        dup_idx = np.flatnonzero(dup)
        for i in dup_idx:
            key = tuple(accepted.iloc[i][k] for k in spec.key)
            first_rows.setdefault(key, []).append(int(raw.row_numbers[i]))
        reasons = []
        for i in dup_idx:
            key = tuple(accepted.iloc[i][k] for k in spec.key)
            others = [r for r in first_rows[key] if r != raw.row_numbers[i]]
            label = ", ".join(f"{k}={v}" for k, v in zip(spec.key, key, strict=True))
            reasons.append(f"duplicate key ({label}) also at row(s) {others}")
        errors.add(dup, spec.key[0], reasons)
        if "uscc" in spec.key and spec.name == "enterprises":
            summary.uscc_duplicate += int(dup.sum())
        bad = errors.bad

    items: list[_QuarantineItem] = [
        (
            problem.number,
            _safe_text(renamed.get(problem.header, problem.header), 64),
            _safe_text(problem.reason, 4_000),
            _privacy_safe(problem.raw),
        )
        for problem in raw.malformed
    ]
    for row in np.flatnonzero(bad).tolist():
        rawrow = _privacy_safe({str(k): str(v) for k, v in original.iloc[row].items()})
        reason = _safe_text("; ".join(errors.reasons[row]), 4_000)
        items.append((int(raw.row_numbers[row]), errors.column[row], reason, rawrow))

    good = accepted.loc[~bad].reset_index(drop=True)
    if spec.name == "records" and len(good):
        resolved = resolve_publicity(good)
        good["publicity_end"] = resolved["publicity_end"]
        good["regime"] = resolved["regime"]
    for name in spec.names:  # optional columns absent from the file are stored as missing
        if name not in good:
            good[name] = None
    good = coerce_frame(good[list(spec.names)], spec)
    return good, items


def _order(table: str | None) -> int:
    return INGEST_ORDER.index(table) if table in INGEST_ORDER else len(INGEST_ORDER)


def ingest_paths(
    engine: Engine,
    paths: Sequence[Path],
    *,
    table: str | None = None,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    progress: ProgressCallback | None = None,
    today: date | None = None,
) -> IngestSummary:
    """Ingest files and directories (their CSV / Parquet / XLSX files) in dependency order.

    Directories are expanded; files are ordered enterprises → persons → roles → records →
    financials → loans (by the table their name announces) so that orphans reported are true
    orphans. Every sheet of a workbook is ingested as a source of its own
    (``book.xlsx#Sheet2``); empty sheets are skipped. One file's failure never stops the
    others: each file gets a summary and a batch row.
    """
    day = today or ingest_day()
    allow = frozenset(uscc_allowlist)
    summaries: list[FileSummary] = []
    files: list[Path] = []
    for path in paths:
        try:
            if path.is_dir():
                files.extend(
                    p
                    for p in sorted(path.iterdir())
                    if p.suffix.lower() in _DIRECTORY_SUFFIXES and p.stem != "hidden_risk"
                )
            else:
                files.append(path)
        except OSError as exc:  # an unreadable directory: reported like a refused file
            summary = FileSummary(
                source=_source_label(path, None),
                table="?",
                status="refused",
                message=_refusal_text(exc),
            )
            _record_refusal(engine, summary, "")
            summaries.append(summary)

    def ingest(path: Path, sheet: str | None, skip_empty: bool) -> FileSummary | None:
        return _ingest_source(
            engine,
            path,
            sheet,
            table=table,
            id_salt=id_salt,
            allowlist=allow,
            progress=progress,
            today=day,
            skip_empty_sheet=skip_empty,
        )

    for path in sorted(files, key=lambda p: _order(table or _table_from_name(p))):
        sheets: list[str] = []
        if path.suffix.lower() in _WORKBOOK_SUFFIXES:
            try:
                sheets = workbook_sheets(path)
            except Exception:  # ingesting the file refuses it, with the reason
                sheets = []
        attempts: list[tuple[str | None, bool]] = [(None, False)]
        if len(sheets) > 1:
            ordered = sorted(sheets, key=lambda s: _order(table or _table_from_text(s)))
            attempts = [(s, True) for s in ordered]
        found = [r for s, skip in attempts if (r := ingest(path, s, skip)) is not None]
        if not found:  # every sheet empty: the first one's refusal speaks for the workbook
            found = [r for r in (ingest(path, sheets[0], False),) if r is not None]
        summaries.extend(found)
    return IngestSummary(summaries)


def quarantine_count(engine: Engine) -> int:
    """Number of quarantined rows in the store (all batches)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())


@dataclass
class ValidatedRows:
    """In-memory rows after the ingest's checks (:func:`validate_rows`).

    ``accepted`` holds the good rows in contract dtypes, ``kept`` their 0-based indexes in the
    rows given, ``quarantine`` one ``(row number, column, reason, masked row)`` item per
    problem (row numbers as a file's: the first row is 2), ``columns`` the contract columns the
    rows carry (the only ones an upsert may overwrite).
    """

    accepted: pd.DataFrame
    kept: np.ndarray
    quarantine: list[_QuarantineItem]
    columns: set[str]
    summary: FileSummary


def validate_rows(
    rows: Sequence[Mapping[str, Any]],
    table: str,
    *,
    source: str,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    today: date | None = None,
) -> ValidatedRows:
    """Check rows that arrive in memory (an API body) exactly as a file's rows are checked.

    Each value is taken as the text a file cell would hold (``None`` is an empty cell); keys
    are contract column names. Nothing is written: the caller stores ``accepted`` and
    ``quarantine`` in its own transaction.

    Raises
    ------
    UnknownTableError
        If ``table`` is not a contract table.
    MissingColumnsError
        If no row carries a required column.
    """
    if table not in TABLES:
        raise UnknownTableError(f"table must be one of {', '.join(TABLES)}; got {table!r}")
    spec = TABLES[table]
    present = [c.name for c in spec.columns if any(c.name in row for row in rows)]
    missing = [c.name for c in spec.columns if c.required and c.name not in present]
    if missing:
        raise MissingColumnsError(table, missing, source)
    cells = {
        name: ["" if row.get(name) is None else str(row[name]) for row in rows] for name in present
    }
    frame = pd.DataFrame(cells, columns=present, dtype=object)
    first = 2  # numbered as a file's rows: the header is row 1
    numbers = np.arange(first, first + len(rows), dtype=np.int64)
    raw = RawTable(source, frame, numbers, [], "utf-8", "", 0)
    summary = FileSummary(source=source, table=table)
    accepted, items = _validate(
        frame.copy(),
        raw,
        spec,
        {name: name for name in present},
        id_salt,
        frozenset(uscc_allowlist),
        summary,
        ingest_day() if today is None else today,
    )
    bad = {number for number, *_ in items}
    kept = np.array([n - first for n in numbers if n not in bad], dtype=int)
    return ValidatedRows(accepted, kept, items, _file_columns(frame, spec), summary)
