"""The binary LightGBM base: one fit, gate and persistence path for the PD and the warning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.booster import (
    LABEL,
    BinaryBooster,
    BoosterConfig,
    binary_labels,
    checked_monotone,
)
from models.exceptions import ArtifactError
from models.metrics import PSIReference
from models.pd import PDConfig, PDModel
from models.pyfunc import load_estimator
from models.warning import WarningConfig, WarningModel


def sample(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"records": rng.poisson(0.8, n).astype(float), "noise": rng.normal(size=n)})
    y = (rng.random(n) < 0.08 + 0.15 * (X["records"] > 1)).astype(float)
    return X, y


def fitted_pair() -> tuple[PDModel, WarningModel, pd.DataFrame, np.ndarray]:
    X, y = sample()
    pd_model = PDModel(
        PDConfig(max_rounds=30, min_child_samples=10, calibration_min_bads=5),
        monotone={"records": 1},
    ).fit(X, y, eval_set=(X, y))
    warning = WarningModel(
        WarningConfig(max_rounds=30, min_child_samples=10), monotone={"records": 1}
    ).fit(X, y)
    return pd_model, warning, X, y


def test_both_models_are_one_base_with_their_own_defaults() -> None:
    assert issubclass(PDModel, BinaryBooster) and issubclass(WarningModel, BinaryBooster)
    assert issubclass(PDConfig, BoosterConfig) and issubclass(WarningConfig, BoosterConfig)
    assert (PDConfig().learning_rate, WarningConfig().learning_rate) == (0.02, 0.05)
    assert (PDConfig().monotone_method, WarningConfig().monotone_method) == (
        "intermediate",
        "basic",
    )
    with pytest.raises(TypeError, match="abstract"):
        BinaryBooster()  # type: ignore[abstract]
    # The tree settings are checked once, for both.
    for config in (PDConfig, WarningConfig):
        with pytest.raises(ValueError, match=r"min_child_samples must be an int in \[1, inf\)"):
            config(min_child_samples=0)


def test_lightgbm_params_constrain_only_when_a_sign_is_set() -> None:
    config = WarningConfig()
    assert "monotone_constraints" not in config.lightgbm_params([0, 0])
    params = config.lightgbm_params([1, 0])
    assert params["monotone_constraints"] == [1, 0]
    assert params["monotone_constraints_method"] == "basic"
    assert params["metric"][0] == "binary_logloss"  # early stopping reads the first metric


def test_the_gate_hooks_and_persistence_are_shared(tmp_path: Path) -> None:
    pd_model, warning, X, y = fitted_pair()
    holdout = X.assign(**{LABEL: y})
    for model in (pd_model, warning):
        quality = model.holdout_quality(holdout)
        assert quality["n"] == len(X) and quality["bads"] == y.sum()
        assert model.holdout_score(holdout) == pytest.approx(quality["auc"])
        assert model.monotonicity_report(holdout)["violations"].sum() == 0
        assert model.holdout_psi(holdout) == pytest.approx(0.0, abs=1e-9)
        contributions = model.contributions(X.head(5))
        np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(X.head(5)))
        directory = model.save(tmp_path / model.kind)
        assert sorted(p.name for p in directory.iterdir()) == ["booster.txt", model.meta_file]
        loaded = load_estimator(directory)
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(loaded.predict_probability(X), model.predict_probability(X))
    np.testing.assert_array_equal(pd_model.predict_probability(X), pd_model.predict_pd(X))
    np.testing.assert_array_equal(warning.predict_probability(X), warning.predict_violation(X))
    with pytest.raises(ArtifactError, match=r"warning_model\.json must exist"):
        WarningModel.load(tmp_path / "pd")


def test_fit_without_an_eval_set_grows_every_round() -> None:
    X, y = sample()
    model = WarningModel(WarningConfig(max_rounds=7, min_child_samples=10)).fit(X, y)
    assert model.best_iteration_ == 7 and model.evals_result_ == {}
    stopped = WarningModel(
        WarningConfig(max_rounds=500, early_stopping_rounds=5, min_child_samples=10)
    ).fit(X, y, eval_set=sample(400, 1))
    assert stopped.best_iteration_ < 500 and "valid" in stopped.evals_result_
    with pytest.raises(ValueError, match="eval_set X must have column"):
        WarningModel().fit(X, y, eval_set=(X.drop(columns="noise"), y))


def test_the_score_reference_is_the_held_out_sample_when_there_is_one() -> None:
    """With an eval_set the gate's reference is the held-out scores (weighted as the eval
    rows are), not the training rows' in-sample ones; without one, the training scores."""
    X, y = sample()
    X_eval, y_eval = sample(400, 1)
    w, w_eval = np.where(y == 1, 1.0, 4.0), np.where(y_eval == 1, 1.0, 4.0)
    config = WarningConfig(max_rounds=60, early_stopping_rounds=60, min_child_samples=5)
    model = WarningModel(config).fit(
        X, y, eval_set=(X_eval, y_eval), sample_weight=w, eval_sample_weight=w_eval
    )
    held_out = PSIReference.from_sample(model.predict_probability(X_eval), weights=w_eval)
    in_sample = PSIReference.from_sample(model.predict_probability(X), weights=w)
    assert model.score_reference_ == held_out and model.score_reference_ != in_sample
    assert model.holdout_psi(X_eval.assign(**{LABEL: y_eval})) == pytest.approx(
        held_out.psi(model.predict_probability(X_eval))
    )
    unweighted = WarningModel(config).fit(X, y, eval_set=(X_eval, y_eval))
    assert unweighted.score_reference_ == PSIReference.from_sample(
        unweighted.predict_probability(X_eval)
    )
    no_eval = WarningModel(config).fit(X, y)
    assert no_eval.score_reference_ == PSIReference.from_sample(no_eval.predict_probability(X))


