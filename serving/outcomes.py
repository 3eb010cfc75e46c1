"""Loan outcomes reported by banks (放款结果), bound to the authority the bank holds.

The rules (``POST /v1/outcomes``, :func:`report_outcomes`)
    - **A loan is (bank, loan_id).** Loan ids are each bank's own; a bank's row is always
      stored under its own institution, so no report can touch another bank's loan, whatever
      loan id it uses.
    - **An outcome needs an authorized query.** A bank may report a loan of enterprise U only
      if the audit log holds a call of its institution about U that succeeded (status 200)
      under an enterprise authorization (授权编号) — a pre-credit assessment (single or batch
      item) or an entity query (risk, network) — and that authorization was still valid on
      the loan's application date (``authorization_expires ≥ applied``). A call is admitted
      only while its authorization is valid, so the audit row proves the bank held it that
      day. Otherwise the whole call is refused with 403 ``authorization_required`` naming the
      row (``loans[3].uscc``) and nothing is stored: a bank cannot plant a default on an
      enterprise it never had the right to look at. Admin keys (platform operators) report
      for any bank, without this check.
    - **Check and write in one transaction.** The authority, the stored rows and the writes
      are read and made in one transaction that holds the outcomes' write lock from its first
      statement (:func:`risk.store.serialized_transaction`: ``BEGIN IMMEDIATE`` on SQLite, a
      transaction advisory lock on PostgreSQL), so concurrent reports never interleave a check
      with another's write.
    - **Traceable.** Every call is audited (bank and admin keys alike); each loan row it
      carried is recorded in ``outcome_reports`` with the call's ``request_id`` (= its audit
      row's), the change it made (inserted, updated, unchanged) and ``authority_audit_id``,
      the audit row of the query that entitled the bank to report it.

Validation is the ingest's (:mod:`risk.ingest`): the same checks and reasons as a file drop;
bad rows are quarantined (reported with their index in ``loans``), good ones stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from risk.contract import TABLES
from risk.ingest import validate_rows
from risk.store import (
    EARLIEST_DATE_COLUMNS,
    audit_log,
    coerce_frame,
    contract_table,
    earliest_date,
    ingest_batches,
    outcome_reports,
    quarantine,
    serialized_transaction,
)
from serving.exceptions import AuthorizationReferenceError, PermissionDeniedError
from serving.keys import ApiKey
from serving.roles import KeyRole
from serving.schemas_precredit import OutcomesSummary, QuarantinedRow

__all__ = [
    "AUTHORIZED_QUERY_ROUTES",
    "OUTCOMES_LOCK",
    "report_outcomes",
]

AUTHORIZED_QUERY_ROUTES = (
    "/v1/precredit/assessments",
    "/v1/precredit/assessments:batch",
    "/v1/entities/{uscc}/risk",
    "/v1/entities/{uscc}/network",
)
"""Audited bank calls that count as an authorized query of an enterprise."""

OUTCOMES_LOCK = "credlink.loans.outcomes"
"""Name of the lock every outcome report holds for its transaction."""

_FIRST_DATA_ROW = 2  # the ingest numbers rows as a spreadsheet does: the header is row 1
_ATTEMPTS = 3  # a file ingest racing on the same new loan: retried, then refused
_CHUNK = 500


def report_outcomes(
    engine: Engine,
    rows: Sequence[dict[str, Any]],
    *,
    key: ApiKey,
    request_id: str,
    allowlist: frozenset[str] = frozenset(),
) -> OutcomesSummary:
    """Validate and store reported loans under the rules of the module docstring.

    Parameters
    ----------
    engine
        The store.
    rows
        Rows of the contract's ``loans`` table as posted (a bank's rows may omit ``bank``).
    key
        The caller: a bank (its own loans, authority checked) or an admin (any bank).
    request_id
        The call's request id (its audit row's), recorded with every stored row.
    allowlist
        Pilot USCCs that fail the checksum legally.

    Returns
    -------
    OutcomesSummary
        The ingest's counts (``read = inserted + updated + unchanged + quarantined``) and the
        refused rows, each with its 0-based index in ``rows``: the answer of the route.

    Raises
    ------
    PermissionDeniedError
        A bank's row names another bank (403, ``loans[i].bank``).
    AuthorizationReferenceError
        A bank's good row is for an enterprise it holds no authorized query for (403,
        ``loans[i].uscc``); nothing of the call is stored.
    MissingColumnsError
        A required column is absent from every row (422).
    """
    owned = _owned(rows, key)
    for attempt in range(_ATTEMPTS):
        try:
            return _report(engine, owned, key, request_id, allowlist)
        except IntegrityError:
            # A file ingest outside the lock inserted one of these loans meanwhile: once
            # more, now seeing it as stored.
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _owned(rows: Sequence[dict[str, Any]], key: ApiKey) -> list[dict[str, Any]]:
    """A bank's rows under its own institution (``bank`` filled in where absent)."""
    if key.role != KeyRole.bank:
        return [dict(row) for row in rows]
    institution = key.institution
    owned = [{**row, "bank": row.get("bank") or institution} for row in rows]
    for index, row in enumerate(owned):
        if str(row["bank"]).strip() != institution:
            raise PermissionDeniedError(
                f"loans[{index}].bank must be your institution {institution}; got {row['bank']}",
                field=f"loans[{index}].bank",
            )
    return owned


