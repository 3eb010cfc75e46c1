"""Sessions of the credit-office web pages: signed cookies, their server-side record, the
login lockout, and one-shot messages.

A session cookie holds no API token, only ``{"k": key id, "s": session id, "c": CSRF token,
"t": issued at}``, base64url-encoded and signed with HMAC-SHA256 under a key derived from
:meth:`serving.settings.Settings.session_key` (what itsdangerous' ``TimestampSigner`` does,
in twenty lines of the standard library). Each request checks the signature, the age
(:data:`SESSION_MAX_AGE`), then the session's row in the store's ``ui_sessions`` (which keeps
only the SHA-256 of the session id) and then the API key itself: logging out
(:func:`end_session`) or revoking the key ends a session at once, on every worker.

Login lockout
    :func:`begin_login` records every login attempt in ``login_failures`` *before* the key is
    checked, and counts the failures from the same client address and for the same key prefix
    within the window; from ``max_failures`` on, the attempt is refused without checking the
    key (the page answers 429 with ``Retry-After``). :func:`end_login` deletes the row of an
    attempt whose key was valid. Recording first and counting after the commit makes the limit
    hold across workers: of concurrent attempts, the last to commit sees all the others.

CSRF: every form of the pages carries the session's token (``csrf_token``); a POST is accepted
only when the field equals the token in the signed cookie (synchronizer token), on top of the
cookie's ``SameSite=Lax``.

Flash messages (the result of a status change, shown once on the next page) travel in a second
signed cookie, under a key of their own, so that one cookie can never pass for the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Engine, delete, insert, select, update

from risk.store import login_failures, ui_sessions

__all__ = [
    "FLASH_COOKIE",
    "FLASH_MAX_AGE",
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "CookieSigner",
    "Flash",
    "LoginAttempt",
    "LoginPolicy",
    "SessionStatus",
    "UiSession",
    "begin_login",
    "decode_flash",
    "decode_session",
    "encode_flash",
    "encode_session",
    "end_login",
    "end_session",
    "key_prefix_of",
    "new_session",
    "session_status",
    "start_session",
]

SESSION_COOKIE = "credlink_session"
FLASH_COOKIE = "credlink_flash"
SESSION_MAX_AGE = 8 * 3600
"""Seconds a login lasts (a working day); then the pages ask for the key again."""
FLASH_MAX_AGE = 120
_MAX_COOKIE = 4096
_MAX_FLASH = 200  # characters: escaped JSON in base64 stays far below 4 KB


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """Sign and check timestamped JSON values with HMAC-SHA256.

    Parameters
    ----------
    secret
        The service's session key (≥ 16 bytes).
    purpose
        Separates the keys of different cookies (``session``, ``flash``): each signer uses
        ``HMAC(secret, "credlink-ui:" + purpose)`` as its key.
    """

    def __init__(self, secret: bytes, purpose: str) -> None:
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise ValueError("secret must be at least 16 bytes")
        label = f"credlink-ui:{purpose}".encode()
        self._key = hmac.new(secret, label, hashlib.sha256).digest()

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest()

    def sign(self, payload: dict[str, Any], now: int) -> str:
        """``<base64url(JSON with "t": now)>.<base64url(HMAC)>``."""
        text = json.dumps({**payload, "t": now}, separators=(",", ":"), ensure_ascii=True)
        body = _b64encode(text.encode("ascii"))
        return f"{body}.{_b64encode(self._mac(body))}"

    def unsign(self, value: str | None, now: int, max_age: int) -> dict[str, Any] | None:
        """The payload of a value this signer made at most ``max_age`` seconds ago, else None.

        Anything else — missing, malformed, tampered, expired or from the future — is None.
        """
        if not value or len(value) > _MAX_COOKIE or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        try:
            given = _b64decode(mac)
            payload = json.loads(_b64decode(body))
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(given, self._mac(body)):
            return None
        if not isinstance(payload, dict):
            return None
        issued = payload.get("t")
        if not isinstance(issued, int) or not (now - max_age <= issued <= now + 60):
            return None
        return payload


@dataclass(frozen=True)
class UiSession:
    """A logged-in browser: the API key it logged in with, its session id and CSRF token."""

    key_id: int
    session_id: str
    csrf_token: str
    issued_at: int


def new_session(key_id: int, now: int) -> UiSession:
    """A session for ``key_id`` with a fresh 256-bit session id and CSRF token (not stored)."""
    return UiSession(
        key_id=key_id,
        session_id=secrets.token_urlsafe(32),
        csrf_token=secrets.token_urlsafe(32),
        issued_at=now,
    )


def encode_session(signer: CookieSigner, session: UiSession) -> str:
    """The cookie value of a session."""
    payload = {"k": session.key_id, "s": session.session_id, "c": session.csrf_token}
    return signer.sign(payload, session.issued_at)


def decode_session(signer: CookieSigner, value: str | None, now: int) -> UiSession | None:
    """The session in a cookie value, or None if it is missing, invalid or too old.

    Only the cookie is checked here; :func:`session_status` asks the store whether the
    session is still open.
    """
    payload = signer.unsign(value, now, SESSION_MAX_AGE)
    if payload is None:
        return None
    key_id, session_id, token = payload.get("k"), payload.get("s"), payload.get("c")
    if (
        not isinstance(key_id, int)
        or isinstance(key_id, bool)
        or not isinstance(session_id, str)
        or not isinstance(token, str)
    ):
        return None
    return UiSession(
        key_id=key_id, session_id=session_id, csrf_token=token, issued_at=int(payload["t"])
    )


# --------------------------------------------------------------------------- server side


def _aware(value: datetime) -> datetime:
    # SQLite has no timezone type: values come back naive, and were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionStatus(StrEnum):
    """What the store says of a session cookie's session."""

    open = "open"
    unknown = "unknown"  # never recorded (or recorded for another key): a forged cookie
    expired = "expired"
    ended = "ended"  # logged out


