"""Limits on hostile callers (:mod:`serving.limits`): body size before reading, the key before
the body, per-key rate limits, slow clients, and ``/metrics`` and the docs behind a key.

Two levels here: the middleware around a stand-in application (what it pulls from the
client), and the credlink app called through ASGI with a receive that counts what it is asked
for. A real ``credlink serve`` process driven with raw sockets (memory, slowloris, timeouts) is
``test_limits_server.py``.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from starlette.types import Message, Receive, Scope, Send

from serving.app import create_app
from serving.cli.serve import settings_environment, uvicorn_config
from serving.keys import create_key
from serving.limits import ConnectionLimits, GuardedHttpToolsProtocol, LimitsMiddleware, RateLimiter
from serving.roles import KeyRole
from serving.settings import Settings
from tests.serving.conftest import VALID_AUTHORIZATION, ApiCounty


@pytest.fixture(scope="module")
def api_county(own_county: ApiCounty) -> ApiCounty:
    """This module creates keys: a county of its own."""
    return own_county


MiB = 1024 * 1024

# --------------------------------------------------------------------------- rate limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take(1) == pytest.approx(0.5)  # one token comes every 0.5 s
    assert limiter.take(2) == 0.0  # another key has its own bucket
    clock.now += 0.5
    assert limiter.take(1) == 0.0
    assert limiter.take(1) > 0
    clock.now += 3600  # a long pause refills to the burst, not beyond
    assert [limiter.take(1) for _ in range(4)][-1] > 0


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [(0.0, 1, "rate must be more than 0"), (1.0, 0, "burst must be at least 1")],
)
def test_a_bad_rate_limit_is_refused(rate: float, burst: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimiter(rate=rate, burst=burst)


# --------------------------------------------------------------------------- the middleware alone


class Recorder:
    """A client sending ``chunks`` (then waiting ``stall`` s for more) and recording replies."""

    def __init__(self, chunks: list[bytes], *, stall: float = 0.0) -> None:
        self.chunks = chunks
        self.stall = stall
        self.pulled = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.pulled < len(self.chunks):
            self.pulled += 1
            more = self.pulled < len(self.chunks) or self.stall > 0
            return {"type": "http.request", "body": self.chunks[self.pulled - 1], "more_body": more}
        if self.stall:
            await anyio.sleep(self.stall)
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


async def reading_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body (as FastAPI does before any dependency), then answers 200."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def _scope(path: str = "/upload", headers: dict[str, str] | None = None) -> Scope:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http", "method": "POST", "path": path, "headers": raw, "state": {}}


def _run(middleware: LimitsMiddleware, scope: Scope, client: Recorder) -> None:
    anyio.run(middleware, scope, client.receive, client.send)


LIMITS = Settings(max_body_bytes=4096, body_timeout_seconds=0.3, rate_limit_per_second=0)


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read() -> None:
    client = Recorder([b"x" * 1024] * 1000)
    _run(
        LimitsMiddleware(reading_app, LIMITS), _scope(headers={"content-length": "1024000"}), client
    )
    assert client.status == 413 and client.pulled == 0
    assert client.headers["connection"] == "close"
    error = client.json["error"]
    assert error["code"] == "payload_too_large" and error["field"] == "body"
    assert (
        "at most 4096 bytes" in error["message"]
        and "1024000 bytes are declared" in error["message"]
    )


def test_a_streamed_body_is_cut_off_at_the_limit() -> None:
    # 200 chunks of 1 KiB without a declared length (chunked): reading stops after the 5th.
    client = Recorder([b"x" * 1024] * 200)
    _run(
        LimitsMiddleware(reading_app, LIMITS),
        _scope(headers={"transfer-encoding": "chunked"}),
        client,
    )
    assert client.status == 413
    assert client.pulled == 5  # 5 KiB > 4 KiB: nothing more is asked of the client
    assert len(client.sent) == 2  # the application's own answer was dropped
    assert client.headers["connection"] == "close"


def test_a_body_within_the_limit_passes_whole() -> None:
    client = Recorder([b"x" * 1024] * 4)
    _run(LimitsMiddleware(reading_app, LIMITS), _scope(), client)
    assert client.status == 200 and client.sent[1]["body"] == b"4096"


def test_a_body_that_arrives_too_slowly_is_a_408() -> None:
    client = Recorder([b"x" * 10], stall=5.0)
    started = time.monotonic()
    _run(LimitsMiddleware(reading_app, LIMITS), _scope(), client)
    assert time.monotonic() - started < 2
    assert client.status == 408 and client.headers["connection"] == "close"
    assert client.json["error"]["code"] == "request_timeout"
    assert "within 0.3 s" in client.json["error"]["message"]


# --------------------------------------------------------------------------- the credlink app


@pytest.fixture(scope="module")
def limited(api_county: ApiCounty) -> Iterator[tuple[FastAPI, TestClient]]:
    """The app with a 64 KiB body limit and 3 requests (then one every 2 s) per key."""
    settings = api_county.settings.model_copy(
        update={"max_body_bytes": 64 * 1024, "rate_limit_per_second": 0.5, "rate_limit_burst": 3}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client


def _call(
    limited: tuple[FastAPI, TestClient], path: str, headers: dict[str, str], chunks: list[bytes]
) -> Recorder:
    """Call the app through ASGI in its own event loop; the client sends ``chunks``."""
    app, client = limited
    scope = {
        **_scope(path, headers),
        "http_version": "1.1",
        "scheme": "http",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    recorder = Recorder(chunks)
    assert client.portal is not None
    client.portal.call(app, scope, recorder.receive, recorder.send)
    return recorder


ASSESS = "/v1/precredit/assessments"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "clk_not-a-key-at-all-000000000000000000000000"},
        {"Authorization": "Bearer nonsense"},
    ],
    ids=["no key", "unknown key", "not a credlink key"],
)
def test_without_a_valid_key_the_body_is_never_read(
    limited: tuple[FastAPI, TestClient], headers: dict[str, str]
) -> None:
    chunks = [b"{" + b" " * 1000] * 50  # 50 KB: under the limit, worth nothing
    reply = _call(limited, ASSESS, {**headers, "transfer-encoding": "chunked"}, chunks)
    assert reply.status == 401 and reply.pulled == 0
    assert reply.json["error"]["code"] == "unauthenticated"
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert reply.headers["connection"] == "close"  # the unread body is not waited for


def test_a_bank_body_over_the_limit_is_cut_off_and_audited(
    limited: tuple[FastAPI, TestClient], api_county: ApiCounty
) -> None:
    before = api_county.audit_count()
    bank = {"X-API-Key": api_county.tokens[KeyRole.bank], "transfer-encoding": "chunked"}
    reply = _call(limited, ASSESS, bank, [b" " * 8192] * 1000)  # 8 MB offered
    assert reply.status == 413 and reply.pulled == 9  # 72 KiB > 64 KiB: then no more
    assert reply.json["error"]["code"] == "payload_too_large"
    assert "x-audit-id" in reply.headers and api_county.audit_count() == before + 1


def test_a_declared_length_over_the_limit_is_413_before_the_key_is_checked(
    limited: tuple[FastAPI, TestClient],
) -> None:
    reply = _call(limited, ASSESS, {"content-length": str(200 * MiB)}, [b"x"])
    assert reply.status == 413 and reply.pulled == 0
    assert reply.json["error"]["request_id"] == reply.headers["x-request-id"]


def test_a_key_over_its_rate_gets_429_with_retry_after(
    limited: tuple[FastAPI, TestClient], api_county: ApiCounty
) -> None:
    _, client = limited
    url = f"/v1/entities/{api_county.linked_uscc}/risk"
    fresh = {  # keys no other test of this app has used: full buckets
        role: {"X-API-Key": create_key(api_county.engine, role, "清源县测试", "限流").token}
        for role in (KeyRole.analyst, KeyRole.credit_office, KeyRole.bank)
    }
    analyst = fresh[KeyRole.analyst]
    assert [client.get(url, headers=analyst).status_code for _ in range(3)] == [200] * 3
    refused = client.get(url, headers=analyst)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"  # one request every 2 s
    error = refused.json()["error"]
    assert error["code"] == "too_many_requests" and error["check"] == "rate_limit"
    assert "at most 0.5 requests a second (bursts of 3) on each worker" in error["message"]
    assert analyst["X-API-Key"] not in refused.text
    office = fresh[KeyRole.credit_office]
    assert client.get(url, headers=office).status_code == 200  # other keys are not affected
    # A bank refused for its rate is audited like any of its calls.
    bank = {**fresh[KeyRole.bank], **VALID_AUTHORIZATION}
    replies = [client.get(url, headers=bank) for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert all("x-audit-id" in r.headers for r in replies)
    time.sleep(int(refused.headers["retry-after"]))
    assert client.get(url, headers=analyst).status_code == 200


def test_bodies_a_user_sends_still_work(
    limited: tuple[FastAPI, TestClient], api_county: ApiCounty
) -> None:
    _, client = limited
    office = api_county.headers(KeyRole.credit_office)
    response = client.patch("/v1/warnings/999999", json={"status": "dispatched"}, headers=office)
    assert response.status_code == 404  # read, parsed and answered as before


def test_the_largest_legitimate_bodies_fit_the_default_limit() -> None:
    # A 1,000-item batch with the longest values the schema allows, and 10,000 outcome rows
    # with a long bank name, escaped and indented: both well under the default.
    item = {
        "uscc": "9" * 64,
        "authorization": {
            "id": "S" * 64,
            "purpose": "credit_approval",
            "granted_at": "2026-06-01",
            "expires_at": "2026-12-31",
        },
    }
    batch = json.dumps({"items": [item] * 1000}, indent=2).encode()
    loan = {
        "loan_id": "L" * 64,
        "uscc": "91110000600037341L",
        "bank": "清源农村商业银行股份有限公司" * 4,
        "applied": "2026-03-02",
        "approved_amount": 12345.67,
        "drawn_amount": 12345.67,
        "term_months": 36,
        "status": "overdue_90",
        "status_date": "2026-06-30",
    }
    outcomes = json.dumps({"loans": [loan] * 10_000}, indent=2).encode()
    limit = Settings().max_body_bytes
    assert len(batch) < limit / 20 and len(outcomes) < limit


# --------------------------------------------------------------------------- metrics and docs


def test_metrics_need_an_admin_key_or_the_metrics_token(
    limited: tuple[FastAPI, TestClient], api_county: ApiCounty
) -> None:
    _, client = limited
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    analyst = client.get("/metrics", headers=api_county.headers(KeyRole.analyst))
    assert analyst.status_code == 403 and "role must be admin" in analyst.json()["error"]["message"]
    admin = client.get("/metrics", headers=api_county.headers(KeyRole.admin))
    assert admin.status_code == 200 and "credlink_http_requests_total" in admin.text


def test_metrics_token_and_public_settings(api_county: ApiCounty) -> None:
    token = "m" * 40
    settings = api_county.settings.model_copy(update={"metrics_token": SecretStr(token)})
    with TestClient(create_app(settings)) as client:
        assert (
            client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        )
        assert (
            client.get("/metrics", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        )
        assert client.get("/openapi.json").status_code == 401
    public = api_county.settings.model_copy(update={"metrics_public": True, "public_docs": True})
    with TestClient(create_app(public)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/openapi.json").json()["info"]["title"] == "credlink"
        assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_the_docs_need_a_key(
    limited: tuple[FastAPI, TestClient], api_county: ApiCounty, path: str
) -> None:
    _, client = limited
    refused = client.get(path)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    for role in (KeyRole.bank, KeyRole.analyst):  # every role uses the API they describe
        headers = {"X-API-Key": api_county.tokens[role]}
        assert client.get(path, headers=headers).status_code == 200
    document = client.get("/openapi.json", headers=api_county.headers(KeyRole.admin)).json()
    assert not {"/openapi.json", "/docs", "/redoc"} & set(document["paths"])


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CREDLINK_MAX_BODY_BYTES", "0"),
        ("CREDLINK_RATE_LIMIT_PER_SECOND", "-1"),
        ("CREDLINK_RATE_LIMIT_BURST", "0"),
        ("CREDLINK_HEADER_TIMEOUT_SECONDS", "0"),
        ("CREDLINK_BODY_TIMEOUT_SECONDS", "-5"),
        ("CREDLINK_KEEP_ALIVE_SECONDS", "0"),
        ("CREDLINK_MAX_HEADER_BYTES", "100"),
        ("CREDLINK_MAX_CONNECTIONS", "0"),
        ("CREDLINK_LOGIN_MAX_FAILURES", "0"),
        ("CREDLINK_LOGIN_WINDOW_SECONDS", "0"),
        ("CREDLINK_AUTHORIZATION_MAX_DAYS", "0"),
        ("CREDLINK_METRICS_TOKEN", "too-short"),
        ("CREDLINK_PUBLIC_DOCS", "maybe"),
    ],
)
def test_bad_limit_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("CREDLINK_").lower()):
        Settings()


def test_the_limits_reach_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        header_timeout_seconds=3,
        max_header_bytes=4096,
        keep_alive_seconds=2,
        max_connections=50,
        metrics_token=SecretStr("t" * 32),
    )
    config = uvicorn_config(settings)
    assert config["timeout_keep_alive"] == 2 and config["limit_concurrency"] == 50
    protocol = config["http"]
    assert protocol.func is GuardedHttpToolsProtocol
    assert protocol.keywords["limits"] == ConnectionLimits(header_timeout=3, max_header_bytes=4096)
    pickle.loads(pickle.dumps(protocol))  # spawned workers receive it pickled
    # The workers rebuild the settings from the environment: the token's value, not "****".
    environment = settings_environment(settings)
    assert environment["CREDLINK_METRICS_TOKEN"] == "t" * 32
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings.model_copy(update={"as_of": settings.snapshot_date})


@pytest.mark.parametrize(
    ("timeout", "size", "message"),
    [(0.0, 10, "header_timeout must be more than 0"), (1.0, 0, "max_header_bytes must be")],
)
def test_bad_connection_limits_are_refused(timeout: float, size: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConnectionLimits(header_timeout=timeout, max_header_bytes=size)
