"""Writing to the store: quarantine rows, idempotent upserts by key, orphans, the batch log.

Good rows are inserted when their key is new and updated, in the columns the source carries
only, when a value differs; equal rows are left alone, so re-ingesting a file changes nothing.
A source's accepted rows are first written to a temporary stage table (PostgreSQL's ``COPY``,
SQLite's ``executemany``: :func:`staged_rows`); the upsert and the orphan count are then a
few set-based statements against it, so no row travels back from the store.
Every function takes the caller's connection: the pipeline runs a source's batch, quarantine
and upsert in one transaction (:mod:`risk.ingest.pipeline`), except :func:`record_refusal`,
which logs a refused or failed source in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Select,
    Table,
    Text,
    and_,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from risk.contract import DECLARED_HOLDERS, ColumnKind, HolderType, TableSpec
from risk.ingest.privacy import describe, safe_text
from risk.ingest.summary import FileSummary, ProgressCallback
from risk.ingest.validate import QuarantineItem
from risk.store import (
    EARLIEST_DATE_COLUMNS,
    bulk_insert,
    contract_table,
    earliest_date,
    external_parties,
    ingest_batches,
    quarantine,
)

__all__ = [
    "batch_message",
    "count_orphans",
    "db_columns",
    "finish_batch",
    "open_batch",
    "quarantine_rows",
    "record_refusal",
    "staged_rows",
    "upsert_rows",
]

_STAGE = "credlink_ingest_stage"

#: Rows between two progress reports while the stage is filled.
_PROGRESS_CHUNK = 100_000

_SQLITE_CACHE_KIB = 256 * 1024


def db_columns(frame: pd.DataFrame, spec: TableSpec) -> list[list[Any]]:
    """A frame of contract dtypes as DB-API cells, column by column (``None`` for missing).

    Dates become ISO text (``2024-05-31``), the form SQLAlchemy stores on SQLite and that
    PostgreSQL's COPY parses into a ``date``; integers and floats become Python numbers.
    Built with numpy per column: no Python step per cell except the final ``tolist``.
    """
    columns: list[list[Any]] = []
    for name in frame.columns:
        series = frame[name]
        kind = spec.column(name).kind
        if kind == ColumnKind.date:
            days = series.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
            values = days.astype(str).astype(object)
            values[np.isnat(days)] = None
        elif kind == ColumnKind.integer:
            values = series.astype("Int64").to_numpy(dtype=object, na_value=None)
        elif kind in (ColumnKind.number, ColumnKind.share):
            numbers = series.to_numpy(dtype="float64")
            values = numbers.astype(object)
            values[np.isnan(numbers)] = None
        else:
            values = series.to_numpy(dtype=object, copy=True)
            values[pd.isna(values)] = None
        columns.append(values.tolist())
    return columns


@contextmanager
def staged_rows(
    conn: Connection,
    spec: TableSpec,
    frame: pd.DataFrame,
    summary: FileSummary,
    progress: ProgressCallback | None,
) -> Iterator[Table]:
    """Write a source's accepted rows to a temporary table shaped like the contract table.

    PostgreSQL fills it with ``COPY``, SQLite with ``executemany`` (:func:`bulk_insert`);
    :func:`upsert_rows` and :func:`count_orphans` then run as set-based SQL against it. The
    stage lives in the caller's transaction and is dropped at its end; a transaction that
    rolls back takes it along.
    """
    target = contract_table(spec.name)
    stage = Table(
        _STAGE,
        MetaData(),
        *(Column(c.name, c.type) for c in target.columns),
        prefixes=["TEMPORARY"],
    )
    postgresql = conn.dialect.name == "postgresql"
    conn.execute(text(f"DROP TABLE IF EXISTS {'pg_temp' if postgresql else 'temp'}.{_STAGE}"))
    stage.create(conn)
    cache_pages = None
    if not postgresql:
        # SQLite's default page cache (2 MB) makes every index insertion into a large table a
        # read: give this connection 256 MB while it writes, and its own size back after.
        cache_pages = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
    names = list(frame.columns)
    cells = db_columns(frame, spec)
    done = summary.quarantined
    if progress:
        progress(summary.source, done, summary.read)
    for start in range(0, len(frame), _PROGRESS_CHUNK):
        chunk = zip(*(c[start : start + _PROGRESS_CHUNK] for c in cells), strict=True)
        done += bulk_insert(conn, stage, chunk, names)
        if progress:
            progress(summary.source, done, summary.read)
    if postgresql:  # autovacuum never analyses a temporary table: plan the joins on real counts
        conn.execute(text(f"ANALYZE {_STAGE}"))
    try:
        yield stage
        conn.execute(text(f"DROP TABLE {_STAGE}"))
    finally:
        if cache_pages is not None:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache_pages)}")


def upsert_rows(
    conn: Connection,
    spec: TableSpec,
    stage: Table,
    summary: FileSummary,
    file_columns: set[str],
) -> None:
    """Insert new keys; update existing rows whose values differ, in the file's columns only.

    Two set-based statements against the stage (:func:`staged_rows`): an ``UPDATE … FROM``
    of the rows whose key exists and some carried value differs (``IS DISTINCT FROM``: a
    missing value equals only a missing value), then an ``INSERT … SELECT`` of the keys not
    in the table. Equal rows are not touched, so re-ingesting a file changes nothing. A
    column the file does not carry (a 双公示 export without 信用修复日期, say) never
    overwrites what the store already knows; new rows get it empty. A loan's status-history
    dates (:data:`risk.store.EARLIEST_DATE_COLUMNS`) keep the earlier of the stored and the
    new date (:func:`risk.store.earliest_date`).
    """
    table = contract_table(spec.name)
    key = list(spec.key)
    value_cols = [c for c in spec.names if c not in key and c in file_columns]
    earliest = set(EARLIEST_DATE_COLUMNS.get(spec.name, ()))
    new_value = {
        c: earliest_date(table.c[c], stage.c[c]) if c in earliest else stage.c[c]
        for c in value_cols
    }
    same_key = and_(*(table.c[k] == stage.c[k] for k in key))
    updated = 0
    if value_cols:
        changed = or_(*(table.c[c].is_distinct_from(new_value[c]) for c in value_cols))
        statement = update(table).values(new_value).where(same_key, changed)
        updated = conn.execute(statement).rowcount
    names = list(spec.names)
    inserted = conn.execute(
        insert(table).from_select(
            # In key order: appending to the key's B-tree beats inserting at random places.
            names,
            _new_rows(stage, names, same_key).order_by(*(stage.c[k] for k in key)),
        ),
        execution_options={"preserve_rowcount": True},  # SQLAlchemy keeps it for UPDATE only
    ).rowcount
    staged = conn.execute(select(func.count()).select_from(stage)).scalar_one()
    summary.inserted = int(inserted)
    summary.updated = int(updated)
    summary.unchanged = int(staged - inserted - updated)


def _new_rows(stage: Table, names: list[str], same_key: Any) -> Select[Any]:
    """The staged rows whose key the contract table does not hold yet."""
    return select(*(stage.c[c] for c in names)).where(~exists().where(same_key))


def count_orphans(
    conn: Connection, table: str, stage: Table, frame: pd.DataFrame, summary: FileSummary
) -> None:
    """Count accepted rows whose enterprise or person is not in the store (kept, reported).

    A party in ``external_parties`` (a foreign company, a person known without an ID number)
    is in the store.

    The store names the staged references it lacks (an anti-join on its keys); the rows
    holding them are counted in the frame, and the first five in file order are examples.
    """
    if table in ("enterprises", "persons") or frame.empty:
        return
    ent = contract_table("enterprises")
    per = contract_table("persons")

    def lacking(column: str, among: Table, key: str, *where: Any) -> set[Any]:
        # As text: the same query over a stage of another table (a USCC column of 18 or of
        # 64 characters) must not change its result type under PostgreSQL's cached plans.
        query = (
            select(cast(stage.c[column], Text))
            .where(
                *where,
                ~exists().where(among.c[key] == stage.c[column]),
                ~exists().where(external_parties.c.party_id == stage.c[column]),
            )
            .distinct()
        )
        return set(conn.execute(query).scalars())

    if table in ("roles", "records"):
        id_col, type_col = (
            ("holder_id", "holder_type") if table == "roles" else ("subject_id", "subject_type")
        )
        enterprise = HolderType.enterprise.value
        lost_ent = lacking(id_col, ent, "uscc", stage.c[type_col] == enterprise)
        # The reserved declared holders (UNKNOWN, EXEMPT) stand for no party.
        lost_per = lacking(id_col, per, "person_id", stage.c[type_col] != enterprise)
        lost_per -= DECLARED_HOLDERS
        ids = frame[id_col]
        is_ent = (frame[type_col] == enterprise).to_numpy()
        lost = np.where(is_ent, ids.isin(lost_ent).to_numpy(), ids.isin(lost_per).to_numpy())
        if table == "roles":
            lost |= frame["uscc"].isin(lacking("uscc", ent, "uscc")).to_numpy()
        examples = frame.loc[lost, id_col]
    else:
        lost = frame["uscc"].isin(lacking("uscc", ent, "uscc")).to_numpy()
        examples = frame.loc[lost, "uscc"]
    summary.orphans = int(lost.sum())
    summary.orphan_examples = [safe_text(str(v), 64) for v in pd.unique(examples.to_numpy())[:5]]


def quarantine_rows(
    conn: Connection, batch_id: int, source: str, items: list[QuarantineItem]
) -> None:
    """Store a source's quarantine items: row number, column, reason and masked cells."""
    bulk_insert(
        conn,
        quarantine,
        ((batch_id, source, int(n), column, reason, raw) for n, column, reason, raw in items),
        ["batch_id", "source", "row_number", "column_name", "reason", "raw"],
    )


