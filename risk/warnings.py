"""The warnings store: rule hits become warnings with a lifecycle (预警处置闭环).

:func:`run_warnings` evaluates the rules of :mod:`risk.rules` on a date and upserts the hits
into the ``warnings`` table; :func:`transition` moves a warning along its lifecycle; every
change is appended to ``warning_events`` (never updated or deleted). :func:`list_warnings`
and :func:`notice_frame` serve the CLI, the future API and the 通报 list sent to regulators.

Upsert rules
------------
A warning is identified by (enterprise, rule). On each run, for each hit:

* **an open warning exists** (status new, dispatched or acknowledged): if the evidence
  fingerprint (:func:`risk.rules.evidence_fingerprint`: the cited record ids and related
  enterprises, never the decaying scores), the level or the domains changed, the warning is
  updated in place — status kept — and an event ``status → status`` records what changed;
  otherwise nothing is written. Re-running never duplicates an open warning, and the partial
  unique index ``ux_warnings_open`` makes a duplicate impossible even for concurrent runs.
* **only closed warnings exist**: a **new row** (status ``new``, ``previous_id`` = the latest
  closed one) is created only if the hit cites a record id absent from the latest closed
  warning's evidence (new evidence); otherwise the hit is *suppressed*. A new row, rather
  than reviving the closed one, keeps what was dispatched, acknowledged and closed intact
  for the record, and the new evidence goes through the lifecycle again.
* **no warning exists**: a new row with status ``new``.

The stored evidence is a snapshot of the run that created or last changed the warning (its
``as_of``): values that drift daily without new records, such as a decaying linked risk, are
not rewritten. A run writes in one transaction; of two concurrent runs creating the same
warning, the second fails on ``ux_warnings_open`` and can simply be retried.

Open warnings whose rule no longer fires (the records expired or were repaired) are left as
they are and reported as *stale* in the :class:`RunSummary`: once dispatched, a warning is in
a regulator's hands and only a person closes it.

Lifecycle
---------
==================  ===========================  =========================================
from                to                           meaning
==================  ===========================  =========================================
(none)              ``new`` 待处理                created by a run
``new``             ``dispatched`` 已通报          sent to the regulator(s)
``new``             ``closed`` 已办结              dismissed before dispatch (note required)
``dispatched``      ``acknowledged`` 已签收        the regulator confirmed receipt
``acknowledged``    ``closed`` 已办结              handled (note required)
==================  ===========================  =========================================

Any other move raises :class:`~risk.exceptions.IllegalTransitionError`; a closed warning never
moves again (new evidence opens a new one).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import (
    Engine,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from risk.contract import Domain, domain_for_regulator, zh_label
from risk.dates import as_of_timestamp
from risk.exceptions import IllegalTransitionError, UnknownWarningError
from risk.identifiers import mask_id_numbers
from risk.rules import (
    LEVEL_LABELS,
    LEVEL_RANK,
    RULE_LABELS,
    Level,
    Rule,
    RuleHit,
    RuleInputs,
)
from risk.store import contract_table, warning_events_table, warnings_table
from risk.validation import check_int

if TYPE_CHECKING:
    from risk.config import RiskConfig

__all__ = [
    "NOTICE_COLUMNS",
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "SYSTEM_ACTOR",
    "TRANSITIONS",
    "RunSummary",
    "WarningEvent",
    "WarningPage",
    "WarningRecord",
    "WarningStatus",
    "get_warning",
    "list_warnings",
    "notice_frame",
    "run_warnings",
    "transition",
    "upsert_hits",
    "warning_events",
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
"""The allowed moves of the lifecycle (module docstring)."""

SYSTEM_ACTOR = "credlink"
"""The actor of the events written by :func:`run_warnings`."""

NOTICE_COLUMNS: tuple[str, ...] = (
    "企业名称",
    "统一社会信用代码",
    "预警规则",
    "预警等级",
    "涉及领域",
    "主管部门",
    "证据(决定书文号)",
    "预警日期",
    "状态",
)
"""Headers of the 通报 list (:func:`notice_frame`)."""

_STATUS_ORDER = tuple(WarningStatus)
_MAX_ACTOR = 100
_CHUNK = 500


# --------------------------------------------------------------------------- value objects


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


@dataclass(frozen=True)
class WarningPage:
    """One page of :func:`list_warnings`: the items and the total matching the filters."""

    items: tuple[WarningRecord, ...]
    total: int
    limit: int
    offset: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "items": [w.to_dict() for w in self.items],
        }


@dataclass(frozen=True)
class RunSummary:
    """What a run found and did.

    ``hits`` counts rule hits; ``created + updated + unchanged + reopened + suppressed ==
    hits`` (``reopened`` = new rows for closed warnings with new evidence, ``suppressed`` =
    hits of closed warnings without new evidence). ``stale`` lists the ids of open warnings
    the run no longer triggers. ``by_rule``, ``by_level`` and ``by_regulator`` count the hits
    (a hit with two regulators counts once for each).
    """

    as_of: date
    hits: int
    created: int
    updated: int
    unchanged: int
    reopened: int
    suppressed: int
    stale: tuple[int, ...]
    by_rule: Mapping[str, int]
    by_level: Mapping[str, int]
    by_regulator: Mapping[str, int]
    seconds: float = field(default=0.0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "as_of": self.as_of.isoformat(),
            "hits": self.hits,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "reopened": self.reopened,
            "suppressed": self.suppressed,
            "stale": list(self.stale),
            "by_rule": dict(self.by_rule),
            "by_level": dict(self.by_level),
            "by_regulator": dict(self.by_regulator),
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------- helpers


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part for part in (text or "").split(",") if part)


def _aware(value: datetime) -> datetime:
    # SQLite has no timezone type: values come back naive, and were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _to_record(row: RowMapping) -> WarningRecord:
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


def _to_event(row: RowMapping) -> WarningEvent:
    return WarningEvent(
        id=int(row["id"]),
        warning_id=int(row["warning_id"]),
        from_status=WarningStatus(row["from_status"]) if row["from_status"] else None,
        to_status=WarningStatus(row["to_status"]),
        actor=row["actor"],
        note=row["note"],
        at=_aware(row["at"]),
    )


def _enum_values(name: str, value: Any, enum: type[StrEnum]) -> list[str] | None:
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


def _contains_domain(domain: Domain) -> ColumnElement[bool]:
    wrapped = literal(",") + warnings_table.c.domains + literal(",")
    return wrapped.contains(f",{domain.value},", autoescape=True)


def _level_order() -> ColumnElement[int]:
    return case(
        {level.value: rank for level, rank in LEVEL_RANK.items()},
        value=warnings_table.c.level,
        else_=len(LEVEL_RANK),
    )


def _utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _stored_time(dialect: str, value: datetime) -> datetime:
    # SQLite compares the stored text: write and compare naive UTC there.
    if dialect == "sqlite":
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _check_actor(actor: Any) -> str:
    if not isinstance(actor, str):
        raise TypeError(f"actor must be a string; got {type(actor).__name__}")
    text = actor.strip()
    if not text or len(text) > _MAX_ACTOR:
        raise ValueError(f"actor must be 1–{_MAX_ACTOR} characters; got {actor!r}")
    return text


# --------------------------------------------------------------------------- run and upsert


def run_warnings(
    engine: Engine,
    as_of: date | pd.Timestamp | str,
    config: RiskConfig | None = None,
    *,
    actor: str = SYSTEM_ACTOR,
) -> RunSummary:
    """Evaluate the rules on ``as_of`` and upsert the hits (module docstring).

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The run date.
    config
        The risk settings of :func:`risk.rule_checks.evaluate_rules` (the rules' thresholds and
        the propagation of the linked-risk rule); ``None`` means ``RiskConfig()``.
    actor
        Written on the events of this run.

    Returns
    -------
    RunSummary

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`~risk.config.RiskConfig`.
    """
    # risk.rule_checks reads risk.config, which reads risk.grades, which reads this module:
    # the rules are imported when a run starts.
    from risk.rule_checks import evaluate_rules

    started = time.perf_counter()
    day = as_of_timestamp(as_of)
    hits = evaluate_rules(RuleInputs.from_store(engine, day), day, config)
    rules = frozenset(Rule) if config is None else config.rules.rules
    summary = upsert_hits(engine, hits, actor=actor, as_of=day.date(), rules=rules)
    return dataclasses.replace(summary, seconds=time.perf_counter() - started)


def _existing(conn: Connection, usccs: Sequence[str]) -> tuple[dict[tuple[str, str], Any], ...]:
    """Open warnings (all) and the latest closed warning of each hit's (uscc, rule)."""
    t = warnings_table
    open_rows = {
        (r.uscc, r.rule): r
        for r in conn.execute(
            select(
                t.c.id, t.c.uscc, t.c.rule, t.c.level, t.c.domains, t.c.fingerprint, t.c.status
            ).where(t.c.status != WarningStatus.closed.value)
        )
    }
    closed: dict[tuple[str, str], Any] = {}
    for start in range(0, len(usccs), _CHUNK):
        chunk = usccs[start : start + _CHUNK]
        rows = conn.execute(
            select(t.c.id, t.c.uscc, t.c.rule, t.c.evidence)
            .where(t.c.status == WarningStatus.closed.value, t.c.uscc.in_(chunk))
            .order_by(t.c.id)
        )
        for r in rows:
            closed[(r.uscc, r.rule)] = r  # ascending ids: the latest wins
    return open_rows, closed


