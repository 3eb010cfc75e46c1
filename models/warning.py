"""The learned repeat-violator warning: P(new violation within 12 months), out of time.

DESIGN.md §4 lists a learned rule beside the county plans' rules: a LightGBM binary model of
the probability that an enterprise existing on t gets a new violation (by default a record of
:data:`risk.rules.PENALTY_KINDS`) decided in (t, t + 12 months], from the point-in-time
features of :mod:`features.warning`.

Out-of-time design (:func:`warning_split`)
------------------------------------------
With the data known on ``as_of`` = *end*:

- **test**: the cutoff ``t_test = end − 12 months``; labels in (t_test, end];
- **train**: cutoffs every ``step_months`` (default quarterly) from ``t_test − 12 months``
  back, at most ``train_cutoffs`` of them and none earlier than ``warmup_months`` after the
  platform's first record (before that the windows see the platform's start, not the
  enterprise). Their rows are stacked. Every training label window ends on or before
  t_test, so no training row has seen a label event of the test year;
- **early stopping** on **held-out enterprises** (``valid_fraction`` of the enterprises, all
  their training rows), not on a later cutoff: quarterly cutoffs with a 12-month horizon
  overlap, so a later cutoff of the *same* enterprises shares its label events with the
  training rows and rewards memorising enterprises. On the default county a 2024-06-30
  validation cutoff scored AUC 0.74 for a model that scored 0.59 on the held-out year (it
  kept boosting); held-out enterprises score 0.62 for 0.61.

Evaluation and the rules (:func:`rule_ranking`)
-----------------------------------------------
On the test cutoff the model ranks every existing enterprise; precision@k and recall@k
(k = 50, 100, 200) say how many of the k enterprises the credit office would look at get a
new violation. The rules of :mod:`risk.rules` evaluated on t_test flag a set of enterprises;
ranked by their most urgent level (red, orange, yellow), then by the number of rules that
hit, then by the number of records cited, then by USCC, they give the same metrics
(``NaN`` for k beyond the flagged set: the rules rank no one else), plus the precision and
recall of the whole flagged set, which the model's top-|flagged| is compared with at equal
workload. The ablation trains the same model on the self features only
(:attr:`features.warning.WarningFeature.source`).

MLflow
------
:func:`train_warning` logs one run to the experiment ``credlink-warning`` (parameters, the
metrics above, the ablation and cutoff tables, ROC and precision@k plots, gain importance, a
model card, the held-out year for the promotion gate) and registers the model as a version of
``credlink-warning`` under the alias ``challenger``. :class:`WarningRegistry` is
:class:`models.registry.ModelRegistry` taught to load this estimator, so promotion to
``champion`` goes through the same gate (better AUC than the champion on the same held-out
rows, monotone, PSI below 0.25).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mlflow.pyfunc import PythonModel
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from features.data import PlatformData
from features.validation import check_bool, check_int, check_real, check_str
from features.warning import (
    INDUSTRY_CODES,
    KIND_CODES,
    WarningFeatureConfig,
    build_warning_features,
    check_label_kinds,
    warning_feature_specs,
    warning_labels,
    warning_population,
)
from models.artifacts import built_from, read_booster, read_json
from models.exceptions import NotFittedError, TrainingDataError
from models.metrics import PSIReference, binary_quality, monotonicity_violations, psi, roc_auc
from models.pd import (
    LABEL,
    binary_labels,
    binary_lightgbm_params,
    checked_monotone,
    validate_booster_settings,
)
from models.registry import ModelRegistry
from models.report import markdown_table
from models.tracking import (
    CHAMPION,
    LoggedRun,
    ModelRun,
    flat_params,
    importance_figure,
    log_model_run,
    roc_figure,
)
from risk.config import RiskConfig
from risk.contract import RecordKind
from risk.frames import require_frame
from risk.graph import as_of_timestamp
from risk.rules import (
    LEVEL_RANK,
    PENALTY_KINDS,
    Rule,
    RuleHit,
    RuleInputs,
    evaluate_rules,
)

__all__ = [
    "ENTRY_POINT",
    "MONOTONE_METHODS",
    "PROBABILITY",
    "RULES_FLAGGED",
    "TOP_K",
    "WARNING_MODEL_NAME",
    "WarningConfig",
    "WarningModel",
    "WarningPyfuncModel",
    "WarningRegistry",
    "WarningResult",
    "WarningSplit",
    "WarningTrainConfig",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "rule_hits",
    "rule_ranking",
    "train_warning",
    "warning_split",
]

WARNING_MODEL_NAME = "credlink-warning"
"""Experiment and registered model name of the learned warning."""

PROBABILITY = "p_violation"
"""Output column of :meth:`WarningModel.predict_frame` (and the pyfunc model)."""

RULES_FLAGGED = "rules_flagged"
"""Holdout column: whether the county rules flagged the enterprise on the test cutoff."""

TOP_K: tuple[int, ...] = (50, 100, 200)
"""The default k of precision@k and recall@k."""

MONOTONE_METHODS = ("basic", "intermediate", "advanced")

ENTRY_POINT = Path(__file__).with_name("_warning_mlflow_entry.py")
"""The file MLflow executes to build the pyfunc model (models from code)."""


# --------------------------------------------------------------------------- ranking metrics


def _ranking_inputs(
    y: npt.ArrayLike, score: npt.ArrayLike, k: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], int]:
    labels = np.asarray(y, dtype=np.float64).ravel()
    values = np.asarray(score, dtype=np.float64).ravel()
    if labels.shape != values.shape:
        raise ValueError(
            f"y and score must have the same length; got {labels.size} and {values.size}"
        )
    if labels.size and not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("y must hold only 0 and 1; got other values")
    if np.isnan(values).any():
        raise ValueError("score must not contain NaN; got NaN")
    k = check_int("k", k, 1)
    # Stable: ties keep the rows' order, so a ranking given as a score is reproduced exactly.
    order = np.argsort(-values, kind="stable")
    return labels, order, k


def precision_at_k(y: npt.ArrayLike, score: npt.ArrayLike, k: int) -> float:
    """Share of positives among the k highest scores (ties in row order).

    Parameters
    ----------
    y
        Outcomes (0/1).
    score
        Higher means more urgent.
    k
        How many rows are looked at, ≥ 1; more than the rows means all of them.

    Returns
    -------
    float
        ``NaN`` for an empty sample.

    Raises
    ------
    ValueError
        On mismatched lengths, non-binary outcomes, NaN scores or k < 1.
    """
    labels, order, k = _ranking_inputs(y, score, k)
    if not labels.size:
        return float("nan")
    return float(labels[order[:k]].mean())


def recall_at_k(y: npt.ArrayLike, score: npt.ArrayLike, k: int) -> float:
    """Share of all positives found among the k highest scores (``NaN`` without positives).

    Raises
    ------
    ValueError
        As :func:`precision_at_k`.
    """
    labels, order, k = _ranking_inputs(y, score, k)
    total = labels.sum()
    if total == 0:
        return float("nan")
    return float(labels[order[:k]].sum() / total)


def ranking_metrics(
    y: npt.ArrayLike,
    score: npt.ArrayLike,
    ks: Sequence[int] = TOP_K,
    *,
    ranked: int | None = None,
) -> dict[str, float]:
    """AUC, precision@k and recall@k of a warning score.

    Parameters
    ----------
    y, score
        Outcomes and scores (higher = more urgent).
    ks
        The k values.
    ranked
        How many rows the score actually ranks (the rules' flagged set); precision@k and
        recall@k are ``NaN`` for larger k. ``None``: every row.

    Returns
    -------
    dict
        ``auc``, ``precision_at_<k>``, ``recall_at_<k>``, ``n``, ``positives``, ``base_rate``.
    """
    labels = np.asarray(y, dtype=np.float64).ravel()
    out = {
        "auc": roc_auc(labels, score),
        "n": float(labels.size),
        "positives": float(labels.sum()),
        "base_rate": float(labels.mean()) if labels.size else float("nan"),
    }
    for k in ks:
        beyond = ranked is not None and k > ranked
        out[f"precision_at_{k}"] = float("nan") if beyond else precision_at_k(labels, score, k)
        out[f"recall_at_{k}"] = float("nan") if beyond else recall_at_k(labels, score, k)
    return out


# --------------------------------------------------------------------------- the estimator


@dataclass(frozen=True)
class WarningConfig:
    """LightGBM parameters of :class:`WarningModel` (frozen, validated on construction).

    Parameters
    ----------
    num_leaves
        Leaves per tree, in [2, 1024] (default 15).
    learning_rate
        In (0, 1] (default 0.05).
    max_rounds
        Most boosting rounds, in [1, 100000] (default 400).
    early_stopping_rounds
        Stop after this many rounds without a better validation log loss, ≥ 1 (default 40).
    min_child_samples
        Least rows per leaf, ≥ 1 (default 100: few positives, many near-duplicate rows).
    feature_fraction, bagging_fraction
        Column and row subsampling per tree, in (0, 1] (default 0.8 each).
    lambda_l2
        L2 regularisation of leaf values, ≥ 0 (default 1).
    monotone_method
        LightGBM's ``monotone_constraints_method``: basic (default: the fastest, and strict),
        intermediate or advanced.
    seed
        Seed of LightGBM's sampling, ≥ 0.
    num_threads
        LightGBM threads, ≥ 0 (0: all cores). Default 1: on a county's 10⁴–10⁵ rows one
        thread is fastest, and OpenMP threads on a busy machine can be far slower.

    Raises
    ------
    TypeError, ValueError
        If a field has the wrong type or is out of range.
    """

    num_leaves: int = 15
    learning_rate: float = 0.05
    max_rounds: int = 400
    early_stopping_rounds: int = 40
    min_child_samples: int = 100
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    monotone_method: str = "basic"
    seed: int = 0
    num_threads: int = 1

    def __post_init__(self) -> None:
        validate_booster_settings(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WarningConfig:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**dict(data))

    def lightgbm_params(self, monotone: Sequence[int]) -> dict[str, Any]:
        """The ``lightgbm.train`` parameters (log loss first: it drives early stopping)."""
        return binary_lightgbm_params(self, monotone)


class WarningModel:
    """LightGBM probability of a new violation (scikit-learn style binary classifier).

    Every feature is numeric (``NaN`` = missing); categorical features are given as
    non-negative integer codes (:data:`features.warning.KIND_CODES`,
    :data:`features.warning.INDUSTRY_CODES`), so no vocabulary has to be learned.

    Parameters
    ----------
    config
        Default ``WarningConfig()``.
    categorical
        Columns holding integer codes; ``None``: none.
    monotone
        Feature → +1 (the probability never decreases in it), −1 or 0.
    context
        Extra JSON-ready information saved with the model (features, label, cutoffs).

    Attributes
    ----------
    config_ : WarningConfig
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
        Validation log loss and AUC per round (empty without ``eval_set`` or after load).
    score_reference_ : models.metrics.PSIReference
        The training sample's probability distribution, for stability (PSI) checks.
    """

    kind: ClassVar[str] = "warning"

    def __init__(
        self,
        config: WarningConfig | None = None,
        *,
        categorical: Sequence[str] | None = None,
        monotone: Mapping[str, int] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.categorical = categorical
        self.monotone = monotone
        self.context = context

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        *,
        eval_set: tuple[pd.DataFrame, npt.ArrayLike] | None = None,
    ) -> WarningModel:
        """Grow the trees on ``X``; stop early on ``eval_set`` when given.

        Parameters
        ----------
        X
            Numeric features (bool and integer columns are read as floats).
        y
            Outcomes, 1 = new violation.
        eval_set
            Validation features and outcomes for early stopping; ``None`` grows
            ``max_rounds`` trees.

        Returns
        -------
        WarningModel
            ``self``.

        Raises
        ------
        TypeError
            If ``X`` is not a DataFrame, has a non-numeric column, or ``config`` is not a
            :class:`WarningConfig`.
        ValueError
            On bad outcomes, categorical codes or constraints.
        TrainingDataError
            If the training sample lacks positives or negatives.
        """
        config = WarningConfig() if self.config is None else self.config
        if not isinstance(config, WarningConfig):
            raise TypeError(f"config must be a WarningConfig; got {type(config).__name__}")
        require_frame(X, "X", ())
        features = [str(c) for c in X.columns]
        if not features:
            raise ValueError("X must have at least one column; got none")
        for column in X.columns:
            if not (is_numeric_dtype(X[column]) or is_bool_dtype(X[column])):
                raise TypeError(
                    f"X columns must be numeric; got {X[column].dtype} column {column!r}"
                )
        labels = binary_labels("y", y, len(X))
        if not 0 < labels.sum() < labels.size:
            raise TrainingDataError(
                f"the training sample must hold positives and negatives; got {labels.size} "
                f"rows with {labels.sum():.0f} positives"
            )
        categorical = self._checked_categorical(X, features)
        monotone = checked_monotone(self.monotone, features, categorical)

        self.config_ = config
        self.feature_names_ = features
        self.n_features_in_ = len(features)
        self.classes_ = np.array([0, 1])
        self.categorical_ = categorical
        self.monotone_ = monotone
        train = lgb.Dataset(
            self._matrix(X),
            label=labels,
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
                reference=train,
            )
            booster = lgb.train(
                params,
                train,
                num_boost_round=config.max_rounds,
                valid_sets=[valid],
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
        self.score_reference_ = PSIReference.from_sample(self.predict_violation(X))
        return self

    def _checked_categorical(self, X: pd.DataFrame, features: list[str]) -> list[str]:
        if self.categorical is None:
            return []
        if isinstance(self.categorical, str) or not isinstance(self.categorical, Sequence):
            raise TypeError(
                "categorical must be a sequence of column names; got "
                f"{type(self.categorical).__name__}"
            )
        checked = [str(c) for c in self.categorical]
        for name in checked:
            if name not in features:
                raise ValueError(f"categorical must name columns of X; got {name!r}")
            codes = X[name].to_numpy(dtype=np.float64)
            present = codes[~np.isnan(codes)]
            if present.size and ((present < 0).any() or (present != np.floor(present)).any()):
                raise ValueError(
                    f"categorical column {name!r} must hold integer codes ≥ 0 or NaN; got "
                    f"{present[(present < 0) | (present != np.floor(present))][0]!r}"
                )
        return checked

    # ------------------------------------------------------------------ predicting

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")

    def _matrix(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        require_frame(X, "X", self.feature_names_)
        return np.column_stack(
            [
                pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                for name in self.feature_names_
            ]
        ).reshape(len(X), len(self.feature_names_))

    def predict_violation(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of a new violation within the horizon, per row.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidFrameError
            If a feature column is missing.
        """
        self._check_fitted()
        values = self.booster_.predict(self._matrix(X), num_threads=self.config_.num_threads)
        return np.asarray(values, dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """``[P(no new violation), P(new violation)]`` per row, as scikit-learn returns."""
        p = self.predict_violation(X)
        return np.column_stack([1.0 - p, p])

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """:data:`PROBABILITY` per row (what the MLflow pyfunc model returns)."""
        return pd.DataFrame({PROBABILITY: self.predict_violation(X)}, index=X.index)

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
        """AUC on a holdout frame (features and :data:`models.pd.LABEL`); higher is better."""
        require_frame(holdout, "holdout", [LABEL])
        return roc_auc(holdout[LABEL].to_numpy(dtype=float), self.predict_violation(holdout))

    def holdout_quality(self, holdout: pd.DataFrame) -> dict[str, float]:
        """What the quality floor reads: rows, new violations (``bads``), AUC and its standard
        error; with the rules' flags (:data:`RULES_FLAGGED`, logged with every holdout) also
        ``flagged``, ``precision_at_flagged`` (the model's top-|flagged|) and
        ``rules_precision`` (the rules' flagged set)."""
        require_frame(holdout, "holdout", [LABEL])
        y = holdout[LABEL].to_numpy(dtype=float)
        p = self.predict_violation(holdout)
        quality = binary_quality(y, p)
        if RULES_FLAGGED in holdout.columns:
            flagged = holdout[RULES_FLAGGED].to_numpy(dtype=bool)
            quality["flagged"] = float(flagged.sum())
            if flagged.any():
                quality["precision_at_flagged"] = precision_at_k(y, p, int(flagged.sum()))
                quality["rules_precision"] = float(y[flagged].mean())
        return quality

    def monotonicity_report(self, holdout: pd.DataFrame, *, sample: int = 200) -> pd.DataFrame:
        """:func:`models.metrics.monotonicity_violations` of the probability on holdout rows."""
        self._check_fitted()
        return monotonicity_violations(
            self.predict_violation, holdout, self.monotone_, sample=sample
        )

    def holdout_psi(self, holdout: pd.DataFrame) -> float:
        """PSI of the probability on the holdout against the training sample."""
        self._check_fitted()
        return self.score_reference_.psi(self.predict_violation(holdout))

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | Path) -> Path:
        """Write ``booster.txt`` and ``warning_model.json`` into ``directory`` (created)."""
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
            "score_reference": self.score_reference_.to_dict(),
            "best_iteration": self.best_iteration_,
            "context": dict(self.context or {}),
        }
        (path / "warning_model.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=1, default=str), "utf-8"
        )
        return path

    @classmethod
    def load(cls, directory: str | Path) -> WarningModel:
        """Read a model written by :meth:`save`, as data (:mod:`models.artifacts`).

        Raises
        ------
        ArtifactError
            If a file is missing, malformed, of another kind of estimator, or the booster
            does not match its JSON.
        """
        path = Path(directory)
        meta = read_json(path / "warning_model.json")
        with built_from("warning_model.json"):
            if meta["kind"] != cls.kind:
                raise ValueError(f"kind must be {cls.kind!r}; got {meta['kind']!r}")
            config = WarningConfig.from_dict(meta["config"])
            model = cls(
                config,
                categorical=meta["categorical"],
                monotone=meta["monotone"],
                context=meta["context"],
            )
            model.config_ = config
            model.feature_names_ = [str(f) for f in meta["feature_names"]]
            model.n_features_in_ = len(model.feature_names_)
            model.classes_ = np.array([0, 1])
            model.categorical_ = [str(c) for c in meta["categorical"]]
            model.monotone_ = checked_monotone(
                meta["monotone"], model.feature_names_, model.categorical_
            )
            model.best_iteration_ = int(meta["best_iteration"])
            model.evals_result_ = {}
            model.score_reference_ = PSIReference.from_dict(meta["score_reference"])
        model.booster_ = read_booster(
            path / "booster.txt",
            feature_names=model.feature_names_,
            iterations=model.best_iteration_,
        )
        return model


