"""Request and response bodies of live updates (``POST /v1/records``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from risk.contract import TABLES
from serving.schemas import USCC_EXAMPLE
from serving.schemas_precredit import QuarantinedRow

__all__ = ["MAX_LIVE_ROWS", "RECORDS_EXAMPLE", "RecordsRequest", "RecordsResult", "ScoreEvent"]

MAX_LIVE_ROWS = 1000
"""Rows one call may carry: a live update is a few records; a county is a batch run."""

Cell = str | int | float | bool | None

RECORDS_EXAMPLE: dict[str, Any] = {
    "table": "records",
    "rows": [
        {
            "record_id": "皖来市监罚〔2026〕88号",
            "subject_type": "enterprise",
            "subject_id": USCC_EXAMPLE,
            "kind": "administrative_penalty",
            "domain": "market_regulation",
            "severity": "serious",
            "authority": "来安县市场监督管理局",
            "decided": "2026-06-01",
            "amount": 2.5,
        }
    ],
}


class RecordsRequest(BaseModel):
    """Rows of one contract table in its column names (English, as in the data contract)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RECORDS_EXAMPLE]})

    table: Literal["enterprises", "persons", "roles", "records", "financials"]
    rows: Annotated[
        list[dict[Annotated[str, Field(max_length=64)], Cell]],
        Field(min_length=1, max_length=MAX_LIVE_ROWS),
    ]

    @model_validator(mode="after")
    def _contract_columns(self) -> RecordsRequest:
        """Every column is one of the table's (a persons row may carry ``id_number``)."""
        spec = TABLES[self.table]
        allowed = set(spec.names) | ({"id_number"} if self.table == "persons" else set())
        for index, row in enumerate(self.rows):
            unknown = sorted(set(row) - allowed)
            if unknown:
                raise ValueError(
                    f"rows[{index}] columns must be columns of {self.table} "
                    f"({', '.join(spec.names)}); got {unknown[0]!r}"
                )
        return self


class ScoreEvent(BaseModel):
    """A change the update made visible: an enterprise's grade, banks' grade, linked-risk band,
    most urgent open warning or assessment, before → after (None: none before / after)."""

    subject_id: str
    kind: str
    before: str | None
    after: str | None


RECORDS_RESULT_EXAMPLE: dict[str, Any] = {
    "table": "records",
    "status": "ok",
    "batch_id": 41,
    "read": 1,
    "accepted": 1,
    "inserted": 1,
    "updated": 0,
    "unchanged": 0,
    "quarantined": 0,
    "quarantine": [],
    "set_id": 7,
    "seq": 3,
    "changed": ["皖来市监罚〔2026〕88号/来安县市场监督管理局"],  # a record: 文号/authority
    "recomputed": {"risk": 58, "warnings": 1, "grades": 58, "assessments": 58},
    "events": [
        {"subject_id": USCC_EXAMPLE, "kind": "grade", "before": "B", "after": "C"},
        {"subject_id": USCC_EXAMPLE, "kind": "warning", "before": None, "after": "yellow"},
    ],
    "notes": [],
}


class RecordsResult(BaseModel):
    """What a live update did: the ingest's counts (``read = inserted + updated + unchanged +
    quarantined``), the refused rows, the score set and seq the answers now come from, the
    events appended and what the caller should know."""

    model_config = ConfigDict(json_schema_extra={"examples": [RECORDS_RESULT_EXAMPLE]})

    table: str
    status: str = Field(description="ok, or refused / failed with nothing stored.")
    batch_id: int | None
    read: int
    accepted: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    quarantine: list[QuarantinedRow]
    set_id: int = Field(description="The current score set the delta went into.")
    seq: int = Field(description="Its delta sequence after the update (unchanged: no delta).")
    changed: list[str] = Field(description="Keys of the stored rows that changed.")
    recomputed: dict[str, int] = Field(description="Kind → rows recomputed.")
    events: list[ScoreEvent]
    notes: list[str]
