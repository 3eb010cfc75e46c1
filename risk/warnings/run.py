"""Runs: the rules evaluated on a date and their hits upserted as warnings (the upsert rules of
:mod:`risk.warnings`), never duplicating an open warning.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from risk.dates import as_of_timestamp
from risk.rules import LEVEL_LABELS, RULE_LABELS, Level, Rule, RuleHit, RuleInputs
from risk.store import warning_events_table, warnings_table
from risk.warnings.status import (
    CHUNK,
    SYSTEM_ACTOR,
    WarningStatus,
    check_actor,
    enum_values,
    stored_time,
)

if TYPE_CHECKING:
    from risk.config import RiskConfig

__all__ = [
    "RunSummary",
    "run_warnings",
    "upsert_hits",
]


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


def run_warnings(
    engine: Engine,
    as_of: date | pd.Timestamp | str,
    config: RiskConfig | None = None,
    *,
    actor: str = SYSTEM_ACTOR,
) -> RunSummary:
    """Evaluate the rules on ``as_of`` and upsert the hits (:mod:`risk.warnings`).

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


def _existing(
    conn: Connection, usccs: Sequence[str], scoped: Sequence[str] | None = None
) -> tuple[dict[tuple[str, str], Any], ...]:
    """Open warnings (all, or those of the ``scoped`` enterprises) and the latest closed
    warning of each hit's (uscc, rule)."""
    t = warnings_table
    columns = (t.c.id, t.c.uscc, t.c.rule, t.c.level, t.c.domains, t.c.fingerprint, t.c.status)
    is_open = t.c.status != WarningStatus.closed.value
    if scoped is None:
        open_rows = {(r.uscc, r.rule): r for r in conn.execute(select(*columns).where(is_open))}
    else:
        open_rows = {}
        for start in range(0, len(scoped), CHUNK):
            chunk = scoped[start : start + CHUNK]
            for row in conn.execute(select(*columns).where(is_open, t.c.uscc.in_(chunk))):
                open_rows[(row.uscc, row.rule)] = row
    closed: dict[tuple[str, str], Any] = {}
    for start in range(0, len(usccs), CHUNK):
        chunk = usccs[start : start + CHUNK]
        rows = conn.execute(
            select(t.c.id, t.c.uscc, t.c.rule, t.c.evidence, t.c.as_of)
            .where(t.c.status == WarningStatus.closed.value, t.c.uscc.in_(chunk))
            .order_by(t.c.id)
        )
        for r in rows:
            closed[(r.uscc, r.rule)] = r  # ascending ids: the latest wins
    return open_rows, closed


def _scope(
    scope: Mapping[Rule, Iterable[str]] | None, hits: Sequence[RuleHit]
) -> dict[str, frozenset[str]] | None:
    """The scope as rule code → enterprises, checked to hold every hit."""
    if scope is None:
        return None
    if not isinstance(scope, Mapping):
        raise TypeError(
            f"scope must be a mapping of rule to enterprises; got {type(scope).__name__}"
        )
    out: dict[str, frozenset[str]] = {}
    for rule, usccs in scope.items():
        code = enum_values("scope keys", [rule], Rule)
        assert code is not None
        if isinstance(usccs, str):
            raise TypeError(f"scope[{rule}] must be a collection of USCCs; got a string")
        out[code[0]] = frozenset(str(u) for u in usccs)
    outside = [h for h in hits if h.uscc not in out.get(h.rule.value, frozenset())]
    if outside:
        raise ValueError(
            "hits must lie in the scope; got "
            f"({outside[0].uscc!r}, {outside[0].rule.value!r}) outside it"
        )
    return out


#: A record cited with its authority (:func:`risk.rule_checks.cited_ids`): 文号（机关）.
_WITH_AUTHORITY = re.compile(r"^(?P<number>.+)（[^（）]+）$")


def _fresh(hit: RuleHit, closed_evidence: Mapping[str, Any], closed_as_of: date) -> list[str]:
    """The record ids ``hit`` cites that the closed warning did not (its "new evidence").

    A record is cited with its authority (``罚〔2025〕1号（某县生态环境局）``) once its own
    subject holds that 文号 from a second authority; the closed warning may have cited it by
    the plain 文号, before the second one was decided. Such a record is not new: of the ids
    now citing a plain 文号 the closed warning cited, those decided by its date are the
    record it cited, and only the others are new.
    """
    seen = set(closed_evidence.get("record_ids", ()))
    decided = {
        entry["record_id"]: str(entry["decided"])
        for entries in hit.evidence.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict) and "record_id" in entry and "decided" in entry
    }
    fresh = []
    for record_id in sorted(set(hit.record_ids) - seen):
        cited = _WITH_AUTHORITY.match(record_id)
        when = decided.get(record_id)
        was_plain = cited is not None and cited["number"] in seen
        if was_plain and when is not None and when <= closed_as_of.isoformat():
            continue
        fresh.append(record_id)
    return fresh


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
    scope: Mapping[Rule, Iterable[str]] | None = None,
) -> RunSummary:
    """Write rule hits into the warnings store, in one transaction (:mod:`risk.warnings`).

    Parameters
    ----------
    engine
        A migrated store.
    hits
        From :func:`risk.rule_checks.evaluate_rules`; at most one per (uscc, rule).
    actor
        Written on the events.
    as_of
        The run date for the summary (default: the hits' date, or today when there are none).
    now
        The time written on rows and events (default: the current UTC time).
    rules
        The rules that were evaluated (default: all): only their open warnings can be stale.
    scope
        Rule → the enterprises it was evaluated for (default: every enterprise). A scoped
        upsert writes what a full run would write for those (enterprise, rule) pairs and
        nothing else: only their open warnings are read and can be stale, and a hit outside
        the scope is refused. A live update (:mod:`risk.live`) upserts the hits of the
        enterprises its change can move this way.

    Returns
    -------
    RunSummary

    Raises
    ------
    ValueError
        If two hits share an (uscc, rule), a rule is unknown, or a hit lies outside ``scope``.
    """
    actor = check_actor(actor)
    keys = [(h.uscc, h.rule.value) for h in hits]
    if len(set(keys)) != len(keys):
        dup = next(k for k, n in Counter(keys).items() if n > 1)
        raise ValueError(f"hits must be one per (uscc, rule); got {dup!r} twice")
    evaluated = set(enum_values("rules", rules, Rule) or [r.value for r in Rule])
    scoped = _scope(scope, hits)
    if scoped is not None:
        evaluated &= set(scoped)
    stamp = now or datetime.now(UTC)
    t, ev = warnings_table, warning_events_table
    created = updated = unchanged = reopened = suppressed = 0
    with engine.begin() as conn:
        at = stored_time(conn.dialect.name, stamp)
        in_scope = None if scoped is None else sorted(set().union(*scoped.values()))
        open_rows, closed = _existing(conn, sorted({h.uscc for h in hits}), in_scope)
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
                fresh = _fresh(hit, previous.evidence, previous.as_of)
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
            sorted(
                r.id
                for k, r in open_rows.items()
                if k not in hit_keys
                and k[1] in evaluated
                and (scoped is None or k[0] in scoped[k[1]])
            )
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
