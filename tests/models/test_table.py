"""A bank's own table: a scorecard, a default and a tuned LightGBM on the same folds, the best
registered; out of time with a date, cross-validated without one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from models.exceptions import PromotionRefusedError, TrainingDataError
from models.pd import PDModel
from models.registry import ModelRegistry
from models.scorecard import Scorecard
from models.table import TableConfig, train_table
from models.training import TrainConfig
from risk.exceptions import InvalidFrameError

FEW = TableConfig(trials=3, max_rounds=300)
"""Few trials and rounds: the tests check the choice and the refit, not the search's reach."""


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


def _graded_out_of_fold(result: object) -> None:
    """The registered model's fitted grades are cut on the chosen candidate's out-of-fold PDs
    (the rows the folds score), not on rows the model learned from."""
    model = result.model  # type: ignore[attr-defined]
    winner = result.fold_scores[result.chosen]  # type: ignore[attr-defined]
    scored = ~np.isnan(winner.probability)
    oof = (
        model.calibrator_.transform(winner.raw[scored])
        if isinstance(model, PDModel)
        else winner.probability[scored]
    )
    grade = model.grade_of(oof)
    grades = model.fitted_grades_
    assert (
        grades["calibration_n"].tolist()
        == np.bincount(grade, minlength=len(grades) + 1)[1:].tolist()
    )
    expected = pd.Series(oof).groupby(grade).mean().to_numpy()
    np.testing.assert_allclose(grades["expected_bad_rate"], expected)
    assert grades["observed_bad_rate"].is_monotonic_increasing
    assert result.tables["grades"]["grade"].tolist() == grades["grade"].tolist()  # type: ignore[attr-defined]
    assert "## Grades" in result.model_card  # type: ignore[attr-defined]


def _chosen_is_best(result: object) -> None:
    candidates = result.candidates  # type: ignore[attr-defined]
    metrics = result.metrics  # type: ignore[attr-defined]
    assert candidates["candidate"].tolist() == ["scorecard", "default LightGBM", "tuned LightGBM"]
    assert candidates["chosen"].sum() == 1
    chosen = candidates[candidates["chosen"]].iloc[0]
    assert chosen["candidate"] == result.chosen  # type: ignore[attr-defined]
    assert metrics["evaluation_auc"] == chosen["auc"] == candidates["auc"].max()
    assert metrics["evaluation_auc"] >= metrics["scorecard_auc"]
    assert metrics["evaluation_auc"] >= metrics["default_lightgbm_auc"]
    # trial 0 of the search is the default LightGBM: the tuned one never does worse on the folds
    assert metrics["tuned_lightgbm_auc"] >= metrics["default_lightgbm_auc"]
    # every candidate is also refitted and scored on the test rows, the chosen one as registered
    assert candidates.columns.tolist() == [
        "candidate", "auc", "auc_std", "test_auc", "n_trees", "chosen"
    ]  # fmt: skip
    assert candidates["test_auc"].between(0, 1).all()
    assert chosen["test_auc"] == metrics["test_auc"]
    for name, test_auc in zip(candidates["candidate"], candidates["test_auc"], strict=True):
        assert metrics[f"{name.replace(' LightGBM', '_lightgbm')}_test_auc"] == test_auc


