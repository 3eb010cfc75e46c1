"""Evaluation folds, the search with LightGBM's defaults as trial 0, the carried tree count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.exceptions import TrainingDataError
from models.pd import PDConfig, PDModel, fit_grade_cuts
from models.tuning import (
    LIGHTGBM_DEFAULTS,
    CrossFittedPD,
    cross_fit_lightgbm,
    cv_folds,
    time_folds,
    tune_lightgbm,
)


def sample(n: int = 800, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * X["a"] - 2)))).astype(float).to_numpy()
    return X, y


def test_cv_folds_are_stratified_and_cover_every_row_once() -> None:
    y = np.array([1, 0, 0, 0] * 10, dtype=float)
    folds = cv_folds(y, 5, seed=1)
    assert folds.name == "5-fold CV" and len(folds.splits) == 5
    scored = np.concatenate([s for _, s in folds.splits])
    assert sorted(scored) == list(range(40))
    for fit, scored in folds.splits:
        assert set(fit).isdisjoint(scored) and y[scored].sum() == 2  # 10 bads over 5 folds
    with pytest.raises(TrainingDataError, match="5-fold CV must have at least 5 goods and 5 bads"):
        cv_folds(np.array([1, 1, 0, 0, 0, 0, 0, 0]), 5)


def test_time_folds_fit_the_oldest_and_score_the_later_periods() -> None:
    periods = np.array(["train"] * 4 + ["valid"] * 2 + ["calibration"] * 2)
    folds = time_folds(periods)
    assert folds.name == "out-of-time"
    (fit, scored), *rest = folds.splits
    assert not rest and fit.tolist() == [0, 1, 2, 3] and scored.tolist() == [4, 5, 6, 7]


def test_folds_whose_fitting_rows_hold_one_bad_are_refused_before_any_fit() -> None:
    """Early stopping splits a fold's fitting rows stratified: one bad there used to reach
    scikit-learn's "least populated class" error from inside the search."""
    y = np.array([1.0] * 3 + [0.0] * 45)
    X = pd.DataFrame({"a": np.arange(48.0)})
    with pytest.raises(
        TrainingDataError,
        match=r"fold \d of the 2-fold CV fits on 24 rows "
        r"with 1 bads; .* at least 2 bads, 2 goods .*: lower --folds",
    ):
        cv_folds(y, 2)
    assert len(cv_folds(np.array([1.0] * 4 + [0.0] * 44), 2).splits) == 2  # 2 bads a fold

    periods = np.array(["train"] * 30 + ["valid"] * 18, dtype=object)
    one_bad = np.array([1.0] + [0.0] * 29 + [1.0] * 2 + [0.0] * 16)
    with pytest.raises(
        TrainingDataError,
        match=r"out-of-time train period has 30 rows with 1 bads; .*without --date",
    ):
        cross_fit_lightgbm("default LightGBM", PDConfig(), X, one_bad, time_folds(periods))
    few_rows = time_folds(np.array(["train"] * 6 + ["valid"] * 4, dtype=object))
    with pytest.raises(TrainingDataError, match="has 6 rows with 3 bads"):
        cross_fit_lightgbm("default LightGBM", PDConfig(), X[:10], np.tile([1.0, 0.0], 5), few_rows)


def test_trial_zero_is_the_default_candidate_and_the_tuned_one_never_worse() -> None:
    X, y = sample()
    folds = cv_folds(y, 3)
    base = PDConfig(max_rounds=300, early_stopping_rounds=30)
    tuning = tune_lightgbm(base, X, y, folds, trials=4, seed=0)
    assert tuning.trials["trial"].tolist() == [0, 1, 2, 3]
    first = tuning.trials.iloc[0]
    assert {k: first[k] for k in LIGHTGBM_DEFAULTS} == dict(LIGHTGBM_DEFAULTS)
    assert tuning.default.auc == pytest.approx(first["auc"])
    assert tuning.tuned.auc == pytest.approx(tuning.trials["auc"].max())
    assert tuning.tuned.auc >= tuning.default.auc
    # the default candidate is trial 0 itself: fitting the defaults again gives the same AUCs
    again = cross_fit_lightgbm("default LightGBM", tuning_config(base), X, y, folds, seed=0)
    assert again.aucs == tuning.default.aucs
    assert len(tuning.default.best_iterations) == 3
    assert not np.isnan(tuning.default.raw).any()  # CV scores every row


def tuning_config(base: PDConfig) -> PDConfig:
    from dataclasses import replace

    return replace(base, **LIGHTGBM_DEFAULTS)


def test_the_refit_grows_the_carried_tree_count_and_saves_as_a_pd(tmp_path: Path) -> None:
    X, y = sample()
    folds = cv_folds(y, 3)
    scores = cross_fit_lightgbm("default LightGBM", PDConfig(max_rounds=300), X, y, folds)
    assert scores.n_trees == round(np.mean(scores.best_iterations))
    model = CrossFittedPD(PDConfig()).fit(X, y, n_trees=scores.n_trees, out_of_fold=(scores.raw, y))
    assert model.best_iteration_ == model.booster_.current_iteration() == scores.n_trees
    # calibrated on the out-of-fold scores: those scores, calibrated, are the PSI reference
    calibrated = model.calibrator_.transform(scores.raw)
    assert model.score_reference_.psi(calibrated) == pytest.approx(0.0, abs=1e-12)
    # the fitted grades are cut on those calibrated out-of-fold scores, as the platform PD's
    assert model.grade_cuts_ == fit_grade_cuts(calibrated, y)
    loaded = PDModel.load(model.save(tmp_path / "estimator"))
    np.testing.assert_array_equal(loaded.predict_pd(X), model.predict_pd(X))
    pd.testing.assert_frame_equal(loaded.predict_frame(X), model.predict_frame(X))
    with pytest.raises(ValueError, match="n_trees must be"):
        CrossFittedPD(PDConfig()).fit(X, y, n_trees=0, out_of_fold=(scores.raw, y))
    with pytest.raises(ValueError, match="out_of_fold scores must be finite"):
        CrossFittedPD(PDConfig()).fit(X, y, n_trees=5, out_of_fold=(scores.raw * np.nan, y))
