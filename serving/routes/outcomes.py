"""Banks report loan outcomes (放款结果): ``POST /v1/outcomes``.

The posted rows go through the one ingest of the data contract (:func:`risk.ingest.
ingest_file` on a temporary CSV, ``table="loans"``): the same validation, quarantine and
idempotency by ``loan_id`` as a file drop. Posting the same rows twice changes nothing the
second time (all ``unchanged``); a changed status updates the row.

A bank reports **its own** loans: a row without ``bank`` is the caller's institution's; a row
naming another bank, or a ``loan_id`` already stored for another bank, refuses the whole call
with 403 naming the row (``loans[3].bank``) and stores nothing — otherwise one bank could
overwrite another's outcomes. Admin keys may report for any bank.

Bad rows: the answer is **200** with the ingest counts and ``quarantine`` listing each refused
row (its 0-based index in ``loans``, the column and the reason); the good rows of the same call
are stored (one transaction). Only a refused call as a whole — a required column absent from
every row — is a 422 (``invalid_input``). Bank calls are audited like every bank call.
Outcomes reach the pre-credit features at the next model reload or restart.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy import Engine, select

from risk.contract import TABLES
from risk.exceptions import InvalidFrameError
from risk.ingest import ingest_file
from risk.store import contract_table, quarantine
from serving.deps import StateDep, require_roles
from serving.errors import ERROR_RESPONSES
from serving.exceptions import PermissionDeniedError
from serving.keys import ApiKey, KeyRole
from serving.schemas_precredit import OutcomesRequest, OutcomesSummary, QuarantinedRow

__all__ = ["own_loans", "router"]

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"], responses=ERROR_RESPONSES)

ReporterKey = Annotated[ApiKey, Depends(require_roles(KeyRole.bank))]
_EXAMPLE = {
    "loans": [
        {
            "loan_id": "L-2026-0001",
            "uscc": "91341100708502022E",
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
OutcomesBody = Annotated[
    OutcomesRequest,
    Body(openapi_examples={"loans": {"summary": "One funded loan", "value": _EXAMPLE}}),
]
_FIRST_DATA_ROW = 2  # the ingest numbers rows as a spreadsheet does: the header is row 1


def own_loans(engine: Engine, rows: list[dict[str, Any]], institution: str) -> list[dict[str, Any]]:
    """The rows with ``bank`` filled in with ``institution`` where absent.

    Raises
    ------
    PermissionDeniedError
        If a row names another bank, or its ``loan_id`` is stored for another bank (403).
    """
    owned = [{**row, "bank": row.get("bank") or institution} for row in rows]
    for index, row in enumerate(owned):
        if str(row["bank"]).strip() != institution:
            raise PermissionDeniedError(
                f"loans[{index}].bank must be your institution {institution}; got {row['bank']}",
                field=f"loans[{index}].bank",
            )
    ids = {str(row["loan_id"]).strip(): i for i, row in enumerate(owned) if row.get("loan_id")}
    loans = contract_table("loans")
    with engine.connect() as conn:
        others = conn.execute(
            select(loans.c.loan_id, loans.c.bank).where(
                loans.c.loan_id.in_(list(ids)), loans.c.bank != institution
            )
        ).first()
    if others is not None:
        index = ids[others.loan_id]
        raise PermissionDeniedError(
            f"loans[{index}].loan_id {others.loan_id} is a loan of another bank; report only "
            f"the loans of {institution}",
            field=f"loans[{index}].loan_id",
        )
    return owned


@router.post("", summary="Report funded loans and their latest status (idempotent by loan_id)")
def post_outcomes(body: OutcomesBody, key: ReporterKey, state: StateDep) -> OutcomesSummary:
    """Rows of the contract's ``loans`` table; returns the ingest counts
    (``read = inserted + updated + unchanged + quarantined``) and the quarantined rows."""
    names = [c.name for c in TABLES["loans"].columns]
    rows = [row.model_dump(exclude_unset=True) for row in body.loans]
    if key.role == KeyRole.bank:
        rows = own_loans(state.engine, rows, key.institution)
    present = [n for n in names if any(n in r for r in rows)]
    with tempfile.TemporaryDirectory(prefix="credlink-outcomes-") as tmp:
        path = Path(tmp) / "loans.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(present)
            for row in rows:
                writer.writerow(["" if row.get(n) is None else str(row[n]) for n in present])
        summary = ingest_file(state.engine, path, table="loans")
    if summary.status != "ok":
        raise InvalidFrameError(f"the outcomes were refused: {summary.message}")
    quarantined: list[QuarantinedRow] = []
    if summary.batch_id is not None and summary.quarantined:
        with state.engine.connect() as conn:
            found = conn.execute(
                select(quarantine.c.row_number, quarantine.c.column_name, quarantine.c.reason)
                .where(quarantine.c.batch_id == summary.batch_id)
                .order_by(quarantine.c.row_number, quarantine.c.id)
            ).all()
        quarantined = [
            QuarantinedRow(
                index=int(r.row_number) - _FIRST_DATA_ROW, column=r.column_name, reason=r.reason
            )
            for r in found
        ]
    return OutcomesSummary(
        batch_id=summary.batch_id,
        read=summary.read,
        inserted=summary.inserted,
        updated=summary.updated,
        unchanged=summary.unchanged,
        quarantined=summary.quarantined,
        orphans=summary.orphans,
        quarantine=quarantined,
    )
