"""What the credit office's models page shows: the registered pre-credit and warning models,
their aliases (champion, challenger) and their runs' metrics, from the service's MLflow store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from serving.scores import ServedSet
from serving.settings import Settings

__all__ = [
    "DRIFT_LABELS",
    "DriftRow",
    "DriftView",
    "ModelRow",
    "ModelsView",
    "drift_views",
    "registered_models",
]

DRIFT_LABELS = {"stable": "稳定", "watch": "关注", "act": "处置"}
"""The drift statuses' Chinese labels (:meth:`risk.config.DriftConfig.status`)."""

logger = logging.getLogger("credlink.serving")

_HEADLINE_METRICS = (
    "test_auc",
    "test_ks",
    "test_gini",
    "test_brier",
    "cv_auc_mean",
    "psi_score_valid_test",
    "psi_score_oos_test",
    "psi_score_train_test",  # versions trained before the PSI compared held-out scores
    "psi_limit_valid_test",
    "psi_limit_train_test",  # versions trained before the limit PSI compared held-out loans
    "monotonicity_violations",
)


# --------------------------------------------------------------------------- models page


@dataclass(frozen=True)
class ModelRow:
    """One registered model version with its aliases and its run's metrics."""

    name: str
    version: str
    aliases: list[str]
    run_id: str | None
    created: datetime | None
    headline: list[tuple[str, float]]
    metrics: list[tuple[str, float]]

    @property
    def champion(self) -> bool:
        """Whether the ``champion`` alias points here."""
        return "champion" in self.aliases


@dataclass(frozen=True)
class ModelsView:
    """The models page: the registry's versions, or why there are none to show."""

    tracking_uri: str | None
    rows: list[ModelRow]
    problem: str | None = None


def _metrics(client: Any, run_id: str | None) -> dict[str, float]:
    if not run_id:
        return {}
    try:
        return {str(k): float(v) for k, v in client.get_run(run_id).data.metrics.items()}
    except Exception:  # a deleted run: the version is still worth listing
        logger.warning("metrics of MLflow run %s unavailable", run_id, exc_info=True)
        return {}


def registered_models(settings: Settings) -> ModelsView:
    """Registered models of the service's MLflow store (``MLFLOW_TRACKING_URI``, else
    ``<work_dir>/mlflow.db``).

    Never raises: no ``models`` package, no store yet or an unreadable one are shown as a
    sentence on the page (an empty registry is not an error).
    """
    try:
        from mlflow import MlflowClient

        from models.registry import ModelRegistry
    except ImportError as exc:  # the models package is optional for the warning pages
        return ModelsView(None, [], problem=f"模型模块不可用：{exc}")
    tracking_uri, _ = settings.mlflow_uris()
    if not settings.has_mlflow_store():
        return ModelsView(tracking_uri, [])  # opening it would create an empty store
    registry_uri = settings.mlflow_registry_uri or tracking_uri
    try:
        versions = ModelRegistry(tracking_uri, registry_uri=registry_uri).list_models()
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
        rows = []
        for item in versions.itertuples(index=False):
            run_id = str(item.run_id) if item.run_id else None
            metrics = _metrics(client, run_id)
            rows.append(
                ModelRow(
                    name=str(item.name),
                    version=str(item.version),
                    aliases=[a for a in str(item.aliases).split(", ") if a],
                    run_id=run_id,
                    created=item.created if isinstance(item.created, datetime) else None,
                    headline=[(k, metrics[k]) for k in _HEADLINE_METRICS if k in metrics],
                    metrics=sorted(metrics.items()),
                )
            )
    except Exception as exc:  # the registry is another service's store: report, don't fail
        logger.warning("MLflow registry at %s unreadable", tracking_uri, exc_info=True)
        return ModelsView(tracking_uri, [], problem=f"模型登记库暂不可读：{type(exc).__name__}")
    rows.sort(key=lambda r: (r.name, not r.champion, -int(r.version)))
    return ModelsView(tracking_uri, rows)


# --------------------------------------------------------------------------- drift


@dataclass(frozen=True)
class DriftRow:
    """One feature's (or the score's) PSI against the model's holdout."""

    feature: str
    psi: float
    status: str

    @property
    def label(self) -> str:
        """稳定, 关注 or 处置."""
        return DRIFT_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class DriftView:
    """One model's drift as the current score set recorded it (漂移监测)."""

    model: str
    version: str
    status: str
    score_psi: float
    rows_reference: int
    rows_today: int
    rows: list[DriftRow]
    population: str = ""
    skipped: str | None = None
    """Why the run could not measure this model's drift (then no rows)."""

    @property
    def label(self) -> str:
        """The worst status, in Chinese."""
        return DRIFT_LABELS.get(self.status, self.status)


def drift_views(served: ServedSet | None) -> list[DriftView]:
    """The drift reports of the current score set (the pipeline's drift step), one per model
    monitored; none before a set, or when no champion was scored."""
    if served is None:
        return []
    try:
        from models.drift import recorded_drift
    except ImportError:  # the models package is optional for the warning pages
        return []
    views = []
    for model, report in sorted(recorded_drift(served.score_set.config).items()):
        views.append(
            DriftView(
                model=model,
                version=str(report.get("version", "")),
                status=str(report.get("status", "")),
                score_psi=float(report.get("score_psi", 0.0)),
                rows_reference=int(report.get("rows_reference", 0)),
                rows_today=int(report.get("rows_today", 0)),
                rows=[
                    DriftRow(str(r["feature"]), float(r["psi"]), str(r["status"]))
                    for r in report.get("features", [])
                ],
                population=str(report.get("population", "")),
                skipped=None if report.get("skipped") is None else str(report["skipped"]),
            )
        )
    return views