def open_batch(conn: Connection, summary: FileSummary, sha256: str) -> int:
    """Log a source's batch as running; return its id (rolled back with the transaction)."""
    return int(
        conn.execute(
            insert(ingest_batches).returning(ingest_batches.c.id),
            {
                "source": summary.source,
                "sha256": sha256,
                "table_name": summary.table,
                "started_at": datetime.now(UTC),
                "status": "running",
            },
        ).scalar_one()
    )


def finish_batch(conn: Connection, batch_id: int, summary: FileSummary) -> None:
    """Close a running batch as ``ok`` with the summary's counts and message."""
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


def batch_message(summary: FileSummary, notes: Sequence[str] = ()) -> str | None:
    parts = []
    ignored = summary.ignored_columns
    if ignored:
        more = f" and {len(ignored) - 20:,} more" if len(ignored) > 20 else ""
        parts.append(f"ignored columns: {', '.join(ignored[:20])}{more}")
    if summary.orphans:
        parts.append(f"{summary.orphans} rows refer to entities not yet in the store")
    parts.extend(notes)
    return safe_text("; ".join(parts), 2_000) or None


def record_refusal(engine: Engine, summary: FileSummary, digest: str) -> None:
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
        summary.message = f"{summary.message}; the batch could not be logged ({describe(exc)})"
