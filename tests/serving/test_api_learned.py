"""The learned warning at work: its probability (再犯概率) served to the credit office and
analysts on warnings and entities, the warnings list sorted by it in the store, banks never
shown it.

On a copy of the 3,000-enterprise county with the learned warning as champion and the
pipeline run with it (``learned_county``): the current score set holds every existing
enterprise's probability, read back here with :func:`risk.scoresets.read_kind` to check what
the routes answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from models.drift import recorded_drift
from models.registry import WARNING_MODEL_NAME
from risk.scoresets import ScoreSet, current, get_set, read_kind
from risk.warnings import list_warnings
from serving.app import create_app
from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty

READERS = (KeyRole.credit_office, KeyRole.analyst)


@pytest.fixture(scope="module")
def api_county(learned_county: ApiCounty) -> ApiCounty:
    return learned_county


@pytest.fixture(scope="module")
def learned(api_county: ApiCounty) -> pd.Series:
    """Every scored enterprise's probability in the current set, by USCC."""
    return read_kind(api_county.engine, "learned")["probability"]


@pytest.fixture(scope="module")
def client(api_county: ApiCounty) -> Iterator[TestClient]:
    with TestClient(create_app(api_county.settings)) as test_client:
        yield test_client


def read_set(engine: Any) -> ScoreSet:
    """The current score set's description."""
    pointer = current(engine)
    assert pointer is not None
    return get_set(engine, pointer.set_id)


def _expected_order(api_county: ApiCounty, learned: pd.Series) -> list[int]:
    """Warning ids by learned probability (highest first), unscored last, then red first and
    newest first — worked out in Python from the store and the set."""
    everything = list_warnings(api_county.engine, limit=1000).items  # red first, newest first
    position = {w.id: i for i, w in enumerate(everything)}
    return [
        w.id
        for w in sorted(
            everything,
            key=lambda w: (
                w.uscc not in learned.index,
                -learned.get(w.uscc, 0.0),
                position[w.id],
            ),
        )
    ]


def test_the_list_sorted_by_learned_probability_for_each_reader_again_and_again(
    client: TestClient, api_county: ApiCounty, learned: pd.Series
) -> None:
    expected = _expected_order(api_county, learned)
    assert len(expected) >= 20
    for role in READERS:
        for _ in range(10):
            response = client.get(
                "/v1/warnings",
                params={"sort": "learned", "limit": 1000},
                headers=api_county.headers(role),
            )
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            assert [w["id"] for w in items] == expected
            for w in items:
                assert w["learned_probability"] == pytest.approx(learned[w["uscc"]])
            shown = [w["learned_probability"] for w in items]
            assert shown == sorted(shown, reverse=True)


def test_pages_of_the_learned_order_add_up_to_the_whole_list(
    client: TestClient, api_county: ApiCounty, learned: pd.Series
) -> None:
    expected = _expected_order(api_county, learned)
    office = api_county.headers(KeyRole.credit_office)
    paged: list[int] = []
    for offset in range(0, len(expected), 7):
        response = client.get(
            "/v1/warnings",
            params={"sort": "learned", "limit": 7, "offset": offset},
            headers=office,
        )
        assert response.status_code == 200 and response.json()["total"] == len(expected)
        paged += [w["id"] for w in response.json()["items"]]
    assert paged == expected
    # Filters apply before the sort: the red warnings alone, in the same relative order.
    red = client.get(
        "/v1/warnings", params={"sort": "learned", "level": "red"}, headers=office
    ).json()["items"]
    red_ids = {w["id"] for w in red}
    assert [w["id"] for w in red] == [i for i in expected if i in red_ids]


