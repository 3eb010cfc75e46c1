"""Calibration of a raw log-odds score into a probability of default, fitted on held-out data.

A gradient-boosted model's raw score ranks well but its probabilities reflect the training
sample (its bad rate, its overfitting). :class:`Calibrator` maps the raw score ``s`` to a PD
on a held-out period, with one of two methods:

``platt``
    ``p = 1 / (1 + exp(−(a·s + b)))``, two parameters, fitted by maximum likelihood on
    Platt's smoothed targets, with ``a ≥ 0`` so the map never reverses the ranking (and the
    monotone constraints of the score survive calibration). Robust with few bads.
``isotonic``
    The non-decreasing step function of ``s`` that minimises squared error (pool adjacent
    violators), interpolated linearly between its steps and clipped to
    ``[floor, 1 − floor]``. Needs a few hundred bads to be stable.
``intercept``
    ``p = 1 / (1 + exp(−(s + b)))``: only the level is refitted (calibration-in-the-large),
    the ranking and spread of the raw score are kept. With fewer than ``min_bads`` bads in
    the calibration sample, ``platt``, ``isotonic`` and ``auto`` fall back to it: on a few
    dozen bads a fitted slope is noise, and a slope of zero would erase the ranking altogether.
``auto``
    Platt or isotonic, whichever has the lower out-of-fold log loss on the held-out sample
    (5-fold stratified cross-validation within it [3]_), then refitted on all of it: isotonic
    when there are enough bads for its steps to be stable and the score's miscalibration is not
    a sigmoid, Platt otherwise. The choice and both losses are kept (``method_``,
    ``cv_log_loss_``) and reported in the model card.

References
----------
.. [1] Platt, J. (1999). Probabilistic outputs for support vector machines and comparisons to
   regularized likelihood methods. *Advances in Large Margin Classifiers*, 61–74.
.. [2] Zadrozny, B., Elkan, C. (2002). Transforming classifier scores into accurate
   multiclass probability estimates. *KDD '02*, 694–699.
.. [3] Niculescu-Mizil, A., Caruana, R. (2005). Predicting good probabilities with
   supervised learning. *ICML '05*, 625–632.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from models.exceptions import NotFittedError, TrainingDataError
from risk.validation import check_choice, check_int, check_real

__all__ = ["CALIBRATION_METHODS", "Calibrator"]

CALIBRATION_METHODS = ("platt", "isotonic", "intercept", "auto")

_AUTO_FOLDS = 5


class Calibrator:
    """Map raw log-odds scores to calibrated probabilities (scikit-learn style).

    Parameters
    ----------
    method
        ``"platt"`` (default), ``"isotonic"``, ``"intercept"`` or ``"auto"`` (Platt or
        isotonic, chosen by out-of-fold log loss on the sample).
    min_bads
        Fewer bads than this in the calibration sample make ``platt``, ``isotonic`` and
        ``auto`` fall back to ``intercept``, ≥ 1 (default 30).
    floor
        Probabilities are clipped to ``[floor, 1 − floor]``, in [0, 0.01] (default 1e-4).

    Attributes
    ----------
    method_ : str
        The method used (``intercept`` after a fall-back; ``platt`` or ``isotonic`` for
        ``auto``).
    n_, n_bads_ : int
        Rows and bads of the calibration sample.
    cv_log_loss_ : dict
        ``auto`` only: the out-of-fold log loss of ``platt`` and ``isotonic`` (else empty).
    params_ : dict
        ``{"a", "b"}`` for Platt and intercept (a = 1); ``{"x", "y"}`` (the isotonic steps).

    Notes
    -----
    Platt's fit minimises the log loss of ``σ(a·s + b)`` against the smoothed targets
    ``(N₊ + 1)/(N₊ + 2)`` for bads and ``1/(N₋ + 2)`` for goods [1]_ (L-BFGS-B, ``a ≥ 0``);
    the intercept method fixes ``a = 1``. Isotonic regression is the pool-adjacent-violators
    fit [2]_ [3]_ of :class:`sklearn.isotonic.IsotonicRegression`, stored as its thresholds.

    References
    ----------
    .. [1] Platt (1999); .. [2] Zadrozny & Elkan (2002); .. [3] Niculescu-Mizil & Caruana
       (2005) — full citations in the module docstring.
    """

    def __init__(self, method: str = "platt", min_bads: int = 30, floor: float = 1e-4) -> None:
        self.method = method
        self.min_bads = min_bads
        self.floor = floor

    def fit(self, score: npt.ArrayLike, y: npt.ArrayLike) -> Calibrator:
        """Fit the map on held-out raw scores and outcomes.

        Returns
        -------
        Calibrator
            ``self``.

        Raises
        ------
        TrainingDataError
            If the sample is empty or has one class only.
        """
        method = check_choice("method", self.method, CALIBRATION_METHODS)
        min_bads = check_int("min_bads", self.min_bads, 1)
        check_real("floor", self.floor, 0.0, 0.01)
        s = np.asarray(score, dtype=np.float64).ravel()
        labels = np.asarray(y, dtype=np.float64).ravel()
        if s.shape != labels.shape:
            raise ValueError(f"score and y must have the same length; got {s.size}, {labels.size}")
        positives = labels.sum()
        if not s.size or positives == 0 or positives == s.size:
            raise TrainingDataError(
                "calibration sample must hold goods and bads; "
                f"got {s.size} rows with {positives:.0f} bads"
            )
        if positives < min_bads:
            method = "intercept"
        self.cv_log_loss_: dict[str, float] = {}
        if method == "auto" and min(positives, s.size - positives) < 2:
            method = "platt"  # too few of a class to cross-validate a choice
        if method == "auto":
            self.cv_log_loss_ = {
                m: _out_of_fold_log_loss(m, s, labels, self.floor) for m in ("platt", "isotonic")
            }
            method = min(self.cv_log_loss_, key=self.cv_log_loss_.__getitem__)
        self.params_ = _fit_params(method, s, labels)
        self.method_ = method
        self.n_ = int(s.size)
        self.n_bads_ = int(positives)
        return self

    def transform(self, score: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probabilities of raw scores.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        if not hasattr(self, "params_"):
            raise NotFittedError("Calibrator is not fitted; call fit(score, y) first")
        p = _transform(self.method_, self.params_, np.asarray(score, dtype=np.float64))
        return np.clip(p, self.floor, 1.0 - self.floor)

    def to_dict(self) -> dict[str, Any]:
        """Method, floor and fitted parameters as JSON-ready data."""
        if not hasattr(self, "params_"):
            raise NotFittedError("Calibrator is not fitted; call fit(score, y) first")
        return {
            "method": self.method_,
            "min_bads": self.min_bads,
            "floor": self.floor,
            "params": self.params_,
            "n": self.n_,
            "n_bads": self.n_bads_,
            "cv_log_loss": self.cv_log_loss_,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        """Rebuild a fitted calibrator from :meth:`to_dict` output."""
        calibrator = cls(str(data["method"]), int(data["min_bads"]), float(data["floor"]))
        calibrator.method_ = str(data["method"])
        calibrator.params_ = dict(data["params"])
        # Models saved before these were kept: unknown (0, no cross-validation).
        calibrator.n_ = int(data.get("n", 0))
        calibrator.n_bads_ = int(data.get("n_bads", 0))
        calibrator.cv_log_loss_ = {str(k): float(v) for k, v in data.get("cv_log_loss", {}).items()}
        return calibrator


def _fit_params(method: str, score: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The fitted parameters of ``platt``, ``intercept`` or ``isotonic``."""
    if method in ("platt", "intercept"):
        return _platt(score, labels, fixed_slope=method == "intercept")
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(score, labels)
    return {
        "x": [float(v) for v in iso.X_thresholds_],
        "y": [float(v) for v in iso.y_thresholds_],
    }


