"""Pre-credit routes: assessments (single, batch), outcomes, models list and reload.

One county of 3,000 enterprises (enough funded loans to train), the champions trained into
the county's work directory and promoted, the pipeline run with them (the current score set
holds every enterprise's assessment); the app loads the champions in its lifespan and answers
from the set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from features.data import PlatformData
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME
from models.scoring import PrecreditScorer
from models.tracking import tracking_uris
from risk.identifiers import contains_id_number
from risk.scoresets import read_kind
from risk.store import audit_log, read_table
from serving import precredit
from serving.app import create_app
from serving.middleware import call_of_item, item_request_id
from serving.roles import KeyRole
from tests.serving import reference
from tests.serving.conftest import ApiCounty, dumps

AUTH = {
    "id": "SQ-2026-000777",
    "purpose": "pre_credit",
    "granted_at": "2026-01-01",
    "expires_at": (date.today() + timedelta(days=180)).isoformat(),
}
ASSESS = "/v1/precredit/assessments"
BATCH = "/v1/precredit/assessments:batch"


@pytest.fixture(scope="module")
def county(champions_county: ApiCounty) -> ApiCounty:
    """3,000 enterprises (most companies borrowing); champions trained and promoted (a copy:
    the module reports outcomes and reloads the models)."""
    return champions_county


@pytest.fixture(scope="module")
def client(county: ApiCounty) -> Iterator[TestClient]:
    with TestClient(create_app(county.settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def offered(county: ApiCounty) -> str:
    """An eligible enterprise with a limit and reasons both ways."""
    data = PlatformData.from_store(county.engine)
    scorer = PrecreditScorer.from_registry(tracking_uris(county.settings.work_dir)[0])
    apps = pd.DataFrame({"uscc": data.enterprises["uscc"], "as_of": county.as_of})
    scored = scorer.score(data, apps)
    good = scored[
        scored["eligible"]
        & (scored["suggested_limit"] > 0)
        & (scored["risk_reasons"].map(len) > 0)
        & (scored["strength_reasons"].map(len) > 0)
    ]
    return str(good["uscc"].iloc[0])


def _bank(county: ApiCounty) -> dict[str, str]:
    return county.headers(KeyRole.bank, bank_authorization=False)


def _assess(client: TestClient, county: ApiCounty, uscc: str, auth: Any = AUTH) -> Any:
    body: dict[str, Any] = {"uscc": uscc}
    if auth is not None:
        body["authorization"] = auth
    return client.post(ASSESS, json=body, headers=_bank(county))


def test_readyz_lists_the_champions(client: TestClient) -> None:
    models = client.get("/readyz").json()["models"]
    assert {(m["name"], m["version"], m["alias"]) for m in models} == {
        (PD_MODEL_NAME, "1", "champion"),
        (LIMIT_MODEL_NAME, "1", "champion"),
    }


def test_bank_assessment(client: TestClient, county: ApiCounty, offered: str) -> None:
    before = county.audit_count()
    response = _assess(client, county, offered)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["uscc"] == offered and body["eligible"] is True
    assert 0 < body["pd"] < 1 and body["grade"] >= 1
    limit = body["limit"]
    assert limit["low"] <= limit["suggested"] <= limit["high"] and limit["suggested"] > 0
    assert 1 <= len(body["risk_reasons"]) <= 4 and 1 <= len(body["strength_reasons"]) <= 4
    assert all(r["zh"] and r["en"] for r in body["risk_reasons"] + body["strength_reasons"])
    assert {m["name"] for m in body["models"]} == {PD_MODEL_NAME, LIMIT_MODEL_NAME}
    assert body["as_of"] == county.as_of.isoformat()
    text = dumps(body)
    for secret in county.secrets_of_persons():
        assert secret not in text
    assert county.audit_count() == before + 1
    with county.engine.connect() as conn:
        row = conn.execute(
            select(audit_log).where(audit_log.c.id == int(response.headers["X-Audit-Id"]))
        ).one()
    assert row.uscc == offered and row.authorization_id == AUTH["id"]
    assert row.purpose == "pre_credit" and row.status == 200


def test_looked_up_assessments_equal_scoring_on_demand(
    client: TestClient, county: ApiCounty, offered: str
) -> None:
    """The pipeline assessed everybody into the score set; the service's answers are the
    set's rows, and what scoring now with the champions would give."""
    state = client.app.state.credlink  # type: ignore[attr-defined]
    bundle = next(iter(state.models.values())).model
    served = state.scores.require()
    assert served.model_versions[PD_MODEL_NAME] == bundle.versions[PD_MODEL_NAME]
    assert served.as_of == county.as_of
    stored = read_kind(county.engine, "assessments")
    enterprises = read_table(county.engine, "enterprises", columns=["uscc"])["uscc"]
    assert set(stored.index) == set(enterprises)
    usccs = [offered, *sorted(enterprises)[:40]]
    data = PlatformData.from_store(county.engine)  # the store is as it was for the pipeline
    scored = reference.score_rows(bundle.scorer, data, usccs, served.as_of)
    declined = 0
    for row in scored:
        expected = reference.assessment_from_row(row, bundle.versions, served.as_of)
        response = client.post(
            ASSESS, json={"uscc": row["uscc"], "authorization": AUTH}, headers=_bank(county)
        )
        assert response.status_code == 200, response.text
        assert response.headers["X-Score-Set"] == served.label
        body = response.json()
        assert body == {**expected.model_dump(mode="json"), "authorization_id": AUTH["id"]}
        assert {**body, "authorization_id": None} == {
            **stored.loc[row["uscc"], "body"],
            "authorization_id": None,
        }
        declined += not expected.eligible
    assert declined > 0  # the sample covers declined enterprises too


