"""Live updates: new or changed rows ingested and their neighbourhood rescored as a delta.

:func:`apply_records` is the entry point of rows held in memory (``POST /v1/records``),
:func:`apply_paths` of files (``credlink ingest --live``). In order:

1. **ingest** — the rows go through :func:`risk.ingest.ingest_frame`, the checks and the
   quarantine of a file; a wholly bad row changes nothing and is reported. The stored rows of
   the accepted keys are read before and after (:mod:`risk.live.changes`).
2. **region** — the nodes the change touches on the current score set's date (C) and the
   region around them are read from the store (:func:`risk.live.region.load_region`: 2K hops
   over present roles, K = the set's hops, and four over begun ones).
3. **recompute** — linked risk of the nodes within K hops, the rules of the enterprises the
   change can move, upserted into the warnings store for those (enterprise, rule) pairs only
   (:func:`risk.warnings.upsert_hits` with a ``scope``), their grades with the open warnings,
   and — with an ``assess`` callback — their pre-credit assessments (:mod:`risk.live.compute`
   says which enterprises and why the result equals a full recompute).
4. **delta** — the rows that differ from the current set are appended as its next delta with
   their events (:func:`risk.scoresets.write_delta`), the cause naming the ingest batch, the
   table and the changed keys.

Everything is computed at the score set's as-of date with its settings (the digest must
match) and the linked-risk threshold it froze (``linked_threshold_value``): a delta is what
a full recompute of that date would give for the rows it writes. A row dated after the
set's date (a record decided later, a role begun later) is stored and moves no score there
(DESIGN.md §2); the result says so.

Concurrency
    Live updates of one process run one at a time (a lock). Across processes, a delta names
    the seq it was computed at: if another delta was written meanwhile the rows are
    recomputed on the new state (:class:`risk.scoresets.ConcurrentDeltaError`, up to
    :data:`MAX_ATTEMPTS` times), and if another set became current they are recomputed once
    on it.

What a delta cannot do
    Score-set rows are never deleted, so an enterprise that stops existing on the date
    (a 注销 date set live) keeps its last grade row, and a node that leaves the graph keeps its
    last risk row, until the next batch run; the learned-warning probabilities (a 12-month
    forecast) are refreshed by the batch run only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from risk.batch import open_warnings_frame
from risk.config import RiskConfig
from risk.grades import lift_by_learned
from risk.ingest import (
    INGEST_ORDER,
    FileSummary,
    IngestSummary,
    detect_table,
    ingest_day,
    ingest_frame,
    ingest_paths,
    read_raw,
    workbook_sheets,
)
from risk.ingest.read import WORKBOOK_SUFFIXES
from risk.live.changes import (
    StoredChange,
    accepted_keys,
    assessed_subjects,
    changed_nodes,
    read_keys,
    stored_change,
)
from risk.live.compute import BEGUN_RADIUS, grade_rows, recompute
from risk.live.region import CHUNK, load_region
from risk.score_events import empty_events
from risk.scoresets import (
    ConcurrentDeltaError,
    Pointer,
    ScoreSet,
    ScoreSetError,
    StaleScoreSetError,
    current,
    get_set,
    lookup_many,
    write_delta,
)
from risk.warnings import SYSTEM_ACTOR, upsert_hits

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_CAUSE_KEYS",
    "Assess",
    "LiveResult",
    "LiveScope",
    "apply_paths",
    "apply_records",
]

MAX_ATTEMPTS = 4
"""Computations of one update at most (the first, then after concurrent deltas or once after
a set switch)."""
MAX_CAUSE_KEYS = 50
"""Changed keys named in an event's cause (``n_keys`` counts them all)."""

_LOCK = threading.Lock()


@dataclass(frozen=True)
class LiveScope:
    """What an ``assess`` callback is asked to reassess.

    Attributes
    ----------
    as_of : datetime.date
        The score set's date.
    table : str
        The table the rows went into.
    changed : tuple of str
        The graph nodes whose signal, edges or existence changed (C).
    subjects : tuple of str
        Enterprises whose own rows changed or whose linked risk may have moved (C and the
        enterprises within K hops of it; for ``financials`` and ``loans`` the enterprises of
        the rows). The callback returns rows for these and for any other enterprise its
        features find the change moves (e.g. a related group's members).
    hops : int
        K of the set's propagation.
    notes : list of str
        The callback appends what the caller should know (e.g. assessments it kept); they
        end up in :attr:`LiveResult.notes`.
    """

    as_of: date
    table: str
    changed: tuple[str, ...]
    subjects: tuple[str, ...]
    hops: int
    notes: list[str] = field(default_factory=list)


