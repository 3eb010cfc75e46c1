"""API keys and roles: 401 without or with a bad key, 403 for the wrong role, admin everywhere.

Also the key store (hashed tokens, revocation) and ``credlink keys`` as a user drives it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from risk.store import api_keys, audit_log
from risk.warnings import list_warnings
from serving.app import create_app
from serving.audit import AuditContext, write_audit_row
from serving.checks import check_authorization_dates
from serving.cli.keys import keys_app
from serving.display import display_time
from serving.exceptions import AuthenticationError, AuthorizationReferenceError, UnknownKeyError
from serving.keys import KeyCache, authenticate, create_key, hash_token, list_keys, revoke_key
from serving.roles import KeyRole
from tests.serving.conftest import VALID_AUTHORIZATION, ApiCounty


@pytest.fixture(scope="module")
def api_county(own_county: ApiCounty) -> ApiCounty:
    """This module creates and revokes keys: a county of its own."""
    return own_county


runner = CliRunner()


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[ApiCounty], str]
    roles: frozenset[KeyRole]
    body: dict[str, str] | None = None

    def call(self, client: TestClient, county: ApiCounty, headers: dict[str, str]) -> Any:
        return client.request(self.method, self.path(county), headers=headers, json=self.body)


def _warning_id(county: ApiCounty) -> int:
    return list_warnings(county.engine, status="new", limit=1).items[0].id


READERS = frozenset({KeyRole.credit_office, KeyRole.analyst, KeyRole.admin})
EDITORS = frozenset({KeyRole.credit_office, KeyRole.admin})
EVERYONE = frozenset(KeyRole)
ROUTES = {
    "list warnings": Route("GET", lambda c: "/v1/warnings", READERS),
    "show warning": Route("GET", lambda c: f"/v1/warnings/{_warning_id(c)}", READERS),
    "export notice": Route("GET", lambda c: "/v1/warnings/export?regulator=税务局", EDITORS),
    # new → acknowledged is illegal: allowed roles get 409, and nothing moves.
    "move warning": Route(
        "PATCH", lambda c: f"/v1/warnings/{_warning_id(c)}", EDITORS, {"status": "acknowledged"}
    ),
    "entity risk": Route("GET", lambda c: f"/v1/entities/{c.linked_uscc}/risk", EVERYONE),
    "entity network": Route("GET", lambda c: f"/v1/entities/{c.linked_uscc}/network", EVERYONE),
}


@pytest.mark.parametrize("route", list(ROUTES), ids=list(ROUTES))
@pytest.mark.parametrize("role", list(KeyRole), ids=[r.value for r in KeyRole])
def test_every_role_on_every_route(
    client: TestClient, api_county: ApiCounty, route: str, role: KeyRole
) -> None:
    spec = ROUTES[route]
    response = spec.call(client, api_county, api_county.headers(role))
    if role in spec.roles:
        expected = 409 if spec.method == "PATCH" else 200
        assert response.status_code == expected, response.text
    else:
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "forbidden"
        assert error["message"].endswith(f"got {role.value}")


@pytest.mark.parametrize("route", list(ROUTES), ids=list(ROUTES))
def test_no_key_or_a_bad_key_is_401_everywhere(
    client: TestClient, api_county: ApiCounty, route: str
) -> None:
    spec = ROUTES[route]
    for headers in (
        {},
        {"X-API-Key": "clk_" + "x" * 43},
        {"X-API-Key": "not-a-credlink-key"},
        {"Authorization": "Bearer clk_wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        response = spec.call(client, api_county, {**headers, **VALID_AUTHORIZATION})
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "unauthenticated"


def test_bearer_works_like_x_api_key(client: TestClient, api_county: ApiCounty) -> None:
    token = api_county.tokens[KeyRole.credit_office]
    assert client.get("/v1/warnings", headers={"Authorization": f"Bearer {token}"}).is_success
    both = {"Authorization": f"Bearer {token}", "X-API-Key": token}
    assert client.get("/v1/warnings", headers=both).is_success
    other = api_county.tokens[KeyRole.analyst]
    clash = client.get("/v1/warnings", headers={**both, "X-API-Key": other})
    assert clash.status_code == 401
    assert "disagree" in clash.json()["error"]["message"]


def test_revoked_key_is_refused_once_the_cache_lets_go(
    client: TestClient, api_county: ApiCounty
) -> None:
    new = create_key(api_county.engine, KeyRole.analyst, "临时分析")
    headers = {"X-API-Key": new.token}
    assert client.get("/v1/warnings", headers=headers).status_code == 200
    revoke_key(api_county.engine, new.key.id)
    # Within CREDLINK_KEY_CACHE_SECONDS the worker still trusts the key it verified …
    assert client.get("/v1/warnings", headers=headers).status_code == 200
    # … and once its entry is gone the store is asked again.
    state = client.app.state.credlink  # type: ignore[attr-defined]
    state.keys.clear()
    response = client.get("/v1/warnings", headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert new.token not in response.text


def test_revoked_key_is_refused_at_once_without_the_cache(api_county: ApiCounty) -> None:
    settings = api_county.settings.model_copy(update={"key_cache_seconds": 0})
    new = create_key(api_county.engine, KeyRole.analyst, "临时分析")
    headers = {"X-API-Key": new.token}
    with TestClient(create_app(settings)) as uncached:
        assert uncached.get("/v1/warnings", headers=headers).status_code == 200
        revoke_key(api_county.engine, new.key.id)
        assert uncached.get("/v1/warnings", headers=headers).status_code == 401


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_key_cache_keeps_verified_keys_for_its_ttl_only(api_county: ApiCounty) -> None:
    new = create_key(api_county.engine, KeyRole.bank, "缓存银行")
    clock = _Clock()
    cache = KeyCache(5, clock=clock)
    assert cache.get(new.token) is None
    cache.put(new.token, new.key)
    assert cache.get(new.token) == new.key
    assert cache.get(new.token + "x") is None
    clock.now += 4.99
    assert cache.get(new.token) == new.key
    clock.now += 0.01
    assert cache.get(new.token) is None  # expired: the store decides again
    # Nothing is cached with a ttl of 0, and a revoked key never is.
    off = KeyCache(0, clock=clock)
    off.put(new.token, new.key)
    assert off.get(new.token) is None
    revoked = revoke_key(api_county.engine, new.key.id)
    cache.put(new.token, revoked)
    assert cache.get(new.token) is None
    # The cache holds digests, never a token.
    cache.put(new.token, new.key)
    assert new.token not in repr(vars(cache))
    with pytest.raises(ValueError, match="ttl"):
        KeyCache(-1)


def test_key_cache_is_emptied_when_full(api_county: ApiCounty) -> None:
    keys = [create_key(api_county.engine, KeyRole.analyst, f"分析{i}") for i in range(3)]
    cache = KeyCache(60, max_entries=2)
    for new in keys:
        cache.put(new.token, new.key)
    assert [cache.get(k.token) is not None for k in keys] == [False, False, True]


# --------------------------------------------------------------------------- key store


def test_keys_are_stored_hashed_with_a_prefix(api_county: ApiCounty) -> None:
    new = create_key(api_county.engine, "bank", "  某村镇银行 ", "张三")
    assert new.token.startswith("clk_") and len(new.token) > 40
    assert new.key.prefix == new.token[:12]
    assert new.key.institution == "某村镇银行"
    assert new.key.actor == "某村镇银行/张三"
    with api_county.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.id == new.key.id)).mappings().one()
    assert row["key_hash"] == hash_token(new.token)
    assert new.token not in {str(v) for v in row.values()}
    assert authenticate(api_county.engine, new.token) == new.key


def test_key_validation_and_lookup_errors(api_county: ApiCounty) -> None:
    with pytest.raises(ValueError, match="role must be one of bank, credit_office"):
        create_key(api_county.engine, "teller", "某银行")
    with pytest.raises(ValueError, match="institution must be 1–60 printable characters"):
        create_key(api_county.engine, "bank", "   ")
    with pytest.raises(ValueError, match="name must be 1–30 printable characters"):
        create_key(api_county.engine, "bank", "某银行", "x" * 31)
    with pytest.raises(AuthenticationError, match="required"):
        authenticate(api_county.engine, None)
    with pytest.raises(AuthenticationError, match="unknown"):
        authenticate(api_county.engine, "clk_" + "0" * 43)
    with pytest.raises(UnknownKeyError, match="key_id must be a stored key; got 99999"):
        revoke_key(api_county.engine, 99999)


def test_revoking_twice_keeps_the_first_time(api_county: ApiCounty) -> None:
    key = create_key(api_county.engine, "analyst", "某单位").key
    first = revoke_key(api_county.engine, key.id)
    second = revoke_key(api_county.engine, key.id)
    assert first.revoked_at == second.revoked_at is not None
    assert key.id not in {k.id for k in list_keys(api_county.engine, include_revoked=False)}


def test_keys_cli_create_list_revoke(api_county: ApiCounty) -> None:
    url = ["--database-url", api_county.settings.store_url]
    created = runner.invoke(
        keys_app,
        ["create", "--role", "bank", "--institution", "徽商银行清源支行", "--json", *url],
    )
    assert created.exit_code == 0, created.output
    payload = json.loads(created.stdout)
    token, key_id = payload["token"], payload["key"]["id"]
    assert payload["key"]["role"] == "bank" and token.startswith(payload["key"]["prefix"])

    listed = runner.invoke(keys_app, ["list", "--json", *url])
    assert listed.exit_code == 0
    assert token not in listed.stdout
    assert key_id in {k["id"] for k in json.loads(listed.stdout)}
    table = runner.invoke(keys_app, ["list", *url])
    assert "徽商银行清源支行" in table.stdout and token not in table.stdout

    human = runner.invoke(keys_app, ["create", "--role", "analyst", "--institution", "X", *url])
    assert human.exit_code == 0 and "clk_" in human.stdout

    revoked = runner.invoke(keys_app, ["revoke", str(key_id), *url])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.stdout and "Beijing time" in revoked.stdout
    # The command line shows the time the pages show: Beijing time.
    stored = next(k for k in list_keys(api_county.engine) if k.id == key_id)
    assert stored.revoked_at is not None and display_time(stored.revoked_at) in revoked.stdout
    with pytest.raises(AuthenticationError):
        authenticate(api_county.engine, token)
    assert runner.invoke(keys_app, ["revoke", "99999", *url]).exit_code == 1
    bad = runner.invoke(keys_app, ["create", "--role", "teller", "--institution", "X", *url])
    assert bad.exit_code == 2


def test_keys_and_audit_rows_on_both_backends(engine: Engine) -> None:
    """The key store and the audit insert on SQLite and PostgreSQL (conftest ``engine``)."""
    new = create_key(engine, KeyRole.bank, "某农商银行", "信贷部")
    key = authenticate(engine, new.token)
    assert key.created_at.tzinfo is not None and key.role == KeyRole.bank
    context = AuditContext(
        key=key,
        uscc="91341100708502022E",
        authorization_id="SQ-1",
        purpose="pre_credit",
        authorization_expires=date(2026, 12, 31),
    )
    first = write_audit_row(
        engine,
        context,
        request_id="a" * 32,
        method="GET",
        route="/v1/entities/{uscc}/risk",
        query="depth=2",
        status=200,
        body=b'{"ok": true}',
    )
    second = write_audit_row(
        engine,
        context,
        request_id="b" * 32,
        method="GET",
        route="/x",
        query="",
        status=403,
        body=b"",
    )
    assert second == first + 1
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()
    assert [r["status"] for r in rows] == [200, 403]
    assert rows[0]["response_sha256"] == hashlib.sha256(b'{"ok": true}').hexdigest()
    assert rows[1]["query"] is None and rows[0]["institution"] == "某农商银行"
    revoke_key(engine, key.id)
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate(engine, new.token)


# --------------------------------------------------------------------------- authorization caps


def _bank_get(client: TestClient, county: ApiCounty, expires: str) -> Any:
    headers = {**county.headers(KeyRole.bank), "X-Authorization-Expires": expires}
    return client.get(f"/v1/entities/{county.linked_uscc}/risk", headers=headers)


def test_a_header_authorization_may_run_at_most_a_year(
    client: TestClient, api_county: ApiCounty
) -> None:
    today = date.today()
    cap = today + timedelta(days=366)  # CREDLINK_AUTHORIZATION_MAX_DAYS by default
    assert _bank_get(client, api_county, cap.isoformat()).status_code == 200
    before = api_county.audit_count()
    for expires in (cap + timedelta(days=1), date(9999, 12, 31)):
        response = _bank_get(client, api_county, expires.isoformat())
        assert response.status_code == 403, expires
        error = response.json()["error"]
        assert error["code"] == "authorization_too_long" and error["check"] == "too_long"
        assert error["field"] == "X-Authorization-Expires"
        assert error["message"] == (
            f"X-Authorization-Expires must be at most 366 days after today ({cap}), the longest "
            f"an authorization may run (CREDLINK_AUTHORIZATION_MAX_DAYS); got {expires}"
        )
        assert "x-audit-id" in response.headers  # refused, and audited with what it sent
    assert api_county.audit_count() == before + 2


def _assess(client: TestClient, county: ApiCounty, **authorization: str) -> Any:
    body = {
        "uscc": county.linked_uscc,
        "authorization": {
            "id": "SQ-2026-000999",
            "purpose": "pre_credit",
            "granted_at": date.today().isoformat(),
            "expires_at": (date.today() + timedelta(days=30)).isoformat(),
            **authorization,
        },
    }
    headers = {"X-API-Key": county.tokens[KeyRole.bank]}
    return client.post("/v1/precredit/assessments", json=body, headers=headers)


@pytest.mark.parametrize(
    ("authorization", "code", "field"),
    [
        ({"expires_at": "9999-12-31"}, "authorization_too_long", "authorization.expires_at"),
        (
            {"expires_at": (date.today() + timedelta(days=367)).isoformat()},
            "authorization_too_long",
            "authorization.expires_at",
        ),
        (
            {"granted_at": (date.today() + timedelta(days=1)).isoformat()},
            "authorization_not_yet_valid",
            "authorization.granted_at",
        ),
        (
            {"expires_at": (date.today() - timedelta(days=1)).isoformat()},
            "authorization_expired",
            "authorization.expires_at",
        ),
    ],
    ids=["9999-12-31", "a year and a day", "granted tomorrow", "expired yesterday"],
)
def test_a_body_authorization_is_held_to_the_same_rule(
    client: TestClient,
    api_county: ApiCounty,
    authorization: dict[str, str],
    code: str,
    field: str,
) -> None:
    response = _assess(client, api_county, **authorization)
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"].startswith(f"{field} must be")
    # Within the rule the call goes on (to the models, which this county has not trained).
    assert _assess(client, api_county).status_code == 503


def test_the_one_date_rule_names_each_field_and_the_cap() -> None:
    today = date(2026, 12, 5)

    def check(expires: date, granted: date | None = None) -> None:
        fields = ("authorization.expires_at", "authorization.granted_at")
        check_authorization_dates("A-1", expires, granted, today=today, max_days=30, fields=fields)

    check(today, today)
    check(today + timedelta(days=30))
    cases = [
        (today - timedelta(days=1), None, "authorization_expired", "expired on 2026-12-04"),
        (today, today + timedelta(days=1), "authorization_not_yet_valid", "got 2026-12-06"),
        (today + timedelta(days=31), None, "authorization_too_long", "at most 30 days"),
    ]
    for expires, granted, code, text in cases:
        with pytest.raises(AuthorizationReferenceError, match=text) as raised:
            check(expires, granted)
        assert raised.value.code == code


def test_an_authorization_number_that_is_an_id_number_is_refused_masked(
    client: TestClient, api_county: ApiCounty
) -> None:
    """A 授权编号 is echoed in answers and kept in the audit log: it may not be personal data."""
    number = "11010519491231002X"
    headers = {**api_county.headers(KeyRole.bank), "X-Authorization-Id": number}
    response = client.get(f"/v1/entities/{api_county.warned_uscc}/risk", headers=headers)
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("authorization_invalid", "X-Authorization-Id")
    assert number not in response.text and "110105********002X" in error["message"]
