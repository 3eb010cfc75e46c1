"""Evaluation folds, a LightGBM search over them, and the refit that carries the tree count.

What a bank's table is judged on (:class:`Folds`)
    Without a date, stratified K-fold cross-validation of the development rows
    (:func:`cv_folds`, ``TrainConfig.cv_folds``); with a date, one out-of-time fold
    (:func:`time_folds`): fit on the oldest period, score the later validation and calibration
    periods. The test period is never in a fold. Every candidate model is scored on the same
    folds, so their AUCs compare like with like.

LightGBM inside a fold (:func:`cross_fit_lightgbm`)
    Early stopping happens *inside* the fold: a stratified 15 % of the fold's fitting rows
    stops the boosting, the fold's scored rows only score. So every fold's fitting rows must
    hold at least 2 bads and 2 goods (one of each for the stopping rows, one for the fit),
    checked before any model is fitted (:func:`check_fitting_rows`). Each fold records its best
    iteration; :attr:`FoldScores.n_trees` (their rounded mean) is the tree count a refit uses.

The search (:func:`tune_lightgbm`)
    Optuna's TPE sampler maximises the folds' mean AUC. Trial 0 is LightGBM's own defaults
    (31 leaves, learning rate 0.1, 20 rows per leaf, no subsampling, no L2), enqueued, so the
    tuned model is never worse on the folds than the default one — which is the default
    candidate itself, not a second fit.

The refit (:class:`CrossFittedPD`)
    After model selection the chosen LightGBM is refitted on every development row with the
    carried tree count and no early stopping, and calibrated on the fold models' out-of-fold
    scores (cross-fitted calibration): no row calibrates a model that learned from it. Its
    fitted grades are cut on the same calibrated out-of-fold scores. It saves and loads as a
    :class:`models.pd.PDModel`.

References
----------
.. [1] Akiba, T. et al. (2019). Optuna: a next-generation hyperparameter optimization
   framework. *KDD '19*, 2623–2631.
.. [2] Bergstra, J. et al. (2011). Algorithms for hyper-parameter optimization. *NeurIPS 24*.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from models.booster import binary_labels
from models.exceptions import TrainingDataError
from models.metrics import roc_auc
from models.pd import PDConfig, PDModel
from risk.validation import check_int

__all__ = [
    "LIGHTGBM_DEFAULTS",
    "CrossFittedPD",
    "FoldScores",
    "Folds",
    "Tuning",
    "check_fitting_rows",
    "cross_fit",
    "cross_fit_lightgbm",
    "cv_folds",
    "time_folds",
    "tune_lightgbm",
]

LIGHTGBM_DEFAULTS: Mapping[str, Any] = {
    "num_leaves": 31,
    "learning_rate": 0.1,
    "min_child_samples": 20,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "lambda_l2": 0.0,
}
"""LightGBM's own defaults of the searched parameters: the default candidate and trial 0."""

_EARLY_STOPPING_SHARE = 0.15
_MIN_FITTING_CLASS = 2
"""Fewest bads (and goods) a fold may fit on: the stratified early-stopping split needs two."""
_MIN_FITTING_ROWS = 7
"""Fewest fitting rows whose 15 % early-stopping share (rounded up) holds a bad and a good."""


@dataclass(frozen=True, eq=False)
class Folds:
    """The evaluation folds of the development rows.

    Attributes
    ----------
    name : str
        How the printout and the card name the evaluation: ``"5-fold CV"`` or
        ``"out-of-time"``.
    splits : tuple of (fit rows, scored rows)
        Positions into the development rows.
    """

    name: str
    splits: tuple[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]], ...]

    @property
    def scored(self) -> npt.NDArray[np.int64]:
        """The rows some fold scores (all of them in CV; the later periods out of time)."""
        return np.unique(np.concatenate([scored for _, scored in self.splits]))


