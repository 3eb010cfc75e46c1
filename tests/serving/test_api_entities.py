"""Entity routes: risk and network for every role, masking for banks, the bank authorization,
identifier checks, and the audit row of every bank call."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from risk.explain import explain
from risk.identifiers import mask_name
from risk.snapshot import score_snapshot
from risk.store import audit_log
from serving.roles import KeyRole
from tests.serving.conftest import (
    AUTHORIZATION_EXPIRES,
    VALID_AUTHORIZATION,
    ApiCounty,
    body_digest,
    dumps,
)

NOT_BANKS = [KeyRole.credit_office, KeyRole.analyst, KeyRole.admin]


def _risk(client: TestClient, county: ApiCounty, role: KeyRole, uscc: str) -> dict:
    response = client.get(f"/v1/entities/{uscc}/risk", headers=county.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


def test_risk_agrees_with_the_graph_and_explain(client: TestClient, api_county: ApiCounty) -> None:
    uscc = api_county.linked_uscc
    body = _risk(client, api_county, KeyRole.credit_office, uscc)
    run = score_snapshot(api_county.engine, api_county.as_of)
    own, linked = run.scores.lookup(uscc)
    assert body["own_signal"] == pytest.approx(own)
    assert body["linked_risk"] == pytest.approx(linked)
    expected = explain(run.snapshot, run.scores, run.records, uscc, top=5, unmasked=True)
    assert body["n_sources"] == expected.n_sources
    assert [s["record_id"] for s in body["top_sources"]] == [s.record_id for s in expected.sources]
    assert body["top_sources"][0]["paths"][0]["sentence"] == expected.sources[0].sentence
    assert sum(s["contribution"] for s in body["top_sources"]) <= body["linked_risk"] + 1e-9
    assert body["grade"]["grade"] in "ABCD"
    assert body["as_of"] == api_county.as_of.isoformat()


def test_active_records_are_the_own_signal(client: TestClient, api_county: ApiCounty) -> None:
    body = _risk(client, api_county, KeyRole.credit_office, api_county.warned_uscc)
    assert sum(r["signal"] for r in body["active_records"]) == pytest.approx(body["own_signal"])
    for record in body["active_records"]:
        assert record["decided"] <= api_county.as_of.isoformat()
        assert record["publicity_end"] is None or record["publicity_end"] > body["as_of"]


@pytest.mark.parametrize("role", NOT_BANKS, ids=[r.value for r in NOT_BANKS])
def test_credit_office_analyst_admin_see_warnings(
    client: TestClient, api_county: ApiCounty, role: KeyRole
) -> None:
    body = _risk(client, api_county, role, api_county.warned_uscc)
    assert body["warnings"] and all(w["uscc"] == api_county.warned_uscc for w in body["warnings"])
    assert body["grade"]["basis"] == "signals_and_warnings"
    assert body["persons_masked"] is (role == KeyRole.analyst)


def test_bank_sees_no_warnings_and_a_signals_only_grade(
    client: TestClient, api_county: ApiCounty
) -> None:
    office = _risk(client, api_county, KeyRole.credit_office, api_county.warned_uscc)
    bank = _risk(client, api_county, KeyRole.bank, api_county.warned_uscc)
    assert bank["warnings"] is None
    assert bank["grade"]["basis"] == "signals"
    # The office's grade says why (an open warning); the bank's cannot.
    assert "预警" in office["grade"]["reason"]
    text = dumps(bank)
    for word in ("预警", "warning_id", "suspected_shell", "疑似换壳"):
        assert word not in text
    for key in ("own_signal", "linked_risk", "linked_risk_excluding_self", "n_sources"):
        assert bank[key] == pytest.approx(office[key])
    assert bank["active_records"] == office["active_records"]
    assert [s["record_id"] for s in bank["top_sources"]] == [
        s["record_id"] for s in office["top_sources"]
    ]


@pytest.mark.parametrize("uscc_attr", ["linked_uscc", "warned_uscc"])
@pytest.mark.parametrize("route", ["risk", "network?depth=3"])
def test_bank_never_sees_a_person(
    client: TestClient, api_county: ApiCounty, uscc_attr: str, route: str
) -> None:
    uscc = getattr(api_county, uscc_attr)
    response = client.get(f"/v1/entities/{uscc}/{route}", headers=api_county.headers(KeyRole.bank))
    assert response.status_code == 200, response.text
    text = response.text
    assert "person-1" in text  # persons are there, under per-response aliases
    leaked = [s for s in api_county.secrets_of_persons() if s in text]
    assert leaked == []
    # Every person shown is an alias with a masked name: family name and stars.
    body = response.json()
    if "nodes" in body:
        shown = [(n["id"], n["name"]) for n in body["nodes"] if n["node_type"] == "person"]
    else:
        hops = [h for s in body["top_sources"] for p in s["paths"] for h in p["hops"]]
        shown = [(h["from_id"], h["from_name"]) for h in hops]
        shown += [(h["to_id"], h["to_name"]) for h in hops]
        shown += [(s["subject_id"], s["subject_name"]) for s in body["top_sources"]]
    names = [name for node_id, name in shown if node_id.startswith("person-")]
    assert names and all(set(n[1:]) == {"*"} or n == "未登记自然人" for n in names)


def test_credit_office_sees_full_names_where_the_bank_sees_masks(
    client: TestClient, api_county: ApiCounty
) -> None:
    uscc = api_county.linked_uscc
    url = f"/v1/entities/{uscc}/network?depth=1"
    office = client.get(url, headers=api_county.headers(KeyRole.credit_office)).json()
    bank = client.get(url, headers=api_county.headers(KeyRole.bank)).json()
    office_people = [n for n in office["nodes"] if n["node_type"] == "person" and n["known"]]
    bank_people = [n for n in bank["nodes"] if n["node_type"] == "person" and n["known"]]
    assert office_people and len(office_people) == len(bank_people)
    names = dict(zip(api_county.persons["person_id"], api_county.persons["name"], strict=True))
    assert {n["name"] for n in office_people} == {names[n["id"]] for n in office_people}
    assert sorted(n["name"] for n in bank_people) == sorted(
        mask_name(n["name"]) for n in office_people
    )
    assert {n["id"] for n in bank_people} == {f"person-{i + 1}" for i in range(len(bank_people))}
    assert len(bank["edges"]) == len(office["edges"])


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_network_depths(client: TestClient, api_county: ApiCounty, depth: int) -> None:
    uscc = api_county.linked_uscc
    response = client.get(
        f"/v1/entities/{uscc}/network",
        params={"depth": depth},
        headers=api_county.headers(KeyRole.analyst),
    )
    body = response.json()
    assert body["center"] == uscc and body["depth"] == depth
    assert body["nodes"][0]["id"] == uscc and body["nodes"][0]["hops"] == 0
    assert max(n["hops"] for n in body["nodes"]) <= depth
    ids = {n["id"] for n in body["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in body["edges"])
    assert len(body["nodes"]) <= api_county.settings.network_max_nodes


@pytest.mark.parametrize(
    ("depth", "check"),
    [(0, "greater_than_equal"), (4, "less_than_equal"), ("two", "int_parsing")],
)
def test_network_depth_outside_1_to_3_is_422(
    client: TestClient, api_county: ApiCounty, depth: int | str, check: str
) -> None:
    for role in (KeyRole.credit_office, KeyRole.bank):
        response = client.get(
            f"/v1/entities/{api_county.linked_uscc}/network",
            params={"depth": depth},
            headers=api_county.headers(role),
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert (error["field"], error["check"]) == ("depth", check)


@pytest.mark.parametrize(
    ("uscc", "check"),
    [
        ("9134110070850202", "length"),
        ("91341100708502022E0", "length"),
        ("9134110070850202IE", "alphabet"),
        ("91341100708502022F", "check_character"),
        ("x", "length"),
    ],
)
@pytest.mark.parametrize("role", [KeyRole.credit_office, KeyRole.bank])
def test_invalid_uscc_is_422_naming_field_and_check(
    client: TestClient, api_county: ApiCounty, uscc: str, check: str, role: KeyRole
) -> None:
    for route in ("risk", "network"):
        response = client.get(f"/v1/entities/{uscc}/{route}", headers=api_county.headers(role))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"], error["check"]) == (
            "invalid_identifier",
            "uscc",
            check,
        )
        assert error["message"].startswith("uscc")


def test_uscc_is_normalised_and_unknown_is_404(client: TestClient, api_county: ApiCounty) -> None:
    uscc = api_county.linked_uscc
    loose = f" {uscc.lower()[:9]} {uscc.lower()[9:]}"
    body = _risk(client, api_county, KeyRole.analyst, loose)
    assert body["uscc"] == uscc
    for unknown in ("91110000600037341L", api_county.persons["person_id"].iloc[0]):
        response = client.get(
            f"/v1/entities/{unknown}/risk", headers=api_county.headers(KeyRole.analyst)
        )
        expected = 404 if unknown.startswith("9") else 422
        assert response.status_code == expected
    response = client.get(
        "/v1/entities/91110000600037341L/network", headers=api_county.headers(KeyRole.bank)
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_entity"


# --------------------------------------------------------------------------- authorization


@pytest.mark.parametrize("missing", list(VALID_AUTHORIZATION))
def test_bank_without_an_authorization_header_is_403(
    client: TestClient, api_county: ApiCounty, missing: str
) -> None:
    headers = api_county.headers(KeyRole.bank)
    del headers[missing]
    response = client.get(f"/v1/entities/{api_county.linked_uscc}/risk", headers=headers)
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("authorization_required", missing)
    assert missing in error["message"]
    assert "top_sources" not in response.text


def test_bank_with_an_expired_authorization_is_403(
    client: TestClient, api_county: ApiCounty
) -> None:
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    headers = {**api_county.headers(KeyRole.bank), "X-Authorization-Expires": yesterday}
    response = client.get(f"/v1/entities/{api_county.linked_uscc}/network", headers=headers)
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("authorization_expired", "X-Authorization-Expires")
    assert f"expired on {yesterday}" in error["message"]
    today = {**headers, "X-Authorization-Expires": date.today().isoformat()}
    assert client.get(f"/v1/entities/{api_county.linked_uscc}/risk", headers=today).is_success


@pytest.mark.parametrize(
    ("header", "value", "check"),
    [
        ("X-Authorization-Expires", "next week", "date_from_datetime_parsing"),
        ("X-Authorization-Purpose", "marketing", "enum"),
        ("X-Authorization-Id", "has space", "string_pattern_mismatch"),
        ("X-Authorization-Id", "A" * 65, "string_pattern_mismatch"),
    ],
)
def test_malformed_authorization_headers_are_422(
    client: TestClient, api_county: ApiCounty, header: str, value: str, check: str
) -> None:
    headers = {**api_county.headers(KeyRole.bank), header: value}
    response = client.get(f"/v1/entities/{api_county.linked_uscc}/risk", headers=headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["field"], error["check"], error["details"][0]["location"]) == (
        header,
        check,
        "header",
    )


def test_other_roles_need_no_authorization(client: TestClient, api_county: ApiCounty) -> None:
    headers = api_county.headers(KeyRole.analyst)
    assert client.get(f"/v1/entities/{api_county.linked_uscc}/risk", headers=headers).is_success


# --------------------------------------------------------------------------- audit


def test_every_bank_call_is_audited_before_its_answer(
    client: TestClient, api_county: ApiCounty
) -> None:
    bank = api_county.headers(KeyRole.bank)
    no_authorization = api_county.headers(KeyRole.bank, bank_authorization=False)
    uscc = api_county.linked_uscc
    calls = [
        (f"/v1/entities/{uscc}/risk", bank, 200),
        (f"/v1/entities/{uscc.lower()}/network?depth=2", bank, 200),
        (f"/v1/entities/{uscc}/network?depth=9", bank, 422),
        ("/v1/entities/91341100708502022F/risk", bank, 422),
        ("/v1/entities/91110000600037341L/risk", bank, 404),
        (f"/v1/entities/{uscc}/risk", no_authorization, 403),
        ("/v1/warnings", bank, 403),
        ("/v1/warnings/export?regulator=税务局", bank, 403),
    ]
    before = api_county.audit_count()
    with api_county.engine.connect() as conn:
        last_id = conn.execute(select(audit_log.c.id).order_by(audit_log.c.id.desc())).scalar()
    responses = []
    for url, headers, status in calls:
        response = client.get(url, headers=headers)
        assert response.status_code == status, (url, response.text)
        responses.append(response)
    # Calls of other roles and without a key are never audited.
    client.get(f"/v1/entities/{uscc}/risk", headers=api_county.headers(KeyRole.credit_office))
    client.get(f"/v1/entities/{uscc}/risk")
    assert api_county.audit_count() == before + len(calls)

    with api_county.engine.connect() as conn:
        rows = (
            conn.execute(
                select(audit_log).where(audit_log.c.id > (last_id or 0)).order_by(audit_log.c.id)
            )
            .mappings()
            .all()
        )
    assert len(rows) == len(calls)
    for row, response, (url, headers, status) in zip(rows, responses, calls, strict=True):
        assert row["status"] == status
        assert row["response_sha256"] == body_digest(response)
        assert response.headers["x-audit-id"] == str(row["id"])
        assert response.headers["x-request-id"] == row["request_id"]
        assert row["institution"] == "清源农商银行" and row["role"] == "bank"
        if "X-Authorization-Id" in headers and "/v1/entities/" in url:
            assert row["authorization_id"] == "SQ-2026-000123"
            assert row["purpose"] == "pre_credit"
            assert row["authorization_expires"] == AUTHORIZATION_EXPIRES
        else:
            assert row["authorization_id"] is None
    assert [r["route"] for r in rows[:3]] == [
        "/v1/entities/{uscc}/risk",
        "/v1/entities/{uscc}/network",
        "/v1/entities/{uscc}/network",
    ]
    assert rows[0]["uscc"] == rows[1]["uscc"] == uscc  # normalised
    assert rows[2]["query"] == "depth=9"
    assert rows[3]["uscc"] == "91341100708502022F"
    assert rows[6]["uscc"] is None


def test_audit_row_digest_is_of_the_exact_bytes(client: TestClient, api_county: ApiCounty) -> None:
    response = client.get(
        f"/v1/entities/{api_county.warned_uscc}/risk", headers=api_county.headers(KeyRole.bank)
    )
    with api_county.engine.connect() as conn:
        digest = conn.execute(
            select(audit_log.c.response_sha256).where(
                audit_log.c.id == int(response.headers["x-audit-id"])
            )
        ).scalar_one()
    assert digest == hashlib.sha256(response.content).hexdigest()
