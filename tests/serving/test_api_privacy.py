"""The read side never shows a raw resident ID number, whatever the store holds.

A store ingested before ingest refused them can hold ID numbers as a person's id, as a
person's name, inside an enterprise's name and inside records' texts (决定书文号, 处罚机关,
相对人名称); the warnings run on it then carry them in their evidence, and a lifecycle note can
hold one. The county here is such a store: the synthetic county with ID numbers planted by
SQL (bypassing ingest). Every route as every caller, the pages, the 通报 exports and the CLI
outputs are scanned by :mod:`tests.serving.privacy` and must show none; person ids that are
ID numbers are served as stable pseudonyms instead (banks keep their per-response aliases).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from risk.config import RiskConfig
from risk.contract import REGULATORS
from risk.identifiers import contains_id_number
from risk.snapshot import score_snapshot
from risk.store import contract_table, read_table
from risk.warnings import list_warnings, run_warnings, transition
from serving.app import create_app
from serving.cli import app as cli_app
from serving.cli.common import out
from serving.pipeline import run_pipeline
from serving.redaction import person_pseudonym
from serving.roles import KeyRole
from tests.serving.conftest import AUTHORIZATION_EXPIRES, ApiCounty, build_county
from tests.serving.privacy import ResponseLog, scan_store, scan_texts

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    """A valid 18-digit resident ID number (GB 11643 mod 11-2 check character)."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


# Distinct valid numbers, one per place they are planted.
PERSON_ID = resident_id("34112119800101123")  # a person's id
NAME_ID = resident_id("34112119810202234")  # a person's whole name
NAME_WITH_ID = "王" + resident_id("34112119820303345")  # a name containing one
ENTERPRISE_ID = resident_id("34112119830404456")  # inside an enterprise's name
RECORD_ID = resident_id("34112119840505567")  # inside 决定书文号
AUTHORITY_ID = resident_id("34112119850606678")  # inside 处罚机关
SUBJECT_ID = resident_id("34112119860707789")  # a record's subject_name
NOTE_ID = resident_id("34112119870808890")  # a lifecycle note and actor
PSEUDONYM = re.compile(r"^person-[0-9a-f]{16}$")
CALLERS: tuple[KeyRole | None, ...] = (
    KeyRole.bank,
    KeyRole.credit_office,
    KeyRole.analyst,
    KeyRole.admin,
    None,
)


@dataclass
class LeakyCounty:
    """The county with ID numbers planted, and where."""

    county: ApiCounty
    linked: str  # its legal rep and controller has an ID number for an id
    warned: str  # named with an ID number inside
    targets: tuple[str, ...]  # enterprises whose records carry ID numbers
    warning_ids: tuple[int, ...]


def _plant(county: ApiCounty) -> LeakyCounty:
    engine, linked, warned = county.engine, county.linked_uscc, county.warned_uscc
    persons, roles, records, enterprises = (
        contract_table(t) for t in ("persons", "roles", "records", "enterprises")
    )
    run = score_snapshot(engine, county.as_of)
    ball, _ = run.snapshot.neighborhood([run.snapshot.index_of(linked)], 2)
    near = {str(n) for n in run.snapshot.node_ids[ball]} | {warned}
    held = read_table(engine, "roles")
    linked_roles = held[held["uscc"] == linked]
    controller = str(linked_roles.loc[linked_roles["role"] == "legal_rep", "holder_id"].iloc[0])
    others = [h for h in linked_roles["holder_id"].astype(str).unique() if h != controller]
    warned_rep = str(
        held.loc[(held["uscc"] == warned) & (held["role"] == "legal_rep"), "holder_id"].iloc[0]
    )
    with engine.begin() as conn:
        # A person whose id is a raw ID number (roles and records follow it).
        conn.execute(
            update(persons).where(persons.c.person_id == controller).values(person_id=PERSON_ID)
        )
        conn.execute(
            update(roles).where(roles.c.holder_id == controller).values(holder_id=PERSON_ID)
        )
        conn.execute(
            update(records).where(records.c.subject_id == controller).values(subject_id=PERSON_ID)
        )
        # Names: a whole ID number, and one inside a name.
        for person, name in (
            (others[0] if others else warned_rep, NAME_ID),
            (warned_rep, NAME_WITH_ID),
        ):
            conn.execute(update(persons).where(persons.c.person_id == person).values(name=name))
        conn.execute(
            update(enterprises)
            .where(enterprises.c.uscc.in_([warned, linked]))
            .values(name=enterprises.c.name + "（负责人 " + ENTERPRISE_ID + "）")
        )
        # Records' texts near the linked enterprise (its sources) and of the warned one.
        chosen = list(
            conn.execute(
                select(records.c.record_id).where(
                    records.c.subject_id.in_(sorted(near | {PERSON_ID}))
                )
            ).scalars()
        )
        for record_id in chosen:
            conn.execute(
                update(records)
                .where(records.c.record_id == record_id)
                .values(
                    record_id=f"{record_id}（{RECORD_ID}）",
                    authority=f"清源县某局 经办人{AUTHORITY_ID}",
                    subject_name=SUBJECT_ID,
                )
            )
    run_warnings(engine, county.as_of)  # the evidence now cites the planted texts
    run_pipeline(engine, county.as_of, RiskConfig(), mlflow_uri=None)  # and the score set
    warnings = list_warnings(engine, limit=1000).items
    first = warnings[0].id
    transition(engine, first, "dispatched", f"信用办 {NOTE_ID}", f"已通报，联系人身份证 {NOTE_ID}")
    targets = tuple(
        sorted({warned, linked} | {n for n in near if not n.startswith("P") and len(n) == 18})
    )
    assert PERSON_ID not in targets
    return LeakyCounty(
        county=county,
        linked=linked,
        warned=warned,
        targets=targets[:12],
        warning_ids=tuple(w.id for w in warnings),
    )


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeakyCounty]:
    county = build_county(tmp_path_factory.mktemp("leaky"), n_enterprises=600)
    yield _plant(county)
    county.engine.dispose()


