"""PDModel: monotone behaviour, calibration sanity, contributions, persistence, config."""

from __future__ import annotations

import time
from itertools import combinations, pairwise

import numpy as np
import pandas as pd
import pytest

from models.exceptions import NotFittedError, TrainingDataError
from models.pd import GradeScale, PDConfig, PDModel, fit_grade_cuts
from models.training import TrainResult
from risk.exceptions import InvalidFrameError


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A risk that rises with ``records``, falls with ``tax``, and a noisy category."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "records": rng.poisson(0.6, n).astype(float),
            "tax": rng.lognormal(1.0, 1.0, n),
            "sector": rng.choice(["A", "C", "F", None], n),
            "noise": rng.normal(size=n),
        }
    )
    X.loc[rng.random(n) < 0.05, "tax"] = np.nan
    logit = -2.5 + 0.9 * X["records"] - 0.5 * np.log1p(X["tax"].fillna(1.0))
    logit += np.where(X["sector"] == "F", 0.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[PDModel, pd.DataFrame, np.ndarray]:
    X, y = synthetic(6000, 0)
    Xv, yv = synthetic(2000, 1)
    Xc, yc = synthetic(3000, 2)
    model = PDModel(
        PDConfig(learning_rate=0.05, num_leaves=7, min_child_samples=30),
        monotone={"records": 1, "tax": -1},
    )
    assert model.fit(X, y, eval_set=(Xv, yv), calibration_set=(Xc, yc)) is model
    return model, Xc, yc


def test_learned_attributes_and_categoricals(
    fitted: tuple[PDModel, pd.DataFrame, np.ndarray],
) -> None:
    model, _, _ = fitted
    assert model.categorical_ == ["sector"]
    assert model.monotone_ == {"records": 1, "tax": -1}
    assert model.encoder_.vocabulary_ == {"sector": ("A", "C", "F")}
    assert model.best_iteration_ >= 1 and model.calibrator_.method_ == "platt"
    assert {"feature", "gain", "splits"} <= set(model.feature_importance().columns)


def test_monotone_in_a_grid_sweep_with_the_rest_fixed(
    fitted: tuple[PDModel, pd.DataFrame, np.ndarray],
) -> None:
    model, X, _ = fitted
    rows = X.iloc[:40]
    for feature, grid, sign in (
        ("records", np.arange(0, 8.0), 1),
        ("tax", np.geomspace(0.1, 200, 25), -1),
    ):
        swept = rows.loc[rows.index.repeat(grid.size)].reset_index(drop=True)
        swept[feature] = np.tile(grid, len(rows))
        pd_values = model.predict_pd(swept).reshape(len(rows), grid.size)
        assert np.all(sign * np.diff(pd_values, axis=1) >= -1e-12)
    assert model.monotonicity_report(X.assign(label=0))["violations"].sum() == 0


def test_calibration_sanity(fitted: tuple[PDModel, pd.DataFrame, np.ndarray]) -> None:
    model, X, _ = fitted
    Xt, yt = synthetic(8000, 3)
    p = model.predict_pd(Xt)
    assert p.mean() == pytest.approx(yt.mean(), abs=0.015)
    order = np.argsort(p)
    for part in np.array_split(order, 4):  # predicted ≈ observed per quartile
        assert p[part].mean() == pytest.approx(yt[part].mean(), abs=0.04)
    table = model.grade_table_
    assert table["calibration_n"].sum() == len(X)
    used = table[table["calibration_n"] > 0]
    assert (
        (used["pd_low"] <= used["expected_bad_rate"])
        & (used["expected_bad_rate"] < used["pd_high"])
    ).all()
    proba = model.predict_proba(Xt.head(3))
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_contributions_sum_to_the_raw_score(
    fitted: tuple[PDModel, pd.DataFrame, np.ndarray],
) -> None:
    model, X, _ = fitted
    contributions = model.contributions(X.head(50))
    assert list(contributions.columns) == [*model.feature_names_, "bias"]
    assert np.allclose(contributions.sum(axis=1), model.raw_score(X.head(50)))


def test_save_and_load_predict_identically(
    fitted: tuple[PDModel, pd.DataFrame, np.ndarray], tmp_path
) -> None:
    model, X, _ = fitted
    again = PDModel.load(model.save(tmp_path / "pd"))
    assert np.array_equal(again.predict_pd(X), model.predict_pd(X))
    assert np.array_equal(again.predict_grade(X), model.predict_grade(X))
    pd.testing.assert_frame_equal(again.grade_table_, model.grade_table_)


def test_precredit_model_is_monotone_in_its_signed_features(trained: TrainResult) -> None:
    model = trained.pd_model
    holdout = trained.holdout
    rows = holdout.iloc[:30]
    for feature, grid in (
        ("own_dishonest_all", np.arange(0, 5.0)),
        ("tax_paid_12m", np.geomspace(0.01, 200, 15)),
    ):
        swept = rows.loc[rows.index.repeat(grid.size)].reset_index(drop=True)
        swept[feature] = np.tile(grid, len(rows))
        values = model.predict_pd(swept).reshape(len(rows), grid.size)
        sign = model.monotone_[feature]
        assert np.all(sign * np.diff(values, axis=1) >= -1e-12)
    assert trained.metrics["monotonicity_violations"] == 0


def test_grade_scale() -> None:
    scale = GradeScale()
    assert scale.n_grades == 8
    assert scale.grade([0.0, 0.005, 0.0099, 0.3, 0.99]).tolist() == [1, 2, 2, 8, 8]
    assert scale.bands()["pd_high"].iloc[-1] == 1.0
    with pytest.raises(ValueError, match="bounds must be strictly increasing and non-empty"):
        GradeScale((0.1, 0.05))
    with pytest.raises(ValueError, match=r"bounds\[\] must be in \(0, 1\)"):
        GradeScale((0.0, 0.5))
    with pytest.raises(TypeError, match="bounds must be a sequence of floats; got float"):
        GradeScale(0.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("num_leaves", 1, ValueError, r"num_leaves must be an int in \[2, 1024\]"),
        ("learning_rate", 0.0, ValueError, r"learning_rate must be in \(0, 1\]"),
        ("max_rounds", 0, ValueError, r"max_rounds must be an int in \[1, 100000\]"),
        ("early_stopping_rounds", 0, ValueError, r"early_stopping_rounds must be an int"),
        ("min_child_samples", 0, ValueError, r"min_child_samples must be an int"),
        ("feature_fraction", 1.5, ValueError, r"feature_fraction must be in \(0, 1\]"),
        ("bagging_fraction", 0.0, ValueError, r"bagging_fraction must be in \(0, 1\]"),
        ("lambda_l2", -1.0, ValueError, r"lambda_l2 must be in \[0, inf\)"),
        ("monotone_method", "strict", ValueError, "monotone_method must be one of basic"),
        ("calibration", "beta", ValueError, "calibration must be one of platt, isotonic"),
        ("calibration_min_bads", 0, ValueError, "calibration_min_bads must be an int"),
        ("min_category_count", 0, ValueError, "min_category_count must be an int"),
        ("grades", (0.1,), TypeError, "grades must be a GradeScale; got tuple"),
        ("seed", -1, ValueError, r"seed must be an int in \[0, inf\)"),
        ("num_threads", "all", TypeError, "num_threads must be an int; got str"),
    ],
)
def test_config_validation(field: str, value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        PDConfig(**{field: value})  # type: ignore[arg-type]


def test_fit_and_predict_errors() -> None:
    X, y = synthetic(300, 4)
    with pytest.raises(NotFittedError, match="PDModel is not fitted"):
        PDModel().predict_pd(X)
    with pytest.raises(TrainingDataError, match="training sample must hold goods and bads"):
        PDModel().fit(X, np.zeros(len(X)), eval_set=(X, y))
    with pytest.raises(ValueError, match="y must hold only 0 and 1"):
        PDModel().fit(X, np.full(len(X), 2.0), eval_set=(X, y))
    with pytest.raises(ValueError, match="monotone keys must be columns of X; got 'age'"):
        PDModel(monotone={"age": 1}).fit(X, y, eval_set=(X, y))
    with pytest.raises(ValueError, match=r"monotone\['sector'\] must be 0 for a categorical"):
        PDModel(monotone={"sector": 1}).fit(X, y, eval_set=(X, y))
    with pytest.raises(ValueError, match=r"monotone\['tax'\] must be -1, 0 or 1; got 2"):
        PDModel(monotone={"tax": 2}).fit(X, y, eval_set=(X, y))
    with pytest.raises(ValueError, match="categorical must name columns of X; got 'region'"):
        PDModel(categorical=["region"]).fit(X, y, eval_set=(X, y))
    with pytest.raises(TypeError, match="config must be a PDConfig; got dict"):
        PDModel({}).fit(X, y, eval_set=(X, y))  # type: ignore[arg-type]
    model = PDModel(PDConfig(max_rounds=5)).fit(X, y, eval_set=(X, y))
    with pytest.raises(InvalidFrameError, match="X must have column"):
        model.predict_pd(X.drop(columns="tax"))


def exhaustive_grade_cuts(
    probability: np.ndarray,
    y: np.ndarray,
    max_grades: int,
    min_bads: int,
    candidates: int = 20,
) -> tuple[tuple[float, ...], float]:
    """The reference: every set of ``k − 1`` candidate cuts, from ``k = max_grades`` down (what
    :func:`fit_grade_cuts` did before its dynamic programme); the cuts and their
    log-likelihood."""
    bad_pds = probability[y == 1]
    grid = np.unique(
        np.quantile(bad_pds, np.arange(1, candidates) / candidates, method="inverted_cdf")
    )
    for k in range(max_grades, 1, -1):
        best: tuple[tuple[float, ...], float] | None = None
        for cuts in combinations(grid, k - 1):
            grade = np.searchsorted(np.asarray(cuts), probability, side="right")
            n = np.bincount(grade, minlength=k)
            bads = np.bincount(grade, weights=y, minlength=k)
            if (bads < min_bads).any() or (bads >= n).any():
                continue
            rate = bads / n
            if (np.diff(rate) <= 0).any():
                continue
            fit = float(np.sum(bads * np.log(rate) + (n - bads) * np.log1p(-rate)))
            if best is None or fit > best[1]:
                best = (tuple(float(c) for c in cuts), fit)
        if best is not None:
            return best
    return (), 0.0


def log_likelihood(cuts: tuple[float, ...], probability: np.ndarray, y: np.ndarray) -> float:
    grade = np.searchsorted(np.asarray(cuts), probability, side="right")
    n = np.bincount(grade)
    bads = np.bincount(grade, weights=y)
    rate = bads / n
    return float(np.sum(bads * np.log(rate) + (n - bads) * np.log1p(-rate)))


@pytest.mark.parametrize("seed", range(12))
def test_grade_cuts_dynamic_programme_equals_the_exhaustive_search(seed: int) -> None:
    """Small samples (60–200 rows, a PD that separates well, weakly or not at all, ties in
    the PD; 0 to 4 cuts found): the same cuts, and so the same log-likelihood, as trying
    every set."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 200))
    probability = np.round(rng.beta(1, 6, n), int(rng.integers(1, 4)))  # 1–3 decimals: ties
    strength = [0.0, 1.0, 3.0][seed % 3]
    y = (rng.random(n) < np.clip(0.05 + strength * probability, 0, 0.95)).astype(float)
    for max_grades, min_bads in ((2, 3), (3, 2), (4, 3), (5, 1)):
        cuts, fit = exhaustive_grade_cuts(probability, y, max_grades, min_bads, candidates=10)
        found = fit_grade_cuts(
            probability, y, max_grades=max_grades, min_bads=min_bads, candidates=10
        )
        assert found == cuts
        if cuts:
            assert log_likelihood(found, probability, y) == pytest.approx(fit, abs=1e-9)
            grades = np.searchsorted(found, probability, side="right")
            rates = [y[grades == g].mean() for g in range(len(found) + 1)]
            assert all(b > a for a, b in pairwise(rates))
            assert min(y[grades == g].sum() for g in range(len(found) + 1)) >= min_bads


def test_grade_cuts_by_hand_match_the_exhaustive_search() -> None:
    """PDs 1 % … 12 %, bads at 3, 6, 7, 10 and 11 %: two grades cut at 6 % (1 of 5, 4 of 7);
    three at 6 and 10 % (1 of 5, 2 of 4, 2 of 3); no fourth keeps a good above the top."""
    probability = np.arange(1, 13) / 100
    y = np.isin(np.arange(1, 13), [3, 6, 7, 10, 11]).astype(float)
    expected = {2: (0.06,), 3: (0.06, 0.10), 4: (0.06, 0.10), 5: (0.06, 0.10)}
    for max_grades, cuts in expected.items():
        reference, _ = exhaustive_grade_cuts(probability, y, max_grades, 1, candidates=5)
        found = fit_grade_cuts(probability, y, max_grades=max_grades, min_bads=1, candidates=5)
        assert found == reference == cuts


def test_fit_grade_cuts_refuses_nan_pds() -> None:
    """A NaN PD used to fall into no grade's comparison and give one grade silently."""
    probability = np.repeat([0.01, 0.05, 0.30], 100)
    y = np.tile([1.0, 0.0, 0.0, 0.0, 0.0], 60)
    probability[7] = np.nan
    with pytest.raises(ValueError, match="probability must not be NaN; got 1 NaN of 300 PDs"):
        fit_grade_cuts(probability, y)


def test_ten_grades_on_a_large_sample_are_quick() -> None:
    """10 grades of 100 candidates on 200 000 rows: the exhaustive search would try
    C(99, 9) ≈ 1.7·10¹² sets."""
    rng = np.random.default_rng(0)
    probability = rng.beta(1, 20, 200_000)
    y = (rng.random(200_000) < probability).astype(float)
    start = time.perf_counter()
    cuts = fit_grade_cuts(probability, y, max_grades=10, min_bads=50, candidates=100)
    assert len(cuts) == 9 and time.perf_counter() - start < 10


def test_fit_grade_cuts_by_hand() -> None:
    """PDs 0.01 … 0.30 in three blocks of 100 with 10, 20 and 40 bads: the cuts fall between
    the blocks; with at least 30 bads a grade, two grades; with 80, one."""
    probability = np.repeat([0.01, 0.05, 0.30], 100)
    y = np.zeros(300)
    y[:10] = 1
    y[100:120] = 1
    y[200:240] = 1
    cuts = fit_grade_cuts(probability, y, max_grades=3, min_bads=10)
    assert len(cuts) == 2
    assert 0.01 < cuts[0] <= 0.05 < cuts[1] <= 0.30
    grades = np.searchsorted(cuts, probability, side="right") + 1
    assert [y[grades == g].mean() for g in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert len(fit_grade_cuts(probability, y, min_bads=30)) == 1
    assert fit_grade_cuts(probability, y, min_bads=80) == ()
    # Bad rates that fall with the PD cannot make two grades.
    assert fit_grade_cuts(probability, y[::-1], min_bads=10) == ()
    # Few bads close together: PDs 0.01 … 1.00, bads at 0.91 … 0.94. Quantiles of the rows
    # (0.90, 0.95) leave 4 or 0 bads above; the bads' own PDs give 0.93: 2 of 8 above, 2 of 92
    # below.
    probability = np.arange(1, 101) / 100
    y = np.isin(np.arange(1, 101), [91, 92, 93, 94]).astype(float)
    assert fit_grade_cuts(probability, y, max_grades=2, min_bads=2) == (0.93,)
    with pytest.raises(ValueError, match=r"max_grades must be an int in \[1, 10\]; got 0"):
        fit_grade_cuts(probability, y, max_grades=0)
    with pytest.raises(ValueError, match="probability and y must have the same length"):
        fit_grade_cuts(probability, y[:10])
