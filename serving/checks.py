"""What callers send, checked once for headers, paths and bodies alike.

A bank's authorization (授权编号, purpose, expiry)
    The GET routes take it from the ``X-Authorization-*`` headers
    (:func:`serving.deps.bank_authorization`), the assessments from each body's
    ``authorization`` object; :func:`check_authorization` is the one check of both: present,
    a number that is no resident ID number (:func:`check_authorization_id`), dates within the
    policy (:func:`check_authorization_dates`: not expired, not granted in the future, not
    running more than ``CREDLINK_AUTHORIZATION_MAX_DAYS`` after today — a bank cannot assert an
    authorization that runs to 9999-12-31), and for a purpose the route admits. Each refusal is
    a 403 naming the field as the caller sent it (:class:`AuthorizationFields`).

An enterprise's USCC
    :func:`checked_uscc` normalises and checks a USCC from a path or a body (allow-listed pilot
    codes pass) and names the failed check in a 422 with where the value came from.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from risk.exceptions import InvalidIdentifierError
from risk.identifiers import check_uscc, contains_id_number, mask_id_numbers
from serving.audit import Purpose
from serving.exceptions import AuthorizationReferenceError

__all__ = [
    "AUTHORIZATION_ID_PATTERN",
    "BODY_FIELDS",
    "HEADER_FIELDS",
    "AuthorizationFields",
    "AuthorizationRef",
    "check_authorization",
    "check_authorization_dates",
    "check_authorization_id",
    "checked_uscc",
]

AUTHORIZATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
"""授权编号: ASCII letters, digits and ``. _ : / -``, 1–64 characters (headers are ASCII)."""


@dataclass(frozen=True)
class AuthorizationFields:
    """How a caller sends an authorization: the names of its fields, for the refusals.

    ``granted`` is None where the caller cannot send a grant date (the headers); where it can,
    the grant date is required.
    """

    id: str
    purpose: str
    expires: str
    granted: str | None = None


HEADER_FIELDS = AuthorizationFields(
    "X-Authorization-Id", "X-Authorization-Purpose", "X-Authorization-Expires"
)
"""The GET routes' headers."""

BODY_FIELDS = AuthorizationFields(
    "authorization.id",
    "authorization.purpose",
    "authorization.expires_at",
    "authorization.granted_at",
)
"""The ``authorization`` object of an assessment's body."""


@dataclass(frozen=True)
class AuthorizationRef:
    """The enterprise's authorization a bank call relies on (授权编号, purpose, expiry)."""

    id: str
    purpose: Purpose
    expires: date


def check_authorization_id(authorization_id: str, field: str) -> None:
    """An authorization number (授权编号) is a reference, never personal data.

    Raises
    ------
    AuthorizationReferenceError
        403 ``authorization_invalid`` naming ``field`` if it holds a resident ID number (it
        would be echoed in answers and kept in the audit log).
    """
    if contains_id_number(authorization_id):
        raise AuthorizationReferenceError(
            "authorization_invalid",
            field,
            f"{field} must be the authorization's number, not a resident ID number; got "
            f"{mask_id_numbers(authorization_id)}",
        )


