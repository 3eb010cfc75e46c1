"""Request and response bodies of the pre-credit, outcomes and models routes (pydantic).

Amounts are 万元 (as in the data contract). Reasons come from exact LightGBM contributions
(:mod:`models.reasons`), at most four each way, in Chinese and English.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from serving.audit import Purpose
from serving.checks import AUTHORIZATION_ID_PATTERN
from serving.errors import ErrorBody
from serving.schemas import USCC_EXAMPLE

_AUTH_EXAMPLE: dict[str, Any] = {
    "id": "SQ-2026-000123",
    "purpose": "pre_credit",
    "granted_at": "2026-06-01",
    "expires_at": "2027-06-30",
}
_MODEL_REF_EXAMPLE: list[Any] = [
    {"name": "credlink-pd", "version": "3"},
    {"name": "credlink-limit", "version": "3"},
]
_ASSESSMENT_EXAMPLE: dict[str, Any] = {
    "uscc": USCC_EXAMPLE,
    "as_of": "2026-06-30",
    "eligible": True,
    "whitelisted": True,
    "decline_reasons": [],
    "not_whitelisted_reasons": [],
    "pd": 0.0213,
    "grade": 1,
    "pd_band": 4,
    "expected_bad_rate": 0.0198,
    "limit": {"suggested": 80.0, "low": 55.0, "high": 110.0, "unit": "万元"},
    "risk_reasons": [
        {
            "code": "linked_risk",
            "zh": "关联企业存在失信记录",
            "en": "Linked enterprises have dishonesty records",
            "contribution": 0.31,
        }
    ],
    "strength_reasons": [
        {
            "code": "tax_paid",
            "zh": "近两年纳税稳定增长",
            "en": "Tax paid grew steadily over two years",
            "contribution": -0.52,
        }
    ],
    "models": _MODEL_REF_EXAMPLE,
    "authorization_id": "SQ-2026-000123",
}
OUTCOMES_EXAMPLE: dict[str, Any] = {
    "loans": [
        {
            "loan_id": "L-2026-0001",
            "uscc": USCC_EXAMPLE,
            "bank": "清源农商银行",
            "applied": "2026-03-02",
            "approved_amount": 50,
            "drawn_amount": 50,
            "term_months": 12,
            "status": "performing",
            "status_date": "2026-06-30",
        }
    ]
}
"""The example body of ``POST /v1/outcomes`` (the schema's and the route's)."""

__all__ = [
    "MAX_BATCH",
    "MAX_OUTCOME_ROWS",
    "OUTCOMES_EXAMPLE",
    "Assessment",
    "AssessmentRequest",
    "AuthorizationIn",
    "BatchItemResult",
    "BatchRequest",
    "BatchResponse",
    "DeclineReason",
    "LimitOffer",
    "LoanRow",
    "ModelRef",
    "ModelVersionOut",
    "ModelsList",
    "NotWhitelistedReason",
    "OutcomesRequest",
    "OutcomesSummary",
    "QuarantinedRow",
    "Reason",
    "ReloadResult",
]

MAX_BATCH = 1000
MAX_OUTCOME_ROWS = 10_000


class AuthorizationIn(BaseModel):
    """The enterprise's authorization (授权) a bank relies on.

    Every field is optional in the schema so that a missing one is refused with a 403
    ``authorization_required`` naming it (and audited), like the GET routes' headers. The dates
    are checked by the same rule as the headers' (:func:`serving.checks.check_authorization`):
    the service's today and its policy cap are not the schema's to know.
    """

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None,
        pattern=AUTHORIZATION_ID_PATTERN,
        description="授权编号 (ASCII letters, digits, . _ : / -; 1–64 characters).",
        examples=["SQ-2026-000123"],
    )
    purpose: Purpose | None = Field(
        default=None, description="pre_credit or credit_approval.", examples=["pre_credit"]
    )
    granted_at: date | None = Field(
        default=None, description="Day it was granted (today or earlier)."
    )
    expires_at: date | None = Field(
        default=None,
        description="Last day it is valid: today or later, and at most "
        "CREDLINK_AUTHORIZATION_MAX_DAYS (default 366) days after today.",
    )


class AssessmentRequest(BaseModel):
    """One pre-credit assessment: the enterprise and its authorization."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "uscc": USCC_EXAMPLE,
                    "authorization": _AUTH_EXAMPLE,
                }
            ]
        },
    )

    uscc: str = Field(min_length=1, max_length=64, description="统一社会信用代码.")
    authorization: AuthorizationIn | None = None


