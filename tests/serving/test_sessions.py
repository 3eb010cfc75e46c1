"""Signed cookies of the web pages: what verifies, what never does, and the session key file."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from serving.sessions import (
    FLASH_MAX_AGE,
    SESSION_MAX_AGE,
    CookieSigner,
    Flash,
    decode_flash,
    decode_session,
    encode_flash,
    encode_session,
    new_session,
)
from serving.settings import Settings

SECRET = b"0123456789abcdef0123456789abcdef"
NOW = 1_790_000_000


def test_a_session_round_trips_until_it_expires() -> None:
    signer = CookieSigner(SECRET, "session")
    session = new_session(7, NOW)
    assert len(session.csrf_token) >= 40
    value = encode_session(signer, session)
    assert decode_session(signer, value, NOW) == session
    assert decode_session(signer, value, NOW + SESSION_MAX_AGE) == session
    assert decode_session(signer, value, NOW + SESSION_MAX_AGE + 1) is None
    assert decode_session(signer, value, NOW - 3600) is None  # issued in the future
    assert new_session(7, NOW).csrf_token != session.csrf_token


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:-2] + ("A" if v[-2] != "A" else "B") + v[-1],  # signature
        lambda v: ("e" if v[0] != "e" else "f") + v[1:],  # payload
        lambda v: v.replace(".", ""),
        lambda v: v + ".x",
        lambda v: "",
        lambda v: "x" * 5000,
        lambda v: "!!!.???",
    ],
)
def test_a_changed_session_never_verifies(mangle: Callable[[str], str]) -> None:
    signer = CookieSigner(SECRET, "session")
    value = encode_session(signer, new_session(7, NOW))
    assert decode_session(signer, mangle(value), NOW) is None


def test_keys_are_separated_by_secret_and_purpose() -> None:
    session, flash = CookieSigner(SECRET, "session"), CookieSigner(SECRET, "flash")
    other = CookieSigner(SECRET[::-1], "session")
    value = encode_session(session, new_session(7, NOW))
    assert decode_session(other, value, NOW) is None
    assert decode_session(flash, value, NOW) is None
    message = encode_flash(flash, Flash("ok", "预警 5 已改为「已通报」"), NOW)
    assert decode_flash(flash, message, NOW) == Flash("ok", "预警 5 已改为「已通报」")
    assert decode_flash(flash, message, NOW + FLASH_MAX_AGE + 1) is None
    assert decode_session(session, message, NOW) is None
    assert len(encode_flash(flash, Flash("error", "很长" * 1000), NOW)) < 4096


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret must be at least 16 bytes"):
        CookieSigner(b"short", "session")


def test_the_session_key_is_one_private_file_per_work_dir(tmp_path: Path) -> None:
    settings = Settings(work_dir=tmp_path / "work")
    key = settings.session_key()
    assert len(key) == 64
    path = tmp_path / "work" / "session_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(work_dir=tmp_path / "work").session_key() == key  # another worker
    assert [p.name for p in path.parent.iterdir()] == ["session_key"]  # no temporary left
    assert Settings(work_dir=tmp_path / "other").session_key() != key
