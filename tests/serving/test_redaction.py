"""serving.redaction: pseudonyms for person ids that are ID numbers, and masking of any text."""

from __future__ import annotations

import re

import pandas as pd

from risk.graph import GraphSnapshot
from risk.identifiers import make_uscc
from serving.redaction import PersonIds, person_pseudonym, served_person_id, without_id_numbers

NUMBER = "11010519491231002X"
MASKED = "110105********002X"
KEY = b"k" * 32
A = make_uscc("9", "1", "340321", "MA0000001")


def test_pseudonyms_are_stable_keyed_and_opaque() -> None:
    pseudonym = person_pseudonym(NUMBER, KEY)
    assert re.fullmatch(r"person-[0-9a-f]{16}", pseudonym)
    assert person_pseudonym(NUMBER, KEY) == pseudonym
    assert person_pseudonym(NUMBER, b"j" * 32) != pseudonym
    assert person_pseudonym("11010519491231003", KEY) != pseudonym
    assert served_person_id(f"ID{NUMBER}", KEY) == person_pseudonym(f"ID{NUMBER}", KEY)
    assert served_person_id("P000001", KEY) == "P000001"
    # Without a key: opaque, stable within the process.
    assert served_person_id(NUMBER) == served_person_id(NUMBER) != NUMBER


def _snapshot() -> GraphSnapshot:
    enterprises = pd.DataFrame({"uscc": [A], "name": ["甲公司"]})
    persons = pd.DataFrame({"person_id": [NUMBER, "P2"], "name": ["张三", "李四"]})
    roles = pd.DataFrame(
        {
            "uscc": [A, A],
            "holder_type": ["person", "person"],
            "holder_id": [NUMBER, "P2"],
            "role": ["legal_rep", "executive"],
            "share": [None, None],
            "start": pd.to_datetime(["2020-01-01", "2020-01-01"]),
            "end": pd.to_datetime([None, None]),
        }
    )
    return GraphSnapshot.from_frames(enterprises, persons, roles, "2024-06-30")


def test_person_ids_pseudonyms_or_bank_aliases() -> None:
    snapshot = _snapshot()
    ids = PersonIds(snapshot, KEY)
    assert [ids(A), ids(NUMBER), ids("P2"), ids(NUMBER)] == [
        A,
        person_pseudonym(NUMBER, KEY),
        "P2",
        person_pseudonym(NUMBER, KEY),
    ]
    bank = PersonIds(snapshot, KEY, aliases=True)
    assert [bank(A), bank("P2"), bank(NUMBER), bank("P2")] == [
        A,
        "person-1",
        "person-2",
        "person-1",
    ]


def test_without_id_numbers_masks_nested_text_and_keeps_the_rest() -> None:
    clean = {"a": ["x", ("y", 1)], "b": None}
    assert without_id_numbers(clean) is clean  # nothing to mask: the very same object
    value = {
        "name": f"甲商行（{NUMBER}）",
        NUMBER: 1,
        "paths": [{"sentence": f"法定代表人 {NUMBER}"}, ("keep", f"x{NUMBER.lower()}")],
        "n": 18,
    }
    assert without_id_numbers(value) == {
        "name": f"甲商行（{MASKED}）",
        MASKED: 1,
        "paths": [{"sentence": f"法定代表人 {MASKED}"}, ("keep", f"x{MASKED}")],
        "n": 18,
    }
    assert without_id_numbers(NUMBER) == MASKED