def _change_note(old_level: str, hit: RuleHit, old_domains: str, new_domains: str) -> str:
    parts = ["证据更新"]
    if old_level != hit.level.value:
        parts.append(f"等级 {LEVEL_LABELS[Level(old_level)]}→{LEVEL_LABELS[hit.level]}")
    if old_domains != new_domains:
        parts.append(f"领域 {old_domains or '—'}→{new_domains}")
    return "；".join(parts)


def upsert_hits(
    engine: Engine,
    hits: Sequence[RuleHit],
    *,
    actor: str = SYSTEM_ACTOR,
    as_of: date | None = None,
    now: datetime | None = None,
    rules: Iterable[Rule | str] | None = None,
) -> RunSummary:
    """Write rule hits into the warnings store, in one transaction (module docstring).

    Parameters
    ----------
    engine
        A migrated store.
    hits
        From :func:`risk.rules.evaluate_rules`; at most one per (uscc, rule).
    actor
        Written on the events.
    as_of
        The run date for the summary (default: the hits' date, or today when there are none).
    now
        The time written on rows and events (default: the current UTC time).
    rules
        The rules that were evaluated (default: all): only their open warnings can be stale.

    Returns
    -------
    RunSummary

    Raises
    ------
    ValueError
        If two hits share an (uscc, rule), or a rule is unknown.
    """
    actor = _check_actor(actor)
    keys = [(h.uscc, h.rule.value) for h in hits]
    if len(set(keys)) != len(keys):
        dup = next(k for k, n in Counter(keys).items() if n > 1)
        raise ValueError(f"hits must be one per (uscc, rule); got {dup!r} twice")
    evaluated = set(_enum_values("rules", rules, Rule) or [r.value for r in Rule])
    stamp = now or datetime.now(UTC)
    t, ev = warnings_table, warning_events_table
    created = updated = unchanged = reopened = suppressed = 0
    with engine.begin() as conn:
        at = _stored_time(conn.dialect.name, stamp)
        open_rows, closed = _existing(conn, sorted({h.uscc for h in hits}))
        inserts: list[dict[str, Any]] = []
        insert_notes: list[str] = []
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for hit, key in zip(hits, keys, strict=True):
            domains = ",".join(d.value for d in hit.domains)
            values = {
                "level": hit.level.value,
                "domains": domains,
                "regulators": ",".join(hit.regulators),
                "evidence": hit.evidence,
                "fingerprint": hit.fingerprint,
                "as_of": hit.as_of,
                "updated_at": at,
            }
            current = open_rows.get(key)
            if current is not None:
                if (
                    current.fingerprint == hit.fingerprint
                    and current.level == hit.level.value
                    and current.domains == domains
                ):
                    unchanged += 1
                    continue
                updates.append({"_id": current.id, **values})
                events.append(
                    {
                        "warning_id": current.id,
                        "from_status": current.status,
                        "to_status": current.status,
                        "actor": actor,
                        "note": _change_note(current.level, hit, current.domains, domains),
                        "at": at,
                    }
                )
                updated += 1
                continue
            previous = closed.get(key)
            if previous is not None:
                seen = set(previous.evidence.get("record_ids", ()))
                fresh = sorted(set(hit.record_ids) - seen)
                if not fresh:
                    suppressed += 1
                    continue
                reopened += 1
                note = f"已办结预警 #{previous.id} 出现新证据：{'；'.join(fresh[:5])}"
                if len(fresh) > 5:
                    note += f" 等 {len(fresh)} 条"
            else:
                created += 1
                note = f"规则触发：{RULE_LABELS[hit.rule]}"
            inserts.append(
                {
                    **values,
                    "uscc": hit.uscc,
                    "rule": hit.rule.value,
                    "status": WarningStatus.new.value,
                    "created_at": at,
                    "previous_id": previous.id if previous is not None else None,
                }
            )
            insert_notes.append(note)

        if updates:
            conn.execute(
                update(t)
                .where(t.c.id == bindparam("_id"))
                .values({name: bindparam(name) for name in updates[0] if name != "_id"}),
                updates,
            )
        if inserts:
            ids = conn.execute(
                insert(t).returning(t.c.id, sort_by_parameter_order=True), inserts
            ).scalars()
            for warning_id, note in zip(ids, insert_notes, strict=True):
                events.append(
                    {
                        "warning_id": warning_id,
                        "from_status": None,
                        "to_status": WarningStatus.new.value,
                        "actor": actor,
                        "note": note,
                        "at": at,
                    }
                )
        if events:
            conn.execute(insert(ev), events)
        hit_keys = set(keys)
        stale = tuple(
            sorted(r.id for k, r in open_rows.items() if k not in hit_keys and k[1] in evaluated)
        )

    by_regulator: Counter[str] = Counter()
    for hit in hits:
        by_regulator.update(hit.regulators)
    run_day = as_of or (hits[0].as_of if hits else stamp.date())
    return RunSummary(
        as_of=run_day,
        hits=len(hits),
        created=created,
        updated=updated,
        unchanged=unchanged,
        reopened=reopened,
        suppressed=suppressed,
        stale=stale,
        by_rule=dict(sorted(Counter(h.rule.value for h in hits).items())),
        by_level={
            level.value: n for level in Level if (n := sum(1 for h in hits if h.level == level))
        },
        by_regulator=dict(by_regulator.most_common()),
    )


