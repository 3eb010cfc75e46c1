"""Point-in-time feature tables: platform data, the pre-credit and warning features, the one
graph-feature builder, the feature catalog, eligibility and labels.

Importing the package is cheap: each public name below loads its module (and the ``risk``
layer with it) on first use (:class:`features.lazy.LazyExports`).
"""

from __future__ import annotations

from typing import Any

from features.lazy import LazyExports

_EXPORTS = LazyExports(
    __name__,
    {
        "features.lazy": ("LazyExports",),
        "features.catalog": (
            "CONCEPTS",
            "FEATURE_SOURCES",
            "GRAPH_CONCEPTS",
            "INDUSTRY_SECTIONS",
            "KIND_GROUP_CONCEPTS",
            "PUBLIC_CREDIT_CONCEPTS",
            "TAX_GRADE_SCORES",
            "Concept",
            "FeatureCatalog",
            "FeatureSpec",
        ),
        "features.data": ("GraphArrays", "PlatformData"),
        "features.eligibility": ("ELIGIBILITY_COLUMNS", "EligibilityPolicy", "assess_eligibility"),
        "features.encoding": ("MISSING_CODE", "CategoryEncoder", "categorical_columns"),
        "features.graph": ("GRAPH_FEATURES", "graph_features"),
        "features.history": (
            "DOMAIN_GROUPS",
            "KIND_GROUPS",
            "LINKED_DISHONEST_KINDS",
            "POSITIVE_GROUPS",
        ),
        "features.outcomes": ("HORIZON_MONTHS", "loan_outcomes"),
        "features.precredit": (
            "BAD_LOAN_STATUSES",
            "FINANCIAL_FEATURES",
            "LOAN_FEATURES",
            "FeatureConfig",
            "applications_on",
            "build_features",
            "feature_specs",
            "first_bad_day",
            "own_record_specs",
            "month_start",
            "validate_applications",
        ),
        "features.warning": (
            "INDUSTRY_CODES",
            "KIND_CODES",
            "WarningFeatureConfig",
            "build_warning_features",
            "check_label_kinds",
            "warning_feature_specs",
            "warning_labels",
            "warning_population",
        ),
    },
)

__all__ = [
    "BAD_LOAN_STATUSES",
    "CONCEPTS",
    "DOMAIN_GROUPS",
    "ELIGIBILITY_COLUMNS",
    "FEATURE_SOURCES",
    "FINANCIAL_FEATURES",
    "GRAPH_CONCEPTS",
    "GRAPH_FEATURES",
    "HORIZON_MONTHS",
    "INDUSTRY_CODES",
    "INDUSTRY_SECTIONS",
    "KIND_CODES",
    "KIND_GROUPS",
    "KIND_GROUP_CONCEPTS",
    "LINKED_DISHONEST_KINDS",
    "LOAN_FEATURES",
    "MISSING_CODE",
    "POSITIVE_GROUPS",
    "PUBLIC_CREDIT_CONCEPTS",
    "TAX_GRADE_SCORES",
    "CategoryEncoder",
    "Concept",
    "EligibilityPolicy",
    "FeatureCatalog",
    "FeatureConfig",
    "FeatureSpec",
    "GraphArrays",
    "LazyExports",
    "PlatformData",
    "WarningFeatureConfig",
    "applications_on",
    "assess_eligibility",
    "build_features",
    "build_warning_features",
    "categorical_columns",
    "check_label_kinds",
    "feature_specs",
    "first_bad_day",
    "graph_features",
    "loan_outcomes",
    "month_start",
    "own_record_specs",
    "validate_applications",
    "warning_feature_specs",
    "warning_labels",
    "warning_population",
]


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name, globals())


def __dir__() -> list[str]:
    return _EXPORTS.names(globals())
