"""A bank's own table: out of time with a date, cross-validated without one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.exceptions import TrainingDataError
from models.registry import ModelRegistry
from models.table import train_table
from risk.exceptions import InvalidFrameError


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
    with pytest.raises(TrainingDataError, match=r"target 'branch' must hold only 0/1 \(1 = bad"):
        train_table(frame, "branch")
    with pytest.raises(ValueError, match="frame must have at least one feature column"):
        train_table(frame[["loan_no", "defaulted"]], "defaulted", "loan_no")
    with pytest.raises(TrainingDataError, match="slice must hold goods and bads"):
        train_table(frame.assign(defaulted=False), "defaulted")
    with pytest.raises(ValueError, match="date column 'branch' must hold dates"):
        train_table(frame, "defaulted", date_col="branch")


def test_money_written_as_text_is_a_number_not_a_category() -> None:
    from models.table import numeric_text

    frame = pd.DataFrame(
        {
            "limit": ["$60,000.00", "$1,250.50", None, "$-300"],
            "yuan": ["¥1,200", "3,000元", "15元", None],
            "rate": ["12.5%", "3%", "0.5%", "100%"],
            "code": ["0101", "0102", "0101", None],  # bare digits kept as text: a code
            "mixed": ["$60,000", "unknown", None, "$5"],  # a word: stays a category
            "plain": [1.0, 2.0, 3.0, 4.0],
        }
    )
    out, converted = numeric_text(frame)
    assert converted == ["limit", "yuan", "rate"]
    assert out["limit"].tolist()[:2] == [60000.0, 1250.5] and np.isnan(out["limit"][2])
    assert out["limit"][3] == -300.0
    assert out["yuan"].tolist()[:3] == [1200.0, 3000.0, 15.0]
    assert out["rate"].tolist() == pytest.approx([0.125, 0.03, 0.005, 1.0])
    for kept in ("code", "mixed", "plain"):
        pd.testing.assert_series_equal(out[kept], frame[kept])

    table = bank_table(600, seed=2)
    table["income"] = [f"${v:,.2f}" if v == v else None for v in table["income"]]
    result = train_table(table, "defaulted", id_col="loan_no", date_col="opened")
    assert "income" not in result.pd_model.categorical_  # learned as an amount


def test_a_target_of_words_says_what_it_holds_and_what_to_do() -> None:
    table = bank_table(300, seed=3)
    table["defaulted"] = np.where(table["defaulted"], "bad", "good")
    with pytest.raises(TrainingDataError, match=r"got 'good', 'bad'|got 'bad', 'good'") as caught:
        train_table(table, "defaulted", id_col="loan_no")
    assert "map the labels to 0/1" in str(caught.value)
