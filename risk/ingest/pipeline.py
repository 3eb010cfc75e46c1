"""The entry points: files, directories and in-memory rows through read → validate → upsert."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from risk.contract import TABLES
from risk.exceptions import UnknownTableError
from risk.ingest.privacy import describe, safe_text
from risk.ingest.read import (
    TEXT_SUFFIXES,
    WORKBOOK_SUFFIXES,
    EmptySheet,
    RawTable,
    frame_table,
    read_raw,
    source_label,
    workbook_sheets,
)
from risk.ingest.summary import (
    INGEST_ORDER,
    FileSummary,
    IngestSummary,
    ProgressCallback,
    ingest_day,
)
from risk.ingest.upsert import (
    batch_message,
    count_orphans,
    finish_batch,
    open_batch,
    quarantine_rows,
    record_refusal,
    staged_rows,
    upsert_rows,
)
from risk.ingest.validate import (
    detect_table,
    file_columns,
    map_columns,
    table_from_name,
    table_from_text,
    validate_frame,
)
from risk.store import quarantine
from risk.validation import check_str

__all__ = [
    "ingest_file",
    "ingest_frame",
    "ingest_paths",
    "quarantine_count",
]

#: Files a directory is expanded to; ``.xls`` only to be refused by name, never skipped.
_DIRECTORY_SUFFIXES = (*TEXT_SUFFIXES[:1], ".parquet", *WORKBOOK_SUFFIXES, ".xls")


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
        return safe_text(lines[0] if lines else type(exc).__name__, 2_000)
    return describe(exc)


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
        source=source_label(path, sheet),
        table=table if table is not None and table in TABLES else "?",
    )
    digest = ""
    try:
        if table is not None and table not in TABLES:
            raise UnknownTableError(f"table must be one of {', '.join(TABLES)}; got {table!r}")
        try:
            raw = read_raw(path, sheet=sheet)
        except EmptySheet:
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
        frame, renamed = map_columns(raw, TABLES[name], summary, id_salt)
    except Exception as exc:  # whatever the file holds, it becomes a refusal, never a crash
        _refuse(engine, summary, exc, digest or _file_digest(path), started)
        return summary

    notes = []
    if raw.other_sheets:
        notes.append(
            f"other sheets not ingested here: {', '.join(raw.other_sheets)} "
            "(credlink ingest / ingest_paths ingests every sheet)"
        )
    _store(
        engine,
        summary,
        raw,
        frame,
        renamed,
        id_salt=id_salt,
        allowlist=allowlist,
        today=today,
        progress=progress,
        notes=notes,
        started=started,
    )
    return summary


def _refuse(
    engine: Engine, summary: FileSummary, exc: Exception, digest: str, started: float
) -> None:
    summary.status = "refused"
    summary.message = _refusal_text(exc)
    summary.seconds = time.perf_counter() - started
    record_refusal(engine, summary, digest)


def _store(
    engine: Engine,
    summary: FileSummary,
    raw: RawTable,
    frame: pd.DataFrame,
    renamed: dict[str, str],
    *,
    id_salt: bytes | None,
    allowlist: frozenset[str],
    today: date,
    progress: ProgressCallback | None,
    notes: Sequence[str],
    started: float,
    with_rows: Callable[[Connection], object] | None = None,
) -> None:
    """Validate, quarantine and upsert one source's mapped rows in one transaction.

    ``with_rows`` writes what the rows need in the same transaction, before they are upserted.
    On any failure the transaction rolls back, the summary says ``failed`` with every count
    zero, and the failure is logged as a batch of its own.
    """
    spec = TABLES[summary.table]
    summary.read = len(frame) + len(raw.malformed)
    try:
        with engine.begin() as conn:
            batch_id = open_batch(conn, summary, raw.sha256)
            summary.batch_id = batch_id
            if with_rows is not None:
                with_rows(conn)
            accepted, items = validate_frame(
                frame, raw, spec, renamed, id_salt, allowlist, summary, today
            )
            summary.quarantined = len({number for number, *_ in items})
            quarantine_rows(conn, batch_id, summary.source, items)
            with staged_rows(conn, spec, accepted, summary, progress) as stage:
                upsert_rows(conn, spec, stage, summary, file_columns(frame, spec))
                count_orphans(conn, spec.name, stage, accepted, summary)
            summary.seconds = time.perf_counter() - started
            summary.message = batch_message(summary, notes)
            finish_batch(conn, batch_id, summary)
    except Exception as exc:  # the transaction rolled back: report, keep going
        summary.status = "failed"
        summary.message = (
            f"{describe(exc)} ({summary.read} rows read; transaction rolled back, nothing stored)"
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
        record_refusal(engine, summary, raw.sha256)
    if not summary.reconciled and summary.status == "ok":  # pragma: no cover - invariant
        raise AssertionError(f"counts do not reconcile for {summary.source}: {summary}")


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


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
                source=source_label(path, None),
                table="?",
                status="refused",
                message=_refusal_text(exc),
            )
            record_refusal(engine, summary, "")
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

    for path in sorted(files, key=lambda p: _order(table or table_from_name(p))):
        sheets: list[str] = []
        if path.suffix.lower() in WORKBOOK_SUFFIXES:
            try:
                sheets = workbook_sheets(path)
            except Exception:  # ingesting the file refuses it, with the reason
                sheets = []
        attempts: list[tuple[str | None, bool]] = [(None, False)]
        if len(sheets) > 1:
            ordered = sorted(sheets, key=lambda s: _order(table or table_from_text(s)))
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


def ingest_frame(
    engine: Engine,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    table: str,
    *,
    source: str,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    progress: ProgressCallback | None = None,
    today: date | None = None,
    with_rows: Callable[[Connection], object] | None = None,
) -> FileSummary:
    """Ingest rows held in memory exactly as a file of them, in one transaction.

    The rows go through the file's steps (:func:`ingest_file`): headers mapped (contract
    names or national 双公示 headers; others ignored and named in the summary), every row
    validated, bad rows quarantined with masked cells, good rows upserted by key, orphans
    counted, the batch logged under ``source``. Each value is read as a typed file's cell
    (a Parquet file's): ``None`` or NaN is an empty cell, a date or timestamp its day, a whole
    float its integer, anything else its text; a list or a mapping is refused in its row.
    Rows are numbered as a file's (the first is row 2).

    Parameters
    ----------
    engine
        A migrated store.
    rows
        A DataFrame, or a sequence of mappings from column to value (a missing key is an
        empty cell).
    table
        The contract table the rows belong to.
    source
        How the batch is named in the store and the summary (ID numbers masked), e.g.
        ``"POST /v1/records request 8f2c…"``.
    id_salt, uscc_allowlist, progress, today
        As for :func:`ingest_file`.
    with_rows
        Called with the batch's connection before the rows are upserted, to write what they
        refer to (:func:`risk.bods.store_bods`: the external parties its roles name); it is
        committed with them and never when the rows are refused or rolled back.

    Returns
    -------
    FileSummary
        ``refused`` (an unknown table, a required column missing, raw ID numbers without a
        salt) and ``failed`` (the transaction rolled back) summaries carry the reason, as a
        file's do; the SHA-256 logged is that of the cells as text (a CSV of them).

    Raises
    ------
    TypeError
        If ``rows`` is neither a DataFrame nor a sequence of mappings, or ``source`` is not a
        string.
    ValueError
        If ``source`` is blank.
    """
    if isinstance(rows, str | bytes) or not isinstance(rows, pd.DataFrame | Sequence):
        raise TypeError(
            f"rows must be a DataFrame or a sequence of mappings; got {type(rows).__name__}"
        )
    if not isinstance(rows, pd.DataFrame):
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise TypeError(f"rows[{index}] must be a mapping; got {type(row).__name__}")
    check_str("source", source)
    started = time.perf_counter()
    summary = FileSummary(source=safe_text(source, 1_000), table=table if table in TABLES else "?")
    digest = ""
    try:
        if table not in TABLES:
            raise UnknownTableError(f"table must be one of {', '.join(TABLES)}; got {table!r}")
        raw = frame_table(summary.source, rows)
        raw.sha256 = digest = hashlib.sha256(
            raw.frame.to_csv(index=False).encode("utf-8", "replace")
        ).hexdigest()
        summary.blank_rows = raw.blank_rows
        frame, renamed = map_columns(raw, TABLES[table], summary, id_salt)
    except Exception as exc:  # as for a file: a refusal with the reason, never a crash
        _refuse(engine, summary, exc, digest, started)
        return summary
    _store(
        engine,
        summary,
        raw,
        frame,
        renamed,
        id_salt=id_salt,
        allowlist=frozenset(uscc_allowlist),
        today=today or ingest_day(),
        progress=progress,
        notes=(),
        started=started,
        with_rows=with_rows,
    )
    return summary
