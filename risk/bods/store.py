"""BODS statements into the store: the contract tables through the validated ingest, the
parties outside the Chinese registers into ``external_parties`` — no temporary files, so every
quarantined row names the BODS file it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, select

from risk.bods.importer import EXTERNAL_COLUMNS, BodsImport
from risk.ingest import FileSummary, ingest_frame
from risk.ingest.privacy import safe_text
from risk.store import external_parties, read_table, rows_frame

__all__ = [
    "read_external_parties",
    "store_bods",
]


def read_external_parties(engine: Engine) -> pd.DataFrame:
    """The ``external_parties`` table as a frame (:data:`EXTERNAL_COLUMNS` and ``source``)."""
    with engine.connect() as conn:
        result = conn.execute(select(external_parties).order_by(external_parties.c.party_id))
        frame = rows_frame(result.all(), list(result.keys()))
    for column in frame.columns:
        if column not in ("founded", "closed"):
            frame[column] = frame[column].astype(object)
    for column in ("founded", "closed"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
    return frame.drop(columns=["updated_at"])


def _cell(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


#: ids per ``IN (…)``: far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
_CHUNK = 1_000


def _upsert_external(conn: Connection, frame: pd.DataFrame, source: str) -> int:
    """Insert or replace external parties by ``party_id``; a cell the new row lacks keeps the
    stored value (a BODS file that omits a founding date never erases it)."""
    if frame.empty:
        return 0
    frame = frame.drop_duplicates("party_id", keep="last")
    ids = frame["party_id"].astype(str).tolist()
    chunks = [ids[k : k + _CHUNK] for k in range(0, len(ids), _CHUNK)]
    now = datetime.now(UTC)
    stored: dict[str, Mapping[str, Any]] = {
        row.party_id: dict(row._mapping)
        for chunk in chunks
        for row in conn.execute(
            select(external_parties).where(external_parties.c.party_id.in_(chunk))
        )
    }
    rows = []
    for record in frame.to_dict("records"):
        old: Mapping[str, Any] = stored.get(record["party_id"], {})
        row = {c: _cell(record.get(c)) for c in EXTERNAL_COLUMNS}
        for column in EXTERNAL_COLUMNS:
            if row[column] is None and old:
                row[column] = old[column]
        for column in ("name", "scheme"):  # free text: ID numbers masked, never raw
            if isinstance(row[column], str):
                row[column] = safe_text(row[column], 200)
        rows.append({**row, "source": source, "updated_at": now})
    for chunk in chunks:
        conn.execute(delete(external_parties).where(external_parties.c.party_id.in_(chunk)))
    conn.execute(external_parties.insert(), rows)
    return len(rows)


def store_bods(
    engine: Engine,
    imported: BodsImport,
    *,
    source: str,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
) -> list[FileSummary]:
    """Store what :func:`risk.bods.import_bods` recovered.

    Enterprises, persons and roles go through :func:`risk.ingest.ingest_frame`, each logged
    and quarantined under ``"{source} (table)"`` — the BODS file's name, never a temporary
    file. External parties (foreign and other non-USCC entities, persons known without an ID
    number) are upserted into ``external_parties`` in the roles' transaction, before the roles,
    so the roles that name them are no orphans and nothing of them is kept when the roles are
    refused or rolled back. The import never carries a raw ID number in them
    (:func:`risk.bods.import_bods` refuses such parties); names and schemes are masked again
    here.

    Parameters
    ----------
    engine
        A migrated store.
    imported
        The import.
    source
        How the batches are named, e.g. the BODS file's name.
    id_salt, uscc_allowlist
        As for :func:`risk.ingest.ingest_frame`.

    Returns
    -------
    list of FileSummary
        One per contract table, in ingest order.
    """
    frames = imported.for_ingest(read_table(engine, "enterprises"), read_table(engine, "persons"))
    parties = frames.pop("external_parties")
    shown = safe_text(source, 1_000)
    allowlist = tuple(uscc_allowlist)
    return [
        ingest_frame(
            engine,
            frame,
            name,
            source=f"{source} ({name})",
            id_salt=id_salt,
            uscc_allowlist=allowlist,
            with_rows=(lambda conn: _upsert_external(conn, parties, shown))
            if name == "roles"
            else None,
        )
        for name, frame in frames.items()
    ]
