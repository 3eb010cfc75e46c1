"""The checks of a table: headers mapped, cells and rows checked, bad rows made quarantine items.

:func:`detect_table` names the contract table a file or sheet holds; :func:`map_columns`
renames a file's headers (English, the contract's Chinese ones, or a national layout of
:data:`risk.contract.RECORD_LAYOUTS`) to contract columns and refuses a table without a
required column, naming it as the file's language would; :func:`validate_frame` runs the cell
checks (an ID number or a NUL byte where none belongs), each column's checks
(:mod:`risk.ingest.columns`), the checks across columns of a row and across rows (duplicate
keys), and splits the rows into accepted ones (contract dtypes, publicity ends resolved) and
quarantine items: row number, column, reason (naming the column by the file's own header) and
the row's cells with ID numbers masked (:func:`masked_row`). A records row named only by a
subject code the contract cannot carry (行政相对人代码_2 …) is quarantined, never dropped.
Raw resident ID numbers are hashed with the caller's salt and masked here, and never kept.
:func:`validate_rows` checks rows that arrive in memory the same way without storing them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from risk.contract import (
    PENALTY_CATEGORIES,
    RECORD_LAYOUTS,
    SHARE_RANGE_RE,
    TABLES,
    ColumnKind,
    Directness,
    NationalLayout,
    RecordKind,
    Regime,
    SubjectType,
    TableSpec,
    domain_for_authority,
    national_layout,
    normalise_header,
    severity_for_penalty_category,
)
from risk.exceptions import InvalidIdentifierError, MissingColumnsError, UnknownTableError
from risk.identifiers import check_uscc_array, hash_resident_id, mask_resident_id
from risk.ingest.columns import RowErrors, mask_at, validate_column
from risk.ingest.privacy import id_number_cells, looks_like_id_number, safe_text, show
from risk.ingest.read import RawTable, source_label
from risk.ingest.summary import FileSummary, ingest_day
from risk.publicity import resolve_publicity
from risk.store import coerce_frame

__all__ = [
    "QuarantineItem",
    "ValidatedRows",
    "derive_record_columns",
    "detect_table",
    "file_columns",
    "loan_status_history",
    "map_columns",
    "map_headers",
    "masked_row",
    "table_from_name",
    "table_from_text",
    "validate_frame",
    "validate_rows",
]

_ID_NUMBER_HEADERS = ("id_number", "身份证号", "身份证号码", "证件号码")


def _reads_otherwise(header: str) -> bool:
    """Whether some layout reads ``header`` as something other than ID numbers (the bare
    行政相对人代码_5 is a 事业单位证书号 in the current 双公示 set, a 居民身份证号 in 2016's)."""
    key = normalise_header(header)
    return any(
        key in {normalise_header(h) for h in layout.headers()}
        and key not in {normalise_header(h) for h in layout.id_numbers}
        for layout in RECORD_LAYOUTS
    )


#: Headers whose cells are resident ID numbers in any file: masked whole in a quarantined row.
#: A layout adds its own (:func:`_masking`).
_MASKED_HEADERS = frozenset(
    normalise_header(h)
    for h in (*_ID_NUMBER_HEADERS, *(h for la in RECORD_LAYOUTS for h in la.id_numbers))
    if not _reads_otherwise(h)
)


@dataclass(frozen=True)
class _Masking:
    """The headers of one file whose cells may be persons' ID numbers (normalised).

    ``whole`` cells are masked whole in a quarantined row and wherever its reasons quote them,
    also a malformed number (15 digits, a wrong check character) that no detector recognises.
    ``coded`` ones (of ``whole``) are also a contract column that names enterprises by their
    codes (the 失信被执行人 list's 身份证号码/组织机构代码): there a cell holding a letter other
    than a final X cannot be an ID number, and is kept for the 重错码 work.
    """

    whole: frozenset[str] = _MASKED_HEADERS
    coded: frozenset[str] = frozenset()

    def hides(self, header: str, value: str) -> bool:
        key = normalise_header(header)
        if key not in self.whole or not value.strip():
            return False
        if key in self.coded:
            squeezed = "".join(unicodedata.normalize("NFKC", value).split()).upper()
            return not any(c.isalpha() for c in squeezed.removesuffix("X"))
        return True


def _masking(layout: NationalLayout | None) -> _Masking:
    """The ID-number headers of a file in ``layout`` (``None``: an English or generic file)."""
    if layout is None:
        return _Masking()
    own = frozenset(normalise_header(h) for h in layout.id_numbers)
    mapped = {normalise_header(h) for _, found in layout.columns for h in found}
    return _Masking(_MASKED_HEADERS | own, own & mapped)


def _masked_cell(value: str) -> str:
    digits = "".join(str(value).split())
    return f"{digits[:6]}********{digits[-4:]}" if len(digits) >= 10 else "***"


_PENALTY_CATEGORY_HEADERS = ("penalty_category", "处罚类别")

#: Internal columns of a mapped records frame: a 处罚类别 header's cells (severity is graded
#: from them) and a subject code the contract cannot carry (行政相对人代码_2 …), each under
#: the prefix and the file's own header. Neither is stored.
_CATEGORY = "penalty_category"
_CODE = "code:"

#: Longest cell kept verbatim in a quarantined row's raw copy; longer ones are cut.
_RAW_CELL_LIMIT = 1_000

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

QuarantineItem = tuple[int, str | None, str, dict[str, str]]

#: Words in a file or sheet name that announce a records file (a national list or 双公示).
_RECORD_FILE_WORDS = (
    "行政处罚",
    "行政许可",
    "双公示",
    "失信被执行人",
    "经营异常名录",
    "严重违法失信",
)


def _date_order(
    errors: RowErrors,
    parsed: dict[str, Any],
    later: str,
    earlier: str,
    labels: Mapping[str, str],
    strict: bool = False,
) -> None:
    a, b = parsed[later], parsed[earlier]
    bad = (a < b) if not strict else (a <= b)
    bad_np = bad.fillna(False).to_numpy(dtype=bool)
    rule = "after" if strict else "on or after"
    shown_later, shown_earlier = labels.get(later, later), labels.get(earlier, earlier)
    errors.add(
        bad_np,
        later,
        [
            f"{shown_later} must be {rule} {shown_earlier} ({e:%Y-%m-%d}); got {x:%Y-%m-%d}"
            for x, e in zip(a[bad_np], b[bad_np], strict=True)
        ],
    )


def _check_share_range(parsed: dict[str, Any], not_holder: np.ndarray, errors: RowErrors) -> None:
    """A share range is a shareholder's, well formed, within [0, 100], its share the lower
    bound (the point every product uses)."""
    reasons: list[str] = []
    rows: list[int] = []
    for i, (text, share) in enumerate(zip(parsed["share_range"], parsed["share"], strict=True)):
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            continue
        match = SHARE_RANGE_RE.match(str(text))
        if not_holder[i]:
            reason = "share_range is only for shareholders"
        elif match is None:
            reason = f"share_range must be like [25,50) (percent); got {text!r}"
        elif not 0 <= float(match.group(2)) <= float(match.group(3)) <= 100:
            reason = f"share_range must lie within [0,100] in order; got {text!r}"
        elif pd.isna(share) or abs(float(share) * 100 - float(match.group(2))) > 1e-6:
            reason = f"share must be share_range's lower bound {match.group(2)} %; got {share!r}"
        else:
            continue
        rows.append(i)
        reasons.append(reason)
    errors.add(mask_at(len(not_holder), np.array(rows, dtype=np.int64)), "share_range", reasons)


def _cross_checks(
    table: str, parsed: dict[str, Any], errors: RowErrors, labels: Mapping[str, str]
) -> None:
    """Rules that involve several columns of one row."""
    if table == "enterprises" and "closed" in parsed:
        _date_order(errors, parsed, "closed", "founded", labels)
    elif table == "roles":
        if "end" in parsed:
            _date_order(errors, parsed, "end", "start", labels, strict=True)
        share_given = parsed["share"].notna().to_numpy()
        not_holder = (parsed["role"] != "shareholder").to_numpy(dtype=bool)
        bad = share_given & not_holder
        share = labels.get("share", "share")
        errors.add(bad, "share", [f"{share} is only for shareholders"] * int(bad.sum()))
        if "share_range" in parsed:
            _check_share_range(parsed, not_holder, errors)
    elif table == "records":
        for later in ("publicity_end", "repaired", "removed"):
            if later in parsed:
                _date_order(errors, parsed, later, "decided", labels)
        if "regime" in parsed:
            bad = (parsed["regime"] == Regime.explicit.value).to_numpy(dtype=bool)
            if "publicity_end" in parsed:
                bad = bad & parsed["publicity_end"].isna().to_numpy()
            regime = labels.get("regime", "regime")
            end = labels.get("publicity_end", "publicity_end")
            errors.add(bad, "regime", [f"{regime} 'explicit' requires a {end}"] * int(bad.sum()))
    elif table == "loans":
        drawn, approved = parsed["drawn_amount"], parsed["approved_amount"]
        bad = (drawn > approved).fillna(False).to_numpy(dtype=bool)
        shown_drawn = labels.get("drawn_amount", "drawn_amount")
        shown_approved = labels.get("approved_amount", "approved_amount")
        errors.add(
            bad,
            "drawn_amount",
            [
                f"{shown_drawn} must not exceed {shown_approved} ({a}); got {d}"
                for d, a in zip(drawn[bad], approved[bad], strict=True)
            ],
        )
        _date_order(errors, parsed, "status_date", "applied", labels)
        for first_bad in ("overdue_90_date", "default_date"):
            if first_bad in parsed:
                _date_order(errors, parsed, first_bad, "applied", labels)
                _date_order(errors, parsed, "status_date", first_bad, labels)


def table_from_text(name: str) -> str | None:
    """The table a file or sheet name announces (``roles_2024``, ``任职与出资信息``), if any."""
    lower = name.lower()
    for table, spec in TABLES.items():
        if lower.startswith(table) or spec.zh_title in name:
            return table
    if any(word in name for word in _RECORD_FILE_WORDS):
        return "records"
    return None


def table_from_name(path: Path) -> str | None:
    """The table a file name announces (``roles_2024.csv``, ``任职与出资信息.xlsx``), if any."""
    return table_from_text(path.stem)


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
    named = table_from_text(sheet) if sheet is not None else None
    if named is None and first_sheet:
        named = table_from_name(path)
    if named is not None:
        return named
    if national_layout(headers) is not None:
        return "records"
    found = {normalise_header(h) for h in headers}
    best, best_score = None, 0.0
    for name, spec in TABLES.items():
        aliases = {normalise_header(a): c for a, c in spec.header_aliases().items()}
        required = {c.name for c in spec.columns if c.required}
        hits = {aliases[h] for h in found if h in aliases}
        score = len(hits & required) / len(required)
        if score > best_score:
            best, best_score = name, score
    if best is None or best_score < 0.6:
        what = f"sheet {sheet!r}" if sheet is not None else "this file"
        raise UnknownTableError(
            f"{source_label(path, sheet)}: cannot tell which table {what} holds; name it "
            f"after a table ({', '.join(TABLES)}) or pass --table"
        )
    return best


def map_headers(raw: RawTable, spec: TableSpec) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Rename the file's headers to contract columns; return the frame, the ignored headers
    and the mapping (file header → contract column).

    Besides the contract columns, a records file keeps its 处罚类别 headers and the subject
    codes the contract cannot carry (行政相对人代码_2 …) under internal names
    (:func:`derive_record_columns` and :func:`validate_frame` read them; nothing stores them),
    and a persons file its raw ID numbers as ``id_number``.
    """
    aliases = {normalise_header(a): c for a, c in spec.header_aliases().items()}
    extra: dict[str, str] = {}
    if spec.name == "records":
        for layout in spec.layouts:
            for header in layout.category:
                extra[normalise_header(header)] = f"{_CATEGORY}:"
            for header in layout.codes:
                extra.setdefault(normalise_header(header), _CODE)
    for header in _PENALTY_CATEGORY_HEADERS:
        extra.setdefault(normalise_header(header), _CATEGORY)
    for header in _ID_NUMBER_HEADERS:
        extra.setdefault(normalise_header(header), "id_number")
    renamed: dict[str, str] = {}
    ignored: list[str] = []
    for header in raw.frame.columns:
        key = normalise_header(header)
        target = aliases.get(key, extra.get(key))
        if target is not None and target.endswith(":"):  # internal: under the file's header
            target = f"{target}{header}"
        if target is None or target in renamed.values():
            ignored.append(str(header))
            continue
        renamed[header] = target
    frame = raw.frame[list(renamed)].rename(columns=renamed)
    frame = frame.fillna("").astype(str)
    return frame, ignored, renamed


def _choices(spec: TableSpec, column: str, layout: NationalLayout | None) -> str:
    """How a Chinese file may name a contract column: the layout's headers, else the
    contract's Chinese ones (at most two, the standard's own first)."""
    col = spec.column(column)
    found = layout.headers_for(column) if layout is not None else ()
    choices = list(found or col.zh)
    if column == "severity":
        category = layout.category if layout is not None and layout.category else ("处罚类别",)
        choices = [*category, *choices]
    elif column == "domain":
        choices = [*choices, *_choices(spec, "authority", layout).split(" or ")]
    shown = list(dict.fromkeys(choices))[:2] or [column]
    return " or ".join(shown)


def map_columns(
    raw: RawTable, spec: TableSpec, summary: FileSummary, id_salt: bytes | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """A read table's cells under contract column names, ready for :func:`validate_frame`.

    Headers are mapped (:func:`map_headers`; the ignored ones named in ``summary``), the
    columns a national records file lacks derived (:func:`derive_record_columns`), and the
    table refused when it cannot be ingested at all.

    Returns
    -------
    tuple
        The mapped frame and the mapping (file header → contract column).

    Raises
    ------
    MissingColumnsError
        If a required column is missing (a persons file's raw ``id_number`` stands for
        ``id_hash`` and ``id_masked``). A file with Chinese headers is told the headers it
        lacks as the national standard writes them (``行政相对人代码_1(统一社会信用代码) or
        统一社会信用代码``), an English one the contract's names.
    ValueError
        If raw ID numbers arrive without a salt to hash them.
    """
    frame, ignored, renamed = map_headers(raw, spec)
    summary.ignored_columns = [safe_text(h, 200) for h in ignored]
    layout = national_layout(raw.frame.columns) if spec.name == "records" else None
    if spec.name == "records":
        frame = derive_record_columns(frame, layout)
    if spec.name == "persons" and "id_number" in frame:
        present = set(frame.columns) | {"id_hash", "id_masked"}
    else:
        present = set(frame.columns)
    missing = [c.name for c in spec.columns if c.required and c.name not in present]
    if missing:
        chinese = any(not str(h).isascii() for h in raw.frame.columns)
        headers = [_choices(spec, c, layout) for c in missing] if chinese else None
        raise MissingColumnsError(spec.name, missing, summary.source, headers=headers)
    if "id_number" in frame and id_salt is None:
        raise ValueError(
            f"{summary.source}: persons file carries raw ID numbers; an id_salt is "
            "required to hash them (set CREDLINK_ID_SALT)"
        )
    return frame, renamed


def derive_record_columns(
    frame: pd.DataFrame, layout: NationalLayout | None = None
) -> pd.DataFrame:
    """Fill kind / domain / severity / subject_type of national records files that lack them.

    kind is the layout's (administrative_penalty without one); domain is inferred from the
    authority (处罚机关); severity is graded from the 处罚类别 headers (both of the 2016
    处罚类别1 and 处罚类别2), else it is the list's own (a 失信被执行人 entry is serious);
    subject_type is enterprise in a national layout, whose subject column holds USCCs, and
    otherwise decided by the code's length (18: a USCC; a person's subject is the platform's
    person_id). The 处罚类别 cells stay in the frame for the reasons of ungraded rows.
    """
    n = len(frame)
    if "kind" not in frame:
        kind = layout.kind if layout is not None else RecordKind.administrative_penalty
        frame["kind"] = [kind.value] * n
    if "domain" not in frame and "authority" in frame:
        frame["domain"] = [domain_for_authority(a).value for a in frame["authority"]]
    categories = [c for c in frame.columns if c.split(":", 1)[0] == _CATEGORY]
    if "severity" not in frame and categories:
        joined = frame[categories[0]]
        for column in categories[1:]:
            other = frame[column]
            both = (joined != "") & (other != "")
            joined = (joined + np.where(both, ";", "") + other).astype(object)
        frame[_CATEGORY] = joined
        # Each distinct 处罚类别 graded once (a file holds a handful).
        found, distinct = pd.factorize(joined.to_numpy(dtype=object))
        graded = [(s.value if (s := severity_for_penalty_category(c)) else "") for c in distinct]
        frame["severity"] = np.array([*graded, ""], dtype=object)[found]
    elif "severity" not in frame and layout is not None and layout.severity is not None:
        frame["severity"] = [layout.severity.value] * n
    if "subject_type" not in frame and layout is not None:
        frame["subject_type"] = [SubjectType.enterprise.value] * n
    elif "subject_type" not in frame and "subject_id" in frame:
        # An 18-character code is a 统一社会信用代码 (validated, and quarantined if wrong);
        # person subjects carry the platform's person_id.
        codes = check_uscc_array(frame["subject_id"])["code"]
        frame["subject_type"] = np.where(
            codes.str.len().to_numpy() == 18,
            SubjectType.enterprise.value,
            SubjectType.person.value,
        )
    return frame


def _hash_id_numbers(frame: pd.DataFrame, salt: bytes | None, errors: RowErrors) -> pd.DataFrame:
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


def masked_row(raw: dict[str, str], masking: _Masking | None = None) -> dict[str, str]:
    """A quarantined row's cells fit for the store: the cells of ID-number headers masked
    whole (the id_number column, 证件号码 and the file's layout's own, such as the
    失信被执行人 list's 身份证号码/组织机构代码, whose codes with a letter are kept), any ID
    number elsewhere masked (shifted columns, IDs typed into a name), NUL bytes made visible
    and cells longer than 1,000 characters cut."""
    masking = masking or _Masking()
    safe = {}
    for k, v in raw.items():
        key = safe_text(str(k), 200)
        if masking.hides(str(k), str(v)):
            safe[key] = safe_text(_masked_cell(str(v)), 64)
        else:
            safe[key] = safe_text(str(v), _RAW_CELL_LIMIT)
    return safe


def _scrubbed(reason: str, row: Mapping[str, str], masking: _Masking) -> str:
    """``reason`` with every quote of the row's hidden ID-number cells masked: a check that
    quotes its cell (``check character must be '2'; got '0' in '3411…'``) must not show a
    malformed ID number the pattern detector cannot see. The cell is looked for as typed and
    as the checks normalise it (NFKC, no spaces, upper case)."""
    for header, value in row.items():
        if not masking.hides(header, value):
            continue
        squeezed = "".join(unicodedata.normalize("NFKC", value).split())
        if len(squeezed) < 10:  # too short to be (or reveal) an ID number
            continue
        masked = _masked_cell(value)
        for form in sorted({value.strip(), squeezed, squeezed.upper()}, key=len, reverse=True):
            reason = reason.replace(form, masked)
    return reason


def _check_cells(
    frame: pd.DataFrame,
    raw: RawTable,
    spec: TableSpec,
    renamed: dict[str, str],
    errors: RowErrors,
    labels: Mapping[str, str],
) -> dict[str, np.ndarray]:
    """Refuse rows before any column is parsed: a cell the reader could not trust (a formula
    without a cached value, a list in a Parquet cell), a resident ID number anywhere but the
    id_number column, a NUL byte (PostgreSQL cannot store it in text).

    Returns each checked column's rows that hold a resident ID number."""
    n = len(frame)
    found: dict[str, np.ndarray] = {}
    by_column: dict[str, tuple[list[int], list[str]]] = {}
    for index, header, reason in raw.bad_cells:
        column = renamed.get(header)
        if column is not None:
            rows, reasons = by_column.setdefault(column, ([], []))
            rows.append(index)
            reasons.append(f"{labels.get(column, header)} {reason}")
    for column, (rows, reasons) in by_column.items():
        errors.add(mask_at(n, np.array(rows, dtype=np.int64)), column, reasons)
    for col in spec.columns:
        if col.name not in frame or col.kind not in _FREE_KINDS:
            continue
        values = frame[col.name]
        shown = labels.get(col.name, col.name)
        ids = found[col.name] = id_number_cells(values)
        errors.add(
            ids,
            col.name,
            [f"{shown} must not hold a resident ID number; got {show(v)}" for v in values[ids]],
        )
        if raw.may_hold_nul:
            nul = values.str.contains("\x00", regex=False).to_numpy(dtype=bool)
            errors.add(
                nul,
                col.name,
                [f"{shown} must not contain a NUL byte; got {show(v)}" for v in values[nul]],
            )
    return found


def _persons_by_id_number(
    frame: pd.DataFrame,
    renamed: Mapping[str, str],
    masking: _Masking,
    already: np.ndarray | None,
    labels: Mapping[str, str],
    errors: RowErrors,
) -> np.ndarray:
    """Quarantine the rows whose subject column, one that names persons by their ID numbers
    (the 失信被执行人 list's 身份证号码/组织机构代码), holds a cell shaped like an ID number
    (:func:`~risk.ingest.privacy.looks_like_id_number`: also a mistyped, 15-digit or
    half-masked one, which no USCC check should quote). Rows whose cell is a valid ID number
    (``already``, refused by :func:`_check_cells`) are left to that reason. Returns the rows
    whose subject is a person's ID number: neither checked as a USCC nor counted as one.
    """
    n = len(frame)
    persons = np.zeros(n, dtype=bool) if already is None else already.copy()
    headers = [h for h, c in renamed.items() if c == "subject_id"]
    if "subject_id" not in frame or not any(normalise_header(h) in masking.coded for h in headers):
        return persons
    shaped = np.fromiter(
        (looks_like_id_number(v) for v in frame["subject_id"]), dtype=bool, count=n
    )
    new = shaped & ~persons
    subject = labels.get("subject_id", "subject_id")
    reason = (
        f"{subject} holds a person's ID number, which the records table cannot "
        "carry: it names a person by the platform's person_id; the person's entry is not stored"
    )
    errors.add(new, "subject_id", [reason] * int(new.sum()))
    return persons | shaped


def _labels(renamed: Mapping[str, str]) -> dict[str, str]:
    """Each contract column under the header the file gave it, as reasons name it.

    A severity graded from 处罚类别 is named by the 处罚类别 header(s) it was graded from.
    """
    labels: dict[str, str] = {}
    for header, column in renamed.items():
        if column.startswith(_CODE):
            continue
        if column.split(":", 1)[0] == _CATEGORY:
            given = labels.get(_CATEGORY)
            labels[_CATEGORY] = f"{given} / {header}" if given else str(header)
            continue
        labels.setdefault(column, str(header))
    if "severity" not in labels and _CATEGORY in labels:
        labels["severity"] = labels[_CATEGORY]
    return labels


def _named_by_codes_only(
    frame: pd.DataFrame, labels: Mapping[str, str], errors: RowErrors
) -> np.ndarray:
    """Quarantine the rows whose subject is named only by a code the records table cannot
    carry (行政相对人代码_2(工商注册号) …, a person's 证件号码): the USCC is used when present,
    and a row without one is never dropped silently. Returns those rows."""
    codes = [c for c in frame.columns if c.startswith(_CODE)]
    only = np.zeros(len(frame), dtype=bool)
    if not codes or "subject_id" not in frame:
        return only
    filled = {c: (frame[c].str.strip() != "").to_numpy() for c in codes}
    only = (frame["subject_id"].str.strip() == "").to_numpy() & np.logical_or.reduce(
        list(filled.values())
    )
    subject = labels.get("subject_id", "subject_id")
    reasons = [
        f"{subject} is empty and the subject is named only by "
        f"{', '.join(c.removeprefix(_CODE) for c in codes if filled[c][i])}, which the "
        "records table cannot carry: it names an enterprise by its 统一社会信用代码 and a "
        "person by the platform's person_id"
        for i in np.flatnonzero(only).tolist()
    ]
    errors.add(only, "subject_id", reasons)
    return only


def _ungraded(frame: pd.DataFrame, labels: Mapping[str, str], errors: RowErrors) -> np.ndarray:
    """Quarantine the rows whose 处罚类别 names no category severity is graded from (their
    severity could not be derived); returns those rows."""
    if _CATEGORY not in frame or "severity" not in frame:
        return np.zeros(len(frame), dtype=bool)
    category = frame[_CATEGORY]
    bad = ((frame["severity"] == "") & (category.str.strip() != "")).to_numpy()
    known = ", ".join(PENALTY_CATEGORIES)
    shown = labels.get(_CATEGORY, "处罚类别")
    errors.add(
        bad,
        "severity",
        [
            f"{shown} must name a penalty category severity is graded from ({known}); got {show(v)}"
            for v in category[bad]
        ],
    )
    return bad


def validate_frame(
    frame: pd.DataFrame,
    raw: RawTable,
    spec: TableSpec,
    renamed: dict[str, str],
    id_salt: bytes | None,
    allowlist: frozenset[str],
    summary: FileSummary,
    today: date,
) -> tuple[pd.DataFrame, list[QuarantineItem]]:
    """Split a mapped frame into accepted rows (parsed, contract dtypes) and quarantine items."""
    n = len(frame)
    errors = RowErrors(n)
    original = raw.frame.reset_index(drop=True)
    labels = _labels(renamed)
    layout = national_layout(raw.frame.columns) if spec.name == "records" else None
    masking = _masking(layout)
    id_numbers = _check_cells(frame, raw, spec, renamed, errors, labels)
    if spec.name == "persons":
        frame = _hash_id_numbers(frame, id_salt, errors)
    explained: dict[str, np.ndarray] = {}
    persons: np.ndarray | None = None
    if spec.name == "records":
        explained["subject_id"] = _named_by_codes_only(frame, labels, errors)
        explained["severity"] = _ungraded(frame, labels, errors)
        persons = _persons_by_id_number(
            frame, renamed, masking, id_numbers.get("subject_id"), labels, errors
        )

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
        label = labels.get(col.name)
        parsed[col.name] = validate_column(
            col,
            frame[col.name],
            errors,
            allowlist,
            summary,
            today,
            holder_is_enterprise,
            label=None if label == col.name else label,
            skip_required=explained.get(col.name),
            count_uscc=spec.name == "records",
            persons=persons if col.name == "subject_id" else None,
        )
    _cross_checks(spec.name, parsed, errors, labels)

    accepted = pd.DataFrame({c: parsed[c] for c in spec.names if c in parsed})
    if spec.name == "roles":
        accepted = _direct_by_default(accepted)
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
            label = ", ".join(f"{labels.get(k, k)}={v}" for k, v in zip(spec.key, key, strict=True))
            reasons.append(f"duplicate key ({label}) also at row(s) {others}")
        errors.add(dup, spec.key[0], reasons)
        if "uscc" in spec.key and spec.name == "enterprises":
            summary.uscc_duplicate += int(dup.sum())
        bad = errors.bad

    items: list[QuarantineItem] = [
        (
            problem.number,
            safe_text(renamed.get(problem.header, problem.header), 64),
            safe_text(_scrubbed(problem.reason, problem.raw, masking), 4_000),
            masked_row(problem.raw, masking),
        )
        for problem in raw.malformed
    ]
    for row in np.flatnonzero(bad).tolist():
        cells = {str(k): str(v) for k, v in original.iloc[row].items()}
        rawrow = masked_row(cells, masking)
        reason = safe_text(_scrubbed("; ".join(errors.reasons[row]), cells, masking), 4_000)
        items.append((int(raw.row_numbers[row]), errors.column[row], reason, rawrow))

    good = accepted.loc[~bad].reset_index(drop=True)
    if spec.name == "records" and len(good):
        resolved = resolve_publicity(good)
        good["publicity_end"] = resolved["publicity_end"]
        good["regime"] = resolved["regime"]
    if spec.name == "loans" and len(good):
        good = loan_status_history(good)
    for name in spec.names:  # optional columns absent from the file are stored as missing
        if name not in good:
            good[name] = None
    good = coerce_frame(good[list(spec.names)], spec)
    return good, items


def loan_status_history(loans: pd.DataFrame) -> pd.DataFrame:
    """Fill a loan's first bad dates from its status where the row leaves them blank.

    A row reported ``overdue_90`` (``default``) on ``status_date`` was so on that date at the
    latest: a blank ``overdue_90_date`` (``default_date``) becomes ``status_date``. Given dates
    are kept; the store then keeps the earliest date ever reported
    (:func:`risk.store.earliest_date`).
    """
    out = loans.copy()
    for column, status in (("overdue_90_date", "overdue_90"), ("default_date", "default")):
        given = out[column] if column in out else pd.Series(pd.NaT, index=out.index)
        given = pd.to_datetime(given)
        now = (out["status"] == status).to_numpy(dtype=bool) & given.isna().to_numpy()
        out[column] = given.where(~now, pd.to_datetime(out["status_date"]))
    return out


def _direct_by_default(accepted: pd.DataFrame) -> pd.DataFrame:
    """``roles.directness`` is part of the key (a holder's direct and declared indirect interest
    from the same day are two rows): a blank cell, or a file without the column, is direct."""
    direct = Directness.direct.value
    if "directness" not in accepted:
        return accepted.assign(directness=direct)
    column = accepted["directness"].astype(object)
    return accepted.assign(directness=column.where(column.notna(), direct))


def file_columns(frame: pd.DataFrame, spec: TableSpec) -> set[str]:
    """Contract columns a file carries (derived ones included), i.e. the ones it may update."""
    columns = set(frame.columns) & set(spec.names)
    if "id_number" in frame:
        columns |= {"id_hash", "id_masked"}
    if spec.name == "records" and "publicity_end" in columns:
        columns.add("regime")  # derived together with the publicity end
    if spec.name == "loans":  # derived from the status too (loan_status_history)
        columns |= {"overdue_90_date", "default_date"}
    return columns


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
    quarantine: list[QuarantineItem]
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
    accepted, items = validate_frame(
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
    return ValidatedRows(accepted, kept, items, file_columns(frame, spec), summary)