# --------------------------------------------------------------------------- MLflow wrapper


class WarningPyfuncModel(PythonModel):
    """Pyfunc model: loads the :class:`WarningModel` from its artifacts, predicts frames."""

    estimator: WarningModel

    def load_context(self, context: Any) -> None:
        """Load the estimator from the ``estimator`` artifact directory."""
        self.estimator = WarningModel.load(context.artifacts["estimator"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """:meth:`WarningModel.predict_frame` of ``model_input``."""
        return self.estimator.predict_frame(model_input)


class WarningRegistry(ModelRegistry):
    """:class:`models.registry.ModelRegistry` for ``credlink-warning`` versions.

    Everything is inherited (versions, aliases, loading as data,
    :meth:`~models.registry.ModelRegistry.promote` and its gate and floor); only the
    estimator it reads differs: :meth:`load` returns the :class:`WarningModel` of a version.
    """

    estimator_files: ClassVar[Mapping[str, Any]] = {"warning_model.json": WarningModel}

    def load(self, name: str = WARNING_MODEL_NAME, alias_or_version: str = CHAMPION) -> Any:
        """The :class:`WarningModel` of a version or alias (typed ``Any`` to keep the base API).

        Raises
        ------
        RegistryError
            If the version does not exist.
        ArtifactError
            If its files are not a usable warning model.
        """
        return super().load(name, alias_or_version)


# --------------------------------------------------------------------------- cutoffs


def _months_before(t: pd.Timestamp, months: int) -> pd.Timestamp:
    """``t − months``, staying on month ends (2025-06-30 − 3 → 2025-03-31)."""
    moved = t - pd.DateOffset(months=months)
    if t.is_month_end:
        moved = moved + pd.offsets.MonthEnd(0)
    return pd.Timestamp(moved).normalize().as_unit("s")


@dataclass(frozen=True)
class WarningSplit:
    """The out-of-time cutoffs of one training run (module docstring).

    Attributes
    ----------
    train : tuple of pandas.Timestamp
        Training cutoffs, oldest first.
    test : pandas.Timestamp
        The test cutoff, ``end − horizon``.
    end : pandas.Timestamp
        The data's as-of date: the test labels end there.
    horizon_months : int
    """

    train: tuple[pd.Timestamp, ...]
    test: pd.Timestamp
    end: pd.Timestamp
    horizon_months: int

    def label_end(self, cutoff: pd.Timestamp) -> pd.Timestamp:
        """The last day of a cutoff's label window, ``cutoff + horizon``."""
        return pd.Timestamp(cutoff + pd.DateOffset(months=self.horizon_months)).as_unit("s")

    def to_frame(self) -> pd.DataFrame:
        """One row per cutoff: ``split``, ``cutoff``, ``labels_after``, ``labels_until``."""
        rows = [("train", c) for c in self.train] + [("test", self.test)]
        return pd.DataFrame(
            {
                "split": [s for s, _ in rows],
                "cutoff": [c.date() for _, c in rows],
                "labels_after": [c.date() for _, c in rows],
                "labels_until": [min(self.label_end(c), self.end).date() for _, c in rows],
            }
        )


def warning_split(
    end: date | pd.Timestamp | str,
    *,
    horizon_months: int = 12,
    step_months: int = 3,
    train_cutoffs: int = 5,
    earliest: date | pd.Timestamp | str | None = None,
) -> WarningSplit:
    """Cut the history known on ``end`` into training cutoffs and the test cutoff.

    Parameters
    ----------
    end
        The as-of date of the data.
    horizon_months
        Label horizon, in [1, 60].
    step_months
        Months between training cutoffs, in [1, 24] (default 3: quarterly).
    train_cutoffs
        Most training cutoffs, in [1, 40].
    earliest
        No training cutoff before this date (the platform's first data + warm-up).

    Returns
    -------
    WarningSplit
        Test cutoff ``end − horizon``; training cutoffs ``test − horizon − i · step``.

    Raises
    ------
    TrainingDataError
        If no training cutoff is on or after ``earliest``.
    """
    t_end = as_of_timestamp(end)
    horizon = check_int("horizon_months", horizon_months, 1, 60)
    step = check_int("step_months", step_months, 1, 24)
    n = check_int("train_cutoffs", train_cutoffs, 1, 40)
    floor = None if earliest is None else as_of_timestamp(earliest)
    test = _months_before(t_end, horizon)
    candidates = [_months_before(test, horizon + i * step) for i in range(n)]
    train = tuple(sorted(c for c in candidates if floor is None or c >= floor))
    if not train:
        raise TrainingDataError(
            f"the history must allow a training cutoff on or before {candidates[0].date()} "
            f"and on or after {floor.date() if floor is not None else '—'}; got none"
        )
    return WarningSplit(train=train, test=test, end=t_end, horizon_months=horizon)


# --------------------------------------------------------------------------- the rules


def rule_hits(
    data: PlatformData, as_of: date | pd.Timestamp | str, risk_config: RiskConfig
) -> list[RuleHit]:
    """Run :func:`risk.rules.evaluate_rules` on the platform's frames as of a date.

    Only roles begun and records decided on or before ``as_of`` are handed over, as
    :meth:`risk.rules.RuleInputs.from_store` reads them; the rules' thresholds and linked
    risk are those of ``risk_config``.
    """
    t = as_of_timestamp(as_of)
    roles = data.roles[(data.roles["start"] <= t).to_numpy()]
    records = data.records[(data.records["decided"] <= t).to_numpy()]
    inputs = RuleInputs(data.enterprises, data.persons, roles, records)
    return evaluate_rules(inputs, t, risk_config.rules)


def rule_ranking(hits: Iterable[RuleHit], uscc: Sequence[str] | npt.ArrayLike) -> pd.DataFrame:
    """Rank enterprises by the rules: flagged first, by level, rules hit, records cited.

    Parameters
    ----------
    hits
        Rule hits of one date.
    uscc
        The population to rank (e.g. the enterprises existing on that date).

    Returns
    -------
    pandas.DataFrame
        One row per ``uscc`` in the given order: ``uscc``, ``flagged``, ``level`` (most
        urgent level, ``None`` when not flagged), ``n_rules``, ``n_records`` (distinct
        records cited), ``rank`` (1 = most urgent; 0 when not flagged) and ``rules_score``
        (``n_flagged − rank + 1`` when flagged, else 0: higher is more urgent, no ties among
        the flagged).

    Notes
    -----
    Order of the flagged: level (red, orange, yellow), then more rules, then more records,
    then USCC. The rules themselves only say *who* is flagged and how urgently; the later
    keys make the ranking total so that precision@k is reproducible.
    """
    ids = np.asarray(uscc, dtype=object).astype(str)
    per: dict[str, dict[str, Any]] = {}
    for hit in hits:
        entry = per.setdefault(hit.uscc, {"level": hit.level, "rules": set(), "records": set()})
        if LEVEL_RANK[hit.level] < LEVEL_RANK[entry["level"]]:
            entry["level"] = hit.level
        entry["rules"].add(hit.rule)
        entry["records"].update(hit.record_ids)
    population = set(ids.tolist())
    flagged = sorted(
        (
            (LEVEL_RANK[e["level"]], -len(e["rules"]), -len(e["records"]), u)
            for u, e in per.items()
            if u in population
        ),
    )
    rank = {key[3]: i + 1 for i, key in enumerate(flagged)}
    n_flagged = len(flagged)
    level = [per[u]["level"].value if u in rank else None for u in ids]
    ranks = np.array([rank.get(u, 0) for u in ids], dtype=np.int64)
    return pd.DataFrame(
        {
            "uscc": ids,
            "flagged": ranks > 0,
            "level": pd.Series(level, dtype=object),
            "n_rules": [len(per[u]["rules"]) if u in rank else 0 for u in ids],
            "n_records": [len(per[u]["records"]) if u in rank else 0 for u in ids],
            "rank": ranks,
            "rules_score": np.where(ranks > 0, n_flagged - ranks + 1, 0).astype(np.float64),
        }
    )


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class WarningTrainConfig:
    """How the learned warning is trained (frozen, validated on construction).

    Parameters
    ----------
    features
        The point-in-time features (:class:`features.warning.WarningFeatureConfig`).
    model
        LightGBM parameters (:class:`WarningConfig`).
    label_kinds
        What counts as a new violation (default :data:`risk.rules.PENALTY_KINDS`).
    horizon_months
        Label horizon, in [1, 60] (default 12).
    step_months
        Months between training cutoffs, in [1, 24] (default 3).
    train_cutoffs
        Most training cutoffs, in [1, 40] (default 5).
    warmup_months
        No cutoff within this many months of the platform's first record, in [0, 120]
        (default 12).
    valid_fraction
        Share of enterprises held out of training for early stopping, in (0, 0.5]
        (default 0.2).
    top_k
        The k of precision@k and recall@k: distinct integers ≥ 1 (default 50, 100, 200).
    monotone
        Constrain the probability to be non-decreasing in the counts of negative records,
        linked risk and linked negative parties (default on).
    ablation
        Also train the self-only model (default on); the rules are always evaluated, with
        the thresholds of the :class:`risk.config.RiskConfig` given to :func:`train_warning`.
    model_name
        Experiment and registered model name (default ``credlink-warning``).

    Raises
    ------
    TypeError, ValueError
        On a wrong type or a value out of range.
    """

    features: WarningFeatureConfig = field(default_factory=WarningFeatureConfig)
    model: WarningConfig = field(default_factory=WarningConfig)
    label_kinds: frozenset[RecordKind] = PENALTY_KINDS
    horizon_months: int = 12
    step_months: int = 3
    train_cutoffs: int = 5
    warmup_months: int = 12
    valid_fraction: float = 0.2
    top_k: tuple[int, ...] = TOP_K
    monotone: bool = True
    ablation: bool = True
    model_name: str = WARNING_MODEL_NAME

    def __post_init__(self) -> None:
        for name, cls in (("features", WarningFeatureConfig), ("model", WarningConfig)):
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise TypeError(f"{name} must be a {cls.__name__}; got {type(value).__name__}")
        put = object.__setattr__
        put(self, "label_kinds", check_label_kinds(self.label_kinds))
        put(self, "horizon_months", check_int("horizon_months", self.horizon_months, 1, 60))
        put(self, "step_months", check_int("step_months", self.step_months, 1, 24))
        put(self, "train_cutoffs", check_int("train_cutoffs", self.train_cutoffs, 1, 40))
        put(self, "warmup_months", check_int("warmup_months", self.warmup_months, 0, 120))
        put(
            self,
            "valid_fraction",
            check_real("valid_fraction", self.valid_fraction, 0.0, 0.5, open_low=True),
        )
        top_k = self.top_k
        if isinstance(top_k, str) or not isinstance(top_k, Sequence):
            raise TypeError(f"top_k must be a sequence of ints; got {type(top_k).__name__}")
        ks = tuple(check_int("top_k[]", k, 1) for k in top_k)
        if not ks or len(set(ks)) != len(ks):
            raise ValueError(f"top_k must be distinct and non-empty; got {top_k!r}")
        put(self, "top_k", tuple(sorted(ks)))
        check_bool("monotone", self.monotone)
        check_bool("ablation", self.ablation)
        check_str("model_name", self.model_name)

    def to_params(self) -> dict[str, Any]:
        """Flat parameters for MLflow (``model.num_leaves``, ``features.graph``, …)."""
        params = flat_params(
            {
                "features": self.features.to_dict(),
                "model": self.model.to_dict(),
            }
        )
        params["label_kinds"] = ",".join(sorted(k.value for k in self.label_kinds))
        for name in (
            "horizon_months",
            "step_months",
            "train_cutoffs",
            "warmup_months",
            "valid_fraction",
            "monotone",
            "ablation",
        ):
            params[name] = getattr(self, name)
        params["top_k"] = ",".join(str(k) for k in self.top_k)
        return params


@dataclass(frozen=True, eq=False)
class WarningResult:
    """What a training run produced.

    Attributes
    ----------
    model : WarningModel
        The fitted model on every feature (self + graph).
    self_only_model : WarningModel or None
        The ablation's model on the self features (``None`` without ablation).
    split : WarningSplit
    metrics : dict
        Flat metrics: ``test_auc``, ``test_precision_at_100``, ``rules_precision_at_100``,
        ``self_only_auc``, ``rules_flagged_precision``, … (see :func:`train_warning`).
    ablation : pandas.DataFrame
        One row per method on the test cutoff: ``method``, ``features``, ``auc``,
        ``precision_at_<k>``, ``recall_at_<k>``, ``flagged``, ``precision_flagged``,
        ``recall_flagged`` (for the models: of their top-|flagged|).
    tables : dict of str to DataFrame
        ``cutoffs``, ``ablation``, ``importance``, ``monotonicity``, ``rules_by_rule``
        (flagged, positives, precision, recall per rule) and ``top_warnings``.
    holdout : pandas.DataFrame
        The test rows: features, :data:`models.pd.LABEL`, ``uscc``, ``as_of``.
    scores : pandas.DataFrame
        The test rows' ``uscc``, ``label``, :data:`PROBABILITY`, ``p_self_only`` and the
        rules' ranking columns.
    model_card : str
        The markdown model card.
    run : LoggedRun or None
        Where MLflow logged and registered the model (``None`` without a tracking URI).
    timings : dict of str to float
        Seconds per step (``features``, ``fit``, ``rules``, ``log``, ``total``).
    """

    model: WarningModel
    self_only_model: WarningModel | None
    split: WarningSplit
    metrics: dict[str, float]
    ablation: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    holdout: pd.DataFrame
    scores: pd.DataFrame
    model_card: str
    run: LoggedRun | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _held_out_enterprises(uscc: npt.NDArray[np.object_], fraction: float, seed: int) -> np.ndarray:
    """Rows whose enterprise is among ``fraction`` of the enterprises drawn with ``seed``."""
    ids = np.unique(uscc.astype(str))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(ids, size=max(1, round(fraction * ids.size)), replace=False)
    return np.asarray(pd.Index(chosen).get_indexer(uscc.astype(str)) >= 0, dtype=bool)


def _check_sample(name: str, y: np.ndarray) -> None:
    if not y.size or y.sum() == 0 or y.sum() == y.size:
        raise TrainingDataError(
            f"the {name} sample must hold positives and negatives; got {y.size} rows with "
            f"{y.sum():.0f} positives"
        )


def _method_row(
    method: str,
    features: str,
    y: np.ndarray,
    score: np.ndarray,
    ks: Sequence[int],
    flagged: int,
    *,
    ranked: int | None = None,
) -> dict[str, Any]:
    m = ranking_metrics(y, score, ks, ranked=ranked)
    row: dict[str, Any] = {"method": method, "features": features, "auc": m["auc"]}
    for k in ks:
        row[f"precision_at_{k}"] = m[f"precision_at_{k}"]
    for k in ks:
        row[f"recall_at_{k}"] = m[f"recall_at_{k}"]
    row["flagged"] = float(flagged)
    if flagged:
        row["precision_flagged"] = precision_at_k(y, score, flagged)
        row["recall_flagged"] = recall_at_k(y, score, flagged)
    else:
        row["precision_flagged"] = row["recall_flagged"] = float("nan")
    return row


def _rules_by_rule(
    hits: Sequence[RuleHit], uscc: npt.NDArray[np.object_], y: np.ndarray
) -> pd.DataFrame:
    """Per rule: enterprises of the population it flags, and how many get a new violation."""
    index = pd.Index(uscc.astype(str))
    total = float(y.sum())
    rows = []
    for rule in Rule:
        flagged = {h.uscc for h in hits if h.rule == rule}
        member = index.isin(list(flagged))
        n = int(member.sum())
        positives = float(y[member].sum())
        rows.append(
            {
                "rule": rule.value,
                "flagged": n,
                "positives": positives,
                "precision": positives / n if n else float("nan"),
                "recall": positives / total if total else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _precision_figure(
    y: np.ndarray, scores: Mapping[str, tuple[np.ndarray, int | None]], top: int
) -> Figure:
    """Precision@k for k = 1 … top, one line per score (the rules stop at their flagged set)."""
    figure = Figure(figsize=(5.5, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, (score, ranked) in scores.items():
        order = np.argsort(-score, kind="stable")
        limit = min(top, y.size if ranked is None else ranked)
        if limit < 1:
            continue
        k = np.arange(1, limit + 1)
        axes.plot(k, np.cumsum(y[order[:limit]]) / k, label=name)
    axes.axhline(float(y.mean()), linestyle=":", color="grey", label="base rate")
    axes.set_xlabel("k (enterprises looked at, most urgent first)")
    axes.set_ylabel("precision@k")
    axes.set_title("new violation within 12 months (test cutoff)")
    axes.legend(loc="upper right")
    figure.tight_layout()
    return figure


def train_warning(
    source: PlatformData | Any,
    as_of: date | pd.Timestamp | str,
    tracking_uri: str | None = None,
    *,
    artifact_location: str | None = None,
    config: WarningTrainConfig | None = None,
    risk_config: RiskConfig | None = None,
    register: bool = True,
    run_name: str | None = None,
) -> WarningResult:
    """Train, evaluate against the rules, log and register the learned warning.

    Parameters
    ----------
    source
        A store engine, a mapping of contract frames, or a :class:`PlatformData`.
    as_of
        The data's as-of date *end*: the test cutoff is ``end − horizon``.
    tracking_uri
        MLflow tracking URI (e.g. from :func:`models.tracking.tracking_uris`); ``None``
        trains without logging.
    artifact_location
        Artifact root for a new experiment (``None``: MLflow's default).
    config
        Default ``WarningTrainConfig()``.
    risk_config
        The deployment's propagation and rule settings (the service's
        ``Settings.risk_config``): the own signal and linked risk of the features and the
        rules compared with. Default ``RiskConfig()``. Logged with the run.
    register
        Register the model as the ``challenger`` version (when logging).
    run_name
        MLflow run name (default ``warning-<as_of>``).

    Returns
    -------
    WarningResult
        Metrics (``test_*`` of the model, ``self_only_*``, ``rules_*``, ``valid_auc``,
        ``train_auc``, ``best_iteration``, ``psi_train_test``, ``monotonicity_violations``,
        ``rules_flagged``, ``rules_flagged_precision``, ``rules_flagged_recall``,
        ``model_precision_at_flagged``, ``model_recall_at_flagged``), the ablation table,
        the run.

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`WarningTrainConfig` or ``risk_config`` not a
        :class:`risk.config.RiskConfig`.
    TrainingDataError
        If there are no records, no training cutoff fits the history, or a sample lacks
        positives or negatives.
    """
    started = time.perf_counter()
    config = WarningTrainConfig() if config is None else config
    if not isinstance(config, WarningTrainConfig):
        raise TypeError(f"config must be a WarningTrainConfig; got {type(config).__name__}")
    risk_config = RiskConfig() if risk_config is None else risk_config
    if not isinstance(risk_config, RiskConfig):
        raise TypeError(f"risk_config must be a RiskConfig; got {type(risk_config).__name__}")
    data = PlatformData.from_source(source)
    t_end = as_of_timestamp(as_of)
    known = data.records["decided"][(data.records["decided"] <= t_end).to_numpy()]
    if known.empty:
        raise TrainingDataError(f"the platform must hold records decided by {t_end.date()}; got 0")
    earliest = _months_before(pd.Timestamp(known.min()), -config.warmup_months)
    split = warning_split(
        t_end,
        horizon_months=config.horizon_months,
        step_months=config.step_months,
        train_cutoffs=config.train_cutoffs,
        earliest=earliest,
    )
    timings: dict[str, float] = {}

    clock = time.perf_counter()
    population = warning_population(data, [*split.train, split.test])
    X_all = build_warning_features(
        data, population, config.features, propagation=risk_config.propagation
    )
    y_all = warning_labels(
        data, population, kinds=config.label_kinds, horizon_months=config.horizon_months
    )
    timings["features"] = time.perf_counter() - clock
    is_test = (population["as_of"] == split.test).to_numpy()
    held = _held_out_enterprises(
        population["uscc"].to_numpy()[~is_test], config.valid_fraction, config.model.seed
    )
    X_fit, y_fit = X_all[~is_test], y_all[~is_test]
    X_train, y_train = X_fit[~held], y_fit[~held]
    X_valid, y_valid = X_fit[held], y_fit[held]
    X_test, y_test = X_all[is_test], y_all[is_test]
    for name, labels in (("train", y_train), ("validation", y_valid), ("test", y_test)):
        _check_sample(name, labels)

    specs = warning_feature_specs(config.features)
    categorical = specs.categorical
    monotone = specs.monotone if config.monotone else None
    context = {
        "kind": "warning",
        "as_of": t_end.date().isoformat(),
        "feature_config": config.features.to_dict(),
        "risk_config": risk_config.to_dict(),
        "label_kinds": sorted(k.value for k in config.label_kinds),
        "horizon_months": config.horizon_months,
        "cutoffs_train": [c.date().isoformat() for c in split.train],
        "cutoff_test": split.test.date().isoformat(),
        "vocabulary": {"kind": dict(KIND_CODES), "industry": dict(INDUSTRY_CODES)},
    }
    clock = time.perf_counter()
    model = WarningModel(
        config.model, categorical=categorical, monotone=monotone, context=context
    ).fit(X_train, y_train, eval_set=(X_valid, y_valid))
    p_test = model.predict_violation(X_test)
    self_only: WarningModel | None = None
    p_self = np.full(len(X_test), np.nan)
    if config.ablation:
        own = specs.of_source("self").names
        self_only = WarningModel(
            config.model,
            categorical=[c for c in categorical if c in own],
            monotone=None if monotone is None else {c: monotone[c] for c in own},
            context={**context, "features": "self"},
        ).fit(X_train[own], y_train, eval_set=(X_valid[own], y_valid))
        p_self = self_only.predict_violation(X_test[own])
    timings["fit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    test_ids = population["uscc"].to_numpy()[is_test]
    hits = rule_hits(data, split.test, risk_config)
    ranking = rule_ranking(hits, test_ids)
    timings["rules"] = time.perf_counter() - clock
    flagged = int(ranking["flagged"].sum())
    rules_score = ranking["rules_score"].to_numpy()
    ks = config.top_k

    metrics: dict[str, float] = {}
    for key, value in ranking_metrics(y_test, p_test, ks).items():
        metrics[f"test_{key}"] = value
    metrics["train_auc"] = roc_auc(y_train, model.predict_violation(X_train))
    metrics["valid_auc"] = roc_auc(y_valid, model.predict_violation(X_valid))
    metrics["train_n"], metrics["train_positives"] = float(y_train.size), float(y_train.sum())
    metrics["valid_n"], metrics["valid_positives"] = float(y_valid.size), float(y_valid.sum())
    metrics["best_iteration"] = float(model.best_iteration_)
    metrics["psi_train_test"] = psi(model.predict_violation(X_fit), p_test)
    for key, value in ranking_metrics(y_test, rules_score, ks, ranked=flagged).items():
        if key in ("auc",) or key.startswith(("precision_at_", "recall_at_")):
            metrics[f"rules_{key}"] = value
    metrics["rules_flagged"] = float(flagged)
    metrics["rules_flagged_precision"] = (
        float(y_test[ranking["flagged"].to_numpy()].mean()) if flagged else float("nan")
    )
    metrics["rules_flagged_recall"] = (
        float(y_test[ranking["flagged"].to_numpy()].sum() / y_test.sum())
        if flagged
        else float("nan")
    )
    if flagged:
        metrics["model_precision_at_flagged"] = precision_at_k(y_test, p_test, flagged)
        metrics["model_recall_at_flagged"] = recall_at_k(y_test, p_test, flagged)
    if self_only is not None:
        for key, value in ranking_metrics(y_test, p_self, ks).items():
            if key == "auc" or key.startswith(("precision_at_", "recall_at_")):
                metrics[f"self_only_{key}"] = value
        metrics["self_only_best_iteration"] = float(self_only.best_iteration_)

    rows = [
        _method_row(
            "rules (any hit; level, rules, records)",
            "rules",
            y_test,
            rules_score,
            ks,
            flagged,
            ranked=flagged,
        )
    ]
    if self_only is not None:
        rows.append(_method_row("LightGBM", "self only", y_test, p_self, ks, flagged))
    rows.append(_method_row("LightGBM (registered)", "self + graph", y_test, p_test, ks, flagged))
    ablation = pd.DataFrame(rows)

    holdout = X_test.assign(
        **{LABEL: y_test, RULES_FLAGGED: ranking["flagged"].to_numpy(dtype=bool)},
        uscc=test_ids,
        as_of=population["as_of"].to_numpy()[is_test],
    ).reset_index(drop=True)
    monotonicity = model.monotonicity_report(holdout)
    metrics["monotonicity_violations"] = float(monotonicity["violations"].sum())
    scores = pd.DataFrame(
        {
            "uscc": test_ids,
            "label": y_test,
            PROBABILITY: p_test,
            "p_self_only": p_self,
            "rules_level": ranking["level"].to_numpy(),
            "rules_rank": ranking["rank"].to_numpy(),
            "n_rules": ranking["n_rules"].to_numpy(),
        }
    )
    top = scores.sort_values(PROBABILITY, ascending=False, kind="stable").head(max(ks))
    cutoffs = split.to_frame()
    per_cutoff = pd.DataFrame({"as_of": population["as_of"].dt.date, "label": y_all})
    counts = per_cutoff.groupby("as_of")["label"].agg(["size", "sum"])
    cutoffs["enterprises"] = counts["size"].reindex(cutoffs["cutoff"]).to_numpy()
    cutoffs["positives"] = counts["sum"].reindex(cutoffs["cutoff"]).to_numpy()
    tables = {
        "cutoffs": cutoffs,
        "ablation": ablation,
        "importance": model.feature_importance().assign(
            source=lambda f: f["feature"].map({s.name: s.source for s in specs})
        ),
        "monotonicity": monotonicity,
        "rules_by_rule": _rules_by_rule(hits, test_ids, y_test),
        "top_warnings": top.reset_index(drop=True),
    }
    card = _model_card(t_end, config, split, tables, metrics, model)

    run = None
    if tracking_uri is not None:
        clock = time.perf_counter()
        figures = {
            "roc": roc_figure(
                {
                    "model (self + graph)": (y_test, p_test),
                    **({"model (self only)": (y_test, p_self)} if self_only is not None else {}),
                    "rules": (y_test, rules_score),
                }
            ),
            "precision_at_k": _precision_figure(
                y_test,
                {
                    "model (self + graph)": (p_test, None),
                    **({"model (self only)": (p_self, None)} if self_only is not None else {}),
                    "rules": (rules_score, flagged),
                },
                max(500, max(ks)),
            ),
            "importance": importance_figure(tables["importance"]),
        }
        params = {
            **config.to_params(),
            "as_of": t_end.date().isoformat(),
            "cutoffs_train": ",".join(c.date().isoformat() for c in split.train),
            "cutoff_test": split.test.date().isoformat(),
        }
        run = log_model_run(
            ModelRun(
                experiment=config.model_name,
                registered_name=config.model_name if register else None,
                estimator=model,
                risk_config=risk_config,
                input_example=holdout[model.feature_names_].head(5),
                holdout=holdout,
                run_name=run_name or f"warning-{t_end.date().isoformat()}",
                params=params,
                metrics=metrics,
                tables=tables,
                figures=figures,
                texts={"model_card.md": card},
                dicts={
                    "features.json": {
                        "config": config.features.to_dict(),
                        "features": specs.to_records(),
                        "vocabulary": context["vocabulary"],
                    }
                },
                tags={"credlink.kind": "warning", "credlink.as_of": t_end.date().isoformat()},
                entry_point=ENTRY_POINT,
            ),
            tracking_uri,
            artifact_location,
        )
        timings["log"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - started
    return WarningResult(
        model=model,
        self_only_model=self_only,
        split=split,
        metrics=metrics,
        ablation=ablation,
        tables=tables,
        holdout=holdout,
        scores=scores,
        model_card=card,
        run=run,
        timings=timings,
    )


def _fmt(value: float, digits: int = 3) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _model_card(
    t: pd.Timestamp,
    config: WarningTrainConfig,
    split: WarningSplit,
    tables: Mapping[str, pd.DataFrame],
    metrics: Mapping[str, float],
    model: WarningModel,
) -> str:
    importance = tables["importance"]
    by_source = importance.groupby("source")["gain"].sum()
    share = by_source / max(float(by_source.sum()), 1e-12)
    top = ", ".join(importance["feature"].head(8))
    label_kinds = ", ".join(sorted(k.value for k in config.label_kinds))
    lines = [
        f"# Repeat-violator early warning model card ({config.model_name})",
        "",
        f"- **Trained as of**: {t.date()} · test cutoff {split.test.date()} · training "
        f"cutoffs {', '.join(str(c.date()) for c in split.train)}",
        "- **Intended use**: rank enterprises for the credit office's attention "
        "(屡禁不止、屡罚不改 预警) next to the county plans' rules; a warning is evidence for "
        "the responsible regulator, not a sanction. Not for pre-credit decisions.",
        f"- **Label**: 1 if a record of kind {label_kinds} about the enterprise is decided in "
        f"(t, t + {config.horizon_months} months]; a record decided on t is a feature.",
        "- **Population**: enterprises existing on the cutoff (founded, not closed).",
        "",
        "## Cutoffs",
        "",
        markdown_table(tables["cutoffs"]),
        "",
        f"Early stopping on {config.valid_fraction:.0%} of the enterprises held out of training "
        "(all their training cutoffs): quarterly cutoffs share label events, so a later cutoff "
        "of the same enterprises would reward memorising them.",
        "",
        "## Features",
        "",
        f"{len(model.feature_names_)} point-in-time features (`features.warning`); inactive "
        f"history {'on' if config.features.include_inactive_history else 'off'} (DESIGN.md §2 "
        f"policy flag); share of gain: self {share.get('self', 0.0):.0%}, graph "
        f"{share.get('graph', 0.0):.0%}. Largest: {top}. Kind and industry are fixed integer "
        f"codes (`features.json`). Monotone constraints: "
        f"{sum(1 for v in model.monotone_.values() if v > 0)} increasing.",
        "",
        "## Held-out year and the rules",
        "",
        f"Test: n = {metrics['test_n']:,.0f}, positives = {metrics['test_positives']:,.0f} "
        f"(base rate {_fmt(metrics['test_base_rate'])}); AUC {_fmt(metrics['test_auc'])}; "
        f"best iteration {model.best_iteration_}; PSI train → test "
        f"{_fmt(metrics['psi_train_test'])}; monotonicity violations "
        f"{metrics['monotonicity_violations']:.0f}.",
        "",
        markdown_table(tables["ablation"]),
        "",
        "Rules ranking: flagged enterprises (any rule on the test cutoff) by most urgent level, "
        "then rules hit, then records cited; precision@k is blank beyond the flagged set. "
        "`precision_flagged` / `recall_flagged` of a model are those of its top-|flagged|, the "
        "rules' workload.",
        "",
        "### The rules one by one (test cutoff)",
        "",
        markdown_table(tables["rules_by_rule"]),
        "",
        "## Limitations",
        "",
        "- Records are dated by decision; a record ingested late would have been unknown on its "
        "decision date. The contract keeps no ingest date, so the backtest assumes none is late.",
        "- Kind, industry and registered capital are the stored values, without history.",
        "- Few positives per cutoff make precision@k noisy; compare versions on the same "
        "held-out year (the promotion gate does).",
        "- Loading the registered model needs the credlink packages (risk, features, models).",
    ]
    return "\n".join(lines) + "\n"
