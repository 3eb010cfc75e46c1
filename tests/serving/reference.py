"""The validated reference of the pipeline's assessments: each one built as the pydantic
:class:`serving.schemas_precredit.Assessment`, field by field, from a row of
:meth:`models.scoring.PrecreditScorer.score`. The product writes the same JSON without the
validation (:func:`serving.precredit.assessment_frames`); the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

import pandas as pd

from features.data import PlatformData
from models.scoring import PrecreditScorer
from serving.schemas_precredit import (
    Assessment,
    DeclineReason,
    LimitOffer,
    ModelRef,
    NotWhitelistedReason,
    Reason,
)

__all__ = ["assess_all", "assessment_from_row", "score_rows"]

_PolicyReason = TypeVar("_PolicyReason", DeclineReason, NotWhitelistedReason)


def _reasons(row: Mapping[str, Any], side: str) -> list[Reason]:
    return [
        Reason(code=str(c), zh=str(z), en=str(e), contribution=round(float(v), 6))
        for c, z, e, v in zip(
            row[f"{side}_reasons"],
            row[f"{side}_reasons_zh"],
            row[f"{side}_reasons_en"],
            row[f"{side}_contributions"],
            strict=True,
        )
    ]


def _policy_reasons(
    kind: type[_PolicyReason], row: Mapping[str, Any], codes: str, reasons: str
) -> list[_PolicyReason]:
    return [
        kind(code=str(c), zh=str(z), en=str(e))
        for c, z, e in zip(row[codes], row[f"{reasons}_zh"], row[f"{reasons}_en"], strict=True)
    ]


def assessment_from_row(
    row: Mapping[str, Any], versions: Mapping[str, str], as_of: date
) -> Assessment:
    """The API's assessment from one row of :meth:`PrecreditScorer.score` (reasons as text)."""
    eligible = bool(row["eligible"])
    offered = eligible and float(row["suggested_limit"]) > 0
    return Assessment(
        uscc=str(row["uscc"]),
        as_of=as_of,
        eligible=eligible,
        whitelisted=bool(row["whitelisted"]),
        decline_reasons=_policy_reasons(DeclineReason, row, "decline_codes", "decline_reasons"),
        not_whitelisted_reasons=_policy_reasons(
            NotWhitelistedReason, row, "not_whitelisted_codes", "not_whitelisted_reasons"
        ),
        pd=float(row["pd"]),
        grade=int(row["grade"]),
        pd_band=int(row["pd_band"]),
        expected_bad_rate=float(row["expected_bad_rate"]),
        limit=LimitOffer(
            suggested=round(float(row["suggested_limit"]), 2),
            low=round(float(row["limit_low"]), 2),
            high=round(float(row["limit_high"]), 2),
        )
        if offered
        else None,
        risk_reasons=_reasons(row, "risk"),
        strength_reasons=_reasons(row, "strength"),
        models=[ModelRef(name=n, version=v) for n, v in versions.items()],
        authorization_id=None,
    )


def score_rows(
    scorer: PrecreditScorer, data: PlatformData, usccs: list[str], as_of: date
) -> list[dict[str, Any]]:
    """Score enterprises as of ``as_of``: the rows of :meth:`PrecreditScorer.score`, in order."""
    apps = pd.DataFrame({"uscc": usccs, "as_of": [as_of] * len(usccs)})
    scored = scorer.score(data, apps, reasons="text")
    return [dict(zip(scored.columns, values, strict=True)) for values in scored.itertuples(False)]


def assess_all(
    scorer: PrecreditScorer,
    data: PlatformData,
    usccs: list[str],
    versions: Mapping[str, str],
    as_of: date,
    *,
    chunk: int = 5000,
) -> dict[str, Assessment]:
    """Assess ``usccs`` as of ``as_of`` in chunks of ``chunk``; USCC → assessment."""
    assessments: dict[str, Assessment] = {}
    for first in range(0, len(usccs), chunk):
        for row in score_rows(scorer, data, usccs[first : first + chunk], as_of):
            assessments[str(row["uscc"])] = assessment_from_row(row, versions, as_of)
    return assessments
