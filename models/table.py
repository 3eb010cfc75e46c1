"""Training a calibrated LightGBM classifier on any table a bank brings.

:func:`train_table` takes an arbitrary table (numeric and categorical columns, missing values)
with a 0/1 target and fits a :class:`models.pd.PDModel` on it: out of time when the table has a
date column (:func:`models.splits.time_split`: train / valid / calibration / test), otherwise a
stratified random test split and a cross-validated AUC on the rest. The run is logged and
registered like the pre-credit models (:func:`models.tracking.log_model_run`), with its own
model card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from features.encoding import categorical_columns
from models.booster import LABEL
from models.cards import table_card
from models.exceptions import TrainingDataError
from models.metrics import calibration_table, roc_auc, segment_metrics
from models.pd import PDModel
from models.splits import SPLITS, check_slices, fit_on_slices, splits_table, time_split
from models.tracking import (
    ModelRun,
    calibration_figure,
    importance_figure,
    log_model_run,
    roc_figure,
)
from models.training import TrainConfig, TrainResult
from risk.frames import require_frame
from risk.identifiers import mask_id_numbers
from risk.validation import check_str

__all__ = ["numeric_text", "train_table"]


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
    config: TrainConfig | None = None,
    monotone: Mapping[str, int] | None = None,
    register: bool = False,
    run_name: str | None = None,
) -> TrainResult:
    """Train a calibrated LightGBM classifier on any table (e.g. a bank's own data).

    Parameters
    ----------
    frame
        One row per case: numeric and categorical (string) columns, missing values allowed.
    target
        The outcome column (0/1 or bool; 1 = bad). Rows with a missing target are dropped.
    id_col
        An identifier column, kept in the holdout but not used as a feature.
    date_col
        A date column: splits by time (train / valid / calibration / test, out of time).
        Without it: a stratified random test split and a cross-validated AUC on the rest.
    tracking_uri, artifact_location, registry_uri
        MLflow destination (``None``: no logging; the registry: the tracking URI).
    model_name
        Experiment and registered model name.
    config
        Splits and LightGBM parameters (``TrainConfig().pd`` and the fractions; default
        ``TrainConfig()``).
    monotone
        Optional feature → +1 / −1 constraints.
    register
        Register the model (alias ``challenger``) under ``model_name``.
    run_name
        MLflow run name.

    Returns
    -------
    TrainResult
        ``limit_model`` is ``None``.

    Raises
    ------
    InvalidFrameError
        If ``target``, ``id_col`` or ``date_col`` is not a column.
    ValueError
        If the target is not binary or no feature column is left.
    TrainingDataError
        If a slice lacks goods or bads.
    """
    config = TrainConfig() if config is None else config
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
    model = PDModel(
        config.pd, monotone=monotone, categorical=categorical, context={"kind": "table"}
    )
    metrics: dict[str, float] = {}
    if date_col is not None:
        dates = pd.to_datetime(rows[date_col], errors="coerce", format="mixed")
        if dates.isna().any():
            raise TrainingDataError(
                f"date column {date_col!r} must hold dates; got missing or unreadable values"
            )
        labels = time_split(
            dates, config.valid_fraction, config.calibration_fraction, config.test_fraction
        )
        held = ["train", "valid", "test"] + (["calibration"] if config.calibration_fraction else [])
        check_slices(labels, y, held)
    else:
        labels = _random_split(y, config)
        check_slices(labels, y, ["train", "valid", "test"])
        metrics.update(_cv_auc(X[labels != "test"], y[labels != "test"], model, config))
    probability, fitted = fit_on_slices(model, X, y, labels)
    metrics.update(fitted)
    part = {name: labels == name for name in SPLITS}
    test = part["test"]
    extra = {c: rows[c].to_numpy()[test] for c in (id_col, date_col) if c is not None}
    holdout = X[test].assign(**{LABEL: y[test]}, **extra)
    monotonicity = model.monotonicity_report(holdout)
    metrics["monotonicity_violations"] = float(monotonicity["violations"].sum())
    dates_for_table = (
        pd.to_datetime(rows[date_col])
        if date_col is not None
        else pd.Series(pd.NaT, index=rows.index)
    )
    tables = {
        "splits": splits_table(labels, dates_for_table, y),
        "calibration": calibration_table(y[test], probability[test]),
        "segments": segment_metrics(
            y[test], probability[test], {c: X.loc[test, c] for c in categorical[:3]}
        ),
        "grades": model.grade_outcomes(y[test], probability[test]),
        "importance": model.feature_importance({}),
        "monotonicity": monotonicity,
    }
    card = table_card(model_name, target, id_col, date_col, rows, tables, metrics, model)
    run = None
    if tracking_uri is not None:
        run = log_model_run(
            ModelRun(
                experiment=model_name,
                registered_name=model_name if register else None,
                estimator=model,
                input_example=X[test].head(5),
                holdout=holdout,
                run_name=run_name or f"table-{target}",
                params={
                    **{f"pd.{k}": v for k, v in config.pd.to_dict().items()},
                    "target": target,
                    "id_col": id_col,
                    "date_col": date_col,
                    "rows": len(rows),
                    "features": len(features),
                    "validation": "out-of-time" if date_col else f"{config.cv_folds}-fold CV",
                },
                metrics=metrics,
                tables=tables,
                figures={
                    "roc": roc_figure(
                        {s: (y[part[s]], probability[part[s]]) for s in ("train", "valid", "test")}
                    ),
                    "calibration": calibration_figure(tables["calibration"]),
                    "importance": importance_figure(tables["importance"]),
                },
                texts={"model_card.md": card},
                dicts={"vocabulary.json": model.encoder_.to_dict()},
                tags={"credlink.kind": "table", "credlink.target": target},
            ),
            tracking_uri,
            artifact_location,
            registry_uri=registry_uri,
        )
    return TrainResult(
        pd_model=model,
        limit_model=None,
        metrics=metrics,
        tables=tables,
        model_card=card,
        holdout=holdout.assign(pd=probability[test]),
        pd_run=run,
    )


def _random_split(y: np.ndarray, config: TrainConfig) -> npt.NDArray[np.object_]:
    index = np.arange(y.size)
    rest, test = train_test_split(
        index, test_size=config.test_fraction, stratify=y, random_state=config.seed
    )
    share = config.valid_fraction / (1 - config.test_fraction)
    _, valid = train_test_split(rest, test_size=share, stratify=y[rest], random_state=config.seed)
    labels = np.full(y.size, "train", dtype=object)
    labels[valid] = "valid"
    labels[test] = "test"
    return labels


def _cv_auc(
    X: pd.DataFrame, y: np.ndarray, model: PDModel, config: TrainConfig
) -> dict[str, float]:
    """K-fold AUC; each fold stops early on a stratified slice of its own training part."""
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.seed)
    scores = []
    for fit_index, score_index in folds.split(X, y):
        inner_fit, inner_valid = train_test_split(
            fit_index, test_size=0.15, stratify=y[fit_index], random_state=config.seed
        )
        fold = PDModel(model.config, monotone=model.monotone, categorical=model.categorical)
        fold.fit(X.iloc[inner_fit], y[inner_fit], eval_set=(X.iloc[inner_valid], y[inner_valid]))
        scores.append(roc_auc(y[score_index], fold.predict_pd(X.iloc[score_index])))
    return {"cv_auc_mean": float(np.mean(scores)), "cv_auc_std": float(np.std(scores))}
