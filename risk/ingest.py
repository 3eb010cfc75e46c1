"""Validated, idempotent ingestion of contract tables into the store.

For each file: read it (CSV in UTF-8 or GB18030, Parquet, XLSX), map its headers (English or
national 双公示 Chinese), validate every row against :mod:`risk.contract`, quarantine each bad
row with its file, row number, column and reason, and upsert the good rows by key, all in one
transaction. A file missing a required column is refused whole, naming the column. Counts
always reconcile: ``read = inserted + updated + unchanged + quarantined``.

Row numbers are spreadsheet-style: the header is row 1, the first data row is row 2.

Raw resident ID numbers may arrive in a persons file (column ``id_number`` / 身份证号); they
are validated, hashed with the caller's salt, masked, and discarded before anything is stored
or quarantined.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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
    "detect_table",
    "ingest_file",
    "ingest_paths",
    "quarantine_count",
    "read_raw",
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


@dataclass
class RawTable:
    """A file read as strings: its rows, their spreadsheet row numbers and malformed lines."""

    source: str
    frame: pd.DataFrame  # every cell a str, "" for empty
    row_numbers: np.ndarray
    malformed: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    encoding: str | None = None
    sha256: str = ""
    blank_rows: int = 0


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


def _normalise_header(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text)).split())


def _decode(data: bytes) -> tuple[str, str]:
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


def read_raw(path: Path) -> RawTable:
    """Read a CSV, Parquet or XLSX file into strings, keeping malformed CSV lines apart.

    Raises
    ------
    ValueError
        For an unknown extension, an undecodable CSV or a file without a header.
    """
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        text, encoding = _decode(data)
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: file is empty; a header row is required")
        header = [h.strip() for h in header]
        width = len(header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        malformed: list[tuple[int, str, dict[str, str]]] = []
        blank = 0
        for number, row in enumerate(reader, start=2):  # header is row 1, as in a spreadsheet
            if not row or all(not cell.strip() for cell in row):
                blank += 1
                continue
            if len(row) != width:
                raw = {
                    (header[i] if i < width else f"extra_{i - width + 1}"): v
                    for i, v in enumerate(row)
                }
                malformed.append(
                    (
                        number,
                        f"row has {len(row)} fields; the header has {width} "
                        "(truncated or malformed line)",
                        raw,
                    )
                )
                continue
            rows.append(row)
            numbers.append(number)
        frame = pd.DataFrame(rows, columns=header, dtype=object)
        return RawTable(
            str(path),
            frame,
            np.array(numbers, dtype=np.int64),
            malformed,
            encoding,
            digest,
            blank,
        )
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=object, engine="openpyxl")
    else:
        raise ValueError(f"{path}: file type must be .csv, .parquet or .xlsx; got {suffix!r}")
    frame = frame.astype(object)
    for col in frame.columns:
        frame[col] = [_cell_text(v) for v in frame[col]]
    frame.columns = [str(c).strip() for c in frame.columns]
    numbers_arr = np.arange(2, len(frame) + 2, dtype=np.int64)
    # Fully blank rows carry no data: skipped (and counted) as in CSV files.
    filled = (frame != "").any(axis=1).to_numpy() if len(frame.columns) else np.zeros(0, bool)
    return RawTable(
        str(path),
        frame.loc[filled].reset_index(drop=True),
        numbers_arr[filled],
        [],
        None,
        digest,
        int((~filled).sum()),
    )


def _cell_text(value: Any) -> str:
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp | datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table_from_name(path: Path) -> str | None:
    """The table a file name announces (``roles_2024.csv``, ``任职与出资信息.xlsx``), if any."""
    stem = path.stem.lower()
    for name, spec in TABLES.items():
        if stem.startswith(name) or spec.zh_title in path.stem:
            return name
    if "行政处罚" in path.stem or "双公示" in path.stem:
        return "records"
    return None


def detect_table(path: Path, headers: Sequence[str]) -> str:
    """Name the contract table of a file: by file name first, else by its headers.

    Raises
    ------
    UnknownTableError
        If neither the name nor the headers identify a table.
    """
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
        raise UnknownTableError(
            f"{path}: cannot tell which table this file holds; name it after a table "
            f"({', '.join(TABLES)}) or pass --table"
        )
    return best


# --------------------------------------------------------------------------- validation


class _Errors:
    """Per-row failures: the first failing column and all reasons."""

    def __init__(self, n: int) -> None:
        self.column = np.full(n, None, dtype=object)
        self.reasons: list[list[str]] = [[] for _ in range(n)]

    def add(self, mask: np.ndarray, column: str, reasons: Iterable[str]) -> None:
        for i, reason in zip(np.flatnonzero(mask), reasons, strict=True):
            if self.column[i] is None:
                self.column[i] = column
            self.reasons[i].append(reason)

    @property
    def bad(self) -> np.ndarray:
        return np.array([bool(r) for r in self.reasons], dtype=bool)


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
        errors.add(bad, name, [f"{name} must be one of {allowed}; got {v!r}" for v in text[bad]])
        return mapped.where(present, None)

    if col.kind == ColumnKind.date:
        # 9999-12-31 is the conventional 长期 (no end) in publicity files.
        max_year = 9999 if name == "publicity_end" else 2100
        parsed, unparseable, impossible = _parse_dates(text, max_year)
        errors.add(
            unparseable,
            name,
            [f"{name} must be a date like 2024-05-31; got {v!r}" for v in text[unparseable]],
        )
        errors.add(
            impossible,
            name,
            [
                f"{name} must be a real calendar date between 1900 and {max_year}; got {v!r}"
                for v in text[impossible]
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
            not_number, name, [f"{name} must be a number; got {v!r}" for v in text[not_number]]
        )
        live = present & ~not_number
        vals = numbers.to_numpy()
        if col.kind == ColumnKind.share:
            bad = live & ((vals < 0) | (vals > 1))
            errors.add(bad, name, [f"{name} must be between 0 and 1; got {v!r}" for v in text[bad]])
        else:
            bad = live & (vals < 0)
            errors.add(bad, name, [f"{name} must be ≥ 0; got {v!r}" for v in text[bad]])
        if col.kind == ColumnKind.integer:
            fractional = live & ~bad & (np.floor(np.nan_to_num(vals)) != np.nan_to_num(vals))
            errors.add(
                fractional,
                name,
                [f"{name} must be a whole number; got {v!r}" for v in text[fractional]],
            )
        return numbers

    if col.kind == ColumnKind.region:
        values = _nfkc(text)
        province = pd.to_numeric(values.str.slice(0, 2), errors="coerce")
        ok = (
            values.str.fullmatch(r"\d{6}").fillna(False).to_numpy(dtype=bool)
            & province.isin(list(PROVINCE_CODES)).to_numpy()
        )
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [f"{name} must be a 6-digit GB/T 2260 region code; got {v!r}" for v in text[bad]],
        )
        return values.where(present, None)

    if col.kind == ColumnKind.industry:
        values = _nfkc(text).str.upper()
        ok = values.str.fullmatch(r"[A-T]").fillna(False).to_numpy(dtype=bool)
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [f"{name} must be a GB/T 4754 section letter A-T; got {v!r}" for v in text[bad]],
        )
        return values.where(present, None)

    if col.kind == ColumnKind.period:
        values = _nfkc(text).str.upper()
        ok = values.str.fullmatch(_PERIOD_RE.pattern).fillna(False).to_numpy(dtype=bool)
        bad = present & ~ok
        errors.add(bad, name, [f"{name} must be YYYY or YYYYQn; got {v!r}" for v in text[bad]])
        return values.where(present, None)

    raise AssertionError(col.kind)  # pragma: no cover


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


def _map_headers(raw: RawTable, spec: TableSpec) -> tuple[pd.DataFrame, list[str]]:
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
    return frame, ignored


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
    summary.orphan_examples = [str(v) for v in pd.unique(examples.to_numpy())[:5]]


# --------------------------------------------------------------------------- driver


def _quarantine_rows(
    conn: Connection,
    batch_id: int,
    source: str,
    items: list[tuple[int, str | None, str, dict[str, str]]],
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
    """Mask raw resident IDs in a quarantined row: the whole id_number cell, and any valid ID
    number that turns up in another cell (shifted columns, IDs typed into a name)."""
    id_headers = {_normalise_header(h) for h in _ID_NUMBER_HEADERS}
    safe = {}
    for k, v in raw.items():
        if _normalise_header(k) in id_headers and v:
            digits = "".join(str(v).split())
            safe[k] = f"{digits[:6]}********{digits[-4:]}" if len(digits) >= 10 else "***"
        else:
            safe[k] = mask_id_numbers(str(v))
    return safe


def ingest_file(
    engine: Engine,
    path: Path,
    *,
    table: str | None = None,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    progress: ProgressCallback | None = None,
) -> FileSummary:
    """Ingest one file in one transaction and return its reconciled summary.

    A refused file (missing required column, unknown table, unreadable) and a file whose
    transaction failed are reported with ``status`` ``refused`` / ``failed`` and a message;
    they change nothing in the contract tables.
    """
    started = time.perf_counter()
    source = str(path)
    summary = FileSummary(
        source=source, table=table if table is not None and table in TABLES else "?"
    )
    try:
        if table is not None and table not in TABLES:
            raise UnknownTableError(f"table must be one of {', '.join(TABLES)}; got {table!r}")
        raw = read_raw(path)
        summary.encoding = raw.encoding
        summary.blank_rows = raw.blank_rows
        name = table or detect_table(path, list(raw.frame.columns))
        summary.table = name
        spec = TABLES[name]
        frame, ignored = _map_headers(raw, spec)
        summary.ignored_columns = ignored
        if name == "records":
            frame = _derive_record_columns(frame)
        if name == "persons" and "id_number" in frame:
            present = set(frame.columns) | {"id_hash", "id_masked"}
        else:
            present = set(frame.columns)
        missing = [c.name for c in spec.columns if c.required and c.name not in present]
        if missing:
            raise MissingColumnsError(name, missing, source)
        if "id_number" in frame and id_salt is None:
            raise ValueError(
                f"{source}: persons file carries raw ID numbers; an id_salt is required to "
                "hash them (set CREDLINK_ID_SALT)"
            )
    except (ValueError, OSError) as exc:
        summary.status = "refused"
        summary.message = str(exc)
        summary.seconds = time.perf_counter() - started
        _record_refusal(engine, summary, path)
        return summary

    summary.read = len(frame) + len(raw.malformed)
    try:
        with engine.begin() as conn:
            batch_id = conn.execute(
                insert(ingest_batches).returning(ingest_batches.c.id),
                {
                    "source": source,
                    "sha256": raw.sha256,
                    "table_name": name,
                    "started_at": datetime.now(UTC),
                    "status": "running",
                },
            ).scalar_one()
            summary.batch_id = batch_id
            accepted, items = _validate(
                frame, raw, spec, id_salt, frozenset(uscc_allowlist), summary
            )
            summary.quarantined = len({number for number, *_ in items})
            _quarantine_rows(conn, batch_id, source, items)
            _upsert(conn, spec, accepted, summary, progress, _file_columns(frame, spec))
            _count_orphans(conn, name, accepted, summary)
            summary.seconds = time.perf_counter() - started
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
                    message=_batch_message(summary),
                )
            )
    except Exception as exc:  # the transaction rolled back: report, keep going
        summary.status = "failed"
        summary.message = (
            f"{type(exc).__name__}: {exc} ({summary.read} rows read; transaction rolled back, "
            "nothing stored)"
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
        summary.batch_id = None
        summary.seconds = time.perf_counter() - started
        _record_refusal(engine, summary, path)
    if not summary.reconciled and summary.status == "ok":  # pragma: no cover - invariant
        raise AssertionError(f"counts do not reconcile for {source}: {summary}")
    return summary


def _file_columns(frame: pd.DataFrame, spec: TableSpec) -> set[str]:
    """Contract columns a file carries (derived ones included), i.e. the ones it may update."""
    columns = set(frame.columns) & set(spec.names)
    if "id_number" in frame:
        columns |= {"id_hash", "id_masked"}
    if spec.name == "records" and "publicity_end" in columns:
        columns.add("regime")  # derived together with the publicity end
    return columns


def _batch_message(summary: FileSummary) -> str | None:
    notes = []
    if summary.ignored_columns:
        notes.append(f"ignored columns: {', '.join(summary.ignored_columns)}")
    if summary.orphans:
        notes.append(f"{summary.orphans} rows refer to entities not yet in the store")
    return "; ".join(notes) or None


def _record_refusal(engine: Engine, summary: FileSummary, path: Path) -> None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = ""
    now = datetime.now(UTC)
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


def _validate(
    frame: pd.DataFrame,
    raw: RawTable,
    spec: TableSpec,
    id_salt: bytes | None,
    allowlist: frozenset[str],
    summary: FileSummary,
) -> tuple[pd.DataFrame, list[tuple[int, str | None, str, dict[str, str]]]]:
    """Split a mapped frame into accepted rows (parsed, contract dtypes) and quarantine items."""
    n = len(frame)
    errors = _Errors(n)
    original = raw.frame.reset_index(drop=True)
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
            col, frame[col.name], errors, allowlist, summary, holder_is_enterprise
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

    items: list[tuple[int, str | None, str, dict[str, str]]] = [
        (number, None, reason, _privacy_safe(rawrow)) for number, reason, rawrow in raw.malformed
    ]
    for i in np.flatnonzero(bad):
        rawrow = _privacy_safe({str(k): str(v) for k, v in original.iloc[i].items()})
        reason = mask_id_numbers("; ".join(errors.reasons[i]))
        items.append((int(raw.row_numbers[i]), errors.column[i], reason, rawrow))

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


def ingest_paths(
    engine: Engine,
    paths: Sequence[Path],
    *,
    table: str | None = None,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Ingest files and directories (their CSV / Parquet / XLSX files) in dependency order.

    Directories are expanded; files are ordered enterprises → persons → roles → records →
    financials → loans (by detected table) so that orphans reported are true orphans.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.iterdir())
                if p.suffix.lower() in (".csv", ".parquet", ".xlsx", ".xlsm")
                and p.stem != "hidden_risk"
            )
        else:
            files.append(path)

    def order(p: Path) -> int:
        named = table or _table_from_name(p)
        return INGEST_ORDER.index(named) if named in INGEST_ORDER else len(INGEST_ORDER)

    allow = tuple(uscc_allowlist)
    summaries = [
        ingest_file(
            engine, p, table=table, id_salt=id_salt, uscc_allowlist=allow, progress=progress
        )
        for p in sorted(files, key=order)
    ]
    return IngestSummary(summaries)


def quarantine_count(engine: Engine) -> int:
    """Number of quarantined rows in the store (all batches)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())
