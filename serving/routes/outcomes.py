"""Banks report loan outcomes (放款结果): ``POST /v1/outcomes``.

Outcomes are bound to authority (:mod:`serving.outcomes` has the rules): a loan is (bank,
loan_id), so a bank's report only ever touches its own loans; a bank reports a loan only for an
enterprise it holds an authorized, audited query for (else 403 ``authorization_required``
naming the row, ``loans[3].uscc``, and nothing is stored); the check and the write happen in
one serialised transaction; every call is audited, bank and admin alike, and each stored row is
recorded with the call's request id and the audit row of the query that entitled it.

A row without ``bank`` is the caller's institution's; a bank's row naming another bank refuses
the whole call with 403 naming the row (``loans[3].bank``). Admin keys may report for any bank.

Rows are validated as the ingest validates a file: the same checks, reasons and idempotency
by key. Posting the same rows twice changes nothing the second time (all ``unchanged``); a
changed status updates the row. Bad rows: the answer is **200** with the counts and
``quarantine`` listing each refused row (its 0-based index in ``loans``, the column and the
reason); the good rows of the same call are stored (one transaction). Only a refused call as a
whole — a required column absent from every row — is a 422 (``invalid_input``). Outcomes reach
the pre-credit features at the next model reload or restart.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from serving.audit import audit_context_of, open_audit
from serving.deps import StateDep, require_roles
from serving.errors import ERROR_RESPONSES, request_id_of
from serving.keys import ApiKey
from serving.outcomes import report_outcomes
from serving.roles import KeyRole
from serving.schemas_precredit import OUTCOMES_EXAMPLE, OutcomesRequest, OutcomesSummary

__all__ = ["router"]

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"], responses=ERROR_RESPONSES)


async def audited_reporter(
    request: Request, key: Annotated[ApiKey, Depends(require_roles(KeyRole.bank))]
) -> ApiKey:
    """The caller (a bank or an admin), with the call audited whoever it is.

    Bank calls are audited from authentication on; an admin's outcome report writes data
    too, so it is audited as well (its row names the admin key and institution).
    """
    if audit_context_of(request.scope) is None:
        open_audit(request, key)
    return key


ReporterKey = Annotated[ApiKey, Depends(audited_reporter)]
OutcomesBody = Annotated[
    OutcomesRequest,
    Body(openapi_examples={"loans": {"summary": "One funded loan", "value": OUTCOMES_EXAMPLE}}),
]


@router.post(
    "", summary="Report funded loans and their latest status (idempotent by bank and loan_id)"
)
def post_outcomes(
    request: Request, body: OutcomesBody, key: ReporterKey, state: StateDep
) -> OutcomesSummary:
    """Rows of the contract's ``loans`` table; returns the ingest counts
    (``read = inserted + updated + unchanged + quarantined``) and the quarantined rows."""
    return report_outcomes(
        state.engine,
        [row.model_dump(exclude_unset=True) for row in body.loans],
        key=key,
        request_id=request_id_of(request.scope) or "",
        allowlist=frozenset(state.allowlist),
    )
