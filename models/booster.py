"""The binary LightGBM estimator: the one base of the pre-credit PD and the learned warning.

:class:`BinaryBooster` fits, predicts, checks and saves a LightGBM binary classifier the
scikit-learn way (``fit`` returns ``self``, learned attributes end in ``_``, predicting
before fitting raises :class:`~models.exceptions.NotFittedError`):

- **fit**: monotone constraints on signed features (:func:`checked_monotone`), early
  stopping on an ``eval_set`` by its log loss, the booster truncated to the best iteration,
  and the training sample's score distribution kept for stability checks;
- **predict**: the probability of the event per row (:meth:`BinaryBooster.predict_probability`),
  the raw log-odds, exact per-feature contributions (TreeSHAP), gain importance;
- **the promotion gate's hooks** (:class:`models.registry.ModelRegistry`): the holdout AUC
  (:meth:`~BinaryEstimator.holdout_score`), what the quality floor reads
  (:meth:`~BinaryEstimator.holdout_quality`), the monotonicity sweep and the score PSI;
- **save / load**: ``booster.txt`` (LightGBM's model text) and one JSON file, read back as
  data (:mod:`models.artifacts`), never executed.

The gate's hooks, ``predict_proba``, the importance table and the JSON file's common fields
are those of :class:`BinaryEstimator`, the base it shares with the bank table's WOE
scorecard (:class:`models.scorecard.Scorecard`): one implementation for every binary
classifier.

A subclass names its kind, JSON file and config class, and adds what is its own: the PD
(:class:`models.pd.PDModel`) encodes string categoricals and calibrates the probability into
graded PDs; the warning (:class:`models.warning.WarningModel`) takes integer codes and adds the
rules' workload to its holdout quality. Both configs derive from :class:`BoosterConfig`, the
tree settings with their checks.

About 700 lines, in one module on purpose: it is one estimator's API (fit, predict, gate
hooks, persistence), the base that holds its gate hooks and JSON fields, and the config it
reads; split, a subclass author would read four files.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from models.artifacts import built_from, read_booster, read_json
from models.exceptions import NotFittedError, TrainingDataError
from models.metrics import PSIReference, binary_quality, monotonicity_violations, roc_auc
from risk.frames import require_frame
from risk.validation import check_choice, check_int, check_real

__all__ = [
    "LABEL",
    "MONOTONE_METHODS",
    "PARALLEL_ROWS",
    "BinaryBooster",
    "BinaryEstimator",
    "BoosterConfig",
    "binary_labels",
    "checked_monotone",
    "row_weights",
]

LABEL = "label"
"""Name of the outcome column in holdout frames (1 = bad, or a new violation)."""

MONOTONE_METHODS = ("basic", "intermediate", "advanced")
"""LightGBM's ``monotone_constraints_method`` values."""

PARALLEL_ROWS = 20_000
"""Rows from which a prediction uses every core when ``num_threads`` is the default 1."""


