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
    security schemes). Sending both with different tokens is refused. On ``/v1`` the key is
    verified by :class:`serving.limits.LimitsMiddleware` before the body is read (and before the
    per-key rate limit); :func:`current_key` then takes the key it verified
    (:data:`VERIFIED_KEY`) instead of looking it up again.

Authorization and identifiers
    :func:`bank_authorization` reads a bank's authorization from the headers and
    :func:`enterprise_uscc` the path's USCC; both are checked by :mod:`serving.checks`, the one
    check of headers, paths and bodies alike.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated

import anyio
from fastapi import Depends, Header, Request, Response, Security
from fastapi import Path as PathParam
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine

from serving.audit import Purpose, audit_context_of, open_audit
from serving.checks import (
    AUTHORIZATION_ID_PATTERN,
    HEADER_FIELDS,
    AuthorizationRef,
    check_authorization,
    checked_uscc,
)
from serving.crud import Audience
from serving.exceptions import (
    AuthenticationError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from serving.keys import ApiKey, authenticate
from serving.metrics import Metrics
from serving.roles import KeyRole
from serving.schemas import USCC_EXAMPLE
from serving.scores import NO_SET, SCORE_SET_HEADER, ServedSet
from serving.state import ServiceState

__all__ = [
    "VERIFIED_KEY",
    "AudienceDep",
    "BankAuthorization",
    "CurrentKey",
    "EngineDep",
    "EnterpriseUscc",
    "EntityReaderKey",
    "MetricsDep",
    "ServedDep",
    "StateDep",
    "WarningEditorKey",
    "WarningReaderKey",
    "bank_authorization",
    "current_key",
    "docs_reader",
    "metrics_reader",
    "require_roles",
    "sent_token",
    "served_set",
    "verify_token",
]

VERIFIED_KEY = "verified_api_key"
"""Where (in the request's state) :class:`serving.limits.LimitsMiddleware` leaves the key it
verified from this request's headers."""

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


async def served_set(state: ServiceState) -> ServedSet | None:
    """The score set to answer from now: the pointer this process read last, re-read (in a
    worker thread) when older than :data:`serving.scores.POINTER_SECONDS`."""
    reader = state.scores
    if reader.fresh():
        return reader.served()
    return await anyio.to_thread.run_sync(reader.served)


async def get_served(state: StateDep, response: Response) -> ServedSet:
    """The score set this request answers from, read once (``X-Score-Set`` names it).

    Raises
    ------
    ServiceUnavailableError
        While no score set has been published (503 saying to run ``credlink pipeline run``).
    """
    served = await served_set(state)
    if served is None:
        raise ServiceUnavailableError(NO_SET)
    response.headers[SCORE_SET_HEADER] = served.label
    return served


ServedDep = Annotated[ServedSet, Depends(get_served)]


async def get_metrics(request: Request) -> Metrics:
    """The app's Prometheus metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


# --------------------------------------------------------------------------- keys and roles


def sent_token(api_key: str | None, authorization: str | None) -> str | None:
    """The API key a request sends, from its ``X-API-Key`` and ``Authorization`` headers.

    ``Authorization`` counts only as ``Bearer <token>`` (as :class:`fastapi.security.HTTPBearer`
    reads it); None when neither header carries a key.

    Raises
    ------
    AuthenticationError
        If both headers carry a key and the two differ.
    """
    bearer = None
    if authorization:
        scheme, credentials = get_authorization_scheme_param(authorization)
        if scheme.lower() == "bearer" and credentials:
            bearer = credentials
    if api_key and bearer and api_key != bearer:
        raise AuthenticationError("send one API key: X-API-Key and Authorization disagree")
    return api_key or bearer


async def verify_token(state: ServiceState, token: str | None) -> ApiKey:
    """The active key of ``token``: from the worker's key cache, else from the store.

    Raises
    ------
    AuthenticationError
        No token, an unknown or a revoked one (401).
    """
    key = state.keys.get(token) if token else None
    if key is None:
        key = await anyio.to_thread.run_sync(authenticate, state.engine, token)
        state.keys.put(str(token), key)
    return key


async def current_key(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> ApiKey:
    """Authenticate the caller; open the audit of the call if it is a bank.

    ``api_key`` and ``bearer`` declare the two ways to send a key in the OpenAPI document;
    :func:`sent_token` reads them from the headers.

    Raises
    ------
    AuthenticationError
        No key, an unknown or revoked one, or two different ones (401).
    """
    state = await get_state(request)
    verified = request.scope.get("state", {}).get(VERIFIED_KEY)
    if isinstance(verified, ApiKey):
        key = verified  # the limits middleware checked these very headers a moment ago
    else:  # routes outside /v1 (and apps built without the middleware)
        token = sent_token(api_key, request.headers.get("authorization"))
        key = await verify_token(state, token)
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


async def docs_reader(request: Request, state: StateDep) -> None:
    """Admit a reader of ``/docs``, ``/redoc`` and ``/openapi.json``.

    Anyone when ``CREDLINK_PUBLIC_DOCS`` is true; otherwise any valid API key (every role uses
    the API the document describes).

    Raises
    ------
    AuthenticationError
        Without a valid key (401).
    """
    if state.settings.public_docs:
        return
    headers = request.headers
    await verify_token(state, sent_token(headers.get("x-api-key"), headers.get("authorization")))


async def metrics_reader(request: Request, state: StateDep) -> None:
    """Admit a reader of ``/metrics``.

    Anyone when ``CREDLINK_METRICS_PUBLIC`` is true; otherwise ``Authorization: Bearer`` with
    ``CREDLINK_METRICS_TOKEN`` (a Prometheus scraper) or an admin key.

    Raises
    ------
    AuthenticationError
        Without the token or a valid key (401).
    PermissionDeniedError
        For a key of another role (403).
    """
    settings = state.settings
    if settings.metrics_public:
        return
    headers = request.headers
    token = sent_token(headers.get("x-api-key"), headers.get("authorization"))
    expected = settings.metrics_token
    if (
        token is not None
        and expected is not None
        and hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        return
    key = await verify_token(state, token)
    if key.role != KeyRole.admin:
        raise PermissionDeniedError(
            f"role must be admin (or send the metrics token) for /metrics; got {key.role.value}"
        )


async def audience(key: CurrentKey) -> Audience:
    """What the caller may see: persons' names and ids, warnings (:mod:`serving.crud`)."""
    return Audience(
        unmasked_persons=key.sees_person_names,
        person_aliases=key.role == KeyRole.bank,
        warnings=key.sees_warnings,
    )


AudienceDep = Annotated[Audience, Depends(audience)]


# --------------------------------------------------------------------------- bank authorization


async def bank_authorization(
    request: Request,
    key: EntityReaderKey,
    state: StateDep,
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
            examples=["2027-06-30"],
        ),
    ] = None,
) -> AuthorizationRef | None:
    """Check a bank's authorization reference (other roles need none: returns None).

    The values are written to the call's audit context first, so that a refused call is
    audited with what it sent.

    Raises
    ------
    AuthorizationReferenceError
        If a header is missing (``authorization_required``), the number holds an ID number
        (``authorization_invalid``), the authorization expired before today
        (``authorization_expired``) or runs too long (``authorization_too_long``):
        :func:`serving.checks.check_authorization`, 403.
    """
    if key.role != KeyRole.bank:
        return None
    context = audit_context_of(request.scope) or open_audit(request, key)
    context.record_authorization(authorization_id, purpose, expires)
    return check_authorization(
        authorization_id,
        purpose,
        expires,
        None,
        fields=HEADER_FIELDS,
        today=date.today(),
        max_days=state.settings.authorization_max_days,
    )


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
    return checked_uscc(uscc, state.allowlist, location="path")


EnterpriseUscc = Annotated[str, Depends(enterprise_uscc)]
