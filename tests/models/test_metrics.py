"""Metrics worked out by hand: AUC, KS, Gini, Brier, precision@k, calibration, PSI,
monotonicity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.metrics import (
    PSI_FLOOR,
    PSIReference,
    binary_metrics,
    brier,
    calibration_table,
    gini,
    ks_statistic,
    monotonicity_violations,
    precision_at_k,
    psi,
    ranking_metrics,
    recall_at_k,
    roc_auc,
    segment_metrics,
)
from risk.exceptions import InvalidFrameError

Y = np.array([0, 0, 1, 1])
S = np.array([0.1, 0.4, 0.35, 0.8])


def test_discrimination_by_hand() -> None:
    # Pairs (bad, good): (0.35 > 0.1) yes, (0.35 > 0.4) no, (0.8 > both) yes → 3 of 4.
    assert roc_auc(Y, S) == 0.75
    assert gini(Y, S) == 0.5
    # Thresholds: at 0.8 TPR 0.5, FPR 0 → KS 0.5.
    assert ks_statistic(Y, S) == 0.5
    assert brier(Y, S) == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    metrics = binary_metrics(Y, S)
    assert metrics["n"] == 4 and metrics["bads"] == 2 and metrics["bad_rate"] == 0.5
    assert math.isnan(roc_auc([0, 0], [0.1, 0.2])) and math.isnan(ks_statistic([1], [0.3]))


def test_psi_by_hand() -> None:
    # Median of [1, 2, 3, 4] is 2.5: expected shares (½, ½), actual (¾, ¼).
    expected = 0.25 * math.log(1.5) + 0.25 * math.log(2.0)
    assert psi([1, 2, 3, 4], [1, 1, 1, 4], bins=2) == pytest.approx(expected)
    assert psi([1, 2, 3, 4], [1, 2, 3, 4], bins=2) == 0.0
    # An empty actual bin is floored, so the PSI stays finite.
    floored = (1 - 0.5) * math.log(1 / 0.5) + (PSI_FLOOR - 0.5) * math.log(PSI_FLOOR / 0.5)
    assert psi([1, 2, 3, 4], [1, 1, 1, 1], bins=2) == pytest.approx(floored)
    reference = PSIReference.from_sample([1, 2, 3, 4], bins=2)
    assert reference.edges == (2.5,) and reference.shares == (0.5, 0.5)
    assert PSIReference.from_dict(reference.to_dict()) == reference
    with pytest.raises(ValueError, match="values must be a non-empty sample without NaN"):
        psi([], [1.0])
    with pytest.raises(ValueError, match=r"bins must be an int in \[2, inf\); got 1"):
        psi([1, 2], [1, 2], bins=1)


def test_calibration_and_segments() -> None:
    y = np.array([0, 0, 0, 1, 0, 1])
    p = np.array([0.1, 0.1, 0.2, 0.2, 0.6, 0.7])
    table = calibration_table(y, p, bins=3)
    assert table["n"].tolist() == [2, 2, 2]
    assert table["observed"].tolist() == [0.0, 0.5, 0.5]
    assert table["predicted"].tolist() == pytest.approx([0.1, 0.2, 0.65])
    segments = segment_metrics(y, p, {"kind": ["a", "a", "b", "b", "b", None]})
    assert segments["segment"].tolist() == ["a", "b", "unknown"]
    # Segment b: the bad (0.2) ties one good (0.2) and trails the other (0.6): ½ of 2.
    assert math.isnan(segments.loc[0, "auc"]) and segments.loc[1, "auc"] == 0.25
    with pytest.raises(ValueError, match=r"segments\['kind'\] must have one label per row"):
        segment_metrics(y, p, {"kind": ["a"]})


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="y and score must have the same length; got 2 and 1"):
        roc_auc([0, 1], [0.5])
    with pytest.raises(ValueError, match="y must hold only 0 and 1"):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="score must not contain NaN"):
        roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match=r"bins must be an int in \[1, inf\); got 0"):
        calibration_table([0, 1], [0.1, 0.2], bins=0)


def test_monotonicity_sweep_finds_reversals() -> None:
    X = pd.DataFrame({"x": np.linspace(0, 1, 50), "z": np.linspace(-1, 1, 50)})

    def bumpy(frame: pd.DataFrame) -> np.ndarray:
        return (frame["x"] + 0.5 * np.sin(6 * frame["x"])).to_numpy()

    report = monotonicity_violations(bumpy, X, {"x": 1, "z": 0}, sample=10)
    assert report["feature"].tolist() == ["x"]  # zero constraints are skipped
    assert report.loc[0, "violations"] == 10 and report.loc[0, "max_reversal"] > 0
    clean = monotonicity_violations(lambda f: -f["z"].to_numpy(), X, {"z": -1}, sample=10)
    assert clean.loc[0, "violations"] == 0
    with pytest.raises(InvalidFrameError, match="X must have column"):
        monotonicity_violations(bumpy, X, {"w": 1})
    with pytest.raises(ValueError, match=r"grid_size must be an int in \[2, inf\)"):
        monotonicity_violations(bumpy, X, {"x": 1}, grid_size=1)


def test_precision_and_recall_at_k_by_hand() -> None:
    y = [1, 0, 1, 0, 0, 1]
    score = [0.9, 0.8, 0.7, 0.1, 0.1, 0.05]
    assert precision_at_k(y, score, 2) == 0.5 and recall_at_k(y, score, 3) == pytest.approx(2 / 3)
    assert precision_at_k(y, score, 100) == 0.5  # k beyond the rows: all of them
    metrics = ranking_metrics(y, score, (1, 4), ranked=3)
    assert metrics["precision_at_1"] == 1.0 and np.isnan(metrics["precision_at_4"])
    assert metrics["positives"] == 3 and metrics["base_rate"] == 0.5
    with pytest.raises(ValueError, match=r"k must be an int in \[1, inf\); got 0"):
        precision_at_k(y, score, 0)
    with pytest.raises(ValueError, match="y and score must have the same length"):
        recall_at_k(y, score[:2], 1)
    assert np.isnan(recall_at_k([0, 0], [1, 2], 1))
