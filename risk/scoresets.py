"""Score sets: every kind of score computed once, stored versioned and immutable, read by key.

The batch pipeline (``credlink pipeline run``) writes a **score set**: one row per enterprise
for each kind of score (:data:`KINDS`: linked risk, grades, open warnings, learned-warning
probability, pre-credit assessment) under a new set id, with the as-of date, the digest of the
risk configuration, the model versions and the row counts (:class:`ScoreSet`). Nothing in a
set is ever updated.

The current pointer
    One row of ``score_pointer`` names the set readers answer from and how far into its live
    deltas they go (:class:`Pointer`). :func:`publish` switches it in the transaction that
    marks the set complete, so a reader that read the pointer once sees the old set or the new
    one, never a mix: rows are addressed by ``(set_id, subject_id, seq ≤ pointer.seq)``, and
    the sets a reader may still hold are kept (:data:`KEEP_SETS`, at least two).

Deltas
    A live update (a new record) recomputes its K-hop neighbourhood and appends the changed
    rows to the **current** set with the next ``seq`` (:func:`write_delta`); the pointer's
    ``seq`` moves in the same transaction. A lookup takes, per enterprise, the row with the
    highest ``seq`` not after the pointer's: batch rows have ``seq`` 0.

The event log
    Every change of an enterprise's grade, open warnings, linked-risk band or assessment is
    appended to ``score_events`` (before → after, the cause, the set and seq it became visible
    in): by :func:`publish` (the differences from the set it replaces) and by
    :func:`write_delta`. Monitoring delivers from it; :func:`events_after` pages through it
    (both in :mod:`risk.score_events`, re-exported here).

Both backends
    Bulk rows go through :func:`risk.store.bulk_insert` (COPY on PostgreSQL, executemany on
    SQLite); lookups are primary-key range scans.

About 620 lines because it is one object's lifecycle (begin, write, publish, discard, delta,
read, diff) around one lock; the event computations live in :mod:`risk.score_events`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from risk.exceptions import RiskError
from risk.score_events import (
    EVENT_FIELDS,
    append_events,
    concat_events,
    delta_events,
    differs,
    empty_events,
    event_rows,
    events_after,
    plain,
)
from risk.store import (
    SCORE_COLUMNS,
    bulk_insert,
    rows_frame,
    score_pointer,
    score_sets,
    score_tables,
    serialized_transaction,
)

__all__ = [
    "CURRENT",
    "EVENT_FIELDS",
    "KEEP_SETS",
    "KINDS",
    "ConcurrentDeltaError",
    "Pointer",
    "ScoreDiff",
    "ScoreSet",
    "ScoreSetError",
    "StaleScoreSetError",
    "annotate",
    "begin_set",
    "current",
    "diff_sets",
    "discard",
    "events_after",
    "get_set",
    "list_sets",
    "lookup",
    "lookup_many",
    "publish",
    "read_kind",
    "write_delta",
    "write_kind",
]

CURRENT = "current"
"""The pointer's name."""

KINDS: tuple[str, ...] = tuple(SCORE_COLUMNS)
"""The kinds of score a set holds (a table ``score_<kind>`` each)."""

KEEP_SETS = 3
"""Complete sets kept by :func:`publish` (the newest, including the one it publishes); older
ones lose their rows. Two at least: a reader may still be answering from the replaced set."""

_LOCK = "credlink-score-sets"


class ScoreSetError(RiskError, ValueError):
    """A score set that does not exist, is not in the state asked for, or bad rows for it."""


class StaleScoreSetError(ScoreSetError):
    """A delta computed on a set that is no longer current (recompute it on the new one)."""


class ConcurrentDeltaError(StaleScoreSetError):
    """A delta computed on a set that another delta has moved on since (recompute it)."""


@dataclass(frozen=True)
class ScoreSet:
    """One score set's description (a ``score_sets`` row).

    Attributes
    ----------
    id : int
    as_of : datetime.date
        The date its snapshot was taken on.
    status : str
        ``building``, ``complete``, ``failed`` or ``pruned`` (rows dropped, description kept).
    created_at, completed_at : datetime.datetime
        UTC; ``completed_at`` is None until published.
    config_digest : str
        :meth:`risk.config.RiskConfig.digest` of the settings it was scored with.
    config : dict
        Their flat parameters.
    model_versions : dict
        Registered model name → version it was scored with.
    counts : dict
        Kind → batch rows written.
    source_batch : int or None
        The newest ingest batch its snapshot saw.
    seq : int
        The newest delta applied (0: none).
    note : str or None
        Why it failed, or what the pipeline said of it.
    """

    id: int
    as_of: date
    status: str
    created_at: datetime
    completed_at: datetime | None
    config_digest: str
    config: dict[str, Any]
    model_versions: dict[str, str]
    counts: dict[str, int]
    source_batch: int | None
    seq: int
    note: str | None = None


