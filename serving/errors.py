"""One JSON error shape for every failure, and the one place errors become HTTP status codes.

Every error response, whatever raised it, is an :class:`ErrorResponse`::

    {"error": {"code": "invalid_identifier",
               "message": "uscc check character must be 'L'; got 'X' in '91110000600037341X'",
               "field": "uscc", "check": "check_character",
               "details": [{"field": "uscc", "location": "path", "check": "check_character",
                            "message": "…"}],
               "request_id": "4f1c…"}}

``code`` is stable and machine-readable; ``field`` and ``check`` name the input at fault and
the rule it broke (for request validation, the first of ``details``); ``request_id`` is also
the ``X-Request-Id`` response header and the ``request_id`` of the call's audit row.

Status codes (:data:`ERROR_STATUS`, first match wins)
----------------------------------------------------
====================================  ======  ==========================================
exception                             status  code
====================================  ======  ==========================================
AuthenticationError                   401     ``unauthenticated``
PermissionDeniedError                 403     ``forbidden``
AuthorizationReferenceError           403     ``authorization_required`` / ``…_expired``
UnknownKeyError                       404     ``unknown_key``
ServiceUnavailableError               503     ``unavailable``
InvalidIdentifierError                422     ``invalid_identifier``
UnknownEntityError                    404     ``unknown_entity``
UnknownWarningError                   404     ``unknown_warning``
IllegalTransitionError                409     ``illegal_transition``
MissingColumnsError, InvalidFrameError,
UnknownTableError, BodsValidationError  422   ``invalid_input``
NotFittedError                        503     ``not_ready``
InconsistentScoresError               500     ``inconsistent_scores``
ScoreSetError                         409     ``score_set_unavailable``
RiskError (any other)                 500     ``internal_error``
RegistryError (models)                503     ``model_unavailable``
NotFittedError (models)               503     ``not_ready``
PromotionRefusedError                 409     ``promotion_refused``
TrainingDataError                     422     ``invalid_input``
ModelError (any other)                500     ``internal_error``
RequestValidationError (FastAPI)      422     ``validation_error``
HTTPException (routing: 404, 405, …)  as is   ``not_found``, ``method_not_allowed``, …
anything else                         500     ``internal_error`` (logged with traceback)
====================================  ======  ==========================================

The :class:`models.exceptions.ModelError` family is translated by the same handler.
Bad input never reaches a 500: query, path, header and body values are validated by their
declared types first, identifiers by :mod:`risk.identifiers`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.exceptions import ModelError, PromotionRefusedError, RegistryError, TrainingDataError
from models.exceptions import NotFittedError as ModelNotFittedError
from risk.exceptions import (
    BodsValidationError,
    IllegalTransitionError,
    InconsistentScoresError,
    InvalidFrameError,
    InvalidIdentifierError,
    MissingColumnsError,
    NotFittedError,
    RiskError,
    UnknownEntityError,
    UnknownTableError,
    UnknownWarningError,
)
from risk.identifiers import mask_id_numbers
from risk.scoresets import ScoreSetError
from serving.exceptions import (
    AuthenticationError,
    AuthorizationReferenceError,
    PermissionDeniedError,
    ServiceUnavailableError,
    ServingError,
    UnknownKeyError,
)

__all__ = [
    "ERROR_RESPONSES",
    "ERROR_STATUS",
    "ErrorBody",
    "ErrorDetail",
    "ErrorResponse",
    "UnhandledErrorMiddleware",
    "describe_error",
    "error_body",
    "error_json",
    "error_status",
    "handle_known_error",
    "install_error_handlers",
    "request_id_of",
    "responses",
]

logger = logging.getLogger("credlink.serving")

ERROR_STATUS: list[tuple[type[Exception], int, str]] = [
    (AuthenticationError, 401, "unauthenticated"),
    (PermissionDeniedError, 403, "forbidden"),
    (AuthorizationReferenceError, 403, "authorization_required"),
    (UnknownKeyError, 404, "unknown_key"),
    (ServiceUnavailableError, 503, "unavailable"),
    (InvalidIdentifierError, 422, "invalid_identifier"),
    (UnknownEntityError, 404, "unknown_entity"),
    (UnknownWarningError, 404, "unknown_warning"),
    (IllegalTransitionError, 409, "illegal_transition"),
    (MissingColumnsError, 422, "invalid_input"),
    (InvalidFrameError, 422, "invalid_input"),
    (UnknownTableError, 422, "invalid_input"),
    (BodsValidationError, 422, "invalid_input"),
    (NotFittedError, 503, "not_ready"),
    (InconsistentScoresError, 500, "inconsistent_scores"),
    (ScoreSetError, 409, "score_set_unavailable"),
    (RiskError, 500, "internal_error"),
    (RegistryError, 503, "model_unavailable"),
    (ModelNotFittedError, 503, "not_ready"),
    (PromotionRefusedError, 409, "promotion_refused"),
    (TrainingDataError, 422, "invalid_input"),
    (ModelError, 500, "internal_error"),
]
"""Exception class → (status, code); the first ``isinstance`` match wins (module docstring)."""

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
_LOCATIONS = ("path", "query", "header", "cookie", "body")
_INTERNAL_MESSAGE = "an internal error occurred; quote the request id when reporting it"


class ErrorDetail(BaseModel):
    """One problem with the request."""

    field: str | None = Field(description="The input at fault, e.g. depth, uscc, note.")
    location: str | None = Field(
        default=None, description="path, query, header or body (validation errors)."
    )
    check: str | None = Field(description="The rule it broke, e.g. less_than_equal.")
    message: str


class ErrorBody(BaseModel):
    """What went wrong, for programs (code, field, check) and for people (message)."""

    code: str
    message: str
    field: str | None = None
    check: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)
    request_id: str | None = None


class ErrorResponse(BaseModel):
    """The one error shape of the API."""

    error: ErrorBody

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_identifier",
                        "message": "uscc check character must be 'L'; got 'X' in "
                        "'91110000600037341X'",
                        "field": "uscc",
                        "check": "check_character",
                        "details": [
                            {
                                "field": "uscc",
                                "location": "path",
                                "check": "check_character",
                                "message": "uscc check character must be 'L'; got 'X' in "
                                "'91110000600037341X'",
                            }
                        ],
                        "request_id": "4f1c2a9e0b7d4c55a1e3f0b2c6d8e9a1",
                    }
                }
            ]
        }
    )


_DESCRIPTIONS = {
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role may not use this route, or a bank sent no valid authorization.",
    404: "Not found.",
    409: "The warning's lifecycle has no such move, or no score set is there to update.",
    422: "Invalid input: the field and the failed check are named.",
    503: "The service cannot answer now.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all with :class:`ErrorResponse`."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error.")}
        for status in statuses
    }


ERROR_RESPONSES = responses(401, 403, 422)
"""What every authenticated route may answer."""


def request_id_of(scope: Scope) -> str | None:
    """The request id :class:`serving.middleware.RequestContextMiddleware` assigned."""
    state = scope.get("state")
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def error_json(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    check: str | None = None,
    details: Sequence[ErrorDetail] = (),
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render the one error shape.

    Every text is passed through :func:`~risk.identifiers.mask_id_numbers`: an error names the
    value the caller sent, and a caller may send an ID number where a USCC belongs.
    """
    body = ErrorResponse(
        error=ErrorBody(
            code=code,
            message=mask_id_numbers(message),
            field=field,
            check=check,
            details=[d.model_copy(update={"message": mask_id_numbers(d.message)}) for d in details],
            request_id=request_id,
        )
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def error_status(exc: Exception) -> tuple[int, str]:
    """The HTTP status and code of an exception (:data:`ERROR_STATUS`; else 500)."""
    for cls, status, code in ERROR_STATUS:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else ""
    return text or type(exc).__name__


def describe_error(exc: Exception) -> tuple[int, str, str | None, str | None]:
    """The status, code, field and check an exception is answered with.

    :func:`error_status`, then the field and the rule the exception names: the identifier and
    its failed check, the authorization field at fault (its code more precise than the
    table's), a lifecycle move, the institution a bank may not act for, a missing column.
    """
    status, code = error_status(exc)
    if isinstance(exc, InvalidIdentifierError):
        return status, code, exc.field, exc.check
    if isinstance(exc, AuthorizationReferenceError):
        return status, exc.code, exc.field, exc.code.removeprefix("authorization_")
    if isinstance(exc, IllegalTransitionError):
        return status, code, "status", "transition"
    if isinstance(exc, PermissionDeniedError) and exc.field is not None:
        return status, code, exc.field, "institution"
    if isinstance(exc, MissingColumnsError) and exc.missing:
        return status, code, exc.missing[0], "required"
    return status, code, None, None


def error_body(exc: Exception, request_id: str | None) -> tuple[int, ErrorBody]:
    """The status and the one error body of a refusal answered inline (a batch item), its
    message with ID numbers masked like every error's (:func:`error_json`)."""
    status, code, field, check = describe_error(exc)
    body = ErrorBody(
        code=code,
        message=mask_id_numbers(str(exc)),
        field=field,
        check=check,
        request_id=request_id,
    )
    return status, body


async def handle_known_error(request: Request, exc: Exception) -> JSONResponse:
    """Translate a :class:`RiskError`, :class:`ServingError` or :class:`ModelError`."""
    request_id = request_id_of(request.scope)
    status, code, field, check = describe_error(exc)
    if status >= 500:
        logger.error("request %s failed: %s", request_id, exc, exc_info=exc)
        message = _INTERNAL_MESSAGE if code == "internal_error" else _message(exc)
        return error_json(status, code, message, request_id=request_id)
    details: list[ErrorDetail] = []
    headers: dict[str, str] | None = None
    message = _message(exc)
    if isinstance(exc, InvalidIdentifierError):
        location = getattr(exc, "location", "path")  # body identifiers set it to "body"
        details = [ErrorDetail(field=field, location=location, check=check, message=message)]
    elif isinstance(exc, MissingColumnsError):
        details = [
            ErrorDetail(field=c, check="required", message=f"column {c} is required")
            for c in exc.missing
        ]
    elif isinstance(exc, BodsValidationError):
        details = [ErrorDetail(field=None, check="bods", message=p) for p in exc.problems]
    elif isinstance(exc, AuthenticationError):
        headers = {"WWW-Authenticate": 'Bearer realm="credlink"'}
    return error_json(
        status,
        code,
        message,
        field=field,
        check=check,
        details=details,
        request_id=request_id,
        headers=headers,
    )


def _validation_detail(error: dict[str, Any]) -> ErrorDetail:
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc and loc[0] in _LOCATIONS else None
    parts = loc[1:] if location else loc
    # A JSON syntax error is located by character offset, not by field.
    field = None if error.get("type") == "json_invalid" else ".".join(parts) or None
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if field and "input" in error and location != "body" and "; got " not in message:
        shown = repr(error["input"])
        message = f"{field}: {message}; got {shown[:80] + '…' if len(shown) > 80 else shown}"
    elif field:
        message = f"{field}: {message}"
    return ErrorDetail(field=field, location=location, check=error.get("type"), message=message)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation errors as a 422 in the one shape, naming each field."""
    assert isinstance(exc, RequestValidationError)
    details = [_validation_detail(dict(e)) for e in exc.errors()]
    first = details[0] if details else ErrorDetail(field=None, check=None, message="invalid")
    return error_json(
        422,
        "validation_error",
        first.message,
        field=first.field,
        check=first.check,
        details=details,
        request_id=request_id_of(request.scope),
    )


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    """Starlette/FastAPI ``HTTPException`` (unknown route, wrong method, …) in the one shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else code
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    return error_json(
        exc.status_code,
        code,
        message,
        request_id=request_id_of(request.scope),
        headers=dict(exc.headers) if exc.headers else None,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the translations of this module on ``app``."""
    app.add_exception_handler(RiskError, handle_known_error)
    app.add_exception_handler(ServingError, handle_known_error)
    app.add_exception_handler(ModelError, handle_known_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)


class UnhandledErrorMiddleware:
    """Turn any exception no handler took into a 500 in the one shape (and log it).

    Starlette would answer those from its outermost middleware, *outside* the audit; this one
    sits inside :class:`serving.middleware.AuditMiddleware`, so even a crash is audited with
    the exact body the client receives.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for a clean answer: let the server close the connection
                raise
            request_id = request_id_of(scope)
            logger.error("request %s failed", request_id, exc_info=exc)
            response = error_json(500, "internal_error", _INTERNAL_MESSAGE, request_id=request_id)
            await response(scope, receive, send)
