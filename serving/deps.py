"""FastAPI dependencies, each with an ``Annotated`` alias for handler signatures.

They are ``async``: none blocks (the one store lookup, the API key, runs in a worker thread
and only when the key is not in the process's :class:`~serving.keys.KeyCache`), so a request
does not hop to the thread pool once per dependency.

Resolution order on a route (router dependencies first, then the handler's): the API key
(401) → the role (403) → for banks the authorization reference (403) → identifiers (422) →
the handler's own parameters (422). A bank call is audited from the moment its key is known,
so every refusal after that is audited too (:mod:`serving.audit`).

Authentication
    ``X-API-Key: <token>`` or ``Authorization: Bearer <token>`` (both declared as OpenAPI
    security schemes). Sending both with different tokens is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import anyio
from fastapi import Depends, Header, Request, Security
from fastapi import Path as PathParam
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from risk.exceptions import InvalidIdentifierError
from risk.identifiers import check_uscc
from serving.audit import AuditContext, Purpose, audit_context_of, open_audit
from serving.crud import Audience
from serving.exceptions import (
    AuthenticationError,
    AuthorizationReferenceError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from serving.keys import ApiKey, KeyRole, authenticate
from serving.metrics import Metrics
from serving.schemas import USCC_EXAMPLE
from serving.state import LoadedSnapshot, ServiceState

__all__ = [
    "AUTHORIZATION_ID_PATTERN",
    "AudienceDep",
    "AuthorizationRef",
    "BankAuthorization",
    "CurrentKey",
    "EngineDep",
    "EnterpriseUscc",
    "EntityReaderKey",
    "MetricsDep",
    "SnapshotDep",
    "StateDep",
    "WarningEditorKey",
    "WarningReaderKey",
    "bank_authorization",
    "current_key",
    "require_roles",
]

AUTHORIZATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
"""授权编号: ASCII letters, digits and ``. _ : / -``, 1–64 characters (headers are ASCII)."""

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="The API key (`credlink keys create`).",
)
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="Bearer",
    description="The same API key as `Authorization: Bearer <token>`.",
)


# --------------------------------------------------------------------------- state


async def get_state(request: Request) -> ServiceState:
    """The :class:`ServiceState` the lifespan built."""
    state = getattr(request.app.state, "credlink", None)
    if not isinstance(state, ServiceState):
        raise ServiceUnavailableError("the service is starting; try again shortly")
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_engine(state: StateDep) -> Engine:
    """The store."""
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_snapshot(state: StateDep) -> LoadedSnapshot:
    """The loaded graph snapshot (503 until it is loaded)."""
    if state.snapshot is None:
        raise ServiceUnavailableError("the graph snapshot is not loaded yet; try again shortly")
    return state.snapshot


SnapshotDep = Annotated[LoadedSnapshot, Depends(get_snapshot)]


async def get_metrics(request: Request) -> Metrics:
    """The app's Prometheus metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


# --------------------------------------------------------------------------- keys and roles


