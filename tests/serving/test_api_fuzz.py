"""Schemathesis over every operation of the OpenAPI document, as every caller: no 5xx.

Each operation is fuzzed with schema-conforming (positive) and schema-violating (negative)
inputs by each caller: a bank (its key and a valid authorization reference in the headers,
plus whatever headers the fuzzer invents), the credit office, an analyst, an admin, and no
key at all. One app serves the whole module in one process, its pre-credit champions trained
and loaded, so every route is called many times in that process — the batch assessment
route included — and really assesses. Bounded: a fixed number of examples per operation and
caller, derandomized, no example database; about 60–90 s on two cores.

Besides "no 5xx", every bank call that got past authentication was audited before its
answer left, and no answer carries a raw resident ID number (:mod:`tests.serving.privacy`).
The OpenAPI document is read with an admin key, so the test works whether or not it is
public.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import schemathesis.python.asgi
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from serving.app import create_app
from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty
from tests.serving.privacy import ResponseLog

pytestmark = pytest.mark.slow

EXAMPLES = 40
RELOAD = ("POST", "/v1/admin/models/reload")
RECORDS = ("POST", "/v1/records")
# Each admin reload loads the champions anew (~1.5 s): a few calls show it holds up. A valid
# posted record is ingested and rescored live (a delta on the set, ~0.3 s).
FEWER_EXAMPLES = {RELOAD: 3, RECORDS: 15}
BATCH = ("POST", "/v1/precredit/assessments:batch")
OPERATIONS = (
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/warnings"),
    ("GET", "/v1/warnings/export"),
    ("GET", "/v1/warnings/{warning_id}"),
    ("PATCH", "/v1/warnings/{warning_id}"),
    ("GET", "/v1/entities/{uscc}/risk"),
    ("GET", "/v1/entities/{uscc}/network"),
    ("POST", "/v1/precredit/assessments"),
    BATCH,
    ("POST", "/v1/outcomes"),
    RECORDS,
    ("GET", "/v1/models"),
    RELOAD,
)
CALLERS = ("bank", "credit_office", "analyst", "admin", "no_key")


def _case(who: str, operation: tuple[str, str]) -> Any:
    return pytest.param(who, operation, id=f"{who}-{operation[0]} {operation[1]}")


@pytest.fixture(scope="module")
def county(champions_county: ApiCounty) -> ApiCounty:
    """3,000 enterprises (most companies borrowing); the pre-credit champions promoted (a
    copy: the fuzzed calls move warnings, report outcomes and reload the models)."""
    return champions_county


@pytest.fixture(scope="module")
def app(county: ApiCounty) -> Iterator[FastAPI]:
    """One app for every case of the module, its lifespan started once.

    schemathesis' pytest plugin ends every ASGI lifespan after each test; restarting it means
    loading the champions again (~1 s a case), and the routes would not be
    called many times by one running app. The plugin's shutdown is held off until the end of
    the module.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schemathesis.python.asgi, "shutdown_lifespans", lambda: None)
        yield create_app(county.settings)
    schemathesis.python.asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def schema(app: FastAPI, county: ApiCounty) -> Any:
    admin = {"X-API-Key": county.tokens[KeyRole.admin]}
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=admin)


def _headers(county: ApiCounty, who: str) -> dict[str, str]:
    if who == "no_key":
        return {}
    role = KeyRole(who)
    return county.headers(role)  # a bank's with a valid authorization reference


def test_every_operation_is_fuzzed(schema: Any) -> None:
    documented = {
        (operation.method.upper(), operation.path)
        for operation in (result.ok() for result in schema.get_all_operations())
    }
    assert documented == set(OPERATIONS)


def _fuzz(operation: Any, who: str, headers: dict[str, str], examples: int) -> list[Any]:
    """Run positive and negative cases of one operation as one caller; return the answers."""
    answers: list[Any] = []
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    strategy = st.one_of(
        [operation.as_strategy(generation_mode=m, headers=dict(headers)) for m in modes]
    )

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        response = case.call()
        answers.append(response)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} as {who}: "
            f"{response.status_code} {response.text[:500]}"
        )

    fuzz()
    return answers


def _audited(response: Any) -> bool:
    return "x-audit-id" in {k.lower() for k in response.headers}


@pytest.mark.parametrize(("who", "operation"), [_case(w, o) for w in CALLERS for o in OPERATIONS])
def test_no_5xx(schema: Any, county: ApiCounty, who: str, operation: tuple[str, str]) -> None:
    method, path = operation
    before = county.audit_count()
    examples = FEWER_EXAMPLES.get(operation, EXAMPLES)
    answers = _fuzz(schema[path][method], who, _headers(county, who), examples)
    assert answers
    scanned = ResponseLog()
    for response in answers:
        scanned.add(response)
    assert [str(leak) for leak in scanned.leaks()] == []  # no raw resident ID number
    # Bank calls are audited, and every outcome report (an admin's too: it changes labels) and
    # every record posted live (it changes the county).
    audited_caller = (
        who == "bank"
        or (who == "admin" and path == "/v1/outcomes")
        or (who in ("credit_office", "admin") and path == "/v1/records")
    )
    if not audited_caller or not path.startswith("/v1/"):
        assert not any(_audited(r) for r in answers)
        return
    # Every bank call that got past authentication was audited and said so in X-Audit-Id.
    # Only requests refused before any key is checked are not: a wrong key (401) and a body
    # that cannot be parsed (400, or 422 json_invalid: FastAPI reads the body before it
    # resolves dependencies).
    unaudited = [
        (r.status_code, r.text[:200])
        for r in answers
        if not _audited(r)
        and r.status_code != 401
        and r.json()["error"]["code"] != "bad_request"
        and r.json()["error"]["check"] != "json_invalid"
    ]
    assert unaudited == []
    if operation != BATCH:  # the batch route also audits each item
        assert county.audit_count() - before == sum(_audited(r) for r in answers)