def _report(
    engine: Engine,
    rows: list[dict[str, Any]],
    key: ApiKey,
    request_id: str,
    allowlist: frozenset[str],
) -> OutcomesSummary:
    source = f"POST /v1/outcomes request {request_id}"
    checked = validate_rows(rows, "loans", source=source, uscc_allowlist=allowlist)
    good, kept, items, present = (
        checked.accepted,
        checked.kept,
        checked.quarantine,
        checked.columns,
    )
    now = datetime.now(UTC)
    digest = hashlib.sha256(
        json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str).encode()
    ).hexdigest()
    with serialized_transaction(engine, OUTCOMES_LOCK) as conn:
        authority = _authority(conn, key, good, kept)
        batch_id = int(
            conn.execute(
                insert(ingest_batches).returning(ingest_batches.c.id),
                {
                    "source": source,
                    "sha256": digest,
                    "table_name": "loans",
                    "started_at": now,
                    "status": "running",
                },
            ).scalar_one()
        )
        counts = dict.fromkeys(("inserted", "updated", "unchanged"), 0)
        quarantined = len({number for number, *_ in items})
        if items:
            conn.execute(
                insert(quarantine),
                [
                    {
                        "batch_id": batch_id,
                        "source": source,
                        "row_number": number,
                        "column_name": column,
                        "reason": reason,
                        "raw": raw,
                    }
                    for number, column, reason, raw in items
                ],
            )
        changes = _upsert(conn, good, present)
        for change in changes:
            counts[change] += 1
        orphans = _orphans(conn, good)
        if len(good):
            conn.execute(
                insert(outcome_reports),
                [
                    {
                        "at": now,
                        "request_id": request_id,
                        "key_id": key.id,
                        "batch_id": batch_id,
                        "bank": row["bank"],
                        "loan_id": row["loan_id"],
                        "uscc": row["uscc"],
                        "status": row["status"],
                        "status_date": row["status_date"],
                        "change": change,
                        "authority_audit_id": audit_id,
                    }
                    for row, change, audit_id in zip(
                        _db_rows(good), changes, authority, strict=True
                    )
                ],
            )
        conn.execute(
            update(ingest_batches)
            .where(ingest_batches.c.id == batch_id)
            .values(
                finished_at=datetime.now(UTC),
                status="ok",
                rows_read=len(rows),
                quarantined=quarantined,
                orphans=orphans,
                **counts,
            )
        )
    return OutcomesSummary(
        batch_id=batch_id,
        read=len(rows),
        quarantined=quarantined,
        orphans=orphans,
        quarantine=[
            QuarantinedRow(index=number - _FIRST_DATA_ROW, column=column, reason=reason)
            for number, column, reason, _ in sorted(items, key=lambda item: item[0])
        ],
        **counts,
    )


def _authority(
    conn: Connection, key: ApiKey, good: pd.DataFrame, kept: np.ndarray
) -> list[int | None]:
    """For each good row, the audit row of the authorized query that entitles the bank.

    Raises
    ------
    AuthorizationReferenceError
        Naming the first row without one (403).
    """
    if key.role != KeyRole.bank or not len(good):
        return [None] * len(good)
    usccs = sorted(set(good["uscc"]))
    found: dict[str, list[tuple[date, int]]] = {}
    for start in range(0, len(usccs), _CHUNK):
        query = (
            select(audit_log.c.uscc, audit_log.c.authorization_expires, func.max(audit_log.c.id))
            .where(
                audit_log.c.institution == key.institution,
                audit_log.c.uscc.in_(usccs[start : start + _CHUNK]),
                audit_log.c.status == 200,
                audit_log.c.authorization_id.is_not(None),
                audit_log.c.authorization_expires.is_not(None),
                audit_log.c.route.in_(AUTHORIZED_QUERY_ROUTES),
            )
            .group_by(audit_log.c.uscc, audit_log.c.authorization_expires)
        )
        for uscc, expires, audit_id in conn.execute(query):
            found.setdefault(uscc, []).append((expires, int(audit_id)))
    authority: list[int | None] = []
    for position, (uscc, applied) in enumerate(
        zip(good["uscc"], good["applied"].dt.date, strict=True)
    ):
        valid = [audit_id for expires, audit_id in found.get(uscc, []) if expires >= applied]
        if not valid:
            index = int(kept[position])
            raise AuthorizationReferenceError(
                "authorization_required",
                f"loans[{index}].uscc",
                f"loans[{index}].uscc must be an enterprise {key.institution} holds an "
                f"authorized query for; got {uscc}: no assessment or entity query of it under "
                f"an authorization valid on the application date {applied} is in the audit "
                "log; report only loans of enterprises that authorized your queries",
            )
        authority.append(max(valid))
    return authority


