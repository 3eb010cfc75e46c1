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

Admins may call both (without an authorization); other roles get 403. The assessment date is
the service's snapshot date; the models are the champions loaded at startup or by the last
reload (503 ``unavailable`` while none are loaded), which assessed every enterprise when they
loaded (:mod:`serving.precredit`): a call looks its answer up.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response

from risk.exceptions import InvalidIdentifierError, UnknownEntityError
from risk.identifiers import check_uscc, mask_id_numbers
from serving.audit import (
    AuditContext,
    Purpose,
    audit_context_of,
    audit_row,
    insert_audit_rows,
    printable,
)
from serving.deps import (
    StateDep,
    check_authorization_dates,
    check_authorization_id,
    require_roles,
)
from serving.errors import ERROR_RESPONSES, ErrorBody, error_status, request_id_of, responses
from serving.exceptions import AuthorizationReferenceError, ServiceUnavailableError
from serving.keys import ApiKey
from serving.middleware import item_request_id
from serving.precredit import Champions
from serving.roles import KeyRole
from serving.schemas import USCC_EXAMPLE
from serving.schemas_precredit import (
    Assessment,
    AssessmentRequest,
    AuthorizationIn,
    BatchItemResult,
    BatchRequest,
    BatchResponse,
)
from serving.state import ServiceState

__all__ = ["ASSESSMENT_PURPOSES", "router"]

ASSESSMENT_PURPOSES = (Purpose.pre_credit, Purpose.credit_approval)
_BATCH_ROUTE = "/v1/precredit/assessments:batch"

router = APIRouter(
    prefix="/v1/precredit",
    tags=["precredit"],
    responses={**ERROR_RESPONSES, **responses(404, 503)},
)

