"""BODS exports from a store that holds raw ID numbers (ingested before ingest refused them).

The person_id identifier is withheld when the id holds an ID number anywhere (not only when
it is one), and names keep their text with the number masked.
"""

from __future__ import annotations

import json

import pandas as pd

from risk.bods import PERSON_ID_SCHEME_NAME, export_bods
from risk.identifiers import contains_id_number, make_uscc

A = make_uscc("9", "1", "340321", "MA0000001")
NUMBER = "11010519491231002X"


def test_export_carries_no_id_number_from_ids_or_names() -> None:
    enterprises = pd.DataFrame({"uscc": [A], "name": [f"甲商行（经营者 {NUMBER}）"]})
    persons = pd.DataFrame(
        {"person_id": [f"ID{NUMBER}", "P001"], "name": ["张三", f"李四{NUMBER}"]}
    )
    roles = pd.DataFrame(
        {
            "uscc": [A, A],
            "holder_type": ["person", "person"],
            "holder_id": [f"ID{NUMBER}", "P001"],
            "role": ["shareholder", "legal_rep"],
            "share": [1.0, None],
            "start": pd.to_datetime(["2020-01-01", "2020-01-01"]),
            "end": pd.to_datetime([None, None]),
        }
    )
    for mask_persons in (False, True):
        statements = export_bods(
            enterprises, persons, roles, "2024-06-30", mask_persons=mask_persons
        )
        assert not contains_id_number(json.dumps(statements, ensure_ascii=False))
    statements = export_bods(enterprises, persons, roles, "2024-06-30")
    people = [s for s in statements if s["recordType"] == "person"]
    identifiers = [
        i["id"]
        for p in people
        for i in p["recordDetails"].get("identifiers", [])
        if i["schemeName"] == PERSON_ID_SCHEME_NAME
    ]
    assert identifiers == ["P001"]
    names = {n["fullName"] for p in people for n in p["recordDetails"]["names"]}
    assert names == {"张三", "李四110105********002X"}
    (entity,) = [s for s in statements if s["recordType"] == "entity"]
    assert entity["recordDetails"]["name"] == "甲商行（经营者 110105********002X）"


def test_export_publishes_no_id_number_held_in_an_external_party() -> None:
    # A store written before import refused such parties: the party's id and identifier
    # carry a resident ID number. Neither its recordId nor its identifiers publish it.
    party = f"CN-IDCARD-{NUMBER}"
    enterprises = pd.DataFrame({"uscc": [A], "name": ["甲公司"]})
    persons = pd.DataFrame({"person_id": ["P001"], "name": ["张三"]})
    roles = pd.DataFrame(
        {
            "uscc": [A],
            "holder_type": ["enterprise"],
            "holder_id": [party],
            "role": ["shareholder"],
            "share": [0.4],
            "start": pd.to_datetime(["2020-01-01"]),
            "end": pd.to_datetime([None]),
        }
    )
    external = pd.DataFrame(
        {
            "party_id": [party],
            "party_type": ["enterprise"],
            "name": ["个体户"],
            "scheme": ["CN-IDCARD"],
            "identifier": [NUMBER],
        }
    )
    statements = export_bods(enterprises, persons, roles, "2024-06-30", external=external)
    assert not contains_id_number(json.dumps(statements, ensure_ascii=False))
    assert len([s for s in statements if s["recordType"] == "entity"]) == 2
