"""Calibrator: Platt recovers a known sigmoid; few bads fall back to intercept-only."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import Calibrator
from models.exceptions import NotFittedError, TrainingDataError


def sample(n: int, a: float, b: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a * score + b)))).astype(float)
    return score, y


def test_platt_recovers_slope_and_intercept() -> None:
    score, y = sample(20_000, 0.6, -2.0)
    calibrator = Calibrator("platt").fit(score, y)
    assert calibrator.method_ == "platt"
    assert calibrator.params_["a"] == pytest.approx(0.6, abs=0.05)
    assert calibrator.params_["b"] == pytest.approx(-2.0, abs=0.08)
    # Calibration-in-the-large: mean PD ≈ bad rate.
    assert calibrator.transform(score).mean() == pytest.approx(y.mean(), abs=0.005)


def test_few_bads_fall_back_to_intercept_only() -> None:
    score, y = sample(300, 1.0, -3.0, seed=1)
    assert y.sum() < 30
    calibrator = Calibrator("platt", min_bads=30).fit(score, y)
    assert calibrator.method_ == "intercept" and calibrator.params_["a"] == 1.0
    assert calibrator.transform(score).mean() == pytest.approx(y.mean(), abs=0.02)
    assert Calibrator("isotonic", min_bads=30).fit(score, y).method_ == "intercept"


def test_isotonic_is_monotone_and_round_trips() -> None:
    score, y = sample(5000, 1.0, -1.0, seed=2)
    calibrator = Calibrator("isotonic").fit(score, y)
    grid = np.linspace(-5, 5, 101)
    assert np.all(np.diff(calibrator.transform(grid)) >= 0)
    again = Calibrator.from_dict(calibrator.to_dict())
    assert np.array_equal(again.transform(grid), calibrator.transform(grid))
    floor = Calibrator("platt", floor=0.01).fit(*sample(5000, 3.0, 0.0, seed=3))
    assert floor.transform(np.array([-50.0, 50.0])).tolist() == [0.01, 0.99]


def test_errors() -> None:
    with pytest.raises(NotFittedError, match="Calibrator is not fitted"):
        Calibrator().transform([0.0])
    with pytest.raises(TrainingDataError, match="calibration sample must hold goods and bads"):
        Calibrator().fit([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="method must be one of platt, isotonic, intercept, auto"):
        Calibrator("beta").fit([0.1, 0.2], [0, 1])
    with pytest.raises(ValueError, match=r"min_bads must be an int in \[1, inf\)"):
        Calibrator(min_bads=0).fit([0.1, 0.2], [0, 1])
    with pytest.raises(ValueError, match=r"floor must be in \[0, 0.01\]"):
        Calibrator(floor=0.5).fit([0.1, 0.2], [0, 1])
    with pytest.raises(ValueError, match="score and y must have the same length"):
        Calibrator().fit([0.1, 0.2], [0])


def test_auto_chooses_platt_for_a_sigmoid_and_isotonic_for_a_step() -> None:
    """A score whose miscalibration is a sigmoid: Platt wins out of fold. A score whose bad rate
    jumps from 2 % to 40 % at 0 (no sigmoid of the score fits that): isotonic wins."""
    score, y = sample(6000, 0.7, -2.5, seed=4)
    sigmoid = Calibrator("auto").fit(score, y)
    assert sigmoid.method_ == "platt"
    assert sigmoid.cv_log_loss_["platt"] < sigmoid.cv_log_loss_["isotonic"]
    assert sigmoid.n_ == 6000 and sigmoid.n_bads_ == int(y.sum())
    rng = np.random.default_rng(5)
    step_score = rng.normal(0, 1, 6000)
    step_y = (rng.random(6000) < np.where(step_score > 0, 0.40, 0.02)).astype(float)
    step = Calibrator("auto").fit(step_score, step_y)
    assert step.method_ == "isotonic"
    assert step.transform(np.array([-1.0, 1.0])) == pytest.approx([0.02, 0.40], abs=0.03)
    again = Calibrator.from_dict(step.to_dict())
    assert again.cv_log_loss_ == step.cv_log_loss_ and again.n_bads_ == step.n_bads_
    few = Calibrator("auto", min_bads=30).fit(*sample(300, 1.0, -3.0, seed=1))
    assert few.method_ == "intercept" and few.cv_log_loss_ == {}
