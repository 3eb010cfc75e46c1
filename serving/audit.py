"""The audit of bank calls (DESIGN.md §6): one append-only ``audit_log`` row per call.

Which calls
    Every request authenticated with a **bank** key, whatever its outcome (200, 403 for a
    missing authorization, 404, 422, even 500). :func:`serving.deps.current_key` opens an
    :class:`AuditContext` in the request's state as soon as it knows the key is a bank's;
    later dependencies fill in the USCC and the authorization reference.

What a row holds
    time, request id, key id, institution, role, the USCC asked about (as sent, normalised),
    authorization id (授权编号), purpose, expiry, method, route template, query string, status
    and the SHA-256 of the exact response body bytes.

Commit barrier
    :class:`serving.middleware.AuditMiddleware` holds the whole response back, computes the
    digest, inserts the row in its own transaction and waits for the commit; only then does
    the response start to leave. If the write fails, the client gets a 503 in the one error
    shape instead of the data. No audit row, no data: correctness over latency (one small
    INSERT per bank call; the table is append-only by trigger, see migration 0003).

Authorization reference (授权编号)
    A bank must show that the enterprise authorized the query: on GET routes with the
    headers ``X-Authorization-Id`` (the 授权编号), ``X-Authorization-Purpose`` (a
    :class:`Purpose` code) and ``X-Authorization-Expires`` (ISO date, valid through that day).
    Missing or expired → 403 ``authorization_required`` / ``authorization_expired``. The
    pre-credit assessment (POST) will carry the same reference in its body.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, insert
from starlette.requests import Request
from starlette.types import Scope

from risk.identifiers import normalize_uscc
from risk.store import audit_log
from serving.keys import ApiKey

__all__ = [
    "PURPOSE_LABELS",
    "AuditContext",
    "Purpose",
    "audit_context_of",
    "open_audit",
    "printable",
    "write_audit_row",
]

_STATE_KEY = "audit"
_MAX_SUBJECT = 64
_MAX_QUERY = 2000
_MAX_ROUTE = 200


class Purpose(StrEnum):
    """Why a bank queries an enterprise (the purpose the enterprise authorized)."""

    pre_credit = "pre_credit"
    credit_approval = "credit_approval"
    post_loan = "post_loan"


PURPOSE_LABELS = {
    Purpose.pre_credit: "贷前调查/预授信",
    Purpose.credit_approval: "授信审批",
    Purpose.post_loan: "贷后管理",
}
"""Chinese label of each purpose."""


@dataclass
class AuditContext:
    """What the audit row of a bank call will say; filled in as the request is resolved.

    Mutable on purpose: dependencies add what they learn (the USCC, the authorization) before
    they may refuse the call, so that a refused call is audited with everything it sent.
    """

    key: ApiKey
    uscc: str | None = None
    authorization_id: str | None = None
    purpose: str | None = None
    authorization_expires: date | None = None


def open_audit(request: Request, key: ApiKey) -> AuditContext:
    """Start the audit of this request (a bank call); the middleware writes the row."""
    subject = request.path_params.get("uscc")
    context = AuditContext(key=key, uscc=printable(subject) if isinstance(subject, str) else None)
    setattr(request.state, _STATE_KEY, context)
    return context


def printable(value: str, limit: int = _MAX_SUBJECT) -> str:
    """A value as sent, normalised and fit for the log: non-printables replaced, truncated.

    The audit keeps what was asked even when it is not a valid USCC, but never lets a NUL or
    a control character (which PostgreSQL refuses) cost the call its audit row.
    """
    text = normalize_uscc(value)
    return "".join(c if c.isprintable() else "\ufffd" for c in text)[:limit]


def audit_context_of(scope: Scope) -> AuditContext | None:
    """The audit context of a request, or None when it is not audited."""
    state = scope.get("state")
    context = state.get(_STATE_KEY) if isinstance(state, dict) else None
    return context if isinstance(context, AuditContext) else None


def write_audit_row(
    engine: Engine,
    context: AuditContext,
    *,
    request_id: str,
    method: str,
    route: str,
    query: str,
    status: int,
    body: bytes,
    at: datetime | None = None,
) -> int:
    """Insert and commit the audit row of one call; return its id.

    Parameters
    ----------
    engine
        The store.
    context
        Who asked about what, under which authorization.
    request_id
        The request's id (also the ``X-Request-Id`` header).
    method, route, query
        HTTP method, route template (``/v1/entities/{uscc}/risk``) and raw query string.
    status
        The response status.
    body
        The exact response body; only its SHA-256 is stored.
    at
        Time of the call (default: now, UTC).

    Raises
    ------
    sqlalchemy.exc.SQLAlchemyError
        If the row could not be committed (the caller must then withhold the response).
    """
    values: dict[str, Any] = {
        "at": at or datetime.now(UTC),
        "request_id": request_id,
        "key_id": context.key.id,
        "institution": context.key.institution,
        "role": context.key.role.value,
        "uscc": context.uscc,
        "authorization_id": context.authorization_id,
        "purpose": context.purpose,
        "authorization_expires": context.authorization_expires,
        "method": method[:8],
        "route": route[:_MAX_ROUTE],
        "query": query[:_MAX_QUERY] or None,
        "status": status,
        "response_sha256": hashlib.sha256(body).hexdigest(),
    }
    with engine.begin() as conn:
        return int(conn.execute(insert(audit_log).returning(audit_log.c.id), values).scalar_one())
