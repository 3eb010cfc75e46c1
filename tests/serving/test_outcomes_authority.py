"""Outcomes bound to authority: a loan is (bank, loan_id), an outcome needs an authorized query,
the check and the write are one transaction, and every stored row leads to its audit rows.

Two levels: the HTTP route on a synthetic county (SQLite), with two banks querying enterprises
first; and :func:`serving.outcomes.report_outcomes` on SQLite and PostgreSQL, where many threads
race pairs of banks on the same loan ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from risk.store import audit_log, contract_table, outcome_reports, read_table
from serving.app import create_app
from serving.audit import AuditContext, audit_row, insert_audit_rows
from serving.exceptions import AuthorizationReferenceError, PermissionDeniedError
from serving.keys import ApiKey, create_key
from serving.outcomes import report_outcomes
from serving.roles import KeyRole
from tests.serving.conftest import VALID_AUTHORIZATION, ApiCounty


@pytest.fixture(scope="module")
def api_county(own_county: ApiCounty) -> ApiCounty:
    """This module reports loan outcomes and creates keys: a county of its own."""
    return own_county


OUTCOMES = "/v1/outcomes"
OTHER_BANK = "别家银行"


@pytest.fixture(scope="module")
def client(api_county: ApiCounty) -> Iterator[TestClient]:
    with TestClient(create_app(api_county.settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def banks(api_county: ApiCounty) -> dict[str, dict[str, str]]:
    """Headers of two banks (清源农商银行 from the county, and another)."""
    other = create_key(api_county.engine, KeyRole.bank, OTHER_BANK, "信贷部").token
    return {
        "mine": api_county.headers(KeyRole.bank, bank_authorization=False),
        "other": {"X-API-Key": other},
    }


@pytest.fixture(scope="module")
def usccs(api_county: ApiCounty) -> list[str]:
    return sorted(read_table(api_county.engine, "enterprises", columns=["uscc"])["uscc"])[:12]


def _query(client: TestClient, headers: dict[str, str], uscc: str, **auth: str) -> Any:
    """An authorized entity query: what entitles a bank to report on the enterprise."""
    response = client.get(
        f"/v1/entities/{uscc}/risk", headers={**headers, **VALID_AUTHORIZATION, **auth}
    )
    assert response.status_code == 200, response.text
    return response


def _loan(loan_id: str, uscc: str, **values: Any) -> dict[str, Any]:
    today = date.today()
    return {
        "loan_id": loan_id,
        "uscc": uscc,
        "applied": (today - timedelta(days=30)).isoformat(),
        "approved_amount": 50,
        "drawn_amount": 50,
        "term_months": 12,
        "status": "performing",
        "status_date": today.isoformat(),
        **values,
    }


def _loans(county: ApiCounty) -> dict[tuple[str, str], dict[str, Any]]:
    stored = read_table(county.engine, "loans")
    return {(r["bank"], r["loan_id"]): r for r in stored.to_dict("records")}


def test_two_banks_keep_their_own_loan_under_one_loan_id(
    client: TestClient, api_county: ApiCounty, banks: dict[str, dict[str, str]], usccs: list[str]
) -> None:
    for who in ("mine", "other"):
        _query(client, banks[who], usccs[0])
    mine = client.post(
        OUTCOMES, json={"loans": [_loan("SHARED-1", usccs[0])]}, headers=banks["mine"]
    )
    assert mine.status_code == 200 and mine.json()["inserted"] == 1, mine.text
    theirs = _loan("SHARED-1", usccs[0], status="default", approved_amount=80, drawn_amount=80)
    other = client.post(OUTCOMES, json={"loans": [theirs]}, headers=banks["other"])
    assert other.status_code == 200 and other.json()["inserted"] == 1, other.text
    stored = _loans(api_county)
    assert stored[("清源农商银行", "SHARED-1")]["status"] == "performing"
    assert stored[(OTHER_BANK, "SHARED-1")]["status"] == "default"
    assert stored[(OTHER_BANK, "SHARED-1")]["approved_amount"] == 80


def test_an_outcome_without_an_authorized_query_is_refused_whole(
    client: TestClient, api_county: ApiCounty, banks: dict[str, dict[str, str]], usccs: list[str]
) -> None:
    _query(client, banks["other"], usccs[1])
    # Calls that were refused or failed give no authority: no authorization, unknown entity.
    bare = client.get(f"/v1/entities/{usccs[2]}/risk", headers=banks["other"])
    assert bare.status_code == 403
    before = api_county.audit_count()
    fake = [_loan("FAKE-1", usccs[1]), _loan("FAKE-2", usccs[2], status="default")]
    refused = client.post(OUTCOMES, json={"loans": fake}, headers=banks["other"])
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("authorization_required", "loans[1].uscc")
    assert usccs[2] in error["message"] and "application date" in error["message"]
    stored = _loans(api_county)
    assert (OTHER_BANK, "FAKE-1") not in stored and (OTHER_BANK, "FAKE-2") not in stored
    assert api_county.audit_count() == before + 1  # the refusal is audited
    with api_county.engine.connect() as conn:
        row = conn.execute(
            select(audit_log).where(audit_log.c.id == int(refused.headers["X-Audit-Id"]))
        ).one()
    assert (row.route, row.status, row.institution) == (OUTCOMES, 403, OTHER_BANK)


def test_the_authorization_must_cover_the_application_date(
    client: TestClient, api_county: ApiCounty, usccs: list[str]
) -> None:
    """A query under an authorization that has since run out entitles the bank to report
    loans applied for while it ran, not later ones (future application dates are refused by
    the ingest's own date rule, so the lapse is set in the past)."""
    third = create_key(api_county.engine, KeyRole.bank, "第三银行", "信贷部")
    headers = {"X-API-Key": third.token}
    ran_out = date.today() - timedelta(days=10)
    _authorize(api_county.engine, third.key, usccs[3], expires=ran_out)
    late = _loan("LATE-1", usccs[3], applied=(ran_out + timedelta(days=5)).isoformat())
    refused = client.post(OUTCOMES, json={"loans": [late]}, headers=headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["field"] == "loans[0].uscc"
    covered = _loan("LATE-2", usccs[3], applied=(ran_out - timedelta(days=5)).isoformat())
    ok = client.post(OUTCOMES, json={"loans": [covered]}, headers=headers)
    assert ok.status_code == 200 and ok.json()["inserted"] == 1, ok.text


def test_a_bank_cannot_report_in_another_banks_name(
    client: TestClient, api_county: ApiCounty, banks: dict[str, dict[str, str]], usccs: list[str]
) -> None:
    _query(client, banks["mine"], usccs[4])
    loans = [_loan("NAME-1", usccs[4]), _loan("NAME-2", usccs[4], bank=OTHER_BANK)]
    refused = client.post(OUTCOMES, json={"loans": loans}, headers=banks["mine"])
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert (error["field"], error["check"]) == ("loans[1].bank", "institution")
    assert ("清源农商银行", "NAME-1") not in _loans(api_county)


def test_each_stored_outcome_leads_to_its_call_and_its_authority(
    client: TestClient, api_county: ApiCounty, banks: dict[str, dict[str, str]], usccs: list[str]
) -> None:
    query = _query(client, banks["other"], usccs[5])
    loans = [_loan("TRACE-1", usccs[5]), _loan("TRACE-2", usccs[5], status="lost")]
    response = client.post(OUTCOMES, json={"loans": loans}, headers=banks["other"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["inserted"], body["quarantined"]) == (1, 1)
    assert body["quarantine"][0]["index"] == 1 and body["quarantine"][0]["column"] == "status"
    with api_county.engine.connect() as conn:
        report = conn.execute(
            select(outcome_reports).where(
                outcome_reports.c.bank == OTHER_BANK, outcome_reports.c.loan_id == "TRACE-1"
            )
        ).one()
        call = conn.execute(
            select(audit_log).where(audit_log.c.id == int(response.headers["X-Audit-Id"]))
        ).one()
        authority = conn.execute(
            select(audit_log).where(audit_log.c.id == report.authority_audit_id)
        ).one()
    assert report.request_id == call.request_id == response.headers["X-Request-Id"]
    assert (call.route, call.status, report.change) == (OUTCOMES, 200, "inserted")
    assert authority.id == int(query.headers["X-Audit-Id"])
    assert (authority.institution, authority.uscc, authority.status) == (OTHER_BANK, usccs[5], 200)
    again = client.post(OUTCOMES, json={"loans": loans[:1]}, headers=banks["other"]).json()
    assert (again["inserted"], again["unchanged"]) == (0, 1)


def test_an_admin_reports_for_any_bank_and_is_audited(
    client: TestClient, api_county: ApiCounty, usccs: list[str]
) -> None:
    before = api_county.audit_count()
    loan = _loan("ADMIN-1", usccs[6], bank="第三家银行")  # never queried: admins need no query
    response = client.post(
        OUTCOMES, json={"loans": [loan]}, headers=api_county.headers(KeyRole.admin)
    )
    assert response.status_code == 200 and response.json()["inserted"] == 1, response.text
    assert api_county.audit_count() == before + 1 and "X-Audit-Id" in response.headers
    with api_county.engine.connect() as conn:
        report = conn.execute(
            select(outcome_reports).where(outcome_reports.c.loan_id == "ADMIN-1")
        ).one()
    assert report.authority_audit_id is None and report.bank == "第三家银行"


def test_concurrent_pairs_of_banks_overwrite_nothing(
    client: TestClient, api_county: ApiCounty, banks: dict[str, dict[str, str]], usccs: list[str]
) -> None:
    """40 pairs, the two banks of a pair posting one loan id at once (same or another
    enterprise): every loan stays its bank's, with its bank's values."""
    targets = usccs[7:12]
    for uscc in targets:
        for who in ("mine", "other"):
            _query(client, banks[who], uscc)

    def post(job: tuple[str, int]) -> int:
        who, i = job
        uscc = targets[i % len(targets)] if who == "mine" else targets[(i * (i % 2)) % 5]
        status = "performing" if who == "mine" else "default"
        loan = _loan(f"RACE-{i}", uscc, status=status)
        return client.post(OUTCOMES, json={"loans": [loan]}, headers=banks[who]).status_code

    jobs = [(who, i) for i in range(40) for who in ("mine", "other")]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, jobs))
    assert statuses == [200] * len(jobs)
    stored = _loans(api_county)
    for i in range(40):
        assert stored[("清源农商银行", f"RACE-{i}")]["status"] == "performing"
        assert stored[(OTHER_BANK, f"RACE-{i}")]["status"] == "default"


def test_the_status_history_arrives_through_the_route_and_bad_dates_never_500(
    client: TestClient, api_county: ApiCounty, banks: dict[str, dict[str, str]], usccs: list[str]
) -> None:
    _query(client, banks["mine"], usccs[5])
    applied = (date.today() - timedelta(days=200)).isoformat()
    overdue = (date.today() - timedelta(days=60)).isoformat()
    loans = [
        _loan("HIST-1", usccs[5], applied=applied, status="overdue_90", status_date=overdue),
        _loan("HIST-2", usccs[5], applied=applied, overdue_90_date=overdue),  # cured
        _loan("HIST-3", usccs[5], applied=applied, overdue_90_date="2024-02-30"),
        _loan("HIST-4", usccs[5], applied=applied, default_date="1999-01-01"),
    ]
    answer = client.post(OUTCOMES, json={"loans": loans}, headers=banks["mine"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["inserted"], body["quarantined"]) == (2, 2)
    assert [q["index"] for q in body["quarantine"]] == [2, 3]
    assert body["quarantine"][0]["column"] == "overdue_90_date"
    assert "default_date must be on or after applied" in body["quarantine"][1]["reason"]
    stored = _loans(api_county)
    for loan_id in ("HIST-1", "HIST-2"):
        assert f"{stored[('清源农商银行', loan_id)]['overdue_90_date']:%Y-%m-%d}" == overdue
    cure = _loan("HIST-1", usccs[5], applied=applied, status="performing")
    assert (
        client.post(OUTCOMES, json={"loans": [cure]}, headers=banks["mine"]).json()["updated"] == 1
    )
    after = _loans(api_county)[("清源农商银行", "HIST-1")]
    assert after["status"] == "performing" and f"{after['overdue_90_date']:%Y-%m-%d}" == overdue
    for wrong in ({"y": 2024}, [2024, 1, 1]):
        typed = _loan("HIST-5", usccs[5], default_date=wrong)
        refused = client.post(OUTCOMES, json={"loans": [typed]}, headers=banks["mine"])
        assert refused.status_code == 422, (wrong, refused.text)
        assert "default_date" in refused.text


# --------------------------------------------------------------- the service, both backends

USCC_A = "91110000600037341L"
USCC_B = "914403001922038216"


def _authorize(engine: Engine, key: ApiKey, uscc: str, expires: date = date(2099, 12, 31)) -> int:
    context = AuditContext(
        key=key,
        uscc=uscc,
        authorization_id="SQ-2026-1",
        purpose="pre_credit",
        authorization_expires=expires,
    )
    (audit_id,) = insert_audit_rows(
        engine,
        [
            audit_row(
                context,
                request_id=f"a{key.id}-{uscc}-{expires:%y%m%d}",
                method="POST",
                route="/v1/precredit/assessments",
                query="",
                status=200,
                body=b"{}",
            )
        ],
    )
    return audit_id


def _service_loan(loan_id: str, uscc: str, status: str) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "uscc": uscc,
        "applied": "2026-03-01",
        "approved_amount": 30,
        "drawn_amount": 30,
        "term_months": 12,
        "status": status,
        "status_date": "2026-06-30",
    }


def test_service_race_on_both_backends(engine: Engine) -> None:
    one = create_key(engine, KeyRole.bank, "甲银行").key
    two = create_key(engine, KeyRole.bank, "乙银行").key
    for key in (one, two):
        for uscc in (USCC_A, USCC_B):
            _authorize(engine, key, uscc)

    def post(job: tuple[ApiKey, int]) -> int:
        key, i = job
        mine = key is one
        uscc = USCC_A if mine or i % 2 else USCC_B  # odd pairs: one enterprise; even: two
        loan = _service_loan(f"R-{i}", uscc, "performing" if mine else "default")
        return report_outcomes(engine, [loan], key=key, request_id=f"r-{key.id}-{i}").inserted

    jobs = [(key, i) for i in range(40) for key in (one, two)]
    with ThreadPoolExecutor(8) as pool:
        inserted = list(pool.map(post, jobs))
    assert inserted == [1] * len(jobs)
    stored = read_table(engine, "loans")
    assert len(stored) == 80
    by_key = {(r["bank"], r["loan_id"]): r for r in stored.to_dict("records")}
    for i in range(40):
        assert by_key[("甲银行", f"R-{i}")]["status"] == "performing"
        assert by_key[("乙银行", f"R-{i}")]["status"] == "default"
        assert by_key[("乙银行", f"R-{i}")]["uscc"] == (USCC_A if i % 2 else USCC_B)


def test_service_same_new_loan_posted_concurrently_is_inserted_once(engine: Engine) -> None:
    key = create_key(engine, KeyRole.bank, "甲银行").key
    _authorize(engine, key, USCC_A)
    loan = _service_loan("DUP-1", USCC_A, "performing")

    def post(i: int) -> tuple[int, int]:
        report = report_outcomes(engine, [loan], key=key, request_id=f"dup-{i}")
        return report.inserted, report.unchanged

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(16)))
    assert sorted(results) == [(0, 1)] * 15 + [(1, 0)]
    with engine.connect() as conn:
        count = select(func.count()).select_from(outcome_reports)
        assert conn.execute(count).scalar_one() == 16  # every report recorded
        loans = contract_table("loans")
        assert conn.execute(select(func.count()).select_from(loans)).scalar_one() == 1


