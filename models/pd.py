"""Probability of default: LightGBM with monotone constraints, calibrated, banded into grades.

:class:`PDModel` is a scikit-learn style binary classifier for any feature frame (the
pre-credit features of :mod:`features.precredit`, or a bank's own table): numeric columns and
string categoricals (integer-encoded with a learned vocabulary), missing values allowed.

Fitting (:meth:`PDModel.fit`) takes three samples, which the callers cut by time:

1. *train*: grows the trees, with monotone constraints on signed features (more active
   失信 records → higher PD, more tax paid → lower PD);
2. *eval*: stops the boosting when the validation log loss has not improved for
   ``early_stopping_rounds`` rounds;
3. *calibration*: a later, held-out period on which :class:`models.calibration.Calibrator`
   maps the raw score to a PD (Platt by default), so the PD reflects recent bad rates.

The PD is then banded into grades on a fixed master scale (:class:`GradeScale`); each grade's
expected bad rate is the mean calibrated PD of the calibration sample in it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from features.encoding import CategoryEncoder, categorical_columns
from models.artifacts import built_from, read_booster, read_json
from models.calibration import CALIBRATION_METHODS, Calibrator
from models.exceptions import NotFittedError, TrainingDataError
from models.metrics import PSIReference, binary_quality, monotonicity_violations, roc_auc
from risk.frames import require_frame
from risk.validation import check_choice, check_int, check_real

__all__ = [
    "LABEL",
    "MONOTONE_METHODS",
    "GradeScale",
    "PDConfig",
    "PDModel",
    "binary_labels",
    "binary_lightgbm_params",
    "checked_monotone",
    "validate_booster_settings",
]

LABEL = "label"
"""Name of the outcome column in holdout frames (1 = bad)."""

MONOTONE_METHODS = ("basic", "intermediate", "advanced")


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


@dataclass(frozen=True)
class PDConfig:
    """LightGBM, calibration and grading parameters of :class:`PDModel` (frozen).

    Parameters
    ----------
    num_leaves
        Leaves per tree, in [2, 1024] (default 15).
    learning_rate
        In (0, 1] (default 0.02).
    max_rounds
        Most boosting rounds, in [1, 100000] (default 2000).
    early_stopping_rounds
        Stop after this many rounds without a better validation log loss, ≥ 1 (default 200).
    min_child_samples
        Least rows per leaf, ≥ 1 (default 50).
    feature_fraction, bagging_fraction
        Column and row subsampling per tree, in (0, 1] (default 0.9 each).
    lambda_l2
        L2 regularisation of leaf values, ≥ 0 (default 1).
    monotone_method
        LightGBM's ``monotone_constraints_method``: basic, intermediate or advanced
        (default intermediate).
    calibration
        ``platt`` (default), ``isotonic`` or ``intercept``
        (:class:`models.calibration.Calibrator`).
    calibration_min_bads
        Fewer bads in the calibration sample make platt and isotonic fall back to
        intercept-only calibration, ≥ 1 (default 30).
    min_category_count
        A category needs this many training rows to get its own code, ≥ 1 (default 10).
    grades
        The master scale (default :class:`GradeScale`).
    seed
        Seed of LightGBM's sampling, ≥ 0.
    num_threads
        LightGBM threads for training and prediction, ≥ 0 (0: all cores). Default 1: on a
        county's samples (10³–10⁵ rows) one thread is fastest, and OpenMP threads on a busy
        machine can be ten times slower; raise it for province-scale training or scoring.

    Raises
    ------
    TypeError, ValueError
        If a field has the wrong type or is out of range.
    """

    num_leaves: int = 15
    learning_rate: float = 0.02
    max_rounds: int = 2000
    early_stopping_rounds: int = 200
    min_child_samples: int = 50
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.9
    lambda_l2: float = 1.0
    monotone_method: str = "intermediate"
    calibration: str = "platt"
    calibration_min_bads: int = 30
    min_category_count: int = 10
    grades: GradeScale = field(default_factory=GradeScale)
    seed: int = 0
    num_threads: int = 1

    def __post_init__(self) -> None:
        validate_booster_settings(self)
        put = object.__setattr__
        check_choice("calibration", self.calibration, CALIBRATION_METHODS)
        put(
            self,
            "calibration_min_bads",
            check_int("calibration_min_bads", self.calibration_min_bads, 1),
        )
        put(self, "min_category_count", check_int("min_category_count", self.min_category_count, 1))
        if not isinstance(self.grades, GradeScale):
            raise TypeError(f"grades must be a GradeScale; got {type(self.grades).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (``grades`` as its bounds)."""
        data = asdict(self)
        data["grades"] = list(self.grades.bounds)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PDConfig:
        """Rebuild from :meth:`to_dict` output."""
        values = dict(data)
        values["grades"] = GradeScale(tuple(values["grades"]))
        return cls(**values)

    def lightgbm_params(self, monotone: Sequence[int]) -> dict[str, Any]:
        """The ``lightgbm.train`` parameters (also used by the benchmark's raw baseline)."""
        return binary_lightgbm_params(self, monotone)


