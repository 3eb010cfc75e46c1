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
