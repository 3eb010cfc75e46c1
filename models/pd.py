"""Probability of default: LightGBM with monotone constraints, calibrated, banded into grades.

:class:`PDModel` is a scikit-learn style binary classifier for any feature frame (the
pre-credit features of :mod:`features.precredit`, or a bank's own table): numeric columns and
string categoricals (integer-encoded with a learned vocabulary), missing values allowed.

Fitting (:meth:`PDModel.fit`) takes three samples, which the callers cut by time:

1. *train*: grows the trees, with monotone constraints on signed features (more active
   失信 records → higher PD, more tax paid → lower PD);
2. *eval*: stops the boosting when the validation log loss has not improved for
   ``early_stopping_rounds`` rounds;
3. *calibration*: held-out periods on which :class:`models.calibration.Calibrator` maps the
   raw score to a PD (Platt or isotonic, chosen there by out-of-fold log loss), so the PD
   reflects recent bad rates.

Two groupings of the PD come out of it:

- the **grades** (评级) a user is shown, fitted on the held-out sample
  (:func:`fit_grade_cuts`): at most ``max_grades`` of them (3 by default), each holding at
  least ``grade_min_bads`` bads, their observed bad rates strictly rising — so every grade is
  populated and grade 2 is worse than grade 1 on evidence, not by decree;
- the **PD band** on a fixed master scale (:class:`GradeScale`, 0.5 % … 30 %, bands 1–8):
  the limit's multipliers and the 白名单 cut read it, so policy does not move when a
  retraining moves the fitted cuts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.encoding import CategoryEncoder, categorical_columns
from models.booster import BinaryBooster, BoosterConfig, binary_labels
from models.calibration import CALIBRATION_METHODS, Calibrator
from models.metrics import PSIReference
from risk.frames import require_frame
from risk.validation import check_choice, check_int, check_real

__all__ = ["GradeScale", "GradedPD", "PDConfig", "PDModel", "fit_grade_cuts"]


@dataclass(frozen=True)
class GradeScale:
    """A master scale: grade g holds the PDs in ``[bounds[g−2], bounds[g−1])``.

    Parameters
    ----------
    bounds
        Increasing PD bounds in (0, 1); k bounds make k + 1 grades, 1 (best) to k + 1.
        The default doubles from 0.5 % to 30 %: grades 1–8.

    Raises
    ------
    TypeError, ValueError
        If ``bounds`` is not an increasing sequence of numbers in (0, 1).
    """

    bounds: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.30)

    def __post_init__(self) -> None:
        if isinstance(self.bounds, str) or not isinstance(self.bounds, Sequence):
            raise TypeError(
                f"bounds must be a sequence of floats; got {type(self.bounds).__name__}"
            )
        values = tuple(
            check_real("bounds[]", b, 0.0, 1.0, open_low=True, open_high=True) for b in self.bounds
        )
        if not values or any(b <= a for a, b in pairwise(values)):
            raise ValueError(
                f"bounds must be strictly increasing and non-empty; got {self.bounds!r}"
            )
        object.__setattr__(self, "bounds", values)

    @property
    def n_grades(self) -> int:
        """Number of grades."""
        return len(self.bounds) + 1

    def grade(self, probability: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Grade (1 = best) of each PD."""
        p = np.asarray(probability, dtype=np.float64)
        return np.searchsorted(np.asarray(self.bounds), p, side="right").astype(np.int64) + 1

    def bands(self) -> pd.DataFrame:
        """``grade``, ``pd_low``, ``pd_high`` of each grade."""
        edges = [0.0, *self.bounds, 1.0]
        return pd.DataFrame(
            {
                "grade": np.arange(1, self.n_grades + 1),
                "pd_low": edges[:-1],
                "pd_high": edges[1:],
            }
        )


