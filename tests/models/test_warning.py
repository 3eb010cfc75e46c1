"""The learned warning's estimator: scikit-learn style, round trip, broken files, checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.booster import LABEL
from models.exceptions import ArtifactError, NotFittedError, TrainingDataError
from models.warning import PROBABILITY, RULES_FLAGGED, WarningConfig, WarningModel


def tiny_sample(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "count": rng.poisson(1.0, n).astype(float),
            "noise": rng.normal(size=n),
            "code": rng.integers(0, 3, n).astype(float),
        }
    )
    y = (rng.random(n) < 0.1 + 0.2 * (X["count"] > 1)).astype(float)
    return X, y


def test_estimator_is_scikit_learn_style_and_round_trips(tmp_path: Path) -> None:
    X, y = tiny_sample()
    model = WarningModel(
        WarningConfig(max_rounds=20, min_child_samples=10),
        categorical=["code"],
        monotone={"count": 1},
    )
    with pytest.raises(NotFittedError, match="WarningModel is not fitted; call fit first"):
        model.predict_proba(X)
    assert model.fit(X, y) is model
    learned = {name for name in vars(model) if name.endswith("_")}
    assert {"booster_", "feature_names_", "monotone_", "categorical_"} <= learned
    assert model.best_iteration_ == 20 and model.n_features_in_ == 3
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    holdout = X.assign(**{LABEL: y})
    assert model.monotonicity_report(holdout)["violations"].sum() == 0
    loaded = WarningModel.load(model.save(tmp_path / "estimator"))
    np.testing.assert_array_equal(loaded.predict_violation(X), model.predict_violation(X))
    assert loaded.holdout_psi(holdout) == pytest.approx(model.holdout_psi(holdout))


def test_a_broken_warning_model_is_refused_naming_the_file(tmp_path: Path) -> None:
    X, y = tiny_sample()
    model = WarningModel(WarningConfig(max_rounds=20, min_child_samples=10)).fit(X, y)
    directory = model.save(tmp_path / "estimator")
    meta_path, booster = directory / "warning_model.json", directory / "booster.txt"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta_path.write_text(json.dumps({**meta, "kind": "pd"}), "utf-8")
    with pytest.raises(ArtifactError, match=r"warning_model\.json .* kind must be 'warning'"):
        WarningModel.load(directory)
    meta_path.write_text(json.dumps(meta), "utf-8")
    text = booster.read_text("utf-8")
    booster.write_text(text[: len(text) // 2], "utf-8")
    with pytest.raises(ArtifactError, match=r"booster\.txt .*\(truncated\)"):
        WarningModel.load(directory)
    booster.unlink()
    with pytest.raises(ArtifactError, match=r"booster\.txt must exist"):
        WarningModel.load(directory)


def test_estimator_and_config_validate_their_inputs() -> None:
    X, y = tiny_sample()
    with pytest.raises(ValueError, match=r"num_leaves must be an int in \[2, 1024\]; got 1"):
        WarningConfig(num_leaves=1)
    with pytest.raises(ValueError, match=r"learning_rate must be in \(0, 1\]; got 0"):
        WarningConfig(learning_rate=0)
    with pytest.raises(ValueError, match="monotone_method must be one of basic"):
        WarningConfig(monotone_method="strict")
    with pytest.raises(TypeError, match="config must be a WarningConfig; got str"):
        WarningModel("fast").fit(X, y)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"X columns must be numeric; got .* column 'kind'"):
        WarningModel().fit(X.assign(kind="company"), y)
    with pytest.raises(TrainingDataError, match="must hold positives and negatives"):
        WarningModel().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"y must have one outcome per row \(400\); got 3"):
        WarningModel().fit(X, [0, 1, 0])
    with pytest.raises(ValueError, match="categorical column 'noise' must hold integer codes"):
        WarningModel(categorical=["noise"]).fit(X, y)
    with pytest.raises(ValueError, match="categorical must name columns of X; got 'kind'"):
        WarningModel(categorical=["kind"]).fit(X, y)
    with pytest.raises(ValueError, match=r"monotone\['count'\] must be -1, 0 or 1; got 2"):
        WarningModel(monotone={"count": 2}).fit(X, y)
    with pytest.raises(ValueError, match=r"monotone\['code'\] must be 0 for a categorical"):
        WarningModel(categorical=["code"], monotone={"code": 1}).fit(X, y)


def test_holdout_quality_adds_the_rules_workload() -> None:
    X, y = tiny_sample()
    model = WarningModel(WarningConfig(max_rounds=20, min_child_samples=10)).fit(X, y)
    flagged = np.zeros(len(X), dtype=bool)
    flagged[:40] = True
    holdout = X.assign(**{LABEL: y, RULES_FLAGGED: flagged})
    quality = model.holdout_quality(holdout)
    assert quality["flagged"] == 40 and quality["rules_precision"] == pytest.approx(y[:40].mean())
    assert 0 <= quality["precision_at_flagged"] <= 1 and quality["bads"] == y.sum()
    assert "flagged" not in model.holdout_quality(X.assign(**{LABEL: y}))
    assert list(model.predict_frame(X.head(3)).columns) == [PROBABILITY]