@dataclass(frozen=True)
class Pointer:
    """What readers answer from: a set and how far into its deltas (read once per request)."""

    set_id: int
    seq: int
    switched_at: datetime


@dataclass(frozen=True)
class ScoreDiff:
    """What changed between two sets (:func:`diff_sets`).

    Attributes
    ----------
    old, new : ScoreSet
    changes : pandas.DataFrame
        One row per enterprise and event kind that differs: ``subject_id``, ``kind``, ``before``,
        ``after`` (None where the enterprise is absent from one set), sorted.
    """

    old: ScoreSet
    new: ScoreSet
    changes: pd.DataFrame = field(repr=False)

    def counts(self) -> dict[str, int]:
        """Changes per event kind."""
        return {str(k): int(v) for k, v in self.changes["kind"].value_counts().sort_index().items()}

    def entered_watchlist(self) -> pd.DataFrame:
        """Enterprises with a red or orange warning in the new set and none in the old one."""
        w = self.changes[self.changes["kind"] == "warning"]
        urgent = {"red", "orange"}
        return w[w["after"].isin(urgent) & ~w["before"].isin(urgent)]


def _now() -> datetime:
    return datetime.now(UTC)


def _set_from_row(row: Any) -> ScoreSet:
    m = row._mapping
    return ScoreSet(
        id=int(m["id"]),
        as_of=m["as_of"],
        status=str(m["status"]),
        created_at=m["created_at"],
        completed_at=m["completed_at"],
        config_digest=str(m["config_digest"]),
        config=dict(m["config"]),
        model_versions={str(k): str(v) for k, v in dict(m["model_versions"]).items()},
        counts={str(k): int(v) for k, v in dict(m["counts"]).items()},
        source_batch=m["source_batch"],
        seq=int(m["seq"]),
        note=m["note"],
    )


