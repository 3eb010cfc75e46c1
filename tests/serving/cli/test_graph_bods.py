"""``credlink graph import-bods`` / ``controller`` / ``export-bods`` on Open Ownership's
published BODS 0.4 examples, from an empty store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from risk.identifiers import make_uscc
from risk.store import quarantine, read_table
from serving.cli import app
from tests.risk.test_bods_schema import schema_errors

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "risk" / "bods_examples" / "openownership"
FERMCAT = "IRL-BAU-434151"  # Fermcat Ltd, keyed by its register (scheme IRL-BAU, id 434151)


def invoke(store_url: str, work: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "--database-url", store_url, "--work-dir", str(work)])


def _handled(result: Any) -> None:
    """Exit 0, or exit 1 because statements were skipped and reported — never a crash
    (CliRunner also returns 1 for an unhandled exception)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code == 0 or (
        result.exit_code == 1 and "not mapped cleanly" in result.output
    ), result.output


def _owners(result: Any) -> list[tuple[str, float]]:
    payload = json.loads(result.stdout)
    return [(o["person_id"], round(o["effective_share"], 6)) for o in payload["owners"]]


def test_fermcat_from_an_empty_store_answers_for_past_dates(store_url: str, tmp_path: Path) -> None:
    # An empty store: the import once crashed under pandas 3 (empty datetime columns).
    target = tmp_path / "fermcat.json"
    shutil.copy(EXAMPLES / "fermcat.json", target)
    imported = invoke(store_url, tmp_path, "graph", "import-bods", str(target))
    assert imported.exit_code == 0, imported.output
    assert "external parties" in imported.output

    def controller(as_of: str, threshold: str) -> Any:
        args = ["graph", "controller", FERMCAT, "--as-of", as_of, "--threshold", threshold]
        result = invoke(store_url, tmp_path, *args, "--json")
        assert result.exit_code == 0, result.output
        return result

    # 2020: two owners at 50 % each — not 66.67 % from the latest statement. At 25 % both are
    # beneficial owners; at 50 % neither alone controls.
    both = controller("2020-06-30", "0.25")
    assert [share for _, share in _owners(both)] == [0.5, 0.5]
    assert json.loads(both.stdout)["status"] == "no_natural_person_controller"
    assert "并列" in json.loads(both.stdout)["explanation"]
    # 2021: Declan inherited his father's 50 % (2021-04-03); 2022: Patrick bought him out.
    later = controller("2021-06-30", "0.25")
    assert [share for _, share in _owners(later)] == [0.5, 0.5]
    assert _owners(later) != _owners(both)  # another pair of persons
    alone = json.loads(controller("2022-06-30", "0.5").stdout)
    assert alone["status"] == "natural_person" and alone["effective_share"] == 1.0
    # Persons known without an ID number are external parties, named in the text.
    args = ["graph", "controller", FERMCAT, "--as-of", "2020-06-30", "--threshold", "0.25"]
    text = invoke(store_url, tmp_path, *args)
    assert text.exit_code == 0, text.output
    assert "受益所有人 (≥ 25%): " in text.output and "50%" in text.output


def test_quarantine_names_the_bods_file_and_cn_usci_is_accepted(
    store_url: str, tmp_path: Path
) -> None:
    good = make_uscc("9", "1", "340321", "MA0000001")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # fails the check character

    def entity(record_id: str, uscc: str) -> dict[str, Any]:
        return {
            "statementId": f"{record_id:0>32}",
            "declarationSubject": record_id,
            "statementDate": "2024-01-01",
            "recordId": record_id,
            "recordType": "entity",
            "recordDetails": {
                "isComponent": False,
                "entityType": {"type": "registeredEntity"},
                "name": f"企业{record_id}",
                "identifiers": [{"id": uscc, "scheme": "CN-USCI"}],
            },
        }

    target = tmp_path / "cn.json"
    target.write_text(json.dumps([entity("1", good), entity("2", bad)]), encoding="utf-8")
    result = invoke(store_url, tmp_path, "graph", "import-bods", str(target))
    assert result.exit_code == 0, result.output  # a quarantined row is reported, not fatal
    engine = create_engine(store_url)
    try:
        # CN-USCI (org-id.guide's scheme for 统一社会信用代码) is an enterprise, without a
        # foundingDate: founded from the statement date, not quarantined.
        stored = read_table(engine, "enterprises")
        assert list(stored["uscc"]) == [good]
        assert str(stored.loc[0, "founded"].date()) == "2024-01-01"
        with engine.connect() as conn:
            sources = list(conn.execute(select(quarantine.c.source)).scalars())
    finally:
        engine.dispose()
    assert sources == ["BODS cn.json (enterprises)"]  # never a deleted temporary file