def validate_booster_settings(config: Any) -> None:
    """Check and normalise, in place, the tree settings every binary LightGBM config shares.

    ``config`` is a frozen dataclass (:class:`PDConfig`, :class:`models.warning.
    WarningConfig`) with num_leaves, learning_rate, max_rounds, early_stopping_rounds,
    min_child_samples, feature_fraction, bagging_fraction, lambda_l2, monotone_method, seed
    and num_threads; call it first in ``__post_init__``.

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or is out of range (the message names it).
    """
    put = object.__setattr__
    put(config, "num_leaves", check_int("num_leaves", config.num_leaves, 2, 1024))
    put(
        config,
        "learning_rate",
        check_real("learning_rate", config.learning_rate, 0.0, 1.0, open_low=True),
    )
    put(config, "max_rounds", check_int("max_rounds", config.max_rounds, 1, 100_000))
    put(
        config,
        "early_stopping_rounds",
        check_int("early_stopping_rounds", config.early_stopping_rounds, 1),
    )
    put(config, "min_child_samples", check_int("min_child_samples", config.min_child_samples, 1))
    for name in ("feature_fraction", "bagging_fraction"):
        put(config, name, check_real(name, getattr(config, name), 0.0, 1.0, open_low=True))
    put(config, "lambda_l2", check_real("lambda_l2", config.lambda_l2, 0.0))
    check_choice("monotone_method", config.monotone_method, MONOTONE_METHODS)
    put(config, "seed", check_int("seed", config.seed, 0))
    put(config, "num_threads", check_int("num_threads", config.num_threads, 0))


def binary_lightgbm_params(config: Any, monotone: Sequence[int]) -> dict[str, Any]:
    """``lightgbm.train`` parameters of a binary model from a config's tree settings.

    Shared by the PD and the learned-warning models: ``config`` carries learning_rate,
    num_leaves, min_child_samples, feature_fraction, bagging_fraction, lambda_l2, seed,
    num_threads and monotone_method. Log loss comes first: it drives early stopping.
    """
    params: dict[str, Any] = {
        "objective": "binary",
        "metric": ["binary_logloss", "auc"],
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": config.min_child_samples,
        "min_data_per_group": config.min_child_samples,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1 if config.bagging_fraction < 1 else 0,
        "lambda_l2": config.lambda_l2,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
        "num_threads": config.num_threads,
    }
    if any(monotone):
        params["monotone_constraints"] = list(monotone)
        params["monotone_constraints_method"] = config.monotone_method
    return params