def _transform(method: str, params: Mapping[str, Any], score: np.ndarray) -> np.ndarray:
    if method in ("platt", "intercept"):
        return np.asarray(1.0 / (1.0 + np.exp(-(params["a"] * score + params["b"]))))
    return np.interp(score, params["x"], params["y"])


def _out_of_fold_log_loss(
    method: str, score: np.ndarray, labels: np.ndarray, floor: float
) -> float:
    """Mean log loss of ``method`` on each of 5 stratified folds, fitted on the other four."""
    smaller_class = int(min(labels.sum(), labels.size - labels.sum()))
    folds = StratifiedKFold(max(2, min(_AUTO_FOLDS, smaller_class)), shuffle=True, random_state=0)
    predicted = np.empty_like(score)
    for fit_rows, held_rows in folds.split(score.reshape(-1, 1), labels):
        params = _fit_params(method, score[fit_rows], labels[fit_rows])
        predicted[held_rows] = _transform(method, params, score[held_rows])
    p = np.clip(predicted, max(floor, 1e-6), 1.0 - max(floor, 1e-6))
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def _platt(score: np.ndarray, labels: np.ndarray, *, fixed_slope: bool) -> dict[str, float]:
    """Platt's sigmoid fit: minimise the log loss on smoothed targets, slope ≥ 0 (or 1)."""
    positives = labels.sum()
    negatives = labels.size - positives
    # Platt's targets: (N₊ + 1)/(N₊ + 2) for bads, 1/(N₋ + 2) for goods.
    target = np.where(labels == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        z = params[0] * score + params[1]
        log_p = -np.logaddexp(0, -z)
        log_q = -np.logaddexp(0, z)
        value = -np.sum(target * log_p + (1 - target) * log_q)
        p = np.exp(log_p)
        gradient = np.array([np.sum((p - target) * score), np.sum(p - target)])
        return float(value), gradient

    prior = np.log((positives + 1) / (negatives + 1))
    slope_bounds = (1.0, 1.0) if fixed_slope else (0.0, None)
    result = minimize(
        loss,
        x0=np.array([1.0, prior]),
        jac=True,
        method="L-BFGS-B",
        bounds=[slope_bounds, (None, None)],
    )
    return {"a": float(result.x[0]), "b": float(result.x[1])}