@dataclass(frozen=True)
class BoosterConfig:
    """The tree settings every binary LightGBM model has (frozen, validated on construction).

    Subclasses (:class:`models.pd.PDConfig`, :class:`models.warning.WarningConfig`) add their
    own fields and may change these defaults; each documents its defaults.

    Parameters
    ----------
    num_leaves
        Leaves per tree, in [2, 1024].
    learning_rate
        In (0, 1].
    max_rounds
        Most boosting rounds, in [1, 100000].
    early_stopping_rounds
        Stop after this many rounds without a better validation log loss, ≥ 1.
    min_child_samples
        Least rows per leaf, ≥ 1.
    feature_fraction, bagging_fraction
        Column and row subsampling per tree, in (0, 1].
    lambda_l2
        L2 regularisation of leaf values, ≥ 0.
    monotone_method
        LightGBM's ``monotone_constraints_method``: basic, intermediate or advanced.
    seed
        Seed of LightGBM's sampling, ≥ 0.
    num_threads
        LightGBM threads for training and prediction, ≥ 0 (0: all cores). Default 1: on a
        county's samples (10³–10⁵ rows) one thread is fastest, and OpenMP threads on a busy
        machine can be ten times slower; raise it for province-scale training. With the
        default, a prediction of :data:`PARALLEL_ROWS` rows or more (a batch scoring a
        county) uses all cores: rows are predicted independently, so the values are the
        same, and TreeSHAP contributions of a million rows take half the time on two cores.

    Raises
    ------
    TypeError, ValueError
        If a field has the wrong type or is out of range (the message names it).
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
    seed: int = 0
    num_threads: int = 1

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "num_leaves", check_int("num_leaves", self.num_leaves, 2, 1024))
        put(
            self,
            "learning_rate",
            check_real("learning_rate", self.learning_rate, 0.0, 1.0, open_low=True),
        )
        put(self, "max_rounds", check_int("max_rounds", self.max_rounds, 1, 100_000))
        put(
            self,
            "early_stopping_rounds",
            check_int("early_stopping_rounds", self.early_stopping_rounds, 1),
        )
        put(self, "min_child_samples", check_int("min_child_samples", self.min_child_samples, 1))
        for name in ("feature_fraction", "bagging_fraction"):
            put(self, name, check_real(name, getattr(self, name), 0.0, 1.0, open_low=True))
        put(self, "lambda_l2", check_real("lambda_l2", self.lambda_l2, 0.0))
        check_choice("monotone_method", self.monotone_method, MONOTONE_METHODS)
        put(self, "seed", check_int("seed", self.seed, 0))
        put(self, "num_threads", check_int("num_threads", self.num_threads, 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**dict(data))

    def lightgbm_params(self, monotone: Sequence[int]) -> dict[str, Any]:
        """The ``lightgbm.train`` parameters (also used by the benchmark's raw baseline).

        Log loss comes first: it drives early stopping.
        """
        params: dict[str, Any] = {
            "objective": "binary",
            "metric": ["binary_logloss", "auc"],
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "min_data_per_group": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1 if self.bagging_fraction < 1 else 0,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
            "num_threads": self.num_threads,
        }
        if any(monotone):
            params["monotone_constraints"] = list(monotone)
            params["monotone_constraints_method"] = self.monotone_method
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
    """``y`` as a float array of n outcomes, each 0 or 1.

    Raises
    ------
    ValueError
        If it has another length or other values (the message names ``name``).
    """
    labels = np.asarray(y, dtype=np.float64).ravel()
    if labels.shape != (n,):
        raise ValueError(f"{name} must have one outcome per row ({n}); got {labels.size}")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold only 0 and 1; got other values")
    return labels


def row_weights(name: str, weights: Any, n: int) -> npt.NDArray[np.float64] | None:
    """``weights`` as a float array of n positive finite values (``None`` stays ``None``).

    Raises
    ------
    ValueError
        If it has another length or a value that is not positive and finite.
    """
    if weights is None:
        return None
    values = np.asarray(weights, dtype=np.float64).ravel()
    if values.shape != (n,):
        raise ValueError(f"{name} must have one weight per row ({n}); got {values.size}")
    if not (np.isfinite(values) & (values > 0)).all():
        raise ValueError(f"{name} must be positive and finite; got other values")
    return values


class BinaryEstimator(ABC):
    """What every binary classifier of credlink shares, however it learns: the promotion
    gate's hooks on a holdout frame and the common fields of its one JSON file.

    The base of :class:`BinaryBooster` (LightGBM) and :class:`models.scorecard.Scorecard`
    (WOE logistic). A subclass provides :meth:`predict_probability` and :meth:`_check_fitted`,
    sets ``context`` in ``__init__`` and the learned ``feature_names_``, ``categorical_``,
    ``monotone_`` and ``score_reference_`` in ``fit``, and names its :attr:`meta_file`.
    """

    meta_file: ClassVar[str]
    """The estimator's JSON file (it marks the estimator directory's kind)."""

    context: Mapping[str, Any] | None
    feature_names_: list[str]
    categorical_: list[str]
    monotone_: dict[str, int]
    score_reference_: PSIReference

    @abstractmethod
    def _check_fitted(self) -> None:
        """Raise :class:`~models.exceptions.NotFittedError` before ``fit``."""

    @abstractmethod
    def predict_probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of the event per row."""

    def predict_proba(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """``[P(no event), P(event)]`` per row, as scikit-learn classifiers return."""
        p = self.predict_probability(X)
        return np.column_stack([1.0 - p, p])

    @abstractmethod
    def _importance(self) -> pd.DataFrame:
        """One row per feature, in feature order: ``feature``, ``gain`` and what else the
        estimator measures (fitted)."""

    def feature_importance(self, concept_of: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Each feature's ``gain`` (and the estimator's other measures: LightGBM's ``splits``),
        by decreasing gain.

        With ``concept_of`` (feature → concept, e.g. a catalog's
        :attr:`~features.catalog.FeatureCatalog.concept_of`) also each feature's ``concept``
        (the feature itself when it has none), to sum the gain by concept.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        self._check_fitted()
        frame = self._importance().sort_values("gain", ascending=False, ignore_index=True)
        if concept_of is not None:
            frame["concept"] = [concept_of.get(f, f) for f in frame["feature"]]
        return frame

    # ------------------------------------------------------------------ promotion gate

    def holdout_score(self, holdout: pd.DataFrame) -> float:
        """AUC on a holdout frame (features and :data:`LABEL`); higher is better."""
        require_frame(holdout, "holdout", [LABEL])
        return roc_auc(holdout[LABEL].to_numpy(dtype=float), self.predict_probability(holdout))

    def holdout_quality(self, holdout: pd.DataFrame) -> dict[str, float]:
        """What the quality floor reads: rows, events (``bads``), AUC and its standard error
        (:func:`models.metrics.binary_quality`)."""
        require_frame(holdout, "holdout", [LABEL])
        y = holdout[LABEL].to_numpy(dtype=float)
        return binary_quality(y, self.predict_probability(holdout))

    def monotonicity_report(self, holdout: pd.DataFrame, *, sample: int = 200) -> pd.DataFrame:
        """:func:`models.metrics.monotonicity_violations` of the probability on holdout rows."""
        self._check_fitted()
        return monotonicity_violations(
            self.predict_probability, holdout, self.monotone_, sample=sample
        )

    def holdout_psi(self, holdout: pd.DataFrame) -> float:
        """PSI of the probability on the holdout against :attr:`score_reference_`."""
        self._check_fitted()
        return self.score_reference_.psi(self.predict_probability(holdout))

    # ------------------------------------------------------------------ persistence

    def _columns_meta(self) -> dict[str, Any]:
        """The learned columns as the JSON file holds them (read by :meth:`_restore_columns`)."""
        return {
            "feature_names": self.feature_names_,
            "categorical": self.categorical_,
            "monotone": self.monotone_,
        }

    def _restore_columns(self, meta: Mapping[str, Any]) -> None:
        """Read back :meth:`_columns_meta`, checking the constraints (inside
        :func:`~models.artifacts.built_from`)."""
        self.feature_names_ = [str(f) for f in meta["feature_names"]]
        self.categorical_ = [str(c) for c in meta["categorical"]]
        self.monotone_ = checked_monotone(meta["monotone"], self.feature_names_, self.categorical_)

    def _write_meta(self, directory: str | Path, meta: Mapping[str, Any]) -> Path:
        """Write ``meta`` as :attr:`meta_file` into ``directory`` (created); returns it."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / self.meta_file).write_text(
            json.dumps(meta, ensure_ascii=False, indent=1, default=str), "utf-8"
        )
        return path

    @classmethod
    def _read_meta(cls, directory: str | Path, kind: str) -> dict[str, Any]:
        """The JSON object of :attr:`meta_file` in ``directory``, of the given ``kind``.

        Raises
        ------
        ArtifactError
            If the file is missing, not a JSON object, or of another kind.
        """
        meta = read_json(Path(directory) / cls.meta_file)
        with built_from(cls.meta_file):
            if meta["kind"] != kind:
                raise ValueError(f"kind must be {kind!r}; got {meta['kind']!r}")
        return meta


class BinaryBooster(BinaryEstimator):
    """Base of the binary LightGBM estimators (module docstring); not used directly.

    Parameters
    ----------
    config
        The subclass's :class:`BoosterConfig` (default: its config class's defaults).
    monotone
        Feature → +1 (the probability never decreases in it), −1 (never increases) or 0.
        Categorical features cannot be constrained.
    categorical
        The categorical columns (what ``None`` means is the subclass's).
    context
        Extra JSON-ready information saved with the model (features, label, settings).

    Attributes
    ----------
    config_ : BoosterConfig
    feature_names_ : list of str
    n_features_in_ : int
    classes_ : numpy.ndarray
        ``[0, 1]``.
    categorical_ : list of str
    monotone_ : dict of str to int
        Non-zero constraints only.
    booster_ : lightgbm.Booster
        Truncated to the best iteration.
    best_iteration_ : int
    evals_result_ : dict
        LightGBM's validation log loss and AUC per round (empty without ``eval_set`` or
        after :meth:`load`).
    score_reference_ : models.metrics.PSIReference
        The probability distribution of ``eval_set`` (held out of the trees' fit, weighted by
        ``eval_sample_weight``), for stability (PSI) checks; of the training sample only when
        ``fit`` had no ``eval_set``.
    """

    kind: ClassVar[str]
    """The estimator's kind, saved in its JSON (beside ``booster.txt``) and read by the
    quality floor."""
    config_class: ClassVar[type[BoosterConfig]] = BoosterConfig
    outcomes: ClassVar[tuple[str, str]] = ("positives and negatives", "positives")
    """How error messages name both classes and the events, e.g. ``("goods and bads",
    "bads")``."""

    config_: BoosterConfig
    n_features_in_: int
    classes_: npt.NDArray[np.int64]
    booster_: lgb.Booster
    best_iteration_: int
    evals_result_: dict[str, Any]

    def __init__(
        self,
        config: BoosterConfig | None = None,
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
        eval_set: tuple[pd.DataFrame, npt.ArrayLike] | None = None,
        sample_weight: npt.ArrayLike | None = None,
        eval_sample_weight: npt.ArrayLike | None = None,
    ) -> Self:
        """Grow the trees on ``X``; stop early on ``eval_set`` when given.

        Parameters
        ----------
        X
            Training features.
        y
            Outcomes, 1 = the event.
        eval_set
            Validation features and outcomes for early stopping; ``None`` grows
            ``max_rounds`` trees.
        sample_weight, eval_sample_weight
            Row weights (> 0) of ``X`` and of ``eval_set``; ``None``: 1 each. A sample whose
            negatives were kept with probability f weighs them 1/f, so the weighted log loss
            (the objective and the early-stopping metric) and the score distribution
            (:attr:`score_reference_`) are those of the unsampled rows.

        Returns
        -------
        BinaryBooster
            ``self``.

        Raises
        ------
        TypeError
            If ``X`` is not a DataFrame or ``config`` not of the config class.
        ValueError
            On bad outcomes, columns or constraints.
        TrainingDataError
            If the training sample lacks one of the classes.
        """
        weights = self._fit_booster(X, y, eval_set, sample_weight, eval_sample_weight)
        # The reference is out of sample when a sample was held out: the training rows' own
        # scores are sharper than any new population's, which the promotion gate's PSI
        # (holdout_psi) would read as a shift.
        if eval_set is None:
            reference, reference_weights = X, weights
        else:
            reference = eval_set[0]
            reference_weights = row_weights(
                "eval_sample_weight", eval_sample_weight, len(reference)
            )
        self.score_reference_ = PSIReference.from_sample(
            self.predict_probability(reference), weights=reference_weights
        )
        return self

    def _fit_booster(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        eval_set: tuple[pd.DataFrame, npt.ArrayLike] | None,
        sample_weight: npt.ArrayLike | None = None,
        eval_sample_weight: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.float64] | None:
        """Check the inputs, learn the columns and grow the booster; returns the checked
        training weights (``None`` without)."""
        config_class = type(self).config_class
        config = config_class() if self.config is None else self.config
        if not isinstance(config, config_class):
            raise TypeError(
                f"config must be a {config_class.__name__}; got {type(config).__name__}"
            )
        require_frame(X, "X", ())
        self._check_columns(X)
        labels = binary_labels("y", y, len(X))
        weights = row_weights("sample_weight", sample_weight, len(X))
        if not 0 < labels.sum() < labels.size:
            both, events = self.outcomes
            raise TrainingDataError(
                f"the training sample must hold {both} and {events}; got {labels.size} rows "
                f"with {labels.sum():.0f} {events}"
            )
        features = [str(c) for c in X.columns]
        categorical = self._checked_categorical(X, features)
        monotone = checked_monotone(self.monotone, features, categorical)

        self.config_ = config
        self.feature_names_ = features
        self.n_features_in_ = len(features)
        self.classes_ = np.array([0, 1])
        self.categorical_ = categorical
        self.monotone_ = monotone
        self._learn_columns(X)
        train = lgb.Dataset(
            self._matrix(X),
            label=labels,
            weight=weights,
            feature_name=features,
            categorical_feature=[features.index(c) for c in categorical],
            free_raw_data=True,
        )
        params = config.lightgbm_params([monotone.get(f, 0) for f in features])
        history: dict[str, Any] = {}
        if eval_set is None:
            booster = lgb.train(params, train, num_boost_round=config.max_rounds)
            best = config.max_rounds
        else:
            X_eval, y_eval = eval_set
            require_frame(X_eval, "eval_set X", features)
            valid = lgb.Dataset(
                self._matrix(X_eval),
                label=binary_labels("eval_set y", y_eval, len(X_eval)),
                weight=row_weights("eval_sample_weight", eval_sample_weight, len(X_eval)),
                reference=train,
            )
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
        return weights

    def _check_columns(self, X: pd.DataFrame) -> None:
        """Refuse columns this estimator cannot read (hook; the base reads anything)."""

    def _checked_categorical(self, X: pd.DataFrame, features: list[str]) -> list[str]:
        """The categorical columns: those named, which must be columns of ``X`` (hook)."""
        if self.categorical is None:
            return []
        if isinstance(self.categorical, str) or not isinstance(self.categorical, Sequence):
            raise TypeError(
                "categorical must be a sequence of column names; got "
                f"{type(self.categorical).__name__}"
            )
        checked = [str(c) for c in self.categorical]
        unknown = [c for c in checked if c not in features]
        if unknown:
            raise ValueError(f"categorical must name columns of X; got {unknown[0]!r}")
        return checked

    def _learn_columns(self, X: pd.DataFrame) -> None:
        """Learn what reading the columns needs, before the matrix is built (hook)."""

    # ------------------------------------------------------------------ predicting

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")

    def _matrix(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The float matrix LightGBM reads, in feature order (``NaN`` = missing)."""
        require_frame(X, "X", self.feature_names_)
        columns = X[self.feature_names_]
        if all(dtype == np.float64 for dtype in columns.dtypes):
            # The feature builders' frames: one block copy instead of a conversion per column.
            return columns.to_numpy(dtype=np.float64)
        matrix = np.empty((len(X), len(self.feature_names_)), dtype=np.float64)
        for j, name in enumerate(self.feature_names_):
            matrix[:, j] = pd.to_numeric(X[name], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        return matrix

    def matrix(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The feature matrix the booster reads (for benchmarks and diagnostics)."""
        self._check_fitted()
        return self._matrix(X)

    def _threads(self, rows: int) -> int:
        """LightGBM threads for a prediction of ``rows`` rows (``num_threads``)."""
        configured = self.config_.num_threads
        return 0 if configured == 1 and rows >= PARALLEL_ROWS else configured

    def predict_matrix(
        self, matrix: npt.NDArray[np.float64], *, contributions: bool = False
    ) -> npt.NDArray[np.float64]:
        """Raw log-odds (or, with ``contributions``, TreeSHAP values and the bias) of a matrix.

        ``matrix`` is :meth:`matrix` of a frame: callers that need both (the PD scorer) build
        it once.
        """
        self._check_fitted()
        values = self.booster_.predict(
            matrix,
            raw_score=not contributions,
            pred_contrib=contributions,
            num_threads=self._threads(len(matrix)),
        )
        return np.asarray(values, dtype=np.float64)

    def raw_score(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Uncalibrated log-odds of each row."""
        self._check_fitted()
        return self.predict_matrix(self._matrix(X))

    def predict_probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of the event per row (the booster's; the PD calibrates it).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidFrameError
            If a feature column is missing.
        """
        self._check_fitted()
        values = self.booster_.predict(self._matrix(X), num_threads=self._threads(len(X)))
        return np.asarray(values, dtype=np.float64)

    @abstractmethod
    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """What the MLflow pyfunc model returns (a subclass names the columns)."""

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

    def _importance(self) -> pd.DataFrame:
        """LightGBM's total split gain and split count per feature: ``gain``, ``splits``."""
        return pd.DataFrame(
            {
                "feature": self.feature_names_,
                "gain": self.booster_.feature_importance("gain"),
                "splits": self.booster_.feature_importance("split"),
            }
        )

    # ------------------------------------------------------------------ persistence

    def _meta(self) -> dict[str, Any]:
        """What the JSON file holds beyond the base's fields (hook)."""
        return {}

    def _restore(self, meta: Mapping[str, Any]) -> None:
        """Read back :meth:`_meta`, checking it (hook; inside :func:`built_from`)."""

    def save(self, directory: str | Path) -> Path:
        """Write ``booster.txt`` and the JSON file into ``directory`` (created)."""
        self._check_fitted()
        meta = {
            "kind": self.kind,
            "config": self.config_.to_dict(),
            **self._columns_meta(),
            **self._meta(),
            "score_reference": self.score_reference_.to_dict(),
            "best_iteration": self.best_iteration_,
            "context": dict(self.context or {}),
        }
        path = self._write_meta(directory, meta)
        self.booster_.save_model(str(path / "booster.txt"))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Read a model written by :meth:`save`, as data (:mod:`models.artifacts`).

        Raises
        ------
        ArtifactError
            If a file is missing, malformed, of another kind of estimator, or the booster
            does not match its JSON.
        """
        meta = cls._read_meta(directory, cls.kind)
        with built_from(cls.meta_file):
            config = cls.config_class.from_dict(meta["config"])
            model = cls(
                config,
                monotone=meta["monotone"],
                categorical=meta["categorical"],
                context=meta["context"],
            )
            model.config_ = config
            model._restore_columns(meta)
            model.n_features_in_ = len(model.feature_names_)
            model.classes_ = np.array([0, 1])
            model.best_iteration_ = int(meta["best_iteration"])
            model.evals_result_ = {}
            model._restore(meta)
            model.score_reference_ = PSIReference.from_dict(meta["score_reference"])
        model.booster_ = read_booster(
            Path(directory) / "booster.txt",
            feature_names=model.feature_names_,
            iterations=model.best_iteration_,
        )
        return model