def checked_monotone(
    monotone: Any, features: Sequence[str], categorical: Sequence[str]
) -> dict[str, int]:
    """The non-zero monotone constraints of a model's ``monotone`` argument, checked.

    Raises
    ------
    TypeError
        If ``monotone`` is not a mapping (None means no constraints).
    ValueError
        If a key is not a feature, a sign is not -1, 0 or 1, or a categorical column is
        constrained.
    """
    if monotone is None:
        return {}
    if not isinstance(monotone, Mapping):
        raise TypeError(f"monotone must be a mapping; got {type(monotone).__name__}")
    checked: dict[str, int] = {}
    for name, sign in monotone.items():
        if name not in features:
            raise ValueError(f"monotone keys must be columns of X; got {name!r}")
        if isinstance(sign, bool) or sign not in (-1, 0, 1):
            raise ValueError(f"monotone[{name!r}] must be -1, 0 or 1; got {sign!r}")
        if sign and name in categorical:
            raise ValueError(f"monotone[{name!r}] must be 0 for a categorical column; got {sign}")
        if sign:
            checked[str(name)] = int(sign)
    return checked


def binary_labels(name: str, y: Any, n: int) -> npt.NDArray[np.float64]:
    labels = np.asarray(y, dtype=np.float64).ravel()
    if labels.shape != (n,):
        raise ValueError(f"{name} must have one outcome per row ({n}); got {labels.size}")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold only 0 and 1; got other values")
    return labels