def test_every_answer_off_the_whitelist_says_why_in_chinese_and_english(
    client: TestClient, county: ApiCounty
) -> None:
    """Every assessment of the county: on the 白名单 exactly when no reason says otherwise;
    ``declined`` exactly when ineligible, ``no_limit`` exactly when eligible without a limit,
    ``grade_above_whitelist`` exactly when the PD band is above the cut. One of each code
    present is asked through the route."""
    stored = read_kind(county.engine, "assessments")
    state = client.app.state.credlink  # type: ignore[attr-defined]
    cut = next(iter(state.models.values())).model.scorer.whitelist_max_grade
    first: dict[str, str] = {}
    for uscc, body in stored["body"].items():
        codes = [r["code"] for r in body["not_whitelisted_reasons"]]
        assert body["whitelisted"] == (codes == []), uscc
        assert ("declined" in codes) == (not body["eligible"]), uscc
        assert ("no_limit" in codes) == (body["eligible"] and body["limit"] is None), uscc
        assert ("grade_above_whitelist" in codes) == (body["pd_band"] > cut), uscc
        assert all(r["zh"] and r["en"] for r in body["not_whitelisted_reasons"])
        for code in codes:
            first.setdefault(code, uscc)
    assert {"declined", "no_limit"} <= set(first), first
    for code, uscc in first.items():
        response = _assess(client, county, uscc)
        assert response.status_code == 200, response.text
        reasons = {r["code"]: r for r in response.json()["not_whitelisted_reasons"]}
        assert code in reasons and response.json()["whitelisted"] is False
    declined = _assess(client, county, first["declined"]).json()
    assert declined["not_whitelisted_reasons"][0]["zh"].startswith("未通过信易贷准入规则")
    assert declined["decline_reasons"]  # the rules' own reasons say which


@pytest.mark.parametrize("role", [KeyRole.credit_office, KeyRole.analyst])
def test_other_roles_are_forbidden(
    client: TestClient, county: ApiCounty, offered: str, role: KeyRole
) -> None:
    body = {"uscc": offered, "authorization": AUTH}
    response = client.post(ASSESS, json=body, headers=county.headers(role))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_missing_and_expired_authorization(
    client: TestClient, county: ApiCounty, offered: str
) -> None:
    before = county.audit_count()
    missing = _assess(client, county, offered, auth=None)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "authorization_required"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    expired = _assess(client, county, offered, auth={**AUTH, "expires_at": yesterday})
    assert expired.status_code == 403
    error = expired.json()["error"]
    assert error["code"] == "authorization_expired"
    assert error["field"] == "authorization.expires_at"
    assert county.audit_count() == before + 2  # refusals are audited too


def test_invalid_and_unknown_uscc(client: TestClient, county: ApiCounty, offered: str) -> None:
    bad = offered[:-1] + ("0" if offered[-1] != "0" else "1")
    invalid = _assess(client, county, bad)
    assert invalid.status_code == 422
    error = invalid.json()["error"]
    assert (error["field"], error["check"]) == ("uscc", "check_character")
    unknown = _assess(client, county, "91110000600037341L")
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["code"] == "unknown_entity"


