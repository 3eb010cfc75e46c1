"""What an ingest of rows changed in the store, and which graph nodes that change touches.

A live update ingests rows through the ingest (quarantine included) and must then know
which stored rows it changed: the rows of the accepted keys are read before and after
(:func:`accepted_keys` finds those keys by running the ingest's own checks on the rows, without
writing), and compared (:func:`stored_change`). :func:`changed_nodes` names the graph nodes
whose own signal or edges the change moved **on the score set's date** — a record decided
after it, or a role begun after it, moves nothing there (DESIGN.md §2: it does not count yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from risk.contract import TABLES
from risk.identifiers import mask_id_numbers
from risk.ingest.read import RawTable, frame_table
from risk.ingest.summary import FileSummary
from risk.ingest.validate import map_columns, validate_frame
from risk.live.region import read_by

__all__ = [
    "StoredChange",
    "accepted_keys",
    "assessed_subjects",
    "changed_nodes",
    "key_text",
    "read_keys",
    "stored_change",
]


@dataclass(frozen=True)
class StoredChange:
    """The stored rows an ingest changed: the same keys before and after (a new key has no
    before row; a row is listed only when some value differs).

    Attributes
    ----------
    table : str
    before, after : pandas.DataFrame
        Contract rows, one per changed key at most.
    keys : list of str
        The changed keys as text (:func:`key_text`).
    """

    table: str
    before: pd.DataFrame = field(repr=False)
    after: pd.DataFrame = field(repr=False)
    keys: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing changed."""
        return not self.keys


def accepted_keys(
    raw: RawTable | pd.DataFrame | Sequence[Mapping[str, Any]],
    table: str,
    *,
    id_salt: bytes | None,
    uscc_allowlist: Iterable[str],
    today: date,
) -> pd.DataFrame | None:
    """The keys of the rows the ingest would accept, as it would store them (normalised).

    The ingest's own steps without its transaction: a file's cells (a :class:`RawTable` from
    :func:`risk.ingest.read_raw`) or rows held in memory (read as
    :func:`risk.ingest.ingest_frame` reads them), their headers mapped, every row checked;
    nothing is written.

    Returns
    -------
    pandas.DataFrame or None
        The key columns of the accepted rows; None when the ingest would refuse the rows
        whole (an unknown table, a required column missing: it says why itself).
    """
    if table not in TABLES:
        return None
    spec = TABLES[table]
    summary = FileSummary(source="live update (dry run)", table=table)
    try:
        if not isinstance(raw, RawTable):
            raw = frame_table(summary.source, raw)
        frame, renamed = map_columns(raw, spec, summary, id_salt)
        accepted, _ = validate_frame(
            frame, raw, spec, renamed, id_salt, frozenset(uscc_allowlist), summary, today
        )
    except Exception:  # the ingest refuses such rows with the reason; nothing to read here
        return None
    return accepted[list(spec.key)].drop_duplicates(ignore_index=True)


def read_keys(engine: Engine, table: str, keys: pd.DataFrame) -> pd.DataFrame:
    """The stored rows of ``keys`` (contract dtypes; keys without a row are left out)."""
    spec = TABLES[table]
    key = list(spec.key)
    first = "loan_id" if table == "loans" else key[0]
    with engine.connect() as conn:
        stored = read_by(conn, table, first, set(keys[first].astype(str)))
    if len(key) == 1 or stored.empty:
        return stored.reset_index(drop=True)
    wanted = keys[key].drop_duplicates()
    return stored.merge(wanted, on=key, how="inner").reset_index(drop=True)


def _same_cells(a: pd.Series, b: pd.Series) -> np.ndarray:
    left = a.to_numpy(dtype=object)
    right = b.to_numpy(dtype=object)
    out = np.empty(left.size, dtype=bool)
    for i, (x, y) in enumerate(zip(left, right, strict=True)):
        x_missing, y_missing = pd.isna(x), pd.isna(y)
        out[i] = (x_missing and y_missing) or (not x_missing and not y_missing and x == y)
    return out


def stored_change(table: str, before: pd.DataFrame, after: pd.DataFrame) -> StoredChange:
    """The keys whose stored row differs between ``before`` and ``after`` (new keys too)."""
    spec = TABLES[table]
    key = list(spec.key)
    both = before.merge(after, on=key, how="outer", suffixes=("_before", "_after"), indicator=True)
    moved = (both["_merge"] != "both").to_numpy().copy()
    for name in spec.names:
        if name in key:
            continue
        moved |= ~_same_cells(both[f"{name}_before"], both[f"{name}_after"])
    changed = both.loc[moved, key]
    keep_before = before.merge(changed, on=key, how="inner")
    keep_after = after.merge(changed, on=key, how="inner")
    return StoredChange(
        table=table,
        before=keep_before,
        after=keep_after,
        keys=[key_text(table, row) for row in changed.itertuples(index=False)],
    )


def key_text(table: str, key: Sequence[Any]) -> str:
    """A stored key as text (``uscc/holder_type/holder_id/role/start`` for a role), ID numbers
    masked (a validated key holds none; this keeps it so)."""
    parts = []
    for value in key:
        if isinstance(value, pd.Timestamp | np.datetime64):
            parts.append(pd.Timestamp(value).date().isoformat())
        else:
            parts.append(str(value))
    return mask_id_numbers("/".join(parts))


def _dated_by(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    values = pd.to_datetime(frame[column])
    return frame[(values <= as_of).to_numpy()]


def changed_nodes(change: StoredChange, as_of: pd.Timestamp) -> set[str]:
    """The graph nodes whose own signal, edges or existence the change moves on ``as_of``.

    records
        The subject before and after, where that version was decided by ``as_of``.
    roles
        Both ends, where the role (before or after) began by ``as_of``.
    enterprises, persons
        The node itself (a node of the graph whatever its dates).
    financials, loans
        None: they feed the pre-credit features only (:func:`assessed_subjects`).
    """
    table = change.table
    nodes: set[str] = set()
    if table == "records":
        for frame in (change.before, change.after):
            nodes |= set(_dated_by(frame, "decided", as_of)["subject_id"].astype(str))
    elif table == "roles":
        for frame in (change.before, change.after):
            begun = _dated_by(frame, "start", as_of)
            nodes |= set(begun["uscc"].astype(str)) | set(begun["holder_id"].astype(str))
    elif table == "enterprises":
        nodes |= set(change.after["uscc"].astype(str)) | set(change.before["uscc"].astype(str))
    elif table == "persons":
        nodes |= set(change.after["person_id"].astype(str))
        nodes |= set(change.before["person_id"].astype(str))
    return nodes


def assessed_subjects(change: StoredChange) -> set[str]:
    """Enterprises whose pre-credit inputs the change moves outside the graph (their financial
    periods and loans)."""
    if change.table not in ("financials", "loans"):
        return set()
    return set(change.before["uscc"].astype(str)) | set(change.after["uscc"].astype(str))
