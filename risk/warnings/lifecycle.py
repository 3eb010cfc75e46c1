"""The lifecycle: a warning moved along :data:`~risk.warnings.status.TRANSITIONS`, each move an
event appended to ``warning_events``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from risk.exceptions import IllegalTransitionError, UnknownWarningError
from risk.store import warning_events_table, warnings_table
from risk.validation import check_int
from risk.warnings.queries import get_warning
from risk.warnings.status import (
    STATUS_ORDER,
    TRANSITIONS,
    WarningRecord,
    WarningStatus,
    check_actor,
    enum_values,
    stored_time,
)

__all__ = [
    "transition",
]


def transition(
    engine: Engine,
    warning_id: int,
    to_status: WarningStatus | str,
    actor: str,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> WarningRecord:
    """Move a warning along its lifecycle and append the event.

    Parameters
    ----------
    engine
        A migrated store.
    warning_id
        The warning.
    to_status
        The new status (a :class:`WarningStatus` or its code).
    actor
        Who moves it (1–100 characters), e.g. a staff name or a regulator's account.
    note
        Why; required when closing.
    now
        The time written (default: the current UTC time).

    Returns
    -------
    WarningRecord
        The warning after the move.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    IllegalTransitionError
        If the lifecycle has no such move from the current status (or another session moved
        the warning first).
    ValueError
        On an unknown status, an empty actor, or closing without a note.
    """
    check_int("warning_id", warning_id)
    if not isinstance(to_status, str):
        raise TypeError(f"to_status must be a status code; got {type(to_status).__name__}")
    (target,) = enum_values("to_status", to_status, WarningStatus) or [""]
    target_status = WarningStatus(target)
    actor = check_actor(actor)
    if note is not None and not isinstance(note, str):
        raise TypeError(f"note must be a string or None; got {type(note).__name__}")
    text = note.strip() if note else None
    if target_status == WarningStatus.closed and not text:
        raise ValueError("note must say why the warning is closed; got an empty note")
    stamp = now or datetime.now(UTC)
    t = warnings_table
    with engine.begin() as conn:
        current = conn.execute(select(t.c.status).where(t.c.id == warning_id)).scalar_one_or_none()
        if current is None:
            raise UnknownWarningError(f"warning_id must be a stored warning; got {warning_id}")
        source = WarningStatus(current)
        allowed = TRANSITIONS[source]
        if target_status not in allowed:
            rule = (
                f"one of {', '.join(s.value for s in STATUS_ORDER if s in allowed)}"
                if allowed
                else "unchanged: a closed warning reopens only on new evidence"
            )
            raise IllegalTransitionError(
                warning_id,
                source.value,
                target_status.value,
                f"status of warning {warning_id} after {source.value} must be {rule}; "
                f"got {target_status.value!r}",
            )
        at = stored_time(conn.dialect.name, stamp)
        moved = conn.execute(
            update(t)
            .where(t.c.id == warning_id, t.c.status == source.value)
            .values(status=target_status.value, updated_at=at)
        )
        if moved.rowcount != 1:  # pragma: no cover - needs a concurrent session
            raise IllegalTransitionError(
                warning_id,
                source.value,
                target_status.value,
                f"status of warning {warning_id} must still be {source.value}; "
                "got a concurrent change",
            )
        conn.execute(
            insert(warning_events_table),
            {
                "warning_id": warning_id,
                "from_status": source.value,
                "to_status": target_status.value,
                "actor": actor,
                "note": text,
                "at": at,
            },
        )
    return get_warning(engine, warning_id)
