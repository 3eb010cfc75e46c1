"""The bad-input corpus (tests/risk/corpus) through ``credlink ingest``, on SQLite and PostgreSQL.

One directory holds every case, so this is also the test that a corrupt or refused file among
good ones stops nothing. For each file the test asserts what an operator relies on:

- a summary exists, with a status and (unless ok) a message, and a batch row in the store;
- ``read = inserted + updated + unchanged + quarantined``, with ``read`` equal to the data
  rows the test counts itself (lines of text, rows of a sheet, Parquet rows) for every file
  ingested, and 0 for a refused one;
- the status, the number of quarantined rows and a reason (or message) are the expected ones;
- every quarantine row names its row (within the file) and its column, and gives a reason;
- no resident ID number anywhere: not in any text of any table (ingest_batches and quarantine
  included), not in the command's output (JSON and tables), not in ``quarantine list``, not
  in a log record or a warning;
- on PostgreSQL, the outcome (every summary and every quarantine row) is the one SQLite gives.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, MetaData, select
from typer.testing import CliRunner

from risk.identifiers import contains_id_number, mask_id_numbers
from serving.cli import app
from tests.risk.corpus.cases import Case, write_corpus

runner = CliRunner()


def _holds_id(text: str) -> bool:
    """The one detector, on the text as stored and as a person would read it."""
    squeezed = unicodedata.normalize("NFKC", text).replace(" ", "")
    return contains_id_number(text) or contains_id_number(squeezed)


def _shown(text: str) -> str:
    """A failure message's view of a text: every spelling of an ID number masked."""
    return mask_id_numbers(unicodedata.normalize("NFKC", text).replace(" ", ""))[:200]


def _label(name: str) -> str:
    """How ingest names a file: ID numbers masked, undecodable bytes replaced."""
    return mask_id_numbers(name.encode("utf-8", "replace").decode("utf-8"))


# --------------------------------------------------------------------------- counting


def _text_rows(path: Path, case: Case) -> tuple[int, int]:
    """Data rows of a text file (non-blank lines after the header, minus continuation lines)
    and its number of lines."""
    text = path.read_bytes().decode(case.encoding, errors="ignore")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()  # after the final line break
    filled = [line for line in lines[1:] if line.replace(",", "").replace("\t", "").strip()]
    return len(filled) - case.continuation_lines, len(lines)


def _sheet_rows(path: Path, sheet: str) -> tuple[int, int]:
    """Rows with a value below a sheet's header, and the sheet's last row number."""
    book = openpyxl.load_workbook(path)
    rows = [any(c.value is not None for c in row) for row in book[sheet].iter_rows()]
    header = rows.index(True)
    return sum(rows[header + 1 :]), len(rows)


def _physical(folder: Path, case: Case, sheet: str | None) -> tuple[int, int]:
    """(data rows, highest row number a quarantine row may name), counted by the test."""
    path = folder / case.name
    if path.suffix == ".parquet":
        rows = pq.read_metadata(path).num_rows
        return rows, rows + 1
    if path.suffix == ".xlsx":
        return _sheet_rows(path, sheet or openpyxl.load_workbook(path).sheetnames[0])
    return _text_rows(path, case)


# --------------------------------------------------------------------------- store


