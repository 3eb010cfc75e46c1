"""The pre-credit PD on a small synthetic county: grades ordered by observed bad rate on the
out-of-time test loans, the held-out sample's calibration and grades as the model card says."""

from __future__ import annotations

import numpy as np

from models.metrics import roc_auc
from models.training import TrainResult
from tests.features.county import small_county


def test_bad_rates_increase_by_grade_on_the_holdout(trained: TrainResult) -> None:
    """Grades cut on the held-out periods; on the later test loans every grade is populated and
    each grade's observed bad rate is higher than the one before."""
    model = trained.pd_model
    grades = trained.tables["grades"]
    assert 2 <= len(grades) <= model.config_.max_grades
    assert (grades["calibration_bads"] >= model.config_.grade_min_bads).all()
    assert (np.diff(grades["observed_bad_rate"]) > 0).all()
    assert (grades["test_n"] > 0).all()
    assert (np.diff(grades["test_bad_rate"]) > 0).all(), grades
    # The served grade is the fitted one: the holdout's grades are its cuts'.
    holdout = trained.holdout
    assert np.array_equal(holdout["grade"], model.grade_of(holdout["pd"]))
    assert set(holdout["grade"]) == set(grades["grade"])


def test_the_pd_ranks_close_to_the_planted_risk(trained: TrainResult) -> None:
    """The PD's test AUC against the AUC of the latent risk that drives the outcomes, on the
    same loans (a 3,000-enterprise county: the ratio is noisy; bench/pd.py measures 20,000)."""
    holdout = trained.holdout
    hidden = small_county(3000, 0).hidden_risk.reindex(holdout["uscc"].astype(str))
    y = holdout["label"].to_numpy(dtype=float)
    ratio = roc_auc(y, holdout["pd"]) / roc_auc(y, hidden.to_numpy(dtype=float))
    assert ratio > 0.85


def test_the_card_reports_calibration_grades_and_gain_shares(trained: TrainResult) -> None:
    card = trained.model_card
    calibrator = trained.pd_model.calibrator_
    assert f"Calibration: {calibrator.method_}" in card
    assert f"{calibrator.n_bads_:,} bads" in card
    assert "grades cut on the held-out periods" in card
    assert "public-credit records" in card and "graph of linked parties" in card
    assert "first bad day" in card