class BatchRequest(BaseModel):
    """Up to 1,000 assessments; each item carries its own authorization."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": [{"uscc": USCC_EXAMPLE, "authorization": _AUTH_EXAMPLE}]}]
        },
    )

    items: Annotated[list[AssessmentRequest], Field(min_length=1, max_length=MAX_BATCH)]


class DeclineReason(BaseModel):
    """Why the eligibility policy (失信联合惩戒) declines the enterprise."""

    code: str
    zh: str
    en: str


class NotWhitelistedReason(BaseModel):
    """Why an enterprise is not on the 信易贷白名单: ``declined`` (the eligibility rules),
    ``no_limit`` (the suggested limit is zero) or ``grade_above_whitelist`` (its PD band is
    above the cut)."""

    code: str
    zh: str
    en: str


class Reason(BaseModel):
    """One reason of the PD (a concept), from its exact contribution (log-odds)."""

    code: str
    zh: str
    en: str
    contribution: float


class LimitOffer(BaseModel):
    """Suggested limit and its range (万元); absent when declined."""

    suggested: float
    low: float
    high: float
    unit: str = "万元"


class ModelRef(BaseModel):
    """A model version that produced an answer."""

    name: str
    version: str


class Assessment(BaseModel):
    """The pre-credit assessment of one enterprise."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ASSESSMENT_EXAMPLE]})

    uscc: str
    as_of: date = Field(description="Assessment date (the current score set's date).")
    eligible: bool
    whitelisted: bool = Field(description="On the 信易贷白名单 (eligible, offered, PD band in).")
    decline_reasons: list[DeclineReason]
    not_whitelisted_reasons: list[NotWhitelistedReason] = Field(
        description="Why the enterprise is not on the 白名单 (empty when it is)."
    )
    pd: float = Field(description="Calibrated 12-month probability of default.")
    grade: int = Field(
        description="The PD model's fitted grade (1 = best; each grade's observed bad rate "
        "is higher than the one before on held-out loans)."
    )
    pd_band: int = Field(
        description="The PD's band on the fixed master scale (1–8: 0.5 %, 1 %, … 30 %), "
        "which the limit and the 白名单 cut read."
    )
    expected_bad_rate: float = Field(description="Mean PD of held-out loans in the grade.")
    limit: LimitOffer | None
    risk_reasons: list[Reason] = Field(description="What raises the PD (≤ 4).")
    strength_reasons: list[Reason] = Field(description="What lowers the PD (≤ 4).")
    models: list[ModelRef]
    authorization_id: str | None = None


class BatchItemResult(BaseModel):
    """One item of a batch: its status and either the assessment or the error."""

    index: int
    uscc: str
    status: int
    assessment: Assessment | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    """Per-item results, in request order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "n": 1,
                    "succeeded": 1,
                    "failed": 0,
                    "results": [
                        {
                            "index": 0,
                            "uscc": USCC_EXAMPLE,
                            "status": 200,
                            "assessment": _ASSESSMENT_EXAMPLE,
                            "error": None,
                        }
                    ],
                }
            ]
        }
    )

    n: int
    succeeded: int
    failed: int
    results: list[BatchItemResult]


_Cell = str | int | float | None


class LoanRow(BaseModel):
    """A row of the contract's ``loans`` table; values are validated by the ingest."""

    model_config = ConfigDict(extra="forbid")

    loan_id: _Cell = None
    uscc: _Cell = None
    bank: _Cell = None
    applied: _Cell = None
    approved_amount: _Cell = None
    drawn_amount: _Cell = None
    term_months: _Cell = None
    status: _Cell = None
    status_date: _Cell = None
    overdue_90_date: _Cell = None
    default_date: _Cell = None


class OutcomesRequest(BaseModel):
    """Funded loans and their latest status (up to 10,000 rows a call)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [OUTCOMES_EXAMPLE]},
    )

    loans: Annotated[list[LoanRow], Field(min_length=1, max_length=MAX_OUTCOME_ROWS)]


class QuarantinedRow(BaseModel):
    """A refused row: its position in ``loans`` and why."""

    index: int = Field(description="Position in the posted list (0-based).")
    column: str | None
    reason: str


class OutcomesSummary(BaseModel):
    """The ingest summary: ``read = inserted + updated + unchanged + quarantined``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_id": 12,
                    "read": 2,
                    "inserted": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "quarantined": 1,
                    "orphans": 0,
                    "quarantine": [
                        {"index": 1, "column": "status", "reason": "status must be one of …"}
                    ],
                }
            ]
        }
    )

    batch_id: int | None
    read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    orphans: int = Field(description="Rows whose enterprise is not in the store (yet).")
    quarantine: list[QuarantinedRow]


class ModelVersionOut(BaseModel):
    """A registered model version."""

    name: str
    version: str
    aliases: list[str]
    run_id: str | None
    created: datetime
    serving: bool = Field(description="This process scores with it now.")


class ModelsList(BaseModel):
    """Registered versions and what is serving."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "registered": [
                        {
                            "name": "credlink-pd",
                            "version": "3",
                            "aliases": ["champion"],
                            "run_id": "0f3c9a…",
                            "created": "2026-07-01T02:00:00Z",
                            "serving": True,
                        }
                    ],
                    "serving": [
                        {
                            "name": "credlink-pd",
                            "version": "3",
                            "alias": "champion",
                            "loaded_at": "2026-07-01T03:00:00Z",
                        }
                    ],
                    "error": None,
                    "answering": [{"name": "credlink-pd", "version": "3"}],
                    "problems": [],
                }
            ]
        }
    )

    registered: list[ModelVersionOut]
    serving: list[dict[str, Any]]
    error: str | None = Field(default=None, description="Why no model is serving, if none.")
    answering: list[ModelRef] = Field(
        default_factory=list,
        description="The versions the current score set's assessments come from: what "
        "assessments answer (`credlink pipeline run` assesses with the champions).",
    )
    problems: list[str] = Field(
        default_factory=list,
        description="Where the loaded champions and the current score set disagree.",
    )


class ReloadResult(BaseModel):
    """The champions before and after a reload."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"previous": _MODEL_REF_EXAMPLE, "current": _MODEL_REF_EXAMPLE, "changed": False}
            ]
        }
    )

    previous: list[ModelRef]
    current: list[ModelRef]
    changed: bool