_AUTH = {
    "id": "SQ-2026-000123",
    "purpose": "pre_credit",
    "granted_at": "2026-06-01",
    "expires_at": "2026-12-31",
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
    models = state.models  # read once: a reload swaps the whole dict
    loaded = next(iter(models.values()), None)
    if loaded is None or not isinstance(loaded.model, Champions):
        reason = state.models_error or "the pre-credit models are not loaded"
        raise ServiceUnavailableError(f"pre-credit assessments are unavailable: {reason}")
    return loaded.model


ChampionsDep = Annotated[Champions, Depends(champions)]


# --------------------------------------------------------------------------- checks


def check_authorization(auth: AuthorizationIn | None, today: date, max_days: int) -> None:
    """A bank's authorization in the body: present, for pre-credit, within its dates
    (:func:`serving.deps.check_authorization_dates`, ``max_days`` the policy's cap).

    Raises
    ------
    AuthorizationReferenceError
        403 ``authorization_required``, ``authorization_expired``,
        ``authorization_not_yet_valid``, ``authorization_too_long`` or
        ``authorization_purpose``, naming the field.
    """
    sent = {
        "authorization.id": auth.id if auth else None,
        "authorization.purpose": auth.purpose if auth else None,
        "authorization.granted_at": auth.granted_at if auth else None,
        "authorization.expires_at": auth.expires_at if auth else None,
    }
    missing = [name for name, value in sent.items() if value is None]
    if missing:
        raise AuthorizationReferenceError(
            "authorization_required",
            missing[0],
            "bank assessments must carry the enterprise's authorization; missing "
            + ", ".join(missing),
        )
    assert auth is not None and auth.id is not None and auth.expires_at is not None
    check_authorization_id(auth.id, "authorization.id")
    check_authorization_dates(
        auth.id,
        auth.expires_at,
        auth.granted_at,
        today=today,
        max_days=max_days,
        fields=("authorization.expires_at", "authorization.granted_at"),
    )
    if auth.purpose not in ASSESSMENT_PURPOSES:
        allowed = ", ".join(p.value for p in ASSESSMENT_PURPOSES)
        raise AuthorizationReferenceError(
            "authorization_purpose",
            "authorization.purpose",
            f"authorization.purpose must be one of {allowed} for an assessment; got {auth.purpose}",
        )


def checked_uscc(state: ServiceState, bundle: Champions, value: str) -> str:
    """The body's USCC normalised and checked, and known to the store.

    Raises
    ------
    InvalidIdentifierError
        422 naming ``uscc`` and the failed check.
    UnknownEntityError
        404.
    """
    result = check_uscc(value, state.allowlist)
    if result.check is not None:
        error = InvalidIdentifierError("uscc", result.check, str(result.reason))
        error.location = "body"  # type: ignore[attr-defined]
        raise error
    if result.code not in bundle.assessments:
        raise UnknownEntityError(f"enterprise {result.code} is not on the platform")
    return result.code


def _record(context: AuditContext | None, uscc: str, auth: AuthorizationIn | None) -> None:
    if context is None:
        return
    context.uscc = printable(uscc)
    context.authorization_id = auth.id if auth else None
    context.purpose = auth.purpose.value if auth and auth.purpose else None
    context.authorization_expires = auth.expires_at if auth else None


# --------------------------------------------------------------------------- routes


@router.post(
    "/assessments",
    summary="Pre-credit assessment of one enterprise (信易贷预授信)",
    response_model=Assessment,
)
async def assess(
    request: Request, body: AssessmentBody, key: AssessorKey, state: StateDep
) -> Response:
    """Eligibility (decline reasons), PD and grade, suggested limit and low–high range (万元),
    reasons (≤ 4 each way, zh/en), model versions and date. Banks must send the authorization.
    """
    _record(audit_context_of(request.scope), body.uscc, body.authorization)
    if key.role == KeyRole.bank:
        check_authorization(body.authorization, date.today(), state.settings.authorization_max_days)
    bundle = await champions(state)
    uscc = checked_uscc(state, bundle, body.uscc)
    auth_id = body.authorization.id if body.authorization else None
    # The assessment was validated when the champions loaded: send its JSON as it is.
    return Response(bundle.assessment_json(uscc, auth_id), media_type="application/json")


@router.post(
    "/assessments:batch", summary="Pre-credit assessments of up to 1,000 enterprises at once"
)
def assess_batch(
    request: Request,
    body: BatchBody,
    key: AssessorKey,
    state: StateDep,
    bundle: ChampionsDep,
) -> BatchResponse:
    """Each item as ``/assessments``; refusals are reported per item (status and error) and
    the other items are still scored. Every item is audited (module docstring)."""
    today = date.today()
    results: list[BatchItemResult] = []
    for index, item in enumerate(body.items):
        try:
            if key.role == KeyRole.bank:
                check_authorization(
                    item.authorization, today, state.settings.authorization_max_days
                )
            uscc = checked_uscc(state, bundle, item.uscc)
        except (AuthorizationReferenceError, InvalidIdentifierError, UnknownEntityError) as exc:
            results.append(_failed(index, item.uscc, exc, request))
            continue
        auth_id = item.authorization.id if item.authorization else None
        results.append(
            BatchItemResult(
                index=index,
                uscc=uscc,
                status=200,
                assessment=bundle.assessment(uscc, auth_id),
            )
        )
    context = audit_context_of(request.scope)
    if context is not None:
        _audit_items(state, context, request, body, results)
    succeeded = sum(r.status == 200 for r in results)
    return BatchResponse(
        n=len(results), succeeded=succeeded, failed=len(results) - succeeded, results=results
    )


def _failed(index: int, uscc: str, exc: Exception, request: Request) -> BatchItemResult:
    status, code = error_status(exc)
    field = check = None
    if isinstance(exc, AuthorizationReferenceError):
        code, field, check = exc.code, exc.field, exc.code.removeprefix("authorization_")
    elif isinstance(exc, InvalidIdentifierError):
        field, check = exc.field, exc.check
    # An item refused for what it sent echoes it masked: a bank may send an ID number as a USCC.
    return BatchItemResult(
        index=index,
        uscc=mask_id_numbers(uscc),
        status=status,
        error=ErrorBody(
            code=code,
            message=mask_id_numbers(str(exc)),
            field=field,
            check=check,
            request_id=request_id_of(request.scope),
        ),
    )


def _audit_items(
    state: ServiceState,
    context: AuditContext,
    request: Request,
    body: BatchRequest,
    results: list[BatchItemResult],
) -> None:
    """One audit row per item, in one transaction, before the answer is returned."""
    at = datetime.now(UTC)
    request_id = request_id_of(request.scope) or ""
    rows = []
    for item, result in zip(body.items, results, strict=True):
        auth = item.authorization
        item_context = AuditContext(
            key=context.key,
            uscc=printable(item.uscc),
            authorization_id=auth.id if auth else None,
            purpose=auth.purpose.value if auth and auth.purpose else None,
            authorization_expires=auth.expires_at if auth else None,
        )
        rows.append(
            audit_row(
                item_context,
                request_id=item_request_id(request_id, result.index),
                method=request.method,
                route=_BATCH_ROUTE,
                query=f"item={result.index}&request_id={request_id}",
                status=result.status,
                body=json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode(),
                at=at,
            )
        )
    insert_audit_rows(state.engine, rows)