async def current_key(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> ApiKey:
    """Authenticate the caller; open the audit of the call if it is a bank.

    Raises
    ------
    AuthenticationError
        No key, an unknown or revoked one, or two different ones (401).
    """
    state = await get_state(request)
    token = bearer.credentials if bearer is not None else None
    if api_key and token and api_key != token:
        raise AuthenticationError("send one API key: X-API-Key and Authorization disagree")
    sent = api_key or token
    key = state.keys.get(sent) if sent else None
    if key is None:
        key = await anyio.to_thread.run_sync(authenticate, state.engine, sent)
        state.keys.put(str(sent), key)
    request.state.api_key = key
    if key.role == KeyRole.bank:
        open_audit(request, key)
    return key


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def require_roles(*roles: KeyRole) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency admitting keys of ``roles`` (and admin keys).

    Raises
    ------
    PermissionDeniedError
        For any other role (403).
    """
    allowed = ", ".join([*(r.value for r in roles), KeyRole.admin.value])

    async def dependency(key: CurrentKey) -> ApiKey:
        if not key.allows(roles):
            raise PermissionDeniedError(
                f"role must be one of {allowed} for this route; got {key.role.value}"
            )
        return key

    return dependency


WarningReaderKey = Annotated[ApiKey, Depends(require_roles(KeyRole.credit_office, KeyRole.analyst))]
"""Reads warnings: credit office, analysts (and admins)."""

WarningEditorKey = Annotated[ApiKey, Depends(require_roles(KeyRole.credit_office))]
"""Moves warnings and exports 通报 lists: the credit office (and admins)."""

EntityReaderKey = Annotated[
    ApiKey,
    Depends(require_roles(KeyRole.bank, KeyRole.credit_office, KeyRole.analyst)),
]
"""Reads entity risk and networks: every role."""


async def audience(key: CurrentKey) -> Audience:
    """What the caller may see: persons' names and ids, warnings (:mod:`serving.crud`)."""
    return Audience(
        unmasked_persons=key.sees_person_names,
        person_aliases=key.role == KeyRole.bank,
        warnings=key.sees_warnings,
    )


AudienceDep = Annotated[Audience, Depends(audience)]


# --------------------------------------------------------------------------- bank authorization


@dataclass(frozen=True)
class AuthorizationRef:
    """The enterprise's authorization a bank call relies on (授权编号, purpose, expiry)."""

    id: str
    purpose: Purpose
    expires: date


async def bank_authorization(
    request: Request,
    key: EntityReaderKey,
    authorization_id: Annotated[
        str | None,
        Header(
            alias="X-Authorization-Id",
            pattern=AUTHORIZATION_ID_PATTERN,
            description="Banks: the enterprise's authorization number (授权编号).",
            examples=["SQ-2026-000123"],
        ),
    ] = None,
    purpose: Annotated[
        Purpose | None,
        Header(
            alias="X-Authorization-Purpose",
            description="Banks: the authorized purpose.",
            examples=["pre_credit"],
        ),
    ] = None,
    expires: Annotated[
        date | None,
        Header(
            alias="X-Authorization-Expires",
            description="Banks: last day the authorization is valid (ISO date).",
            examples=["2026-12-31"],
        ),
    ] = None,
) -> AuthorizationRef | None:
    """Check a bank's authorization reference (other roles need none: returns None).

    The values are written to the call's audit context first, so that a refused call is
    audited with what it sent.

    Raises
    ------
    AuthorizationReferenceError
        If a header is missing (``authorization_required``) or the authorization expired
        before today (``authorization_expired``): 403.
    """
    if key.role != KeyRole.bank:
        return None
    context = audit_context_of(request.scope) or open_audit(request, key)
    _record(context, authorization_id, purpose, expires)
    sent = {
        "X-Authorization-Id": authorization_id,
        "X-Authorization-Purpose": purpose,
        "X-Authorization-Expires": expires,
    }
    missing = [name for name, value in sent.items() if value is None]
    if missing:
        raise AuthorizationReferenceError(
            "authorization_required",
            missing[0],
            f"bank calls must send the enterprise's authorization; missing {', '.join(missing)}",
        )
    assert authorization_id is not None and purpose is not None and expires is not None
    today = date.today()
    if expires < today:
        raise AuthorizationReferenceError(
            "authorization_expired",
            "X-Authorization-Expires",
            f"X-Authorization-Expires must be today ({today}) or later; authorization "
            f"{authorization_id} expired on {expires}",
        )
    return AuthorizationRef(id=authorization_id, purpose=purpose, expires=expires)


def _record(
    context: AuditContext,
    authorization_id: str | None,
    purpose: Purpose | None,
    expires: date | None,
) -> None:
    context.authorization_id = authorization_id
    context.purpose = purpose.value if purpose is not None else None
    context.authorization_expires = expires


BankAuthorization = Annotated[AuthorizationRef | None, Depends(bank_authorization)]


# --------------------------------------------------------------------------- identifiers


async def enterprise_uscc(
    state: StateDep,
    uscc: Annotated[
        str,
        PathParam(
            description="统一社会信用代码 (18 characters; full-width, spaces and lower case "
            "are normalised).",
            examples=[USCC_EXAMPLE],
        ),
    ],
) -> str:
    """The path's USCC, normalised and checked (allow-listed pilot codes pass).

    Raises
    ------
    InvalidIdentifierError
        Naming the failed check: length, alphabet, region or check_character (422).
    """
    result = check_uscc(uscc, state.allowlist)
    if result.check is not None:
        raise InvalidIdentifierError("uscc", result.check, str(result.reason))
    return result.code


EnterpriseUscc = Annotated[str, Depends(enterprise_uscc)]
