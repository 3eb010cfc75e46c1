"""Out-of-time splits: how the training samples are cut by time.

Pre-credit (:func:`time_split`)
    The loans, ordered by application date, are cut into train / valid (early stopping) /
    calibration / test, oldest to newest, so that every model is judged on a later period
    than it learned from (:func:`models.training.train_precredit`, and
    :func:`models.table.train_table` when a table has a date: its out-of-time fold fits on
    train and scores valid and calibration, :func:`models.tuning.time_folds`). A table without
    a date is never called out of time: it gets a stratified random test share and K-fold
    cross-validation (:func:`models.tuning.cv_folds`).

The learned warning (:func:`warning_split`)
    With the data known on ``as_of`` = *end*:

    - **test**: the cutoff ``t_test = end − 12 months``; labels in (t_test, end];
    - **train**: cutoffs every ``step_months`` (default quarterly) from ``t_test − 12 months``
      back, at most ``train_cutoffs`` of them and none earlier than ``earliest`` (the
      platform's first record plus a warm-up: before that the windows see the platform's
      start, not the enterprise). Their rows are stacked. Every training label window ends
      on or before t_test, so no training row has seen a label event of the test year.

    Early stopping uses held-out *enterprises*, not a later cutoff
    (:func:`models.warning_training.train_warning`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.exceptions import TrainingDataError
from models.metrics import binary_metrics
from risk.dates import as_of_timestamp
from risk.validation import check_int

if TYPE_CHECKING:
    from models.pd import PDModel

__all__ = [
    "SPLITS",
    "WarningSplit",
    "check_slices",
    "cutoff_before",
    "fit_on_slices",
    "metrics_by_split",
    "splits_table",
    "time_split",
    "warning_split",
]

SPLITS = ("train", "valid", "calibration", "test")
"""The slices of a pre-credit sample, oldest to newest."""


# --------------------------------------------------------------------------- pre-credit


def time_split(
    dates: npt.ArrayLike,
    valid_fraction: float,
    calibration_fraction: float,
    test_fraction: float,
) -> npt.NDArray[np.object_]:
    """Cut rows by date into train, valid, calibration and test (oldest to newest).

    Cuts fall between dates, so rows of the same date always share a slice; the slices'
    shares are as close to the fractions as the dates allow. With ``calibration_fraction``
    0 there is no calibration slice.

    Returns
    -------
    numpy.ndarray of str
        The slice name of each row.
    """
    values = np.asarray(pd.to_datetime(pd.Series(dates)).to_numpy(), dtype="datetime64[s]")
    n = values.size
    ordered = np.sort(values)
    bounds = np.cumsum(
        [
            1 - valid_fraction - calibration_fraction - test_fraction,
            valid_fraction,
            calibration_fraction,
        ]
    )
    cuts = [ordered[min(n - 1, math.ceil(b * n))] if n else None for b in bounds]
    labels = np.full(n, "test", dtype=object)
    for name, cut in zip(("calibration", "valid", "train"), cuts[::-1], strict=True):
        labels[values < cut] = name
    return labels


def check_slices(labels: np.ndarray, y: np.ndarray, names: Sequence[str]) -> None:
    """Refuse a split whose named slices lack goods or bads.

    Raises
    ------
    TrainingDataError
        Naming the first such slice.
    """
    for name in names:
        member = labels == name
        bads = float(y[member].sum())
        if not member.any() or bads == 0 or bads == member.sum():
            raise TrainingDataError(
                f"the {name} slice must hold goods and bads; got {int(member.sum())} rows "
                f"with {bads:.0f} bads"
            )


def metrics_by_split(
    labels: np.ndarray, y: np.ndarray, probability: np.ndarray
) -> dict[str, float]:
    """:func:`models.metrics.binary_metrics` of each slice present, as ``<slice>_<metric>``."""
    metrics: dict[str, float] = {}
    for name in SPLITS:
        member = labels == name
        if not member.any():
            continue
        for key, value in binary_metrics(y[member], probability[member]).items():
            metrics[f"{name}_{key}"] = value
    return metrics


def splits_table(labels: np.ndarray, dates: pd.Series, y: np.ndarray) -> pd.DataFrame:
    """One row per slice present: ``split``, ``first``, ``last``, ``loans``, ``bads``,
    ``bad_rate``."""
    rows = []
    for name in SPLITS:
        member = labels == name
        if not member.any():
            continue
        rows.append(
            {
                "split": name,
                "first": pd.Timestamp(dates[member].min()).date(),
                "last": pd.Timestamp(dates[member].max()).date(),
                "loans": int(member.sum()),
                "bads": int(y[member].sum()),
                "bad_rate": float(y[member].mean()),
            }
        )
    return pd.DataFrame(rows)


def fit_on_slices(
    model: PDModel, X: pd.DataFrame, y: np.ndarray, labels: np.ndarray
) -> tuple[npt.NDArray[np.float64], dict[str, float]]:
    """Fit a PD on the ``train`` slice, stop early on ``valid``, calibrate and cut the grades
    on ``valid`` and ``calibration`` pooled, and evaluate every slice.

    Pooling the two held-out periods doubles the bads the calibration and the grades learn
    from (a county's calibration period alone held 10); early stopping read ``valid`` for one
    number, the tree count, which biases its log loss little.

    Parameters
    ----------
    model
        The unfitted PD model.
    X, y
        Every row's features and outcome.
    labels
        Every row's slice (:func:`models.splits.time_split`).

    Returns
    -------
    probability : numpy.ndarray
        The calibrated PD of every row.
    metrics : dict
        ``<slice>_<metric>`` of every slice (:func:`models.splits.metrics_by_split`),
        ``psi_score_valid_test`` (the held-out ``valid`` and ``calibration`` scores pooled
        against the test scores: out of sample against out of sample, the PSI the promotion
        gate computes, never the training rows' in-sample scores) and ``best_iteration``.
    """
    part = {name: labels == name for name in SPLITS}
    calibration = part["calibration"] | part["valid"]
    model.fit(
        X[part["train"]],
        y[part["train"]],
        eval_set=(X[part["valid"]], y[part["valid"]]),
        calibration_set=(X[calibration], y[calibration]),
    )
    probability = model.predict_pd(X)
    metrics = metrics_by_split(labels, y, probability)
    metrics["psi_score_valid_test"] = model.score_reference_.psi(probability[part["test"]])
    metrics["best_iteration"] = float(model.best_iteration_)
    return probability, metrics


# --------------------------------------------------------------------------- the warning


def cutoff_before(t: pd.Timestamp, months: int) -> pd.Timestamp:
    """``t − months`` (negative: later), staying on month ends (2025-06-30 − 3 → 2025-03-31)."""
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
    test = cutoff_before(t_end, horizon)
    candidates = [cutoff_before(test, horizon + i * step) for i in range(n)]
    train = tuple(sorted(c for c in candidates if floor is None or c >= floor))
    if not train:
        raise TrainingDataError(
            f"the history must allow a training cutoff on or before {candidates[0].date()} "
            f"and on or after {floor.date() if floor is not None else '—'}; got none"
        )
    return WarningSplit(train=train, test=test, end=t_end, horizon_months=horizon)