# --------------------------------------------------------------------------- lifecycle


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
    (target,) = _enum_values("to_status", to_status, WarningStatus) or [""]
    target_status = WarningStatus(target)
    actor = _check_actor(actor)
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
                f"one of {', '.join(s.value for s in _STATUS_ORDER if s in allowed)}"
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
        at = _stored_time(conn.dialect.name, stamp)
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


# --------------------------------------------------------------------------- queries


def get_warning(engine: Engine, warning_id: int) -> WarningRecord:
    """Return one warning.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    """
    with engine.connect() as conn:
        row = (
            conn.execute(select(warnings_table).where(warnings_table.c.id == warning_id))
            .mappings()
            .one_or_none()
        )
    if row is None:
        raise UnknownWarningError(f"warning_id must be a stored warning; got {warning_id}")
    return _to_record(row)


def warning_events(engine: Engine, warning_id: int) -> list[WarningEvent]:
    """The history of a warning, oldest first.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    """
    get_warning(engine, warning_id)
    ev = warning_events_table
    with engine.connect() as conn:
        rows = conn.execute(
            select(ev).where(ev.c.warning_id == warning_id).order_by(ev.c.id)
        ).mappings()
        return [_to_event(r) for r in rows]


def _filters(
    dialect: str,
    *,
    level: Any,
    rule: Any,
    domain: Domain | str | None,
    regulator: str | None,
    status: Any,
    since: date | datetime | None,
    uscc: str | None,
) -> list[ColumnElement[bool]]:
    t = warnings_table
    where: list[ColumnElement[bool]] = []
    for name, value, enum, column in (
        ("level", level, Level, t.c.level),
        ("rule", rule, Rule, t.c.rule),
        ("status", status, WarningStatus, t.c.status),
    ):
        codes = _enum_values(name, value, enum)
        if codes is not None:
            where.append(column.in_(codes))
    for name, value in (("domain", domain), ("regulator", regulator)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a string; got {type(value).__name__}")
    if domain is not None:
        (code,) = _enum_values("domain", domain, Domain) or [""]
        where.append(_contains_domain(Domain(code)))
    if regulator is not None:
        where.append(_contains_domain(domain_for_regulator(regulator)))
    if since is not None:
        if not isinstance(since, date):
            raise TypeError(f"since must be a date or datetime; got {type(since).__name__}")
        where.append(t.c.updated_at >= _stored_time(dialect, _utc(since)))
    if uscc is not None:
        where.append(t.c.uscc == uscc)
    return where


def list_warnings(
    engine: Engine,
    *,
    level: Level | str | Iterable[Level | str] | None = None,
    rule: Rule | str | Iterable[Rule | str] | None = None,
    domain: Domain | str | None = None,
    regulator: str | None = None,
    status: WarningStatus | str | Iterable[WarningStatus | str] | None = None,
    since: date | datetime | None = None,
    uscc: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> WarningPage:
    """Warnings matching the filters, red first, then newest first.

    Parameters
    ----------
    engine
        A migrated store.
    level, rule, status
        One code or several (any of them matches).
    domain
        A :class:`~risk.contract.Domain` code: warnings involving that domain.
    regulator
        A regulator by Chinese name (``税务局``) or domain code: warnings involving it.
    since
        Warnings created or changed (``updated_at``) at or after this time; a date means its
        midnight UTC.
    uscc
        One enterprise.
    limit, offset
        The page: 1 ≤ limit ≤ 1000, offset ≥ 0.

    Returns
    -------
    WarningPage

    Raises
    ------
    ValueError
        On an unknown code or regulator, or a bad page.
    """
    check_int("limit", limit, 1, 1000)
    check_int("offset", offset, 0)
    where = _filters(
        engine.dialect.name,
        level=level,
        rule=rule,
        domain=domain,
        regulator=regulator,
        status=status,
        since=since,
        uscc=uscc,
    )
    t = warnings_table
    count = select(func.count()).select_from(t).where(*where)
    query = (
        select(t).where(*where).order_by(_level_order(), t.c.id.desc()).limit(limit).offset(offset)
    )
    with engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        items = tuple(_to_record(r) for r in conn.execute(query).mappings())
    return WarningPage(items=items, total=total, limit=limit, offset=offset)


def notice_frame(
    engine: Engine,
    regulator: str,
    *,
    status: WarningStatus | str | Iterable[WarningStatus | str] | None = None,
) -> pd.DataFrame:
    """The 通报 list of one regulator: its warnings with Chinese headers (:data:`NOTICE_COLUMNS`).

    Parameters
    ----------
    engine
        A migrated store.
    regulator
        Chinese name (``税务局``) or domain code (``taxation``).
    status
        Statuses to include (default: the open ones).

    Returns
    -------
    pandas.DataFrame
        One row per warning involving the regulator's domain, red first, then by USCC.
        企业名称 comes from the enterprises table (else the name at warning time);
        证据(决定书文号) lists the cited record ids; 预警日期 is the warning's as-of date.
        The list goes to people: a resident ID number in any text (a store ingested before
        ingest refused them) is masked (:func:`risk.identifiers.mask_id_numbers`). Write it
        with :func:`risk.spreadsheets.write_spreadsheet`, which keeps formulas out.

    Raises
    ------
    TypeError
        If ``regulator`` is not a string.
    ValueError
        If the regulator is unknown.
    """
    if not isinstance(regulator, str):
        raise TypeError(f"regulator must be a string; got {type(regulator).__name__}")
    domain = domain_for_regulator(regulator)
    statuses = status if status is not None else sorted(OPEN_STATUSES)
    where = _filters(
        engine.dialect.name,
        level=None,
        rule=None,
        domain=domain,
        regulator=None,
        status=statuses,
        since=None,
        uscc=None,
    )
    t = warnings_table
    with engine.connect() as conn:
        rows = [
            _to_record(r)
            for r in conn.execute(
                select(t).where(*where).order_by(_level_order(), t.c.uscc, t.c.id)
            ).mappings()
        ]
        usccs = sorted({w.uscc for w in rows})
        names: dict[str, str] = {}
        ents = contract_table("enterprises")
        for start in range(0, len(usccs), _CHUNK):
            chunk = usccs[start : start + _CHUNK]
            query = select(ents.c.uscc, ents.c.name).where(ents.c.uscc.in_(chunk))
            names.update({r.uscc: r.name for r in conn.execute(query)})
    body = [
        (
            names.get(w.uscc) or w.evidence.get("enterprise_name") or "",
            w.uscc,
            RULE_LABELS[w.rule],
            LEVEL_LABELS[w.level],
            "、".join(zh_label(d) for d in w.domains),
            "、".join(w.regulators),
            "；".join(w.record_ids),
            w.as_of.isoformat(),
            STATUS_LABELS[w.status],
        )
        for w in rows
    ]
    frame = pd.DataFrame(body, columns=list(NOTICE_COLUMNS), dtype=object)
    return frame.map(lambda v: mask_id_numbers(v) if isinstance(v, str) else v)
