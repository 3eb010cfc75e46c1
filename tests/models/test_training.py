"""Pre-credit training: the sample, the run and its risk config, the configuration."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.data import PlatformData
from models.limit import LimitPolicy
from models.metrics import psi
from models.pd import GradeScale, PDConfig, PDModel
from models.splits import fit_on_slices
from models.tracking import RISK_CONFIG_TAG, flat_params
from models.training import TrainConfig, TrainResult, precredit_sample, train_precredit
from risk.config import RiskConfig
from tests.features.county import AS_OF


def test_the_sample_counts(county_data: PlatformData, trained: TrainResult) -> None:
    sample, counts = precredit_sample(county_data, AS_OF)
    assert counts["sample"] == len(sample) == int(trained.metrics["sample_sample"])
    assert sample["label"].notna().all() and sample["matured"].all()
    assert counts["applied"] >= counts["sample"] + counts["unlabelled"] + counts["warmup"]
    assert counts["immature_bad"] > 0 and counts["unlabelled"] > 0
    assert (sample["applied"] >= pd.Timestamp("2023-01-01")).all()  # data from 2022: warm-up
    splits = trained.tables["splits"]
    assert splits["split"].tolist() == ["train", "valid", "calibration", "test"]
    assert (splits["first"].iloc[1:].to_numpy() > splits["last"].iloc[:-1].to_numpy()).all()


@pytest.mark.parametrize(
    ("values", "error", "match"),
    [
        ({"features": {}}, TypeError, "features must be a FeatureConfig; got dict"),
        ({"pd": None}, TypeError, "pd must be a PDConfig; got NoneType"),
        ({"eligibility": 1}, TypeError, "eligibility must be a EligibilityPolicy; got int"),
        ({"limit": "x"}, TypeError, "limit must be a LimitPolicy; got str"),
        (
            {"pd": PDConfig(grades=GradeScale((0.1, 0.2)))},
            ValueError,
            "limit.grades must equal pd.grades",
        ),
        ({"horizon_months": 0}, ValueError, r"horizon_months must be an int in \[1, 60\]"),
        ({"warmup_months": -1}, ValueError, r"warmup_months must be an int in \[0, 120\]"),
        ({"valid_fraction": 0.0}, ValueError, r"valid_fraction must be in \(0, 0.5\]"),
        ({"calibration_fraction": 0.6}, ValueError, r"calibration_fraction must be in \[0, 0.5\]"),
        ({"test_fraction": 0.0}, ValueError, r"test_fraction must be in \(0, 0.5\]"),
        (
            {"valid_fraction": 0.3, "calibration_fraction": 0.2, "test_fraction": 0.3},
            ValueError,
            "must be ≤ 0.7; got 0.80",
        ),
        ({"cv_folds": 1}, ValueError, r"cv_folds must be an int in \[2, 20\]"),
        ({"seed": -1}, ValueError, r"seed must be an int in \[0, inf\)"),
        ({"pd_model_name": " "}, ValueError, "pd_model_name must be a non-empty string"),
        ({"limit_model_name": 3}, TypeError, "limit_model_name must be a str; got int"),
    ],
)
def test_train_config_validation(values: dict[str, object], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TrainConfig(**values)  # type: ignore[arg-type]


def test_train_config_with_matching_grades() -> None:
    grades = GradeScale((0.05, 0.2))
    config = TrainConfig(
        pd=PDConfig(grades=grades),
        limit=LimitPolicy(grades=grades, grade_multipliers=(1.0, 0.5, 0.0)),
    )
    assert config.to_params()["pd.grades"] == [0.05, 0.2]


def test_flat_params_names_nested_settings_by_their_path() -> None:
    params = flat_params(
        {"pd": {"num_leaves": 15, "grades": [0.05, 0.2]}, "features": {"graph": {"alpha": 0.5}}}
    )
    assert params == {"pd.num_leaves": 15, "pd.grades": [0.05, 0.2], "features.graph.alpha": 0.5}
    flat = TrainConfig().to_params()
    assert flat["pd.num_leaves"] == PDConfig().num_leaves and "limit.grades" in flat


def test_both_runs_log_the_risk_config(trained: TrainResult, tracking: tuple[str, str]) -> None:
    assert trained.pd_run is not None and trained.limit_run is not None
    client = MlflowClient(tracking[0])
    risk_config = RiskConfig()
    for logged in (trained.pd_run, trained.limit_run):
        run = client.get_run(logged.run_id)
        assert run.data.tags[RISK_CONFIG_TAG] == risk_config.digest()
        assert run.data.params["risk_config_digest"] == risk_config.digest()
        assert (
            run.data.params["propagation.alpha"] == risk_config.flat_params()["propagation.alpha"]
        )
        assert mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/risk_config.json") == (
            risk_config.to_dict()
        )
    with pytest.raises(TypeError, match="risk_config must be a RiskConfig; got dict"):
        train_precredit({}, AS_OF, None, risk_config={})  # type: ignore[arg-type]


def test_the_score_psi_compares_held_out_scores_with_the_test_scores(
    trained: TrainResult,
) -> None:
    """Out of sample against out of sample: the pooled validation and calibration scores
    against the test scores, the PSI the promotion gate computes; never the training rows'
    in-sample scores, which the trees fitted."""
    rng = np.random.default_rng(3)
    n = 1000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["a"] - 2)))).astype(float).to_numpy()
    labels = np.array(["train"] * 550 + ["valid"] * 150 + ["calibration"] * 100 + ["test"] * 200)
    config = PDConfig(num_leaves=63, min_child_samples=5, max_rounds=200, calibration_min_bads=5)
    model = PDModel(config)
    probability, metrics = fit_on_slices(model, X, y, labels)
    held_out = np.isin(labels, ["valid", "calibration"])
    test = labels == "test"
    assert "psi_score_train_test" not in metrics
    assert metrics["psi_score_valid_test"] == pytest.approx(
        psi(probability[held_out], probability[test])
    )
    assert metrics["psi_score_valid_test"] != pytest.approx(
        psi(probability[labels == "train"], probability[test])
    )
    assert model.holdout_psi(X[test]) == pytest.approx(metrics["psi_score_valid_test"])
    # the platform run reports and logs the same PSI the gate will read off its holdout
    assert trained.metrics["psi_score_valid_test"] == pytest.approx(
        trained.pd_model.holdout_psi(trained.holdout)
    )
    assert "score PSI held-out (validation and calibration periods) → test" in (trained.model_card)


def test_the_limit_psi_compares_held_out_loans_with_the_test_loans(trained: TrainResult) -> None:
    """The limit model's reference is the held-out (validation and calibration) loans'
    limits, so the logged limit PSI is the one the gate computes on the test loans."""
    assert trained.limit_model is not None
    metrics = trained.metrics
    assert "limit_psi_limit_train_test" not in metrics
    test_loans = trained.holdout.assign(pd=trained.pd_model.predict_pd(trained.holdout))
    assert metrics["limit_psi_limit_valid_test"] == pytest.approx(
        trained.limit_model.holdout_psi(test_loans)
    )