def _upsert(conn: Connection, good: pd.DataFrame, present: set[str]) -> list[str]:
    """Insert new (bank, loan_id) rows, update changed ones in the posted columns only;
    return each row's change (``inserted``, ``updated``, ``unchanged``).

    The first bad dates keep the earliest date ever reported (:func:`risk.store.earliest_date`
    in the ``UPDATE``; :func:`_earliest` decides whether a row changes).
    """
    if not len(good):
        return []
    spec = TABLES["loans"]
    loans = contract_table("loans")
    key_columns = list(spec.key)
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    for bank, group in good.groupby("bank", sort=True):
        ids = sorted(set(group["loan_id"]))
        for start in range(0, len(ids), _CHUNK):
            query = (
                select(loans)
                .where(loans.c.bank == bank, loans.c.loan_id.in_(ids[start : start + _CHUNK]))
                .with_for_update()
            )
            for found in conn.execute(query).mappings():
                stored[(found["bank"], found["loan_id"])] = dict(found)
    values = [c for c in spec.names if c in present and c not in key_columns]
    earliest = set(EARLIEST_DATE_COLUMNS["loans"])
    changes: list[str] = []
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in _db_rows(good):
        before = stored.get((row["bank"], row["loan_id"]))
        if before is None:
            changes.append("inserted")
            new.append(row)
        elif any(
            not _same(_earliest(before[c], row[c]) if c in earliest else row[c], before[c])
            for c in values
        ):
            changes.append("updated")
            changed.append(row)
        else:
            changes.append("unchanged")
    if new:
        conn.execute(insert(loans), new)
    if changed:
        statement = (
            update(loans)
            .where(and_(*(loans.c[k] == bindparam(f"k_{k}") for k in key_columns)))
            .values(
                {
                    c: earliest_date(loans.c[c], bindparam(f"v_{c}", type_=loans.c[c].type))
                    if c in earliest
                    else bindparam(f"v_{c}")
                    for c in values
                }
            )
        )
        conn.execute(
            statement,
            [
                {**{f"k_{k}": row[k] for k in key_columns}, **{f"v_{c}": row[c] for c in values}}
                for row in changed
            ],
        )
    return changes


def _earliest(stored: date | None, reported: date | None) -> date | None:
    """:func:`risk.store.earliest_date` on one stored and one reported value."""
    if stored is None or reported is None:
        return reported if stored is None else stored
    return min(stored, reported)


def _same(new: Any, old: Any) -> bool:
    if new is None or old is None:
        return new is None and old is None
    if isinstance(new, float) or isinstance(old, float):
        return float(new) == float(old)
    return bool(new == old)


def _db_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame of contract dtypes as DB-API values (dates, ints, floats, str, None)."""
    spec = TABLES["loans"]
    frame = coerce_frame(frame, spec)
    rows: list[dict[str, Any]] = []
    for record in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for name, value in record.items():
            if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
                row[name] = None
            elif isinstance(value, pd.Timestamp):
                row[name] = value.date()
            elif value is pd.NA:
                row[name] = None
            elif isinstance(value, np.integer):
                row[name] = int(value)
            elif isinstance(value, np.floating):
                row[name] = float(value)
            else:
                row[name] = value
        rows.append(row)
    return rows


def _orphans(conn: Connection, good: pd.DataFrame) -> int:
    """Good rows whose enterprise is not in the store (kept and counted, as ingest does)."""
    if not len(good):
        return 0
    enterprises = contract_table("enterprises")
    usccs = sorted(set(good["uscc"]))
    known: set[str] = set()
    for start in range(0, len(usccs), _CHUNK):
        known |= set(
            conn.execute(
                select(enterprises.c.uscc).where(
                    enterprises.c.uscc.in_(usccs[start : start + _CHUNK])
                )
            ).scalars()
        )
    return int((~good["uscc"].isin(known)).sum())
