"""The promotion gate's standards: the quality floor, who may force a promotion."""

from __future__ import annotations

import pytest

from models.gate import QualityFloor, check_accountability
from models.registry import ModelRegistry

PASSING = {"n": 300.0, "bads": 30.0, "auc": 0.8, "auc_se": 0.04}


@pytest.mark.parametrize(
    ("kind", "quality", "failures"),
    [
        ("pd", PASSING, []),
        ("pd", {**PASSING, "auc": 0.59}, ["holdout AUC 0.590 is below the floor 0.60"]),
        ("pd", {**PASSING, "bads": 9.0}, ["holdout has 9 bads, fewer than the floor's 10"]),
        # 0.65 ± 1.96 × 0.08: the lower bound 0.493 is not above chance.
        ("pd", {**PASSING, "auc": 0.65, "auc_se": 0.08}, ["lower bound 0.493 on 30 bads"]),
        ("pd", {}, ["fewer than", "below the floor", "not above chance"]),
        (
            "warning",
            {**PASSING, "auc": 0.57, "auc_se": 0.01, "flagged": 40.0, "precision_at_flagged": 0.3}
            | {"rules_precision": 0.2},
            [],
        ),
        (
            "warning",
            {**PASSING, "auc": 0.54, "auc_se": 0.01, "flagged": 0.0},
            ["holdout AUC 0.540 is below the floor 0.55"],
        ),
        (
            "warning",
            {**PASSING, "flagged": 40.0, "precision_at_flagged": 0.15, "rules_precision": 0.2},
            ["at the rules' workload (40 flagged) precision 0.150 is below the rules' 0.200"],
        ),
        ("warning", PASSING, ["no rule flags"]),
        ("limit", {"performed": 40.0, "mae": 20.0, "rule_mae": 21.0, "rank_correlation": 0.7}, []),
        (
            "limit",
            {"performed": 29.0, "mae": 22.0, "rule_mae": 21.0, "rank_correlation": 0.4},
            [
                "29 performed loans, fewer than the floor's 30",
                "22.0 万元 does not beat the 银税互动 rule of thumb's 21.0",
                "rank correlation with approved amounts 0.400 is below the floor 0.50",
            ],
        ),
    ],
)
def test_the_quality_floor(kind: str, quality: dict[str, float], failures: list[str]) -> None:
    found = QualityFloor().failures(kind, quality)
    assert len(found) == len(failures), found
    for failure, expected in zip(found, failures, strict=True):
        assert expected in failure


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        ({"min_auc": 0.4}, ValueError, "min_auc must be in"),
        ({"min_warning_auc": 1.2}, ValueError, "min_warning_auc must be in"),
        ({"min_bads": 0}, ValueError, "min_bads must be"),
        ({"min_bads": 2.5}, TypeError, "min_bads must be an int"),
        ({"confidence": 1.0}, ValueError, "confidence must be in"),
        ({"min_performed": 0}, ValueError, "min_performed must be"),
        ({"min_rank_correlation": -2}, ValueError, "min_rank_correlation must be in"),
        ({"max_psi": 0}, ValueError, "max_psi must be in"),
    ],
)
def test_the_floor_validates_its_thresholds(
    settings: dict[str, float], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        QualityFloor(**settings)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floor must be a QualityFloor"):
        ModelRegistry("sqlite:///unused.db", floor=0.6)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("actor", "reason", "error", "match"),
    [
        ("", "a reason long enough", ValueError, "actor must have 1–100 characters; got 0"),
        ("x" * 101, "a reason long enough", ValueError, "actor must have 1–100 characters"),
        (7, "a reason long enough", TypeError, "actor must be a str; got int"),
        ("张三", "too short", ValueError, "reason must have 10–500 characters; got 9"),
        ("张三", "r" * 501, ValueError, "reason must have 10–500 characters; got 501"),
        ("张三\x1b[2J", "a reason long enough", ValueError, "actor must not hold control"),
        ("张三", "line one\nline two", ValueError, "reason must not hold control"),
        ("张三 11010519491231002X", "a reason long enough", ValueError, "resident ID number"),
        ("张三", "for 11010519491231002X, urgent", ValueError, "reason must not hold a resident"),
    ],
)
def test_who_and_why_are_checked(
    actor: object, reason: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as raised:
        check_accountability(actor, reason)
    assert "11010519491231002X" not in str(raised.value)


def test_who_and_why_are_stripped_and_optional_without_force() -> None:
    checked = check_accountability(" 张三 ", " 模型月度复核通过后上线 \t")
    assert checked == ("张三", "模型月度复核通过后上线")
    assert check_accountability(None, None) == (None, None)