Assess = Callable[[LiveScope], pd.DataFrame]
"""Reassess enterprises: the ``assessments`` kind's rows (:func:`serving.pipeline.
assessment_rows`' shape) of at least the scope's subjects."""


@dataclass(frozen=True)
class LiveResult:
    """What a live update did.

    Attributes
    ----------
    summary : risk.ingest.FileSummary
        The ingest's counts (``read = inserted + updated + unchanged + quarantined``), batch
        id, status and message.
    set_id : int
        The score set the delta went into.
    seq : int
        Its seq after the update (unchanged when nothing moved).
    events : pandas.DataFrame
        The events appended: ``subject_id``, ``kind``, ``before``, ``after``.
    changed : list of str
        The stored keys whose row changed.
    recomputed : dict
        Kind → rows recomputed (written only where they differ).
    notes : list of str
        What the caller should know: nothing stored, dated after the set's date, a retry.
    seconds : dict
        Step → wall time.
    attempts : int
        Computations run (1 unless a concurrent delta or a set switch intervened).
    pointer : Pointer or None
        The set and seq readers answer from after the update.
    """

    summary: FileSummary
    set_id: int
    seq: int
    events: pd.DataFrame = field(repr=False)
    changed: list[str] = field(default_factory=list)
    recomputed: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    attempts: int = 0
    pointer: Pointer | None = field(default=None, repr=False)

    @property
    def accepted(self) -> int:
        """Rows stored or found unchanged."""
        return self.summary.inserted + self.summary.updated + self.summary.unchanged

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (events as a list of dicts)."""
        return {
            "set_id": self.set_id,
            "seq": self.seq,
            "batch_id": self.summary.batch_id,
            "status": self.summary.status,
            "read": self.summary.read,
            "accepted": self.accepted,
            "inserted": self.summary.inserted,
            "updated": self.summary.updated,
            "unchanged": self.summary.unchanged,
            "quarantined": self.summary.quarantined,
            "changed": list(self.changed),
            "recomputed": dict(self.recomputed),
            "events": [
                {str(k): v for k, v in row.items()} for row in self.events.to_dict("records")
            ],
            "notes": list(self.notes),
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "attempts": self.attempts,
        }


def _checked_set(engine: Engine, config: RiskConfig) -> tuple[Pointer, ScoreSet]:
    pointer = current(engine)
    if pointer is None:
        raise ScoreSetError(
            "no score set has been published: run `credlink pipeline run` before live updates"
        )
    described = get_set(engine, pointer.set_id)
    if described.config_digest != config.digest():
        raise ScoreSetError(
            f"the current score set {described.id} was scored with other risk settings "
            f"(digest {described.config_digest[:12]}, these are {config.digest()[:12]}): "
            "run `credlink pipeline run` with these settings first"
        )
    if "linked_threshold_value" not in described.config:
        raise ScoreSetError(
            f"score set {described.id} has no frozen linked-risk threshold: rerun the pipeline"
        )
    return pointer, described


def apply_records(
    engine: Engine,
    table: str,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    risk_config: RiskConfig,
    *,
    cause: Mapping[str, Any] | None = None,
    source: str = "live update",
    assess: Assess | None = None,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    today: date | None = None,
    actor: str = SYSTEM_ACTOR,
) -> LiveResult:
    """Ingest rows of one contract table and write what they change as a delta on the current
    score set (module docstring).

    Parameters
    ----------
    engine
        A migrated store with a published score set.
    table
        The contract table of the rows.
    rows
        A DataFrame, or mappings from contract (or national) column names to values, as
        :func:`risk.ingest.ingest_frame` takes them.
    risk_config
        The deployment's risk settings: they must be the current set's (same digest).
    cause
        More to record as the events' cause (e.g. the request id); the ingest batch, the table
        and the changed keys are always recorded. Never put a raw ID number here.
    source
        The ingest batch's name.
    assess
        Reassesses the enterprises a change can move (:data:`Assess`); None leaves the
        assessments as they are.
    id_salt, uscc_allowlist, today
        As for :func:`risk.ingest.ingest_frame`.
    actor
        Written on the warning events of the upsert.

    Returns
    -------
    LiveResult

    Raises
    ------
    ScoreSetError
        Before anything is stored: no score set is published, or it was scored with other
        settings. After the ingest: another set became current twice, or deltas kept
        interleaving (:data:`MAX_ATTEMPTS`); the rows are stored, the next batch run scores
        them.
    TypeError
        If ``rows`` is neither a DataFrame nor a sequence of mappings.
    """
    if not isinstance(risk_config, RiskConfig):
        raise TypeError(f"risk_config must be a RiskConfig; got {type(risk_config).__name__}")
    day = today or ingest_day()
    allowlist = tuple(uscc_allowlist)
    with _LOCK:
        seconds: dict[str, float] = {}
        clock = time.perf_counter()
        pointer, _ = _checked_set(engine, risk_config)
        keys = accepted_keys(rows, table, id_salt=id_salt, uscc_allowlist=allowlist, today=day)
        before = read_keys(engine, table, keys) if keys is not None and len(keys) else None
        seconds["check"] = time.perf_counter() - clock
        clock = time.perf_counter()
        summary = ingest_frame(
            engine, rows, table, source=source, id_salt=id_salt, uscc_allowlist=allowlist, today=day
        )
        seconds["ingest"] = time.perf_counter() - clock
        if summary.status != "ok":
            return _unchanged(summary, pointer, seconds, f"nothing stored: {summary.message}")
        if keys is None or before is None:
            return _unchanged(summary, pointer, seconds, "nothing stored: no row was accepted")
        change = stored_change(table, before, read_keys(engine, table, keys))
        batch = {"ingest_batch": summary.batch_id}
        return _rescore(
            engine,
            change,
            summary,
            risk_config,
            {**dict(cause or {}), **batch},
            assess,
            actor,
            seconds,
        )


def apply_paths(
    engine: Engine,
    paths: Sequence[Path],
    risk_config: RiskConfig,
    *,
    table: str | None = None,
    cause: Mapping[str, Any] | None = None,
    assess: Assess | None = None,
    id_salt: bytes | None = None,
    uscc_allowlist: Iterable[str] = (),
    today: date | None = None,
    actor: str = SYSTEM_ACTOR,
) -> tuple[IngestSummary, list[LiveResult]]:
    """Ingest files as :func:`risk.ingest.ingest_paths` does, then write what they changed as
    deltas on the current score set, one per table (``credlink ingest --live``).

    Each file (each sheet of a workbook) is read once more before the ingest, through the
    ingest's checks, to know which keys it may change. Meant for the small files of a daily
    drop: a whole county belongs in a batch run.

    Parameters
    ----------
    paths
        Files (not directories: name the files of a live drop).
    table
        As for :func:`risk.ingest.ingest_paths`.
    Others
        As for :func:`apply_records`; ``cause`` gets the ingest batches of the table's files.

    Returns
    -------
    tuple
        The ingest's summary and one :class:`LiveResult` per table whose files were ingested
        (their summary: the table's files together), in dependency order.

    Raises
    ------
    ScoreSetError
        As :func:`apply_records` (before anything is stored: no set, other settings).
    ValueError
        If a path is a directory.
    """
    if not isinstance(risk_config, RiskConfig):
        raise TypeError(f"risk_config must be a RiskConfig; got {type(risk_config).__name__}")
    for path in paths:
        if Path(path).is_dir():
            raise ValueError(f"paths must be files for a live update; got the directory {path}")
    day = today or ingest_day()
    allowlist = tuple(uscc_allowlist)
    with _LOCK:
        seconds: dict[str, float] = {}
        clock = time.perf_counter()
        pointer, _ = _checked_set(engine, risk_config)
        keys: dict[str, list[pd.DataFrame]] = {}
        for path, sheet in _sources(paths):
            try:
                raw = read_raw(path, sheet=sheet)
                name = table or detect_table(
                    path, list(raw.frame.columns), sheet=raw.sheet, first_sheet=raw.first_sheet
                )
            except Exception:  # the ingest refuses the file with the reason
                continue
            found = accepted_keys(raw, name, id_salt=id_salt, uscc_allowlist=allowlist, today=day)
            if found is not None and len(found):
                keys.setdefault(name, []).append(found)
        before = {
            name: (pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True))
            for name, parts in keys.items()
        }
        stored = {name: read_keys(engine, name, k) for name, k in before.items()}
        seconds["check"] = time.perf_counter() - clock
        clock = time.perf_counter()
        summary = ingest_paths(
            engine, paths, table=table, id_salt=id_salt, uscc_allowlist=allowlist, today=day
        )
        seconds["ingest"] = time.perf_counter() - clock
        results = []
        for name in INGEST_ORDER:
            files = [f for f in summary.files if f.table == name and f.status == "ok"]
            if not files:
                continue
            combined = _combined(name, files)
            if name not in before:
                results.append(_unchanged(combined, pointer, dict(seconds), "no row was accepted"))
                continue
            change = stored_change(name, stored[name], read_keys(engine, name, before[name]))
            batches = {"ingest_batches": [f.batch_id for f in files]}
            results.append(
                _rescore(
                    engine,
                    change,
                    combined,
                    risk_config,
                    {**dict(cause or {}), **batches},
                    assess,
                    actor,
                    dict(seconds),
                )
            )
            pointer = results[-1].pointer or pointer
        return summary, results


def _sources(paths: Sequence[Path]) -> list[tuple[Path, str | None]]:
    """Each file, and each sheet of a workbook, as the ingest reads them."""
    out: list[tuple[Path, str | None]] = []
    for path in paths:
        sheets: list[str] = []
        if path.suffix.lower() in WORKBOOK_SUFFIXES:
            try:
                sheets = workbook_sheets(path)
            except Exception:  # the ingest refuses the workbook with the reason
                sheets = []
        out += [(path, s) for s in sheets] if len(sheets) > 1 else [(path, None)]
    return out


def _combined(table: str, files: list[FileSummary]) -> FileSummary:
    """One summary of several files of a table (counts added, the last batch id)."""
    out = FileSummary(source=", ".join(f.source for f in files), table=table)
    for name in ("read", "inserted", "updated", "unchanged", "quarantined", "orphans"):
        setattr(out, name, sum(int(getattr(f, name)) for f in files))
    out.batch_id = files[-1].batch_id
    out.seconds = sum(f.seconds for f in files)
    return out


def _unchanged(
    summary: FileSummary, pointer: Pointer, seconds: dict[str, float], note: str
) -> LiveResult:
    return LiveResult(
        summary=summary,
        set_id=pointer.set_id,
        seq=pointer.seq,
        events=empty_events(),
        notes=[note],
        seconds=seconds,
        pointer=pointer,
    )


def _rescore(
    engine: Engine,
    change: StoredChange,
    summary: FileSummary,
    config: RiskConfig,
    cause: dict[str, Any],
    assess: Assess | None,
    actor: str,
    seconds: dict[str, float],
) -> LiveResult:
    """The delta of a stored change, retried on concurrent deltas and once on a set switch."""
    pointer, described = _checked_set(engine, config)
    if change.empty:
        return _unchanged(summary, pointer, seconds, "no stored row changed: no score can move")
    cause = {
        **cause,
        "table": change.table,
        "keys": change.keys[:MAX_CAUSE_KEYS],
        "n_keys": len(change.keys),
    }
    notes: list[str] = []
    switched = False
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if attempt > 1:
            pointer, described = _checked_set(engine, config)
        try:
            result = _delta(engine, change, pointer, described, config, assess, cause, actor)
        except ConcurrentDeltaError as error:
            notes.append(f"recomputed: {error}")
            continue
        except StaleScoreSetError as error:
            if switched:
                raise
            switched = True
            notes.append(f"recomputed on the new current set: {error}")
            continue
        seq, events, recomputed, steps, extra = result
        return LiveResult(
            summary=summary,
            set_id=described.id,
            seq=seq,
            events=events,
            changed=change.keys,
            recomputed=recomputed,
            notes=notes + extra,
            seconds={**seconds, **steps},
            attempts=attempt,
            pointer=Pointer(described.id, seq, pointer.switched_at),
        )
    raise ScoreSetError(
        f"live update of {change.table} ({len(change.keys)} changed rows, ingest batch "
        f"{summary.batch_id}) gave up after {MAX_ATTEMPTS} attempts: other deltas kept "
        "interleaving; the rows are stored and the next batch run scores them"
    )


def _delta(
    engine: Engine,
    change: StoredChange,
    pointer: Pointer,
    described: ScoreSet,
    config: RiskConfig,
    assess: Assess | None,
    cause: dict[str, Any],
    actor: str,
) -> tuple[int, pd.DataFrame, dict[str, int], dict[str, float], list[str]]:
    """One computation of the delta on the set ``pointer`` shows, and its write."""
    seconds: dict[str, float] = {}
    notes: list[str] = []
    as_of = pd.Timestamp(described.as_of)
    hops = config.propagation.hops
    changed = changed_nodes(change, as_of)
    subjects = assessed_subjects(change)
    frames: dict[str, pd.DataFrame] = {}
    if not changed and not subjects:
        notes.append(
            f"the changed rows are dated after the score set's date {described.as_of}: "
            "stored, no score moves on that date (a later set will count them)"
        )
        return pointer.seq, empty_events(), {}, seconds, notes

    if changed:
        clock = time.perf_counter()
        region = load_region(
            engine, changed, as_of, present_radius=2 * hops, begun_radius=BEGUN_RADIUS
        )
        seconds["region"] = time.perf_counter() - clock

        clock = time.perf_counter()

        def stored_risk(ids: list[str]) -> pd.DataFrame:
            with engine.connect() as conn:
                return lookup_many(conn, "risk", ids, pointer)

        threshold = float(described.config["linked_threshold_value"])
        local = recompute(region, changed, config, threshold, stored_risk)
        seconds["recompute"] = time.perf_counter() - clock

        clock = time.perf_counter()
        upsert_hits(
            engine,
            local.hits,
            actor=actor,
            as_of=described.as_of,
            rules=config.rules.rules,
            scope=local.scope,
        )
        moved = sorted(local.enterprises)
        warnings = pd.concat(
            [open_warnings_frame(engine, moved[i : i + CHUNK]) for i in range(0, len(moved), CHUNK)]
            or [open_warnings_frame(engine, [])],
            ignore_index=True,
        )
        levels = dict(zip(warnings["subject_id"], warnings["level"], strict=True))
        frames["risk"] = local.risk
        grades = grade_rows(local.signals, levels, config)
        with engine.connect() as conn:  # the batch's learned probabilities lift them alike
            learned = lookup_many(conn, "learned", grades["subject_id"].astype(str), pointer)
        frames["grades"] = lift_by_learned(grades, learned["probability"], config.grades)
        if local.gone:
            with engine.connect() as conn:
                graded = lookup_many(conn, "grades", sorted(local.gone), pointer)
            if len(graded):
                notes.append(
                    f"{len(graded)} enterprises no longer exist on the set's date "
                    f"({', '.join(sorted(graded.index)[:3])}): their grade rows stay until the "
                    "next batch run (a delta never deletes a row)"
                )
        frames["warnings"] = warnings
        subjects |= set(local.risk["subject_id"].astype(str)) & region.enterprise_ids
        subjects |= changed & region.enterprise_ids
        seconds["warnings"] = time.perf_counter() - clock

    if assess is not None and subjects:
        clock = time.perf_counter()
        scope = LiveScope(
            as_of=described.as_of,
            table=change.table,
            changed=tuple(sorted(changed)),
            subjects=tuple(sorted(subjects)),
            hops=hops,
        )
        frames["assessments"] = assess(scope)
        notes += scope.notes
        seconds["assess"] = time.perf_counter() - clock

    clock = time.perf_counter()
    seq, events = write_delta(engine, described.id, frames, cause, expected_seq=pointer.seq)
    seconds["write"] = time.perf_counter() - clock
    recomputed = {kind: len(frame) for kind, frame in frames.items()}
    return seq, events, recomputed, seconds, notes