def test_out_of_time_three_candidates_logged_the_best_registered(
    tracking: tuple[str, str],
) -> None:
    uri, artifacts = tracking
    frame = bank_table(1500)
    result = train_table(
        frame,
        "defaulted",
        id_col="loan_no",
        date_col="opened",
        tracking_uri=uri,
        artifact_location=artifacts,
        model_name="bank-sme",
        config=FEW,
        register=True,
    )
    assert result.evaluation == "out-of-time"
    _chosen_is_best(result)
    _graded_out_of_fold(result)
    assert result.candidates["auc_std"].eq(0).all()  # one out-of-time fold
    assert 0.6 < result.metrics["test_auc"] < 1
    assert result.model.categorical_ == ["branch", "segment"]
    assert "loan_no" in result.holdout.columns and "opened" not in result.model.feature_names_
    test_rows = int(result.tables["splits"].set_index("split").loc["test", "loans"])
    assert result.metrics["registered_rows"] == len(frame) - test_rows  # all but the test period
    assert result.metrics["test_n"] == test_rows
    # the PSI compares out-of-sample scores with the test scores, as the gate will
    assert result.metrics["psi_score_oos_test"] == pytest.approx(
        result.model.holdout_psi(result.holdout)
    )

    assert result.run is not None and result.run.version == "1"
    model = ModelRegistry(uri).load("bank-sme", "challenger")
    X = result.holdout[result.model.feature_names_]
    assert np.array_equal(model.predict_pd(X), result.model.predict_pd(X))
    # served as the platform PD is: the fitted grade and the master scale's band
    served = model.predict_frame(X)
    assert list(served.columns) == ["pd", "grade", "pd_band"]
    pd.testing.assert_frame_equal(served, result.model.predict_frame(X))
    client = MlflowClient(uri)
    assert client.get_run(result.run.run_id).data.tags["credlink.chosen"] == result.chosen
    assert set(result.candidate_runs) == {"scorecard", "default LightGBM", "tuned LightGBM"}
    for name, run_id in result.candidate_runs.items():
        child = client.get_run(run_id).data
        assert child.tags["mlflow.parentRunId"] == result.run.run_id
        slug = name.replace(" LightGBM", "_lightgbm")
        assert child.metrics["evaluation_auc"] == pytest.approx(result.metrics[f"{slug}_auc"])
        assert child.metrics["test_auc"] == pytest.approx(result.metrics[f"{slug}_test_auc"])
    chosen_run = client.get_run(result.candidate_runs[result.chosen]).data
    assert chosen_run.metrics["test_auc"] == pytest.approx(result.metrics["test_auc"])
    card = result.model_card
    assert "**Evaluation**: out-of-time" in card and f"**Chosen: {result.chosen}**" in card
    assert "used for selection, so the chosen one's is selection-biased" in card
    for row in result.candidates.itertuples(index=False):
        line = f"{row.candidate} AUC {row.auc:.3f} ± {row.auc_std:.3f}, test {row.test_auc:.3f}"
        assert line in card


def test_cross_validated_without_a_date_on_the_configured_folds() -> None:
    config = TableConfig(train=TrainConfig(cv_folds=3), trials=3, max_rounds=300)
    result = train_table(
        bank_table(900, 1).drop(columns="opened"), "defaulted", "loan_no", config=config
    )
    assert result.evaluation == "3-fold CV" and result.run is None
    _chosen_is_best(result)
    _graded_out_of_fold(result)
    assert (result.candidates["auc_std"] > 0).all()
    assert "3-fold CV on the development rows" in result.model_card
    assert result.metrics["registered_rows"] == 900 - result.metrics["test_n"]


def test_the_refit_carries_the_tree_count_and_refit_all_learns_every_row() -> None:
    # a table where trees win: an interaction a WOE scorecard cannot express
    rng = np.random.default_rng(4)
    n = 1200
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"a": a, "b": b})
    frame["bad"] = (rng.random(n) < 1 / (1 + np.exp(-(3 * a * b - 2)))).astype(int)
    config = TableConfig(trials=3, max_rounds=300, refit_all=True)
    result = train_table(frame, "bad", config=config)
    assert result.chosen != "scorecard"
    assert result.metrics["evaluation_auc"] > result.metrics["scorecard_auc"] + 0.05
    assert isinstance(result.model, PDModel)
    n_trees = int(result.candidates.set_index("candidate").loc[result.chosen, "n_trees"])
    assert result.model.best_iteration_ == n_trees == result.metrics["n_trees"]
    assert result.model.booster_.current_iteration() == n_trees
    assert result.metrics["registered_rows"] == n
    assert "refitted once more on every row, test included" in result.model_card


