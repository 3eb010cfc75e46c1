"""credlink's BODS exports against the official BODS 0.4 JSON Schema (vendored from
openownership/data-standard, tag 0.4.0: tests/risk/bods_examples/schema)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from risk.bods import export_bods, import_bods
from tests.risk.test_bods import AS_OF, ENTERPRISES, PERSONS, ROLES, _roles
from tests.risk.test_bods_examples import FILES, SALT

SCHEMA = Path(__file__).parent / "bods_examples" / "schema"


@cache
def _validator() -> Draft202012Validator:
    resources = []
    for path in SCHEMA.glob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    statement = json.loads((SCHEMA / "statement.json").read_text(encoding="utf-8"))
    return Draft202012Validator(
        statement,
        registry=Registry().with_resources(resources),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def schema_errors(statements: list[dict[str, Any]]) -> list[str]:
    """Every violation of the BODS 0.4 schema, as ``path: message``."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator().iter_errors(statements)
    ]


def test_the_published_examples_are_valid_against_the_vendored_schema() -> None:
    for path in FILES:
        assert schema_errors(json.loads(path.read_text(encoding="utf-8"))) == [], path.name


def test_export_is_schema_valid() -> None:
    statements = export_bods(ENTERPRISES, PERSONS, ROLES, AS_OF)
    assert schema_errors(statements) == []
    masked = export_bods(ENTERPRISES, PERSONS, ROLES, AS_OF, mask_persons=True, include_ended=True)
    assert schema_errors(masked) == []


def test_ranges_indirect_exempt_and_external_parties_export_schema_valid() -> None:
    b = ROLES.loc[0, "uscc"]
    extra = _roles(
        (b, "person", "EXEMPT", "shareholder", None, "2020-01-01", None),
        ("GB-COH-06292597", "enterprise", b, "shareholder", 0.75, "2020-01-01", None),
        ("GB-COH-06292597", "person", "P001", "shareholder", 0.25, "2020-01-01", None),
    ).assign(share_range=[None, "[75,100)", "(25,50)"], directness=[None, None, "indirect"])
    roles = pd.concat([ROLES.assign(share_range=None, directness=None), extra], ignore_index=True)
    statements = export_bods(ENTERPRISES, PERSONS, roles, AS_OF)
    assert schema_errors(statements) == []
    interests = {
        (s["recordDetails"]["subject"], json.dumps(s["recordDetails"]["interestedParty"])): s[
            "recordDetails"
        ]["interests"]
        for s in statements
        if s["recordType"] == "relationship"
    }
    foreign = "credlink-entity-GB-COH-06292597"
    shares = [
        i.get("share") for (subject, _), v in interests.items() if subject == foreign for i in v
    ]
    assert {"minimum": 75.0, "exclusiveMaximum": 100.0} in shares
    assert {"exclusiveMinimum": 25.0, "exclusiveMaximum": 50.0} in shares
    entity = next(s for s in statements if s["recordId"] == foreign)["recordDetails"]
    assert entity["identifiers"] == [{"id": "06292597", "scheme": "GB-COH"}]
    assert "jurisdiction" not in entity  # not CN: unknown without its stored row
    # Round trip: ranges, directness and the exemption come back as they left.
    back = import_bods(statements)
    got = back.roles.set_index(["uscc", "holder_id"])
    assert got.loc[("GB-COH-06292597", b), "share_range"] == "[75,100)"
    assert got.loc[("GB-COH-06292597", "P001"), "directness"] == "indirect"
    assert "EXEMPT" in set(back.roles["holder_id"])


def test_every_example_round_trips_schema_valid() -> None:
    # Each published file imported, then exported from the imported frames.
    for path in FILES:
        back = import_bods(json.loads(path.read_text(encoding="utf-8")), id_salt=SALT)
        frames = back.for_ingest()
        roles = frames["roles"]
        day = roles["start"].max() if len(roles) else pd.Timestamp("2024-01-01")
        statements = export_bods(
            frames["enterprises"],
            frames["persons"],
            roles,
            day,
            include_ended=True,
            external=frames["external_parties"],
        )
        assert schema_errors(statements) == [], path.name
