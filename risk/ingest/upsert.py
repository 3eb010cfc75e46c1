"""Writing to the store: quarantine rows, idempotent upserts by key, orphans, the batch log.

Good rows are inserted when their key is new and updated, in the columns the source carries
only, when a value differs; equal rows are left alone, so re-ingesting a file changes nothing.
Every function takes the caller's connection: the pipeline runs a source's batch, quarantine
and upsert in one transaction (:mod:`risk.ingest.pipeline`), except :func:`record_refusal`,
which logs a refused or failed source in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from risk.contract import ColumnKind, HolderType, TableSpec
from risk.ingest.privacy import describe, safe_text
from risk.ingest.summary import FileSummary, ProgressCallback
from risk.ingest.validate import QuarantineItem
from risk.store import coerce_frame, contract_table, ingest_batches, quarantine, read_table

__all__ = [
    "batch_message",
    "count_orphans",
    "finish_batch",
    "open_batch",
    "quarantine_rows",
    "record_refusal",
    "upsert_rows",
]

_CHUNK = 20_000


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


def upsert_rows(
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


def count_orphans(conn: Connection, table: str, frame: pd.DataFrame, summary: FileSummary) -> None:
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
    summary.orphan_examples = [safe_text(str(v), 64) for v in pd.unique(examples.to_numpy())[:5]]


def quarantine_rows(
    conn: Connection, batch_id: int, source: str, items: list[QuarantineItem]
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
