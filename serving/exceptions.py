"""The one exception family of credlink's service layer (keys, authentication, authorization).

Every error subclasses :class:`ServingError` *and* the builtin it specialises, as
:mod:`risk.exceptions` does; :mod:`serving.errors` maps the family to HTTP status codes in one
place, next to the :class:`~risk.exceptions.RiskError` family.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "AuthorizationReferenceError",
    "PermissionDeniedError",
    "ServiceUnavailableError",
    "ServingError",
    "UnknownKeyError",
]


class ServingError(Exception):
    """Base class of every credlink service error."""


class AuthenticationError(ServingError, PermissionError):
    """No API key, an unknown one or a revoked one (HTTP 401)."""


class PermissionDeniedError(ServingError, PermissionError):
    """The key may not do this (HTTP 403): its role, or another institution's data.

    Parameters
    ----------
    message : str
        A sentence for people.
    field : str, optional
        The input at fault (``loans[3].bank``), when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuthorizationReferenceError(ServingError, PermissionError):
    """A bank call without a valid authorization reference (授权编号) (403).

    Parameters
    ----------
    code : str
        ``authorization_required``, ``authorization_expired``, ``authorization_not_yet_valid``,
        ``authorization_too_long``, ``authorization_purpose``, or ``authorization_invalid``
        (an authorization number holding a resident ID number).
    field : str
        The header at fault, e.g. ``"X-Authorization-Expires"``.
    message : str
        A sentence for people.
    """

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


class UnknownKeyError(ServingError, KeyError):
    """An API key id is not in the store."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ServiceUnavailableError(ServingError, RuntimeError):
    """The service cannot answer now (no score set published, audit store unreachable): 503."""