def test_service_refusals(engine: Engine) -> None:
    key = create_key(engine, KeyRole.bank, "甲银行").key
    _authorize(engine, key, USCC_A, expires=date(2026, 2, 1))  # expired before the loan
    loan = _service_loan("X-1", USCC_A, "default")
    with pytest.raises(AuthorizationReferenceError, match=r"loans\[0\]\.uscc must be"):
        report_outcomes(engine, [loan], key=key, request_id="x-1")
    with pytest.raises(PermissionDeniedError, match=r"loans\[0\]\.bank must be your institution"):
        report_outcomes(engine, [{**loan, "bank": "乙银行"}], key=key, request_id="x-2")
    _authorize(engine, key, USCC_A)
    assert report_outcomes(engine, [loan], key=key, request_id="x-3").inserted == 1
    assert read_table(engine, "loans")["bank"].tolist() == ["甲银行"]


def test_service_keeps_the_first_bad_dates_on_both_backends(engine: Engine) -> None:
    """Overdue, cured, then defaulted, reported in that order and once more out of order: the
    stored history keeps the first date of each state."""
    key = create_key(engine, KeyRole.bank, "甲银行").key
    _authorize(engine, key, USCC_A)
    base = _service_loan("H-1", USCC_A, "overdue_90")

    def report(request_id: str, **values: Any) -> tuple[int, int, int]:
        done = report_outcomes(engine, [{**base, **values}], key=key, request_id=request_id)
        return done.inserted, done.updated, done.unchanged

    def history() -> tuple[str | None, str | None]:
        row = read_table(engine, "loans").iloc[0]
        first = (row["overdue_90_date"], row["default_date"])
        return tuple(None if pd.isna(d) else f"{d:%Y-%m-%d}" for d in first)  # type: ignore[return-value]

    assert report("h1", status_date="2026-05-01") == (1, 0, 0)
    assert history() == ("2026-05-01", None)
    assert report("h2", status="performing", status_date="2026-06-01") == (0, 1, 0)
    assert history() == ("2026-05-01", None)
    assert report("h3", status="default", status_date="2026-06-30") == (0, 1, 0)
    assert history() == ("2026-05-01", "2026-06-30")
    late = {"overdue_90_date": "2026-06-15", "default_date": "2026-06-30"}
    assert report("h4", status="default", **late) == (0, 0, 1)  # a later date never wins
    assert history() == ("2026-05-01", "2026-06-30")
    assert report("h5", status="default", overdue_90_date="2026-04-20") == (0, 1, 0)
    assert history() == ("2026-04-20", "2026-06-30")
