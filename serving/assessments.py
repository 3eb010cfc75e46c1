"""What the pre-credit assessment routes do beyond HTTP (:mod:`serving.routes.precredit`).

:func:`check_assessment_authorization` checks a bank's authorization in a body
(:func:`serving.checks.check_authorization`, for :data:`ASSESSMENT_PURPOSES`);
:func:`stored_assessment` reads an enterprise's assessment from the current score set (the
pipeline assessed every enterprise of the store with the champions: :mod:`serving.precredit`)
and names the call's authorization in it; :func:`assess_items` answers a batch, each item's
refusal in its place with the one error body, the items' rows read in one query;
:func:`audit_items` writes the batch's audit rows, one per item; :func:`record_request` puts
what a call asks about into its audit context.

When there is nothing to answer from
    No champion loaded (:func:`loaded_champions`) or a score set without assessments
    (:func:`check_assessed`): 503 saying why. An enterprise the set did not assess (not in the
    store when it was computed): 404, as for any enterprise unknown to the platform.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import TypeAdapter
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
    Assessment,
    AssessmentRequest,
    AuthorizationIn,
    BatchItemResult,
    BatchResponse,
)
from serving.scores import ScoreReader, ServedSet
from serving.state import ServiceState

__all__ = [
    "ASSESSMENT_JSON",
    "ASSESSMENT_PURPOSES",
    "BATCH_ROUTE",
    "assess_items",
    "audit_items",
    "check_assessed",
    "check_assessment_authorization",
    "loaded_champions",
    "record_request",
    "stored_assessment",
]

ASSESSMENT_PURPOSES = (Purpose.pre_credit, Purpose.credit_approval)
"""The purposes an enterprise's authorization must name for a pre-credit assessment."""
BATCH_ROUTE = "/v1/precredit/assessments:batch"
"""The route the batch's per-item audit rows name."""
ASSESSMENT_JSON = TypeAdapter(Assessment)
"""Validates a stored body and dumps an answer."""
_KIND = "assessments"


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


def check_assessed(served: ServedSet) -> None:
    """The current score set must hold assessments (the pipeline skips them without
    champions).

    Raises
    ------
    ServiceUnavailableError
        503 saying to run the pipeline.
    """
    if not served.has(_KIND):
        raise ServiceUnavailableError(
            f"pre-credit assessments are unavailable: score set {served.set_id} holds none; "
            "run `credlink pipeline run` with the champions promoted"
        )


def _unknown(uscc: str) -> UnknownEntityError:
    return UnknownEntityError(f"enterprise {uscc} is not on the platform")


def _answer(row: dict[str, Any], authorization_id: str | None) -> Assessment:
    """The stored body (the API's assessment without an authorization id) naming the call's
    authorization."""
    return ASSESSMENT_JSON.validate_python({**row["body"], "authorization_id": authorization_id})


def stored_assessment(
    reader: ScoreReader, served: ServedSet, uscc: str, authorization_id: str | None
) -> Assessment:
    """An enterprise's assessment in the score set, naming the authorization it answers.

    ``uscc`` is normalised and checked (:func:`serving.checks.checked_uscc`).

    Raises
    ------
    ServiceUnavailableError
        If the set holds no assessments (:func:`check_assessed`).
    UnknownEntityError
        404 if the set did not assess it.
    """
    check_assessed(served)
    row = reader.row(served, _KIND, uscc)
    if row is None:
        raise _unknown(uscc)
    return _answer(row, authorization_id)


def assess_items(
    reader: ScoreReader,
    served: ServedSet,
    items: Sequence[AssessmentRequest],
    *,
    bank: bool,
    today: date,
    max_days: int,
    allowlist: Iterable[str],
    request_id: str | None,
) -> BatchResponse:
    """Assess a batch: each item as a single assessment, its refusal (403, 422, 404) answered
    in its place with the one error body; the other items are still assessed. The items' rows
    are read from the set in one query.

    Raises
    ------
    ServiceUnavailableError
        If the set holds no assessments (:func:`check_assessed`).
    """
    check_assessed(served)
    allowed = tuple(allowlist)
    checked: list[str | Exception] = []
    for item in items:
        try:
            if bank:
                check_assessment_authorization(item.authorization, today, max_days)
            checked.append(checked_uscc(item.uscc, allowed, location="body"))
        except (AuthorizationReferenceError, InvalidIdentifierError) as exc:
            checked.append(exc)
    rows = reader.rows(served, _KIND, [c for c in checked if isinstance(c, str)])
    results: list[BatchItemResult] = []
    for index, (item, uscc) in enumerate(zip(items, checked, strict=True)):
        if isinstance(uscc, str) and uscc not in rows:
            uscc = _unknown(uscc)
        if isinstance(uscc, Exception):
            status, error = error_body(uscc, request_id)
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
                index=index, uscc=uscc, status=200, assessment=_answer(rows[uscc], auth_id)
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