def cv_folds(y: npt.ArrayLike, folds: int, seed: int = 0) -> Folds:
    """Stratified K-fold cross-validation folds.

    Raises
    ------
    TrainingDataError
        If there are fewer bads or goods than folds, or a fold's fitting rows are too few to
        fit on (:func:`check_fitting_rows`).
    """
    labels = np.asarray(y, dtype=np.float64)
    k = check_int("folds", folds, 2, 20)
    bads = int(labels.sum())
    if min(bads, labels.size - bads) < k:
        raise TrainingDataError(
            f"{k}-fold CV must have at least {k} goods and {k} bads; got {labels.size} rows "
            f"with {bads} bads: lower --folds or bring more loans"
        )
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    splits = tuple(
        (fit.astype(np.int64), scored.astype(np.int64))
        for fit, scored in splitter.split(np.zeros(labels.size), labels)
    )
    evaluation = Folds(f"{k}-fold CV", splits)
    check_fitting_rows(evaluation, labels)
    return evaluation


def time_folds(periods: npt.ArrayLike) -> Folds:
    """One out-of-time fold: fit on the ``train`` period, score ``valid`` and ``calibration``.

    Parameters
    ----------
    periods
        Each development row's slice (:func:`models.splits.time_split`, test rows left out).
    """
    labels = np.asarray(periods, dtype=object)
    fit = np.flatnonzero(labels == "train")
    scored = np.flatnonzero(np.isin(labels, ["valid", "calibration"]))
    return Folds("out-of-time", ((fit, scored),))


def check_fitting_rows(folds: Folds, y: npt.ArrayLike) -> None:
    """Refuse folds whose fitting rows cannot be split for early stopping.

    Each fold's fitting rows must hold at least 2 bads, 2 goods and 7 rows: LightGBM stops
    early on a stratified 15 % of them, which needs a bad and a good on each side.

    Raises
    ------
    TrainingDataError
        Naming the first such fold, its rows and bads, and what to do.
    """
    labels = np.asarray(y, dtype=np.float64)
    out_of_time = folds.name == "out-of-time"
    for number, (fit, _) in enumerate(folds.splits, start=1):
        rows = int(fit.size)
        bads = int(labels[fit].sum())
        if min(bads, rows - bads) >= _MIN_FITTING_CLASS and rows >= _MIN_FITTING_ROWS:
            continue
        where = (
            "the out-of-time train period has"
            if out_of_time
            else f"fold {number} of the {folds.name} fits on"
        )
        todo = (
            "bring more loans in the oldest period, or train without --date (cross-validation)"
            if out_of_time
            else "lower --folds or bring more loans"
        )
        raise TrainingDataError(
            f"{where} {rows} rows with {bads} bads; each fold's fitting rows must have at "
            f"least {_MIN_FITTING_CLASS} bads, {_MIN_FITTING_CLASS} goods and "
            f"{_MIN_FITTING_ROWS} rows to stop LightGBM early: {todo}"
        )


