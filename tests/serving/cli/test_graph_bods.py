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
        assert invoke(
            store_url, tmp_path, "graph", "import-bods", str(tmp_path / name)
        ).exit_code in (0, 1)
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
