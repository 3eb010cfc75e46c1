"""risk.ingest.privacy: raw resident ID numbers hashed and masked, never stored; an ID number
anywhere else quarantined and masked in names, reasons and quarantined cells.

See :mod:`tests.risk.ingest_helpers` for how the files are written and what is asserted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Select, Table, select

import risk.ingest.pipeline
import risk.ingest.upsert
from risk.ingest import ingest_paths
from tests.risk.ingest_helpers import (
    ENTERPRISES,
    ID_X,
    LOANS,
    OTHER_ID,
    RECORDS,
    ROLES,
    SALT,
    U1,
    U2,
    assert_nowhere_in_store,
    assert_quarantined,
    batches,
    count,
    ent,
    full_width,
    ingest,
    quarantined,
    rec,
    resident_id,
    stored,
    write,
)

# --------------------------------------------------------------------------- persons, IDs


def test_resident_id_helper_matches_the_standard_example() -> None:
    assert resident_id(ID_X[:17]) == ID_X


def test_raw_resident_id_is_hashed_masked_and_never_stored(engine: Engine, tmp_path: Path) -> None:
    other = resident_id("34112219900307123")
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,身份证号",
        [f"P1,张三,{ID_X.lower()}", f"P2,李四,{other}"],
    )

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (2, 0)
    frame = stored(engine, "persons")
    assert frame["id_masked"].tolist() == ["110105********002X", f"341122********{other[-4:]}"]
    assert frame["id_hash"].tolist() == [
        hmac.new(SALT, number.encode("ascii"), hashlib.sha256).hexdigest()
        for number in (ID_X, other)  # the hash of the normalised (upper-case X) number
    ]
    assert_nowhere_in_store(engine, [ID_X, other])


def test_invalid_raw_resident_id_is_quarantined_masked(engine: Engine, tmp_path: Path) -> None:
    valid = resident_id("34112219900307123")
    invalid = valid[:17] + ("0" if valid[17] != "0" else "1")
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_number",
        [f"P1,张三,{ID_X}", f"P2,李四,{invalid}"],
    )

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    row = assert_quarantined(
        quarantined(engine), 3, "id_number", r"resident ID check character does not match"
    )
    assert invalid not in row["reason"]
    assert row["raw"]["id_number"] == f"341122********{invalid[-4:]}"
    assert row["raw"]["name"] == "李四"
    assert_nowhere_in_store(engine, [ID_X, invalid])


def test_malformed_persons_line_never_stores_the_raw_id(engine: Engine, tmp_path: Path) -> None:
    second = resident_id("34112219900307123")
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_number",
        [f"P1,张三,{ID_X}", f"P2,李,四,{second}", f"P3,{resident_id('34112219851111001')}"],
    )

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    assert_nowhere_in_store(engine, [ID_X, second, resident_id("34112219851111001")])


def test_raw_resident_ids_without_a_salt_store_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "persons.csv", "person_id,name,id_number", [f"P1,张三,{ID_X}"])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status != "ok"
    assert re.search(r"raw ID numbers; an id_salt is required", summary.message)
    assert count(engine, "persons") == 0
    assert quarantined(engine) == []
    assert_nowhere_in_store(engine, [ID_X])


def test_raw_resident_ids_without_a_salt_are_refused(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "persons.csv", "person_id,name,id_number", [f"P1,张三,{ID_X}"])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert [b["status"] for b in batches(engine)] == ["refused"]


# --------------------------------------------------------------------------- ID numbers (#11)


def test_id_masked_must_have_the_masked_form(engine: Engine, tmp_path: Path) -> None:
    hash_hex = "ab" * 32
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_hash,id_masked",
        [
            f"P1,张三,{hash_hex},110105********002X",
            f"P2,李四,{hash_hex},{OTHER_ID}",  # the raw number where the masked form belongs
            f"P3,王五,{hash_hex},110105-002X",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    rows = quarantined(engine)
    row = assert_quarantined(rows, 3, "id_masked", r"id_masked must not hold a resident ID")
    assert OTHER_ID not in json.dumps(row, ensure_ascii=False, default=str)
    assert f"341122********{OTHER_ID[-4:]}" in row["reason"]
    assert_quarantined(
        rows,
        4,
        "id_masked",
        r"id_masked must be like 340321\*\*\*\*\*\*\*\*1234; got '110105-002X'",
    )
    assert_nowhere_in_store(engine, [OTHER_ID])


def test_id_hash_must_be_64_hexadecimal_characters(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "persons.csv",
        "person_id,name,id_hash,id_masked",
        [
            f"P1,张三,{'AB' * 32},110105********002X",  # upper case: normalised to lower
            f"P2,李四,{OTHER_ID},341122********{OTHER_ID[-4:]}",
            f"P3,王五,{'g' * 64},341122********{OTHER_ID[-4:]}",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    assert stored(engine, "persons")["id_hash"].tolist() == ["ab" * 32]
    rows = quarantined(engine)
    assert_quarantined(rows, 3, "id_hash", r"id_hash must not hold a resident ID number")
    assert_quarantined(rows, 4, "id_hash", r"id_hash must be 64 hexadecimal characters")
    assert_nowhere_in_store(engine, [OTHER_ID])


@pytest.mark.parametrize(
    ("table", "header", "row", "column"),
    [
        ("persons", "person_id,name,id_number", f"{OTHER_ID},张三,{ID_X}", "person_id"),
        ("persons", "person_id,name,id_number", f"P1,张三{OTHER_ID},{ID_X}", "name"),
        ("enterprises", ENTERPRISES, ent(U1, f"来安县{OTHER_ID}商行"), "name"),
        ("roles", ROLES, f"{U1},person,{OTHER_ID},legal_rep,,2020-01-05,", "holder_id"),
        ("records", RECORDS, rec("R1", OTHER_ID, subject_type="person"), "subject_id"),
        ("records", RECORDS, rec(f"来环罚{OTHER_ID}号"), "record_id"),
        ("records", RECORDS, rec("R1", authority=f"来安县 {OTHER_ID}"), "authority"),
        (
            "loans",
            LOANS,
            f"{OTHER_ID},{U1},来安农商银行,2024-01-10,1,1,12,performing,2024-02-01",
            "loan_id",
        ),
        ("loans", LOANS, f"L1,{U1},{OTHER_ID},2024-01-10,1,1,12,performing,2024-02-01", "bank"),
    ],
)
def test_id_number_in_a_stored_column_is_quarantined_masked(
    engine: Engine, tmp_path: Path, table: str, header: str, row: str, column: str
) -> None:
    path = write(tmp_path, f"{table}.csv", header, [row])

    summary = ingest(engine, path, id_salt=SALT)

    assert (summary.inserted, summary.quarantined) == (0, 1)
    (only,) = quarantined(engine)
    assert only["column_name"] == column
    assert re.search(
        rf"{column} must not hold a resident ID number; got .*341122\*{{8}}", only["reason"]
    )
    assert_nowhere_in_store(engine, [OTHER_ID, ID_X])


def test_full_width_or_spaced_id_number_is_found_too(engine: Engine, tmp_path: Path) -> None:
    spaced = f"{OTHER_ID[:6]} {OTHER_ID[6:14]} {OTHER_ID[14:]}"
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [ent(U1, f"来安县{full_width(OTHER_ID)}"), ent(U2, f"来安县{spaced}")],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (0, 2)
    assert_nowhere_in_store(engine, [full_width(OTHER_ID), spaced, OTHER_ID])


def test_file_name_with_an_id_number_is_stored_and_reported_masked(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, f"enterprises_{OTHER_ID}.csv", ENTERPRISES, [ent(U1), ent("bad")])
    refused = write(tmp_path, f"{OTHER_ID}.csv", "foo,bar", ["1,2"])

    result = ingest_paths(engine, [path, refused])

    assert [f.status for f in result.files] == ["ok", "refused"]
    assert all(OTHER_ID not in json.dumps(f.__dict__, default=str) for f in result.files)
    assert f"341122********{OTHER_ID[-4:]}" in result.files[0].source
    assert_nowhere_in_store(engine, [OTHER_ID])


def test_failed_statement_stores_a_short_message_without_parameters(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1, "来安县甲有限公司")])
    ingest(engine, path)

    def every_row_new(stage: Table, names: list[str], _same_key: Any) -> Select[Any]:
        return select(*(stage.c[c] for c in names))  # every row looks new: a key clash

    monkeypatch.setattr(risk.ingest.upsert, "_new_rows", every_row_new)

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "failed"
    assert summary.message.startswith(("IntegrityError", "UniqueViolation"))
    for leaked in ("来安县甲有限公司", "[SQL", "parameters", "INSERT"):
        assert leaked not in summary.message
    assert len(summary.message) < 400
    assert batches(engine)[-1]["message"] == summary.message
