"""The learned repeat-violator warning's estimator: P(new violation within 12 months).

DESIGN.md §4 lists a learned rule beside the county plans' rules: a LightGBM binary model of
the probability that an enterprise existing on t gets a new violation (by default a record of
:data:`risk.rules.PENALTY_KINDS`) decided in (t, t + 12 months], from the point-in-time
features of :mod:`features.warning`. :class:`WarningModel` is that classifier, a
:class:`models.booster.BinaryBooster` like the PD: every feature numeric, categorical ones as
fixed integer codes, the booster's probability uncalibrated (the warning ranks; it prices
nothing). Training, the out-of-time cutoffs and the comparison with the rules are in
:mod:`models.warning_training`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from models.booster import LABEL, BinaryBooster, BoosterConfig
from models.metrics import precision_at_k

__all__ = ["PROBABILITY", "RULES_FLAGGED", "WarningConfig", "WarningModel"]

PROBABILITY = "p_violation"
"""Output column of :meth:`WarningModel.predict_frame` (and the pyfunc model)."""

RULES_FLAGGED = "rules_flagged"
"""Holdout column: whether the county rules flagged the enterprise on the test cutoff."""


@dataclass(frozen=True)
class WarningConfig(BoosterConfig):
    """LightGBM parameters of :class:`WarningModel` (frozen, validated on construction).

    The tree settings of :class:`models.booster.BoosterConfig`, with the warning's defaults:
    15 leaves, learning rate 0.05, at most 400 rounds, early stopping after 40, 100 rows per
    leaf (few positives, many near-duplicate rows), feature and bagging fractions 0.8, L2 1,
    monotone method basic (the fastest, and strict), seed 0, one thread.

    Raises
    ------
    TypeError, ValueError
        If a field has the wrong type or is out of range.
    """

    learning_rate: float = 0.05
    max_rounds: int = 400
    early_stopping_rounds: int = 40
    min_child_samples: int = 100
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    monotone_method: str = "basic"


class WarningModel(BinaryBooster):
    """LightGBM probability of a new violation (a :class:`models.booster.BinaryBooster`).

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
    """

    kind: ClassVar[str] = "warning"
    meta_file: ClassVar[str] = "warning_model.json"
    config_class: ClassVar[type[BoosterConfig]] = WarningConfig

    def _check_columns(self, X: pd.DataFrame) -> None:
        if not len(X.columns):
            raise ValueError("X must have at least one column; got none")
        for column in X.columns:
            if not (is_numeric_dtype(X[column]) or is_bool_dtype(X[column])):
                raise TypeError(
                    f"X columns must be numeric; got {X[column].dtype} column {column!r}"
                )

    def _checked_categorical(self, X: pd.DataFrame, features: list[str]) -> list[str]:
        checked = super()._checked_categorical(X, features)
        for name in checked:
            codes = X[name].to_numpy(dtype=np.float64)
            present = codes[~np.isnan(codes)]
            wrong = present[(present < 0) | (present != np.floor(present))]
            if wrong.size:
                raise ValueError(
                    f"categorical column {name!r} must hold integer codes ≥ 0 or NaN; got "
                    f"{wrong[0]!r}"
                )
        return checked

    def predict_violation(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of a new violation within the horizon, per row (the booster's
        :meth:`~models.booster.BinaryBooster.predict_probability`)."""
        return self.predict_probability(X)

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """:data:`PROBABILITY` per row (what the MLflow pyfunc model returns)."""
        return pd.DataFrame({PROBABILITY: self.predict_violation(X)}, index=X.index)

    def holdout_quality(self, holdout: pd.DataFrame) -> dict[str, float]:
        """What the quality floor reads: rows, new violations (``bads``), AUC and its standard
        error; with the rules' flags (:data:`RULES_FLAGGED`, logged with every holdout) also
        ``flagged``, ``precision_at_flagged`` (the model's top-|flagged|) and
        ``rules_precision`` (the rules' flagged set)."""
        quality = super().holdout_quality(holdout)
        if RULES_FLAGGED in holdout.columns:
            y = holdout[LABEL].to_numpy(dtype=float)
            flagged = holdout[RULES_FLAGGED].to_numpy(dtype=bool)
            quality["flagged"] = float(flagged.sum())
            if flagged.any():
                p = self.predict_violation(holdout)
                quality["precision_at_flagged"] = precision_at_k(y, p, int(flagged.sum()))
                quality["rules_precision"] = float(y[flagged].mean())
        return quality


def __getattr__(name: str) -> Any:
    # Warning versions registered before the one pyfunc wrapper store an MLflow entry file
    # that runs ``from models.warning import WarningPyfuncModel``; MLflow's own tools still
    # load them through this name. credlink itself never does (models.registry).
    if name == "WarningPyfuncModel":
        from models.pyfunc import CredlinkModel

        return CredlinkModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