def test_a_small_linear_table_can_choose_the_scorecard_and_register_it(
    tracking: tuple[str, str],
) -> None:
    """On a small, purely additive table the scorecard may win: it is registered, loads as
    data, and the reported AUC is still the best of the three."""
    uri, artifacts = tracking
    rng = np.random.default_rng(7)
    n = 600
    x = rng.normal(size=(n, 3))
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3"])
    frame["bad"] = (rng.random(n) < 1 / (1 + np.exp(-(x @ [1.2, -0.8, 0.5] - 2.2)))).astype(int)
    result = train_table(
        frame, "bad", config=FEW, tracking_uri=uri, artifact_location=artifacts,
        model_name="tiny", register=True,
    )  # fmt: skip
    _chosen_is_best(result)
    assert result.chosen == "scorecard" and "scorecard" in result.tables
    _graded_out_of_fold(result)
    registry = ModelRegistry(uri)
    model = registry.load("tiny", "challenger")
    assert isinstance(model, Scorecard)
    X = result.holdout[result.model.feature_names_]
    np.testing.assert_array_equal(model.predict_pd(X), result.model.predict_pd(X))
    pd.testing.assert_frame_equal(model.predict_frame(X), result.model.predict_frame(X))
    # the promotion gate reads a scorecard as it reads a PD (here: too few test bads)
    with pytest.raises(PromotionRefusedError, match=r"holdout AUC .* on 17 bads"):
        registry.promote("tiny", "1")


def test_train_table_errors() -> None:
    frame = bank_table(300)
    with pytest.raises(InvalidFrameError, match="frame must have column"):
        train_table(frame, "bad")
    with pytest.raises(TrainingDataError, match=r"target 'branch' must hold only 0/1 \(1 = bad"):
        train_table(frame, "branch")
    with pytest.raises(ValueError, match="frame must have at least one feature column"):
        train_table(frame[["loan_no", "defaulted"]], "defaulted", "loan_no")
    with pytest.raises(TrainingDataError, match="slices must hold goods and bads"):
        train_table(frame.assign(defaulted=False), "defaulted")
    with pytest.raises(ValueError, match="date column 'branch' must hold dates"):
        train_table(frame, "defaulted", date_col="branch")
    few_bads = frame.assign(defaulted=np.arange(300) < 5)  # 4 left beside the test split
    with pytest.raises(TrainingDataError, match="5-fold CV must have at least 5 goods and 5 bads"):
        train_table(few_bads, "defaulted", "loan_no", date_col=None)
    with pytest.raises(TypeError, match="config must be a TableConfig; got TrainConfig"):
        train_table(frame, "defaulted", config=TrainConfig())  # type: ignore[arg-type]


def test_table_config_is_checked() -> None:
    with pytest.raises(ValueError, match="trials must be"):
        TableConfig(trials=0)
    with pytest.raises(TypeError, match="train must be a TrainConfig; got dict"):
        TableConfig(train={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="refit_all must be a bool"):
        TableConfig(refit_all="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cv_folds"):
        TrainConfig(cv_folds=1)


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

    table = bank_table(800, seed=2)
    table["income"] = [f"${v:,.2f}" if v == v else None for v in table["income"]]
    result = train_table(table, "defaulted", id_col="loan_no", date_col="opened", config=FEW)
    assert "income" not in result.model.categorical_  # learned as an amount


def test_a_target_of_words_says_what_it_holds_and_what_to_do() -> None:
    table = bank_table(300, seed=3)
    table["defaulted"] = np.where(table["defaulted"], "bad", "good")
    with pytest.raises(TrainingDataError, match=r"got 'good', 'bad'|got 'bad', 'good'") as caught:
        train_table(table, "defaulted", id_col="loan_no")
    assert "map the labels to 0/1" in str(caught.value)