def test_shared_checks() -> None:
    assert checked_monotone(None, ["a"], []) == {}
    assert checked_monotone({"a": 0, "b": -1}, ["a", "b"], []) == {"b": -1}
    with pytest.raises(TypeError, match="monotone must be a mapping; got list"):
        checked_monotone([1], ["a"], [])
    with pytest.raises(ValueError, match=r"monotone\['a'\] must be -1, 0 or 1; got True"):
        checked_monotone({"a": True}, ["a"], [])
    assert binary_labels("y", [0, 1, 1], 3).tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="y must hold only 0 and 1"):
        binary_labels("y", [0, 2], 2)
    with pytest.raises(TypeError, match="categorical must be a sequence of column names; got str"):
        WarningModel(categorical="records").fit(*sample())  # type: ignore[arg-type]


def test_a_county_sized_prediction_uses_every_core_and_gives_the_same_values() -> None:
    """From PARALLEL_ROWS rows a default model predicts on all cores (TreeSHAP of a million
    rows took twice as long on one): the values, contributions included, are those of the
    same rows predicted a few at a time on one thread."""
    from models.booster import PARALLEL_ROWS

    pd_model, warning, _, _ = fitted_pair()
    big, _ = sample(PARALLEL_ROWS + 7, seed=3)
    assert pd_model._threads(len(big)) == 0 and pd_model._threads(PARALLEL_ROWS - 1) == 1
    matrix = pd_model.matrix(big)
    for contributions in (False, True):
        whole = pd_model.predict_matrix(matrix, contributions=contributions)
        pieces = np.concatenate(
            [
                pd_model.predict_matrix(matrix[i : i + 1000], contributions=contributions)
                for i in range(0, len(matrix), 1000)
            ]
        )
        np.testing.assert_array_equal(whole, pieces)
    probability = warning.predict_probability(big)
    parts = [warning.predict_probability(big.iloc[i : i + 1000]) for i in range(0, len(big), 1000)]
    np.testing.assert_array_equal(probability, np.concatenate(parts))
    explicit = PDModel(PDConfig(max_rounds=5, min_child_samples=10, num_threads=2))
    X, y = sample()
    explicit.fit(X, y, eval_set=(X, y))
    assert explicit._threads(10) == explicit._threads(10**6) == 2  # a configured count is kept