def test_batch_reports_item_errors_inline(
    client: TestClient, county: ApiCounty, offered: str
) -> None:
    others = read_table(county.engine, "enterprises", columns=["uscc"])["uscc"]
    second = str(others[others != offered].iloc[0])
    items = [
        {"uscc": offered, "authorization": AUTH},
        {"uscc": "91110000600037341X", "authorization": AUTH},
        {"uscc": second, "authorization": AUTH},
    ]
    before = county.audit_count()
    response = client.post(BATCH, json={"items": items}, headers=_bank(county))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["n"], body["succeeded"], body["failed"]) == (3, 2, 1)
    results = body["results"]
    assert [r["status"] for r in results] == [200, 422, 200]
    assert results[1]["error"]["check"] == "check_character" and results[1]["assessment"] is None
    assert results[0]["assessment"]["uscc"] == offered
    assert results[2]["assessment"]["uscc"] == second
    assert county.audit_count() == before + 4  # one row per item and one for the call
    single = _assess(client, county, offered).json()
    assert results[0]["assessment"]["pd"] == pytest.approx(single["pd"])


def _batch_items(county: ApiCounty, offered: str) -> list[dict[str, Any]]:
    others = read_table(county.engine, "enterprises", columns=["uscc"])["uscc"]
    second = str(others[others != offered].iloc[0])
    return [
        {"uscc": offered, "authorization": AUTH},
        {"uscc": "91110000600037341X", "authorization": AUTH},
        {"uscc": second, "authorization": AUTH},
    ]


def _item_rows(county: ApiCounty, call_ids: list[str]) -> list[Any]:
    with county.engine.connect() as conn:
        return list(
            conn.execute(
                select(audit_log).where(
                    audit_log.c.route == BATCH,
                    audit_log.c.request_id.not_in(call_ids),
                    audit_log.c.query.in_(
                        [f"item={i}&request_id={c}" for c in call_ids for i in range(3)]
                    ),
                )
            )
        )


def test_batch_many_times_in_one_process_and_concurrently(
    client: TestClient, county: ApiCounty, offered: str
) -> None:
    """The batch route answers every call, sequential or concurrent, and audits each item
    under its own request id that names the call it belongs to."""
    items = _batch_items(county, offered)
    before = county.audit_count()

    def call(_: int) -> Any:
        return client.post(BATCH, json={"items": items}, headers=_bank(county))

    sequential = [call(i) for i in range(12)]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(call, range(24)))
    responses = sequential + concurrent
    assert [r.status_code for r in responses] == [200] * len(responses), responses[-1].text
    assert all(r.json()["succeeded"] == 2 for r in responses)
    assert county.audit_count() == before + len(responses) * (len(items) + 1)
    call_ids = [r.headers["X-Request-Id"] for r in responses]
    rows = _item_rows(county, call_ids)
    assert len(rows) == len(responses) * len(items)
    assert len({row.request_id for row in rows}) == len(rows)
    for row in rows:
        call_id = row.query.split("request_id=")[1]
        assert item_request_id(call_id, int(row.query.split("&")[0][5:])) == row.request_id
        assert call_of_item(row.request_id) == call_id


def test_single_assessment_many_times_and_concurrently(
    client: TestClient, county: ApiCounty, offered: str
) -> None:
    before = county.audit_count()
    sequential = [_assess(client, county, offered) for _ in range(12)]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda _: _assess(client, county, offered), range(24)))
    responses = sequential + concurrent
    assert [r.status_code for r in responses] == [200] * len(responses)
    assert len({r.headers["X-Audit-Id"] for r in responses}) == len(responses)
    assert county.audit_count() == before + len(responses)


ID_NUMBER = "11010519491231002X"  # a valid resident ID number (GB 11643 check passes)


