"""What the pre-credit assessment routes do beyond HTTP (:mod:`serving.routes.precredit`).

:func:`check_assessment_authorization` checks a bank's authorization in a body
(:func:`serving.checks.check_authorization`, for :data:`ASSESSMENT_PURPOSES`);
:func:`known_uscc` the USCC, which the champions must have assessed; :func:`assess_items`
answers a batch, each item's refusal in its place with the one error body; :func:`audit_items`
writes the batch's audit rows, one per item; :func:`record_request` puts what a call asks about
into its audit context. The champions themselves and their assessments are
:mod:`serving.precredit`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from risk.exceptions import InvalidIdentifierError, UnknownEntityError
from risk.identifiers import mask_id_numbers
from serving.audit import AuditContext, Purpose, audit_row, insert_audit_rows, printable
from serving.checks import BODY_FIELDS, check_authorization, checked_uscc
from serving.errors import error_body
from serving.exceptions import AuthorizationReferenceError, ServiceUnavailableError
from serving.middleware import item_request_id
from serving.precredit import Champions
from serving.schemas_precredit import (
    AssessmentRequest,
    AuthorizationIn,
    BatchItemResult,
    BatchResponse,
)
from serving.state import ServiceState

__all__ = [
    "ASSESSMENT_PURPOSES",
    "BATCH_ROUTE",
    "assess_items",
    "audit_items",
    "check_assessment_authorization",
    "known_uscc",
    "loaded_champions",
    "record_request",
]

ASSESSMENT_PURPOSES = (Purpose.pre_credit, Purpose.credit_approval)
"""The purposes an enterprise's authorization must name for a pre-credit assessment."""
BATCH_ROUTE = "/v1/precredit/assessments:batch"
"""The route the batch's per-item audit rows name."""


def loaded_champions(state: ServiceState) -> Champions:
    """The champions this process serves.

    Raises
    ------
    ServiceUnavailableError
        While none are loaded, saying why (503).
    """
    models = state.models  # read once: a reload swaps the whole dict
    loaded = next(iter(models.values()), None)
    if loaded is None or not isinstance(loaded.model, Champions):
        reason = state.models_error or "the pre-credit models are not loaded"
        raise ServiceUnavailableError(f"pre-credit assessments are unavailable: {reason}")
    return loaded.model


def record_request(context: AuditContext | None, request: AssessmentRequest) -> None:
    """Write what an assessment asks about (USCC, authorization) to its call's audit context."""
    if context is None:
        return
    auth = request.authorization or AuthorizationIn()
    context.uscc = printable(request.uscc)
    context.record_authorization(auth.id, auth.purpose, auth.expires_at)


def check_assessment_authorization(
    authorization: AuthorizationIn | None, today: date, max_days: int
) -> None:
    """A bank's authorization in an assessment's body: present, within its dates, for
    pre-credit (:func:`serving.checks.check_authorization`, ``max_days`` the policy's cap).

    Raises
    ------
    AuthorizationReferenceError
        403 naming the body's field.
    """
    auth = authorization or AuthorizationIn()
    check_authorization(
        auth.id,
        auth.purpose,
        auth.expires_at,
        auth.granted_at,
        fields=BODY_FIELDS,
        today=today,
        max_days=max_days,
        purposes=ASSESSMENT_PURPOSES,
    )


def known_uscc(bundle: Champions, value: str, allowlist: Iterable[str]) -> str:
    """The body's USCC normalised and checked (:func:`serving.checks.checked_uscc`), and
    assessed by the champions (an enterprise of the store).

    Raises
    ------
    InvalidIdentifierError
        422 naming ``uscc`` and the failed check.
    UnknownEntityError
        404.
    """
    uscc = checked_uscc(value, allowlist, location="body")
    if uscc not in bundle.assessments:
        raise UnknownEntityError(f"enterprise {uscc} is not on the platform")
    return uscc


def assess_items(
    bundle: Champions,
    items: Sequence[AssessmentRequest],
    *,
    bank: bool,
    today: date,
    max_days: int,
    allowlist: Iterable[str],
    request_id: str | None,
) -> BatchResponse:
    """Assess a batch: each item as a single assessment, its refusal (403, 422, 404) answered
    in its place with the one error body; the other items are still assessed."""
    allowed = tuple(allowlist)
    results: list[BatchItemResult] = []
    for index, item in enumerate(items):
        try:
            if bank:
                check_assessment_authorization(item.authorization, today, max_days)
            uscc = known_uscc(bundle, item.uscc, allowed)
        except (AuthorizationReferenceError, InvalidIdentifierError, UnknownEntityError) as exc:
            status, error = error_body(exc, request_id)
            # An item refused for what it sent echoes it masked: a bank may send an ID number
            # as a USCC.
            results.append(
                BatchItemResult(
                    index=index, uscc=mask_id_numbers(item.uscc), status=status, error=error
                )
            )
            continue
        auth_id = item.authorization.id if item.authorization else None
        results.append(
            BatchItemResult(
                index=index, uscc=uscc, status=200, assessment=bundle.assessment(uscc, auth_id)
            )
        )
    succeeded = sum(r.status == 200 for r in results)
    return BatchResponse(
        n=len(results), succeeded=succeeded, failed=len(results) - succeeded, results=results
    )


def audit_items(
    engine: Engine,
    context: AuditContext,
    *,
    request_id: str,
    method: str,
    items: Sequence[AssessmentRequest],
    response: BatchResponse,
) -> None:
    """One audit row per batch item, in one transaction, before the answer is returned
    (:mod:`serving.routes.precredit` has the rows' shape)."""
    at = datetime.now(UTC)
    rows = []
    for item, result in zip(items, response.results, strict=True):
        item_context = AuditContext(key=context.key)
        record_request(item_context, item)
        rows.append(
            audit_row(
                item_context,
                request_id=item_request_id(request_id, result.index),
                method=method,
                route=BATCH_ROUTE,
                query=f"item={result.index}&request_id={request_id}",
                status=result.status,
                body=json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode(),
                at=at,
            )
        )
    insert_audit_rows(engine, rows)
