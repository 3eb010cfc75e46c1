"""A real server under concurrent load: every bank call is audited, exactly once, with the
digest of the bytes the client received.

``serving.cli.serve.serve`` runs in a subprocess (uvicorn, uvloop + httptools, factory mode,
two worker processes sharing one SQLite store) on a free port of 127.0.0.1; eight threads
send a bounded mix of bank, credit-office and unauthenticated requests with httpx.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select

from risk.store import audit_log
from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty, running_server

pytestmark = pytest.mark.slow

THREADS = 8
ROUNDS = 6  # per thread; each round sends the seven requests of _plan


@pytest.fixture(scope="module")
def server(api_county: ApiCounty, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("uvicorn") / "server.log"
    with running_server(api_county, log_path, workers=2) as base:
        yield base


_ASSESSMENT = {
    "authorization": {
        "id": "SQ-LOAD-1",
        "purpose": "pre_credit",
        "granted_at": "2026-01-01",
        "expires_at": (date.today() + timedelta(days=180)).isoformat(),
    }
}


def _plan(county: ApiCounty) -> list[tuple[str, str, dict[str, str], int]]:
    """(who, path, headers, expected status) of one round (POST when the path says so)."""
    bank = county.headers(KeyRole.bank)
    bare_bank = county.headers(KeyRole.bank, bank_authorization=False)
    office = county.headers(KeyRole.credit_office)
    linked, warned = county.linked_uscc, county.warned_uscc
    return [
        ("bank", f"/v1/entities/{linked}/risk", bank, 200),
        ("bank", f"/v1/entities/{warned}/network?depth=2", bank, 200),
        ("bank", f"/v1/entities/{linked}/network", bare_bank, 403),
        ("bank", "/v1/entities/91341100708502022F/risk", bank, 422),
        ("bank", "/v1/entities/91110000600037341L/risk", bank, 404),
        # No champions are trained in this county: refused (503), and audited all the same.
        ("bank", f"POST /v1/precredit/assessments {linked}", bare_bank, 503),
        ("office", f"/v1/entities/{warned}/risk", office, 200),
        ("anonymous", f"/v1/entities/{linked}/risk", {}, 401),
    ]


def test_concurrent_bank_calls_are_each_audited_once(server: str, api_county: ApiCounty) -> None:
    plan = _plan(api_county)
    before = api_county.audit_count()

    def worker(_: int) -> list[tuple[str, int, int, httpx.Response]]:
        results = []
        with httpx.Client(base_url=server, timeout=30) as http:
            for _round in range(ROUNDS):
                for who, path, headers, expected in plan:
                    if path.startswith("POST "):
                        _, url, uscc = path.split()
                        body = {"uscc": uscc, **_ASSESSMENT}
                        response = http.post(url, json=body, headers=headers)
                    else:
                        response = http.get(path, headers=headers)
                    results.append((who, expected, response.status_code, response))
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for batch in pool.map(worker, range(THREADS)) for r in batch]
    seconds = time.perf_counter() - started

    assert len(results) == THREADS * ROUNDS * len(plan)
    assert [(w, e) for w, e, got, _ in results if got != e] == []
    bank = [r for who, _, _, r in results if who == "bank"]
    assert len(bank) == THREADS * ROUNDS * 6
    assert api_county.audit_count() - before == len(bank)

    audit_ids = [int(r.headers["x-audit-id"]) for r in bank]
    assert len(set(audit_ids)) == len(bank)
    assert all("x-audit-id" not in r.headers for who, _, _, r in results if who != "bank")
    with api_county.engine.connect() as conn:
        rows = {
            row.id: row
            for row in conn.execute(select(audit_log).where(audit_log.c.id.in_(audit_ids)))
        }
    for response in bank:
        row = rows[int(response.headers["x-audit-id"])]
        assert row.request_id == response.headers["x-request-id"]
        assert row.status == response.status_code
        assert row.response_sha256 == hashlib.sha256(response.content).hexdigest()
    assert seconds < 60


def test_server_metrics_and_readiness(server: str, api_county: ApiCounty) -> None:
    ready = httpx.get(f"{server}/readyz", timeout=5).json()
    assert ready["graph"]["as_of"] == api_county.as_of.isoformat()
    admin = api_county.headers(KeyRole.admin)
    metrics = httpx.get(f"{server}/metrics", headers=admin, timeout=5).text
    assert "credlink_http_requests_total" in metrics
    assert "server" not in {k.lower() for k in httpx.get(f"{server}/healthz").headers}
