"""Point-in-time feature tables for pre-credit: platform data, features, eligibility, labels."""

from features.data import GraphArrays, PlatformData
from features.eligibility import ELIGIBILITY_COLUMNS, EligibilityPolicy, assess_eligibility
from features.encoding import MISSING_CODE, CategoryEncoder, categorical_columns
from features.outcomes import HORIZON_MONTHS, loan_outcomes
from features.precredit import (
    BAD_LOAN_STATUSES,
    CONCEPTS,
    DOMAIN_GROUPS,
    KIND_GROUPS,
    LINKED_DISHONEST_KINDS,
    Concept,
    FeatureConfig,
    FeatureSpec,
    applications_on,
    build_features,
    feature_specs,
    month_start,
    validate_applications,
)

__all__ = [
    "BAD_LOAN_STATUSES",
    "CONCEPTS",
    "DOMAIN_GROUPS",
    "ELIGIBILITY_COLUMNS",
    "HORIZON_MONTHS",
    "KIND_GROUPS",
    "LINKED_DISHONEST_KINDS",
    "MISSING_CODE",
    "CategoryEncoder",
    "Concept",
    "EligibilityPolicy",
    "FeatureConfig",
    "FeatureSpec",
    "GraphArrays",
    "PlatformData",
    "applications_on",
    "assess_eligibility",
    "build_features",
    "categorical_columns",
    "feature_specs",
    "loan_outcomes",
    "month_start",
    "validate_applications",
]