def begin_set(
    engine: Engine,
    as_of: date,
    *,
    config_digest: str,
    config: Mapping[str, Any],
    model_versions: Mapping[str, str] | None = None,
    source_batch: int | None = None,
) -> int:
    """Open a new set for writing (status ``building``); returns its id."""
    with engine.begin() as conn:
        result = conn.execute(
            insert(score_sets).values(
                as_of=as_of,
                status="building",
                created_at=_now(),
                completed_at=None,
                config_digest=config_digest,
                config=dict(config),
                model_versions=dict(model_versions or {}),
                counts={},
                source_batch=source_batch,
                seq=0,
                note=None,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def get_set(engine: Engine | Connection, set_id: int) -> ScoreSet:
    """One set's description.

    Raises
    ------
    ScoreSetError
        If there is no such set.
    """

    def read(conn: Connection) -> ScoreSet:
        row = conn.execute(select(score_sets).where(score_sets.c.id == int(set_id))).first()
        if row is None:
            raise ScoreSetError(f"score set {set_id} does not exist")
        return _set_from_row(row)

    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return read(conn)
    return read(engine)


def list_sets(engine: Engine, limit: int = 20) -> list[ScoreSet]:
    """The newest sets first."""
    with engine.connect() as conn:
        rows = conn.execute(select(score_sets).order_by(score_sets.c.id.desc()).limit(limit))
        return [_set_from_row(r) for r in rows]


def _columns(kind: str) -> list[str]:
    if kind not in score_tables:
        raise ScoreSetError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return [c.name for c in SCORE_COLUMNS[kind]]


def _cells(frame: pd.DataFrame, columns: Sequence[str]) -> list[list[Any]]:
    """Columns of ``frame`` as Python lists, NaN as None."""
    out = []
    for name in columns:
        values = frame[name].to_numpy(dtype=object)
        out.append([None if isinstance(v, float) and math.isnan(v) else plain(v) for v in values])
    return out


def _rows(frame: pd.DataFrame, kind: str, set_id: int, seq: int) -> tuple[list[str], Any]:
    values = _columns(kind)
    missing = [c for c in ("subject_id", *values) if c not in frame.columns]
    if missing:
        raise ScoreSetError(f"{kind} rows need columns {', '.join(missing)}")
    if frame["subject_id"].duplicated().any():
        dup = frame.loc[frame["subject_id"].duplicated(), "subject_id"].iloc[0]
        raise ScoreSetError(f"{kind} rows list enterprise {dup} twice")
    n = len(frame)
    cells = _cells(frame, ["subject_id", *values])
    rows = zip([set_id] * n, cells[0], [seq] * n, *cells[1:], strict=True)
    return ["set_id", "subject_id", "seq", *values], rows


def write_kind(engine: Engine, set_id: int, kind: str, frame: pd.DataFrame) -> int:
    """Write the batch rows of one kind of score into a set that is being built.

    Parameters
    ----------
    frame
        One row per subject: ``subject_id`` and the kind's columns
        (:data:`risk.store.SCORE_COLUMNS`).

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ScoreSetError
        If the set is not ``building``, the kind is unknown, a column is missing or an
        enterprise is listed twice.
    """
    names, rows = _rows(frame, kind, set_id, 0)
    with engine.begin() as conn:
        described = get_set(conn, set_id)
        if described.status != "building":
            raise ScoreSetError(f"score set {set_id} is {described.status}: it cannot be written")
        written = bulk_insert(conn, score_tables[kind], rows, names)
        counts = {**described.counts, kind: described.counts.get(kind, 0) + written}
        conn.execute(update(score_sets).where(score_sets.c.id == set_id).values(counts=counts))
    return written


def annotate(engine: Engine, set_id: int, values: Mapping[str, Any]) -> ScoreSet:
    """Add JSON-ready ``values`` to the ``config`` of a set being built (what the pipeline
    measured of it, e.g. the models' drift reports under ``drift_report.<model>``); keys
    already there are kept, never overwritten: a set's record is append-only.

    Raises
    ------
    ScoreSetError
        If the set is not ``building`` or a key is already recorded.
    """
    with engine.begin() as conn:
        described = get_set(conn, set_id)
        if described.status != "building":
            raise ScoreSetError(f"score set {set_id} is {described.status}: it cannot be annotated")
        taken = sorted(set(values) & set(described.config))
        if taken:
            raise ScoreSetError(f"score set {set_id} already records {', '.join(taken)}")
        config = {**described.config, **dict(values)}
        conn.execute(update(score_sets).where(score_sets.c.id == set_id).values(config=config))
        return get_set(conn, set_id)


def current(engine: Engine | Connection) -> Pointer | None:
    """The current pointer, or None before the first set was published."""

    def read(conn: Connection) -> Pointer | None:
        row = conn.execute(
            select(score_pointer.c.set_id, score_pointer.c.seq, score_pointer.c.switched_at).where(
                score_pointer.c.name == CURRENT
            )
        ).first()
        return None if row is None else Pointer(int(row[0]), int(row[1]), row[2])

    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return read(conn)
    return read(engine)


def publish(
    engine: Engine,
    set_id: int,
    *,
    keep: int = KEEP_SETS,
    note: str | None = None,
    events: bool = True,
) -> ScoreSet:
    """Complete a set and make it current, atomically; prune the sets beyond ``keep``.

    With ``events``, the differences from the set it replaces are appended to the event log
    in the same transaction (cause: this set).

    Raises
    ------
    ScoreSetError
        If the set is not ``building``, or ``keep`` < 2.
    """
    if keep < 2:
        raise ScoreSetError(f"keep must be ≥ 2 (a reader may hold the replaced set); got {keep}")
    with serialized_transaction(engine, _LOCK) as conn:
        described = get_set(conn, set_id)
        if described.status != "building":
            raise ScoreSetError(f"score set {set_id} is {described.status}: it cannot be published")
        now = _now()
        conn.execute(
            update(score_sets)
            .where(score_sets.c.id == set_id)
            .values(status="complete", completed_at=now, note=note)
        )
        previous = current(conn)
        if events and previous is not None:
            old = get_set(conn, previous.set_id)
            new = get_set(conn, set_id)
            changes = _changes(conn, old, new)
            append_events(conn, changes, set_id, 0, {"score_set": set_id}, now)
        if previous is None:
            conn.execute(
                insert(score_pointer).values(name=CURRENT, set_id=set_id, seq=0, switched_at=now)
            )
        else:
            conn.execute(
                update(score_pointer)
                .where(score_pointer.c.name == CURRENT)
                .values(set_id=set_id, seq=0, switched_at=now)
            )
        _prune(conn, keep)
        return get_set(conn, set_id)


def discard(engine: Engine, set_id: int, reason: str) -> None:
    """Mark a set that failed while being built, and drop its rows (never the current set)."""
    with serialized_transaction(engine, _LOCK) as conn:
        described = get_set(conn, set_id)
        if described.status != "building":
            raise ScoreSetError(
                f"score set {set_id} is {described.status}: only a set being built can be discarded"
            )
        for table in score_tables.values():
            conn.execute(delete(table).where(table.c.set_id == set_id))
        conn.execute(
            update(score_sets)
            .where(score_sets.c.id == set_id)
            .values(status="failed", note=reason[:2000])
        )


def _prune(conn: Connection, keep: int) -> None:
    ids = (
        conn.execute(
            select(score_sets.c.id)
            .where(score_sets.c.status == "complete")
            .order_by(score_sets.c.id.desc())
        )
        .scalars()
        .all()
    )
    for old in ids[keep:]:
        for table in score_tables.values():
            conn.execute(delete(table).where(table.c.set_id == old))
        conn.execute(update(score_sets).where(score_sets.c.id == old).values(status="pruned"))


def _effective(
    conn: Connection,
    kind: str,
    set_id: int,
    seq: int | None,
    subject_ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each enterprise's newest row of one kind in a set, up to ``seq`` (None: all deltas);
    ``columns`` of the kind (default all)."""
    table = score_tables[kind]
    names = ["subject_id", "seq", *(_columns(kind) if columns is None else columns)]
    query = select(*(table.c[n] for n in names)).where(table.c.set_id == set_id)
    if seq is not None:
        query = query.where(table.c.seq <= seq)
    if subject_ids is not None:
        query = query.where(table.c.subject_id.in_(list(subject_ids)))
    frame = rows_frame(conn.execute(query).all(), names)
    if frame.empty:
        return frame.drop(columns="seq").set_index("subject_id")
    frame = frame.sort_values(["subject_id", "seq"]).drop_duplicates("subject_id", keep="last")
    return frame.drop(columns="seq").set_index("subject_id")


def read_kind(
    engine: Engine, kind: str, set_id: int | None = None, seq: int | None = None
) -> pd.DataFrame:
    """Every enterprise's row of one kind, indexed by USCC (deltas applied).

    ``set_id`` None reads the current set up to the pointer's seq.

    Raises
    ------
    ScoreSetError
        If there is no current set, the set was pruned or failed, or the kind is unknown.
    """
    _columns(kind)
    with engine.connect() as conn:
        if set_id is None:
            pointer = current(conn)
            if pointer is None:
                raise ScoreSetError("no score set has been published: run `credlink pipeline run`")
            set_id, seq = pointer.set_id, pointer.seq
        described = get_set(conn, set_id)
        if described.status not in ("complete", "building"):
            raise ScoreSetError(f"score set {set_id} is {described.status}: its rows are gone")
        return _effective(conn, kind, set_id, seq)


def lookup(
    conn: Engine | Connection, kind: str, subject_id: str, pointer: Pointer
) -> dict[str, Any] | None:
    """One enterprise's row of one kind as the pointer sees it, or None (not scored)."""
    table = score_tables[kind]
    names = _columns(kind)
    query = (
        select(*(table.c[n] for n in names))
        .where(
            and_(
                table.c.set_id == pointer.set_id,
                table.c.subject_id == subject_id,
                table.c.seq <= pointer.seq,
            )
        )
        .order_by(table.c.seq.desc())
        .limit(1)
    )
    if isinstance(conn, Engine):
        with conn.connect() as connection:
            row = connection.execute(query).first()
    else:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def lookup_many(
    conn: Connection, kind: str, subject_ids: Iterable[str], pointer: Pointer
) -> pd.DataFrame:
    """Several enterprises' rows of one kind as the pointer sees them, indexed by USCC."""
    _columns(kind)
    keys = list(dict.fromkeys(str(u) for u in subject_ids))
    parts = [
        _effective(conn, kind, pointer.set_id, pointer.seq, keys[i : i + 500])
        for i in range(0, max(len(keys), 1), 500)
    ]
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def write_delta(
    engine: Engine,
    set_id: int,
    rows: Mapping[str, pd.DataFrame],
    cause: Mapping[str, Any],
    *,
    expected_seq: int | None = None,
) -> tuple[int, pd.DataFrame]:
    """Append changed rows to the current set as its next delta, with their events.

    Parameters
    ----------
    set_id
        The set the rows were computed on: it must still be current.
    rows
        Kind → the recomputed rows (``subject_id`` and the kind's columns). Rows equal to what
        the pointer shows are left out; only differences are written.
    cause
        What caused the change (JSON: e.g. the ingest batch and record ids), stored with each
        event.
    expected_seq
        The pointer's seq the rows were computed at. When given and another delta was written
        since, the rows may rest on data that delta's records changed: refused. None skips
        the check.

    Returns
    -------
    tuple
        The new seq (the old one when nothing changed) and the events appended (``subject_id``,
        ``kind``, ``before``, ``after``).

    Raises
    ------
    StaleScoreSetError
        If another set became current meanwhile.
    ConcurrentDeltaError
        If ``expected_seq`` is given and another delta was written since.
    """
    with serialized_transaction(engine, _LOCK) as conn:
        pointer = current(conn)
        if pointer is None or pointer.set_id != set_id:
            raise StaleScoreSetError(
                f"score set {set_id} is no longer current"
                + ("" if pointer is None else f" (set {pointer.set_id} is)")
            )
        if expected_seq is not None and pointer.seq != expected_seq:
            raise ConcurrentDeltaError(
                f"score set {set_id} moved from delta {expected_seq} to {pointer.seq} "
                "while the rows were computed"
            )
        seq = pointer.seq + 1
        befores: dict[str, pd.DataFrame] = {}
        changed: dict[str, pd.DataFrame] = {}
        for kind, frame in rows.items():
            names = _columns(kind)
            if frame.empty:
                continue
            before = _effective(
                conn, kind, set_id, pointer.seq, frame["subject_id"].astype(str).tolist()
            )
            fresh = frame.set_index(frame["subject_id"].astype(str))[names]
            moved = differs(fresh, before.reindex(fresh.index)[names], names)
            if moved.any():
                changed[kind] = fresh[moved].reset_index(names="subject_id")
                befores[kind] = before
        if not changed:
            return pointer.seq, empty_events()
        for kind, frame in changed.items():
            names, cells = _rows(frame, kind, set_id, seq)
            bulk_insert(conn, score_tables[kind], cells, names)
        events = delta_events(changed, befores)
        now = _now()
        append_events(conn, events, set_id, seq, dict(cause), now)
        conn.execute(update(score_pointer).where(score_pointer.c.name == CURRENT).values(seq=seq))
        conn.execute(update(score_sets).where(score_sets.c.id == set_id).values(seq=seq))
        return seq, events


def _changes(conn: Connection, old: ScoreSet, new: ScoreSet) -> pd.DataFrame:
    if old.status not in ("complete", "building"):
        return concat_events([])
    parts = []
    # Each kind read once a set, only the columns events compare (never an assessment's body).
    by_kind: dict[str, list[str]] = {}
    for kind, column in EVENT_FIELDS.values():
        by_kind.setdefault(kind, []).append(column)
    frames = {
        kind: (
            _effective(conn, kind, old.id, old.seq, columns=columns),
            _effective(conn, kind, new.id, new.seq, columns=columns),
        )
        for kind, columns in by_kind.items()
    }
    for event, (kind, column) in EVENT_FIELDS.items():
        a, b = (frame[[column]] for frame in frames[kind])
        both = a.add_suffix("_old").join(b.add_suffix("_new"), how="outer")
        parts.append(
            event_rows(
                event,
                both.index,
                both[f"{column}_old"].to_numpy(dtype=object),
                both[f"{column}_new"].to_numpy(dtype=object),
            )
        )
    return concat_events(parts)


def diff_sets(engine: Engine, old_id: int, new_id: int) -> ScoreDiff:
    """What differs between two sets (each with its deltas): grades, bands, warnings,
    assessments.

    Raises
    ------
    ScoreSetError
        If a set does not exist or its rows were pruned.
    """
    with engine.connect() as conn:
        old, new = get_set(conn, old_id), get_set(conn, new_id)
        for s in (old, new):
            if s.status not in ("complete", "building"):
                raise ScoreSetError(f"score set {s.id} is {s.status}: its rows are gone")
        return ScoreDiff(old=old, new=new, changes=_changes(conn, old, new))
