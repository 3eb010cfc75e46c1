"""A bank's own table, modelled as a credit modeller would: three candidates, one choice.

:func:`train_table` takes an arbitrary table (numeric and categorical columns, missing values)
with a 0/1 target and, in one call:

1. sets the **test** rows aside: the newest period when the table has a date column
   (:func:`models.splits.time_split`), else a stratified random share;
2. fits three candidates on the **same evaluation folds** of the other (development) rows
   (:mod:`models.tuning`): 5-fold CV without a date, out of time with one —

   - a WOE-binned logistic **scorecard** (:class:`models.scorecard.Scorecard`, optbinning),
   - a **default LightGBM** (LightGBM's own parameters, early stopping inside each fold),
   - a **tuned LightGBM** (Optuna TPE search, the defaults enqueued as trial 0);

3. **chooses** the candidate with the highest evaluation AUC (ties go to the simpler one), so
   the evaluation AUC of the choice is never below the scorecard's nor the default
   LightGBM's of the run;
4. **refits** the choice on every development row — the LightGBM with the tree count carried
   from early stopping and cross-fitted calibration (:class:`models.tuning.CrossFittedPD`) —,
   cuts its fitted grades on the out-of-fold PDs (:func:`models.pd.fit_grade_cuts`, the
   platform PD's rule: few grades, each with enough bads, bad rates rising) and scores the
   test rows with it; with ``refit_all`` the registered model is refitted once
   more on every row, test included, for production;
5. refits the two other candidates the same way and scores the test rows with them too: the
   evaluation AUC chose the model, so the chosen one's is biased upwards (the best of some 30
   fits on the same folds); each candidate's **test AUC** (``test_auc`` of its child run,
   ``<candidate>_test_auc``) is on rows none of them was chosen or fitted on;
6. logs a parent MLflow run (the chosen model, registered as ``challenger``, its card, tables
   and the holdout) with one child run per candidate (:func:`models.tracking.log_summary_run`).

The score stability reported (``psi_score_oos_test``) compares out-of-sample scores — the
out-of-fold ones — with the test scores, never in-sample training scores with test scores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import train_test_split

from features.encoding import categorical_columns
from models.booster import LABEL
from models.cards import table_card
from models.exceptions import TrainingDataError
from models.metrics import (
    PSIReference,
    binary_metrics,
    calibration_table,
    roc_auc,
    segment_metrics,
)
from models.pd import PDConfig, PDModel
from models.scorecard import Scorecard
from models.splits import check_slices, splits_table, time_split
from models.tracking import (
    LoggedRun,
    ModelRun,
    calibration_figure,
    importance_figure,
    log_model_run,
    log_summary_run,
    roc_figure,
)
from models.training import TrainConfig
from models.tuning import (
    LIGHTGBM_DEFAULTS,
    CrossFittedPD,
    Folds,
    FoldScores,
    cross_fit,
    cv_folds,
    time_folds,
    tune_lightgbm,
)
from risk.frames import require_frame
from risk.identifiers import mask_id_numbers
from risk.validation import check_int, check_str

__all__ = ["TableConfig", "TableResult", "numeric_text", "train_table"]

CANDIDATES = ("scorecard", "default LightGBM", "tuned LightGBM")
"""The candidates, simplest first: a tie in evaluation AUC goes to the earlier one."""


@dataclass(frozen=True)
class TableConfig:
    """How :func:`train_table` fits a bank's table (frozen, validated on construction).

    Parameters
    ----------
    train
        The test share and the other split fractions, ``cv_folds`` (the folds of the CV
        without a date), the seed and the PD settings kept by every LightGBM (calibration,
        grades, threads) (default ``TrainConfig()``).
    trials
        Optuna trials of the tuned LightGBM, trial 0 the defaults, in [1, 1000] (default 30).
    max_rounds
        Most boosting rounds of every LightGBM fit, in [10, 100000] (default 2000).
    early_stopping_rounds
        Rounds without a better log loss that stop a fold's boosting, ≥ 1 (default 50).
    scorecard_bins
        Most bins per feature of the scorecard, in [2, 20] (default 6).
    refit_all
        Register a model refitted on every row, the test rows included (production);
        the reported test figures stay those of the refit without them (default ``False``).

    Raises
    ------
    TypeError, ValueError
        On a wrong type or a value out of range.
    """

    train: TrainConfig = field(default_factory=TrainConfig)
    trials: int = 30
    max_rounds: int = 2000
    early_stopping_rounds: int = 50
    scorecard_bins: int = 6
    refit_all: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"train must be a TrainConfig; got {type(self.train).__name__}")
        put = object.__setattr__
        put(self, "trials", check_int("trials", self.trials, 1, 1000))
        put(self, "max_rounds", check_int("max_rounds", self.max_rounds, 10, 100_000))
        put(
            self,
            "early_stopping_rounds",
            check_int("early_stopping_rounds", self.early_stopping_rounds, 1),
        )
        put(self, "scorecard_bins", check_int("scorecard_bins", self.scorecard_bins, 2, 20))
        if not isinstance(self.refit_all, bool):
            raise TypeError(f"refit_all must be a bool; got {type(self.refit_all).__name__}")


@dataclass(frozen=True, eq=False)
class TableResult:
    """What :func:`train_table` produced.

    Attributes
    ----------
    model : PDModel or Scorecard
        The registered model: the chosen candidate refitted (on every row with
        ``refit_all``).
    chosen : str
        ``scorecard``, ``default LightGBM`` or ``tuned LightGBM``.
    evaluation : str
        ``"5-fold CV"`` (any K) or ``"out-of-time"``.
    candidates : pandas.DataFrame
        ``candidate``, ``auc``, ``auc_std`` (the evaluation AUC over the folds, used for
        selection), ``test_auc`` (the candidate refitted as the choice is, on the test rows),
        ``n_trees`` (LightGBM's carried tree count; 0 for the scorecard), ``chosen``.
    metrics : dict
        ``evaluation_auc`` (the chosen's, selection-biased), ``<candidate>_auc``,
        ``<candidate>_test_auc``, ``test_*`` of the refit on the development rows,
        ``psi_score_oos_test``, ``n_trees``, ``monotonicity_violations``,
        ``registered_rows`` (the rows the registered model learned from).
    tables : dict of str to DataFrame
        ``candidates``, ``trials``, ``splits``, ``calibration``, ``segments``, ``grades``
        (the fitted grades with the test outcomes, :meth:`models.pd.GradedPD.grade_outcomes`),
        ``importance``, ``monotonicity`` and, when the scorecard is chosen, ``scorecard``
        (:meth:`models.scorecard.Scorecard.points_table`).
    model_card : str
    holdout : pandas.DataFrame
        The test rows: features, :data:`models.booster.LABEL`, id and date, and ``pd``.
    run : LoggedRun or None
        The parent MLflow run and registered version (``None`` without a tracking URI).
    candidate_runs : dict of str to str
        Each candidate's child run id.
    fold_scores : dict of str to FoldScores
        Each candidate's out-of-fold scores of the development rows.
    configs : dict of str to PDConfig
        The default and the tuned LightGBM's configurations.
    """

    model: PDModel | Scorecard
    chosen: str
    evaluation: str
    candidates: pd.DataFrame
    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame]
    model_card: str
    holdout: pd.DataFrame
    run: LoggedRun | None = None
    candidate_runs: dict[str, str] = field(default_factory=dict)
    fold_scores: dict[str, FoldScores] = field(default_factory=dict)
    configs: dict[str, PDConfig] = field(default_factory=dict)


def _binary_target(frame: pd.DataFrame, target: str) -> npt.NDArray[np.float64]:
    values = frame[target]
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not numbers.isin([0, 1]).all():
        seen = ", ".join(repr(mask_id_numbers(str(v))) for v in values.drop_duplicates()[:5])
        raise TrainingDataError(
            f"target {target!r} must hold only 0/1 (1 = bad: default or 90+ days overdue) or "
            f"booleans; got {seen}: map the labels to 0/1 first"
        )
    return numbers.to_numpy(dtype=np.float64)


_MARKS = re.compile(r"[¥$€£,%元]")
_AMOUNT = re.compile(r"^\s*[-+]?\s*[¥$€£]?\s*[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*(%|元)?\s*$")


def numeric_text(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Text columns whose every value is a number written as text (``"$60,000.00"``,
    ``"¥1,200"``, ``"12.5%"``, ``"3,000元"``) as numbers; the frame and the columns converted.

    Currency symbols, thousands separators and units are dropped, a percentage is divided by
    100 (so ``"12.5%"`` is 0.125); a column with any other value, or of bare digits only (a
    code), stays text (a category).
    Without this, money written as text would silently become categories.
    """
    out = frame.copy()
    converted = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        present = values.dropna().astype(str)
        if present.empty or not present.str.match(_AMOUNT).all():
            continue
        if not present.str.contains(_MARKS).any():
            continue  # bare digits kept as text are codes (行业代码 0101), not amounts
        percent = present.str.contains("%", regex=False)
        digits = present.str.replace(r"[^0-9.+-]", "", regex=True)
        numbers = pd.to_numeric(digits, errors="coerce")
        if numbers.isna().any():
            continue
        numbers = numbers.where(~percent, numbers / 100)
        out[column] = numbers.reindex(values.index).astype("float64")
        converted.append(str(column))
    return out, converted


def train_table(
    frame: pd.DataFrame,
    target: str,
    id_col: str | None = None,
    date_col: str | None = None,
    *,
    tracking_uri: str | None = None,
    artifact_location: str | None = None,
    registry_uri: str | None = None,
    model_name: str = "credlink-table",
    config: TableConfig | None = None,
    monotone: Mapping[str, int] | None = None,
    register: bool = False,
    run_name: str | None = None,
) -> TableResult:
    """Fit a scorecard, a default and a tuned LightGBM on a bank's table; keep the best
    (module docstring).

    Parameters
    ----------
    frame
        One row per loan: numeric and categorical (string) columns, missing values allowed.
    target
        The outcome column (0/1 or bool; 1 = bad). Rows with a missing target are dropped.
    id_col
        An identifier column, kept in the holdout but not used as a feature.
    date_col
        A date column: the newest period is the test, the evaluation is out of time.
        Without it: a stratified random test split and ``cv_folds``-fold CV on the rest.
    tracking_uri, artifact_location, registry_uri
        MLflow destination (``None``: no logging; the registry: the tracking URI).
    model_name
        Experiment and registered model name.
    config
        Default ``TableConfig()``.
    monotone
        Optional feature → +1 / −1 constraints, kept by every candidate.
    register
        Register the chosen model (alias ``challenger``) under ``model_name``.
    run_name
        The parent MLflow run's name (default ``table-<target>``).

    Returns
    -------
    TableResult

    Raises
    ------
    InvalidFrameError
        If ``target``, ``id_col`` or ``date_col`` is not a column.
    TypeError
        If ``config`` is not a :class:`TableConfig`.
    TrainingDataError
        If the target is not binary, no feature column is left, the dates are unreadable, or
        a period or fold lacks goods or bads.
    """
    config = TableConfig() if config is None else config
    if not isinstance(config, TableConfig):
        raise TypeError(f"config must be a TableConfig; got {type(config).__name__}")
    train = config.train
    check_str("model_name", model_name)
    named = [c for c in (target, id_col, date_col) if c is not None]
    require_frame(frame, "frame", named)
    rows = frame[frame[target].notna().to_numpy()].reset_index(drop=True)
    y = _binary_target(rows, target)
    features = [c for c in rows.columns if c not in named]
    if not features:
        raise TrainingDataError(
            "frame must have at least one feature column besides target, id and date"
        )
    X, _ = numeric_text(rows[features])
    categorical = categorical_columns(X)
    for column in categorical:
        X[column] = X[column].astype(object).where(X[column].notna(), None)

    dates = pd.Series(pd.NaT, index=rows.index)
    if date_col is not None:
        dates = pd.to_datetime(rows[date_col], errors="coerce", format="mixed")
        if dates.isna().any():
            raise TrainingDataError(
                f"date column {date_col!r} must hold dates; got missing or unreadable values"
            )
        labels = time_split(
            dates, train.valid_fraction, train.calibration_fraction, train.test_fraction
        )
        check_slices(labels, y, ["train", "valid", "test"])
        development = labels != "test"
        folds = time_folds(labels[development])
        check_slices(
            np.where(np.isin(labels, ["valid", "calibration"]), "scored", ""), y, ["scored"]
        )
    else:
        labels = _random_split(y, train.test_fraction, train.seed)
        check_slices(labels, y, ["train", "test"])
        development = labels != "test"
        folds = cv_folds(y[development], train.cv_folds, train.seed)
    X_dev, y_dev = X[development].reset_index(drop=True), y[development]

    base = replace(
        train.pd,
        max_rounds=config.max_rounds,
        early_stopping_rounds=config.early_stopping_rounds,
    )

    def fit_scorecard(fit: npt.NDArray[np.int64]) -> tuple[Scorecard, None]:
        card = _scorecard(config, monotone, categorical)
        return card.fit(X_dev.iloc[fit], y_dev[fit]), None

    scorecard = cross_fit(
        "scorecard", fit_scorecard, X_dev, y_dev, folds, {"max_n_bins": config.scorecard_bins}
    )
    tuning = tune_lightgbm(
        base,
        X_dev,
        y_dev,
        folds,
        trials=config.trials,
        monotone=monotone,
        categorical=categorical,
        seed=train.seed,
    )
    scores = {s.name: s for s in (scorecard, tuning.default, tuning.tuned)}
    chosen = max(CANDIDATES, key=lambda name: (scores[name].auc, -CANDIDATES.index(name)))
    candidates = _candidates_table(scores, chosen)
    winner = scores[chosen]
    configs = {
        "default LightGBM": replace(base, **LIGHTGBM_DEFAULTS),
        "tuned LightGBM": tuning.config,
    }

    def refit(name: str, X_fit: pd.DataFrame, y_fit: np.ndarray) -> PDModel | Scorecard:
        context = {"kind": "table", "candidate": name, "evaluation": folds.name}
        return _refit(
            name, scores[name], folds, X_fit, y_fit, y_dev, config,
            configs.get(name, base), monotone, categorical, context,
        )  # fmt: skip

    model = refit(chosen, X_dev, y_dev)
    test = ~development
    probability = model.predict_pd(X[test])
    # Every candidate refitted as the choice was, and scored on the test rows it never saw: the
    # evaluation AUC chose among them (selection-biased), the test AUC shows how each does.
    test_aucs = {
        name: roc_auc(
            y[test],
            probability if name == chosen else refit(name, X_dev, y_dev).predict_pd(X[test]),
        )
        for name in CANDIDATES
    }
    candidates.insert(3, "test_auc", [test_aucs[name] for name in CANDIDATES])
    metrics = _metrics(scores, chosen, winner, y[test], probability, model)
    metrics |= {f"{_slug(n)}_test_auc": test_aucs[n] for n in CANDIDATES}
    extra = {c: rows[c].to_numpy()[test] for c in (id_col, date_col) if c is not None}
    holdout = X[test].reset_index(drop=True).assign(**{LABEL: y[test]}, **extra)
    monotonicity = model.monotonicity_report(holdout)
    metrics["monotonicity_violations"] = float(monotonicity["violations"].sum())
    registered = refit(chosen, X, y) if config.refit_all else model
    metrics["registered_rows"] = float(len(X) if config.refit_all else len(X_dev))
    refit_text = (
        "on every development row (all but the test period), "
        + (
            f"{winner.n_trees} trees carried from early stopping; "
            if winner.best_iterations
            else ""
        )
        + (
            "the registered model refitted once more on every row, test included "
            "(production); the test figures are those of the refit without it"
            if config.refit_all
            else "the registered model is that refit"
        )
    )
    tables = {
        "candidates": candidates,
        "trials": tuning.trials,
        "splits": splits_table(labels, dates, y),
        "calibration": calibration_table(y[test], probability),
        "segments": segment_metrics(
            y[test], probability, {c: X.loc[test, c] for c in categorical[:3]}
        ),
        "grades": model.grade_outcomes(y[test], probability),
        "importance": model.feature_importance({}),
        "monotonicity": monotonicity,
    }
    if isinstance(model, Scorecard):
        tables["scorecard"] = model.points_table()
    card = table_card(
        model_name, target, id_col, date_col, rows, tables, metrics, model,
        chosen=chosen, evaluation=folds.name, refit=refit_text,
    )  # fmt: skip
    run = None
    candidate_runs: dict[str, str] = {}
    if tracking_uri is not None:
        run, candidate_runs = _log(
            registered, scores, tables, metrics, card, holdout, X[test], y[test], probability,
            model_name=model_name, target=target, id_col=id_col, date_col=date_col,
            rows=len(rows), features=len(features), chosen=chosen, evaluation=folds.name,
            config=config, register=register, run_name=run_name or f"table-{target}",
            tracking_uri=tracking_uri, artifact_location=artifact_location,
            registry_uri=registry_uri,
        )  # fmt: skip
    return TableResult(
        model=registered,
        chosen=chosen,
        evaluation=folds.name,
        candidates=candidates,
        metrics=metrics,
        tables=tables,
        model_card=card,
        holdout=holdout.assign(pd=probability),
        run=run,
        candidate_runs=candidate_runs,
        fold_scores=scores,
        configs=configs,
    )


def _random_split(y: np.ndarray, test_fraction: float, seed: int) -> npt.NDArray[np.object_]:
    """``train`` (development) or ``test`` per row, stratified by outcome."""
    bads = int(y.sum())
    if bads < 2 or y.size - bads < 2:
        raise TrainingDataError(
            f"the train and test slices must hold goods and bads; got {y.size} rows with "
            f"{bads} bads"
        )
    _, test = train_test_split(
        np.arange(y.size), test_size=test_fraction, stratify=y, random_state=seed
    )
    labels = np.full(y.size, "train", dtype=object)
    labels[test] = "test"
    return labels


def _candidates_table(scores: Mapping[str, FoldScores], chosen: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "candidate": list(CANDIDATES),
            "auc": [scores[n].auc for n in CANDIDATES],
            "auc_std": [scores[n].auc_std for n in CANDIDATES],
            "n_trees": [scores[n].tree_count for n in CANDIDATES],
            "chosen": [n == chosen for n in CANDIDATES],
        }
    )


def _scorecard(
    config: TableConfig,
    monotone: Mapping[str, int] | None,
    categorical: list[str],
    context: Mapping[str, object] | None = None,
) -> Scorecard:
    """The scorecard candidate, unfitted: the same in every fold and in the refit."""
    return Scorecard(
        max_n_bins=config.scorecard_bins,
        monotone=monotone,
        categorical=categorical,
        grades=config.train.pd.grades,
        max_grades=config.train.pd.max_grades,
        grade_min_bads=config.train.pd.grade_min_bads,
        context=context,
    )


def _refit(
    candidate: str,
    scores: FoldScores,
    folds: Folds,
    X: pd.DataFrame,
    y: np.ndarray,
    y_dev: np.ndarray,
    config: TableConfig,
    pd_config: PDConfig,
    monotone: Mapping[str, int] | None,
    categorical: list[str],
    context: Mapping[str, object],
) -> PDModel | Scorecard:
    """A candidate fitted on ``X``; its score reference, fitted grades (and a LightGBM's
    calibration) from its out-of-fold ``scores`` of the development rows."""
    scored = folds.scored
    if candidate == "scorecard":
        card = _scorecard(config, monotone, categorical, context).fit(X, y)
        card.score_reference_ = PSIReference.from_sample(scores.probability[scored])
        return card.fit_grades(scores.probability[scored], y_dev[scored])
    model = CrossFittedPD(pd_config, monotone=monotone, categorical=categorical, context=context)
    return model.fit(X, y, n_trees=scores.n_trees, out_of_fold=(scores.raw[scored], y_dev[scored]))


def _slug(name: str) -> str:
    return name.replace(" LightGBM", "_lightgbm").replace(" ", "_")


def _metrics(
    scores: Mapping[str, FoldScores],
    chosen: str,
    winner: FoldScores,
    y_test: np.ndarray,
    probability: np.ndarray,
    model: PDModel | Scorecard,
) -> dict[str, float]:
    metrics = {f"{_slug(n)}_auc": scores[n].auc for n in CANDIDATES}
    metrics |= {f"{_slug(n)}_auc_std": scores[n].auc_std for n in CANDIDATES}
    metrics["evaluation_auc"] = winner.auc
    metrics["evaluation_auc_std"] = winner.auc_std
    metrics |= {f"test_{k}": v for k, v in binary_metrics(y_test, probability).items()}
    metrics["psi_score_oos_test"] = model.score_reference_.psi(probability)
    metrics["n_trees"] = float(winner.tree_count)
    return metrics


def _log(
    model: PDModel | Scorecard,
    scores: Mapping[str, FoldScores],
    tables: Mapping[str, pd.DataFrame],
    metrics: Mapping[str, float],
    card: str,
    holdout: pd.DataFrame,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    probability: np.ndarray,
    *,
    model_name: str,
    target: str,
    id_col: str | None,
    date_col: str | None,
    rows: int,
    features: int,
    chosen: str,
    evaluation: str,
    config: TableConfig,
    register: bool,
    run_name: str,
    tracking_uri: str,
    artifact_location: str | None,
    registry_uri: str | None,
) -> tuple[LoggedRun, dict[str, str]]:
    """The parent run (the registered model) and one child run per candidate."""
    common = {
        "target": target,
        "id_col": id_col,
        "date_col": date_col,
        "rows": rows,
        "features": features,
        "evaluation": evaluation,
    }
    params = {
        **common,
        "chosen": chosen,
        "trials": config.trials,
        "refit_all": config.refit_all,
        "cv_folds": config.train.cv_folds,
        "test_fraction": config.train.test_fraction,
        "seed": config.train.seed,
        **{f"chosen.{k}": v for k, v in scores[chosen].params.items()},
    }
    dicts = {"vocabulary.json": model.encoder_.to_dict()} if isinstance(model, PDModel) else {}
    run = log_model_run(
        ModelRun(
            experiment=model_name,
            registered_name=model_name if register else None,
            estimator=model,
            input_example=X_test.head(5),
            holdout=holdout,
            run_name=run_name,
            params=params,
            metrics=metrics,
            tables=tables,
            figures={
                "roc": roc_figure({"test": (y_test, probability)}),
                "calibration": calibration_figure(tables["calibration"]),
                "importance": importance_figure(tables["importance"]),
            },
            texts={"model_card.md": card},
            dicts=dicts,
            tags={"credlink.kind": "table", "credlink.target": target, "credlink.chosen": chosen},
        ),
        tracking_uri,
        artifact_location,
        registry_uri=registry_uri,
    )
    children = {}
    for name, score in scores.items():
        children[name] = log_summary_run(
            model_name,
            tracking_uri,
            artifact_location,
            run_name=f"{run_name} · {name}",
            params={**common, "candidate": name, **score.params},
            metrics={
                "evaluation_auc": score.auc,
                "evaluation_auc_std": score.auc_std,
                "test_auc": metrics[f"{_slug(name)}_test_auc"],
                **{f"fold_{i}_auc": a for i, a in enumerate(score.aucs)},
                **({"n_trees": float(score.n_trees)} if score.best_iterations else {}),
            },
            tags={
                "credlink.kind": "table-candidate",
                "credlink.candidate": name,
                "credlink.chosen": str(name == chosen).lower(),
            },
            parent_run_id=run.run_id,
            registry_uri=registry_uri,
        )
    return run, children
