"""Validated, idempotent ingestion of contract tables into the store.

For each file (each sheet of a workbook), or rows held in memory: read it (CSV in UTF-8,
GB18030 or UTF-16; Parquet; XLSX), map its headers (English or national 双公示 Chinese),
validate every row against :mod:`risk.contract`, quarantine each bad row with its file, row
number, column and reason, and upsert the good rows by key, all in one transaction. Counts
always reconcile: ``read = inserted + updated + unchanged + quarantined``.

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

Modules
-------
:mod:`~risk.ingest.read`
    Files, sheets and encodings into text cells.
:mod:`~risk.ingest.columns`, :mod:`~risk.ingest.validate`
    The checks of one column; which table a file holds, header mapping, the checks of rows
    and quarantine items.
:mod:`~risk.ingest.privacy`
    Text fit for the store: ID numbers masked in names, reasons and cells.
:mod:`~risk.ingest.upsert`
    The store writes: quarantine, upserts by key, orphans, the batch log.
:mod:`~risk.ingest.pipeline`
    The entry points: :func:`ingest_file`, :func:`ingest_paths`, :func:`ingest_frame`.
:mod:`~risk.ingest.summary`
    What an ingest reports.
"""

from risk.ingest.pipeline import ingest_file, ingest_frame, ingest_paths, quarantine_count
from risk.ingest.read import RawTable, RowProblem, read_raw, workbook_sheets
from risk.ingest.summary import (
    INGEST_ORDER,
    USCC_ERROR_TARGET,
    FileSummary,
    IngestSummary,
    ProgressCallback,
    ingest_day,
)
from risk.ingest.validate import ValidatedRows, detect_table, validate_rows

__all__ = [
    "INGEST_ORDER",
    "USCC_ERROR_TARGET",
    "FileSummary",
    "IngestSummary",
    "ProgressCallback",
    "RawTable",
    "RowProblem",
    "ValidatedRows",
    "detect_table",
    "ingest_day",
    "ingest_file",
    "ingest_frame",
    "ingest_paths",
    "quarantine_count",
    "read_raw",
    "validate_rows",
    "workbook_sheets",
]
