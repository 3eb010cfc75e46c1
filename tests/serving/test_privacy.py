"""The ID-number scanner of tests/serving/privacy.py finds what it must, and never repeats it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine, insert

from risk.identifiers import contains_id_number
from risk.store import contract_table, warnings_table
from tests.serving.privacy import (
    ResponseLog,
    scan_log_records,
    scan_response,
    scan_store,
    scan_texts,
)

NUMBER = "11010519491231002X"
MASKED = "110105********002X"


def _app(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/header":
        return httpx.Response(200, headers={"X-Who": f"p-{NUMBER}"}, text="ok")
    if request.url.path == "/escaped":
        # JSON with the number spelled in \\u escapes: only the parsed text shows it.
        escaped = "".join(f"\\u{ord(c):04x}" for c in NUMBER)
        return httpx.Response(
            200, headers={"content-type": "application/json"}, content=f'{{"n": "{escaped}"}}'
        )
    if request.url.path == "/body":
        return httpx.Response(200, text=f"身份证 {NUMBER} 号")
    return httpx.Response(200, json={"id": "P000001", "masked": MASKED})


def test_response_log_finds_numbers_in_headers_bodies_and_escaped_json() -> None:
    client = httpx.Client(transport=httpx.MockTransport(_app), base_url="http://t")
    log = ResponseLog().attach(client)
    for path in ("/clean", "/header", "/escaped", "/body"):
        client.get(path)
    assert len(log.responses) == 4
    leaks = log.leaks()
    places = sorted(leak.where for leak in leaks)
    assert places == [
        "GET http://t/body → 200 body",
        "GET http://t/escaped → 200 body (parsed JSON)",
        "GET http://t/header → 200 header x-who",
    ]
    assert all(MASKED in leak.excerpt and not contains_id_number(str(leak)) for leak in leaks)
    assert scan_response(client.get("/clean")) == []


def test_scan_store_reads_every_column_of_every_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(contract_table("persons")),
            [
                {"person_id": NUMBER, "name": "张三", "id_hash": "0" * 64, "id_masked": MASKED},
                {
                    "person_id": "P2",
                    "name": f"李四{NUMBER}",
                    "id_hash": "1" * 64,
                    "id_masked": MASKED,
                },
            ],
        )
        now = datetime(2026, 6, 30, tzinfo=UTC)
        conn.execute(
            insert(warnings_table).values(
                uscc="91110000600037341L",
                rule="suspected_shell",
                level="red",
                domains="court",
                regulators="法院",
                evidence={"paths": [{"sentence": f"法定代表人 {NUMBER}"}]},  # a JSON column
                fingerprint="0" * 64,
                status="new",
                as_of=now.date(),
                created_at=now,
                updated_at=now,
            )
        )
    leaks = scan_store(engine)
    assert sorted(leak.where for leak in leaks) == [
        "persons.name [P2]",
        f"persons.person_id [{MASKED}]",  # the row's key is masked in the report too
        "warnings.evidence [1]",
    ]
    assert not any(contains_id_number(str(leak)) for leak in leaks)
    skip = ["persons.person_id", "persons.name", "warnings"]
    assert scan_store(engine, skip=skip) == []


def test_scan_texts_and_log_records(caplog: pytest.LogCaptureFixture) -> None:
    assert [leak.where for leak in scan_texts({"a": "ok", "b": f"x{NUMBER}"})] == ["b"]
    assert scan_texts([("json", json.dumps({"n": MASKED}))]) == []
    logger = logging.getLogger("credlink.test")
    with caplog.at_level(logging.INFO, logger="credlink.test"):
        logger.info("clean %s", MASKED)
        logger.warning("row of %s refused", NUMBER)
        try:
            raise ValueError(f"bad value {NUMBER}")
        except ValueError:
            logger.exception("failed")
    leaks = scan_log_records(caplog.records)
    assert [leak.where for leak in leaks] == [
        "log credlink.test WARNING",
        "log credlink.test ERROR",
    ]