def test_export_of_imported_examples_is_schema_valid(store_url: str, tmp_path: Path) -> None:
    names = (
        "tecido.json",
        "joint-ownership.json",
        "listed-company-exempt-from-disclosure.json",
        "indirect-ownership.json",
        "bods-package-entity-owning-entity.json",
    )
    for name in names:
        shutil.copy(EXAMPLES / name, tmp_path / name)
        imported = invoke(store_url, tmp_path, "graph", "import-bods", str(tmp_path / name))
        _handled(imported)
    target = tmp_path / "out.json"
    result = invoke(
        store_url, tmp_path, "graph", "export-bods", str(target), "--as-of", "2022-12-31"
    )
    assert result.exit_code == 0, result.output
    statements = json.loads(target.read_text(encoding="utf-8"))
    assert schema_errors(statements) == []
    shares = [
        i["share"]
        for s in statements
        if s["recordType"] == "relationship"
        for i in s["recordDetails"]["interests"]
        if "share" in i
    ]
    assert {"minimum": 75.0, "exclusiveMaximum": 100.0} in shares  # the range, kept
    parties = [
        s["recordDetails"]["interestedParty"]
        for s in statements
        if s["recordType"] == "relationship"
    ]
    assert "interestedPartyExemptFromDisclosure" in {
        p["reason"] for p in parties if isinstance(p, dict)
    }


def test_bad_input_is_one_line_not_a_traceback(store_url: str, tmp_path: Path) -> None:
    statement = {
        "statementId": "s" * 32,
        "declarationSubject": "x",
        "statementDate": "2024-01-01",
        "recordId": "x",
        "recordType": "entity",
        "recordDetails": {
            "isComponent": False,
            "entityType": {"type": "registeredEntity"},
            "jurisdiction": "GB",  # an object in BODS
        },
    }
    wrong_type = tmp_path / "wrong.json"
    wrong_type.write_text(json.dumps([statement]), encoding="utf-8")
    result = invoke(store_url, tmp_path, "graph", "import-bods", str(wrong_type))
    _handled(result)
    assert result.exit_code == 1
    assert "jurisdiction must be an object; got 'GB'" in " ".join(result.output.split())
    broken = tmp_path / "broken.json"
    broken.write_text("[{oops", encoding="utf-8")
    result = invoke(store_url, tmp_path, "graph", "import-bods", str(broken))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "cannot import:" in result.output and "Traceback" not in result.output
    folder = tmp_path / "folder.json"
    folder.mkdir()
    result = invoke(store_url, tmp_path, "graph", "import-bods", str(folder))
    assert result.exit_code == 2 and "cannot import:" in result.output


def test_summary_counts_the_persons_moved_to_external_parties(
    store_url: str, tmp_path: Path
) -> None:
    # fermcat.json: 3 persons without credlink's id and 1 company outside the Chinese
    # registers besides Fermcat itself — every person statement is accounted for.
    target = tmp_path / "fermcat.json"
    shutil.copy(EXAMPLES / "fermcat.json", target)
    result = invoke(store_url, tmp_path, "graph", "import-bods", str(target))
    assert result.exit_code == 0, result.output
    persons = [
        s for s in json.loads(target.read_text(encoding="utf-8")) if s["recordType"] == "person"
    ]
    known = {s["recordId"] for s in persons if s["recordDetails"]["personType"] == "knownPerson"}
    assert f"and {len(known)} persons outside the Chinese registers stored as external" in (
        " ".join(result.output.split())
    )