@pytest.fixture(scope="module")
def client(leaky: LeakyCounty) -> Iterator[TestClient]:
    with TestClient(create_app(leaky.county.settings)) as test_client:
        yield test_client


def test_the_store_really_holds_the_planted_numbers(leaky: LeakyCounty) -> None:
    found = {leak.where.split(" ")[0] for leak in scan_store(leaky.county.engine)}
    assert {
        "persons.person_id",
        "persons.name",
        "enterprises.name",
        "roles.holder_id",
        "records.record_id",
        "records.authority",
        "records.subject_name",
        "warnings.evidence",
        "warning_events.actor",
        "warning_events.note",
    } <= found
    # The scanner's report never repeats a number it found.
    assert not any(contains_id_number(str(leak)) for leak in scan_store(leaky.county.engine))


def _headers(county: ApiCounty, who: KeyRole | None) -> dict[str, str]:
    return {} if who is None else county.headers(who)


def _call_every_route(client: TestClient, leaky: LeakyCounty, who: KeyRole | None) -> None:
    headers = _headers(leaky.county, who)
    for path in ("/healthz", "/readyz", "/metrics", "/v1/models"):
        client.get(path, headers=headers)
    client.get("/v1/warnings", params={"limit": 1000}, headers=headers)
    for warning_id in leaky.warning_ids:
        client.get(f"/v1/warnings/{warning_id}", headers=headers)
    for regulator in sorted(set(REGULATORS.values())):
        client.get("/v1/warnings/export", params={"regulator": regulator}, headers=headers)
    client.get(
        "/v1/warnings/export",
        params={"regulator": "税务局", "status": ["new", "dispatched", "acknowledged", "closed"]},
        headers=headers,
    )
    for uscc in leaky.targets:
        client.get(f"/v1/entities/{uscc}/risk", params={"top": 20}, headers=headers)
        for depth in (1, 2, 3):
            client.get(f"/v1/entities/{uscc}/network", params={"depth": depth}, headers=headers)
    auth = {
        "id": "SQ-2026-000777",
        "purpose": "pre_credit",
        "expires_at": AUTHORIZATION_EXPIRES.isoformat(),
    }
    auth["granted_at"] = "2026-01-01"
    one = {"uscc": leaky.linked, "authorization": auth}
    client.post("/v1/precredit/assessments", json=one, headers=headers)
    client.post("/v1/precredit/assessments:batch", json={"items": [one, one]}, headers=headers)
    client.post("/v1/outcomes", json={"loans": []}, headers=headers)
    client.post("/v1/admin/models/reload", headers=headers)
    # A lifecycle move answers the warning with its history (the planted note included).
    client.patch(
        f"/v1/warnings/{leaky.warning_ids[0]}",
        json={"status": "acknowledged", "note": "已签收"},
        headers=headers,
    )


