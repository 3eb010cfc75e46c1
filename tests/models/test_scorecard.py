"""The WOE scorecard: optbinning's bins applied from JSON, a JSON round trip, its checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from optbinning import BinningProcess

from models.exceptions import ArtifactError, NotFittedError, TrainingDataError
from models.pd import GradeScale, fit_grade_cuts
from models.pyfunc import load_estimator
from models.scorecard import Scorecard


def loans(n: int = 800, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "arrears": rng.poisson(0.5, n).astype(float),
            "income": rng.lognormal(3, 1, n),
            "branch": rng.choice(["north", "south", "east"], n),
        }
    )
    X.loc[rng.random(n) < 0.1, "income"] = np.nan
    X.loc[rng.random(n) < 0.05, "branch"] = None
    logit = -2.5 + 1.2 * X["arrears"] - 0.4 * np.log1p(X["income"].fillna(5))
    logit += np.where(X["branch"] == "east", 0.8, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def test_the_woe_of_the_stored_bins_is_optbinnings() -> None:
    X, y = loans()
    card = Scorecard(max_n_bins=5).fit(X, y)
    reference = BinningProcess(list(X.columns), categorical_variables=["branch"], max_n_bins=5).fit(
        Scorecard._typed(X, ["branch"]), y
    )
    expected = reference.transform(
        Scorecard._typed(X, ["branch"]), metric="woe", metric_missing="empirical"
    )
    np.testing.assert_allclose(card.woe(X).to_numpy(), expected.to_numpy(), atol=1e-12)
    # a missing income has its own bin; an unseen branch is the average risk, WOE 0
    unseen = card.woe(X.head(1).assign(branch="west", income=np.nan))
    assert unseen["branch"].iloc[0] == 0.0
    assert unseen["income"].iloc[0] == card.bins_["income"]["missing_woe"] != 0.0


def test_scores_rank_and_constraints_hold() -> None:
    X, y = loans()
    card = Scorecard(monotone={"arrears": 1, "income": -1}).fit(X, y)
    # WOE = ln(good share / bad share): ascending bad rate over the bins = falling WOE
    assert np.all(np.diff(card.bins_["arrears"]["woe"]) < 0)
    assert np.all(np.diff(card.bins_["income"]["woe"]) > 0)
    p = card.predict_pd(X)
    assert ((p > 0) & (p < 1)).all()
    from models.metrics import roc_auc

    assert roc_auc(y, p) > 0.7
    more_arrears = card.predict_pd(X.assign(arrears=X["arrears"] + 3))
    assert (more_arrears >= p - 1e-12).all()
    assert card.monotonicity_report(X.assign(label=y))["violations"].sum() == 0
    frame = card.predict_frame(X)
    assert list(frame.columns) == ["pd", "grade", "pd_band"]
    # the fitted grades, as the platform PD's: few, each populated, bad rates rising
    assert frame["grade"].tolist() == card.grade_of(frame["pd"]).tolist()
    assert card.grade_cuts_ == fit_grade_cuts(p, y) and frame["pd_band"].between(1, 8).all()
    rates = card.fitted_grades_["observed_bad_rate"]
    assert len(rates) > 1 and rates.is_monotonic_increasing
    points = card.points_table()
    assert set(points["feature"]) == {"arrears", "income", "branch"}
    for name in card.feature_names_:  # every bin and the missing one, with its log-odds term
        rows = points[points["feature"] == name]
        assert len(rows) == len(card.bins_[name]["woe"]) + 1
    np.testing.assert_allclose(
        card.raw_score(X), card.intercept_ + card.woe(X).to_numpy() @ card.coef_
    )


def test_json_round_trip_and_loaded_as_data(tmp_path: Path) -> None:
    X, y = loans()
    card = Scorecard(context={"kind": "table"}).fit(X, y)
    directory = card.save(tmp_path / "estimator")
    assert [p.name for p in directory.iterdir()] == ["scorecard.json"]
    loaded = load_estimator(directory)
    assert isinstance(loaded, Scorecard)
    np.testing.assert_array_equal(loaded.predict_pd(X), card.predict_pd(X))
    pd.testing.assert_frame_equal(loaded.predict_frame(X), card.predict_frame(X))
    assert loaded.holdout_psi(X) == card.holdout_psi(X)
    assert loaded.context == {"kind": "table"}

    meta = json.loads((directory / "scorecard.json").read_text("utf-8"))
    # a scorecard saved before the fitted grades is graded by the master scale's bands
    old = {k: v for k, v in meta.items() if k not in ("grade_cuts", "fitted_grades")}
    (directory / "scorecard.json").write_text(json.dumps(old), "utf-8")
    before = Scorecard.load(directory)
    assert before.grade_cuts_ == GradeScale().bounds
    assert (before.predict_frame(X)["grade"] == before.predict_frame(X)["pd_band"]).all()
    meta["coef"] = meta["coef"][:-1]
    (directory / "scorecard.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ArtifactError, match=r"scorecard\.json.*one coefficient per feature"):
        Scorecard.load(directory)
    meta["coef"] = [0.0] * 3
    meta["bins"]["income"]["woe"] = meta["bins"]["income"]["woe"][:-1]
    (directory / "scorecard.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ArtifactError, match="bins of 'income' must hold one finite WOE per bin"):
        Scorecard.load(directory)


def test_bad_input_is_refused_with_the_rule() -> None:
    X, y = loans(200)
    with pytest.raises(NotFittedError, match="Scorecard is not fitted"):
        Scorecard().predict_pd(X)
    with pytest.raises(ValueError, match="max_n_bins must be"):
        Scorecard(max_n_bins=1).fit(X, y)
    with pytest.raises(ValueError, match="C must be"):
        Scorecard(C=0).fit(X, y)
    with pytest.raises(ValueError, match=r"max_grades must be an int in \[1, 10\]; got 0"):
        Scorecard(max_grades=0).fit(X, y)
    with pytest.raises(ValueError, match="grade_min_bads must be"):
        Scorecard(grade_min_bads=0).fit(X, y)
    with pytest.raises(NotFittedError, match="Scorecard is not fitted"):
        Scorecard().fit_grades([0.1, 0.2], [0, 1])
    with pytest.raises(TypeError, match="grades must be a GradeScale; got tuple"):
        Scorecard(grades=(0.1, 0.2)).fit(X, y)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="categorical must name columns of X; got 'zone'"):
        Scorecard(categorical=["zone"]).fit(X, y)
    with pytest.raises(ValueError, match=r"monotone\['branch'\] must be 0 for a categorical"):
        Scorecard(monotone={"branch": 1}).fit(X, y)
    with pytest.raises(TrainingDataError, match="must hold goods and bads"):
        Scorecard().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="y must have one outcome per row"):
        Scorecard().fit(X, y[:-1])
