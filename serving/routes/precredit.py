"""信易贷 pre-credit assessments for banks (DESIGN.md §5–6).

``POST /v1/precredit/assessments``
    One enterprise: eligibility and decline reasons, PD and grade, suggested limit and range,
    reasons (≤ 4 each way, Chinese and English), the model versions, the date. The bank sends
    the enterprise's authorization in the body (``authorization.id`` 授权编号, ``purpose``
    ``pre_credit`` or ``credit_approval``, ``granted_at``, ``expires_at``); missing, expired,
    not yet granted or for another purpose → 403. The call is audited like every bank call
    (its row carries the USCC and the authorization).

``POST /v1/precredit/assessments:batch``
    Up to 1,000 items (more → 422); each item's refusal (403, 422, 404) is
    reported inline with its own status and the one error body. Audit: **one row per item**
    (route ``…/assessments:batch``, query ``item=<index>&request_id=<the call's id>``, the
    item's USCC, authorization, status and the SHA-256 of the item's result JSON; its
    ``request_id``, unique in the log and read back to the call by
    :func:`serving.middleware.call_of_item`, is :func:`serving.middleware.item_request_id`),
    committed in one transaction before the answer is built, **plus** the middleware's row
    for the call itself (no USCC).

Admins may call both (without an authorization); other roles get 403. The answers are the
current score set's: ``credlink pipeline run`` assessed every enterprise of the store with the
champions of its day, and a call reads its row by key (its ``X-Score-Set`` header names the
set); 503 ``unavailable`` while no champion is loaded or the set holds no assessments. The
checks, the batch and its audit rows are :mod:`serving.assessments`'.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response

from serving import assessments
from serving.audit import audit_context_of
from serving.checks import checked_uscc
from serving.deps import StateDep, require_roles
from serving.errors import ERROR_RESPONSES, request_id_of, responses
from serving.keys import ApiKey
from serving.precredit import Champions
from serving.roles import KeyRole
from serving.schemas import USCC_EXAMPLE
from serving.schemas_precredit import Assessment, AssessmentRequest, BatchRequest, BatchResponse
from serving.scores import SCORE_SET_HEADER

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/precredit",
    tags=["precredit"],
    responses={**ERROR_RESPONSES, **responses(404, 503)},
)

_AUTH = {
    "id": "SQ-2026-000123",
    "purpose": "pre_credit",
    "granted_at": "2026-06-01",
    "expires_at": "2027-06-30",
}
_ONE = {"uscc": USCC_EXAMPLE, "authorization": _AUTH}
AssessmentBody = Annotated[
    AssessmentRequest,
    Body(openapi_examples={"assess": {"summary": "One enterprise", "value": _ONE}}),
]
BatchBody = Annotated[
    BatchRequest,
    Body(openapi_examples={"batch": {"summary": "Items", "value": {"items": [_ONE]}}}),
]
AssessorKey = Annotated[ApiKey, Depends(require_roles(KeyRole.bank))]


async def champions(state: StateDep) -> Champions:
    """The loaded champions (503 with the reason while there are none)."""
    return assessments.loaded_champions(state)


ChampionsDep = Annotated[Champions, Depends(champions)]


@router.post(
    "/assessments",
    summary="Pre-credit assessment of one enterprise (信易贷预授信)",
    response_model=Assessment,
)
def assess(request: Request, body: AssessmentBody, key: AssessorKey, state: StateDep) -> Response:
    """Eligibility (decline reasons), PD and grade, suggested limit and low–high range (万元),
    reasons (≤ 4 each way, zh/en), model versions and date. Banks must send the authorization.
    """
    assessments.record_request(audit_context_of(request.scope), body)
    if key.role == KeyRole.bank:
        assessments.check_assessment_authorization(
            body.authorization, date.today(), state.settings.authorization_max_days
        )
    assessments.loaded_champions(state)
    served = state.scores.require()
    uscc = checked_uscc(body.uscc, state.allowlist, location="body")
    auth_id = body.authorization.id if body.authorization else None
    answer = assessments.stored_assessment(state.scores, served, uscc, auth_id)
    return Response(
        assessments.ASSESSMENT_JSON.dump_json(answer),
        media_type="application/json",
        headers={SCORE_SET_HEADER: served.label},
    )


@router.post(
    "/assessments:batch", summary="Pre-credit assessments of up to 1,000 enterprises at once"
)
def assess_batch(
    request: Request,
    response: Response,
    body: BatchBody,
    key: AssessorKey,
    state: StateDep,
    _bundle: ChampionsDep,
) -> BatchResponse:
    """Each item as ``/assessments``; refusals are reported per item (status and error) and
    the other items are still scored. Every item is audited (module docstring)."""
    served = state.scores.require()
    response.headers[SCORE_SET_HEADER] = served.label
    request_id = request_id_of(request.scope)
    answer = assessments.assess_items(
        state.scores,
        served,
        body.items,
        bank=key.role == KeyRole.bank,
        today=date.today(),
        max_days=state.settings.authorization_max_days,
        allowlist=state.allowlist,
        request_id=request_id,
    )
    context = audit_context_of(request.scope)
    if context is not None:
        assessments.audit_items(
            state.engine,
            context,
            request_id=request_id or "",
            method=request.method,
            items=body.items,
            response=answer,
        )
    return answer
