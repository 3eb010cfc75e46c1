"""Tests for risk.bods: BODS 0.4 export, import, files and the road back into the store.

The county here is tiny: three enterprises (a holding company 甲, its subsidiary 乙 and 乙's
branch), two persons, one declared-unknown holder. Every statement count is worked out by hand.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from risk.bods import (
    PERSON_ID_SCHEME_NAME,
    USCC_SCHEME,
    BodsImport,
    entity_record_id,
    export_bods,
    import_bods,
    person_record_id,
    read_bods,
    read_external_parties,
    store_bods,
    validate_statements,
    write_bods,
)
from risk.bods.codes import share_of
from risk.contract import UNKNOWN_HOLDER
from risk.controllers import actual_controllers
from risk.exceptions import BodsValidationError, RiskError
from risk.identifiers import make_uscc
from risk.ingest import INGEST_ORDER, ingest_file, quarantine_count
from risk.store import read_table

AS_OF = "2024-06-30"
A = make_uscc("9", "1", "340321", "MA0000001")  # 甲公司, held 60 % by 张三
B = make_uscc("9", "1", "340321", "MA0000002")  # 乙公司, 80 % 甲, 20 % declared unknown
C = make_uscc("9", "1", "340321", "MA0000003")  # 乙公司城关分公司, branch of 乙
D = make_uscc("9", "1", "340321", "MA0000004")  # 丁公司, no roles at all
RESIDENT_LIKE = "340321199001011234"  # a person_id that looks like an ID number

ENTERPRISES = pd.DataFrame(
    {
        "uscc": [A, B, C, D],
        "name": ["甲公司", "乙公司", "乙公司城关分公司", "丁公司"],
        "kind": ["company", "company", "branch", "partnership"],
        "status": ["active", "active", "active", "deregistered"],
        "industry": ["C", "F", "F", "I"],
        "region": ["340321"] * 4,
        "registered_capital": [500.0, 100.0, None, 50.0],
        "founded": pd.to_datetime(["2010-03-01", "2015-07-15", "2018-01-01", "2012-01-01"]),
        "closed": pd.to_datetime([None, None, None, "2023-05-01"]),
    }
)
PERSONS = pd.DataFrame(
    {
        "person_id": ["P001", "P002", RESIDENT_LIKE],
        "name": ["张三", "李四", "王五"],
        "id_hash": ["9f" * 32, "8e" * 32, "7d" * 32],
        "id_masked": ["340321********1234", "340321********5678", "340321********9012"],
    }
)


def _roles(*rows: tuple[object, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["uscc", "holder_type", "holder_id", "role", "share", "start", "end"]
    )
    frame["start"] = pd.to_datetime(frame["start"]).astype("datetime64[s]")
    frame["end"] = pd.to_datetime(frame["end"]).astype("datetime64[s]")
    return frame


ROLES = _roles(
    (A, "person", "P001", "shareholder", 0.6, "2010-03-01", None),
    (A, "person", "P001", "legal_rep", None, "2010-03-01", None),
    (A, "person", "P002", "shareholder", 0.4, "2011-01-01", None),
    (B, "enterprise", A, "shareholder", 0.8, "2015-07-15", None),
    (B, "person", UNKNOWN_HOLDER, "shareholder", 0.2, "2015-07-15", None),
    (B, "person", RESIDENT_LIKE, "executive", None, "2016-01-01", None),
    (C, "enterprise", B, "branch_of", None, "2018-01-01", None),
    (A, "person", "P002", "executive", None, "2012-01-01", "2020-01-01"),  # ended
)


@pytest.fixture(scope="module")
def statements() -> list[dict]:
    return export_bods(ENTERPRISES, PERSONS, ROLES, AS_OF)


def _tuples(roles: pd.DataFrame) -> set[tuple[object, ...]]:
    return {
        (
            r.uscc,
            r.holder_type,
            r.holder_id,
            r.role,
            None if pd.isna(r.share) else round(float(r.share), 12),
            pd.Timestamp(r.start),
        )
        for r in roles.itertuples(index=False)
    }


def _by_type(statements: list[dict], record_type: str) -> list[dict]:
    return [s for s in statements if s["recordType"] == record_type]


# --------------------------------------------------------------------------- export


def test_export_counts_and_shapes(statements: list[dict]) -> None:
    # 4 entities (D too: registered, just without roles), 3 persons (P001, P002, 王五),
    # relationships: A←P001 (shareholding + legal rep), A←P002 (shareholding; the ended
    # executive role is left out), B←A, B←unknown, B←王五, C←B  = 6.
    assert [len(_by_type(statements, t)) for t in ("entity", "person", "relationship")] == [4, 3, 6]
    assert validate_statements(statements) == []
    entity = next(s for s in statements if s["recordId"].endswith(A))
    details = entity["recordDetails"]
    assert details["identifiers"][0]["id"] == A
    assert details["identifiers"][0]["scheme"] == USCC_SCHEME
    assert details["jurisdiction"] == {"name": "中国", "code": "CN"}
    assert details["foundingDate"] == "2010-03-01"
    assert details["entityType"] == {"type": "registeredEntity", "details": "公司"}
    assert entity["publicationDetails"]["bodsVersion"] == "0.4"
    closed = next(s for s in statements if s["recordId"].endswith(D))
    assert closed["recordDetails"]["dissolutionDate"] == "2023-05-01"


def test_export_interest_mapping(statements: list[dict]) -> None:
    def interests(subject: str, party: object) -> list[dict]:
        (match,) = [
            s["recordDetails"]["interests"]
            for s in _by_type(statements, "relationship")
            if s["recordDetails"]["subject"] == entity_record_id(subject)
            and s["recordDetails"]["interestedParty"] == party
        ]
        return match

    # One relationship per (enterprise, holder), interests in Role order (legal_rep first).
    assert interests(A, person_record_id("P001")) == [
        {
            "type": "seniorManagingOfficial",
            "details": "法定代表人",
            "directOrIndirect": "direct",
            "startDate": "2010-03-01",
        },
        {
            "type": "shareholding",
            "details": "股东",
            "directOrIndirect": "direct",
            "share": {"exact": 60.0},
            "startDate": "2010-03-01",
        },
    ]
    assert interests(B, entity_record_id(A))[0]["share"] == {"exact": 80.0}
    unknown_party = {
        "reason": "unknown",
        "description": "持有人申报为不明（credlink 保留持有人 UNKNOWN）",
    }
    assert interests(B, unknown_party)[0]["share"] == {"exact": 20.0}
    (executive,) = interests(B, person_record_id(RESIDENT_LIKE))
    assert (executive["type"], executive["details"]) == ("seniorManagingOfficial", "高管")
    (branch,) = interests(C, entity_record_id(B))
    assert (branch["type"], branch["details"]) == ("otherInfluenceOrControl", "分支机构")


def test_export_never_carries_id_numbers(statements: list[dict]) -> None:
    text = json.dumps(statements, ensure_ascii=False)
    for value in (*PERSONS["id_hash"], *PERSONS["id_masked"], RESIDENT_LIKE):
        assert value not in text
    # Person record ids are opaque; person ids travel only in their own identifier.
    for person in _by_type(statements, "person"):
        assert "P00" not in person["recordId"]
    ids = {
        i["id"]
        for p in _by_type(statements, "person")
        for i in p["recordDetails"].get("identifiers", [])
    }
    assert ids == {"P001", "P002"}  # the ID-number-like person_id is withheld
    assert "张三" in text  # names in full for the credit office


def test_export_mask_persons() -> None:
    masked = export_bods(ENTERPRISES, PERSONS, ROLES, AS_OF, mask_persons=True)
    text = json.dumps(masked, ensure_ascii=False)
    assert "张三" not in text and "张*" in text
    assert PERSON_ID_SCHEME_NAME not in text


def test_export_is_deterministic(statements: list[dict]) -> None:
    again = export_bods(
        ENTERPRISES.sample(frac=1.0, random_state=1),
        PERSONS,
        ROLES.sample(frac=1.0, random_state=2),
        AS_OF,
    )
    assert again == statements
    ids = [s["statementId"] for s in statements]
    assert len(set(ids)) == len(ids) and all(32 <= len(i) <= 64 for i in ids)
    # The publication date is not content: same statementIds.
    later = export_bods(ENTERPRISES, PERSONS, ROLES, AS_OF, publication_date="2024-07-01")
    assert [s["statementId"] for s in later] == ids
    assert later[0]["publicationDetails"]["publicationDate"] == "2024-07-01"
    # Changed content: a changed id for that statement only.
    renamed = ENTERPRISES.assign(name=ENTERPRISES["name"].replace({"甲公司": "甲集团"}))
    changed = export_bods(renamed, PERSONS, ROLES, AS_OF)
    differing = [a["recordId"] for a, b in zip(changed, statements, strict=True) if a != b]
    assert differing == [f"credlink-entity-{A}"]


def test_export_include_ended() -> None:
    history = export_bods(ENTERPRISES, PERSONS, ROLES, AS_OF, include_ended=True)
    ended = [
        i
        for s in _by_type(history, "relationship")
        for i in s["recordDetails"]["interests"]
        if i.get("endDate")
    ]
    assert ended == [
        {
            "type": "seniorManagingOfficial",
            "details": "高管",
            "directOrIndirect": "direct",
            "startDate": "2012-01-01",
            "endDate": "2020-01-01",
        }
    ]
    back = import_bods(history)
    assert (back.roles["end"].notna()).sum() == 1


def test_export_validates_input() -> None:
    with pytest.raises(TypeError, match="enterprises must be a pandas DataFrame"):
        export_bods(None, PERSONS, ROLES, AS_OF)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="persons must have column"):
        export_bods(ENTERPRISES, PERSONS[["person_id"]], ROLES, AS_OF)
    with pytest.raises(ValueError, match="as_of must be a date"):
        export_bods(ENTERPRISES, PERSONS, ROLES, "not a date")
    with pytest.raises(ValueError, match="publication_date must be a date like"):
        export_bods(ENTERPRISES, PERSONS, ROLES, AS_OF, publication_date="soon")


# --------------------------------------------------------------------------- import


def test_round_trip_preserves_the_graph(statements: list[dict]) -> None:
    back = import_bods(statements)
    # The one report row: 王五's person_id looks like an ID number, so it was withheld; the
    # opaque recordId comes back namespaced by its statement (BODS-REC-…), never bare.
    record = person_record_id(RESIDENT_LIKE)
    assert list(back.report["outcome"]) == ["partial"]
    assert list(back.report["record_id"]) == [record]
    withheld = dict(zip(back.nodes["record_id"], back.nodes["node_id"], strict=True))[record]
    assert withheld.startswith("BODS-REC-") and withheld in back.report["reason"].iloc[0]
    present = ROLES.loc[ROLES["end"].isna()].replace({RESIDENT_LIKE: withheld})
    assert _tuples(back.roles) == _tuples(present)
    names = dict(zip(back.persons["person_id"], back.persons["name"], strict=True))
    assert names == {"P001": "张三", "P002": "李四", withheld: "王五"}
    assert back.persons["id_hash"].isna().all() and back.persons["id_masked"].isna().all()
    ents = back.enterprises.set_index("uscc")
    assert ents.loc[C, "kind"] == "branch" and ents.loc[A, "name"] == "甲公司"
    assert ents.loc[D, "closed"] == pd.Timestamp("2023-05-01")
    assert ents["status"].isna().all()  # BODS does not carry it; for_ingest fills it
    # The ownership answer survives the trip.
    before = actual_controllers(ROLES, AS_OF, threshold=0.25)
    after = actual_controllers(back.roles, AS_OF, threshold=0.25)
    cols = ["uscc", "status", "candidate_id", "effective_share"]
    pd.testing.assert_frame_equal(before[cols], after[cols])


def test_import_reports_everything_it_cannot_map(statements: list[dict]) -> None:
    foreign = {
        "statementId": "f" * 32,
        "declarationSubject": "foreign-1",
        "recordId": "foreign-1",
        "recordType": "entity",
        "recordDetails": {
            "isComponent": False,
            "entityType": {"type": "registeredEntity"},
            "name": "Overseas Holdings Ltd",
            "identifiers": [{"id": "12345678", "scheme": "GB-COH"}],
        },
    }
    b_subject = f"credlink-entity-{B}"

    def relationship(n: int, party: object, interests: list[dict]) -> dict:
        return {
            "statementId": f"{n:032d}",
            "declarationSubject": b_subject,
            "statementDate": "2024-06-30",
            "recordId": f"rel-{n}",
            "recordType": "relationship",
            "recordDetails": {
                "isComponent": False,
                "subject": b_subject,
                "interestedParty": party,
                "interests": interests,
            },
        }

    p001 = next(
        p["recordId"] for p in _by_type(statements, "person")
        if p["recordDetails"].get("identifiers", [{}])[0].get("id") == "P001"
    )  # fmt: skip
    extra = [
        foreign,
        relationship(1, "foreign-1", [{"type": "shareholding", "share": {"exact": 10}}]),
        relationship(2, p001, [{"type": "votingRights", "startDate": "2020-01-01"}]),
        relationship(3, p001, [{"type": "shareholding", "directOrIndirect": "indirect"}]),
        relationship(4, "nobody", [{"type": "shareholding"}]),
        relationship(
            5,
            p001,
            [
                {
                    "type": "shareholding",
                    "share": {"minimum": 5, "maximum": 10},
                    "startDate": "2021-06-01",
                }
            ],
        ),
        relationship(6, p001, [{"type": "boardMember", "startDate": "2021-01-01"}]),
        relationship(7, {"reason": "unknown"}, [{"type": "seniorManagingOfficial"}]),
        relationship(8, p001, []),
        {"statementID": "x" * 32, "statementType": "entityStatement"},  # BODS 0.2
        {**foreign, "statementId": "e" * 32, "recordType": "trust"},
    ]
    back = import_bods(statements + extra)
    report = back.report
    base = len(statements)

    def reason(n: int, interest: int | None = None) -> str:
        rows = report.loc[report["statement_index"] == base + n]
        if interest is not None:
            rows = rows.loc[rows["interest_index"] == interest]
        assert len(rows) == 1, rows
        return f"{rows['outcome'].iloc[0]}: {rows['reason'].iloc[0]}"

    # A foreign company is an external party keyed by its org-id.guide scheme and number.
    assert report.loc[report["statement_index"] == base].empty
    assert list(back.external["party_id"]) == ["GB-COH-12345678"]
    assert back.external.loc[0, "name"] == "Overseas Holdings Ltd"
    roles = back.roles.set_index(["holder_id", "role"])
    assert roles.loc[("GB-COH-12345678", "shareholder"), "share"] == pytest.approx(0.1)
    assert reason(1, 0) == "partial: no startDate; the statementDate is used as start"
    assert reason(2, 0).startswith("skipped: interest type 'votingRights'")
    # An indirect shareholding is kept as a declared end of a chain; a range as a range.
    assert reason(3, 0).startswith("partial: no startDate")
    indirect = back.roles.loc[back.roles["directness"] == "indirect"]
    assert list(indirect["holder_id"]) == ["P001"] and indirect["share"].isna().all()
    assert reason(4) == "skipped: interestedParty 'nobody' is not a person or entity in the input"
    assert report.loc[report["statement_index"] == base + 5].empty
    ranged = back.roles.loc[back.roles["share_range"].notna()]
    assert list(ranged["share_range"]) == ["[5,10]"]
    assert ranged["share"].tolist() == [pytest.approx(0.05)]  # the lower bound
    assert reason(6, 0).startswith("partial: boardMember imported as executive")
    # An unspecified party of any interest is the declared holder, here without a share.
    assert reason(7, 0).startswith("partial: no startDate")
    # Relationship 8 is a direct shareholding from the same day as relationship 3's indirect
    # one: a different key (directness), so both are kept and nothing is reported as a repeat.
    eight = report.loc[report["statement_index"] == base + 8, "reason"]
    assert set(eight) == {
        "relationship declares no interests; imported as a shareholder without a share",
        "no startDate; the statementDate is used as start",
    }
    assert not report["reason"].str.contains("appears twice").any()
    assert "is BODS 0.2/0.3" in reason(9)
    assert "recordType must be one of entity, person, relationship; got 'trust'" in reason(10)
    # The mapped parts did land: the indirect shareholding (no share given), the direct one of
    # the same day, the ranged one and the board member.
    landed = back.roles.loc[(back.roles["uscc"] == B) & (back.roles["holder_id"] == "P001")]
    assert sorted(landed["role"]) == ["executive", "shareholder", "shareholder", "shareholder"]
    same_day = landed.loc[landed["start"] == pd.Timestamp("2024-06-30")]
    assert sorted(same_day["directness"]) == ["direct", "indirect"]
    # votingRights, the unknown party, the BODS 0.2 and "trust" statements
    assert back.skipped == int((report["outcome"] == "skipped").sum()) == 4


def test_import_unknown_person_and_superseded(statements: list[dict]) -> None:
    person = copy.deepcopy(_by_type(statements, "person")[0])
    old = copy.deepcopy(person)
    old["statementId"] = "0" * 32
    old["statementDate"] = "2020-01-01"
    old["recordDetails"]["names"] = [{"fullName": "旧名"}]
    back = import_bods([old, *statements])
    superseded = back.report.loc[back.report["outcome"] == "superseded"]
    assert list(superseded["statement_index"]) == [0]
    assert "旧名" not in set(back.persons["name"])

    anonymous = copy.deepcopy(statements)
    for s in anonymous:
        if s["recordId"] == person["recordId"]:
            s["recordDetails"] = {"isComponent": False, "personType": "unknownPerson"}
    back = import_bods(anonymous)
    assert "is imported as the declared holder UNKNOWN" in " ".join(back.report["reason"])
    assert UNKNOWN_HOLDER in set(back.roles["holder_id"])


def test_import_validation_errors(statements: list[dict]) -> None:
    broken = copy.deepcopy(statements)
    broken[0]["recordDetails"]["foundingDate"] = "2010-13-01"
    broken[-1]["recordDetails"]["interests"][0]["share"] = {"exact": 120}
    problems = validate_statements(broken)
    last = len(broken) - 1
    assert problems == [
        "statements[0].recordDetails.foundingDate must be a date YYYY-MM-DD; got '2010-13-01'",
        f"statements[{last}].recordDetails.interests[0].share.exact must be a number between "
        "0 and 100; got 120",
    ]
    with pytest.raises(BodsValidationError, match="2 BODS problem") as excinfo:
        import_bods(broken, strict=True)
    assert isinstance(excinfo.value, RiskError) and len(excinfo.value.problems) == 2
    lenient = import_bods(broken)
    # Skipped: the two broken statements (entity 甲 and relationship 丙←乙), and the three
    # relationships that need 甲: 甲←张三, 甲←李四 (subject) and 乙←甲 (interested party).
    assert lenient.skipped == 5
    with pytest.raises(TypeError, match="statements must be a list"):
        import_bods({"statementId": "x"})  # type: ignore[arg-type]
    assert validate_statements([1]) == ["statements[0] must be an object; got int"]


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_write_and_read_back(statements: list[dict], tmp_path: Path, suffix: str) -> None:
    path = write_bods(statements, tmp_path / f"graph{suffix}")
    text = path.read_text(encoding="utf-8")
    assert "甲公司" in text  # ensure_ascii=False
    if suffix == ".jsonl":
        assert len(text.splitlines()) == len(statements)
    else:
        assert isinstance(json.loads(text), list)
    assert read_bods(path) == statements


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"path must end in \.json, \.jsonl or \.ndjson; got 'x\.csv'"
    ):
        write_bods([], tmp_path / "x.csv")
    (tmp_path / "object.json").write_text('{"statementId": "x"}', encoding="utf-8")
    with pytest.raises(BodsValidationError, match="must hold a JSON array"):
        read_bods(tmp_path / "object.json")
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(BodsValidationError, match="line 2"):
        read_bods(tmp_path / "bad.jsonl")


# --------------------------------------------------------------------------- into the store


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    return path


def test_import_lands_through_the_validated_ingest(engine: Engine, tmp_path: Path) -> None:
    """Export from the store, import, and ingest back: nothing refused, nothing clobbered."""
    persons = PERSONS.loc[PERSONS["person_id"] != RESIDENT_LIKE]
    roles = ROLES.loc[ROLES["holder_id"] != RESIDENT_LIKE]
    originals = {"enterprises": ENTERPRISES, "persons": persons, "roles": roles}
    for name, frame in originals.items():
        summary = ingest_file(engine, _write_csv(frame, tmp_path / f"{name}.csv"), table=name)
        assert summary.status == "ok" and summary.quarantined == 0, summary
    stored = {name: read_table(engine, name) for name in originals}

    statements = export_bods(stored["enterprises"], stored["persons"], stored["roles"], AS_OF)
    back: BodsImport = import_bods(statements)
    summaries = store_bods(engine, back, source="BODS round-trip.json")
    assert [s.table for s in summaries] == [n for n in INGEST_ORDER if n in originals]
    for summary in summaries:
        assert summary.status == "ok", summary
        # status, industry, registered_capital, id_hash … came from the store, not defaults.
        assert (summary.quarantined, summary.updated, summary.inserted) == (0, 0, 0), summary
    for name in originals:
        pd.testing.assert_frame_equal(read_table(engine, name), stored[name])


def test_new_person_from_bods_is_an_external_party_not_quarantined(engine: Engine) -> None:
    # A person known only from BODS has no ID number to hash: no longer quarantined, the
    # person is stored as an external party (flagged, named); the enterprise lands with
    # documented defaults and the role is no orphan.
    statements = export_bods(ENTERPRISES.iloc[:1], PERSONS.iloc[:1], ROLES.iloc[:1], AS_OF)
    back = import_bods(statements)
    frames = back.for_ingest()
    assert frames["enterprises"].loc[0, "status"] == "active"  # default: no dissolutionDate
    assert frames["enterprises"].loc[0, "region"] == "340321"  # default: USCC positions 3-8
    assert frames["persons"].empty
    summaries = {s.table: s for s in store_bods(engine, back, source="BODS new.json")}
    assert summaries["enterprises"].inserted == 1
    assert summaries["persons"].read == 0
    assert summaries["roles"].inserted == 1 and summaries["roles"].orphans == 0
    assert quarantine_count(engine) == 0
    external = read_external_parties(engine)
    assert external[["party_id", "party_type", "name", "source"]].values.tolist() == [
        ["P001", "person", "张三", "BODS new.json"]
    ]
    assert external["identifier_hash"].isna().all()  # nothing to hash, nothing raw
    assert read_table(engine, "persons").empty


@pytest.mark.parametrize(
    ("record_type", "field", "value", "reason"),
    [
        ("entity", "jurisdiction", "GB", "recordDetails.jurisdiction must be an object; got 'GB'"),
        ("entity", "jurisdiction", {"code": 44}, "jurisdiction.code must be a string; got 44"),
        ("entity", "entityType", {"type": "registeredEntity", "details": 1}, "details must be"),
        ("person", "nationalities", ["GB"], "nationalities[0] must be an object; got 'GB'"),
        ("person", "nationalities", "GB", "nationalities must be an array; got 'GB'"),
        ("person", "unspecifiedPersonDetails", "x", "unspecifiedPersonDetails must be an object"),
    ],
)
def test_wrong_typed_objects_skip_the_statement_with_a_reason(
    record_type: str, field: str, value: object, reason: str
) -> None:
    details: dict = {"isComponent": False, field: value}
    if record_type == "entity":
        details.setdefault("entityType", {"type": "registeredEntity"})
    else:
        details["personType"] = "unknownPerson" if "unspecified" in field else "knownPerson"
    statement = {
        "statementId": "s" * 32,
        "declarationSubject": "x",
        "recordId": "x",
        "recordType": record_type,
        "statementDate": "2024-01-01",
        "recordDetails": details,
    }
    publisher = {**statement, "statementId": "t" * 32, "recordId": "y"}
    publisher["publicationDetails"] = {"publisher": "Register"}
    back = import_bods([statement, publisher])  # no AttributeError
    assert back.report["outcome"].tolist() == ["skipped", "skipped"]
    assert reason in back.report["reason"].iloc[0]
    assert "publicationDetails.publisher must be an object" in back.report["reason"].iloc[1]


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        ({"minimum": 33.33333333, "maximum": 50}, (0.3333333333, "[33.33333333,50]")),
        ({"minimum": 0.00001, "exclusiveMaximum": 5}, (1e-7, "[0.00001,5)")),
        ({"exclusiveMinimum": 75, "maximum": 100}, (0.75, "(75,100]")),
    ],
)
def test_share_range_bounds_keep_every_digit_and_pass_the_ingest(
    share: dict, expected: tuple[float, str], engine: Engine
) -> None:
    assert share_of(share) == (pytest.approx(expected[0]), expected[1])
    statements = export_bods(ENTERPRISES.iloc[:1], PERSONS.iloc[:1], ROLES.iloc[:1], AS_OF)
    for s in statements:
        if s["recordType"] == "relationship":
            s["recordDetails"]["interests"][0]["share"] = share
    summaries = {s.table: s for s in store_bods(engine, import_bods(statements), source="x")}
    assert (summaries["roles"].inserted, summaries["roles"].quarantined) == (1, 0)
    assert read_table(engine, "roles")["share_range"].tolist() == [expected[1]]