def _store_texts(engine: Engine) -> list[tuple[str, str]]:
    """(table, text) for every text value of every table, JSON documents and their parts."""
    meta = MetaData()
    found: list[tuple[str, str]] = []

    def walk(table: str, value: Any) -> None:
        if isinstance(value, str):
            found.append((table, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(table, key)
                walk(table, item)
        elif isinstance(value, list):
            for item in value:
                walk(table, item)

    with engine.connect() as conn:
        meta.reflect(conn)
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    walk(table.name, value)
                    if isinstance(value, dict | list):
                        found.append((table.name, json.dumps(value, ensure_ascii=False)))
    return found


def _quarantine_rows(engine: Engine) -> dict[int, list[dict[str, Any]]]:
    from risk.store import quarantine

    by_batch: dict[int, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(quarantine).order_by(quarantine.c.id)):
            by_batch.setdefault(row.batch_id, []).append(dict(row._mapping))
    return by_batch


def _batches(engine: Engine) -> dict[int, dict[str, Any]]:
    from risk.store import ingest_batches

    with engine.connect() as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(select(ingest_batches))}


# --------------------------------------------------------------------------- running


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Case]]:
    monkeypatch.setenv("CREDLINK_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("CREDLINK_ID_SALT", "corpus-salt-0123456789")
    monkeypatch.delenv("CREDLINK_DATABASE_URL", raising=False)
    folder = tmp_path / "corpus"
    return folder, write_corpus(folder)


def _ingest_json(folder: Path, url: str) -> tuple[dict[str, Any], str]:
    result = runner.invoke(app, ["ingest", str(folder), "--json", "--database-url", url])
    assert result.exit_code == 1, result.output  # some files are refused, the rest go in
    return json.loads(result.stdout), result.output


def _outcome(summary: dict[str, Any], quarantined: list[dict[str, Any]]) -> dict[str, Any]:
    """What must be the same on both backends: the summary and its quarantine rows."""
    kept = ("source", "table", "status", "read", "inserted", "updated", "unchanged")
    kept += ("quarantined", "orphans", "orphan_examples", "ignored_columns", "message")
    return {k: summary[k] for k in kept} | {
        "quarantine": [
            (q["row_number"], q["column_name"], q["reason"], q["raw"]) for q in quarantined
        ]
    }


def test_corpus(
    engine: Engine,
    corpus: tuple[Path, list[Case]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder, cases = corpus
    url = engine.url.render_as_string(hide_password=False)
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report, json_output = _ingest_json(folder, url)
        again = runner.invoke(app, ["ingest", str(folder), "--database-url", url])
        listed = runner.invoke(
            app, ["quarantine", "list", "--limit", "100000", "--database-url", url]
        )
        listed_json = runner.invoke(
            app, ["quarantine", "list", "--json", "--limit", "100000", "--database-url", url]
        )
    assert again.exit_code == 1, again.output
    assert listed.exit_code == listed_json.exit_code == 0

    summaries = {Path(f["source"]).name: f for f in report["files"]}
    batches = _batches(engine)
    quarantine = _quarantine_rows(engine)
    expected_names = set()
    outcomes = {}
    for case in cases:
        for expect in case.expect:
            label = _label(case.name) + (f"#{expect.sheet}" if expect.sheet else "")
            expected_names.add(label)
            summary = summaries.get(label)
            assert summary is not None, f"{label}: no summary; got {sorted(summaries)}"
            where = f"{label}: {summary}"
            assert summary["status"] == expect.status, where
            assert summary["reconciled"], where
            batch = batches[summary["batch_id"]]  # every file has its batch row
            assert (batch["status"], batch["source"]) == (summary["status"], summary["source"])
            rows = quarantine.get(summary["batch_id"], [])
            if expect.status == "ok":
                data_rows, last_row = _physical(folder, case, expect.sheet)
                assert summary["read"] == data_rows, where
                assert summary["quarantined"] == expect.quarantined, (where, rows)
                assert len({r["row_number"] for r in rows}) == expect.quarantined
                assert batch["rows_read"] == summary["read"]
            else:
                assert summary["read"] == 0 and rows == [], where
                assert summary["message"], where
            for row in rows:  # every reason names its row and its column
                assert 2 <= row["row_number"] <= last_row, (where, row)
                assert row["column_name"], (where, row)
                assert row["reason"], (where, row)
            if expect.pattern is not None:
                texts = [r["reason"] for r in rows] if rows else [summary["message"]]
                assert any(re.search(expect.pattern, t) for t in texts), (where, texts)
            outcomes[label] = _outcome(summary, rows)
    assert set(summaries) == expected_names  # one summary per file (per sheet), no other

    for table, text in _store_texts(engine):
        assert not _holds_id(text), f"ID number in {table}: {_shown(text)}"
    for name, output in {
        "ingest --json": json_output,
        "ingest": again.output,
        "quarantine list": listed.output,
        "quarantine list --json": listed_json.output,
        "logs": caplog.text,
        "warnings": "\n".join(str(w.message) for w in caught),
    }.items():
        leaks = [line for line in output.splitlines() if _holds_id(line)]
        assert not leaks, f"ID number in the {name} output: {[_shown(x) for x in leaks]}"

    if engine.dialect.name != "sqlite":  # the same outcome as on SQLite, file by file
        reference = f"sqlite:///{tmp_path / 'reference.db'}"
        sqlite_report, _ = _ingest_json(folder, reference)
        from risk.store import open_engine

        sqlite_engine = open_engine(reference)
        sqlite_quarantine = _quarantine_rows(sqlite_engine)
        sqlite_engine.dispose()
        for summary in sqlite_report["files"]:
            label = Path(summary["source"]).name
            rows = sqlite_quarantine.get(summary["batch_id"], [])
            assert _outcome(summary, rows) == outcomes[label], label
