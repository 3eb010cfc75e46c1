"""Tests for risk.grades: the A/B/C/D mapping, its boundaries, the 双随机 plan, the watchlist.

The store tests run on SQLite and PostgreSQL. Their county (as of 2026-06-30):

* U[0] 失信公司: an active 失信被执行人 record (serious, decided on as_of) → D (listed);
* U[1] 屡罚公司: three 市场监管 penalties in 24 months → an orange 同一领域频繁违法 warning → C;
  its own signal is 0.3 × (0.5^(729/365) + 0.5^(486/365) + 1) ≈ 0.494 < 0.6, so once the
  warning is closed it is B;
* U[2] 守法公司: nothing → A;
* U[3] 注销公司: closed before as_of → not graded;
* U[4] 关联公司: shares the legal representative 张三 with U[0]; linked risk
  α² · 0.8 · 0.8 · 1.6 = 0.256 ≥ 0.1 → B.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

from risk.config import RiskConfig
from risk.contract import RecordKind
from risk.grades import (
    DEFAULT_INSPECTION_RATIOS,
    GRADE_LABELS,
    INSPECTION_BANDS,
    Grade,
    GradeConfig,
    assign_grades,
    grade_enterprises,
    grade_summary,
    lift_by_learned,
    watchlist,
)
from risk.propagation import PropagationConfig
from risk.rules import Level, Rule, RuleHit
from risk.warnings import list_warnings, run_warnings, transition, upsert_hits
from tests.risk.test_rules import AS_OF, INSIDE, U, ent, penalties, rec, role, seed_store


def _signals(rows: list[tuple[float, float, bool, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["own_signal", "linked_risk", "serious_listed", "warning_level"],
        index=[f"E{i}" for i in range(len(rows))],
    )


# --------------------------------------------------------------------------- the mapping


@pytest.mark.parametrize(
    ("row", "grade", "reason"),
    [
        ((0.0, 0.0, True, None), "D", "列入严重失信主体名单"),
        ((0.0, 0.0, False, "red"), "D", "存在未办结的红色预警"),
        ((0.0, 0.0, False, "orange"), "C", "存在未办结的橙色预警"),
        ((0.6, 0.0, False, None), "C", "自身失信信号 ≥ 0.6"),
        ((0.5999, 0.0, False, None), "B", "有在公示期内的失信记录"),
        ((0.0, 0.6, False, None), "C", "关联风险 ≥ 0.6"),
        ((0.0, 0.5999, False, None), "B", "关联风险 ≥ 0.1"),
        ((0.0, 0.0, False, "yellow"), "B", "存在未办结的黄色预警"),
        ((0.0, 0.1, False, None), "B", "关联风险 ≥ 0.1"),
        ((0.0, 0.0999, False, None), "A", "无失信记录和显著关联风险"),
        ((0.0, 0.0, False, None), "A", "无失信记录和显著关联风险"),
        # The most severe condition wins whatever else holds.
        ((5.0, 5.0, True, "yellow"), "D", "列入严重失信主体名单"),
        ((0.01, 0.0, False, "orange"), "C", "存在未办结的橙色预警"),
    ],
)
def test_grade_mapping_and_boundaries(
    row: tuple[float, float, bool, str | None], grade: str, reason: str
) -> None:
    graded = assign_grades(_signals([row]))
    assert graded["grade"].iloc[0] == grade
    assert graded["reason"].iloc[0] == reason
    assert graded["grade_label"].iloc[0] == GRADE_LABELS[Grade(grade)]
    assert graded["inspection_ratio"].iloc[0] == DEFAULT_INSPECTION_RATIOS[Grade(grade)]


def test_assign_grades_validation() -> None:
    with pytest.raises(ValueError, match=r"signals must have columns warning_level; got"):
        assign_grades(_signals([(0, 0, False, None)]).drop(columns="warning_level"))
    with pytest.raises(ValueError, match=r"warning_level must be red, .* or missing; got 'blue'"):
        assign_grades(_signals([(0, 0, False, "blue")]))


def test_inspection_ratios_sit_in_their_bands() -> None:
    assert INSPECTION_BANDS == {
        Grade.A: (0.0, 0.05),
        Grade.B: (0.05, 0.20),
        Grade.C: (0.21, 0.60),
        Grade.D: (0.61, 1.0),
    }
    for grade, ratio in DEFAULT_INSPECTION_RATIOS.items():
        low, high = INSPECTION_BANDS[grade]
        assert low <= ratio <= high
    # Each grade up is inspected more often.
    ratios = [DEFAULT_INSPECTION_RATIOS[g] for g in Grade]
    assert ratios == sorted(ratios)


def test_grade_summary_plans_inspections() -> None:
    grades = pd.DataFrame({"grade": ["A"] * 40 + ["B"] * 9 + ["C"] * 3 + ["D"]})
    summary = grade_summary(grades).set_index("grade")
    assert summary["enterprises"].tolist() == [40, 9, 3, 1]
    assert summary.loc["A", "share"] == pytest.approx(40 / 53)
    # ceil(40 × 3%) = 2, ceil(9 × 10%) = 1, ceil(3 × 40%) = 2, ceil(1 × 80%) = 1
    assert summary["to_inspect"].tolist() == [2, 1, 2, 1]
    assert summary["band"].tolist() == ["≤ 5%", "5–20%", "21–60%", "61–100%"]
    full = GradeConfig(inspection_ratios={"D": 1.0})
    assert grade_summary(grades, full).set_index("grade").loc["D", "inspection_ratio"] == 1.0
    empty = grade_summary(pd.DataFrame({"grade": []}))
    assert empty["enterprises"].sum() == 0 and empty["share"].sum() == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"own_signal_c": 0}, ValueError, r"own_signal_c must be in \(0, inf\); got 0"),
        ({"own_signal_c": "1"}, TypeError, r"own_signal_c must be a real number; got str"),
        ({"linked_risk_c": float("inf")}, ValueError, r"linked_risk_c must be finite"),
        ({"linked_risk_b": -1}, ValueError, r"linked_risk_b must be in \(0, inf\); got -1"),
        (
            {"linked_risk_b": 0.7},
            ValueError,
            r"linked_risk_b must be ≤ linked_risk_c \(0.6\); got 0.7",
        ),
        ({"list_kinds": "dishonest_debtor"}, TypeError, r"list_kinds must be a set of record"),
        ({"list_kinds": []}, ValueError, r"list_kinds must name at least one record kind"),
        ({"list_kinds": ["red_list"]}, ValueError, r"list_kinds entries must be one of .*; got"),
        ({"inspection_ratios": [0.1]}, TypeError, r"inspection_ratios must be a mapping; got list"),
        ({"inspection_ratios": {"E": 0.1}}, ValueError, r"inspection_ratios keys must be A, B, C"),
        (
            {"inspection_ratios": {"A": 0.06}},
            ValueError,
            r"inspection_ratios\[A\] must be in \[0, 0.05\]; got 0.06",
        ),
        (
            {"inspection_ratios": {"C": 0.2}},
            ValueError,
            r"inspection_ratios\[C\] must be in \[0.21, 0.6\]; got 0.2",
        ),
        (
            {"inspection_ratios": {"B": "10%"}},
            TypeError,
            r"inspection_ratios\[B\] must be a real number; got str",
        ),
        ({"propagation": None}, TypeError, r"unexpected keyword argument 'propagation'"),
    ],
)
def test_config_validation(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        GradeConfig(**kwargs)


def test_config_defaults_and_partial_ratios() -> None:
    config = GradeConfig(inspection_ratios={"B": 0.2}, list_kinds=["dishonest_debtor"])
    assert config.inspection_ratios[Grade.B] == 0.2
    assert config.inspection_ratios[Grade.A] == DEFAULT_INSPECTION_RATIOS[Grade.A]
    assert config.list_kinds == frozenset({RecordKind.dishonest_debtor})
    assert "propagation" not in GradeConfig.__dataclass_fields__  # the RiskConfig's only
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.own_signal_c = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------- on the store


def _seed(engine: Engine) -> None:
    seed_store(
        engine,
        [
            ent(U[0], "失信公司"),
            ent(U[1], "屡罚公司"),
            ent(U[2], "守法公司"),
            ent(U[3], "注销公司", closed="2026-01-01"),
            ent(U[4], "关联公司"),
        ],
        [
            rec("(2026)执9号", U[0], "2026-06-30", "dishonest_debtor", "court", "serious"),
            *penalties(U[1], *INSIDE),
            *penalties(U[3], *INSIDE),
        ],
        [role(U[0], "P1"), role(U[4], "P1")],
        [("P1", "张三")],
    )


def test_grades_on_the_store(engine: Engine) -> None:
    _seed(engine)
    run_warnings(engine, AS_OF)
    graded = grade_enterprises(engine, AS_OF)
    assert graded.index.tolist() == sorted([U[0], U[1], U[2], U[4]])  # U[3] is closed
    assert graded["grade"].to_dict() == {U[0]: "D", U[1]: "C", U[2]: "A", U[4]: "B"}
    assert graded.loc[U[1], "reason"] == "存在未办结的橙色预警"
    expected = 0.3 * (0.5 ** (729 / 365) + 0.5 ** (486 / 365) + 1)
    assert graded.loc[U[1], "own_signal"] == pytest.approx(expected)
    assert graded.loc[U[4], "linked_risk"] == pytest.approx(0.256)
    assert graded.loc[U[0], "serious_listed"]
    assert graded.loc[U[0], "name"] == "失信公司"

    # s and r come from the RiskConfig's propagation: at α = 0.25 the two-hop 0.256 is 0.064.
    quarter = RiskConfig(propagation=PropagationConfig(alpha=0.25))
    slow = grade_enterprises(engine, AS_OF, quarter)
    assert slow.loc[U[4], "linked_risk"] == pytest.approx(0.064)
    assert slow.loc[U[1], "own_signal"] == pytest.approx(expected)

    # Without warnings (or once closed) U[1] is graded on its signal alone.
    assert grade_enterprises(engine, AS_OF, use_warnings=False).loc[U[1], "grade"] == "B"
    (warning,) = list_warnings(engine, uscc=U[1]).items
    transition(engine, warning.id, "closed", "信用办", "已整改")
    assert grade_enterprises(engine, AS_OF).loc[U[1], "reason"] == "有在公示期内的失信记录"


def test_watchlist_holds_open_red_and_orange_warnings(engine: Engine) -> None:
    _seed(engine)
    run_warnings(engine, AS_OF)

    def hit(uscc: str, rule: Rule, level: Level) -> RuleHit:
        return RuleHit(uscc, rule, level, (), (), {"record_ids": [uscc]}, AS_OF.date())

    upsert_hits(
        engine,
        [
            hit(U[1], Rule.after_repair, Level.red),
            hit(U[2], Rule.linked_risk, Level.yellow),
        ],
    )
    frame = watchlist(engine)
    assert frame["uscc"].tolist() == [U[1]]
    (row,) = frame.to_dict(orient="records")
    assert row["level"] == "red" and row["name"] == "屡罚公司"
    assert row["rules"] == "same_domain_frequent,after_repair"
    assert row["rule_labels"] == "同一领域频繁违法、修复后再犯"
    assert row["regulators"] == "市场监管局" and len(row["warning_ids"]) == 2
    assert str(row["since"]) == "2026-06-30"
    for warning in list_warnings(engine, uscc=U[1]).items:
        transition(engine, warning.id, "closed", "信用办", "已处理")
    assert watchlist(engine).empty


def _grade_rows(*grades: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": [f"E{i}" for i in range(len(grades))],
            "grade": list(grades),
            "reason": ["规则" for _ in grades],
            "grade_bank": list(grades),
        }
    )


def test_learned_probability_lifts_the_office_grade_one_step() -> None:
    rows = _grade_rows("A", "B", "C", "D", "A", "B")
    # E0 at the threshold, E1 and E2 above, E3 already D, E4 just below, E5 not scored.
    learned = pd.Series({"E0": 0.3, "E1": 0.9, "E2": 0.31, "E3": 0.99, "E4": 0.2999})
    lifted = lift_by_learned(rows, learned, GradeConfig())
    assert lifted["grade"].tolist() == ["B", "C", "D", "D", "A", "B"]
    assert lifted["grade_bank"].tolist() == rows["grade_bank"].tolist()  # banks: untouched
    assert lifted["reason"].tolist()[:3] == ["规则；再犯概率 ≥ 0.3，上调一级"] * 3
    assert lifted["reason"].tolist()[3:] == ["规则"] * 3
    assert rows["grade"].tolist() == ["A", "B", "C", "D", "A", "B"]  # a copy
    stricter = lift_by_learned(rows, learned, GradeConfig(learned_b=0.5))
    assert stricter["grade"].tolist() == ["A", "C", "C", "D", "A", "B"]


def test_lift_by_learned_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="grades must have columns reason"):
        lift_by_learned(_grade_rows("A").drop(columns="reason"), pd.Series({"E0": 0.5}))
    with pytest.raises(ValueError, match=r"learned probabilities must be in \[0, 1\]; got 1.5"):
        lift_by_learned(_grade_rows("A"), pd.Series({"E0": 1.5}))
    with pytest.raises(ValueError, match=r"learned_b must be in \(0, 1\]; got 0"):
        GradeConfig(learned_b=0)
