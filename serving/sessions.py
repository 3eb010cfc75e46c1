"""Signed cookies of the credit-office web pages: the login session and one-shot messages.

A session cookie holds no secret and no API token, only ``{"k": key id, "c": CSRF token,
"t": issued at}``, base64url-encoded and signed with HMAC-SHA256 under a key derived from
:meth:`serving.settings.Settings.session_key` (what itsdangerous' ``TimestampSigner`` does,
in twenty lines of the standard library). Each request checks the signature, the age
(:data:`SESSION_MAX_AGE`) and then the API key itself, so revoking the key ends its sessions.

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
import secrets
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "FLASH_COOKIE",
    "FLASH_MAX_AGE",
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "CookieSigner",
    "Flash",
    "UiSession",
    "decode_flash",
    "decode_session",
    "encode_flash",
    "encode_session",
    "new_session",
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
    """A logged-in browser: the API key it logged in with and its CSRF token."""

    key_id: int
    csrf_token: str
    issued_at: int


def new_session(key_id: int, now: int) -> UiSession:
    """A session for ``key_id`` with a fresh 256-bit CSRF token."""
    return UiSession(key_id=key_id, csrf_token=secrets.token_urlsafe(32), issued_at=now)


def encode_session(signer: CookieSigner, session: UiSession) -> str:
    """The cookie value of a session."""
    return signer.sign({"k": session.key_id, "c": session.csrf_token}, session.issued_at)


def decode_session(signer: CookieSigner, value: str | None, now: int) -> UiSession | None:
    """The session in a cookie value, or None if it is missing, invalid or too old."""
    payload = signer.unsign(value, now, SESSION_MAX_AGE)
    if payload is None:
        return None
    key_id, token = payload.get("k"), payload.get("c")
    if not isinstance(key_id, int) or isinstance(key_id, bool) or not isinstance(token, str):
        return None
    return UiSession(key_id=key_id, csrf_token=token, issued_at=int(payload["t"]))


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
