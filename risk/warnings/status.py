"""The warnings' vocabulary and values: statuses with their Chinese labels, the lifecycle's
moves (:data:`TRANSITIONS`), and a stored warning or event read back as a frozen value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import RowMapping

from risk.contract import Domain
from risk.rules import LEVEL_LABELS, RULE_LABELS, Level, Rule

__all__ = [
    "CHUNK",
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "STATUS_ORDER",
    "SYSTEM_ACTOR",
    "TRANSITIONS",
    "WarningEvent",
    "WarningRecord",
    "WarningStatus",
    "check_actor",
    "enum_values",
    "stored_time",
    "to_event",
    "to_record",
    "utc",
]


class WarningStatus(StrEnum):
    """Where a warning is in its lifecycle."""

    new = "new"
    dispatched = "dispatched"
    acknowledged = "acknowledged"
    closed = "closed"


STATUS_LABELS: Mapping[WarningStatus, str] = MappingProxyType(
    {
        WarningStatus.new: "待处理",
        WarningStatus.dispatched: "已通报",
        WarningStatus.acknowledged: "已签收",
        WarningStatus.closed: "已办结",
    }
)
"""Chinese name of each status, as printed in the 通报 list."""
OPEN_STATUSES: frozenset[WarningStatus] = frozenset(
    {WarningStatus.new, WarningStatus.dispatched, WarningStatus.acknowledged}
)
"""Statuses of an open warning (at most one per enterprise and rule)."""
TRANSITIONS: Mapping[WarningStatus, frozenset[WarningStatus]] = MappingProxyType(
    {
        WarningStatus.new: frozenset({WarningStatus.dispatched, WarningStatus.closed}),
        WarningStatus.dispatched: frozenset({WarningStatus.acknowledged}),
        WarningStatus.acknowledged: frozenset({WarningStatus.closed}),
        WarningStatus.closed: frozenset(),
    }
)
"""The allowed moves of the lifecycle (:mod:`risk.warnings`)."""
SYSTEM_ACTOR = "credlink"
"""The actor of the events written by :func:`run_warnings`."""
STATUS_ORDER = tuple(WarningStatus)
_MAX_ACTOR = 100
CHUNK = 500


@dataclass(frozen=True)
class WarningRecord:
    """One stored warning.

    Attributes
    ----------
    id : int
    uscc : str
    rule : Rule
    level : Level
    domains : tuple of Domain
    regulators : tuple of str
    evidence : dict
        As the rule produced it (:class:`risk.rules.RuleHit`), plus ``enterprise_name``.
    fingerprint : str
    status : WarningStatus
    as_of : datetime.date
        The run date that created or last changed the evidence.
    created_at, updated_at : datetime.datetime
        UTC.
    previous_id : int or None
        The closed warning this one reopens.
    """

    id: int
    uscc: str
    rule: Rule
    level: Level
    domains: tuple[Domain, ...]
    regulators: tuple[str, ...]
    evidence: dict[str, Any]
    fingerprint: str
    status: WarningStatus
    as_of: date
    created_at: datetime
    updated_at: datetime
    previous_id: int | None

    @property
    def record_ids(self) -> tuple[str, ...]:
        """The record ids the evidence cites."""
        return tuple(self.evidence.get("record_ids", ()))

    @property
    def is_open(self) -> bool:
        """Whether the status is new, dispatched or acknowledged."""
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates ISO, enums as codes, with Chinese labels beside them)."""
        return {
            "id": self.id,
            "uscc": self.uscc,
            "enterprise_name": self.evidence.get("enterprise_name"),
            "rule": self.rule.value,
            "rule_label": RULE_LABELS[self.rule],
            "level": self.level.value,
            "level_label": LEVEL_LABELS[self.level],
            "domains": [d.value for d in self.domains],
            "regulators": list(self.regulators),
            "status": self.status.value,
            "status_label": STATUS_LABELS[self.status],
            "as_of": self.as_of.isoformat(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "previous_id": self.previous_id,
            "fingerprint": self.fingerprint,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class WarningEvent:
    """One line of a warning's append-only history (``from_status`` is None at creation)."""

    id: int
    warning_id: int
    from_status: WarningStatus | None
    to_status: WarningStatus
    actor: str
    note: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "warning_id": self.warning_id,
            "from_status": self.from_status.value if self.from_status else None,
            "to_status": self.to_status.value,
            "actor": self.actor,
            "note": self.note,
            "at": self.at.isoformat(),
        }


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part for part in (text or "").split(",") if part)


def _aware(value: datetime) -> datetime:
    # SQLite has no timezone type: values come back naive, and were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def to_record(row: RowMapping) -> WarningRecord:
    return WarningRecord(
        id=int(row["id"]),
        uscc=row["uscc"],
        rule=Rule(row["rule"]),
        level=Level(row["level"]),
        domains=tuple(Domain(d) for d in _split(row["domains"])),
        regulators=_split(row["regulators"]),
        evidence=dict(row["evidence"]),
        fingerprint=row["fingerprint"],
        status=WarningStatus(row["status"]),
        as_of=row["as_of"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
        previous_id=row["previous_id"],
    )


def to_event(row: RowMapping) -> WarningEvent:
    return WarningEvent(
        id=int(row["id"]),
        warning_id=int(row["warning_id"]),
        from_status=WarningStatus(row["from_status"]) if row["from_status"] else None,
        to_status=WarningStatus(row["to_status"]),
        actor=row["actor"],
        note=row["note"],
        at=_aware(row["at"]),
    )


def enum_values(name: str, value: Any, enum: type[StrEnum]) -> list[str] | None:
    """Validate a filter: None, one code or several codes of ``enum``."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    out = []
    for item in values:
        try:
            out.append(enum(item).value)
        except ValueError:
            codes = ", ".join(m.value for m in enum)
            raise ValueError(f"{name} must be one of {codes}; got {item!r}") from None
    return out


def utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def stored_time(dialect: str, value: datetime) -> datetime:
    # SQLite compares the stored text: write and compare naive UTC there.
    if dialect == "sqlite":
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def check_actor(actor: Any) -> str:
    if not isinstance(actor, str):
        raise TypeError(f"actor must be a string; got {type(actor).__name__}")
    text = actor.strip()
    if not text or len(text) > _MAX_ACTOR:
        raise ValueError(f"actor must be 1–{_MAX_ACTOR} characters; got {actor!r}")
    return text
