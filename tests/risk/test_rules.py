"""Tests for risk.rules: each warning rule on hand-made record histories, with its boundaries.

Every test builds a tiny county with :func:`county` and runs :func:`evaluate_rules` on
``AS_OF`` = 2026-06-30. The frequency window of 24 months is (2024-06-30, 2026-06-30]: a
penalty decided on 2024-07-01 is inside, one decided on 2024-06-30 is one day outside.
Records get an explicit ``publicity_end`` far after ``AS_OF`` unless a test says otherwise,
so that only the rule under test decides.

The helpers (:func:`ent`, :func:`rec`, :func:`role`, :func:`county`, :func:`seed_store`)
are shared with test_warnings.py, test_grades.py and tests/serving/cli/test_warn.py.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from risk.config import RiskConfig
from risk.contract import Domain, RecordKind, Severity, regulator_for
from risk.exceptions import InvalidFrameError, RiskError
from risk.graph import GraphSnapshot
from risk.identifiers import make_uscc
from risk.propagation import PropagationConfig, RiskPropagator
from risk.publicity import active_mask, resolve_publicity
from risk.rule_checks import evaluate_rules
from risk.rules import (
    PENALTY_KINDS,
    REOFFENCE_KINDS,
    SERIOUS_LIST_KINDS,
    Level,
    Rule,
    RuleConfig,
    RuleHit,
    RuleInputs,
    ThresholdMode,
    evidence_fingerprint,
    existing_on,
    hits_frame,
)
from risk.store import contract_table
from risk.synth import SynthConfig, generate_county

AS_OF = pd.Timestamp("2026-06-30")
FAR = "2030-01-01"  # a publicity end long after AS_OF
U = [make_uscc("9", "1", "340321", f"MA0000{i:03d}") for i in range(20)]


# --------------------------------------------------------------------------- helpers


def ent(
    uscc: str, name: str | None = None, founded: str = "2015-01-01", closed: str | None = None
) -> dict[str, Any]:
    """An enterprise row of the contract."""
    return {
        "uscc": uscc,
        "name": name or f"企业{U.index(uscc) if uscc in U else uscc}号有限公司",
        "kind": "company",
        "status": "active" if closed is None else "deregistered",
        "industry": "C",
        "region": "340321",
        "registered_capital": 100.0,
        "founded": founded,
        "closed": closed,
    }


def rec(
    record_id: str,
    subject: str,
    decided: str,
    kind: str = "administrative_penalty",
    domain: str = "market_regulation",
    severity: str = "general",
    *,
    publicity_end: str | None = FAR,
    repaired: str | None = None,
    removed: str | None = None,
    subject_type: str = "enterprise",
) -> dict[str, Any]:
    """A record row of the contract."""
    return {
        "record_id": record_id,
        "subject_type": subject_type,
        "subject_id": subject,
        "subject_name": None,
        "kind": kind,
        "domain": domain,
        "severity": severity,
        "authority": "来安县市场监督管理局",  # half of the key (records: 文号 + authority)
        "decided": decided,
        "publicity_end": publicity_end,
        "repaired": repaired,
        "removed": removed,
        "amount": None,
        "regime": "explicit" if publicity_end else "open_ended",
    }


def role(
    uscc: str,
    holder_id: str,
    kind: str = "legal_rep",
    *,
    start: str = "2015-01-01",
    end: str | None = None,
    share: float | None = None,
    holder_type: str = "person",
) -> dict[str, Any]:
    """A role row of the contract."""
    return {
        "uscc": uscc,
        "holder_type": holder_type,
        "holder_id": holder_id,
        "role": kind,
        "share": share,
        "start": start,
        "end": end,
    }


DATE_COLUMNS = {
    "enterprises": ("founded", "closed"),
    "roles": ("start", "end"),
    "records": ("decided", "publicity_end", "repaired", "removed"),
}


def _frame(rows: Sequence[dict[str, Any]], table: str, columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(columns))
    for column in DATE_COLUMNS.get(table, ()):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
    if table == "roles":
        frame["share"] = frame["share"].astype("float64")
    return frame


def county(
    enterprises: Iterable[dict[str, Any]],
    records: Iterable[dict[str, Any]] = (),
    roles: Iterable[dict[str, Any]] = (),
    persons: Iterable[tuple[str, str]] = (),
) -> RuleInputs:
    """RuleInputs of a hand-made county."""
    return RuleInputs(
        enterprises=_frame(list(enterprises), "enterprises", list(ent(U[0]))),
        persons=pd.DataFrame(list(persons), columns=["person_id", "name"]),
        roles=_frame(list(roles), "roles", list(role(U[0], "P"))),
        records=_frame(list(records), "records", list(rec("x", U[0], "2020-01-01"))),
    )


def seed_store(
    engine: Engine,
    enterprises: Iterable[dict[str, Any]],
    records: Iterable[dict[str, Any]] = (),
    roles: Iterable[dict[str, Any]] = (),
    persons: Iterable[tuple[str, str]] = (),
) -> None:
    """Insert hand-made rows into a migrated store (dates as ISO strings are converted)."""

    def rows(table: str, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            row = dict(item)
            for column in DATE_COLUMNS.get(table, ()):
                if row.get(column):
                    row[column] = pd.Timestamp(row[column]).date()
            out.append(row)
        return out

    with engine.begin() as conn:
        for table, items in (
            ("enterprises", enterprises),
            (
                "persons",
                [
                    {"person_id": p, "name": n, "id_hash": "0" * 64, "id_masked": "340321**"}
                    for p, n in persons
                ],
            ),
            ("roles", roles),
            ("records", records),
        ):
            batch = rows(table, items)
            if batch:
                conn.execute(insert(contract_table(table)), batch)


def hits_of(data: RuleInputs, rule: Rule, config: RuleConfig | None = None) -> list[RuleHit]:
    config = config or RuleConfig()
    only = dataclasses.replace(config, rules=frozenset({rule}))
    return evaluate_rules(data, AS_OF, RiskConfig(rules=only))


def penalties(subject: str, *days: str, domain: str = "market_regulation", **kw: Any) -> list:
    return [rec(f"{subject}-{domain}-{d}", subject, d, domain=domain, **kw) for d in days]


# --------------------------------------------------------------------------- 同一领域频繁违法

INSIDE = ("2024-07-01", "2025-03-01", "2026-06-30")  # first and last days of the window


def test_same_domain_exactly_three_in_the_window_triggers() -> None:
    data = county([ent(U[0])], penalties(U[0], *INSIDE))
    (hit,) = hits_of(data, Rule.same_domain_frequent)
    assert hit.uscc == U[0]
    assert hit.rule == Rule.same_domain_frequent
    assert hit.level == Level.orange
    assert hit.domains == (Domain.market_regulation,)
    assert hit.regulators == ("市场监管局",)
    assert hit.as_of == AS_OF.date()
    assert hit.record_ids == tuple(sorted(f"{U[0]}-market_regulation-{d}" for d in INSIDE))
    assert hit.evidence["counts"] == {"market_regulation": 3}
    assert hit.evidence["window"] == {"after": "2024-06-30", "until": "2026-06-30"}
    assert [r["decided"] for r in hit.evidence["records"]] == list(INSIDE)


def test_two_authorities_sharing_a_number_are_two_records_in_the_evidence() -> None:
    # Records are keyed by (文号, authority): the same 文号 from two bureaus is two penalties,
    # and the evidence cites each with its authority; a 文号 of one authority stays plain.
    a, b = INSIDE[0], INSIDE[1]
    records = [
        {**rec("罚〔2025〕1号", U[0], a), "authority": "来安县市场监督管理局"},
        {**rec("罚〔2025〕1号", U[0], b), "authority": "滁州市市场监督管理局"},
        {**rec("罚〔2025〕3号", U[0], INSIDE[2]), "authority": "来安县市场监督管理局"},
    ]
    (hit,) = hits_of(county([ent(U[0])], records), Rule.same_domain_frequent)
    assert hit.record_ids == (
        "罚〔2025〕1号（来安县市场监督管理局）",
        "罚〔2025〕1号（滁州市市场监督管理局）",
        "罚〔2025〕3号",
    )
    assert hit.evidence["counts"] == {"market_regulation": 3}


def test_another_subjects_record_numbered_alike_leaves_the_citation_unchanged() -> None:
    # An unrelated bureau gives another enterprise a penalty numbered like one of U[0]'s:
    # U[0]'s evidence still cites its own 文号 plainly (its fingerprint is unchanged).
    mine = [rec(f"罚〔2025〕{i}号", U[0], d) for i, d in enumerate(INSIDE, 1)]
    other = {**rec("罚〔2025〕1号", U[1], INSIDE[0]), "authority": "滁州市生态环境局"}
    (before,) = hits_of(county([ent(U[0]), ent(U[1])], mine), Rule.same_domain_frequent)
    (after,) = hits_of(county([ent(U[0]), ent(U[1])], [*mine, other]), Rule.same_domain_frequent)
    assert (
        after.record_ids == before.record_ids == ("罚〔2025〕1号", "罚〔2025〕2号", "罚〔2025〕3号")
    )
    assert after.fingerprint == before.fingerprint


def test_a_past_date_cites_records_as_they_stood_on_it() -> None:
    # U[0]'s second 罚〔2025〕1号, from another bureau, is decided after 2026-05-31: evaluated
    # on that date, the first is cited as it was then, by its plain 文号.
    days = ("2024-07-01", "2025-03-01", "2026-05-01")
    mine = [rec(f"罚〔2025〕{i}号", U[0], d) for i, d in enumerate(days, 1)]
    later = {**rec("罚〔2025〕1号", U[0], "2026-06-15"), "authority": "滁州市市场监督管理局"}
    only = dataclasses.replace(RuleConfig(), rules=frozenset({Rule.same_domain_frequent}))
    config = RiskConfig(rules=only)
    day = pd.Timestamp("2026-05-31")
    (then,) = evaluate_rules(county([ent(U[0])], mine), day, config)
    (again,) = evaluate_rules(county([ent(U[0])], [*mine, later]), day, config)
    assert (
        again.record_ids == then.record_ids == ("罚〔2025〕1号", "罚〔2025〕2号", "罚〔2025〕3号")
    )
    # On a date after it both are cited with their authorities.
    (now,) = evaluate_rules(county([ent(U[0])], [*mine, later]), AS_OF, config)
    assert now.record_ids == (
        "罚〔2025〕1号（来安县市场监督管理局）",
        "罚〔2025〕1号（滁州市市场监督管理局）",
        "罚〔2025〕2号",
        "罚〔2025〕3号",
    )


def test_same_domain_one_day_outside_the_window_does_not_trigger() -> None:
    data = county([ent(U[0])], penalties(U[0], "2024-06-30", *INSIDE[1:]))
    assert hits_of(data, Rule.same_domain_frequent) == []


def test_same_domain_two_penalties_do_not_trigger() -> None:
    data = county([ent(U[0])], penalties(U[0], *INSIDE[:2]))
    assert hits_of(data, Rule.same_domain_frequent) == []


def test_same_domain_three_in_different_domains_is_not_same_domain() -> None:
    records = [
        *penalties(U[0], *INSIDE[:2]),
        *penalties(U[0], INSIDE[2], domain="taxation"),
    ]
    assert hits_of(county([ent(U[0])], records), Rule.same_domain_frequent) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"repaired": "2026-01-01"}, "repaired (信用修复) before as_of"),
        ({"removed": "2026-06-30"}, "removed on as_of itself"),
        ({"publicity_end": "2026-06-30"}, "publicity ended on as_of"),
        ({"publicity_end": "2025-01-01"}, "expired long ago"),
    ],
)
def test_a_repaired_removed_or_expired_penalty_triggers_nothing(
    change: dict[str, str], why: str
) -> None:
    records = penalties(U[0], *INSIDE)
    records[1] = {**records[1], **change}
    data = county([ent(U[0])], records)
    assert hits_of(data, Rule.same_domain_frequent) == [], why
    # Nor does it trigger another rule: at most it is the earlier record of 修复后再犯.
    for hit in evaluate_rules(data, AS_OF):
        assert records[1]["record_id"] not in [r["record_id"] for r in hit.evidence["records"]]


def test_a_repair_after_as_of_does_not_count_yet() -> None:
    records = penalties(U[0], *INSIDE)
    records[1] = {**records[1], "repaired": "2026-07-01"}
    assert len(hits_of(county([ent(U[0])], records), Rule.same_domain_frequent)) == 1


def test_records_decided_after_as_of_are_ignored() -> None:
    data = county([ent(U[0])], penalties(U[0], *INSIDE[:2], "2026-07-01"))
    assert hits_of(data, Rule.same_domain_frequent) == []


def test_existing_on() -> None:
    frame = county(
        [
            ent(U[0]),
            ent(U[1], founded="2026-06-30"),  # founded on as_of: exists
            ent(U[2], founded="2026-07-01"),
            ent(U[3], closed="2026-06-30"),  # closed on as_of: gone
            ent(U[4], closed="2026-07-01"),
        ]
    ).enterprises
    assert existing_on(frame, AS_OF).tolist() == [True, True, False, False, True]
    assert (
        existing_on(frame.drop(columns="closed"), AS_OF).tolist()
        == [True] * 2 + [False] + [True] * 2
    )


def test_closed_or_unfounded_enterprises_and_person_records_get_no_warning() -> None:
    data = county(
        [ent(U[0], closed="2026-05-01"), ent(U[1], founded="2026-07-01"), ent(U[2])],
        [
            *penalties(U[0], *INSIDE),
            *penalties(U[1], *INSIDE),
            *(rec(f"p{i}", "P1", d, subject_type="person") for i, d in enumerate(INSIDE)),
        ],
    )
    assert evaluate_rules(data, AS_OF) == []


def test_only_penalty_kinds_count() -> None:
    records = [rec(f"a{i}", U[0], d, kind="abnormal_operation") for i, d in enumerate(INSIDE)] + [
        rec("t1", U[1], INSIDE[0], kind="tax_violation", domain="taxation"),
        rec("t2", U[1], INSIDE[1], kind="administrative_penalty", domain="taxation"),
        rec("t3", U[1], INSIDE[2], kind="wage_arrears", domain="taxation"),
    ]
    hits = hits_of(county([ent(U[0]), ent(U[1])], records), Rule.same_domain_frequent)
    assert [h.uscc for h in hits] == [U[1]]
    expected = {RecordKind.administrative_penalty, RecordKind.tax_violation}
    assert expected | {RecordKind.wage_arrears} == PENALTY_KINDS


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        (("general", "general", "general"), Level.orange),
        (("minor", "minor", "general"), Level.orange),
        (("minor", "minor", "minor"), Level.yellow),
        (("minor", "serious", "general"), Level.red),
    ],
)
def test_frequency_level_follows_severity(severities: tuple[str, ...], expected: Level) -> None:
    records = [
        rec(f"r{i}", U[0], d, severity=s)
        for i, (d, s) in enumerate(zip(INSIDE, severities, strict=True))
    ]
    (hit,) = hits_of(county([ent(U[0])], records), Rule.same_domain_frequent)
    assert hit.level == expected


def test_frequency_level_is_red_from_escalate_count() -> None:
    days = ["2024-08-01", "2024-10-01", "2025-01-01", "2025-04-01", "2025-08-01", "2026-01-01"]
    data = county([ent(U[0])], penalties(U[0], *days, severity="minor"))
    assert hits_of(data, Rule.same_domain_frequent)[0].level == Level.red
    data = county([ent(U[0])], penalties(U[0], *days[:5], severity="minor"))
    assert hits_of(data, Rule.same_domain_frequent)[0].level == Level.yellow


def test_penalty_min_severity_leaves_out_minor_penalties() -> None:
    records = [
        rec(f"r{i}", U[0], d, severity=s)
        for i, (d, s) in enumerate(zip(INSIDE, ("minor", "general", "general"), strict=True))
    ]
    data = county([ent(U[0])], records)
    config = RuleConfig(penalty_min_severity="general")
    assert hits_of(data, Rule.same_domain_frequent, config) == []
    assert len(hits_of(data, Rule.same_domain_frequent)) == 1


# --------------------------------------------------------------------------- 多个领域多次违法


def test_multi_domain_two_domains_three_in_total_triggers() -> None:
    records = [
        *penalties(U[0], "2024-07-01", "2025-01-01", domain="taxation"),
        *penalties(U[0], "2026-06-30", domain="market_regulation"),
    ]
    (hit,) = hits_of(county([ent(U[0])], records), Rule.multi_domain_repeat)
    # Domains in Domain order, regulators from the one domain → regulator map.
    assert hit.domains == (Domain.market_regulation, Domain.taxation)
    assert hit.regulators == ("市场监管局", "税务局")
    assert hit.evidence["counts"] == {"market_regulation": 1, "taxation": 2}
    assert len(hit.record_ids) == 3
    assert hit.level == Level.orange


def test_multi_domain_boundaries() -> None:
    def run(records: list) -> list[RuleHit]:
        return hits_of(county([ent(U[0])], records), Rule.multi_domain_repeat)

    # Two in total (N − 1): nothing.
    assert (
        run([*penalties(U[0], "2025-01-01", domain="taxation"), *penalties(U[0], "2026-01-01")])
        == []
    )
    # Three, but all in one domain: nothing.
    assert run(penalties(U[0], *INSIDE)) == []
    # Three in two domains with one on the day the window closes: nothing.
    assert (
        run(
            [
                *penalties(U[0], "2024-06-30", "2025-01-01", domain="taxation"),
                *penalties(U[0], "2026-01-01"),
            ]
        )
        == []
    )
    # Moved one day later it counts.
    assert (
        len(
            run(
                [
                    *penalties(U[0], "2024-07-01", "2025-01-01", domain="taxation"),
                    *penalties(U[0], "2026-01-01"),
                ]
            )
        )
        == 1
    )


# --------------------------------------------------------------------------- 违诺 / 修复后再犯


def _commitment(day: str = "2024-01-01", **kw: Any) -> dict[str, Any]:
    return rec(
        "诺1",
        U[0],
        day,
        kind="commitment",
        domain="health",
        severity="minor",
        publicity_end=None,
        **kw,
    )


@pytest.mark.parametrize(
    ("violation_day", "triggers"),
    [
        ("2024-01-01", False),  # the same day as the commitment: not after it
        ("2024-01-02", True),
        ("2025-12-31", True),  # the last day of the 24 months
        ("2026-01-01", False),  # 24 months after the commitment: outside
    ],
)
def test_after_commitment_window(violation_day: str, triggers: bool) -> None:
    data = county([ent(U[0])], [_commitment(), rec("罚1", U[0], violation_day)])
    hits = hits_of(data, Rule.after_commitment)
    assert bool(hits) is triggers
    if triggers:
        (hit,) = hits
        assert hit.record_ids == ("罚1", "诺1")
        assert hit.evidence["commitments"] == ["诺1"]
        assert hit.evidence["pairs"] == [
            {"commitment": "诺1", "committed": "2024-01-01", "violation": "罚1"}
        ]
        # The violation's domain, not the commitment's, names the regulator.
        assert hit.domains == (Domain.market_regulation,)


def test_after_commitment_needs_the_commitment_in_force_and_the_violation_active() -> None:
    removed = county(
        [ent(U[0])], [_commitment(removed="2024-06-01"), rec("罚1", U[0], "2025-01-01")]
    )
    assert hits_of(removed, Rule.after_commitment) == []
    repaired = county(
        [ent(U[0])], [_commitment(), rec("罚1", U[0], "2025-01-01", repaired="2026-01-01")]
    )
    assert hits_of(repaired, Rule.after_commitment) == []
    # Removed after the violation (e.g. because of it): the commitment was in force.
    later = county([ent(U[0])], [_commitment(removed="2025-06-01"), rec("罚1", U[0], "2025-01-01")])
    assert len(hits_of(later, Rule.after_commitment)) == 1


def test_commitment_breach_counts_and_levels_follow_severity() -> None:
    breach = rec("违诺1", U[0], "2025-01-01", kind="commitment_breach", domain="health")
    (hit,) = hits_of(county([ent(U[0])], [_commitment(), breach]), Rule.after_commitment)
    assert hit.level == Level.orange and hit.regulators == ("卫健委",)
    serious = rec(
        "失信1", U[0], "2025-01-01", kind="dishonest_debtor", domain="court", severity="serious"
    )
    (hit,) = hits_of(county([ent(U[0])], [_commitment(), serious]), Rule.after_commitment)
    assert hit.level == Level.red
    minor = rec("罚1", U[0], "2025-01-01", severity="minor")
    (hit,) = hits_of(county([ent(U[0])], [_commitment(), minor]), Rule.after_commitment)
    assert hit.level == Level.yellow
    # 被执行人 is not a reoffence.
    judgment = rec("执1", U[0], "2025-01-01", kind="judgment_debtor", domain="court")
    assert hits_of(county([ent(U[0])], [_commitment(), judgment]), Rule.after_commitment) == []
    assert RecordKind.judgment_debtor not in REOFFENCE_KINDS


def _repaired_penalty(repaired: str = "2024-06-01") -> dict[str, Any]:
    return rec("旧罚", U[0], "2024-01-01", repaired=repaired)


@pytest.mark.parametrize(
    ("violation_day", "triggers"),
    [
        ("2024-06-01", False),  # decided on the repair day: not after it
        ("2024-06-02", True),
        ("2026-05-31", True),  # the last day of the 24 months after the repair
        ("2026-06-01", False),
    ],
)
def test_after_repair_window(violation_day: str, triggers: bool) -> None:
    data = county([ent(U[0])], [_repaired_penalty(), rec("新罚", U[0], violation_day)])
    hits = hits_of(data, Rule.after_repair)
    assert bool(hits) is triggers
    if triggers:
        (hit,) = hits
        assert hit.record_ids == ("新罚", "旧罚")
        assert hit.evidence["repaired_records"] == ["旧罚"]
        assert hit.evidence["pairs"][0]["repaired"] == "2024-06-01"
        assert [r["record_id"] for r in hit.evidence["records"]] == ["新罚"]


def test_another_authoritys_penalty_with_the_repaired_number_is_a_reoffence() -> None:
    # The repaired record and the later one share a 文号 but not an authority: two records,
    # so the later one is a violation after the repair (compared by 文号 alone it vanished).
    repaired = {**rec("罚〔2024〕1号", U[0], "2024-01-01", repaired="2024-06-01")}
    later = rec("罚〔2024〕1号", U[0], "2025-01-01")
    data = county(
        [ent(U[0])],
        [{**repaired, "authority": "来安县市场监督管理局"}, {**later, "authority": "来安县税务局"}],
    )
    (hit,) = hits_of(data, Rule.after_repair)
    assert hit.evidence["repaired_records"] == ["罚〔2024〕1号（来安县市场监督管理局）"]
    assert [r["record_id"] for r in hit.evidence["records"]] == ["罚〔2024〕1号（来安县税务局）"]


def test_after_repair_needs_a_repair_by_as_of_and_an_active_violation() -> None:
    future = county([ent(U[0])], [_repaired_penalty("2026-07-01"), rec("新罚", U[0], "2026-06-30")])
    assert hits_of(future, Rule.after_repair) == []
    repaired_too = county(
        [ent(U[0])],
        [_repaired_penalty(), rec("新罚", U[0], "2025-01-01", repaired="2026-02-01")],
    )
    assert evaluate_rules(repaired_too, AS_OF) == []
    expired = county(
        [ent(U[0])],
        [_repaired_penalty(), rec("新罚", U[0], "2025-01-01", publicity_end="2026-01-01")],
    )
    assert evaluate_rules(expired, AS_OF) == []


# --------------------------------------------------------------------------- 关联风险


def _linked_county(own_severity: str = "general", own_repaired: str | None = None) -> RuleInputs:
    """X (U[0]) and Y (U[1]) share the legal representative 张三 P1; Y is a 失信被执行人.

    Y's record is decided on AS_OF, so its signal is 0.8 (dishonest_debtor) × 2 (serious) ×
    0.5^0 = 1.6. It reaches X only along Y → P1 → X (up legal_rep 0.8, down legal_rep 0.8;
    no walk of three hops ends at X), so X's linked risk without its own echo is
    α² · 0.8 · 0.8 · 1.6 = 0.25 · 0.64 · 1.6 = 0.256.
    """
    return county(
        [ent(U[0], "甲公司"), ent(U[1], "乙公司")],
        [
            rec("甲罚", U[0], "2026-01-01", severity=own_severity, repaired=own_repaired),
            rec(
                "乙执",
                U[1],
                "2026-06-30",
                kind="dishonest_debtor",
                domain="court",
                severity="serious",
            ),
        ],
        [role(U[0], "P1"), role(U[1], "P1")],
        [("P1", "张三")],
    )


def _absolute(value: float) -> RuleConfig:
    return RuleConfig(linked_threshold=value, linked_threshold_mode="absolute")


def test_linked_risk_at_the_threshold_triggers_with_masked_paths() -> None:
    (hit,) = hits_of(_linked_county(), Rule.linked_risk, _absolute(0.256))
    assert hit.uscc == U[0]
    assert hit.evidence["linked_risk"] == pytest.approx(0.256)
    assert hit.evidence["threshold_mode"] == "absolute"
    (source,) = hit.evidence["sources"]
    assert source["record_id"] == "乙执"
    assert source["contribution"] == pytest.approx(0.256)
    assert "张*" in source["path"] and "张三" not in str(hit.evidence)
    assert "P1" not in str(hit.evidence)  # no person id either
    assert hit.record_ids == ("乙执", "甲罚")
    assert hit.evidence["related"] == [U[1]]
    # Routed to the regulator of X's own record; yellow for a general own record.
    assert hit.regulators == ("市场监管局",)
    assert hit.level == Level.yellow


def test_linked_risk_comes_from_the_risk_configs_propagation() -> None:
    # Two hops X ← P1 ← 乙: α² · 0.8 · 0.8 · 0.4 = 0.256 at α = 0.5, 0.064 at α = 0.25.
    data = _linked_county()
    quarter = PropagationConfig(alpha=0.25)
    only = dataclasses.replace(_absolute(0.064), rules=frozenset({Rule.linked_risk}))
    (hit,) = evaluate_rules(data, AS_OF, RiskConfig(propagation=quarter, rules=only))
    assert hit.evidence["linked_risk"] == pytest.approx(0.064)
    assert hits_of(data, Rule.linked_risk, _absolute(0.064))[0].evidence[
        "linked_risk"
    ] == pytest.approx(0.256)  # the default RiskConfig's α


def test_linked_risk_just_below_the_threshold_does_not_trigger() -> None:
    assert hits_of(_linked_county(), Rule.linked_risk, _absolute(0.2561)) == []


def test_linked_risk_needs_an_own_active_record() -> None:
    data = _linked_county(own_repaired="2026-03-01")
    assert hits_of(data, Rule.linked_risk, _absolute(0.1)) == []


def test_linked_risk_is_orange_with_a_serious_own_record() -> None:
    (hit,) = hits_of(_linked_county("serious"), Rule.linked_risk, _absolute(0.256))
    assert hit.level == Level.orange


def test_linked_risk_quantile_threshold_comes_from_the_existing_enterprises() -> None:
    base = _linked_county()
    # Two unlinked enterprises (linked risk 0) and a closed one, which is left out.
    extra = _frame(
        [ent(U[2]), ent(U[3]), ent(U[4], closed="2026-01-01")], "enterprises", list(ent(U[0]))
    )
    data = dataclasses.replace(base, enterprises=pd.concat([base.enterprises, extra]))
    (hit,) = hits_of(data, Rule.linked_risk, RuleConfig(linked_threshold=0.5))
    # The bar is the median of the scored linked risk of the four existing enterprises.
    snapshot = GraphSnapshot.from_frames(data.enterprises, data.persons, data.roles, AS_OF)
    scores = RiskPropagator().fit(snapshot).score(data.records)
    linked = scores.linked_risk[snapshot.indices_of(U[:4])]
    assert hit.evidence["threshold"] == pytest.approx(float(np.quantile(linked, 0.5)), abs=1e-6)
    assert 0 < hit.evidence["threshold"] < 0.256
    assert hits_of(data, Rule.linked_risk, RuleConfig(linked_threshold=0.9)) == []


# --------------------------------------------------------------------------- 疑似换壳

YOUNG = "2025-12-31"  # founded six months before AS_OF


def _shell_county(
    young_founded: str = YOUNG,
    young_role: dict[str, Any] | None = None,
    listed_kind: str = "dishonest_debtor",
    listed_repaired: str | None = None,
    young_records: Iterable[dict[str, Any]] = (),
) -> RuleInputs:
    """L (U[1]) is a 失信被执行人 since 2025-06-01; 张三 P1 was its legal rep until 2025-09-01.

    The young enterprise Y (U[0]) has P1 as its legal representative unless ``young_role``
    says otherwise.
    """
    return county(
        [ent(U[0], "新壳公司", founded=young_founded), ent(U[1], "老赖公司", founded="2012-01-01")],
        [
            rec(
                "(2025)执1号",
                U[1],
                "2025-06-01",
                kind=listed_kind,
                domain="court",
                severity="serious",
                repaired=listed_repaired,
            ),
            *young_records,
        ],
        [
            role(U[1], "P1", start="2012-01-01", end="2025-09-01"),
            young_role or role(U[0], "P1", start=young_founded),
        ],
        [("P1", "张三")],
    )


def test_shell_young_enterprise_of_a_former_legal_rep_triggers() -> None:
    (hit,) = hits_of(_shell_county(), Rule.suspected_shell)
    assert hit.uscc == U[0]
    assert hit.record_ids == ("(2025)执1号",)
    assert hit.domains == (Domain.market_regulation, Domain.court)
    assert hit.regulators == ("市场监管局", "法院")
    assert hit.level == Level.orange  # founded after the listing: the 换壳 pattern
    assert hit.evidence["founded_after_listing"] is True
    (path,) = hit.evidence["paths"]
    assert path["holder"] == "张*" and path["current"] is False
    assert path["sentence"].startswith(
        "法定代表人 张* 曾任 老赖公司 法定代表人；老赖公司 被列入失信被执行人"
    )
    assert "张三" not in str(hit.evidence)


OLD_SHELL_RULE = RuleConfig(shell_founded_after_listing=False)


@pytest.mark.parametrize(
    ("founded", "triggers"),
    [("2024-06-30", False), ("2024-07-01", True)],  # 24 months before AS_OF: not young
)
def test_shell_age_boundary(founded: str, triggers: bool) -> None:
    # Founded a year before the 2025-06-01 listing: only the old rule warns (yellow).
    county_of = _shell_county(young_founded=founded)
    hits = hits_of(county_of, Rule.suspected_shell, OLD_SHELL_RULE)
    assert bool(hits) is triggers
    if triggers:
        assert hits[0].level == Level.yellow
        assert hits[0].evidence["founded_after_listing"] is False
    assert hits_of(county_of, Rule.suspected_shell) == []


@pytest.mark.parametrize(
    ("founded", "triggers"),
    [("2025-06-02", True), ("2025-06-01", False), ("2025-05-31", False)],
)
def test_shell_only_when_the_listing_precedes_the_founding(founded: str, triggers: bool) -> None:
    # L was listed on 2025-06-01: a firm founded the next day is a 换壳, one founded the same
    # day or before is not (its tie predates any listing).
    hits = hits_of(_shell_county(young_founded=founded), Rule.suspected_shell)
    assert bool(hits) is triggers
    if triggers:
        assert hits[0].level == Level.orange
        assert hits[0].evidence["founded_after_listing"] is True
    # The old rule warned of all three.
    assert (
        len(hits_of(_shell_county(young_founded=founded), Rule.suspected_shell, OLD_SHELL_RULE))
        == 1
    )


def test_shell_cites_only_the_list_records_before_the_founding() -> None:
    # A second listing of L, decided after Y was founded, is not why Y is a 换壳.
    later = rec("(2026)执2号", U[1], "2026-02-01", kind="dishonest_debtor", domain="court")
    (hit,) = hits_of(_shell_county(young_records=[later]), Rule.suspected_shell)
    assert hit.record_ids == ("(2025)执1号",)
    # Listed only after the founding: no warning at all.
    only_later = _shell_county(
        young_founded="2026-01-01", listed_kind="administrative_penalty", young_records=[later]
    )
    assert hits_of(only_later, Rule.suspected_shell) == []


def test_shell_without_a_founding_date_is_not_warned() -> None:
    # No founding date: neither young nor founded after anything, so no 换壳 can be shown.
    data = _shell_county()
    enterprises = data.enterprises.assign(
        founded=data.enterprises["founded"].where(data.enterprises["uscc"] != U[0])
    )
    missing = dataclasses.replace(data, enterprises=enterprises)
    assert hits_of(missing, Rule.suspected_shell) == []
    assert hits_of(missing, Rule.suspected_shell, OLD_SHELL_RULE) == []


def test_shell_founded_after_listing_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="shell_founded_after_listing must be a bool"):
        RuleConfig(shell_founded_after_listing="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(("share", "triggers"), [(0.3, True), (0.2999, False)])
def test_shell_major_shareholder_boundary(share: float, triggers: bool) -> None:
    holder = role(U[0], "P1", "shareholder", start=YOUNG, share=share)
    assert bool(hits_of(_shell_county(young_role=holder), Rule.suspected_shell)) is triggers


def test_shell_needs_a_tie_and_an_active_list_record() -> None:
    executive = role(U[0], "P1", "executive", start=YOUNG)
    assert hits_of(_shell_county(young_role=executive), Rule.suspected_shell) == []
    assert hits_of(_shell_county(listed_repaired="2026-01-01"), Rule.suspected_shell) == []
    penalty = _shell_county(listed_kind="administrative_penalty")
    assert hits_of(penalty, Rule.suspected_shell) == []
    ended = role(U[0], "P1", start=YOUNG, end="2026-03-01")  # no longer Y's legal rep
    assert hits_of(_shell_county(young_role=ended), Rule.suspected_shell) == []


def test_shell_listed_enterprise_as_major_shareholder_triggers() -> None:
    holder = role(U[0], U[1], "shareholder", start=YOUNG, share=0.5, holder_type="enterprise")
    (hit,) = hits_of(_shell_county(young_role=holder), Rule.suspected_shell)
    (path,) = hit.evidence["paths"]
    assert path["roles"] == ["股东 50%"] and path["roles_in_listed"] == []
    assert path["sentence"] == "股东 50% 老赖公司：老赖公司 被列入失信被执行人（2025-06-01 起）"


def test_shell_with_its_own_active_record_is_red() -> None:
    own = [rec("新罚", U[0], "2026-03-01")]
    (hit,) = hits_of(_shell_county(young_records=own), Rule.suspected_shell)
    assert hit.level == Level.red
    assert {RecordKind.dishonest_debtor, RecordKind.serious_dishonesty_list} <= SERIOUS_LIST_KINDS


# --------------------------------------------------------------------------- every rule at once


def test_evaluate_rules_orders_hits_and_names_the_enterprise() -> None:
    records = [*penalties(U[0], *INSIDE), *penalties(U[0], "2025-05-05", domain="taxation")]
    hits = evaluate_rules(county([ent(U[0], "甲公司")], records), AS_OF)
    assert [h.rule for h in hits] == [Rule.same_domain_frequent, Rule.multi_domain_repeat]
    assert all(h.evidence["enterprise_name"] == "甲公司" for h in hits)
    frame = hits_frame(hits)
    assert frame["rule"].tolist() == ["same_domain_frequent", "multi_domain_repeat"]
    assert frame["n_records"].tolist() == [3, 4]


def test_fingerprint_depends_on_record_ids_only() -> None:
    base = {"record_ids": ["b", "a"], "related": [], "linked_risk": 0.3}
    assert evidence_fingerprint(base) == evidence_fingerprint(
        {**base, "record_ids": ["a", "b"], "linked_risk": 0.2}
    )
    assert evidence_fingerprint(base) != evidence_fingerprint({**base, "record_ids": ["a"]})
    assert len(evidence_fingerprint(base)) == 64


def test_synthetic_county_hits_cite_only_active_records() -> None:
    """On a small synthetic county: one hit per (uscc, rule), every cited trigger active."""
    generated = generate_county(SynthConfig(enterprises=1500, seed=3, id_salt=b"0" * 16))
    tables = generated.tables
    records = tables["records"].copy()
    records[["publicity_end", "regime"]] = resolve_publicity(records)
    data = RuleInputs(tables["enterprises"], tables["persons"], tables["roles"], records)
    as_of = pd.Timestamp(generated.config.end)
    hits = evaluate_rules(data, as_of)
    assert hits, "the synthetic county should raise warnings"
    keys = [(h.uscc, h.rule) for h in hits]
    assert len(keys) == len(set(keys))
    by_id = records.set_index("record_id")
    closed = tables["enterprises"].set_index("uscc")["closed"]
    for hit in hits:
        triggers = [r["record_id"] for r in hit.evidence["records"]]
        rows = by_id.loc[triggers]
        assert active_mask(
            rows["decided"], rows["publicity_end"], rows["repaired"], rows["removed"], as_of
        ).all(), hit
        assert hit.regulators == tuple(regulator_for(d) for d in hit.domains)
        assert pd.isna(closed.get(hit.uscc)) or closed[hit.uscc] > as_of


# --------------------------------------------------------------------------- configuration


def test_default_config_matches_design() -> None:
    config = RuleConfig()
    assert (config.window_months, config.same_domain_min_count) == (24, 3)
    assert (config.multi_domain_min_domains, config.multi_domain_min_total) == (2, 3)
    assert config.linked_threshold_mode == ThresholdMode.quantile
    assert config.shell_age_months == 24 and config.shell_min_share == 0.3
    assert config.rules == frozenset(Rule)
    assert "propagation" not in config.to_dict()  # the RiskConfig's, never the rules' own
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.window_months = 12  # type: ignore[misc]
    coded = RuleConfig(
        penalty_kinds=["administrative_penalty"],
        penalty_min_severity="general",
        rules=["after_repair"],
    )
    assert coded.penalty_kinds == frozenset({RecordKind.administrative_penalty})
    assert coded.penalty_min_severity is Severity.general
    assert coded.rules == frozenset({Rule.after_repair})
    assert coded.to_dict()["penalty_kinds"] == ["administrative_penalty"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"window_months": "24"}, TypeError, r"window_months must be an int; got str"),
        ({"window_months": True}, TypeError, r"window_months must be an int; got bool"),
        (
            {"window_months": 0},
            ValueError,
            r"window_months must be an int in \[1, 120\]; got 0",
        ),
        (
            {"same_domain_min_count": 1},
            ValueError,
            r"same_domain_min_count must be an int in \[2, 100\]; got 1",
        ),
        (
            {"multi_domain_min_domains": 15},
            ValueError,
            r"multi_domain_min_domains must be an int in \[2, 14\]; got 15",
        ),
        (
            {"multi_domain_min_domains": 3, "multi_domain_min_total": 2},
            ValueError,
            r"multi_domain_min_total must be an int in \[3, 100\]; got 2",
        ),
        (
            {"escalate_count": 2},
            ValueError,
            r"escalate_count must be an int in \[3, 1000\]; got 2",
        ),
        (
            {"penalty_kinds": "administrative_penalty"},
            TypeError,
            r"penalty_kinds must be a set of record kinds; got str",
        ),
        (
            {"penalty_kinds": []},
            ValueError,
            r"penalty_kinds must name at least one record kind; got an empty set",
        ),
        (
            {"penalty_kinds": ["fine"]},
            ValueError,
            r"penalty_kinds entries must be one of administrative_penalty, .*; got 'fine'",
        ),
        (
            {"penalty_kinds": [3]},
            TypeError,
            r"penalty_kinds entries must be a RecordKind code; got int",
        ),
        (
            {"penalty_kinds": ["license"]},
            ValueError,
            r"penalty_kinds must hold negative record kinds only; got 'license'",
        ),
        (
            {"penalty_min_severity": "grave"},
            ValueError,
            r"penalty_min_severity must be one of minor, general, serious; got 'grave'",
        ),
        (
            {"penalty_min_severity": 2},
            TypeError,
            r"penalty_min_severity must be a Severity code; got int",
        ),
        (
            {"reoffence_kinds": ["commitment"]},
            ValueError,
            r"reoffence_kinds must hold negative record kinds only; got 'commitment'",
        ),
        (
            {"reoffence_window_months": 121},
            ValueError,
            r"reoffence_window_months must be an int in \[1, 120\]; got 121",
        ),
        (
            {"linked_threshold_mode": "relative"},
            ValueError,
            r"linked_threshold_mode must be one of quantile, absolute; got 'relative'",
        ),
        (
            {"linked_threshold": "0.9"},
            TypeError,
            r"linked_threshold must be a real number; got str",
        ),
        ({"linked_threshold": math.nan}, ValueError, r"linked_threshold must be finite; got nan"),
        (
            {"linked_threshold": 1.0},
            ValueError,
            r"linked_threshold must be in \(0, 1\) as a quantile; got 1.0",
        ),
        (
            {"linked_threshold": 0},
            ValueError,
            r"linked_threshold must be in \(0, 1\) as a quantile; got 0",
        ),
        (
            {"linked_threshold": 0.0, "linked_threshold_mode": "absolute"},
            ValueError,
            r"linked_threshold must be > 0 as an absolute value; got 0.0",
        ),
        (
            {"linked_top_sources": 0},
            ValueError,
            r"linked_top_sources must be an int in \[1, 20\]; got 0",
        ),
        (
            {"shell_age_months": 0},
            ValueError,
            r"shell_age_months must be an int in \[1, 120\]; got 0",
        ),
        ({"shell_min_share": 0}, ValueError, r"shell_min_share must be in \(0, 1\]; got 0"),
        ({"shell_min_share": 1.5}, ValueError, r"shell_min_share must be in \(0, 1\]; got 1.5"),
        (
            {"shell_min_share": None},
            TypeError,
            r"shell_min_share must be a real number; got NoneType",
        ),
        (
            {"shell_list_kinds": ["red_list"]},
            ValueError,
            r"shell_list_kinds must hold negative record kinds only; got 'red_list'",
        ),
        (
            {"shell_max_paths": 101},
            ValueError,
            r"shell_max_paths must be an int in \[1, 100\]; got 101",
        ),
        (
            {"propagation": {"alpha": 0.5}},
            TypeError,
            r"unexpected keyword argument 'propagation'",  # RiskConfig.propagation only
        ),
        ({"rules": "linked_risk"}, TypeError, r"rules must be a set of rules; got str"),
        ({"rules": []}, ValueError, r"rules must name at least one rule; got an empty set"),
        (
            {"rules": ["gut_feeling"]},
            ValueError,
            r"rules entries must be one of same_domain_frequent, .*; got 'gut_feeling'",
        ),
    ],
)
def test_config_validation(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        RuleConfig(**kwargs)


def test_inputs_validation() -> None:
    data = county([ent(U[0])])
    with pytest.raises(InvalidFrameError, match=r"records must have column\(s\) severity"):
        RuleInputs(
            data.enterprises, data.persons, data.roles, data.records.drop(columns="severity")
        )
    with pytest.raises(TypeError, match=r"enterprises must be a pandas DataFrame; got list"):
        RuleInputs([], data.persons, data.roles, data.records)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"data must be RuleInputs; got dict"):
        evaluate_rules({}, AS_OF)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"config must be a RiskConfig; got dict"):
        evaluate_rules(data, AS_OF, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"config must be a RiskConfig; got RuleConfig"):
        evaluate_rules(data, AS_OF, RuleConfig())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"as_of must be a date like 2024-05-31; got 'soon'"):
        evaluate_rules(data, "soon")
    assert issubclass(InvalidFrameError, RiskError)
