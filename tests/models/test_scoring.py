"""The pre-credit pipeline and the 信易贷白名单 of every active enterprise."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.data import PlatformData
from features.graph import GROUP_RULE, LEGACY_GROUP_RULE
from features.precredit import FeatureConfig, build_features
from models.pd import PDModel
from models.scoring import (
    SCORE_COLUMNS,
    PrecreditScorer,
    not_whitelisted_reasons,
    score_enterprises,
)
from models.training import TrainResult
from risk.config import RiskConfig
from risk.propagation import PropagationConfig
from tests.features.county import AS_OF


@pytest.fixture(scope="module")
def whitelist(county_data: PlatformData, trained: TrainResult) -> pd.DataFrame:
    assert trained.limit_model is not None
    scorer = PrecreditScorer(trained.pd_model, trained.limit_model)
    return score_enterprises(county_data, AS_OF, scorer)


def test_every_active_enterprise_is_scored(
    whitelist: pd.DataFrame, county_data: PlatformData
) -> None:
    active = county_data.active_on(county_data.enterprises["uscc"], AS_OF)
    assert len(whitelist) == int(active.sum())
    assert list(whitelist.columns[: len(SCORE_COLUMNS)]) == list(SCORE_COLUMNS)
    assert whitelist["pd"].between(0, 1).all() and whitelist["grade"].between(1, 8).all()


def test_declined_keep_their_pd_but_get_no_limit(whitelist: pd.DataFrame) -> None:
    declined = whitelist[~whitelist["eligible"]]
    assert len(declined) > 0
    assert (declined[["suggested_limit", "limit_low", "limit_high"]] == 0).all().all()
    assert declined["pd"].notna().all() and (declined["decline_codes"].map(len) > 0).all()
    assert not declined["whitelisted"].any()


def test_whitelist_is_eligible_offered_and_sorted(whitelist: pd.DataFrame) -> None:
    white = whitelist[whitelist["whitelisted"]]
    assert white["eligible"].all() and (white["suggested_limit"] > 0).all()
    assert (white["grade"] <= 6).all()
    assert whitelist["whitelisted"].iloc[: len(white)].all()  # whitelisted first, by PD
    assert np.all(np.diff(white["pd"].to_numpy()) >= 0)
    assert (white["limit_low"] <= white["suggested_limit"]).all()
    assert (white["risk_reasons"].map(len) <= 4).all()
    assert (white["strength_reasons_en"].map(len) == white["strength_reasons"].map(len)).all()


def test_reason_modes_and_validation(county_data: PlatformData, trained: TrainResult) -> None:
    assert trained.limit_model is not None
    scorer = PrecreditScorer(trained.pd_model, trained.limit_model, whitelist_max_grade=5)
    applications = pd.DataFrame({"uscc": county_data.enterprises["uscc"][:20], "as_of": AS_OF})
    codes = scorer.score(county_data, applications, reasons="codes")
    assert "risk_reasons" in codes.columns and "risk_reasons_zh" not in codes.columns
    bare = scorer.score(county_data, applications, reasons="none")
    assert "risk_reasons" not in bare.columns
    assert np.array_equal(bare["pd"], codes["pd"])
    with pytest.raises(ValueError, match="reasons must be one of text, codes, none"):
        scorer.score(county_data, applications, reasons="all")
    with pytest.raises(ValueError, match=r"whitelist_max_grade must be an int in \[1, 8\]"):
        PrecreditScorer(trained.pd_model, trained.limit_model, whitelist_max_grade=9)
    with pytest.raises(TypeError, match="limit_model must be a LimitModel; got PDModel"):
        PrecreditScorer(trained.pd_model, trained.pd_model)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="scorer must be a PrecreditScorer; got NoneType"):
        score_enterprises(county_data, AS_OF, None)  # type: ignore[arg-type]


def test_the_scorer_computes_features_with_the_trained_propagation(
    county_data: PlatformData, trained: TrainResult
) -> None:
    assert trained.limit_model is not None
    stored = trained.pd_model.context["risk_config"]
    assert stored == RiskConfig().to_dict()
    same = PrecreditScorer(trained.pd_model, trained.limit_model, risk_config=RiskConfig())
    assert same.propagation.to_dict() == RiskConfig().propagation.to_dict()
    other = RiskConfig(propagation=PropagationConfig(alpha=0.3))
    with pytest.raises(ValueError, match=r"risk_config\.propagation must be the one the PD model"):
        PrecreditScorer(trained.pd_model, trained.limit_model, risk_config=other)
    with pytest.raises(TypeError, match="risk_config must be a RiskConfig; got dict"):
        PrecreditScorer(trained.pd_model, trained.limit_model, risk_config={})  # type: ignore[arg-type]


def test_a_version_registered_before_the_risk_config_scores_as_before(
    trained: TrainResult,
) -> None:
    """Older versions kept the propagation inside the feature config; it is still read."""
    assert trained.limit_model is not None
    older = copy.copy(trained.pd_model)
    context = {k: v for k, v in trained.pd_model.context.items() if k != "risk_config"}
    alpha = PropagationConfig(alpha=0.3)
    context["feature_config"] = {**context["feature_config"], "propagation": alpha.to_dict()}
    older.context = context
    scorer = PrecreditScorer(older, trained.limit_model)
    assert scorer.propagation.to_dict() == alpha.to_dict()
    assert scorer.feature_config == FeatureConfig()


def test_a_model_is_scored_with_the_group_rule_it_was_trained_on(
    county_data: PlatformData, trained: TrainResult, tmp_path: Path
) -> None:
    """The saved JSON carries the rule; a version saved before it (trained on the groups
    through shared persons) is fed those groups, not the control groups of today."""
    assert trained.limit_model is not None
    saved = json.loads((trained.pd_model.save(tmp_path / "pd") / "pd_model.json").read_text())
    assert saved["context"]["feature_config"]["group_rule"] == GROUP_RULE
    new = PrecreditScorer(PDModel.load(tmp_path / "pd"), trained.limit_model)
    assert new.feature_config.group_rule == GROUP_RULE
    older = copy.copy(trained.pd_model)
    context = copy.deepcopy(trained.pd_model.context)
    del context["feature_config"]["group_rule"]
    older.context = context
    old = PrecreditScorer(older, trained.limit_model)
    assert old.feature_config.group_rule == LEGACY_GROUP_RULE
    applications = pd.DataFrame({"uscc": county_data.enterprises["uscc"], "as_of": AS_OF})
    X_old, X_new = old.features(county_data, applications), new.features(county_data, applications)
    legacy = FeatureConfig(group_rule=LEGACY_GROUP_RULE)
    expected = build_features(county_data, applications, legacy, propagation=old.propagation)
    pd.testing.assert_frame_equal(X_old, expected)
    assert (X_old["group_size"] > X_new["group_size"]).any()  # minority stakes join groups
    others = [c for c in X_new.columns if c not in ("group_size", "group_dishonest")]
    pd.testing.assert_frame_equal(X_old[others], X_new[others])


def test_not_whitelisted_reasons_by_hand() -> None:
    """Four enterprises, cut at band 6: on the list; declined (and above the cut); eligible
    without a limit; offered but in band 7."""
    codes, zh, en = not_whitelisted_reasons(
        np.array([True, False, True, True]),
        np.array([50.0, 0.0, 0.0, 20.0]),
        np.array([3, 7, 4, 7]),
        np.array([0.03, 0.2, 0.05, 0.18]),
        6,
    )
    assert codes == [
        [],
        ["declined", "grade_above_whitelist"],
        ["no_limit"],
        ["grade_above_whitelist"],
    ]
    assert zh[3] == ["违约概率 18.0% 处于第 7 档，白名单只收第 6 档及以内"]
    assert en[3] == ["PD 18.0% is in band 7; the whitelist takes bands up to 6"]
    assert zh[0] == [] and en[2][0].startswith("The suggested limit is zero")