def fit_grade_cuts(
    probability: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    max_grades: int = 3,
    min_bads: int = 10,
    candidates: int = 20,
) -> tuple[float, ...]:
    """PD cuts that make at most ``max_grades`` grades, each with ``min_bads`` bads, bad rates
    strictly rising.

    Parameters
    ----------
    probability, y
        Calibrated PDs and outcomes (1 = bad) of a held-out sample.
    max_grades
        Most grades, in [1, 10] (default 3).
    min_bads
        Fewest bads in a grade, ≥ 1 (default 10).
    candidates
        Cuts are chosen among the ``candidates``-quantiles of the bads' PDs, in [2, 100]
        (default 20).

    Returns
    -------
    tuple of float
        Increasing cuts: grade g holds the PDs in ``[cuts[g−2], cuts[g−1])``. Empty (one grade)
        when no two grades satisfy the rules.

    Notes
    -----
    Among the sets of ``k − 1`` cuts from the candidates the largest ``k ≤ max_grades`` with a
    valid set wins, and among its valid sets the one with the highest log-likelihood of the
    outcomes under the grades' bad rates (the sharpest separation). The log-likelihood is a sum
    over grades and the rising rule ties only neighbouring grades, so dynamic programming over
    the sorted candidates finds that set exactly (the best ``k`` grades ending in a given last
    grade extend the best ``k − 1`` ending where it starts, with a lower rate) in
    O(n log n + max_grades · m³) for m candidates — not the C(m, k − 1) sets of trying
    every one (5 grades on 200 000 rows took 19 s that way; 10 grades hours).

    The candidates are PDs *of bads* (quantiles, ``inverted_cdf``: each is a bad's PD, and the
    cut puts that bad in the upper grade), not quantiles of all rows: the likelihood-best cut
    lies on a boundary between goods and bads ([1]_), and a grid that steps through the bads
    splits them in steps of ``1 / candidates`` of the bads (one bad when there are fewer), so
    a ``min_bads`` split is always reachable if one exists. A grid on the rows' quantiles steps
    by ``n / candidates`` rows instead: with the 21 held-out bads of a small county one 5 % step
    near the top of the PD held 4 bads (13 above one cut, 9 above the next), no cut left 10
    bads on each side, and a model that separated well got a single grade.

    The cuts are fitted on held-out rows (the calibration periods), so the test of rising bad
    rates on later loans (the out-of-time test) is a real one.

    References
    ----------
    .. [1] Fayyad, U. M., Irani, K. B. (1992). On the handling of continuous-valued attributes
       in decision tree generation. *Machine Learning* 8, 87–102 (optimal cuts lie on
       boundary points).

    Raises
    ------
    ValueError
        On a parameter out of range, samples of different lengths or a NaN PD.
    """
    max_grades = check_int("max_grades", max_grades, 1, 10)
    min_bads = check_int("min_bads", min_bads, 1)
    candidates = check_int("candidates", candidates, 2, 100)
    p = np.asarray(probability, dtype=np.float64).ravel()
    labels = np.asarray(y, dtype=np.float64).ravel()
    if p.shape != labels.shape:
        raise ValueError(
            f"probability and y must have the same length; got {p.size} and {labels.size}"
        )
    missing = int(np.isnan(p).sum())
    if missing:
        raise ValueError(f"probability must not be NaN; got {missing} NaN of {p.size} PDs")
    bad_pds = p[labels == 1]
    grid: npt.NDArray[np.float64] = (
        np.unique(
            np.quantile(bad_pds, np.arange(1, candidates) / candidates, method="inverted_cdf")
        )
        if bad_pds.size
        else np.empty(0)
    )
    return _best_cuts(grid, p, labels, max_grades, min_bads)


