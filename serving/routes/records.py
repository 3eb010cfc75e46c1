"""Live updates of the platform's records: ``POST /v1/records`` (credit office, admin).

A body names one contract table and carries its rows in the contract's column names (at most
:data:`serving.schemas_live.MAX_LIVE_ROWS`). The rows go through the ingest's checks and
quarantine, and what they change is rescored at once on the current score set's date — linked
risk of the K-hop neighbourhood, the rules, grades and assessments of the enterprises it can
move — and appended to the set as a delta with its events (:func:`serving.live.post_records`,
:func:`risk.live.apply_records`). The answer says what was stored and refused (reasons with ID
numbers masked), the set and seq answers now come from, and the events.

A bad row is a **200** with the row in ``quarantine``: it changes nothing, the call's good rows
are stored. A body that is not JSON, an unknown table or column, no rows or too many → **422**
(``validation_error``); rows refused whole (a required column absent from every row) → 200
with ``status: refused`` and nothing stored. No score set published yet → **409**
(``score_set_unavailable``), nothing stored. Every call is written to the audit log, whoever
sends it: it changes the data banks are scored on.

Calls are serialised per process; concurrent calls of several workers recompute on each other's
deltas (:mod:`risk.live.apply`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from serving.audit import audit_context_of, open_audit
from serving.deps import StateDep, require_roles
from serving.errors import ERROR_RESPONSES, request_id_of, responses
from serving.keys import ApiKey
from serving.live import post_records
from serving.roles import KeyRole
from serving.schemas_live import RECORDS_EXAMPLE, RecordsRequest, RecordsResult

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/records",
    tags=["records"],
    responses={**ERROR_RESPONSES, **responses(409)},
)


async def audited_writer(
    request: Request, key: Annotated[ApiKey, Depends(require_roles(KeyRole.credit_office))]
) -> ApiKey:
    """The caller (credit office or admin), with the call audited: it writes data."""
    if audit_context_of(request.scope) is None:
        open_audit(request, key)
    return key


WriterKey = Annotated[ApiKey, Depends(audited_writer)]
RecordsBody = Annotated[
    RecordsRequest,
    Body(openapi_examples={"penalty": {"summary": "One 行政处罚", "value": RECORDS_EXAMPLE}}),
]


@router.post("", summary="Add or change records live: ingested, rescored and logged at once")
def post(request: Request, body: RecordsBody, key: WriterKey, state: StateDep) -> RecordsResult:
    """Rows of one contract table; returns the ingest counts, the refused rows, the new seq
    of the current score set and the events the change appended."""
    return post_records(
        state,
        body.table,
        [dict(row) for row in body.rows],
        request_id=request_id_of(request.scope) or "",
    )
