"""Reasons: at most four each way, strongest first, Chinese and English texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import CONCEPTS
from features.precredit import feature_specs
from models.reasons import Reasons, feature_concepts
from models.training import TrainResult


def test_grouping_ordering_and_thresholds_by_hand() -> None:
    concepts = feature_concepts(["a", "b", "c", "d", "e", "f"])
    reasons = Reasons(concepts, {"a": "a", "b": "a"}, max_reasons=2, min_contribution=0.05)
    contributions = pd.DataFrame(
        {"a": [0.3], "b": [0.2], "c": [0.4], "d": [0.01], "e": [-0.5], "f": [-0.2], "bias": [9.0]}
    )
    X = pd.DataFrame({"a": [1.5], "b": [2], "c": ["x"], "d": [0], "e": [np.nan], "f": [7.0]})
    out = reasons.explain(contributions, X).iloc[0]
    # a + b = 0.5 beats c = 0.4; d is below the threshold; e is missing: never a strength.
    assert out["risk_reasons"] == ["a", "c"]
    assert out["risk_contributions"] == pytest.approx([0.5, 0.4])
    assert out["risk_reasons_zh"] == ["a：1.5", "c：x"]
    assert out["risk_reasons_en"] == ["a: 1.5", "c: x"]
    assert out["strength_reasons"] == ["f"] and out["strength_reasons_en"] == ["f: 7"]
    codes_only = reasons.explain(contributions, X, text=False)
    assert "risk_reasons_zh" not in codes_only.columns


def test_validation() -> None:
    with pytest.raises(ValueError, match="concept_of values must be codes of concepts; got 'z'"):
        Reasons(feature_concepts(["a"]), {"a": "z"})
    with pytest.raises(ValueError, match=r"max_reasons must be an int in \[1, 10\]; got 0"):
        Reasons(feature_concepts(["a"]), {}, max_reasons=0)
    with pytest.raises(TypeError, match="concepts and concept_of must be mappings"):
        Reasons([], {})  # type: ignore[arg-type]


def test_precredit_reasons_are_at_most_four_each_way_with_texts(trained: TrainResult) -> None:
    model = trained.pd_model
    X = trained.holdout[model.feature_names_]
    reasons = Reasons(CONCEPTS, feature_specs().concept_of)
    out = reasons.explain(model.contributions(X), X)
    for side in ("risk", "strength"):
        counts = out[f"{side}_reasons"].map(len)
        assert counts.max() <= 4
        assert (out[f"{side}_reasons_zh"].map(len) == counts).all()
        assert (out[f"{side}_reasons_en"].map(len) == counts).all()
        for values in out[f"{side}_contributions"]:
            assert values == sorted(values, key=abs, reverse=True)
    assert out["risk_reasons"].map(len).sum() > 0 and out["strength_reasons"].map(len).sum() > 0
    text = out["risk_reasons_zh"].explode().dropna()
    assert text.str.contains("[\u4e00-\u9fff]").all() and not text.str.contains("{").any()


def test_tax_growth_is_never_a_risk_and_a_decline_never_a_strength() -> None:
    """TreeSHAP gives +0.4 to a 5 % tax growth (below the county's average growth): with the
    monotone sign (−1: growth lowers the PD) it is no risk. A 20 % decline with −0.3 (above the
    average decline) is no strength. A flat trend is neither."""
    specs = feature_specs()
    reasons = Reasons(CONCEPTS, specs.concept_of, monotone=specs.monotone)
    contributions = pd.DataFrame(
        {"tax_trend": [0.4, -0.3, 0.2, 0.5], "employees_trend": [0.0, 0.0, 0.0, 0.3]}
    )
    X = pd.DataFrame(
        {
            "tax_trend": [np.log(1.05), np.log(0.8), 0.0, np.log(0.7)],
            "employees_trend": [np.nan, np.nan, np.nan, np.log(1.5)],
        }
    )
    out = reasons.explain(contributions, X)
    assert out["risk_reasons"].tolist() == [[], [], [], ["tax_trend"]]
    assert out["strength_reasons"].tolist() == [[], [], [], []]
    assert out.loc[3, "risk_reasons_zh"] == ["纳税额同比下降 30%"]
    assert out.loc[3, "risk_reasons_en"] == ["Tax paid down 30% year on year"]
    unsigned = Reasons(CONCEPTS, specs.concept_of)  # without the signs: SHAP's raw direction
    assert unsigned.explain(contributions, X)["risk_reasons"].iloc[0] == ["tax_trend"]


def test_trend_wording_and_industry_names_not_codes() -> None:
    assert CONCEPTS["tax_trend"].render({"tax_trend": np.log(1.3)}, "zh") == "纳税额同比增长 30%"
    assert CONCEPTS["tax_trend"].render({"tax_trend": 0.001}, "en") == "Tax paid flat year on year"
    profile = CONCEPTS["profile"]
    values = {"kind": "company", "industry": "E", "registered_capital": 500.0}
    assert profile.render(values, "zh") == "公司，所属行业：建筑业，注册资本 500.0 万元"
    assert (
        profile.render(values, "en") == "company in construction, registered capital CNY 5,000,000"
    )
    assert "批发和零售业" in profile.render({**values, "industry": "F"}, "zh")
    assert "行业门类 Z" in profile.render({**values, "industry": "Z"}, "zh")  # unknown: the code


def test_trained_reasons_never_list_growth_as_a_risk(trained: TrainResult) -> None:
    """On the trained model's holdout: no row whose tax or employees grew lists that growth as a
    risk, and no row whose tax fell lists the fall as a strength."""
    model = trained.pd_model
    X = trained.holdout[model.feature_names_]
    specs = feature_specs()
    out = Reasons(CONCEPTS, specs.concept_of, monotone=model.monotone_, max_reasons=10).explain(
        model.contributions(X), X
    )
    for feature, concept in (("tax_trend", "tax_trend"), ("employees_trend", "employment_trend")):
        grew = (X[feature] > 0).to_numpy()
        fell = (X[feature] < 0).to_numpy()
        assert grew.any() and fell.any()
        assert not out["risk_reasons"][grew].map(lambda r, c=concept: c in r).any()
        assert not out["strength_reasons"][fell].map(lambda r, c=concept: c in r).any()
    text = " ".join(out["risk_reasons_zh"].explode().dropna())
    assert "行业门类" not in text