@pytest.mark.parametrize("who", CALLERS, ids=lambda w: w.value if w else "no_key")
def test_no_route_shows_an_id_number(
    client: TestClient, leaky: LeakyCounty, who: KeyRole | None
) -> None:
    log = ResponseLog().attach(client)
    _call_every_route(client, leaky, who)
    answered = {r.status_code for r in log.responses}
    assert len(log.responses) > 40
    if who in (KeyRole.credit_office, KeyRole.admin):
        assert 200 in answered
    assert [str(leak) for leak in log.leaks()] == []


def _network(client: TestClient, leaky: LeakyCounty, who: KeyRole) -> dict[str, Any]:
    response = client.get(f"/v1/entities/{leaky.linked}/network", headers=leaky.county.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_person_id_that_is_an_id_number_is_served_as_a_stable_pseudonym(
    client: TestClient, leaky: LeakyCounty
) -> None:
    seen = {}
    for who in (KeyRole.credit_office, KeyRole.analyst, KeyRole.admin):
        network = _network(client, leaky, who)
        persons = {n["id"] for n in network["nodes"] if n["node_type"] == "person"}
        pseudonyms = {p for p in persons if PSEUDONYM.match(p)}
        assert len(pseudonyms) == 1, persons  # the controller; the other ids are as stored
        assert all(p.startswith("P") for p in persons - pseudonyms)
        (seen[who],) = pseudonyms
        # Edges refer to the same node ids.
        ends = {e["source"] for e in network["edges"]} | {e["target"] for e in network["edges"]}
        assert seen[who] in ends and ends <= {n["id"] for n in network["nodes"]}
    # The same for every role and call: keyed by the store's ID salt.
    assert set(seen.values()) == {person_pseudonym(PERSON_ID, leaky.county.settings.salt())}
    risk = client.get(
        f"/v1/entities/{leaky.linked}/risk",
        params={"top": 20},
        headers=leaky.county.headers(KeyRole.analyst),
    ).json()
    hop_ids = {
        hop[end]
        for source in risk["top_sources"]
        for path in source["paths"]
        for hop in path["hops"]
        for end in ("from_id", "to_id")
    }
    assert seen[KeyRole.analyst] in hop_ids
    # Banks keep their per-response aliases.
    bank = _network(client, leaky, KeyRole.bank)
    assert {n["id"] for n in bank["nodes"] if n["node_type"] == "person"} <= {
        f"person-{i}" for i in range(1, 400)
    }


def test_the_credit_office_sees_names_and_record_texts_masked_not_dropped(
    client: TestClient, leaky: LeakyCounty
) -> None:
    office = leaky.county.headers(KeyRole.credit_office)
    risk = client.get(f"/v1/entities/{leaky.linked}/risk", headers=office).json()
    assert risk["name"].endswith(f"（负责人 {ENTERPRISE_ID[:6]}********{ENTERPRISE_ID[-4:]}）")
    network = _network(client, leaky, KeyRole.credit_office)
    names = {n["name"] for n in network["nodes"]}
    assert f"{NAME_ID[:6]}********{NAME_ID[-4:]}" in names
    records = [r["record_id"] for r in risk["active_records"]]
    masked_record = f"（{RECORD_ID[:6]}********{RECORD_ID[-4:]}）"
    assert records and all(r.endswith(masked_record) for r in records)


def _page_session(client: TestClient, token: str) -> None:
    response = client.post("/ui/login", data={"api_key": token}, follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.mark.parametrize("who", [KeyRole.credit_office, KeyRole.admin])
def test_no_page_shows_an_id_number(leaky: LeakyCounty, client: TestClient, who: KeyRole) -> None:
    browser = TestClient(client.app, follow_redirects=False)
    log = ResponseLog().attach(browser)
    _page_session(browser, leaky.county.tokens[who])
    assert browser.get("/ui/warnings").status_code == 200
    for warning_id in leaky.warning_ids:
        assert browser.get(f"/ui/warnings/{warning_id}").status_code == 200
    for uscc in leaky.targets:
        assert browser.get(f"/ui/entities/{uscc}").status_code == 200
    assert [str(leak) for leak in log.leaks()] == []


runner = CliRunner()


def _cli(leaky: LeakyCounty, *args: str) -> str:
    settings = leaky.county.settings
    result = runner.invoke(
        cli_app,
        [*args, "--work-dir", str(settings.work_dir), "--database-url", settings.store_url],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_no_cli_output_or_export_shows_an_id_number(
    leaky: LeakyCounty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wide enough that rich never wraps a cell (a wrapped number would hide from the scan).
    monkeypatch.setattr(out, "width", 2000)
    as_of = leaky.county.as_of.isoformat()
    outputs: dict[str, str] = {}
    for args in (
        ("warn", "list", "--limit", "1000"),
        ("warn", "list", "--limit", "1000", "--json"),
        ("warn", "watchlist"),
        ("warn", "watchlist", "--json"),
        ("graph", "build", "--as-of", as_of, "--top", "20"),
        ("graph", "explain", leaky.linked, "--as-of", as_of, "--top", "20"),
        ("graph", "explain", leaky.linked, "--as-of", as_of, "--top", "20", "--json"),
        ("graph", "explain", leaky.warned, "--as-of", as_of, "--json"),
        ("graph", "controller", leaky.linked, "--as-of", as_of),
        ("graph", "controller", leaky.linked, "--as-of", as_of, "--json"),
    ):
        outputs[" ".join(args)] = _cli(leaky, *args)
    for warning_id in leaky.warning_ids:
        outputs[f"warn show {warning_id}"] = _cli(leaky, "warn", "show", str(warning_id))
        outputs[f"warn show {warning_id} --json"] = _cli(
            leaky, "warn", "show", str(warning_id), "--json"
        )
    for regulator in sorted(set(REGULATORS.values())):
        for suffix in (".csv", ".xlsx"):
            path = tmp_path / f"{regulator}{suffix}"
            outputs[f"warn export {path.name}"] = _cli(
                leaky, "warn", "export", "--regulator", regulator, "--out", str(path)
            )
            if suffix == ".csv":
                outputs[path.name] = path.read_bytes().decode("utf-8-sig")
            else:
                sheet = openpyxl.load_workbook(path).active
                assert sheet is not None
                outputs[path.name] = "\n".join(
                    str(c.value) for row in sheet.iter_rows() for c in row
                )
    for flag in ("--mask-persons", "--no-mask-persons"):
        path = tmp_path / f"bods{flag}.jsonl"
        outputs[f"graph export-bods {flag}"] = _cli(
            leaky, "graph", "export-bods", str(path), "--as-of", as_of, flag
        )
        outputs[path.name] = path.read_text(encoding="utf-8")
    assert [str(leak) for leak in scan_texts(outputs)] == []
    # The pseudonym of the CLI's JSON is the one the API serves.
    explained = json.loads(
        _cli(leaky, "graph", "explain", leaky.linked, "--as-of", as_of, "--top", "20", "--json")
    )
    ids = {
        hop[end]
        for s in explained["sources"]
        for w in s["walks"]
        for hop in w["hops"]
        for end in ("from_id", "to_id")
    }
    assert person_pseudonym(PERSON_ID, leaky.county.settings.salt()) in ids
    controller = json.loads(_cli(leaky, "graph", "controller", leaky.linked, "--json"))
    assert controller["controller_id"] == person_pseudonym(PERSON_ID, leaky.county.settings.salt())


@pytest.mark.parametrize("who", CALLERS, ids=lambda w: w.value if w else "no_key")
def test_an_id_number_sent_as_a_uscc_is_refused_without_repeating_it(
    client: TestClient, leaky: LeakyCounty, who: KeyRole | None
) -> None:
    """The 422 names the field and the check, the echo of the value is masked."""
    log = ResponseLog().attach(client)
    headers = _headers(leaky.county, who)
    sent = resident_id("11010519900307123")
    client.get(f"/v1/entities/{sent}/risk", headers=headers)
    client.get(f"/v1/entities/{sent}/network", params={"depth": sent}, headers=headers)
    client.get(f"/v1/no-such-route/{sent}", headers=headers)
    auth = {"id": sent, "purpose": "pre_credit", "granted_at": "2026-01-01"}
    auth["expires_at"] = "2026-12-31"
    one = {"uscc": sent, "authorization": auth}
    client.post("/v1/precredit/assessments", json=one, headers=headers)
    client.post("/v1/precredit/assessments:batch", json={"items": [one]}, headers=headers)
    if who is not None:
        assert {r.status_code for r in log.responses} & {403, 404, 422}
    assert [str(leak) for leak in log.leaks()] == []


def test_log_lines_never_carry_an_id_number(caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn's access log prints the path a caller sent; the filter masks it."""
    import logging

    from serving.redaction import install_log_filters

    install_log_filters()
    sent = resident_id("11010519900307123")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1", "GET", f"/v1/entities/{sent}/risk", "1.1", 422
        )
    assert caplog.records
    assert not any(contains_id_number(r.getMessage()) for r in caplog.records)
    assert "110105********" in caplog.records[-1].getMessage()
