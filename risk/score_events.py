"""The event log: every change of an enterprise's grade, warning, linked-risk band or assessment.

A row of ``score_events`` says which enterprise changed, what (:data:`EVENT_FIELDS`), before →
after, what caused it (the score set that replaced another, or the live record that made a
delta) and the set and seq it became visible in. :mod:`risk.scoresets` appends the events in
the transaction that makes the change visible; monitoring delivers from the log
(:func:`events_after` pages through it by id).

The computations here are pure (frames in, event frames out), shared by a publish (the
differences from the replaced set) and a delta (the rows a live update changed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from risk.store import bulk_insert, score_events

__all__ = [
    "EVENT_FIELDS",
    "append_events",
    "concat_events",
    "delta_events",
    "differs",
    "empty_events",
    "event_rows",
    "events_after",
    "plain",
    "same",
]

EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "grade": ("grades", "grade"),
    "grade_bank": ("grades", "grade_bank"),
    "linked_risk_band": ("risk", "band"),
    "warning": ("warnings", "level"),
    "assessment": ("assessments", "decision"),
    "pd_band": ("assessments", "pd_band"),
}
"""Event kind → (score kind, column): a change of that column is an event."""


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value (for JSON and the drivers)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def differs(fresh: pd.DataFrame, before: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Per row of ``fresh``: does any of ``names`` differ from ``before`` (:func:`same`)?"""
    out = np.zeros(len(fresh), dtype=bool)
    for name in names:
        a = fresh[name].to_numpy(dtype=object)
        b = before[name].to_numpy(dtype=object)
        out |= np.array([not same(x, y) for x, y in zip(a, b, strict=True)], dtype=bool)
    return out


def same(a: Any, b: Any) -> bool:
    """Equal as scores: missing equals missing, floats to 1e-12."""
    a_missing = a is None or (isinstance(a, float) and math.isnan(a))
    b_missing = b is None or (isinstance(b, float) and math.isnan(b))
    if a_missing or b_missing:
        return a_missing and b_missing
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        return bool(np.isclose(float(a), float(b), rtol=1e-12, atol=1e-12))
    return bool(plain(a) == plain(b))


def empty_events() -> pd.DataFrame:
    """An event frame without rows."""
    return pd.DataFrame({"subject_id": [], "kind": [], "before": [], "after": []}, dtype=object)


def delta_events(
    changed: Mapping[str, pd.DataFrame], befores: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """The events of a delta: kind → changed rows, kind → the rows they replace."""
    parts = []
    for event, (kind, column) in EVENT_FIELDS.items():
        if kind not in changed:
            continue
        frame = changed[kind].set_index("subject_id")
        before = (
            befores[kind][column].reindex(frame.index)
            if column in befores[kind]
            else pd.Series(None, index=frame.index)
        )
        parts.append(
            event_rows(
                event,
                frame.index,
                before.to_numpy(dtype=object),
                frame[column].to_numpy(dtype=object),
            )
        )
    return concat_events(parts)


def event_rows(event: str, subject_ids: Any, before: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    """Events of one kind where ``before`` and ``after`` differ."""
    keep = np.array([not same(a, b) for a, b in zip(before, after, strict=True)], dtype=bool)
    n = int(keep.sum())
    return pd.DataFrame(
        {
            "subject_id": pd.Series(np.asarray(subject_ids, dtype=object)[keep], dtype=object),
            "kind": pd.Series([event] * n, dtype=object),
            "before": pd.Series([_missing_none(v) for v in before[keep]], dtype=object),
            "after": pd.Series([_missing_none(v) for v in after[keep]], dtype=object),
        }
    )


def _missing_none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return plain(value)


def concat_events(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Event frames as one, sorted by enterprise and kind."""
    parts = [p for p in parts if not p.empty]
    if not parts:
        return empty_events()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["subject_id", "kind"], kind="stable").reset_index(drop=True)


def append_events(
    conn: Connection,
    events: pd.DataFrame,
    set_id: int,
    seq: int,
    cause: dict[str, Any],
    at: datetime,
) -> None:
    """Append events to the log in ``conn``'s transaction."""
    if events.empty:
        return
    n = len(events)
    rows = zip(
        [at] * n,
        [set_id] * n,
        [seq] * n,
        events["subject_id"].tolist(),
        events["kind"].tolist(),
        events["before"].tolist(),
        events["after"].tolist(),
        [cause] * n,
        strict=True,
    )
    bulk_insert(
        conn,
        score_events,
        rows,
        ["at", "set_id", "seq", "subject_id", "kind", "before", "after", "cause"],
    )


def events_after(
    engine: Engine, after_id: int = 0, *, subject_id: str | None = None, limit: int = 1000
) -> pd.DataFrame:
    """Events with an id above ``after_id``, oldest first (a pull feed pages with the last id)."""
    query = select(score_events).where(score_events.c.id > int(after_id))
    if subject_id is not None:
        query = query.where(score_events.c.subject_id == subject_id)
    query = query.order_by(score_events.c.id).limit(int(limit))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=[c.name for c in score_events.columns])
