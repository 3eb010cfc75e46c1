"""LightGBM models: the pre-credit PD and limit, the learned warning, a bank's own table; their
evaluation, MLflow tracking and registry.

Importing the package is cheap: each public name below loads its module (and with it
LightGBM, MLflow or matplotlib) on first use (PEP 562), so a command line that imports
``models`` pays for them only in the commands that use them. ``from models.pd import PDModel``
and ``models.PDModel`` are the same object.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_MODULES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "models.artifacts": ("DIGEST_TAG", "MAX_ARTIFACT_BYTES"),
        "models.booster": (
            "LABEL",
            "MONOTONE_METHODS",
            "BinaryBooster",
            "BoosterConfig",
            "checked_monotone",
        ),
        "models.calibration": ("CALIBRATION_METHODS", "Calibrator"),
        "models.exceptions": (
            "ArtifactError",
            "ModelError",
            "NotFittedError",
            "PromotionRefusedError",
            "RegistryError",
            "TrainingDataError",
        ),
        "models.limit": (
            "CAPACITY_FEATURES",
            "DEFAULT_KIND_CAPS",
            "RULE_OF_THUMB",
            "LimitModel",
            "LimitPolicy",
            "backtest_limits",
            "rule_of_thumb_limits",
        ),
        "models.metrics": (
            "PSI_FLOOR",
            "TOP_K",
            "PSIReference",
            "auc_standard_error",
            "binary_metrics",
            "binary_quality",
            "brier",
            "calibration_table",
            "gini",
            "ks_statistic",
            "monotonicity_violations",
            "precision_at_k",
            "psi",
            "ranking_metrics",
            "recall_at_k",
            "roc_auc",
            "segment_metrics",
        ),
        "models.pd": ("GradeScale", "PDConfig", "PDModel"),
        "models.pyfunc": ("ESTIMATOR_FILES", "CredlinkModel", "load_estimator"),
        "models.reasons": ("REASON_COLUMNS", "Reasons", "feature_concepts"),
        "models.registry": (
            "LIMIT_MODEL_NAME",
            "PD_MODEL_NAME",
            "PROMOTION_TAG",
            "PSI_THRESHOLD",
            "WARNING_MODEL_NAME",
            "ModelRegistry",
            "PromotionResult",
            "QualityFloor",
            "check_accountability",
        ),
        "models.report": ("format_number", "markdown_table"),
        "models.rule_baseline": ("rule_hits", "rule_ranking", "rules_by_rule"),
        "models.scoring": ("REASON_MODES", "SCORE_COLUMNS", "PrecreditScorer", "score_enterprises"),
        "models.splits": (
            "SPLITS",
            "WarningSplit",
            "cutoff_before",
            "time_split",
            "warning_split",
        ),
        "models.table": ("train_table",),
        "models.tracking": (
            "CHALLENGER",
            "CHAMPION",
            "RISK_CONFIG_TAG",
            "LoggedRun",
            "ModelRun",
            "log_model_run",
            "mlflow_session",
            "tracking_uris",
        ),
        "models.training": (
            "TrainConfig",
            "TrainResult",
            "precredit_sample",
            "size_band",
            "train_precredit",
        ),
        "models.warning": ("PROBABILITY", "RULES_FLAGGED", "WarningConfig", "WarningModel"),
        "models.warning_training": ("WarningResult", "WarningTrainConfig", "train_warning"),
    }
)
"""Module → the public names the package re-exports from it."""

_HOME: Mapping[str, str] = MappingProxyType(
    {name: module for module, names in _MODULES.items() for name in names}
)

__all__ = [
    "CALIBRATION_METHODS",
    "CAPACITY_FEATURES",
    "CHALLENGER",
    "CHAMPION",
    "DEFAULT_KIND_CAPS",
    "DIGEST_TAG",
    "ESTIMATOR_FILES",
    "LABEL",
    "LIMIT_MODEL_NAME",
    "MAX_ARTIFACT_BYTES",
    "MONOTONE_METHODS",
    "PD_MODEL_NAME",
    "PROBABILITY",
    "PROMOTION_TAG",
    "PSI_FLOOR",
    "PSI_THRESHOLD",
    "REASON_COLUMNS",
    "REASON_MODES",
    "RISK_CONFIG_TAG",
    "RULES_FLAGGED",
    "RULE_OF_THUMB",
    "SCORE_COLUMNS",
    "SPLITS",
    "TOP_K",
    "WARNING_MODEL_NAME",
    "ArtifactError",
    "BinaryBooster",
    "BoosterConfig",
    "Calibrator",
    "CredlinkModel",
    "GradeScale",
    "LimitModel",
    "LimitPolicy",
    "LoggedRun",
    "ModelError",
    "ModelRegistry",
    "ModelRun",
    "NotFittedError",
    "PDConfig",
    "PDModel",
    "PSIReference",
    "PrecreditScorer",
    "PromotionRefusedError",
    "PromotionResult",
    "QualityFloor",
    "Reasons",
    "RegistryError",
    "TrainConfig",
    "TrainResult",
    "TrainingDataError",
    "WarningConfig",
    "WarningModel",
    "WarningResult",
    "WarningSplit",
    "WarningTrainConfig",
    "auc_standard_error",
    "backtest_limits",
    "binary_metrics",
    "binary_quality",
    "brier",
    "calibration_table",
    "check_accountability",
    "checked_monotone",
    "cutoff_before",
    "feature_concepts",
    "format_number",
    "gini",
    "ks_statistic",
    "load_estimator",
    "log_model_run",
    "markdown_table",
    "mlflow_session",
    "monotonicity_violations",
    "precision_at_k",
    "precredit_sample",
    "psi",
    "ranking_metrics",
    "recall_at_k",
    "roc_auc",
    "rule_hits",
    "rule_of_thumb_limits",
    "rule_ranking",
    "rules_by_rule",
    "score_enterprises",
    "segment_metrics",
    "size_band",
    "time_split",
    "tracking_uris",
    "train_precredit",
    "train_table",
    "train_warning",
    "warning_split",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
