"""API keys: create, authenticate, list and revoke (the ``api_keys`` table of :mod:`risk.store`).

A key is a high-entropy token ``clk_<43 url-safe characters>`` (256 random bits) shown **once**,
when it is created. The store keeps only its SHA-256 and its first 12 characters (the
*prefix*, shown in listings so that people can tell keys apart). A token of 256 random bits
needs neither a salt nor a slow hash: nobody can guess it, and the hash cannot be reversed.

Roles (DESIGN.md §6)
--------------------
==================  =========================================================================
role                what it may do
==================  =========================================================================
``bank``            entity risk and network (persons masked, no warnings), audited, with an
                    authorization reference; later the pre-credit assessment
``credit_office``   warnings (read, move, export the 通报 list), entities with warnings and
                    persons' full names
``analyst``         warnings (read), entities with warnings (persons masked)
``admin``           everything
==================  =========================================================================

Revocation and the key cache
    :func:`authenticate` reads the store. The API puts the keys it verified in a per-process
    :class:`KeyCache` for ``CREDLINK_KEY_CACHE_SECONDS`` (default 5), so that a request does
    not wait for a store round trip (and a worker thread) just to learn who is calling: a key
    revoked with ``credlink keys revoke`` is refused by every worker within that many
    seconds. Unknown and revoked tokens are never cached; 0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import RowMapping

from risk.store import api_keys
from serving.exceptions import AuthenticationError, UnknownKeyError
from serving.roles import KeyRole

__all__ = [
    "TOKEN_PREFIX",
    "ApiKey",
    "KeyCache",
    "NewKey",
    "authenticate",
    "create_key",
    "get_key",
    "hash_token",
    "list_keys",
    "revoke_key",
]

TOKEN_PREFIX = "clk_"
"""Every token starts with this, so that secret scanners and people recognise it."""

_PREFIX_LENGTH = 12
_MAX_TOKEN = 200
_MAX_INSTITUTION = 60
_MAX_NAME = 30


_SEES_PERSON_NAMES = frozenset({KeyRole.credit_office, KeyRole.admin})
_SEES_WARNINGS = frozenset({KeyRole.credit_office, KeyRole.analyst, KeyRole.admin})


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never its token).

    Attributes
    ----------
    id : int
    prefix : str
        The token's first 12 characters.
    role : KeyRole
    institution : str
        E.g. ``某农商银行`` or ``县信用办``.
    name : str or None
        A person or system account at the institution.
    created_at : datetime.datetime
        UTC.
    revoked_at : datetime.datetime or None
        UTC; a revoked key authenticates no more.
    """

    id: int
    prefix: str
    role: KeyRole
    institution: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the key still authenticates."""
        return self.revoked_at is None

    @property
    def actor(self) -> str:
        """Who acts with this key, for event logs: ``institution/name`` or the institution."""
        return f"{self.institution}/{self.name}" if self.name else self.institution

    @property
    def sees_person_names(self) -> bool:
        """Whether responses show persons' full names (credit office and admin only)."""
        return self.role in _SEES_PERSON_NAMES

    @property
    def sees_warnings(self) -> bool:
        """Whether responses carry warning data (never for banks)."""
        return self.role in _SEES_WARNINGS

    def allows(self, roles: Iterable[KeyRole]) -> bool:
        """Whether this key may use a route open to ``roles`` (admin may use every route)."""
        return self.role == KeyRole.admin or self.role in set(roles)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "prefix": self.prefix,
            "role": self.role.value,
            "institution": self.institution,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class NewKey:
    """A key just created and its token, which is shown this once and stored nowhere."""

    key: ApiKey
    token: str


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a token, as stored in ``api_keys.key_hash``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite has no timezone type: values come back naive, and were written in UTC.
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _to_key(row: RowMapping) -> ApiKey:
    created = _aware(row["created_at"])
    assert created is not None
    return ApiKey(
        id=int(row["id"]),
        prefix=row["prefix"],
        role=KeyRole(row["role"]),
        institution=row["institution"],
        name=row["name"],
        created_at=created,
        revoked_at=_aware(row["revoked_at"]),
    )