class PDModel:
    """Calibrated LightGBM probability of default (scikit-learn style).

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
    feature_names_ : list of str
    categorical_ : list of str
    monotone_ : dict of str to int
        Non-zero constraints only.
    encoder_ : features.encoding.CategoryEncoder
        The vocabulary of the categorical columns.
    booster_ : lightgbm.Booster
        Truncated to the best iteration.
    best_iteration_ : int
    evals_result_ : dict
        LightGBM's evaluation history (validation log loss and AUC per round).
    calibrator_ : models.calibration.Calibrator
    grade_table_ : pandas.DataFrame
        ``grade``, ``pd_low``, ``pd_high``, ``expected_bad_rate``, ``calibration_n``.
    score_reference_ : models.metrics.PSIReference
        The training sample's PD distribution, for stability (PSI) checks.
    """

    kind: ClassVar[str] = "pd"

    def __init__(
        self,
        config: PDConfig | None = None,
        *,
        monotone: Mapping[str, int] | None = None,
        categorical: Sequence[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.monotone = monotone
        self.categorical = categorical
        self.context = context

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        *,
        eval_set: tuple[pd.DataFrame, npt.ArrayLike],
        calibration_set: tuple[pd.DataFrame, npt.ArrayLike] | None = None,
    ) -> PDModel:
        """Grow the trees on ``X``, stop early on ``eval_set``, calibrate on ``calibration_set``.

        Parameters
        ----------
        X, y
            Training features and outcomes (1 = bad).
        eval_set
            Validation features and outcomes for early stopping.
        calibration_set
            Held-out features and outcomes for calibration and the grades' expected bad
            rates; ``None`` uses ``eval_set``.

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
        config = PDConfig() if self.config is None else self.config
        if not isinstance(config, PDConfig):
            raise TypeError(f"config must be a PDConfig; got {type(config).__name__}")
        require_frame(X, "X", ())
        labels = binary_labels("y", y, len(X))
        if not 0 < labels.sum() < labels.size:
            raise TrainingDataError(
                f"training sample must hold goods and bads; got {labels.size} rows with "
                f"{labels.sum():.0f} bads"
            )
        X_eval, y_eval = eval_set
        calibration = eval_set if calibration_set is None else calibration_set
        features = [str(c) for c in X.columns]
        categorical = (
            categorical_columns(X)
            if self.categorical is None
            else [str(c) for c in self.categorical]
        )
        unknown = [c for c in categorical if c not in features]
        if unknown:
            raise ValueError(f"categorical must name columns of X; got {unknown[0]!r}")
        monotone = checked_monotone(self.monotone, features, categorical)

        self.config_ = config
        self.feature_names_ = features
        self.categorical_ = categorical
        self.monotone_ = monotone
        self.encoder_ = CategoryEncoder(categorical, min_count=config.min_category_count).fit(X)
        train = lgb.Dataset(
            self._matrix(X),
            label=labels,
            feature_name=features,
            categorical_feature=[features.index(c) for c in categorical],
            free_raw_data=True,
        )
        valid = lgb.Dataset(
            self._matrix(X_eval),
            label=binary_labels("eval_set y", y_eval, len(X_eval)),
            reference=train,
        )
        params = config.lightgbm_params([monotone.get(f, 0) for f in features])
        history: dict[str, Any] = {}
        booster = lgb.train(
            params,
            train,
            num_boost_round=config.max_rounds,
            valid_sets=[valid],  # not train: its AUC each round costs more than the round
            valid_names=["valid"],
            callbacks=[
                lgb.early_stopping(
                    config.early_stopping_rounds, first_metric_only=True, verbose=False
                ),
                lgb.record_evaluation(history),
            ],
        )
        best = booster.best_iteration or booster.current_iteration()
        self.best_iteration_ = int(best)
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        self.evals_result_ = history

        X_cal, y_cal = calibration
        cal_labels = binary_labels("calibration_set y", y_cal, len(X_cal))
        self.calibrator_ = Calibrator(config.calibration, config.calibration_min_bads).fit(
            self.raw_score(X_cal), cal_labels
        )
        cal_pd = self.predict_pd(X_cal)
        self.grade_table_ = self._grade_table(config.grades, cal_pd)
        self.score_reference_ = PSIReference.from_sample(self.predict_pd(X))
        return self

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

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")

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

    def matrix(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The encoded feature matrix the booster reads (for benchmarks and diagnostics)."""
        self._check_fitted()
        return self._matrix(X)

    def predict_matrix(
        self, matrix: npt.NDArray[np.float64], *, contributions: bool = False
    ) -> npt.NDArray[np.float64]:
        """Raw log-odds (or, with ``contributions``, TreeSHAP values and the bias) of a matrix.

        ``matrix`` is :meth:`matrix` of a frame: callers that need both (the scorer) build it
        once.
        """
        self._check_fitted()
        values = self.booster_.predict(
            matrix,
            raw_score=not contributions,
            pred_contrib=contributions,
            num_threads=self.config_.num_threads,
        )
        return np.asarray(values, dtype=np.float64)

    def raw_score(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Uncalibrated log-odds of each row."""
        self._check_fitted()
        return self.predict_matrix(self._matrix(X))

    def predict_pd(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Calibrated probability of default of each row.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        raw = self.raw_score(X)  # checks that the model is fitted
        return self.calibrator_.transform(raw)

    def predict_proba(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """``[P(good), P(bad)]`` per row, as scikit-learn classifiers return."""
        p = self.predict_pd(X)
        return np.column_stack([1.0 - p, p])

    def predict_grade(self, X: pd.DataFrame) -> npt.NDArray[np.int64]:
        """Grade (1 = best) of each row on the master scale."""
        return self.config_.grades.grade(self.predict_pd(X))

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``pd`` and ``grade`` per row (what the MLflow pyfunc model returns)."""
        p = self.predict_pd(X)
        return pd.DataFrame({"pd": p, "grade": self.config_.grades.grade(p)}, index=X.index)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact per-feature contributions to the raw log-odds (TreeSHAP, ``pred_contrib``).

        Returns
        -------
        pandas.DataFrame
            One column per feature plus ``bias`` (the expected raw score); each row sums to
            :meth:`raw_score`.
        """
        self._check_fitted()
        values = self.predict_matrix(self._matrix(X), contributions=True)
        return pd.DataFrame(values, columns=[*self.feature_names_, "bias"], index=X.index)

    def feature_importance(self) -> pd.DataFrame:
        """Gain and split counts per feature, by decreasing gain."""
        self._check_fitted()
        frame = pd.DataFrame(
            {
                "feature": self.feature_names_,
                "gain": self.booster_.feature_importance("gain"),
                "splits": self.booster_.feature_importance("split"),
            }
        )
        return frame.sort_values("gain", ascending=False, ignore_index=True)

    # ------------------------------------------------------------------ promotion gate

    def holdout_score(self, holdout: pd.DataFrame) -> float:
        """AUC on a holdout frame (features and :data:`LABEL`); higher is better."""
        return roc_auc(holdout[LABEL].to_numpy(dtype=float), self.predict_pd(holdout))

    def holdout_quality(self, holdout: pd.DataFrame) -> dict[str, float]:
        """What the quality floor reads: rows, bads, AUC and its standard error
        (:func:`models.metrics.binary_quality`)."""
        return binary_quality(holdout[LABEL].to_numpy(dtype=float), self.predict_pd(holdout))

    def monotonicity_report(self, holdout: pd.DataFrame, *, sample: int = 200) -> pd.DataFrame:
        """:func:`models.metrics.monotonicity_violations` of the PD on holdout rows."""
        self._check_fitted()
        return monotonicity_violations(self.predict_pd, holdout, self.monotone_, sample=sample)

    def holdout_psi(self, holdout: pd.DataFrame) -> float:
        """PSI of the PD on the holdout against the training sample."""
        self._check_fitted()
        return self.score_reference_.psi(self.predict_pd(holdout))

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | Path) -> Path:
        """Write ``booster.txt`` and ``pd_model.json`` into ``directory`` (created)."""
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(path / "booster.txt"))
        meta = {
            "kind": self.kind,
            "config": self.config_.to_dict(),
            "feature_names": self.feature_names_,
            "categorical": self.categorical_,
            "monotone": self.monotone_,
            "encoder": self.encoder_.to_dict(),
            "calibrator": self.calibrator_.to_dict(),
            "grade_table": self.grade_table_.to_dict(orient="list"),
            "score_reference": self.score_reference_.to_dict(),
            "best_iteration": self.best_iteration_,
            "context": dict(self.context or {}),
        }
        (path / "pd_model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), "utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> PDModel:
        """Read a model written by :meth:`save`, as data (:mod:`models.artifacts`).

        Raises
        ------
        ArtifactError
            If a file is missing, malformed, or the booster does not match its JSON.
        """
        path = Path(directory)
        meta = read_json(path / "pd_model.json")
        with built_from("pd_model.json"):
            if meta["kind"] != cls.kind:
                raise ValueError(f"kind must be {cls.kind!r}; got {meta['kind']!r}")
            config = PDConfig.from_dict(meta["config"])
            model = cls(
                config,
                monotone=meta["monotone"],
                categorical=meta["categorical"],
                context=meta["context"],
            )
            model.config_ = config
            model.feature_names_ = [str(f) for f in meta["feature_names"]]
            model.categorical_ = [str(c) for c in meta["categorical"]]
            model.monotone_ = checked_monotone(
                meta["monotone"], model.feature_names_, model.categorical_
            )
            model.encoder_ = CategoryEncoder.from_dict(meta["encoder"])
            if sorted(model.encoder_.vocabulary_) != sorted(model.categorical_):
                raise ValueError("the encoder's columns must be the categorical features")
            model.best_iteration_ = int(meta["best_iteration"])
            model.evals_result_ = {}
            model.calibrator_ = Calibrator.from_dict(meta["calibrator"])
            if not np.isfinite(model.calibrator_.transform(np.array([-2.0, 0.0, 2.0]))).all():
                raise ValueError("the calibrator must map scores to finite PDs")
            model.grade_table_ = pd.DataFrame(meta["grade_table"])
            if len(model.grade_table_) != config.grades.n_grades:
                raise ValueError(f"grade_table must have {config.grades.n_grades} grades")
            model.score_reference_ = PSIReference.from_dict(meta["score_reference"])
        model.booster_ = read_booster(
            path / "booster.txt",
            feature_names=model.feature_names_,
            iterations=model.best_iteration_,
        )
        return model
