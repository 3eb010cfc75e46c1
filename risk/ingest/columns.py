"""The checks of one column: each cell of a contract column parsed by its kind, or refused.

:func:`validate_column` reads a column of strings as its :class:`~risk.contract.ColumnKind`
says (USCCs checked and normalised, enum codes or Chinese labels, dates in the common
spellings, numbers with thousands separators and percent signs, region and industry codes,
ID hashes and masked IDs) and records each refused cell's reason in :class:`RowErrors`, in
the form ``"<column> must be <rule>; got <value>"``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk.contract import ColumnKind, ColumnSpec, enum_lookup
from risk.identifiers import PROVINCE_CODES, check_uscc_array, is_external_party_id
from risk.ingest.privacy import show
from risk.ingest.summary import FileSummary

__all__ = [
    "RowErrors",
    "mask_at",
    "nfkc",
    "uscc_reason",
    "validate_column",
]

#: The store's INTEGER range (PostgreSQL's 4-byte integer; SQLite would take more, but one
#: file must have one outcome on both backends).
_INT_MAX = 2**31 - 1

_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

_PERIOD_RE = re.compile(r"^\d{4}(Q[1-4])?$")


class RowErrors:
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


#: ASCII characters ``str.split()`` takes for whitespace (RE2's ``\\s`` misses some).
_ASCII_SPACE = "[\t\n\x0b\x0c\r\x1c-\x1f ]"


def _nfkc_one(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).split())


def nfkc(series: pd.Series) -> pd.Series:
    """Cells NFKC-normalised (full-width → half-width) with all whitespace removed.

    NFKC leaves ASCII alone, so only the cells with a non-ASCII character or ASCII
    whitespace (found by Arrow over the whole column) are normalised in Python.
    """
    cells = pa.array(series.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    odd = pc.or_(
        pc.invert(pc.string_is_ascii(cells)), pc.match_substring_regex(cells, _ASCII_SPACE)
    )
    todo = odd.to_numpy(zero_copy_only=False)
    if not todo.any():
        return series.copy()
    out = series.copy()
    out[todo] = [_nfkc_one(v) for v in series[todo]]
    return out


def _parse_dates(text: pd.Series, max_year: int = 2100) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Return (dates, unparseable mask, impossible mask) for non-empty cells."""
    cleaned = (
        nfkc(text)
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


def uscc_reason(label: str, reason: str) -> str:
    """A USCC check's reason (``uscc must be …``) said of the column as the file names it."""
    if label == "uscc" or not reason.startswith("uscc "):
        return reason
    return f"{label} {reason.removeprefix('uscc ')}"


def _external(values: pd.Series) -> np.ndarray:
    """Cells holding an external party's id (``GB-COH-06292597``)."""
    return np.fromiter((is_external_party_id(v) for v in values), dtype=bool, count=len(values))


def validate_column(
    col: ColumnSpec,
    text: pd.Series,
    errors: RowErrors,
    allowlist: frozenset[str],
    summary: FileSummary,
    today: date,
    holder_is_enterprise: np.ndarray | None = None,
    *,
    label: str | None = None,
    skip_required: np.ndarray | None = None,
    count_uscc: bool = False,
    persons: np.ndarray | None = None,
) -> pd.Series:
    """Validate one column of strings; return its parsed values (None/NaN/NaT where missing).

    Parameters
    ----------
    label
        The header the file gave the column (``行政相对人代码_1(统一社会信用代码)``): reasons
        name it; default the contract name.
    skip_required
        Rows whose empty cell another check has already explained.
    count_uscc
        Count the enterprises' USCCs of a ``subject_id`` column in the 重错码 report.
    persons
        Rows of a ``subject_id`` column whose cell is a person's ID number, already
        quarantined as one: neither checked as a USCC (whose reason would quote the number)
        nor counted in the 重错码 report, which measures enterprises' codes.
    """
    name = col.name
    shown = label or name
    present = (text != "").to_numpy()
    if not col.nullable:
        empty = ~present if skip_required is None else ~present & ~skip_required
        errors.add(empty, name, [f"{shown} is required; got an empty cell"] * int(empty.sum()))

    if col.kind in (ColumnKind.text, ColumnKind.subject_id):
        values = text.str.strip()
        too_long = (values.str.len() > col.max_length).to_numpy()
        errors.add(
            too_long,
            name,
            [
                f"{shown} must be at most {col.max_length} characters; got {len(v)}"
                for v in values[too_long]
            ],
        )
        if col.kind == ColumnKind.subject_id and holder_is_enterprise is not None:
            mask = present & holder_is_enterprise
            if persons is not None:
                mask = mask & ~persons
            if col.external:  # a party outside the Chinese registers keeps its own id
                mask = mask & ~_external(values)
            if mask.any():
                checked = check_uscc_array(values[mask], allowlist)
                bad = checked["check"].notna().to_numpy()
                idx = np.flatnonzero(mask)
                errors.add(
                    mask_at(len(text), idx[bad]),
                    name,
                    [
                        f"{name}: {r}" if label is None else uscc_reason(label, r)
                        for r in checked["reason"][bad]
                    ],
                )
                values = values.copy()
                values.iloc[idx] = checked["code"].to_numpy()
                summary.pilot_codes += int(checked["pilot"].sum())
                if count_uscc:
                    summary.uscc_read += int(mask.sum())
                    summary.uscc_invalid += int(bad.sum())
        return values.where(present, None)

    if col.kind == ColumnKind.uscc:
        # An external column's party outside the Chinese registers keeps its own id.
        external = _external(text.str.strip()) if col.external else np.zeros(len(text), bool)
        values = text.where(~external, text.str.strip())
        present = present & ~external
        idx = np.flatnonzero(present)
        checked = check_uscc_array(text[present], allowlist)
        bad = checked["check"].notna().to_numpy()
        errors.add(
            mask_at(len(text), idx[bad]),
            name,
            [uscc_reason(shown, r) for r in checked["reason"][bad]],
        )
        values.iloc[idx] = checked["code"].to_numpy()
        summary.uscc_read += int(present.sum())
        summary.uscc_invalid += int(bad.sum())
        summary.pilot_codes += int(checked["pilot"].sum())
        return values.where(present | external, None)

    if col.kind == ColumnKind.enum:
        assert col.enum is not None
        lookup = enum_lookup(col.enum)
        lookup |= {k.lower(): v for k, v in lookup.items()}
        stripped = text.str.strip()
        # Each distinct cell looked up once (a column holds a handful of codes).
        found, distinct = pd.factorize(stripped.to_numpy(dtype=object))
        labels = [lookup.get(v, lookup.get(v.lower())) for v in distinct]
        mapped = pd.Series(
            np.array([*labels, None], dtype=object)[found], index=text.index, dtype=object
        )
        bad = present & mapped.isna().to_numpy()
        allowed = ", ".join(m.value for m in col.enum)
        errors.add(
            bad, name, [f"{shown} must be one of {allowed}; got {show(v)}" for v in text[bad]]
        )
        return mapped.where(present, None)

    if col.kind == ColumnKind.date:
        # 9999-12-31 is the conventional 长期 (no end) in publicity files.
        max_year = 9999 if name == "publicity_end" else 2100
        parsed, unparseable, impossible = _parse_dates(text, max_year)
        errors.add(
            unparseable,
            name,
            [f"{shown} must be a date like 2024-05-31; got {show(v)}" for v in text[unparseable]],
        )
        errors.add(
            impossible,
            name,
            [
                f"{shown} must be a real calendar date between 1900 and {max_year}; got {show(v)}"
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
                    f"{shown} must not be after the ingest day ({today:%Y-%m-%d}); got {show(v)}"
                    for v in text[future]
                ],
            )
        return parsed

    if col.kind in (ColumnKind.number, ColumnKind.integer, ColumnKind.share):
        cleaned = nfkc(text).str.replace(",", "", regex=False)
        percent = cleaned.str.endswith("%").to_numpy()
        cleaned = cleaned.str.rstrip("%")
        numbers = pd.to_numeric(cleaned.where(present), errors="coerce").astype("float64")
        if col.kind == ColumnKind.share:
            numbers = numbers.where(~percent, numbers / 100.0)
        not_number = present & (numbers.isna().to_numpy() | ~np.isfinite(numbers.fillna(0)))
        errors.add(
            not_number, name, [f"{shown} must be a number; got {show(v)}" for v in text[not_number]]
        )
        live = present & ~not_number
        vals = numbers.to_numpy()
        if col.kind == ColumnKind.share:
            bad = live & ((vals < 0) | (vals > 1))
            errors.add(
                bad, name, [f"{shown} must be between 0 and 1; got {show(v)}" for v in text[bad]]
            )
        else:
            bad = live & (vals < 0)
            errors.add(bad, name, [f"{shown} must be ≥ 0; got {show(v)}" for v in text[bad]])
        if col.kind == ColumnKind.integer:
            fractional = live & ~bad & (np.floor(np.nan_to_num(vals)) != np.nan_to_num(vals))
            errors.add(
                fractional,
                name,
                [f"{shown} must be a whole number; got {show(v)}" for v in text[fractional]],
            )
            huge = live & ~bad & ~fractional & (np.nan_to_num(vals) > _INT_MAX)
            errors.add(
                huge,
                name,
                [
                    f"{shown} must be at most {_INT_MAX} (the store's integer range); got {show(v)}"
                    for v in text[huge]
                ],
            )
        return numbers

    if col.kind == ColumnKind.region:
        values = nfkc(text)
        province = pd.to_numeric(values.str.slice(0, 2), errors="coerce")
        ok = (
            values.str.fullmatch(r"[0-9]{6}").fillna(False).to_numpy(dtype=bool)
            & province.isin(list(PROVINCE_CODES)).to_numpy()
        )
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [f"{shown} must be a 6-digit GB/T 2260 region code; got {show(v)}" for v in text[bad]],
        )
        return values.where(present, None)

    if col.kind == ColumnKind.industry:
        values = nfkc(text).str.upper()
        ok = values.str.fullmatch(r"[A-T]").fillna(False).to_numpy(dtype=bool)
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [f"{shown} must be a GB/T 4754 section letter A-T; got {show(v)}" for v in text[bad]],
        )
        return values.where(present, None)

    if col.kind == ColumnKind.period:
        values = nfkc(text).str.upper()
        ok = values.str.fullmatch(_PERIOD_RE.pattern).fillna(False).to_numpy(dtype=bool)
        bad = present & ~ok
        errors.add(bad, name, [f"{shown} must be YYYY or YYYYQn; got {show(v)}" for v in text[bad]])
        return values.where(present, None)

    if col.kind == ColumnKind.id_hash:
        values, ok = _normalised_match(text, r"[0-9a-f]{64}", str.lower)
        bad = present & ~ok
        errors.add(
            bad,
            name,
            [
                f"{shown} must be 64 hexadecimal characters (a salted hash); got {show(v)}"
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
            [f"{shown} must be like 340321********1234; got {show(v)}" for v in text[bad]],
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
        values[retry] = nfkc(text[retry]).map(case)
        ok[retry] = values[retry].str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return values, ok


def mask_at(n: int, idx: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return mask