@dataclass(frozen=True, eq=False)
class FoldScores:
    """One candidate's out-of-fold scores on :class:`Folds`.

    Attributes
    ----------
    name : str
        ``scorecard``, ``default LightGBM`` or ``tuned LightGBM``.
    probability, raw : numpy.ndarray
        Each development row's out-of-fold probability and log-odds (NaN where no fold
        scores it).
    aucs : tuple of float
        Each fold's AUC.
    best_iterations : tuple of int
        Each fold's early-stopped tree count (empty for the scorecard).
    params : dict
        The candidate's parameters.
    """

    name: str
    probability: npt.NDArray[np.float64]
    raw: npt.NDArray[np.float64]
    aucs: tuple[float, ...]
    best_iterations: tuple[int, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def auc(self) -> float:
        """The folds' mean AUC: what selects the model."""
        return float(np.mean(self.aucs))

    @property
    def auc_std(self) -> float:
        """The folds' AUC standard deviation (0 with one fold)."""
        return float(np.std(self.aucs))

    @property
    def n_trees(self) -> int:
        """The tree count a refit uses: the folds' mean best iteration, rounded (≥ 1)."""
        if not self.best_iterations:
            raise ValueError(f"{self.name} has no tree count: it is not a LightGBM")
        return max(1, round(float(np.mean(self.best_iterations))))

    @property
    def tree_count(self) -> int:
        """:attr:`n_trees` for a LightGBM, 0 for a candidate without trees (what is reported)."""
        return self.n_trees if self.best_iterations else 0


def cross_fit(
    name: str,
    fit_fold: Callable[[npt.NDArray[np.int64]], tuple[Any, int | None]],
    X: pd.DataFrame,
    y: npt.NDArray[np.float64],
    folds: Folds,
    params: Mapping[str, Any] | None = None,
) -> FoldScores:
    """Score every fold's rows with a model fitted on its other rows.

    ``fit_fold(fit_rows)`` returns the fitted model (with ``raw_score`` and
    ``predict_probability``) and its best iteration (``None`` for a scorecard).

    Raises
    ------
    TrainingDataError
        If a fold's fitting rows are too few to fit on (:func:`check_fitting_rows`), before
        any fold is fitted.
    """
    check_fitting_rows(folds, y)
    probability = np.full(len(X), np.nan)
    raw = np.full(len(X), np.nan)
    aucs, iterations = [], []
    for fit, scored in folds.splits:
        model, best = fit_fold(fit)
        rows = X.iloc[scored]
        raw[scored] = model.raw_score(rows)
        probability[scored] = model.predict_probability(rows)
        aucs.append(roc_auc(y[scored], probability[scored]))
        if best is not None:
            iterations.append(int(best))
    return FoldScores(name, probability, raw, tuple(aucs), tuple(iterations), dict(params or {}))


def cross_fit_lightgbm(
    name: str,
    config: PDConfig,
    X: pd.DataFrame,
    y: npt.NDArray[np.float64],
    folds: Folds,
    *,
    monotone: Mapping[str, int] | None = None,
    categorical: Sequence[str] | None = None,
    seed: int = 0,
) -> FoldScores:
    """:func:`cross_fit` of a :class:`PDModel` stopping early inside each fold (module
    docstring)."""

    def fit_fold(fit: npt.NDArray[np.int64]) -> tuple[PDModel, int]:
        inner, stop = train_test_split(
            fit, test_size=_EARLY_STOPPING_SHARE, stratify=y[fit], random_state=seed
        )
        model = PDModel(config, monotone=monotone, categorical=categorical)
        model.fit(X.iloc[inner], y[inner], eval_set=(X.iloc[stop], y[stop]))
        return model, model.best_iteration_

    searched = {k: getattr(config, k) for k in LIGHTGBM_DEFAULTS}
    return cross_fit(name, fit_fold, X, y, folds, searched)


def _trial_config(base: PDConfig, trial: Any) -> PDConfig:
    return replace(
        base,
        num_leaves=trial.suggest_int("num_leaves", 4, 64, log=True),
        learning_rate=trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        min_child_samples=trial.suggest_int("min_child_samples", 5, 300, log=True),
        feature_fraction=trial.suggest_float("feature_fraction", 0.4, 1.0),
        bagging_fraction=trial.suggest_float("bagging_fraction", 0.4, 1.0),
        lambda_l2=trial.suggest_float("lambda_l2", 0.0, 20.0),
    )


@dataclass(frozen=True, eq=False)
class Tuning:
    """What :func:`tune_lightgbm` found.

    Attributes
    ----------
    default, tuned : FoldScores
        Trial 0 (LightGBM's defaults) and the best trial (the default when nothing beat it).
    config : PDConfig
        The tuned candidate's configuration.
    trials : pandas.DataFrame
        One row per trial: ``trial``, ``auc`` and the parameters.
    """

    default: FoldScores
    tuned: FoldScores
    config: PDConfig
    trials: pd.DataFrame


def tune_lightgbm(
    base: PDConfig,
    X: pd.DataFrame,
    y: npt.NDArray[np.float64],
    folds: Folds,
    *,
    trials: int = 30,
    monotone: Mapping[str, int] | None = None,
    categorical: Sequence[str] | None = None,
    seed: int = 0,
) -> Tuning:
    """Search LightGBM's parameters with Optuna's TPE sampler on ``folds`` (module docstring).

    Parameters
    ----------
    base
        Everything not searched (rounds cap, early stopping, calibration, grades, threads).
    X, y
        The development rows.
    folds
        The evaluation folds.
    trials
        Trials including trial 0 (LightGBM's defaults), in [1, 1000].
    monotone, categorical
        As for :class:`PDModel`.
    seed
        Seed of the sampler and of the early-stopping splits.
    """
    import optuna  # loaded only when a table is tuned

    n_trials = check_int("trials", trials, 1, 1000)
    found: dict[int, tuple[FoldScores, PDConfig]] = {}

    def objective(trial: optuna.Trial) -> float:
        config = _trial_config(base, trial)
        name = "default LightGBM" if trial.number == 0 else "tuned LightGBM"
        scores = cross_fit_lightgbm(
            name, config, X, y, folds, monotone=monotone, categorical=categorical, seed=seed
        )
        best = max(found, key=lambda n: found[n][0].auc, default=None)
        if trial.number == 0 or best is None or scores.auc > found[best][0].auc:
            found[trial.number] = (scores, config)  # keep trial 0 and the best so far only
            for number in [n for n in found if n not in (0, trial.number)]:
                del found[number]
        return scores.auc

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.enqueue_trial(dict(LIGHTGBM_DEFAULTS))
        study.optimize(objective, n_trials=n_trials)
    finally:
        optuna.logging.set_verbosity(verbosity)
    best_number = max(found, key=lambda n: (found[n][0].auc, -n))
    default = found[0][0]
    tuned, config = found[best_number]
    tuned = replace(tuned, name="tuned LightGBM")
    frame = study.trials_dataframe(attrs=("number", "value", "params"))
    frame.columns = [str(c).removeprefix("params_") for c in frame.columns]
    trials_table = frame.rename(columns={"number": "trial", "value": "auc"})
    return Tuning(default=default, tuned=tuned, config=config, trials=trials_table)


class CrossFittedPD(PDModel):
    """A :class:`PDModel` refitted with a carried tree count, calibrated cross-fitted.

    :meth:`fit` grows exactly ``n_trees`` trees on all its rows (no early stopping: the count
    comes from the folds) and calibrates on out-of-fold scores; its fitted grades
    (:meth:`models.pd.GradedPD.fit_grades`), master-scale table and score reference come from
    those out-of-sample scores too. Saved, it is a plain
    :class:`PDModel` (same files), and loads as one.
    """

    def fit(  # type: ignore[override]  # a carried tree count instead of an eval_set
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        *,
        n_trees: int,
        out_of_fold: tuple[npt.ArrayLike, npt.ArrayLike],
    ) -> Self:
        """Grow ``n_trees`` trees on ``X``; calibrate on ``out_of_fold`` (raw scores, outcomes).

        Raises
        ------
        ValueError
            If ``n_trees`` is not in [1, 100000] or the out-of-fold sample is malformed.
        TrainingDataError
            If a sample lacks goods or bads.
        """
        config = PDConfig() if self.config is None else self.config
        if not isinstance(config, PDConfig):
            raise TypeError(f"config must be a PDConfig; got {type(config).__name__}")
        trees = check_int("n_trees", n_trees, 1, 100_000)
        raw, outcomes = (np.asarray(v, dtype=np.float64) for v in out_of_fold)
        labels = binary_labels("out_of_fold outcomes", outcomes, raw.size)
        if not np.isfinite(raw).all():
            raise ValueError("out_of_fold scores must be finite; got NaN or infinite values")
        if not 0 < labels.sum() < labels.size:
            raise TrainingDataError("the out-of-fold sample must hold goods and bads")
        self.config = replace(config, max_rounds=trees)
        try:
            self._fit_booster(X, y, None)
        finally:
            self.config = config
        self.config_ = config
        self._calibrate(raw, labels)
        return self