def check_authorization_dates(
    authorization_id: str,
    expires: date,
    granted: date | None,
    *,
    today: date,
    max_days: int,
    fields: tuple[str, str | None],
) -> None:
    """The one rule for a bank authorization's dates (headers and bodies alike).

    Valid through ``expires`` from ``granted`` (when given): expired before today, granted
    after today, or expiring more than ``max_days`` after today are refused — the bank asserts
    the authorization, so how long it may claim one runs is policy's to cap.

    Parameters
    ----------
    authorization_id
        The 授权编号 (for the messages).
    expires, granted
        Its last valid day and the day it was granted (None where the caller cannot send it).
    today
        The service's today.
    max_days
        ``CREDLINK_AUTHORIZATION_MAX_DAYS``.
    fields
        The names of the expiry and grant fields as the caller sent them
        (``X-Authorization-Expires``, ``authorization.expires_at``, …).

    Raises
    ------
    AuthorizationReferenceError
        403 ``authorization_expired``, ``authorization_not_yet_valid`` or
        ``authorization_too_long``, naming the field (and the cap).
    """
    expires_field, granted_field = fields
    if expires < today:
        raise AuthorizationReferenceError(
            "authorization_expired",
            expires_field,
            f"{expires_field} must be today ({today}) or later; authorization "
            f"{authorization_id} expired on {expires}",
        )
    if granted is not None and granted > today:
        raise AuthorizationReferenceError(
            "authorization_not_yet_valid",
            granted_field or "granted",
            f"{granted_field} must be today ({today}) or earlier; got {granted}",
        )
    latest = today + timedelta(days=max_days)
    if expires > latest:
        raise AuthorizationReferenceError(
            "authorization_too_long",
            expires_field,
            f"{expires_field} must be at most {max_days} days after today ({latest}), the "
            f"longest an authorization may run (CREDLINK_AUTHORIZATION_MAX_DAYS); got {expires}",
        )


def check_authorization(
    authorization_id: str | None,
    purpose: Purpose | None,
    expires: date | None,
    granted: date | None,
    *,
    fields: AuthorizationFields,
    today: date,
    max_days: int,
    purposes: Collection[Purpose] | None = None,
) -> AuthorizationRef:
    """The one check of a bank's authorization, from headers or a body (module docstring).

    Parameters
    ----------
    authorization_id, purpose, expires, granted
        What the caller sent (None for a field it left out).
    fields
        Their names as the caller sent them (:data:`HEADER_FIELDS`, :data:`BODY_FIELDS`).
    today, max_days
        The service's today and ``CREDLINK_AUTHORIZATION_MAX_DAYS``
        (:func:`check_authorization_dates`).
    purposes
        The purposes the route admits (None: any).

    Returns
    -------
    AuthorizationRef

    Raises
    ------
    AuthorizationReferenceError
        403 ``authorization_required`` (a field missing), ``authorization_invalid``,
        ``authorization_expired``, ``authorization_not_yet_valid``,
        ``authorization_too_long`` or ``authorization_purpose``, naming the field.
    """
    sent: list[tuple[str, object]] = [(fields.id, authorization_id), (fields.purpose, purpose)]
    if fields.granted is not None:  # required where it can be sent
        sent.append((fields.granted, granted))
    sent.append((fields.expires, expires))
    missing = [name for name, value in sent if value is None]
    if missing:
        raise AuthorizationReferenceError(
            "authorization_required",
            missing[0],
            f"bank calls must send the enterprise's authorization; missing {', '.join(missing)}",
        )
    assert authorization_id is not None and purpose is not None and expires is not None
    check_authorization_id(authorization_id, fields.id)
    check_authorization_dates(
        authorization_id,
        expires,
        granted,
        today=today,
        max_days=max_days,
        fields=(fields.expires, fields.granted),
    )
    if purposes is not None and purpose not in purposes:
        allowed = ", ".join(p.value for p in purposes)
        raise AuthorizationReferenceError(
            "authorization_purpose",
            fields.purpose,
            f"{fields.purpose} must be one of {allowed} for this call; got {purpose}",
        )
    return AuthorizationRef(id=authorization_id, purpose=purpose, expires=expires)


def checked_uscc(
    value: str, allowlist: Iterable[str], *, location: Literal["path", "body"] = "path"
) -> str:
    """A USCC as sent, normalised and checked (allow-listed pilot codes pass).

    Parameters
    ----------
    value
        What the caller sent.
    allowlist
        Early-pilot USCCs accepted despite a failed check character.
    location
        Where it was sent, named in the 422's details.

    Raises
    ------
    InvalidIdentifierError
        422 naming ``uscc`` and the failed check: length, alphabet, region or check_character.
    """
    result = check_uscc(value, allowlist)
    if result.check is not None:
        error = InvalidIdentifierError("uscc", result.check, str(result.reason))
        error.location = location  # type: ignore[attr-defined]  # read by serving.errors
        raise error
    return result.code