def _text(name: str, value: Any, limit: int, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string; got {type(value).__name__}")
    text = value.strip()
    if not text and not required:
        return None
    if not text or len(text) > limit or not text.isprintable():
        raise ValueError(f"{name} must be 1–{limit} printable characters; got {value!r}")
    return text


def create_key(
    engine: Engine,
    role: KeyRole | str,
    institution: str,
    name: str | None = None,
    *,
    now: datetime | None = None,
) -> NewKey:
    """Create a key and return it with its token (show the token once; it is not stored).

    Parameters
    ----------
    engine
        A migrated store.
    role
        A :class:`KeyRole` or its code.
    institution
        The holder's institution, 1–60 printable characters.
    name
        A person or account at the institution, at most 30 characters.
    now
        Creation time (default: the current UTC time).

    Returns
    -------
    NewKey

    Raises
    ------
    ValueError
        On an unknown role or a bad institution or name.
    """
    try:
        member = KeyRole(role)
    except ValueError:
        roles = ", ".join(r.value for r in KeyRole)
        raise ValueError(f"role must be one of {roles}; got {role!r}") from None
    institution_text = _text("institution", institution, _MAX_INSTITUTION, required=True)
    name_text = _text("name", name, _MAX_NAME, required=False)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    values = {
        "prefix": token[:_PREFIX_LENGTH],
        "key_hash": hash_token(token),
        "role": member.value,
        "institution": institution_text,
        "name": name_text,
        "created_at": now or datetime.now(UTC),
        "revoked_at": None,
    }
    with engine.begin() as conn:
        key_id = conn.execute(insert(api_keys).returning(api_keys.c.id), values).scalar_one()
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().one()
    return NewKey(key=_to_key(row), token=token)


def authenticate(engine: Engine, token: str | None) -> ApiKey:
    """Return the active key whose token this is.

    Raises
    ------
    AuthenticationError
        If the token is missing, unknown or revoked (the message never repeats the token).
    """
    if not token:
        raise AuthenticationError(
            "an API key is required: send it as X-API-Key or Authorization: Bearer"
        )
    if len(token) > _MAX_TOKEN or not token.startswith(TOKEN_PREFIX):
        raise AuthenticationError("the API key is not a credlink key")
    digest = hash_token(token)
    with engine.connect() as conn:
        row = (
            conn.execute(select(api_keys).where(api_keys.c.key_hash == digest))
            .mappings()
            .one_or_none()
        )
    # The lookup is by hash; compare again in constant time so that no code path depends on
    # how much of a guessed value matched.
    if row is None or not hmac.compare_digest(row["key_hash"], digest):
        raise AuthenticationError("the API key is unknown")
    key = _to_key(row)
    if not key.active:
        raise AuthenticationError(f"the API key {key.prefix}… was revoked")
    return key


def _check_key_id(key_id: object) -> None:
    """The one type check of a key id (a bool is not an id)."""
    if isinstance(key_id, bool) or not isinstance(key_id, int):
        raise TypeError(f"key_id must be an integer; got {type(key_id).__name__}")


def get_key(engine: Engine, key_id: int) -> ApiKey:
    """Return one key by id (revoked or not: check :attr:`ApiKey.active`).

    Raises
    ------
    UnknownKeyError
        If no key has that id.
    """
    _check_key_id(key_id)
    with engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().one_or_none()
    if row is None:
        raise UnknownKeyError(f"key_id must be a stored key; got {key_id}")
    return _to_key(row)


def list_keys(engine: Engine, *, include_revoked: bool = True) -> list[ApiKey]:
    """Every key, oldest first (optionally only the active ones)."""
    query = select(api_keys).order_by(api_keys.c.id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    with engine.connect() as conn:
        return [_to_key(r) for r in conn.execute(query).mappings()]


def revoke_key(engine: Engine, key_id: int, *, now: datetime | None = None) -> ApiKey:
    """Revoke a key (idempotent: revoking twice keeps the first time).

    Raises
    ------
    UnknownKeyError
        If no key has that id.
    """
    _check_key_id(key_id)
    with engine.begin() as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now or datetime.now(UTC))
        )
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().one_or_none()
    if row is None:
        raise UnknownKeyError(f"key_id must be a stored key; got {key_id}")
    return _to_key(row)


class KeyCache:
    """Keys verified by :func:`authenticate`, kept ``ttl`` seconds (module docstring).

    Entries are keyed by the token's SHA-256, so the cache holds no token. Only the active
    keys the store returned are cached; anything refused goes to the store again next time.

    Parameters
    ----------
    ttl
        Seconds an entry is trusted; 0 caches nothing.
    clock
        Monotonic seconds (a test passes a fake one).
    max_entries
        Entries kept at most; the cache is emptied when full (keys are few).
    """

    def __init__(
        self,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        if ttl < 0:
            raise ValueError(f"ttl must be 0 or more seconds; got {ttl}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, ApiKey]] = {}

    def get(self, token: str) -> ApiKey | None:
        """The cached key of ``token`` if verified less than ``ttl`` seconds ago, else None."""
        digest = hash_token(token)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expires, key = entry
        if self._clock() >= expires:
            del self._entries[digest]
            return None
        return key

    def put(self, token: str, key: ApiKey) -> None:
        """Remember a key :func:`authenticate` just returned for ``token``."""
        if self.ttl == 0 or not key.active:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[hash_token(token)] = (self._clock() + self.ttl, key)

    def clear(self) -> None:
        """Forget every key (the next request of each goes to the store)."""
        self._entries.clear()