def test_the_default_order_is_unchanged_and_carries_the_probability(
    client: TestClient, api_county: ApiCounty, learned: pd.Series
) -> None:
    response = client.get(
        "/v1/warnings", params={"limit": 1000}, headers=api_county.headers(KeyRole.analyst)
    )
    items = response.json()["items"]
    assert [w["id"] for w in items] == [
        w.id for w in list_warnings(api_county.engine, limit=1000).items
    ]
    assert all(w["learned_probability"] == pytest.approx(learned[w["uscc"]]) for w in items)
    one = items[0]
    detail = client.get(f"/v1/warnings/{one['id']}", headers=api_county.headers(KeyRole.analyst))
    assert detail.json()["learned_probability"] == pytest.approx(learned[one["uscc"]])


def test_entities_show_the_probability_to_readers_and_never_to_banks(
    client: TestClient, api_county: ApiCounty, learned: pd.Series
) -> None:
    warned = api_county.warned_uscc
    top = str(learned.idxmax())

    def ask(role: KeyRole, uscc: str) -> dict[str, Any]:
        response = client.get(f"/v1/entities/{uscc}/risk", headers=api_county.headers(role))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    calls = [(role, uscc) for role in (*READERS, KeyRole.bank) for uscc in (warned, top)] * 5
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda call: (call, ask(*call)), calls))
    for (role, uscc), body in answers:
        if role == KeyRole.bank:
            assert body["learned_probability"] is None and body["warnings"] is None
        else:
            assert body["learned_probability"] == pytest.approx(learned[uscc])
            assert all(
                w["learned_probability"] == pytest.approx(learned[uscc]) for w in body["warnings"]
            )
    assert math.isclose(ask(KeyRole.credit_office, top)["learned_probability"], learned.max())
    bank = client.get(
        "/v1/warnings", params={"sort": "learned"}, headers=api_county.headers(KeyRole.bank)
    )
    assert bank.status_code == 403 and "learned_probability" not in bank.text


def test_a_bad_sort_is_422_naming_the_field(client: TestClient, api_county: ApiCounty) -> None:
    for value in ("probability", "", "LEARNED", "learned;drop table warnings"):
        response = client.get(
            "/v1/warnings",
            params={"sort": value},
            headers=api_county.headers(KeyRole.credit_office),
        )
        assert response.status_code == 422, (value, response.text)
        assert "sort" in response.text


def test_the_warnings_page_shows_and_sorts_by_the_probability(
    client: TestClient, api_county: ApiCounty, learned: pd.Series
) -> None:
    browser = TestClient(client.app, follow_redirects=False)
    login = browser.post("/ui/login", data={"api_key": api_county.tokens[KeyRole.credit_office]})
    assert login.status_code == 303
    page = browser.get("/ui/warnings", params={"sort": "learned"})
    assert page.status_code == 200 and "再犯概率" in page.text
    shown = [int(i) for i in re.findall(r'data-warning-id="(\d+)"', page.text)]
    assert shown == _expected_order(api_county, learned)[: len(shown)]
    cells = re.findall(r'<td class="learned">([^<]*)</td>', page.text)
    assert len(cells) == len(shown) and all(c.endswith("%") for c in cells)
    entity = browser.get(f"/ui/entities/{api_county.warned_uscc}")
    assert entity.status_code == 200 and 'id="learned-probability"' in entity.text
    assert browser.get("/ui/warnings", params={"sort": "random"}).status_code == 422


def test_the_models_page_shows_the_drift_table_of_the_current_set(
    client: TestClient, api_county: ApiCounty
) -> None:
    served = read_set(api_county.engine)
    report = recorded_drift(served.config)[WARNING_MODEL_NAME]
    browser = TestClient(client.app, follow_redirects=False)
    browser.post("/ui/login", data={"api_key": api_county.tokens[KeyRole.credit_office]})
    page = browser.get("/ui/models")
    assert page.status_code == 200 and "漂移监测" in page.text
    table = page.text[page.text.index(f'<table class="drift" data-model="{WARNING_MODEL_NAME}"') :]
    rows = re.findall(r'<tr data-feature="([^"]+)" data-status="(\w+)">', table)
    assert rows == [(f["feature"], f["status"]) for f in report["features"]]
    assert rows[-1][0] == "score" and len(rows) > 10