def _best_cuts(
    grid: npt.NDArray[np.float64],
    p: npt.NDArray[np.float64],
    labels: npt.NDArray[np.float64],
    max_grades: int,
    min_bads: int,
) -> tuple[float, ...]:
    """The dynamic programme of :func:`fit_grade_cuts` (its Notes).

    Boundary 0 is −∞, boundary ``j`` in 1…m the ``j``-th candidate cut, boundary m + 1 is +∞;
    the grade between boundaries ``a < b`` holds the PDs in ``[grid[a−1], grid[b−1])``.
    ``best[k−1][a, b]`` is the highest log-likelihood of ``k`` valid grades ending in the grade
    ``(a, b)`` with rates rising — the rising rule only ties neighbours, so it extends from
    ``best[k−2][c, a]`` over the ``c`` whose grade ``(c, a)`` has a lower bad rate.
    """
    m = grid.size
    bins = np.searchsorted(grid, p, side="right")  # 0 … m: the rows between neighbouring cuts
    rows = np.concatenate([[0.0], np.cumsum(np.bincount(bins, minlength=m + 1))])
    bad = np.concatenate([[0.0], np.cumsum(np.bincount(bins, weights=labels, minlength=m + 1))])
    n = rows[None, :] - rows[:, None]  # n[a, b]: rows of the grade between boundaries a and b
    bads = bad[None, :] - bad[:, None]
    valid = (bads >= min_bads) & (bads < n) & np.triu(np.ones_like(n, dtype=bool), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(valid, bads / np.where(valid, n, 1.0), np.nan)
        fit = np.where(valid, bads * np.log(rate) + (n - bads) * np.log1p(-rate), -np.inf)
    best = [np.where(np.arange(m + 2)[:, None] == 0, fit, -np.inf)]  # one grade from −∞
    previous: list[npt.NDArray[np.int64]] = [np.full((m + 2, m + 2), -1, dtype=np.int64)]
    for _ in range(2, max_grades + 1):
        extended = np.full((m + 2, m + 2), -np.inf)
        came_from = np.full((m + 2, m + 2), -1, dtype=np.int64)
        for a in range(1, m + 1):
            lower = best[-1][:, a]  # over c: k − 1 grades ending in (c, a)
            allowed = rate[:, a][:, None] < rate[a, :][None, :]  # [c, b]: rates rise (c, a)→(a, b)
            totals = np.where(allowed, lower[:, None], -np.inf)
            c = np.argmax(totals, axis=0)
            extended[a] = totals[c, np.arange(m + 2)] + fit[a]
            came_from[a] = np.where(np.isfinite(extended[a]), c, -1)
        best.append(extended)
        previous.append(came_from)
    end = m + 1
    for k in range(max_grades, 1, -1):
        last = best[k - 1][:, end]
        if not np.isfinite(last).any():
            continue
        bounds = [end, int(np.argmax(last))]
        for j in range(k - 1, 1, -1):
            bounds.append(int(previous[j][bounds[-1], bounds[-2]]))
        return tuple(float(grid[b - 1]) for b in bounds[:0:-1])
    return ()


class GradedPD(ABC):
    """The fitted grades of a PD model: shared by :class:`PDModel` and
    :class:`models.scorecard.Scorecard`, so every registered PD serves the same ``grade``
    (fitted, :func:`fit_grade_cuts`) and ``pd_band`` (master scale).

    A subclass provides ``predict_pd``, ``_check_fitted``, :attr:`grade_scale` (its master
    scale) and :meth:`grade_rules` (its ``max_grades`` and ``grade_min_bads``).

    Attributes
    ----------
    grade_cuts_ : tuple of float
        The fitted grades' PD cuts (:func:`fit_grade_cuts`).
    fitted_grades_ : pandas.DataFrame
        The grades users see: ``grade``, ``pd_low``, ``pd_high``, ``calibration_n``,
        ``calibration_bads``, ``observed_bad_rate`` (of the held-out sample they were cut on)
        and ``expected_bad_rate`` (its mean PD in the grade).
    """

    grade_cuts_: tuple[float, ...]
    fitted_grades_: pd.DataFrame

    if TYPE_CHECKING:  # provided by the estimator (not defined here: they would shadow it)

        def predict_pd(self, X: pd.DataFrame) -> npt.NDArray[np.float64]: ...

        def _check_fitted(self) -> None: ...

    @property
    @abstractmethod
    def grade_scale(self) -> GradeScale:
        """The master scale of the PD bands."""

    @abstractmethod
    def grade_rules(self) -> tuple[int, int]:
        """The ``max_grades`` and ``grade_min_bads`` the grades are cut with
        (:func:`fit_grade_cuts`), checked."""

    def fit_grades(self, probability: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Cut the fitted grades on a held-out sample's PDs and outcomes (:func:`fit_grade_cuts`).

        :meth:`fit` calls it on its own held-out rows; a caller with better out-of-sample PDs
        (the out-of-fold ones of :func:`models.table.train_table`) may call it again.

        Returns
        -------
        self

        Raises
        ------
        NotFittedError
            Before the model is fitted.
        ValueError
            If ``y`` is not one 0/1 outcome per PD.
        """
        self._check_fitted()
        p = np.asarray(probability, dtype=np.float64).ravel()
        labels = binary_labels("y", y, p.size)
        max_grades, min_bads = self.grade_rules()
        self.grade_cuts_ = fit_grade_cuts(p, labels, max_grades=max_grades, min_bads=min_bads)
        self.fitted_grades_ = _fitted_grades(self.grade_cuts_, p, labels)
        return self

    def grade_of(self, probability: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The fitted grade (1 = best) of each PD: the one rule of the grade users see."""
        self._check_fitted()
        p = np.asarray(probability, dtype=np.float64)
        cuts = np.asarray(self.grade_cuts_, dtype=np.float64)
        return np.searchsorted(cuts, p, side="right").astype(np.int64) + 1

    def predict_grade(self, X: pd.DataFrame) -> npt.NDArray[np.int64]:
        """Fitted grade (1 = best) of each row (:meth:`grade_of`)."""
        return self.grade_of(self.predict_pd(X))

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``pd``, ``grade`` (fitted) and ``pd_band`` (master scale) per row (what the MLflow
        pyfunc model returns)."""
        p = self.predict_pd(X)
        return pd.DataFrame(
            {"pd": p, "grade": self.grade_of(p), "pd_band": self.grade_scale.grade(p)},
            index=X.index,
        )

    def grade_outcomes(self, y: npt.ArrayLike, probability: npt.ArrayLike) -> pd.DataFrame:
        """The fitted grades (:attr:`fitted_grades_`) with a sample's observed outcomes per
        grade: ``test_n``, ``test_bads``, ``test_bad_rate`` (e.g. of the out-of-time test)."""
        self._check_fitted()
        table = self.fitted_grades_.copy()
        grade = self.grade_of(probability)
        observed = pd.Series(np.asarray(y, dtype=np.float64)).groupby(grade)
        table["test_n"] = observed.size().reindex(table["grade"], fill_value=0).to_numpy()
        table["test_bads"] = observed.sum().reindex(table["grade"], fill_value=0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            table["test_bad_rate"] = table["test_bads"] / table["test_n"].replace(0, np.nan)
        return table

    def _grades_meta(self) -> dict[str, Any]:
        return {
            "grade_cuts": list(self.grade_cuts_),
            "fitted_grades": self.fitted_grades_.to_dict(orient="list"),
        }

    def _restore_grades(self, meta: Mapping[str, Any], bands: pd.DataFrame) -> None:
        """The fitted grades of ``meta``; a model saved before them graded by the master
        scale's ``bands``."""
        if "grade_cuts" in meta:
            self.grade_cuts_ = tuple(float(c) for c in meta["grade_cuts"])
            self.fitted_grades_ = pd.DataFrame(meta["fitted_grades"])
        else:
            self.grade_cuts_ = self.grade_scale.bounds
            self.fitted_grades_ = bands.copy()
        if len(self.fitted_grades_) != len(self.grade_cuts_) + 1 or any(
            b <= a for a, b in pairwise(self.grade_cuts_)
        ):
            raise ValueError("grade_cuts must be increasing, one fewer than the fitted grades")


@dataclass(frozen=True)
class PDConfig(BoosterConfig):
    """LightGBM, calibration and grading parameters of :class:`PDModel` (frozen).

    Parameters
    ----------
    num_leaves, learning_rate, max_rounds, early_stopping_rounds, min_child_samples, \
feature_fraction, bagging_fraction, lambda_l2, monotone_method, seed, num_threads
        The tree settings of :class:`models.booster.BoosterConfig`; defaults 15 leaves,
        learning rate 0.02, at most 2000 rounds, early stopping after 200, 20 rows per leaf
        (a county's few hundred bads need small leaves to show a record or a linked party),
        feature and bagging fractions 0.9, L2 1, monotone method intermediate, seed 0, one
        thread.
    calibration
        ``auto`` (default: Platt or isotonic by out-of-fold log loss), ``platt``,
        ``isotonic`` or ``intercept`` (:class:`models.calibration.Calibrator`).
    calibration_min_bads
        Fewer bads in the calibration sample make the calibration intercept-only, ≥ 1
        (default 30).
    max_grades, grade_min_bads
        The fitted grades (:func:`fit_grade_cuts`): at most ``max_grades`` in [1, 10]
        (default 3), each with at least ``grade_min_bads`` ≥ 1 held-out bads (default 10).
    min_category_count
        A category needs this many training rows to get its own code, ≥ 1 (default 10).
    grades
        The master scale of the PD bands (default :class:`GradeScale`).

    Raises
    ------
    TypeError, ValueError
        If a field has the wrong type or is out of range.
    """

    min_child_samples: int = 20
    calibration: str = "auto"
    calibration_min_bads: int = 30
    max_grades: int = 3
    grade_min_bads: int = 10
    min_category_count: int = 10
    grades: GradeScale = field(default_factory=GradeScale)

    def __post_init__(self) -> None:
        super().__post_init__()
        put = object.__setattr__
        check_choice("calibration", self.calibration, CALIBRATION_METHODS)
        put(
            self,
            "calibration_min_bads",
            check_int("calibration_min_bads", self.calibration_min_bads, 1),
        )
        put(self, "max_grades", check_int("max_grades", self.max_grades, 1, 10))
        put(self, "grade_min_bads", check_int("grade_min_bads", self.grade_min_bads, 1))
        put(self, "min_category_count", check_int("min_category_count", self.min_category_count, 1))
        if not isinstance(self.grades, GradeScale):
            raise TypeError(f"grades must be a GradeScale; got {type(self.grades).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (``grades`` as its bounds)."""
        data = super().to_dict()
        data["grades"] = list(self.grades.bounds)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output."""
        values = dict(data)
        values["grades"] = GradeScale(tuple(values["grades"]))
        return cls(**values)


class PDModel(GradedPD, BinaryBooster):
    """Calibrated LightGBM probability of default (a :class:`models.booster.BinaryBooster`).

    Parameters
    ----------
    config
        Default ``PDConfig()``.
    monotone
        Feature → +1 (PD non-decreasing in it), −1 (non-increasing) or 0. Categorical
        features cannot be constrained.
    categorical
        The categorical columns; ``None`` means every non-numeric column of ``X``.
    context
        Extra JSON-ready information saved with the model (e.g. the feature configuration).

    Attributes
    ----------
    encoder_ : features.encoding.CategoryEncoder
        The vocabulary of the categorical columns.
    calibrator_ : models.calibration.Calibrator
    grade_cuts_, fitted_grades_
        The fitted grades (:class:`GradedPD`), cut on the calibration sample.
    grade_table_ : pandas.DataFrame
        The master scale's PD bands: ``grade`` (the band), ``pd_low``, ``pd_high``,
        ``expected_bad_rate``, ``calibration_n``.
    score_reference_ : models.metrics.PSIReference
        The calibration sample's PD distribution (held out of the trees' fit), for stability
        (PSI) checks.

    The base's attributes too: ``feature_names_``, ``categorical_``, ``monotone_``,
    ``booster_``, ``best_iteration_``, ``evals_result_`` (validation log loss and AUC per
    round).
    """

    kind: ClassVar[str] = "pd"
    meta_file: ClassVar[str] = "pd_model.json"
    config_class: ClassVar[type[BoosterConfig]] = PDConfig
    outcomes: ClassVar[tuple[str, str]] = ("goods and bads", "bads")

    config_: PDConfig
    encoder_: CategoryEncoder
    calibrator_: Calibrator
    grade_cuts_: tuple[float, ...]
    fitted_grades_: pd.DataFrame
    grade_table_: pd.DataFrame

    # ------------------------------------------------------------------ fitting

    def fit(  # type: ignore[override]  # eval_set is required, calibration_set added
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        *,
        eval_set: tuple[pd.DataFrame, npt.ArrayLike],
        calibration_set: tuple[pd.DataFrame, npt.ArrayLike] | None = None,
    ) -> Self:
        """Grow the trees on ``X``, stop early on ``eval_set``, calibrate on ``calibration_set``.

        Parameters
        ----------
        X, y
            Training features and outcomes (1 = bad).
        eval_set
            Validation features and outcomes for early stopping.
        calibration_set
            Held-out features and outcomes for calibration, the fitted grades and the bands'
            expected bad rates; ``None`` uses ``eval_set``.

        Returns
        -------
        PDModel
            ``self``.

        Raises
        ------
        TypeError
            If a frame is not a DataFrame or ``config`` not a :class:`PDConfig`.
        ValueError
            On bad constraints, outcomes or columns.
        TrainingDataError
            If a sample lacks goods or bads.
        """
        self._fit_booster(X, y, eval_set)
        X_cal, y_cal = eval_set if calibration_set is None else calibration_set
        cal_labels = binary_labels("calibration_set y", y_cal, len(X_cal))
        self._calibrate(self.raw_score(X_cal), cal_labels)
        return self

    def _calibrate(self, raw: npt.NDArray[np.float64], labels: npt.NDArray[np.float64]) -> None:
        """Calibrate on held-out raw scores, then cut the grades and take the PSI reference
        there: out of sample, since training rows' own scores are over-fitted and would show
        a shift on any new sample (the promotion gate's PSI reads this reference)."""
        config = self.config_
        self.calibrator_ = Calibrator(config.calibration, config.calibration_min_bads).fit(
            raw, labels
        )
        held_out = self.calibrator_.transform(raw)
        self.grade_table_ = self._grade_table(config.grades, held_out)
        self.fit_grades(held_out, labels)
        self.score_reference_ = PSIReference.from_sample(held_out)

    def _checked_categorical(self, X: pd.DataFrame, features: list[str]) -> list[str]:
        if self.categorical is None:
            return categorical_columns(X)
        return super()._checked_categorical(X, features)

    def _learn_columns(self, X: pd.DataFrame) -> None:
        self.encoder_ = CategoryEncoder(
            self.categorical_, min_count=self.config_.min_category_count
        ).fit(X)

    @staticmethod
    def _grade_table(grades: GradeScale, calibrated: np.ndarray) -> pd.DataFrame:
        table = grades.bands()
        assigned = grades.grade(calibrated)
        means = pd.Series(calibrated).groupby(assigned).mean()
        counts = pd.Series(assigned).value_counts()
        midpoint = (table["pd_low"] + table["pd_high"]) / 2
        expected = means.reindex(table["grade"]).to_numpy(dtype=float)
        table["expected_bad_rate"] = np.where(np.isnan(expected), midpoint, expected)
        table["calibration_n"] = counts.reindex(table["grade"], fill_value=0).to_numpy()
        return table

    # ------------------------------------------------------------------ predicting

    def _matrix(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The float matrix LightGBM reads: feature order, categoricals as codes (NaN missing)."""
        require_frame(X, "X", self.feature_names_)
        matrix = np.empty((len(X), len(self.feature_names_)), dtype=np.float64)
        categorical = set(self.categorical_)
        for j, name in enumerate(self.feature_names_):
            if name in categorical:  # missing and unseen values (code −1) → NaN: missing
                codes = self.encoder_.encode(name, X[name]).astype(np.float64)
                matrix[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                matrix[:, j] = pd.to_numeric(X[name], errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
        return matrix

    def predict_probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Calibrated probability of default of each row (:meth:`predict_pd`)."""
        raw = self.raw_score(X)  # checks that the model is fitted
        return self.calibrator_.transform(raw)

    def predict_pd(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Calibrated probability of default of each row.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        return self.predict_probability(X)

    @property
    def grade_scale(self) -> GradeScale:
        """The master scale of the PD bands (``config_.grades``)."""
        return self.config_.grades

    def grade_rules(self) -> tuple[int, int]:
        return self.config_.max_grades, self.config_.grade_min_bads

    # ------------------------------------------------------------------ persistence

    def _meta(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder_.to_dict(),
            "calibrator": self.calibrator_.to_dict(),
            "grade_table": self.grade_table_.to_dict(orient="list"),
            **self._grades_meta(),
        }

    def _restore(self, meta: Mapping[str, Any]) -> None:
        self.encoder_ = CategoryEncoder.from_dict(meta["encoder"])
        if sorted(self.encoder_.vocabulary_) != sorted(self.categorical_):
            raise ValueError("the encoder's columns must be the categorical features")
        self.calibrator_ = Calibrator.from_dict(meta["calibrator"])
        if not np.isfinite(self.calibrator_.transform(np.array([-2.0, 0.0, 2.0]))).all():
            raise ValueError("the calibrator must map scores to finite PDs")
        self.grade_table_ = pd.DataFrame(meta["grade_table"])
        if len(self.grade_table_) != self.config_.grades.n_grades:
            raise ValueError(f"grade_table must have {self.config_.grades.n_grades} grades")
        self._restore_grades(meta, self.grade_table_)


def _fitted_grades(cuts: tuple[float, ...], probability: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """The fitted grades' table on the held-out sample they were cut on."""
    edges = [0.0, *cuts, 1.0]
    grade = np.searchsorted(np.asarray(cuts, dtype=np.float64), probability, side="right")
    k = len(cuts) + 1
    n = np.bincount(grade, minlength=k)
    bads = np.bincount(grade, weights=y, minlength=k)
    pd_sum = np.bincount(grade, weights=probability, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = bads / n
        expected = pd_sum / n
    return pd.DataFrame(
        {
            "grade": np.arange(1, k + 1),
            "pd_low": edges[:-1],
            "pd_high": edges[1:],
            "calibration_n": n,
            "calibration_bads": bads.astype(np.int64),
            "observed_bad_rate": observed,
            "expected_bad_rate": expected,
        }
    )
