"""Tests for risk.warnings: upserts, reopening, the lifecycle, queries and the 通报 list.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture of tests/conftest.py). The
store is seeded with the hand-made rows of test_rules.py; ``AS_OF`` is 2026-06-30 and the
frequency window (2024-06-30, 2026-06-30].

Seeded county (:func:`_seed`):

* U[0] 甲公司: three 市场监管 penalties in the window → 同一领域频繁违法 (orange);
* U[1] 乙公司: two 税务 penalties and one 生态环境 penalty → 多个领域多次违法 (orange);
* U[2] 丙公司: one penalty only → nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from risk.config import RiskConfig
from risk.contract import Domain
from risk.exceptions import IllegalTransitionError, RiskError, UnknownWarningError
from risk.rules import Level, Rule, RuleConfig, RuleHit
from risk.scoresets import begin_set, write_kind
from risk.store import warning_events_table, warnings_table
from risk.warnings import (
    NOTICE_COLUMNS,
    OPEN_STATUSES,
    TRANSITIONS,
    WarningStatus,
    get_warning,
    list_warnings,
    notice_frame,
    run_warnings,
    transition,
    upsert_hits,
    warning_events,
)
from tests.risk.test_rules import AS_OF, INSIDE, U, ent, penalties, rec, seed_store

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


def _seed(engine: Engine, extra: list[dict[str, Any]] | None = None) -> None:
    seed_store(
        engine,
        [ent(U[0], "甲公司"), ent(U[1], "乙公司"), ent(U[2], "丙公司")],
        [
            *penalties(U[0], *INSIDE),
            *penalties(U[1], "2025-01-01", "2025-02-01", domain="taxation"),
            *penalties(U[1], "2025-03-01", domain="ecology_environment"),
            *penalties(U[2], "2025-03-01"),
            *(extra or []),
        ],
    )


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _only(engine: Engine, uscc: str, rule: Rule) -> list[Any]:
    return list(list_warnings(engine, uscc=uscc, rule=rule).items)


def _hit(uscc: str, record_ids: list[str], level: Level = Level.orange, **kw: Any) -> RuleHit:
    domains = kw.pop("domains", (Domain.market_regulation,))
    return RuleHit(
        uscc=uscc,
        rule=kw.pop("rule", Rule.same_domain_frequent),
        level=level,
        domains=domains,
        regulators=tuple(
            {"market_regulation": "市场监管局", "taxation": "税务局"}[d] for d in domains
        ),
        evidence={"record_ids": record_ids, "records": [], "related": []},
        as_of=AS_OF.date(),
    )


# --------------------------------------------------------------------------- run and rerun


def test_run_creates_warnings_and_rerun_is_idempotent(engine: Engine) -> None:
    _seed(engine)
    first = run_warnings(engine, AS_OF)
    assert (first.hits, first.created, first.unchanged) == (2, 2, 0)
    assert first.by_rule == {"multi_domain_repeat": 1, "same_domain_frequent": 1}
    assert first.by_regulator == {"市场监管局": 1, "税务局": 1, "生态环境局": 1}
    assert first.by_level == {"orange": 2}
    page = list_warnings(engine)
    assert page.total == 2
    before = {(w.id, w.uscc, w.rule, w.fingerprint, w.updated_at) for w in page.items}
    events = _count(engine, warning_events_table)
    assert events == 2

    second = run_warnings(engine, AS_OF)
    assert (second.hits, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert _count(engine, warnings_table) == 2
    assert _count(engine, warning_events_table) == events  # no event for an unchanged hit
    assert {
        (w.id, w.uscc, w.rule, w.fingerprint, w.updated_at) for w in list_warnings(engine).items
    } == before

    (same_domain,) = _only(engine, U[0], Rule.same_domain_frequent)
    assert same_domain.status == WarningStatus.new and same_domain.is_open
    assert same_domain.evidence["enterprise_name"] == "甲公司"
    assert same_domain.regulators == ("市场监管局",)
    assert same_domain.as_of == AS_OF.date()
    (created,) = warning_events(engine, same_domain.id)
    assert (created.from_status, created.to_status, created.actor) == (None, "new", "credlink")

    data = same_domain.to_dict()
    assert data["rule_label"] == "同一领域频繁违法" and data["level_label"] == "橙色"
    assert data["status_label"] == "待处理" and data["regulators"] == ["市场监管局"]
    assert data["as_of"] == "2026-06-30" and len(data["evidence"]["record_ids"]) == 3
    summary = second.to_dict()
    assert summary["as_of"] == "2026-06-30" and summary["hits"] == 2 and summary["stale"] == []


def test_new_evidence_updates_the_open_warning_in_place(engine: Engine) -> None:
    _seed(engine)
    run_warnings(engine, AS_OF)
    (warning,) = _only(engine, U[0], Rule.same_domain_frequent)
    transition(engine, warning.id, "dispatched", "信用办 王科长")
    seed_store(engine, [], [rec("加罚", U[0], "2026-06-01", severity="serious")])

    summary = run_warnings(engine, AS_OF)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    (updated,) = _only(engine, U[0], Rule.same_domain_frequent)
    assert updated.id == warning.id
    assert updated.status == WarningStatus.dispatched  # the lifecycle is kept
    assert updated.level == Level.red  # a serious penalty joined
    assert "加罚" in updated.record_ids and updated.fingerprint != warning.fingerprint
    last = warning_events(engine, warning.id)[-1]
    assert (last.from_status, last.to_status) == ("dispatched", "dispatched")
    assert "证据更新" in (last.note or "") and "橙色→红色" in (last.note or "")
    assert _count(engine, warnings_table) == 2

    # A change of domains alone (same records, same level) also updates.
    upsert_hits(engine, [_hit(U[5], ["a", "b", "c"])])
    both = (Domain.market_regulation, Domain.taxation)
    assert upsert_hits(engine, [_hit(U[5], ["a", "b", "c"], domains=both)]).updated == 1
    (moved,) = list_warnings(engine, uscc=U[5]).items
    assert moved.regulators == ("市场监管局", "税务局")


def test_closed_warning_reopens_only_on_new_evidence(engine: Engine) -> None:
    _seed(engine)
    run_warnings(engine, AS_OF)
    (warning,) = _only(engine, U[0], Rule.same_domain_frequent)
    transition(engine, warning.id, "dispatched", "信用办")
    transition(engine, warning.id, "acknowledged", "市场监管局")
    transition(engine, warning.id, "closed", "市场监管局", "已约谈并责令整改")

    again = run_warnings(engine, AS_OF)
    assert (again.suppressed, again.reopened, again.created) == (1, 0, 0)
    assert len(_only(engine, U[0], Rule.same_domain_frequent)) == 1

    seed_store(engine, [], [rec("新罚", U[0], "2026-06-15")])
    reopened = run_warnings(engine, AS_OF)
    assert (reopened.reopened, reopened.suppressed) == (1, 0)
    rows = _only(engine, U[0], Rule.same_domain_frequent)
    assert len(rows) == 2
    fresh = next(w for w in rows if w.id != warning.id)
    assert fresh.status == WarningStatus.new and fresh.previous_id == warning.id
    assert get_warning(engine, warning.id).status == WarningStatus.closed  # kept as it was
    (event,) = warning_events(engine, fresh.id)
    assert f"#{warning.id}" in (event.note or "") and "新罚" in (event.note or "")

    # The reopened warning is the open one now: a rerun changes nothing.
    last = run_warnings(engine, AS_OF)
    assert (last.created, last.reopened, last.updated, last.unchanged) == (0, 0, 0, 2)


def _close(engine: Engine, warning_id: int) -> None:
    transition(engine, warning_id, "dispatched", "信用办")
    transition(engine, warning_id, "acknowledged", "市场监管局")
    transition(engine, warning_id, "closed", "市场监管局", "已约谈并责令整改")


def test_a_closed_warning_stays_closed_when_another_authority_reuses_a_number(
    engine: Engine,
) -> None:
    mine = [rec(f"罚〔2025〕{i}号", U[0], d) for i, d in enumerate(INSIDE, 1)]
    seed_store(engine, [ent(U[0], "甲公司"), ent(U[1], "乙公司")], mine)
    run_warnings(engine, AS_OF)
    (warning,) = _only(engine, U[0], Rule.same_domain_frequent)
    _close(engine, warning.id)

    # Another bureau numbers a penalty of another enterprise like U[0]'s first one.
    other = {**rec("罚〔2025〕1号", U[1], "2026-06-01"), "authority": "滁州市生态环境局"}
    seed_store(engine, [], [other])
    again = run_warnings(engine, AS_OF)

    assert (again.reopened, again.suppressed) == (0, 1)
    assert [w.id for w in _only(engine, U[0], Rule.same_domain_frequent)] == [warning.id]


def test_a_reopened_warning_names_only_the_new_record_when_a_number_becomes_shared(
    engine: Engine,
) -> None:
    days = ("2024-07-01", "2025-03-01", "2026-05-01")
    mine = [rec(f"罚〔2025〕{i}号", U[0], d) for i, d in enumerate(days, 1)]
    seed_store(engine, [ent(U[0], "甲公司")], mine)
    run_warnings(engine, date(2026, 5, 31))
    (warning,) = _only(engine, U[0], Rule.same_domain_frequent)
    assert "罚〔2025〕1号" in warning.record_ids
    _close(engine, warning.id)

    # Another bureau's penalty of U[0] numbered alike: new evidence, and the only new one
    # (the first, cited now with its authority, is the record the closed warning cited).
    later = {**rec("罚〔2025〕1号", U[0], "2026-06-15"), "authority": "滁州市市场监督管理局"}
    seed_store(engine, [], [later])
    reopened = run_warnings(engine, AS_OF)

    assert reopened.reopened == 1
    fresh = next(w for w in _only(engine, U[0], Rule.same_domain_frequent) if w.id != warning.id)
    (event,) = warning_events(engine, fresh.id)
    assert (
        event.note == f"已办结预警 #{warning.id} 出现新证据：罚〔2025〕1号（滁州市市场监督管理局）"
    )


def test_warning_no_longer_triggered_stays_open_and_is_reported_stale(engine: Engine) -> None:
    _seed(engine)
    run_warnings(engine, AS_OF)
    (warning,) = _only(engine, U[0], Rule.same_domain_frequent)
    # A year later the 2024-07-01 and 2025-03-01 penalties have left the 24-month window.
    later = run_warnings(engine, date(2027, 6, 30))
    assert warning.id in later.stale
    assert get_warning(engine, warning.id).status == WarningStatus.new
    # A run of other rules says nothing about this one.
    linked_only = run_warnings(
        engine, date(2027, 6, 30), RiskConfig(rules=RuleConfig(rules={"linked_risk"}))
    )
    assert linked_only.stale == ()


def test_a_scoped_upsert_writes_and_reports_only_inside_its_scope(engine: Engine) -> None:
    _seed(engine)
    run_warnings(engine, AS_OF)  # U[0] same_domain, U[1] multi_domain, both open
    # U[0]'s hit gains a record; U[1] is not hit but lies outside the scope: not stale.
    hit = _hit(U[0], ["a", "b", "c", "d"])
    scope = {Rule.same_domain_frequent: [U[0], U[2]], Rule.multi_domain_repeat: [U[2]]}
    summary = upsert_hits(engine, [hit], as_of=AS_OF.date(), scope=scope)
    assert (summary.updated, summary.created, summary.stale) == (1, 0, ())
    (w,) = _only(engine, U[0], Rule.same_domain_frequent)
    assert w.evidence["record_ids"] == ["a", "b", "c", "d"]
    # In scope and not hit: reported stale (and left open, as a full run leaves it).
    (multi,) = _only(engine, U[1], Rule.multi_domain_repeat)
    inside = upsert_hits(engine, [], scope={Rule.multi_domain_repeat: [U[1]]})
    assert inside.stale == (multi.id,) and _only(engine, U[1], Rule.multi_domain_repeat)[0].is_open
    with pytest.raises(ValueError, match="hits must lie in the scope"):
        upsert_hits(engine, [_hit(U[1], ["x"])], scope={Rule.same_domain_frequent: [U[0]]})
    with pytest.raises(ValueError, match="scope keys must be one of"):
        upsert_hits(engine, [], scope={"no_such_rule": [U[0]]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="must be a collection of USCCs"):
        upsert_hits(engine, [], scope={Rule.linked_risk: U[0]})


def test_open_warnings_are_unique_in_the_database(engine: Engine) -> None:
    now = datetime(2026, 7, 1, tzinfo=UTC)
    row = {
        "uscc": U[0],
        "rule": "same_domain_frequent",
        "level": "orange",
        "domains": "market_regulation",
        "regulators": "市场监管局",
        "evidence": {"record_ids": []},
        "fingerprint": "0" * 64,
        "status": "new",
        "as_of": AS_OF.date(),
        "created_at": now,
        "updated_at": now,
    }
    with engine.begin() as conn:
        conn.execute(insert(warnings_table), {**row, "status": "closed"})
        conn.execute(insert(warnings_table), {**row, "status": "closed"})  # history may repeat
        conn.execute(insert(warnings_table), row)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(warnings_table), {**row, "status": "dispatched"})


def test_upsert_rejects_duplicate_hits() -> None:
    engine = create_engine("sqlite://")  # refused before the store is touched
    hit = _hit(U[0], ["a"])
    with pytest.raises(ValueError, match=r"hits must be one per \(uscc, rule\); got .* twice"):
        upsert_hits(engine, [hit, hit])
    with pytest.raises(ValueError, match=r"actor must be 1–100 characters; got ' '"):
        upsert_hits(engine, [hit], actor=" ")


# --------------------------------------------------------------------------- lifecycle


def test_full_lifecycle_appends_events(engine: Engine) -> None:
    upsert_hits(engine, [_hit(U[0], ["a"])])
    (warning,) = list_warnings(engine).items
    when = datetime(2026, 7, 2, 9, 30, tzinfo=UTC)
    for status, actor in (
        ("dispatched", "信用办"),
        ("acknowledged", "市场监管局"),
        ("closed", "市场监管局"),
    ):
        moved = transition(engine, warning.id, status, actor, "处理意见", now=when)
        assert moved.status == status
        when += timedelta(days=1)
    events = warning_events(engine, warning.id)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "new"),
        ("new", "dispatched"),
        ("dispatched", "acknowledged"),
        ("acknowledged", "closed"),
    ]
    assert events[-1].actor == "市场监管局" and events[-1].note == "处理意见"
    assert events[1].at == datetime(2026, 7, 2, 9, 30, tzinfo=UTC)
    assert get_warning(engine, warning.id).updated_at == datetime(2026, 7, 4, 9, 30, tzinfo=UTC)
    assert events[-1].to_dict()["to_status"] == "closed"

    # A new warning may be dismissed (closed without dispatch), with a reason.
    upsert_hits(engine, [_hit(U[1], ["b"])])
    (other,) = list_warnings(engine, uscc=U[1]).items
    assert transition(engine, other.id, WarningStatus.closed, "信用办", "误报").status == "closed"


ILLEGAL = [
    ([], "acknowledged", r"after new must be one of dispatched, closed; got 'acknowledged'"),
    ([], "new", r"after new must be one of dispatched, closed; got 'new'"),
    (["dispatched"], "closed", r"after dispatched must be one of acknowledged; got 'closed'"),
    (["dispatched"], "new", r"after dispatched must be one of acknowledged; got 'new'"),
    (
        ["dispatched", "acknowledged"],
        "dispatched",
        r"after acknowledged must be one of closed; got 'dispatched'",
    ),
    (
        ["closed"],
        "new",
        r"after closed must be unchanged: a closed warning reopens only on new evidence; "
        r"got 'new'",
    ),
]


def test_illegal_transitions_raise(engine: Engine) -> None:
    # One warning per case (one database per backend keeps the suite fast).
    upsert_hits(engine, [_hit(U[i], [f"r{i}"]) for i in range(len(ILLEGAL))])
    for i, (path, illegal, match) in enumerate(ILLEGAL):
        (warning,) = list_warnings(engine, uscc=U[i]).items
        for status in path:
            transition(engine, warning.id, status, "信用办", "note")
        events = len(warning_events(engine, warning.id))
        with pytest.raises(IllegalTransitionError, match=match) as caught:
            transition(engine, warning.id, illegal, "信用办", "note")
        error = caught.value
        assert isinstance(error, RiskError) and isinstance(error, ValueError)
        assert (error.warning_id, error.to_status) == (warning.id, illegal)
        assert error.from_status == (path[-1] if path else "new")
        assert len(warning_events(engine, warning.id)) == events  # nothing written
        assert get_warning(engine, warning.id).status == (path[-1] if path else "new")


def test_transition_validation(engine: Engine) -> None:
    upsert_hits(engine, [_hit(U[0], ["a"])])
    (warning,) = list_warnings(engine).items
    with pytest.raises(UnknownWarningError, match=r"warning_id must be a stored warning; got 999"):
        transition(engine, 999, "dispatched", "信用办")
    with pytest.raises(KeyError):
        get_warning(engine, 999)
    with pytest.raises(UnknownWarningError):
        warning_events(engine, 999)
    with pytest.raises(
        ValueError, match=r"to_status must be one of new, dispatched, .*; got 'done'"
    ):
        transition(engine, warning.id, "done", "信用办")
    with pytest.raises(
        ValueError, match=r"note must say why the warning is closed; got an empty note"
    ):
        transition(engine, warning.id, "closed", "信用办", "  ")
    with pytest.raises(ValueError, match=r"actor must be 1–100 characters; got ''"):
        transition(engine, warning.id, "dispatched", "")
    with pytest.raises(TypeError, match=r"actor must be a string; got NoneType"):
        transition(engine, warning.id, "dispatched", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"warning_id must be an int; got str"):
        transition(engine, "1", "dispatched", "信用办")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"to_status must be a status code; got list"):
        transition(engine, warning.id, ["dispatched"], "信用办")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"note must be a string or None; got int"):
        transition(engine, warning.id, "dispatched", "信用办", 5)  # type: ignore[arg-type]
    assert get_warning(engine, warning.id).status == "new"


def test_lifecycle_table() -> None:
    assert set(WarningStatus) - {WarningStatus.closed} == OPEN_STATUSES
    assert TRANSITIONS[WarningStatus.closed] == frozenset()
    assert WarningStatus.closed in TRANSITIONS[WarningStatus.acknowledged]


# --------------------------------------------------------------------------- queries


def test_list_filters_and_pagination(engine: Engine) -> None:
    upsert_hits(
        engine,
        [
            _hit(U[0], ["a"], Level.yellow),
            _hit(U[1], ["b"], Level.red, domains=(Domain.taxation,)),
            _hit(U[2], ["c"], Level.orange, domains=(Domain.market_regulation, Domain.taxation)),
            _hit(U[2], ["d"], Level.orange, rule=Rule.after_repair),
        ],
        now=datetime(2026, 7, 1, 8, tzinfo=UTC),
    )
    everything = list_warnings(engine)
    assert everything.total == 4
    assert [w.level for w in everything.items] == ["red", "orange", "orange", "yellow"]
    # Newest first within a level.
    assert everything.items[1].id > everything.items[2].id

    def usccs(**kw: Any) -> list[str]:
        return sorted(w.uscc for w in list_warnings(engine, **kw).items)

    assert usccs(level="orange") == [U[2], U[2]]
    assert usccs(level=["red", "yellow"]) == [U[0], U[1]]
    assert usccs(rule="after_repair") == [U[2]]
    assert usccs(domain="taxation") == [U[1], U[2]]
    assert usccs(regulator="税务局") == usccs(regulator="taxation") == [U[1], U[2]]
    assert usccs(regulator="市场监管局") == [U[0], U[2], U[2]]
    assert usccs(status="new") == sorted([U[0], U[1], U[2], U[2]])
    assert usccs(status="closed") == []
    assert usccs(uscc=U[1]) == [U[1]]

    first = list_warnings(engine, limit=3)
    second = list_warnings(engine, limit=3, offset=3)
    assert (first.total, len(first.items), len(second.items)) == (4, 3, 1)
    assert {w.id for w in first.items}.isdisjoint(w.id for w in second.items)
    assert second.to_dict()["offset"] == 3

    target = everything.items[-1].id
    transition(engine, target, "dispatched", "信用办", now=datetime(2026, 7, 5, tzinfo=UTC))
    assert [w.id for w in list_warnings(engine, since=date(2026, 7, 2)).items] == [target]
    assert list_warnings(engine, since=datetime(2026, 7, 1, 8, tzinfo=UTC)).total == 4
    assert list_warnings(engine, since=date(2026, 7, 6)).total == 0


def test_list_sorted_by_learned_probability_in_the_store(engine: Engine) -> None:
    upsert_hits(
        engine,
        [
            _hit(U[0], ["a"], Level.yellow),
            _hit(U[1], ["b"], Level.red, domains=(Domain.taxation,)),
            _hit(U[2], ["c"], Level.orange),
            _hit(U[2], ["d"], Level.orange, rule=Rule.after_repair),
            _hit(U[3], ["e"], Level.red, rule=Rule.after_repair),
        ],
        now=datetime(2026, 7, 1, 8, tzinfo=UTC),
    )
    ids = {(w.uscc, w.record_ids[0]): w.id for w in list_warnings(engine).items}
    # A set scoring U[0] highest, U[2] next, U[1] last; U[3] not scored (not existing).
    set_id = begin_set(engine, AS_OF.date(), config_digest="x", config={})
    learned = pd.DataFrame({"subject_id": [U[0], U[1], U[2]], "probability": [0.9, 0.1, 0.5]})
    write_kind(engine, set_id, "learned", learned)
    other = begin_set(engine, AS_OF.date(), config_digest="x", config={})  # never joined
    write_kind(engine, other, "learned", learned.assign(probability=[0.0, 1.0, 0.0]))

    page = list_warnings(engine, sort="learned", learned_set=set_id)
    # U[0] 0.9; U[2] 0.5 twice (newest first); U[1] 0.1; U[3] unscored last.
    assert [w.id for w in page.items] == [
        ids[(U[0], "a")],
        ids[(U[2], "d")],
        ids[(U[2], "c")],
        ids[(U[1], "b")],
        ids[(U[3], "e")],
    ]
    assert page.learned == (0.9, 0.5, 0.5, 0.1, None)
    assert page.to_dict()["items"][0]["learned_probability"] == 0.9
    paged = [
        w.id
        for offset in (0, 2, 4)
        for w in list_warnings(
            engine, sort="learned", learned_set=set_id, limit=2, offset=offset
        ).items
    ]
    assert paged == [w.id for w in page.items]
    red = list_warnings(engine, level="red", sort="learned", learned_set=set_id)
    assert [w.id for w in red.items] == [ids[(U[1], "b")], ids[(U[3], "e")]] and red.total == 2
    # The level order with the probabilities alongside; without a set, none.
    by_level = list_warnings(engine, learned_set=set_id)
    assert [w.id for w in by_level.items] == [w.id for w in list_warnings(engine).items]
    assert by_level.learned is not None and list_warnings(engine).learned is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sort": "probability"}, ValueError, r"sort must be level or learned; got 'probability'"),
        ({"sort": "learned"}, ValueError, r"sort=learned needs a learned_set"),
        ({"learned_set": 0}, ValueError, r"learned_set must be an int in \[1, inf\); got 0"),
        (
            {"level": "purple"},
            ValueError,
            r"level must be one of red, orange, yellow; got 'purple'",
        ),
        ({"rule": "nope"}, ValueError, r"rule must be one of same_domain_frequent, .*; got 'nope'"),
        ({"status": ["new", "gone"]}, ValueError, r"status must be one of new, .*; got 'gone'"),
        (
            {"domain": "space"},
            ValueError,
            r"domain must be one of market_regulation, .*; got 'space'",
        ),
        ({"regulator": "海关"}, ValueError, r"regulator must be one of 市场监管局 .*; got '海关'"),
        ({"since": "2026-01-01"}, TypeError, r"since must be a date or datetime; got str"),
        ({"limit": 0}, ValueError, r"limit must be an int in \[1, 1000\]; got 0"),
        ({"limit": 1001}, ValueError, r"limit must be an int in \[1, 1000\]; got 1001"),
        ({"offset": -1}, ValueError, r"offset must be an int in \[0, inf\); got -1"),
        ({"limit": "5"}, TypeError, r"limit must be an int; got str"),
        ({"domain": ["taxation"]}, TypeError, r"domain must be a string; got list"),
        ({"regulator": 3}, TypeError, r"regulator must be a string; got int"),
    ],
)
def test_list_validation(kwargs: dict[str, Any], error: type, match: str) -> None:
    # Filters are validated before the store is touched: an empty engine will do.
    engine = create_engine("sqlite://")
    with pytest.raises(error, match=match):
        list_warnings(engine, **kwargs)


# --------------------------------------------------------------------------- 通报 list


def test_notice_frame_has_chinese_headers_and_only_that_regulator(engine: Engine) -> None:
    _seed(engine)
    run_warnings(engine, AS_OF)
    taxation = notice_frame(engine, "税务局")
    assert list(taxation.columns) == list(NOTICE_COLUMNS)
    assert list(NOTICE_COLUMNS) == [
        "企业名称",
        "统一社会信用代码",
        "预警规则",
        "预警等级",
        "涉及领域",
        "主管部门",
        "证据(决定书文号)",
        "预警日期",
        "状态",
    ]
    (row,) = taxation.to_dict(orient="records")
    assert row["企业名称"] == "乙公司" and row["统一社会信用代码"] == U[1]
    assert row["预警规则"] == "多个领域多次违法" and row["预警等级"] == "橙色"
    assert row["涉及领域"] == "生态环境、税务" and row["主管部门"] == "生态环境局、税务局"
    assert row["证据(决定书文号)"].count("；") == 2
    assert (row["预警日期"], row["状态"]) == ("2026-06-30", "待处理")
    assert notice_frame(engine, "taxation").equals(taxation)
    market = notice_frame(engine, "市场监管局")
    assert market["统一社会信用代码"].tolist() == [U[0]]
    # Closed warnings leave the list unless asked for.
    (warning,) = _only(engine, U[0], Rule.same_domain_frequent)
    transition(engine, warning.id, "closed", "信用办", "已核实")
    assert notice_frame(engine, "市场监管局").empty
    assert len(notice_frame(engine, "市场监管局", status="closed")) == 1
    assert list(notice_frame(engine, "法院").columns) == list(NOTICE_COLUMNS)
    with pytest.raises(ValueError, match=r"regulator must be one of .*; got '海关'"):
        notice_frame(engine, "海关")
    with pytest.raises(TypeError, match=r"regulator must be a string; got NoneType"):
        notice_frame(engine, None)  # type: ignore[arg-type]


def test_notice_frame_masks_id_numbers_an_old_store_holds(engine: Engine) -> None:
    # Stored before ingest refused them: an ID number in a name and in 决定书文号.
    number = "11010519491231002X"
    seed_store(
        engine,
        [ent(U[1], f"乙公司（经营者 {number}）")],
        [
            rec(f"税罚〔2025〕{d}号 {number}", U[1], f"2025-0{d}-01", domain="taxation")
            for d in (1, 2, 3)
        ],
    )
    run_warnings(engine, AS_OF)
    (row,) = notice_frame(engine, "税务局").to_dict(orient="records")
    assert row["企业名称"] == "乙公司（经营者 110105********002X）"
    assert row["证据(决定书文号)"].count("110105********002X") == 3
    assert number not in str(row)
