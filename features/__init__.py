"""Point-in-time feature tables: platform data, the pre-credit and warning features, the one
graph-feature builder, the feature catalog, eligibility and labels."""

from features.catalog import (
    CONCEPTS,
    FEATURE_SOURCES,
    KIND_GROUP_CONCEPTS,
    TAX_GRADE_SCORES,
    Concept,
    FeatureCatalog,
    FeatureSpec,
)
from features.data import GraphArrays, PlatformData
from features.eligibility import ELIGIBILITY_COLUMNS, EligibilityPolicy, assess_eligibility
from features.encoding import MISSING_CODE, CategoryEncoder, categorical_columns
from features.graph import GRAPH_FEATURES, graph_features
from features.history import (
    DOMAIN_GROUPS,
    KIND_GROUPS,
    LINKED_DISHONEST_KINDS,
    POSITIVE_GROUPS,
)
from features.outcomes import HORIZON_MONTHS, loan_outcomes
from features.precredit import (
    BAD_LOAN_STATUSES,
    FeatureConfig,
    applications_on,
    build_features,
    feature_specs,
    month_start,
    validate_applications,
)
from features.validation import check_bool, check_choice, check_int, check_real, check_str
from features.warning import (
    INDUSTRY_CODES,
    KIND_CODES,
    WarningFeatureConfig,
    build_warning_features,
    check_label_kinds,
    warning_feature_specs,
    warning_labels,
    warning_population,
)

__all__ = [
    "BAD_LOAN_STATUSES",
    "CONCEPTS",
    "DOMAIN_GROUPS",
    "ELIGIBILITY_COLUMNS",
    "FEATURE_SOURCES",
    "GRAPH_FEATURES",
    "HORIZON_MONTHS",
    "INDUSTRY_CODES",
    "KIND_CODES",
    "KIND_GROUPS",
    "KIND_GROUP_CONCEPTS",
    "LINKED_DISHONEST_KINDS",
    "MISSING_CODE",
    "POSITIVE_GROUPS",
    "TAX_GRADE_SCORES",
    "CategoryEncoder",
    "Concept",
    "EligibilityPolicy",
    "FeatureCatalog",
    "FeatureConfig",
    "FeatureSpec",
    "GraphArrays",
    "PlatformData",
    "WarningFeatureConfig",
    "applications_on",
    "assess_eligibility",
    "build_features",
    "build_warning_features",
    "categorical_columns",
    "check_bool",
    "check_choice",
    "check_int",
    "check_label_kinds",
    "check_real",
    "check_str",
    "feature_specs",
    "graph_features",
    "loan_outcomes",
    "month_start",
    "validate_applications",
    "warning_feature_specs",
    "warning_labels",
    "warning_population",
]