def test_id_numbers_sent_by_a_bank_never_reach_the_audit_log(
    client: TestClient, county: ApiCounty, offered: str
) -> None:
    """An ID number where a USCC, an authorization id or a query value belongs: refused or
    answered as usual, audited, and the audit row holds it masked."""
    bank = _bank(county)
    headers = {**county.headers(KeyRole.bank), "X-Authorization-Id": ID_NUMBER}
    auth = {**AUTH, "id": ID_NUMBER}
    before = county.audit_count()
    sent = [
        client.get(f"/v1/entities/{ID_NUMBER}/risk", headers=county.headers(KeyRole.bank)),
        client.get(f"/v1/entities/{ID_NUMBER.lower()}/network", headers=headers),
        client.get(f"/v1/entities/{offered}/risk?x={ID_NUMBER}", headers=headers),
        client.get(f"/v1/entities/{offered}/risk?x=%31{ID_NUMBER[1:]}", headers=headers),
        client.post(ASSESS, json={"uscc": ID_NUMBER, "authorization": AUTH}, headers=bank),
        client.post(ASSESS, json={"uscc": offered, "authorization": auth}, headers=bank),
        client.post(ASSESS, json={"uscc": f" {ID_NUMBER} ", "authorization": auth}, headers=bank),
        client.post(
            BATCH,
            json={"items": [{"uscc": ID_NUMBER, "authorization": auth}, {"uscc": offered}]},
            headers=bank,
        ),
    ]
    # An authorization number holding an ID number is refused (403 authorization_invalid).
    assert [r.status_code for r in sent] == [422, 403, 403, 403, 422, 403, 403, 200]
    assert county.audit_count() == before + len(sent) + 2  # the batch: one row per item too
    with county.engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.id > 0)).mappings().all()
    leaks = [
        (row["id"], name)
        for row in rows
        for name, value in row.items()
        if isinstance(value, str) and contains_id_number(value)
    ]
    assert leaks == []
    masked = [r for r in rows[-(len(sent) + 2) :] if "********" in (r["uscc"] or "")]
    assert len(masked) == 5  # the ID number is still recognisable as such, masked
    assert {r["authorization_id"] for r in rows[-(len(sent) + 2) :]} >= {"110105********002X"}


def test_batch_over_1000_is_422(client: TestClient, county: ApiCounty, offered: str) -> None:
    items = [{"uscc": offered, "authorization": AUTH}] * 1001
    response = client.post(BATCH, json={"items": items}, headers=_bank(county))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "items"


def test_outcomes_are_idempotent(client: TestClient, county: ApiCounty, offered: str) -> None:
    loans = [
        {
            "loan_id": f"API-TEST-{i}",
            "uscc": offered,
            "bank": "清源农商银行",
            "applied": "2026-05-01",
            "approved_amount": 50,
            "drawn_amount": 40.5,
            "term_months": 12,
            "status": "performing",
            "status_date": "2026-06-30",
        }
        for i in range(3)
    ]
    assert _assess(client, county, offered).status_code == 200  # the authorized query
    bad = {**loans[0], "loan_id": "API-TEST-BAD", "status": "lost"}
    first = client.post("/v1/outcomes", json={"loans": [*loans, bad]}, headers=_bank(county))
    assert first.status_code == 200, first.text
    summary = first.json()
    assert (summary["read"], summary["inserted"], summary["quarantined"]) == (4, 3, 1)
    assert summary["quarantine"][0]["index"] == 3
    assert summary["quarantine"][0]["column"] == "status"
    second = client.post("/v1/outcomes", json={"loans": loans}, headers=_bank(county))
    again = second.json()
    assert (again["read"], again["inserted"], again["updated"], again["unchanged"]) == (3, 0, 0, 3)
    moved = [{**loans[0], "status": "overdue_30"}]
    third = client.post("/v1/outcomes", json={"loans": moved}, headers=_bank(county)).json()
    assert third["updated"] == 1
    refused = client.post(
        "/v1/outcomes", json={"loans": [{"loan_id": "X-1"}]}, headers=_bank(county)
    )
    assert refused.status_code == 422
    analyst = client.post(
        "/v1/outcomes", json={"loans": loans}, headers=county.headers(KeyRole.analyst)
    )
    assert analyst.status_code == 403


