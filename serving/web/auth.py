"""Who is logged in to the credit office's web pages: sessions, roles, CSRF, and login.

Login exchanges an API key (checked by :func:`serving.keys.authenticate`) for a signed,
HttpOnly, ``SameSite=Lax`` session cookie (:mod:`serving.web.sessions`); the key itself is never
stored in the browser. The session is also recorded in the store, so that logout, expiry and
revoking the key end it at once on every worker. After ``CREDLINK_LOGIN_MAX_FAILURES`` failed
logins from one address or for one key prefix within ``CREDLINK_LOGIN_WINDOW_SECONDS``, further
attempts are refused without their key being checked (:func:`log_in`). Only credit_office and
admin keys may use the pages (:data:`PAGE_ROLES`); every form carries the session's CSRF token
(:func:`form_user`).
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from serving.deps import StateDep
from serving.exceptions import AuthenticationError, UnknownKeyError
from serving.keys import ApiKey, authenticate, get_key
from serving.roles import KeyRole
from serving.web.sessions import (
    SESSION_COOKIE,
    CookieSigner,
    LoginPolicy,
    SessionStatus,
    UiSession,
    begin_login,
    decode_session,
    end_login,
    session_status,
    start_session,
)

__all__ = [
    "COOKIE_PATH",
    "PAGE_ROLES",
    "ROLE_LABELS",
    "CsrfRefused",
    "FormUserDep",
    "LoginRequired",
    "LoginResult",
    "Signers",
    "SignersDep",
    "UiUser",
    "UiUserDep",
    "form_user",
    "get_signers",
    "log_in",
    "role_refusal",
    "set_cookie",
    "signers_of",
    "ui_user",
    "unix_now",
    "utc_now",
]

logger = logging.getLogger("credlink.serving")

PAGE_ROLES = (KeyRole.credit_office,)
"""Roles that may use the pages (and admin, who may do everything)."""

ROLE_LABELS = {
    KeyRole.bank: "银行",
    KeyRole.credit_office: "信用办",
    KeyRole.analyst: "分析人员",
    KeyRole.admin: "管理员",
}
COOKIE_PATH = "/ui"
"""Where the pages' cookies live."""

_SESSION_REFUSALS = {
    SessionStatus.unknown: "登录无效，请重新登录。",
    SessionStatus.expired: "登录已过期，请重新登录。",
    SessionStatus.ended: "您已退出登录，请重新登录。",
}


class LoginRequired(Exception):
    """No valid session: the page redirects to the login form (with ``message`` if any)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")
        self.message = message


class CsrfRefused(Exception):
    """A form without the session's CSRF token (403)."""


def unix_now() -> int:
    """Seconds since the epoch (what the cookies' signatures are dated with)."""
    return int(time.time())


def utc_now() -> datetime:
    """Now, in UTC (what the store's sessions and login attempts are dated with)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Signers:
    """The cookie signers of this app (one key per cookie kind)."""

    session: CookieSigner
    flash: CookieSigner


def signers_of(request: Request) -> Signers | None:
    """The signers :func:`get_signers` built for this app, if any yet."""
    signers = getattr(request.app.state, "ui_signers", None)
    return signers if isinstance(signers, Signers) else None


def get_signers(request: Request, state: StateDep) -> Signers:
    """The signers, built on first use from the settings' session key."""
    signers = signers_of(request)
    if signers is None:
        secret = state.settings.session_key()
        signers = Signers(CookieSigner(secret, "session"), CookieSigner(secret, "flash"))
        request.app.state.ui_signers = signers
    return signers


SignersDep = Annotated[Signers, Depends(get_signers)]


@dataclass(frozen=True)
class UiUser:
    """The logged-in key and its session."""

    key: ApiKey
    session: UiSession

    @property
    def role_label(self) -> str:
        """The key's role in Chinese."""
        return ROLE_LABELS[self.key.role]


def role_refusal(key: ApiKey) -> str:
    """Why a key of another role may not use the pages (Chinese)."""
    return (
        f"该密钥的角色是「{ROLE_LABELS[key.role]}」，网页仅供信用办（credit_office）和管理员"
        "（admin）使用；银行和分析人员请使用 HTTP 接口。"
    )


def ui_user(request: Request, state: StateDep, signers: SignersDep) -> UiUser:
    """The logged-in user: a valid session of an active credit_office or admin key.

    Raises
    ------
    LoginRequired
        Without a valid session, or when its key was revoked or lost its role.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    session = decode_session(signers.session, cookie, unix_now())
    if session is None:
        raise LoginRequired("登录已过期，请重新登录。" if cookie else None)
    status = session_status(state.engine, session, utc_now())
    if status != SessionStatus.open:
        raise LoginRequired(_SESSION_REFUSALS[status])
    try:
        key = get_key(state.engine, session.key_id)
    except UnknownKeyError:
        raise LoginRequired("登录所用的密钥已不存在，请重新登录。") from None
    if not key.active:
        raise LoginRequired("登录所用的密钥已被吊销，请使用有效密钥重新登录。")
    if not key.allows(PAGE_ROLES):
        raise LoginRequired(role_refusal(key))
    return UiUser(key=key, session=session)


UiUserDep = Annotated[UiUser, Depends(ui_user)]


def form_user(user: UiUserDep, csrf_token: Annotated[str, Form()] = "") -> UiUser:
    """The logged-in user of a form post, whose form carries the session's CSRF token.

    Raises
    ------
    CsrfRefused
        If the token is missing or differs.
    """
    expected = user.session.csrf_token.encode()
    if not csrf_token or not hmac.compare_digest(csrf_token.encode(), expected):
        raise CsrfRefused()
    return user


FormUserDep = Annotated[UiUser, Depends(form_user)]


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """Set a cookie of the pages: under /ui, HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to: the key and its new session, or the refusal to show.

    Attributes
    ----------
    key : ApiKey or None
        The key typed, when it is a valid one.
    session : UiSession or None
        The new session (None when refused).
    status : int
        200, or the page's status: 401 (no valid key), 403 (another role), 429 (locked out).
    error : str or None
        The refusal, in Chinese.
    retry_after : int
        Seconds until a locked-out client may try again (0 otherwise).
    """

    key: ApiKey | None
    session: UiSession | None
    status: int = 200
    error: str | None = None
    retry_after: int = 0


def log_in(engine: Engine, client: str, typed: str, policy: LoginPolicy) -> LoginResult:
    """Check what was typed as a key: a credit_office or admin key gets a session.

    Every attempt is recorded before the key is checked; a client or key prefix locked out
    (module docstring) is refused without checking the key.
    """
    token = typed.strip()
    attempt = begin_login(engine, client, token, policy, utc_now())
    if attempt.refused:
        logger.warning("web login refused: too many failures from %s", client)
        minutes = max(1, math.ceil(attempt.retry_after / 60))
        error = f"登录失败次数过多，已暂停登录。请约 {minutes} 分钟后再试。"
        return LoginResult(None, None, 429, error, attempt.retry_after)
    try:
        key = authenticate(engine, token)
    except AuthenticationError:
        return LoginResult(None, None, 401, "密钥无效、已吊销或不是 credlink 密钥。")
    end_login(engine, attempt.row_id)  # a valid key is no failed guess
    if not key.allows(PAGE_ROLES):
        return LoginResult(key, None, 403, role_refusal(key))
    session = start_session(engine, key.id, utc_now())
    logger.info("web login: key %s (%s, %s)", key.prefix, key.role.value, key.actor)
    return LoginResult(key, session)
