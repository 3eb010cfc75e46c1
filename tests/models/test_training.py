"""Training entry points: splits, the sample, any bank table with and without a date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.data import PlatformData
from models.exceptions import TrainingDataError
from models.limit import LimitPolicy
from models.pd import GradeScale, PDConfig
from models.registry import ModelRegistry
from models.splits import time_split
from models.table import train_table
from models.tracking import flat_params
from models.training import TrainConfig, TrainResult, precredit_sample
from risk.exceptions import InvalidFrameError
from tests.features.county import AS_OF


def test_time_split_by_hand() -> None:
    dates = pd.to_datetime(
        ["2024-01-01"] * 4 + ["2024-02-01"] * 2 + ["2024-03-01", "2024-04-01"] + ["2024-05-01"] * 2
    )
    # Train should end after the 5th row, inside the 2024-02-01 pair: the pair moves on
    # together (a date never straddles two slices).
    labels = time_split(dates, 0.2, 0.1, 0.2)
    assert labels.tolist() == ["train"] * 4 + ["valid"] * 3 + ["calibration"] + ["test"] * 2
    labels = time_split(dates, 0.3, 0.0, 0.3)  # no calibration slice
    assert labels.tolist() == ["train"] * 4 + ["valid"] * 3 + ["test"] * 3


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


def bank_table(n: int = 2500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "loan_no": [f"B{i:05d}" for i in range(n)],
            "opened": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "income": rng.lognormal(3, 1, n),
            "arrears": rng.poisson(0.3, n),
            "branch": rng.choice(["north", "south", "east"], n),
            "segment": pd.Categorical(rng.choice(["retail", "sme", None], n)),
        }
    )
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    logit = -2.0 + 1.4 * frame["arrears"] - 0.5 * np.log1p(frame["income"].fillna(20))
    logit += np.where(frame["branch"] == "east", 0.7, 0.0)
    frame["defaulted"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    return frame


def test_train_table_out_of_time_logged_and_registered(tracking: tuple[str, str]) -> None:
    uri, artifacts = tracking
    result = train_table(
        bank_table(),
        "defaulted",
        id_col="loan_no",
        date_col="opened",
        tracking_uri=uri,
        artifact_location=artifacts,
        model_name="bank-sme",
        register=True,
    )
    assert result.limit_model is None and "cv_auc_mean" not in result.metrics
    assert result.metrics["test_auc"] > 0.6
    assert result.pd_model.categorical_ == ["branch", "segment"]
    assert "loan_no" in result.holdout.columns and "opened" not in result.pd_model.feature_names_
    assert result.pd_run is not None and result.pd_run.version == "1"
    model = ModelRegistry(uri).load("bank-sme", "challenger")
    X = result.holdout[result.pd_model.feature_names_]
    assert np.array_equal(model.predict_pd(X), result.pd_model.predict_pd(X))
    assert "out of time by `opened`" in result.model_card


def test_train_table_cross_validated_without_a_date() -> None:
    result = train_table(bank_table(1500, 1).drop(columns="opened"), "defaulted", "loan_no")
    assert 0.5 < result.metrics["cv_auc_mean"] < 1 and result.metrics["cv_auc_std"] >= 0
    assert result.pd_run is None and "cross-validated AUC" in result.model_card


def test_train_table_errors() -> None:
    frame = bank_table(300)
    with pytest.raises(InvalidFrameError, match="frame must have column"):
        train_table(frame, "bad")
    with pytest.raises(ValueError, match="target 'branch' must hold only 0/1 or booleans"):
        train_table(frame, "branch")
    with pytest.raises(ValueError, match="frame must have at least one feature column"):
        train_table(frame[["loan_no", "defaulted"]], "defaulted", "loan_no")
    with pytest.raises(TrainingDataError, match="slice must hold goods and bads"):
        train_table(frame.assign(defaulted=False), "defaulted")
    with pytest.raises(ValueError, match="date column 'branch' must hold dates"):
        train_table(frame, "defaulted", date_col="branch")


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
