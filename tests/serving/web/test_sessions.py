"""Sessions of the web pages: signed cookies (what verifies, what never does), the session key
file, server-side session records and the login lockout on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from risk.store import login_failures, ui_sessions
from serving.keys import create_key
from serving.roles import KeyRole
from serving.settings import Settings
from serving.web.sessions import (
    FLASH_MAX_AGE,
    SESSION_MAX_AGE,
    CookieSigner,
    Flash,
    LoginPolicy,
    SessionStatus,
    UiSession,
    begin_login,
    decode_flash,
    decode_session,
    encode_flash,
    encode_session,
    end_login,
    end_session,
    key_prefix_of,
    new_session,
    session_status,
    start_session,
)

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
    other = new_session(7, NOW)
    assert other.csrf_token != session.csrf_token and other.session_id != session.session_id
    assert len(session.session_id) >= 40 and session.session_id != session.csrf_token


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


def test_a_cookie_without_a_session_id_never_verifies() -> None:
    # A cookie of the format before server-side sessions (no "s"): logged out.
    signer = CookieSigner(SECRET, "session")
    assert decode_session(signer, signer.sign({"k": 7, "c": "x" * 43}, NOW), NOW) is None
    assert decode_session(signer, signer.sign({"k": 7, "s": 5, "c": "x"}, NOW), NOW) is None


# --------------------------------------------------------------------------- store (both backends)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_sessions_are_recorded_hashed_and_end_at_logout_or_expiry(engine: Engine) -> None:
    key = create_key(engine, KeyRole.credit_office, "清源县信用办", "李四").key
    session = start_session(engine, key.id, T0)
    assert session_status(engine, session, T0) == SessionStatus.open
    assert session_status(engine, session, T0 + timedelta(seconds=SESSION_MAX_AGE - 1)) == (
        SessionStatus.open
    )
    assert session_status(engine, session, T0 + timedelta(seconds=SESSION_MAX_AGE)) == (
        SessionStatus.expired
    )
    with engine.connect() as conn:
        row = conn.execute(select(ui_sessions)).mappings().one()
    assert session.session_id not in str(dict(row))  # only its SHA-256 is stored
    assert row["key_id"] == key.id

    # The same session id claimed for another key, or an id never recorded: unknown.
    other = create_key(engine, KeyRole.admin, "清源县信用办").key
    claimed = UiSession(other.id, session.session_id, session.csrf_token, session.issued_at)
    assert session_status(engine, claimed, T0) == SessionStatus.unknown
    assert session_status(engine, new_session(key.id, 0), T0) == SessionStatus.unknown

    end_session(engine, session, T0 + timedelta(minutes=5))
    assert session_status(engine, session, T0 + timedelta(minutes=6)) == SessionStatus.ended
    end_session(engine, session, T0 + timedelta(minutes=7))  # twice: the first time stays
    with engine.connect() as conn:
        revoked = conn.execute(select(ui_sessions.c.revoked_at)).scalar_one()
    assert revoked.replace(tzinfo=UTC) == T0 + timedelta(minutes=5)


def test_expired_sessions_are_deleted_at_the_next_login(engine: Engine) -> None:
    key = create_key(engine, KeyRole.credit_office, "清源县信用办").key
    start_session(engine, key.id, T0)
    start_session(engine, key.id, T0 + timedelta(seconds=SESSION_MAX_AGE + 1))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ui_sessions)).scalar_one() == 1


POLICY = LoginPolicy(max_failures=3, window_seconds=600)


def test_lockout_after_n_failures_lifts_when_the_oldest_leaves_the_window(engine: Engine) -> None:
    times = [T0, T0 + timedelta(seconds=100), T0 + timedelta(seconds=200)]
    for at in times:
        assert not begin_login(engine, "10.0.0.1", "wrong", POLICY, at).refused
    refused = begin_login(engine, "10.0.0.1", "wrong", POLICY, T0 + timedelta(seconds=250))
    assert refused.refused and refused.retry_after == 350  # T0 + 600 s - (T0 + 250 s)
    # A refused attempt is not recorded: hammering does not extend the lockout.
    for seconds in (300, 400, 599):
        assert begin_login(engine, "10.0.0.1", "x", POLICY, T0 + timedelta(seconds=seconds)).refused
    assert not begin_login(engine, "10.0.0.1", "x", POLICY, T0 + timedelta(seconds=601)).refused
    # Other clients were never concerned.
    assert not begin_login(engine, "10.0.0.2", "x", POLICY, T0 + timedelta(seconds=250)).refused


def test_lockout_by_key_prefix_across_addresses(engine: Engine) -> None:
    for n in range(3):
        token = f"clk_AbCdEfGh{n}rest"
        assert not begin_login(engine, f"10.0.1.{n}", token, POLICY, T0).refused
    assert begin_login(engine, "10.0.1.99", "clk_AbCdEfGhzzz", POLICY, T0).refused
    assert not begin_login(engine, "10.0.1.99", "clk_OtherKey1zzz", POLICY, T0).refused


def test_a_valid_key_is_not_a_failure(engine: Engine) -> None:
    for _ in range(5):
        attempt = begin_login(engine, "10.0.2.1", "clk_validkey1rest", POLICY, T0)
        assert not attempt.refused
        end_login(engine, attempt.row_id)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(login_failures)).scalar_one() == 0


def test_concurrent_attempts_cannot_pass_the_limit(engine: Engine) -> None:
    # Eight attempts at once (as several workers would see them): at most three are let through.
    def attempt(n: int) -> bool:
        return not begin_login(engine, "10.0.3.1", f"guess{n}", POLICY, T0).refused

    with ThreadPoolExecutor(8) as pool:
        passed = sum(pool.map(attempt, range(8)))
    assert 1 <= passed <= POLICY.max_failures


def test_only_a_credlink_shaped_prefix_is_kept() -> None:
    assert key_prefix_of("clk_AbCdEfGh-rest-of-the-token") == "clk_AbCdEfGh"
    for typed in ("", "clk_short", "340321199001011236", "张三 340321199001011236", "CLK_ABCDEFGH"):
        assert key_prefix_of(typed) is None, typed


@pytest.mark.parametrize(("failures", "window"), [(0, 60), (3, 0)])
def test_a_bad_login_policy_is_refused(failures: int, window: int) -> None:
    with pytest.raises(ValueError, match="must be at least 1"):
        LoginPolicy(max_failures=failures, window_seconds=window)