def test_a_bank_reports_only_its_own_loans(
    client: TestClient, county: ApiCounty, offered: str
) -> None:
    loan = {
        "loan_id": "API-OWN-1",
        "uscc": offered,
        "applied": "2026-05-01",
        "approved_amount": 30,
        "drawn_amount": 30,
        "term_months": 12,
        "status": "performing",
        "status_date": "2026-06-30",
    }
    assert _assess(client, county, offered).status_code == 200  # the authorized query
    # Without a bank, the loan is the caller's institution's.
    mine = client.post("/v1/outcomes", json={"loans": [loan]}, headers=_bank(county))
    assert mine.status_code == 200 and mine.json()["inserted"] == 1, mine.text
    stored = read_table(county.engine, "loans").set_index(["bank", "loan_id"])
    assert ("清源农商银行", "API-OWN-1") in stored.index
    # Naming another bank is refused, naming the row; nothing of the call is stored.
    other = {**loan, "loan_id": "API-OWN-2", "bank": "别家银行"}
    refused = client.post("/v1/outcomes", json={"loans": [loan, other]}, headers=_bank(county))
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert (error["field"], error["check"]) == ("loans[1].bank", "institution")
    assert "API-OWN-2" not in set(read_table(county.engine, "loans")["loan_id"])
    # Another bank's loan under the same loan_id is another loan: reporting one's own
    # "API-OWN-3" stores it beside theirs and leaves theirs as it was.
    admin = county.headers(KeyRole.admin)
    theirs = {**loan, "loan_id": "API-OWN-3", "bank": "别家银行"}
    assert client.post("/v1/outcomes", json={"loans": [theirs]}, headers=admin).status_code == 200
    hijack = {**theirs, "bank": "清源农商银行", "status": "default"}
    own = client.post("/v1/outcomes", json={"loans": [hijack]}, headers=_bank(county))
    assert own.status_code == 200 and own.json()["inserted"] == 1, own.text
    stored = read_table(county.engine, "loans").set_index(["bank", "loan_id"])
    assert stored.loc[("别家银行", "API-OWN-3"), "status"] == "performing"
    assert stored.loc[("清源农商银行", "API-OWN-3"), "status"] == "default"


def test_models_list(client: TestClient, county: ApiCounty) -> None:
    response = client.get("/v1/models", headers=county.headers(KeyRole.analyst))
    assert response.status_code == 200, response.text
    registered = response.json()["registered"]
    assert {(m["name"], m["version"]) for m in registered if m["serving"]} == {
        (PD_MODEL_NAME, "1"),
        (LIMIT_MODEL_NAME, "1"),
    }
    assert all("champion" in m["aliases"] for m in registered)
    bank = client.get("/v1/models", headers=county.headers(KeyRole.bank))
    assert bank.status_code == 403


def test_reload_is_atomic(
    client: TestClient, county: ApiCounty, offered: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = county.headers(KeyRole.admin)
    assert (
        client.post("/v1/admin/models/reload", headers=county.headers(KeyRole.analyst)).status_code
        == 403
    )
    state = client.app.state.credlink  # type: ignore[attr-defined]
    serving = state.models
    ok = client.post("/v1/admin/models/reload", headers=admin)
    assert ok.status_code == 200, ok.text
    assert ok.json()["changed"] is False and len(ok.json()["current"]) == 2
    assert state.models is not serving  # a fresh load, swapped in whole
    serving = state.models

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("artifact store unreachable")

    monkeypatch.setattr(precredit, "load_champions", broken)
    failed = client.post("/v1/admin/models/reload", headers=admin)
    assert failed.status_code == 503
    error = failed.json()["error"]
    assert error["code"] == "model_unavailable" and "still serving" in error["message"]
    assert state.models is serving
    assert _assess(client, county, offered).status_code == 200


def test_a_reload_reaches_every_worker(client: TestClient, county: ApiCounty, offered: str) -> None:
    """Two apps on one work directory stand for two workers: a reload sent to one reaches both."""
    with TestClient(create_app(county.settings)) as other:
        other_state = other.app.state.credlink  # type: ignore[attr-defined]
        before = other_state.models
        reload = client.post("/v1/admin/models/reload", headers=county.headers(KeyRole.admin))
        assert reload.status_code == 200, reload.text
        marker = county.settings.work_dir / precredit.RELOAD_MARKER
        assert marker.read_text() == client.app.state.credlink.reload_token  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10 * precredit.FOLLOW_SECONDS
        while other_state.models is before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert other_state.models is not before  # the other worker reloaded by itself
        assert other_state.reload_token == marker.read_text()
        response = other.post(
            ASSESS, json={"uscc": offered, "authorization": AUTH}, headers=_bank(county)
        )
        assert response.status_code == 200


def test_no_models_is_503(county: ApiCounty, offered: str, tmp_path: Path) -> None:
    settings = county.settings.model_copy(update={"work_dir": tmp_path})
    with TestClient(create_app(settings)) as bare:
        assert bare.get("/readyz").json()["models"] == []
        response = bare.post(
            ASSESS, json={"uscc": offered, "authorization": AUTH}, headers=_bank(county)
        )
        assert response.status_code == 503
        assert "MLflow" in response.json()["error"]["message"]
