"""Population drift (漂移监测): today's population against the model's out-of-sample reference.

A model is trusted on the population it was tested on. Each batch run compares, per feature
and for the score, the enterprises scored today with the **out-of-time holdout** logged with
the champion's training run (:meth:`models.registry.ModelRegistry.holdout`): the rows the
model never saw while fitting, scored by the model as it is served. Comparing with the
in-sample training scores instead would measure the model's own overfit as "drift" (a boosted
model separates its training rows more sharply than any new population), so both sides are
out of sample.

The statistic is the population stability index

.. math:: \\mathrm{PSI} = \\sum_i (a_i - e_i) \\ln(a_i / e_i)

over the bins of the reference (``e``) and today's (``a``) shares: a numeric feature's
reference quantiles (ties merged, :class:`models.metrics.PSIReference`'s binning) plus one bin
for missing values; a categorical feature's categories plus "other" and missing. Shares are
floored at :data:`models.metrics.PSI_FLOOR`, so an empty bin counts but never makes PSI
infinite. Each PSI is graded by :class:`risk.config.DriftConfig` (default < 0.1 ``stable``
稳定, < 0.25 ``watch`` 关注, else ``act`` 处置).

Notes
-----
Binning costs O(n log b) per feature (a search in b edges); the reference is fitted once per
run. PSI is the symmetrised Kullback–Leibler divergence of the binned shares, so it is 0 for
equal shares and grows with both the size and the mass of a shift.

References
----------
.. [1] Yurdakul, B. (2018). *Statistical properties of population stability index*.
   Western Michigan University dissertation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from models.exceptions import NotFittedError
from models.metrics import PSI_FLOOR
from risk.config import DriftConfig

__all__ = [
    "SET_KEY",
    "DriftMonitor",
    "DriftReport",
    "FeatureReference",
    "binned_psi",
    "feature_columns",
    "log_drift",
    "recorded_drift",
]

_MISSING = "<missing>"
_OTHER = "<other>"


def binned_psi(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """PSI of two vectors of bin shares (each summing to 1), floored at ``PSI_FLOOR``.

    Raises
    ------
    ValueError
        If the vectors differ in length or are empty.
    """
    e = np.asarray(expected, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if not e.size or e.shape != a.shape:
        raise ValueError(f"shares must be two equal, non-empty vectors; got {e.size} and {a.size}")
    e, a = np.maximum(e, PSI_FLOOR), np.maximum(a, PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class FeatureReference:
    """One feature's binned distribution in the reference sample.

    Attributes
    ----------
    name : str
    numeric : bool
    edges : tuple of float
        Interior edges of a numeric feature (value v in bin ``searchsorted(edges, v,
        "right")``); empty for a categorical one.
    categories : tuple of str
        A categorical feature's categories (then "other"); empty for a numeric one.
    shares : tuple of float
        Reference share of each bin, the missing-value bin last.
    """

    name: str
    numeric: bool
    edges: tuple[float, ...]
    categories: tuple[str, ...]
    shares: tuple[float, ...]

    @classmethod
    def from_sample(cls, name: str, values: pd.Series, bins: int = 10) -> FeatureReference:
        """Bin a reference sample (numeric at its quantiles, else by category).

        Raises
        ------
        ValueError
            If the sample is empty.
        """
        if not len(values):
            raise ValueError(f"the reference sample of {name!r} must not be empty; got 0 rows")
        if is_numeric_dtype(values) or is_bool_dtype(values):
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
            present = numbers[~np.isnan(numbers)]
            probabilities = np.linspace(0, 1, bins + 1)[1:-1]
            edges = np.unique(np.quantile(present, probabilities)) if present.size else np.array([])
            ref = cls(name, True, tuple(float(e) for e in edges), (), ())
        else:
            text = values.astype(object).where(values.notna(), None)
            categories = tuple(sorted({str(v) for v in text.dropna()}))
            ref = cls(name, False, (), categories, ())
        return cls(ref.name, ref.numeric, ref.edges, ref.categories, tuple(ref.shares_of(values)))

    def shares_of(self, values: pd.Series) -> npt.NDArray[np.float64]:
        """The share of ``values`` in each bin of this reference (missing last)."""
        n = len(values)
        if self.numeric:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
            missing = np.isnan(numbers)
            index = np.searchsorted(np.asarray(self.edges), numbers[~missing], side="right")
            counts = np.bincount(index, minlength=len(self.edges) + 1).astype(np.float64)
        else:
            text = values.astype(object).where(values.notna(), None)
            missing = text.isna().to_numpy()
            position = {c: i for i, c in enumerate(self.categories)}
            index = np.array(
                [position.get(str(v), len(self.categories)) for v in text[~missing]], dtype=int
            )
            counts = np.bincount(index, minlength=len(self.categories) + 1).astype(np.float64)
        counts = np.append(counts, float(missing.sum()))
        return counts / max(n, 1)

    def psi(self, values: pd.Series) -> float:
        """PSI of ``values`` against this reference.

        Raises
        ------
        ValueError
            If ``values`` is empty.
        """
        if not len(values):
            raise ValueError(f"values of {self.name!r} must not be empty; got 0 rows")
        return binned_psi(self.shares, self.shares_of(values))

    def bin_labels(self) -> list[str]:
        """Readable bins (for the report): ``< e1``, ``[e1, e2)``, …, categories, missing."""
        if not self.numeric:
            return [*self.categories, _OTHER, _MISSING]
        if not self.edges:
            return ["all", _MISSING]
        e = self.edges
        inner = [f"[{e[i]:g}, {e[i + 1]:g})" for i in range(len(e) - 1)]
        return [f"< {e[0]:g}", *inner, f"≥ {e[-1]:g}", _MISSING]


@dataclass(frozen=True)
class DriftReport:
    """One model's drift on one population.

    Attributes
    ----------
    model : str
        Registered model name.
    version : str
        The version whose holdout is the reference.
    table : pandas.DataFrame
        One row per feature, largest PSI first, and a last row ``feature == "score"``:
        ``feature``, ``psi``, ``status`` (``stable``, ``watch``, ``act``).
    score_psi : float
    rows_reference, rows_today : int
    population : str
        Which population "today" is (e.g. the PD's recent applicants), with its size.
    """

    model: str
    version: str
    table: pd.DataFrame = field(repr=False)
    score_psi: float
    rows_reference: int
    rows_today: int
    population: str = ""

    @property
    def status(self) -> str:
        """The worst status of any feature or the score."""
        order = {"stable": 0, "watch": 1, "act": 2}
        return max(self.table["status"], key=order.__getitem__, default="stable")

    def to_metrics(self) -> dict[str, float]:
        """Flat metrics: ``psi_score``, ``psi_max_feature``, ``psi.<feature>``, row counts."""
        features = self.table[self.table["feature"] != "score"]
        metrics = {
            "psi_score": self.score_psi,
            "psi_max_feature": float(features["psi"].max()) if len(features) else 0.0,
            "rows_reference": float(self.rows_reference),
            "rows_today": float(self.rows_today),
        }
        pairs = zip(features["feature"], features["psi"], strict=True)
        metrics.update({f"psi.{name}": float(value) for name, value in pairs})
        return metrics

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what a score set records under ``drift.<model>``)."""
        return {
            "model": self.model,
            "version": self.version,
            "status": self.status,
            "score_psi": self.score_psi,
            "rows_reference": self.rows_reference,
            "rows_today": self.rows_today,
            "population": self.population,
            "features": [
                {"feature": str(r.feature), "psi": float(r.psi), "status": str(r.status)}
                for r in self.table.itertuples(index=False)
            ],
        }


class DriftMonitor:
    """Per-feature and score PSI against a reference sample (an estimator: ``fit`` on the
    reference, :meth:`report` on today's population).

    Parameters
    ----------
    config
        PSI thresholds and bins; default ``DriftConfig()``.

    Attributes
    ----------
    references_ : dict of str to FeatureReference
        Per feature, fitted.
    score_reference_ : FeatureReference
        The score's.
    rows_reference_ : int
    """

    def __init__(self, config: DriftConfig | None = None) -> None:
        self.config = config

    def fit(self, reference: pd.DataFrame, scores: npt.ArrayLike) -> DriftMonitor:
        """Bin each column of ``reference`` and the model's ``scores`` on it.

        Raises
        ------
        TypeError
            If ``config`` is not a :class:`risk.config.DriftConfig` or ``reference`` not a
            DataFrame.
        ValueError
            If the reference is empty, or the scores are not one per row.
        """
        config = DriftConfig() if self.config is None else self.config
        if not isinstance(config, DriftConfig):
            raise TypeError(f"config must be a DriftConfig; got {type(config).__name__}")
        if not isinstance(reference, pd.DataFrame):
            raise TypeError(f"reference must be a DataFrame; got {type(reference).__name__}")
        if reference.empty:
            raise ValueError("reference must hold rows; got 0")
        score = np.asarray(scores, dtype=np.float64).ravel()
        if score.size != len(reference):
            raise ValueError(
                f"scores must be one per reference row ({len(reference)}); got {score.size}"
            )
        self.config_ = config
        self.references_ = {
            str(c): FeatureReference.from_sample(str(c), reference[c], config.bins)
            for c in reference.columns
        }
        self.score_reference_ = FeatureReference.from_sample("score", pd.Series(score), config.bins)
        self.rows_reference_ = len(reference)
        return self

    def report(
        self,
        today: pd.DataFrame,
        scores: npt.ArrayLike,
        *,
        model: str = "",
        version: str = "",
        population: str = "",
    ) -> DriftReport:
        """PSI of each reference feature and of the score on today's population.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValueError
            If a reference feature is missing from ``today``, it is empty, or the scores are
            not one per row.
        """
        if not hasattr(self, "references_"):
            raise NotFittedError("DriftMonitor is not fitted: call fit(reference, scores) first")
        missing = [c for c in self.references_ if c not in today.columns]
        if missing:
            raise ValueError(f"today must have the reference's features; missing {missing[:5]}")
        score = np.asarray(scores, dtype=np.float64).ravel()
        if score.size != len(today) or not score.size:
            raise ValueError(
                f"scores must be one per row of today ({len(today)}); got {score.size}"
            )
        rows = [(name, ref.psi(today[name])) for name, ref in self.references_.items()]
        rows.sort(key=lambda r: -r[1])
        score_psi = self.score_reference_.psi(pd.Series(score))
        rows.append(("score", score_psi))
        table = pd.DataFrame(rows, columns=["feature", "psi"])
        table["status"] = [self.config_.status(p) for p in table["psi"]]
        return DriftReport(
            model=model,
            version=version,
            table=table,
            score_psi=score_psi,
            rows_reference=self.rows_reference_,
            rows_today=len(today),
            population=population,
        )


SET_KEY = "drift_report"
"""A score set records each model's :meth:`DriftReport.to_dict` under ``drift_report.<model>``
(not ``drift.``: that is the settings' section, read back by
:meth:`risk.config.RiskConfig.from_flat_params`)."""


def recorded_drift(recorded: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The drift reports a score set's ``config`` recorded, by model name."""
    prefix = f"{SET_KEY}."
    return {
        str(key).removeprefix(prefix): dict(value)
        for key, value in recorded.items()
        if str(key).startswith(prefix) and isinstance(value, Mapping)
    }


def feature_columns(holdout: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The model's features of a holdout (its other columns — label, ids, dates — left out).

    Raises
    ------
    ValueError
        If a feature is missing.
    """
    missing = [n for n in names if n not in holdout.columns]
    if missing:
        raise ValueError(f"the holdout must hold the model's features; missing {missing[:5]}")
    return holdout[list(names)]


def log_drift(
    report: DriftReport,
    tracking_uri: str,
    *,
    registry_uri: str | None = None,
    set_id: int | None = None,
    as_of: str | None = None,
) -> str:
    """Log a drift report as a run of the model's experiment (``drift-<as_of>``, tag
    ``credlink.kind = drift``): the metrics of :meth:`DriftReport.to_metrics` and the table as
    ``drift.json``. Returns the run id."""
    from mlflow.entities import Metric, RunTag

    from models.tracking import ensure_experiment, mlflow_session

    with mlflow_session(tracking_uri, registry_uri) as client:
        experiment = ensure_experiment(client, report.model, None)
        tags = {
            "credlink.kind": "drift",
            "credlink.model_version": report.version,
            "credlink.drift_status": report.status,
            **({"credlink.drift_population": report.population} if report.population else {}),
            **({"credlink.score_set": str(set_id)} if set_id is not None else {}),
            **({"credlink.as_of": as_of} if as_of else {}),
        }
        run = client.create_run(experiment, run_name=f"drift-{as_of or 'today'}")
        run_id = run.info.run_id
        stamp = int(run.info.start_time)
        metrics = [Metric(k, float(v), stamp, 0) for k, v in report.to_metrics().items()]
        client.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
        client.log_dict(run_id, report.to_dict(), "drift.json")
        client.set_terminated(run_id)
    return str(run_id)
