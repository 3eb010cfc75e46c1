"""``POST /v1/records``: live updates through the API, on a copy of the 1,000-enterprise county
with a published score set; the router is mounted on the app the way the service mounts its
own (:func:`serving.app.create_app`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from risk.config import RiskConfig
from risk.propagation import PropagationConfig
from risk.scoresets import current, events_after, read_kind
from risk.store import audit_log, read_table
from serving.app import create_app
from serving.roles import KeyRole
from serving.routes import records
from serving.schemas_live import MAX_LIVE_ROWS
from tests.risk.live_helpers import assert_equals_full_recompute, publish_set
from tests.serving.conftest import ApiCounty, copy_county

ID_NUMBER = "11010519491231002X"


def _app(county: ApiCounty) -> Any:
    app = create_app(county.settings)
    app.include_router(records.router)
    return app


@pytest.fixture(scope="module")
def county(own_county: ApiCounty) -> ApiCounty:
    publish_set(own_county.engine, RiskConfig(), own_county.as_of)
    return own_county


@pytest.fixture(scope="module")
def client(county: ApiCounty) -> Iterator[TestClient]:
    with TestClient(_app(county)) as test_client:
        yield test_client


def _penalty(county: ApiCounty, record_id: str, subject: str | None = None) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_type": "enterprise",
        "subject_id": subject or county.linked_uscc,
        "kind": "administrative_penalty",
        "domain": "market_regulation",
        "severity": "serious",
        "authority": "清源县市场监督管理局",
        "decided": (county.as_of.replace(day=1)).isoformat(),
    }


def _post(
    client: TestClient, county: ApiCounty, body: Any, role: KeyRole = KeyRole.credit_office
) -> Any:
    return client.post("/v1/records", json=body, headers=county.headers(role))


def test_only_the_credit_office_and_admins_may_post(client: TestClient, county: ApiCounty) -> None:
    body = {"table": "records", "rows": [_penalty(county, "ROLE-1")]}
    assert client.post("/v1/records", json=body).status_code == 401
    for role in (KeyRole.bank, KeyRole.analyst):
        response = _post(client, county, body, role)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert read_table(county.engine, "records").query("record_id == 'ROLE-1'").empty
    assert _post(client, county, body, KeyRole.admin).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"table": "loans", "rows": [{"loan_id": "x"}]}, "table"),
        ({"table": "nope", "rows": [{"a": 1}]}, "table"),
        ({"table": "records", "rows": []}, "rows"),
        ({"table": "records", "rows": {"record_id": "x"}}, "rows"),
        ({"table": "records", "rows": [{"record_id": ["x"]}]}, "rows"),
        ({"table": "records", "rows": [{"record_id": "x", "colour": "red"}]}, "body"),
        ({"rows": [{"record_id": "x"}]}, "table"),
        ({"table": "records", "rows": [{"record_id": "x"}] * (MAX_LIVE_ROWS + 1)}, "rows"),
        ([1, 2], "body"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient, county: ApiCounty, body: Any, field: str
) -> None:
    response = _post(client, county, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in (error["field"] or "body")


def test_a_body_that_is_not_json_is_422(client: TestClient, county: ApiCounty) -> None:
    headers = {**county.headers(KeyRole.credit_office), "Content-Type": "application/json"}
    response = client.post("/v1/records", content=b"{not json", headers=headers)
    assert response.status_code == 422


def test_a_penalty_is_stored_rescored_logged_and_audited(
    client: TestClient, county: ApiCounty
) -> None:
    before = current(county.engine)
    assert before is not None
    audited = county.audit_count()
    body = {"table": "records", "rows": [_penalty(county, "皖清市监罚〔2026〕901号")]}
    response = _post(client, county, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["read"], answer["inserted"], answer["quarantined"]) == (1, 1, 0)
    assert answer["set_id"] == before.set_id
    assert answer["changed"] == ["皖清市监罚〔2026〕901号/清源县市场监督管理局"]  # 文号/authority
    assert answer["recomputed"]["risk"] >= 1 and answer["recomputed"]["grades"] >= 1
    grades = read_kind(county.engine, "grades")
    # Its own serious penalty moves the enterprise (a grade or, here, a linked warning).
    assert answer["seq"] == before.seq + 1
    assert any(e["subject_id"] == county.linked_uscc for e in answer["events"])
    logged = events_after(county.engine)
    logged = logged[logged["seq"] == answer["seq"]]
    assert len(logged) == len(answer["events"])
    assert all(c["table"] == "records" and c["request_id"] for c in logged["cause"])
    for event in answer["events"]:
        if event["kind"] == "grade":
            assert grades.loc[event["subject_id"], "grade"] == event["after"]
    # Audited: the credit office's call writes data.
    assert county.audit_count() == audited + 1
    with county.engine.connect() as conn:
        row = conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(1)).one()
    assert (row.role, row.route, row.status) == ("credit_office", "/v1/records", 200)
    assert row.request_id == response.headers["X-Request-Id"]
    # The same body again: unchanged, no delta, no event.
    again = _post(client, county, body).json()
    assert (again["unchanged"], again["seq"], again["events"]) == (1, answer["seq"], [])


def test_a_bad_row_is_quarantined_masked_and_changes_nothing(
    client: TestClient, county: ApiCounty
) -> None:
    pointer = current(county.engine)
    assert pointer is not None
    bad = {**_penalty(county, "BAD-1"), "authority": f"法院 {ID_NUMBER}"}
    response = _post(client, county, {"table": "records", "rows": [bad]})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["quarantined"], answer["accepted"], answer["seq"]) == (1, 0, pointer.seq)
    assert answer["events"] == [] and answer["quarantine"][0]["index"] == 0
    assert ID_NUMBER not in response.text and "110105********002X" in response.text
    after = current(county.engine)
    assert after is not None and after.seq == pointer.seq


def test_rows_refused_whole_store_nothing(client: TestClient, county: ApiCounty) -> None:
    response = _post(client, county, {"table": "records", "rows": [{"record_id": "HALF-1"}]})
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "refused" and answer["accepted"] == 0
    assert "requires column(s)" in answer["notes"][0]


def test_many_posts_in_one_process_and_concurrently_all_land(
    client: TestClient, county: ApiCounty
) -> None:
    roles = read_table(county.engine, "roles")
    targets = sorted(roles["uscc"].unique())[:12]

    def call(n: int) -> Any:
        body = {"table": "records", "rows": [_penalty(county, f"CONC-{n}", targets[n])]}
        return _post(client, county, body)

    sequential = [call(n) for n in range(4)]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(call, range(4, 12)))
    answers = [r.json() for r in sequential + concurrent]
    assert all(r.status_code == 200 for r in sequential + concurrent)
    assert all(a["inserted"] == 1 for a in answers)
    seqs = [a["seq"] for a in answers if a["events"]]
    assert len(seqs) == len(set(seqs))  # each delta its own seq
    threshold = _threshold(county)
    assert_equals_full_recompute(county.engine, RiskConfig(), threshold)


def _threshold(county: ApiCounty) -> float:
    from risk.scoresets import get_set

    pointer = current(county.engine)
    assert pointer is not None
    return float(get_set(county.engine, pointer.set_id).config["linked_threshold_value"])


def test_a_set_scored_with_other_settings_is_409_and_stores_nothing(
    tmp_path: Path, api_template: Path
) -> None:
    county = copy_county(api_template, tmp_path)
    other = RiskConfig(propagation=PropagationConfig(alpha=0.4))
    publish_set(county.engine, other, county.as_of)
    with TestClient(_app(county)) as client:
        response = _post(client, county, {"table": "records", "rows": [_penalty(county, "409-1")]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "score_set_unavailable"
    assert read_table(county.engine, "records").query("record_id == '409-1'").empty
    county.engine.dispose()


def test_a_threaded_post_never_leaves_a_500(client: TestClient, county: ApiCounty) -> None:
    """Mixed good and bad bodies from threads: every answer a 200 or a 422."""
    statuses: list[int] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        body: Any = (
            {"table": "records", "rows": [_penalty(county, f"MIX-{n}")]}
            if n % 2
            else {"table": "records", "rows": [{"record_id": f"MIX-{n}", "x": 1}]}
        )
        status = _post(client, county, body).status_code
        with lock:
            statuses.append(status)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(call, range(12)))
    assert sorted(set(statuses)) == [200, 422]
    assert pd.Series(statuses).value_counts().to_dict() == {200: 6, 422: 6}
