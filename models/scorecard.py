"""A WOE-binned logistic scorecard: the credit modeller's baseline for a bank's own table.

:class:`Scorecard` bins every feature with optbinning's :class:`~optbinning.BinningProcess`
(optimal binning by mixed-integer programming, numeric and categorical, missing values in a
bin of their own), replaces each value by its bin's weight of evidence and fits a
scikit-learn :class:`~sklearn.linear_model.LogisticRegression` on the WOE columns.

Once fitted, the model is nothing but numbers: per feature its bin edges (or category groups)
with their WOE, and the logistic coefficients. :meth:`Scorecard.save` writes them as one JSON
file (``scorecard.json``) and :meth:`Scorecard.load` reads them back as data — no pickle, no
optbinning object — so the registered model loads through :func:`models.pyfunc.load_estimator`
like the LightGBM models. :meth:`Scorecard.woe` applies the stored bins itself and equals
``BinningProcess.transform(X, metric="woe", metric_missing="empirical")`` on the training
data's categories (tested); a category never seen in training gets WOE 0 (the sample's
average risk).

Notes
-----
optbinning's WOE is ``ln(share of goods / share of bads)`` of a bin: a higher WOE is a safer
bin, so the logistic coefficients are usually negative. A feature constrained ``+1``
(:attr:`Scorecard.monotone`) is binned with an ascending event rate, ``−1`` descending.

References
----------
.. [1] Siddiqi, N. (2017). *Intelligent Credit Scoring*, 2nd ed. Wiley.
.. [2] Navas-Palencia, G. (2020). Optimal binning: mathematical programming formulation.
   arXiv:2001.08025.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression

from features.encoding import categorical_columns
from models.artifacts import built_from
from models.booster import BinaryEstimator, binary_labels, checked_monotone
from models.exceptions import NotFittedError, TrainingDataError
from models.metrics import PSIReference
from models.pd import GradedPD, GradeScale
from risk.frames import require_frame
from risk.validation import check_int, check_real

__all__ = ["Scorecard"]


class Scorecard(GradedPD, BinaryEstimator):
    """WOE-binned logistic regression (module docstring), scikit-learn style.

    Its promotion-gate hooks, ``predict_proba``, ``feature_importance`` (its gain:
    |coefficient| × the WOE's standard deviation over the bins) and the JSON file's common
    fields are those of :class:`models.booster.BinaryEstimator`, shared with the LightGBM
    models.

    Parameters
    ----------
    max_n_bins
        Most bins per feature, in [2, 20] (default 6).
    min_bin_size
        Least share of the training rows in a bin, in (0, 0.5] (default 0.05).
    C
        Inverse L2 strength of the logistic regression, > 0 (default 1.0).
    monotone
        Feature → +1 (bad rate ascending over its bins), −1 (descending) or 0.
    categorical
        The categorical columns; ``None``: every non-numeric column of ``X``.
    grades
        The master scale of the PD bands (default :class:`models.pd.GradeScale`).
    max_grades, grade_min_bads
        The fitted grades (:func:`models.pd.fit_grade_cuts`): at most ``max_grades`` in
        [1, 10] (default 3), each with at least ``grade_min_bads`` ≥ 1 bads (default 10).
    context
        Extra JSON-ready information saved with the model.

    Attributes
    ----------
    feature_names_ : list of str
    categorical_ : list of str
    monotone_ : dict of str to int
    bins_ : dict of str to dict
        Per feature: ``splits`` (numeric: increasing edges; categorical: one list of
        categories per bin), ``woe`` (one per bin) and ``missing_woe``.
    coef_ : numpy.ndarray
        One logistic coefficient per feature (on its WOE).
    intercept_ : float
    score_reference_ : models.metrics.PSIReference
        The training sample's PD distribution (a caller with out-of-sample scores may replace
        it: :func:`models.table.train_table` does).
    grade_cuts_, fitted_grades_
        The fitted grades (:class:`models.pd.GradedPD`): a logistic regression has no held-out
        rows of its own, so :meth:`fit` cuts them on the training PDs; a caller with
        out-of-sample PDs recuts them with :meth:`fit_grades` (:func:`models.table.train_table`
        does, on the out-of-fold PDs).
    """

    kind: ClassVar[str] = "pd"
    """Read by the quality floor: a scorecard is judged as a PD."""
    meta_file: ClassVar[str] = "scorecard.json"

    bins_: dict[str, dict[str, Any]]
    coef_: npt.NDArray[np.float64]
    intercept_: float

    def __init__(
        self,
        *,
        max_n_bins: int = 6,
        min_bin_size: float = 0.05,
        C: float = 1.0,
        monotone: Mapping[str, int] | None = None,
        categorical: Sequence[str] | None = None,
        grades: GradeScale | None = None,
        max_grades: int = 3,
        grade_min_bads: int = 10,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.C = C
        self.monotone = monotone
        self.categorical = categorical
        self.grades = grades
        self.max_grades = max_grades
        self.grade_min_bads = grade_min_bads
        self.context = context

    # ------------------------------------------------------------------ fitting

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> Self:
        """Bin every feature on ``X``, then fit the logistic regression on the WOE columns.

        Raises
        ------
        TypeError
            If ``X`` is not a DataFrame or ``grades`` not a :class:`GradeScale`.
        ValueError
            On a parameter out of range, bad outcomes or constraints.
        TrainingDataError
            If the sample lacks goods or bads.
        """
        from optbinning import BinningProcess  # heavy (ortools): loaded when fitting only

        max_n_bins = check_int("max_n_bins", self.max_n_bins, 2, 20)
        min_bin_size = check_real("min_bin_size", self.min_bin_size, 0.0, 0.5, open_low=True)
        C = check_real("C", self.C, 0.0, open_low=True)
        self.grade_rules()
        if self.grades is not None and not isinstance(self.grades, GradeScale):
            raise TypeError(f"grades must be a GradeScale; got {type(self.grades).__name__}")
        require_frame(X, "X", ())
        labels = binary_labels("y", y, len(X))
        if not 0 < labels.sum() < labels.size:
            raise TrainingDataError(
                f"the training sample must hold goods and bads; got {labels.size} rows with "
                f"{labels.sum():.0f} bads"
            )
        features = [str(c) for c in X.columns]
        if self.categorical is None:
            categorical = categorical_columns(X)
        else:
            categorical = [str(c) for c in self.categorical]
            unknown = [c for c in categorical if c not in features]
            if unknown:
                raise ValueError(f"categorical must name columns of X; got {unknown[0]!r}")
        monotone = checked_monotone(self.monotone, features, categorical)
        frame = self._typed(X[features], categorical)
        trend = {1: "ascending", -1: "descending"}
        process = BinningProcess(
            features,
            categorical_variables=categorical or None,
            max_n_bins=max_n_bins,
            min_bin_size=min_bin_size,
            binning_fit_params={f: {"monotonic_trend": trend[s]} for f, s in monotone.items()},
        )
        with warnings.catch_warnings():  # optbinning warns on features it cannot split
            warnings.simplefilter("ignore")
            process.fit(frame, labels.astype(np.int64))
        self.feature_names_ = features
        self.categorical_ = categorical
        self.monotone_ = monotone
        self.bins_ = {f: _bins_of(process.get_binned_variable(f)) for f in features}
        regression = LogisticRegression(C=C, max_iter=1000)
        regression.fit(self.woe(X).to_numpy(), labels)
        self.coef_ = np.asarray(regression.coef_[0], dtype=np.float64)
        self.intercept_ = float(regression.intercept_[0])
        probability = self.predict_probability(X)
        self.score_reference_ = PSIReference.from_sample(probability)
        self.fit_grades(probability, labels)
        return self

    @staticmethod
    def _typed(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
        """Categorical columns as object strings (missing as NaN), the rest as floats."""
        out = pd.DataFrame(index=X.index)
        for name in X.columns:
            if name in categorical:
                values = X[name].astype(object)
                out[name] = values.where(values.isna(), values.astype(str))
            else:
                out[name] = pd.to_numeric(X[name], errors="coerce").astype(np.float64)
        return out

    # ------------------------------------------------------------------ predicting

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")

    def woe(self, X: pd.DataFrame) -> pd.DataFrame:
        """The weight of evidence of every feature's bin, one column per feature.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidFrameError
            If a feature column is missing.
        """
        if not hasattr(self, "bins_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")
        require_frame(X, "X", self.feature_names_)
        typed = self._typed(X[self.feature_names_], self.categorical_)
        columns = {}
        for name in self.feature_names_:
            spec = self.bins_[name]
            woe = np.asarray(spec["woe"], dtype=np.float64)
            values = typed[name]
            missing = values.isna().to_numpy()
            if name in self.categorical_:
                code = {c: i for i, group in enumerate(spec["splits"]) for c in group}
                index = values.map(code).to_numpy(dtype=np.float64, na_value=np.nan)
                unseen = np.isnan(index) & ~missing
                column = np.where(np.isnan(index), 0.0, woe[np.nan_to_num(index).astype(int)])
                column[unseen] = 0.0
            else:
                index = np.searchsorted(np.asarray(spec["splits"]), values.to_numpy(), "right")
                column = woe[np.minimum(index, woe.size - 1)]
            column[missing] = spec["missing_woe"]
            columns[name] = column
        return pd.DataFrame(columns, index=X.index)

    def raw_score(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The log-odds of a bad, ``intercept_ + woe(X) · coef_``."""
        return np.asarray(self.woe(X).to_numpy() @ self.coef_ + self.intercept_, dtype=np.float64)

    def predict_probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of default of each row."""
        return np.asarray(1.0 / (1.0 + np.exp(-self.raw_score(X))), dtype=np.float64)

    def predict_pd(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of default of each row (:meth:`predict_probability`)."""
        return self.predict_probability(X)

    @property
    def grade_scale(self) -> GradeScale:
        """The master scale of the PD bands (default :class:`GradeScale`)."""
        return GradeScale() if self.grades is None else self.grades

    def grade_rules(self) -> tuple[int, int]:
        return (
            check_int("max_grades", self.max_grades, 1, 10),
            check_int("grade_min_bads", self.grade_min_bads, 1),
        )

    def points_table(self) -> pd.DataFrame:
        """Each feature's bins with their WOE and their term ``coef · woe`` in the log-odds:
        ``feature``, ``bin``, ``woe``, ``log_odds``."""
        self._check_fitted()
        rows = []
        for name, coef in zip(self.feature_names_, self.coef_, strict=True):
            spec = self.bins_[name]
            for label, woe in zip(
                _bin_labels(spec, name in self.categorical_), spec["woe"], strict=True
            ):
                rows.append({"feature": name, "bin": label, "woe": woe, "log_odds": coef * woe})
            rows.append(
                {
                    "feature": name,
                    "bin": "missing",
                    "woe": spec["missing_woe"],
                    "log_odds": coef * spec["missing_woe"],
                }
            )
        return pd.DataFrame(rows)

    def _importance(self) -> pd.DataFrame:
        """``gain``: |coefficient| × the WOE's standard deviation over the bins (weighted
        equally)."""
        spread = [float(np.std(self.bins_[f]["woe"])) for f in self.feature_names_]
        return pd.DataFrame(
            {"feature": self.feature_names_, "gain": np.abs(self.coef_) * np.asarray(spread)}
        )

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | Path) -> Path:
        """Write ``scorecard.json`` into ``directory`` (created)."""
        self._check_fitted()
        meta = {
            "kind": "scorecard",
            "params": {
                "max_n_bins": self.max_n_bins,
                "min_bin_size": self.min_bin_size,
                "C": self.C,
                "grades": list(self.grade_scale.bounds),
                "max_grades": self.max_grades,
                "grade_min_bads": self.grade_min_bads,
            },
            **self._columns_meta(),
            "bins": self.bins_,
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
            "score_reference": self.score_reference_.to_dict(),
            **self._grades_meta(),
            "context": dict(self.context or {}),
        }
        return self._write_meta(directory, meta)

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Read a scorecard written by :meth:`save`, as data.

        Raises
        ------
        ArtifactError
            If the file is missing, malformed or inconsistent.
        """
        meta = cls._read_meta(directory, "scorecard")
        with built_from(cls.meta_file):
            params = meta["params"]
            model = cls(
                max_n_bins=params["max_n_bins"],
                min_bin_size=params["min_bin_size"],
                C=params["C"],
                monotone=meta["monotone"],
                categorical=meta["categorical"],
                grades=GradeScale(tuple(params["grades"])),
                context=meta["context"],
                # a scorecard saved before the fitted grades keeps the defaults
                **{k: params[k] for k in ("max_grades", "grade_min_bads") if k in params},
            )
            model._restore_columns(meta)
            model.bins_ = {f: _checked_bins(f, meta["bins"][f]) for f in model.feature_names_}
            model.coef_ = np.asarray(meta["coef"], dtype=np.float64)
            if model.coef_.shape != (len(model.feature_names_),):
                raise ValueError("coef must hold one coefficient per feature")
            model.intercept_ = float(meta["intercept"])
            if not np.isfinite([*model.coef_, model.intercept_]).all():
                raise ValueError("coef and intercept must be finite")
            model.score_reference_ = PSIReference.from_dict(meta["score_reference"])
            model._restore_grades(meta, model.grade_scale.bands())
        return model


def _bins_of(binned: Any) -> dict[str, Any]:
    """One fitted ``OptimalBinning``'s bins as JSON-ready lists (module docstring)."""
    table = binned.binning_table.build(add_totals=False)
    woe = table["WoE"].astype(float).to_numpy()
    bins = woe.size - 2  # the last two rows are Special and Missing
    if binned.dtype == "categorical":
        splits: list[Any] = [[str(c) for c in group] for group in binned.splits]
    else:
        splits = [float(s) for s in binned.splits]
    return {"splits": splits, "woe": [float(w) for w in woe[:bins]], "missing_woe": float(woe[-1])}


def _checked_bins(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    woe = [float(w) for w in spec["woe"]]
    splits = list(spec["splits"])
    categorical = bool(splits) and isinstance(splits[0], list)
    expected = len(splits) if categorical else len(splits) + 1
    if len(woe) != expected or not np.isfinite([*woe, float(spec["missing_woe"])]).all():
        raise ValueError(f"bins of {name!r} must hold one finite WOE per bin")
    if not categorical and any(b <= a for a, b in pairwise(splits)):
        raise ValueError(f"bins of {name!r} must have increasing edges")
    return {"splits": splits, "woe": woe, "missing_woe": float(spec["missing_woe"])}


def _bin_labels(spec: Mapping[str, Any], categorical: bool) -> list[str]:
    if categorical:
        return [", ".join(group) for group in spec["splits"]]
    edges = [-np.inf, *spec["splits"], np.inf]
    return [f"[{a:.4g}, {b:.4g})" for a, b in pairwise(edges)]
