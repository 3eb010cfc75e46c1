"""BODS statements as published by others, into the store (SQLite and PostgreSQL): personal
identifiers never stored raw, a direct and an indirect interest of one day both kept, party
cells that do not fit their columns reported, parties committed only with their roles, and
persons without credlink's id never merged with anyone else's.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

import risk.bods.store
import risk.ingest.pipeline
from risk.bods import export_bods, import_bods, read_external_parties, store_bods
from risk.controllers import actual_controllers
from risk.identifiers import contains_id_number, make_uscc
from risk.ingest import ingest_file
from risk.store import read_table
from tests.risk.ingest_helpers import SALT, database_text, resident_id

A = make_uscc("9", "1", "340321", "MA0000001")
PERSON_RECORD_ID = resident_id("11010119900307123")  # a publisher's recordId that is an ID
CN_IDCARD = resident_id("34112219700101123")
NAMED_SCHEME = resident_id("34112219600101123")


def _statement(record_id: str, record_type: str, details: dict[str, Any], **extra: Any) -> dict:
    return {
        "statementId": str(uuid.uuid4()),
        "declarationSubject": record_id,
        "recordId": record_id,
        "recordType": record_type,
        "statementDate": "2024-01-01",
        "recordDetails": {"isComponent": False, **details},
        **extra,
    }


def entity(record_id: str, identifiers: list[dict[str, str]], **details: Any) -> dict:
    kind = {"entityType": {"type": "registeredEntity"}, "name": f"{record_id} Ltd"}
    return _statement(record_id, "entity", {**kind, "identifiers": identifiers, **details})


def person(
    record_id: str, name: str = "张三", publisher: str | None = None, **details: Any
) -> dict:
    extra = {"publicationDetails": {"publisher": {"name": publisher}}} if publisher else {}
    body = {"personType": "knownPerson", "names": [{"fullName": name}], **details}
    return _statement(record_id, "person", body, **extra)


def holds(subject: str, party: str, *interests: dict[str, Any]) -> dict:
    details = {"subject": subject, "interestedParty": party, "interests": list(interests)}
    return _statement(f"rel-{subject}-{party}", "relationship", details)


def shares(percent: float, directness: str = "direct") -> dict[str, Any]:
    return {
        "type": "shareholding",
        "directOrIndirect": directness,
        "share": {"exact": percent},
        "startDate": "2020-01-01",
    }


CHINESE = entity("a", [{"scheme": "CN-USCI", "id": A}], foundingDate="2010-01-01")


def test_personal_identifiers_never_reach_external_parties_or_the_export(engine: Engine) -> None:
    statements = [
        CHINESE,
        person(PERSON_RECORD_ID),  # no credlink id: its recordId must not become party_id
        entity("sole", [{"scheme": "CN-IDCARD", "id": CN_IDCARD}]),  # org-id-style scheme
        entity("named", [{"schemeName": "居民身份证", "id": NAMED_SCHEME}]),  # free schemeName
        holds("a", PERSON_RECORD_ID, shares(30)),
        holds("a", "sole", shares(20)),
        holds("a", "named", shares(20)),
    ]
    imported = import_bods(statements, id_salt=SALT)
    summaries = store_bods(engine, imported, source="BODS ids.json", id_salt=SALT)

    stored = database_text(engine)
    for number in (PERSON_RECORD_ID, CN_IDCARD, NAMED_SCHEME):
        assert number not in stored
    external = read_external_parties(engine)
    assert external["party_type"].tolist() == ["person"]  # the two entities were refused
    assert external["party_id"].iloc[0].startswith("BODS-REC-")
    # Refused with a reason that names no number; their relationships say why they are skipped.
    report = imported.report
    assert not contains_id_number(report.to_string())
    refused = report.loc[report["record_id"].isin(["sole", "named"])]
    assert set(refused["outcome"]) == {"skipped"}
    assert refused["reason"].str.contains("personal identifier").all()
    skipped = report.loc[report["record_id"].isin(["rel-a-sole", "rel-a-named"]), "reason"]
    assert skipped.str.startswith("interestedParty was not imported").all()
    assert len(skipped) == 2
    roles = {s.table: s for s in summaries}["roles"]
    assert (roles.inserted, roles.quarantined, roles.orphans) == (1, 0, 0)
    exported = export_bods(
        read_table(engine, "enterprises"),
        read_table(engine, "persons"),
        read_table(engine, "roles"),
        "2024-06-30",
        external=external,
    )
    assert not contains_id_number(json.dumps(exported, ensure_ascii=False))


def test_a_direct_and_an_indirect_holding_of_one_day_are_both_stored(engine: Engine) -> None:
    # P1 holds 10 % directly and declares 20 % indirectly from the same day: 30 %, a
    # beneficial owner at 25 % — not 10 % with the indirect interest dropped as a "repeat".
    statements = [
        CHINESE,
        person("p1", identifiers=[{"schemeName": "credlink person_id", "id": "P1"}]),
        holds("a", "p1", shares(10), shares(20, "indirect")),
    ]
    imported = import_bods(statements, id_salt=SALT)
    assert not imported.report["reason"].str.contains("appears twice").any()
    summaries = {s.table: s for s in store_bods(engine, imported, source="BODS p1.json")}
    assert (summaries["roles"].inserted, summaries["roles"].quarantined) == (2, 0)
    roles = read_table(engine, "roles")
    assert sorted(zip(roles["directness"], roles["share"], strict=True)) == [
        ("direct", pytest.approx(0.1)),
        ("indirect", pytest.approx(0.2)),
    ]
    (answer,) = actual_controllers(roles, "2024-06-30", threshold=0.25).itertuples()
    assert (answer.status, answer.controller_id) == ("natural_person", "P1")
    assert answer.effective_share == pytest.approx(0.3)
    # Storing the same file again changes nothing.
    again = {s.table: s for s in store_bods(engine, imported, source="BODS p1.json")}
    assert (again["roles"].inserted, again["roles"].updated, again["roles"].unchanged) == (0, 0, 2)


def test_a_roles_file_without_directness_stores_direct_roles(engine: Engine, tmp_path) -> None:
    path = tmp_path / "roles.csv"
    path.write_text(
        f"uscc,holder_type,holder_id,role,share,start,end\n{A},person,P1,shareholder,0.5,"
        "2020-01-01,\n",
        encoding="utf-8",
    )
    assert ingest_file(engine, path, table="roles").inserted == 1
    assert read_table(engine, "roles")["directness"].tolist() == ["direct"]
    again = ingest_file(engine, path, table="roles")  # the key matches the stored row
    assert (again.inserted, again.unchanged) == (0, 1)


def test_party_cells_longer_than_their_columns_are_reported_not_a_database_error(
    engine: Engine,
) -> None:
    long_scheme = "Registre " * 30  # 269 characters once stripped: scheme holds 200
    statements = [
        CHINESE,
        entity(
            "uk", [{"scheme": "GB-COH", "id": "06292597"}], jurisdiction={"code": "United Kingdom"}
        ),
        entity("odd", [{"schemeName": long_scheme, "id": "X" * 70}]),
        holds("a", "uk", shares(10)),
        holds("a", "odd", shares(10)),
    ]
    imported = import_bods(statements)
    summaries = store_bods(engine, imported, source="BODS long.json")
    assert all(s.status == "ok" for s in summaries)
    external = read_external_parties(engine).set_index("party_id")
    assert pd.isna(external.loc["GB-COH-06292597", "jurisdiction"])
    (odd,) = [p for p in external.index if p.startswith("BODS-REC-")]
    assert pd.isna(external.loc[odd, "scheme"]) and pd.isna(external.loc[odd, "identifier"])
    reasons = " ".join(imported.report["reason"])
    assert "jurisdiction has 14 characters, more than the 8 kept; left empty" in reasons
    assert "scheme has 269 characters, more than the 200 kept" in reasons
    assert "identifier has 70 characters, more than the 64 kept" in reasons


def test_parties_are_not_committed_when_the_roles_ingest_fails(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements = [
        CHINESE,
        entity("uk", [{"scheme": "GB-COH", "id": "1"}]),
        holds("a", "uk", shares(10)),
    ]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(risk.ingest.pipeline, "upsert_rows", broken)
    summaries = {s.table: s for s in store_bods(engine, import_bods(statements), source="x")}
    assert summaries["roles"].status == "failed"
    assert read_external_parties(engine).empty


def test_many_parties_are_looked_up_in_chunks(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(risk.bods.store, "_CHUNK", 2)
    firms = [entity(f"f{k}", [{"scheme": "GB-COH", "id": str(k)}]) for k in range(5)]
    statements = [CHINESE, *firms, *(holds("a", f"f{k}", shares(10)) for k in range(5))]
    for name in ("BODS one.json", "BODS two.json"):  # the second run replaces every party
        store_bods(engine, import_bods(statements), source=name)
    external = read_external_parties(engine)
    assert sorted(external["party_id"]) == [f"GB-COH-{k}" for k in range(5)]
    assert set(external["source"]) == {"BODS two.json"}


def test_persons_without_credlink_id_never_merge_across_publishers_or_with_the_platform(
    engine: Engine, tmp_path
) -> None:
    platform = tmp_path / "persons.csv"
    platform.write_text(f"person_id,name,id_number\n1,张三,{resident_id('34112219850101001')}\n")
    assert ingest_file(engine, platform, table="persons", id_salt=SALT).inserted == 1
    for publisher, name in (("Register A", "John Smith"), ("Register B", "Jane Doe")):
        statements = [CHINESE, person("1", name, publisher=publisher), holds("a", "1", shares(10))]
        store_bods(engine, import_bods(statements, id_salt=SALT), source=publisher, id_salt=SALT)

    persons = read_table(engine, "persons")
    assert persons[["person_id", "name"]].values.tolist() == [["1", "张三"]]  # untouched
    external = read_external_parties(engine)
    assert sorted(external["name"]) == ["Jane Doe", "John Smith"]
    assert external["party_id"].str.startswith("BODS-REC-").all()
    holders = read_table(engine, "roles")["holder_id"]
    assert sorted(holders) == sorted(external["party_id"]) and "1" not in set(holders)
