"""risk.snapshot: the store scored as of a date, and one RiskConfig behind every linked risk.

The county is test_rules.py's linked county: 甲公司 X (U[0], an own general penalty) and 乙公司
Y (U[1], a 失信被执行人 decided on AS_OF: s = 0.8 × 2 × 0.5^0 = 1.6) share the legal
representative 张三 P1. Y's signal reaches X along Y → P1 → X only: α² · 0.8 · 0.8 · 1.6, which
is 0.256 at the default α = 0.5 and 0.064 at α = 0.25.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from risk.config import RiskConfig
from risk.explain import explain
from risk.grades import grade_enterprises
from risk.propagation import PropagationConfig
from risk.rule_checks import evaluate_rules
from risk.rules import Rule, RuleConfig, RuleInputs
from risk.snapshot import ScoredSnapshot, score_snapshot
from risk.warnings import list_warnings, run_warnings
from tests.risk.test_rules import AS_OF, U, ent, rec, role, seed_store


def _seed(engine: Engine) -> None:
    seed_store(
        engine,
        [ent(U[0], "甲公司"), ent(U[1], "乙公司")],
        [
            rec("甲罚", U[0], "2026-01-01"),
            rec("乙执", U[1], "2026-06-30", "dishonest_debtor", "court", "serious"),
        ],
        [role(U[0], "P1"), role(U[1], "P1")],
        [("P1", "张三")],
    )


def test_score_snapshot_scores_the_store_with_the_configs_propagation(engine: Engine) -> None:
    _seed(engine)
    default = score_snapshot(engine, AS_OF)
    assert isinstance(default, ScoredSnapshot) and default.config == RiskConfig()
    x = default.snapshot.index_of(U[0])
    assert default.scores.own_signal[default.snapshot.index_of(U[1])] == pytest.approx(1.6)
    others = default.propagator.linked_risk_excluding_self(default.scores, [U[0]])
    assert others[U[0]] == pytest.approx(0.256)
    assert default.scores.linked_risk[x] >= others[U[0]]  # plus X's own echo

    quarter = RiskConfig(propagation=PropagationConfig(alpha=0.25))
    slow = score_snapshot(engine, AS_OF, quarter)
    assert slow.config is quarter and slow.propagator.config_ is quarter.propagation
    others = slow.propagator.linked_risk_excluding_self(slow.scores, [U[0]])
    assert others[U[0]] == pytest.approx(0.064)
    explanation = explain(slow.snapshot, slow.scores, slow.records, U[0])
    assert explanation.linked_risk == pytest.approx(slow.scores.linked_risk[x])
    assert explanation.linked_risk - explanation.from_self == pytest.approx(0.064)
    assert slow.seconds > 0 and slow.snapshot.as_of == default.snapshot.as_of


def test_one_risk_config_behind_the_snapshot_the_rules_and_the_grades(engine: Engine) -> None:
    _seed(engine)
    config = RiskConfig(
        propagation=PropagationConfig(alpha=0.25),
        rules=RuleConfig(linked_threshold=0.01, linked_threshold_mode="absolute"),
    )
    scored = score_snapshot(engine, AS_OF, config)
    served = scored.propagator.linked_risk_excluding_self(scored.scores, [U[0]])[U[0]]
    graded = grade_enterprises(engine, AS_OF, config, use_warnings=False)
    (hit,) = [
        h
        for h in evaluate_rules(RuleInputs.from_store(engine, AS_OF), AS_OF, config)
        if h.rule == Rule.linked_risk
    ]
    run_warnings(engine, AS_OF, config)
    (stored,) = list_warnings(engine, rule="linked_risk").items
    assert served == pytest.approx(0.064)
    assert graded.loc[U[0], "linked_risk"] == pytest.approx(served)
    assert hit.evidence["linked_risk"] == pytest.approx(served)
    assert stored.evidence["linked_risk"] == pytest.approx(served)


def test_score_snapshot_refuses_another_config_type(engine: Engine) -> None:
    with pytest.raises(TypeError, match="config must be a RiskConfig; got PropagationConfig"):
        score_snapshot(engine, AS_OF, PropagationConfig())  # type: ignore[arg-type]