def start_session(engine: Engine, key_id: int, now: datetime) -> UiSession:
    """Create and record a session for ``key_id`` (valid :data:`SESSION_MAX_AGE` seconds).

    Sessions that expired are deleted on the way (the table holds the open ones and the
    recently ended ones, not the history of every login).
    """
    session = new_session(key_id, int(now.timestamp()))
    with engine.begin() as conn:
        conn.execute(delete(ui_sessions).where(ui_sessions.c.expires_at < now))
        conn.execute(
            insert(ui_sessions),
            {
                "session_hash": _session_hash(session.session_id),
                "key_id": key_id,
                "created_at": now,
                "expires_at": now + timedelta(seconds=SESSION_MAX_AGE),
                "revoked_at": None,
            },
        )
    return session


def session_status(engine: Engine, session: UiSession, now: datetime) -> SessionStatus:
    """Whether the store holds ``session`` open at ``now`` (for the key of its cookie)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(ui_sessions.c.key_id, ui_sessions.c.expires_at, ui_sessions.c.revoked_at).where(
                ui_sessions.c.session_hash == _session_hash(session.session_id)
            )
        ).one_or_none()
    if row is None or row.key_id != session.key_id:
        return SessionStatus.unknown
    if row.revoked_at is not None:
        return SessionStatus.ended
    if _aware(row.expires_at) <= now:
        return SessionStatus.expired
    return SessionStatus.open


def end_session(engine: Engine, session: UiSession, now: datetime) -> None:
    """Log a session out: its cookie is refused from now on, whoever sends it."""
    with engine.begin() as conn:
        conn.execute(
            update(ui_sessions)
            .where(
                ui_sessions.c.session_hash == _session_hash(session.session_id),
                ui_sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )


# --------------------------------------------------------------------------- login lockout

_KEY_PREFIX = re.compile(r"clk_[A-Za-z0-9_-]{8}")


def key_prefix_of(token: str) -> str | None:
    """The listed prefix (first 12 characters) of a credlink-shaped token, else None.

    Only a token's own prefix is kept: whatever else someone types into the login form (it
    could be anything, a resident ID number included) never reaches the store.
    """
    match = _KEY_PREFIX.match(token)
    return match.group(0) if match else None


@dataclass(frozen=True)
class LoginPolicy:
    """How many failed logins (``max_failures``) within ``window_seconds`` lock a client or a
    key prefix out (until the oldest of them leaves the window)."""

    max_failures: int
    window_seconds: int

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError(f"max_failures must be at least 1; got {self.max_failures}")
        if self.window_seconds < 1:
            raise ValueError(f"window_seconds must be at least 1; got {self.window_seconds}")


@dataclass(frozen=True)
class LoginAttempt:
    """A recorded login attempt: its row, and how long to wait if it is refused (else 0)."""

    row_id: int
    retry_after: int

    @property
    def refused(self) -> bool:
        """Whether the lockout refuses this attempt (do not check its key)."""
        return self.retry_after > 0


def begin_login(
    engine: Engine, client: str, token: str, policy: LoginPolicy, now: datetime
) -> LoginAttempt:
    """Record a login attempt (a failure until :func:`end_login`) and apply the lockout.

    Parameters
    ----------
    engine
        The store.
    client
        The client's address (at most 64 characters are kept).
    token
        What was typed as the key (only :func:`key_prefix_of` it is kept).
    policy
        The lockout's limits.
    now
        The time of the attempt (UTC).

    Returns
    -------
    LoginAttempt
        ``retry_after`` > 0 (seconds) when ``policy.max_failures`` earlier failures from this
        client or for this key prefix lie within the window: the attempt is then deleted again
        (a refused attempt does not extend the lockout) and its key must not be checked.
    """
    window = timedelta(seconds=policy.window_seconds)
    prefix = key_prefix_of(token)
    client = client[:64]
    with engine.begin() as conn:
        conn.execute(delete(login_failures).where(login_failures.c.at < now - window))
        row_id = conn.execute(
            insert(login_failures).returning(login_failures.c.id),
            {"at": now, "client": client, "key_prefix": prefix},
        ).scalar_one()
    # Counted after the commit (module docstring): concurrent attempts see each other's rows.
    retry_after = 0.0
    with engine.connect() as conn:
        for column, value in (
            (login_failures.c.client, client),
            (login_failures.c.key_prefix, prefix),
        ):
            if value is None:
                continue
            earlier = (
                conn.execute(
                    select(login_failures.c.at)
                    .where(
                        column == value,
                        login_failures.c.at >= now - window,
                        login_failures.c.id != row_id,
                    )
                    .order_by(login_failures.c.at.desc())
                    .limit(policy.max_failures)
                )
                .scalars()
                .all()
            )
            if len(earlier) >= policy.max_failures:
                lifted = _aware(earlier[-1]) + window
                retry_after = max(retry_after, (lifted - now).total_seconds())
    if retry_after > 0:
        end_login(engine, row_id)
        return LoginAttempt(row_id=row_id, retry_after=max(1, math.ceil(retry_after)))
    return LoginAttempt(row_id=row_id, retry_after=0)


def end_login(engine: Engine, row_id: int) -> None:
    """Forget an attempt that was not a failure (its key was valid, or it was refused)."""
    with engine.begin() as conn:
        conn.execute(delete(login_failures).where(login_failures.c.id == row_id))


@dataclass(frozen=True)
class Flash:
    """A one-shot message for the next page: ``ok`` (green) or ``error`` (red)."""

    level: Literal["ok", "error"]
    text: str


def encode_flash(signer: CookieSigner, flash: Flash, now: int) -> str:
    """The cookie value of a flash message."""
    return signer.sign({"l": flash.level, "m": flash.text[:_MAX_FLASH]}, now)


def decode_flash(signer: CookieSigner, value: str | None, now: int) -> Flash | None:
    """The flash message in a cookie value, or None."""
    payload = signer.unsign(value, now, FLASH_MAX_AGE)
    if payload is None:
        return None
    level, text = payload.get("l"), payload.get("m")
    if level not in ("ok", "error") or not isinstance(text, str):
        return None
    return Flash(level=level, text=text)
