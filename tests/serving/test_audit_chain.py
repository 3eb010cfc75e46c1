"""The tamper-evident audit log: one hash chain, whoever writes, and ``credlink audit verify``.

Every test runs on SQLite and PostgreSQL. Tampering is done as an attacker with the database
password would: drop (or disable) the append-only trigger, then change or remove a row.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

import serving.audit
from risk.audit_chain import GENESIS_HASH, link_rows, row_hash, verify_chain
from risk.store import audit_log, migrate, open_engine
from serving.audit import AuditContext, AuditWriter, audit_row, insert_audit_rows
from serving.cli import app
from serving.keys import create_key
from serving.roles import KeyRole

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _rows(engine: Engine, n: int, tag: str) -> list[dict[str, Any]]:
    key = create_key(engine, KeyRole.bank, "链银行").key
    context = AuditContext(
        key=key,
        uscc="91110000600037341L",
        authorization_id="SQ-1",
        purpose="pre_credit",
        authorization_expires=date(2099, 12, 31),
    )
    return [
        audit_row(
            context,
            request_id=f"{tag}-{i:05d}",
            method="GET",
            route="/v1/entities/{uscc}/risk",
            query="depth=2" if i % 2 else "",
            status=200,
            body=f"{tag}{i}".encode(),
        )
        for i in range(n)
    ]


def _verify(engine: Engine, anchor: tuple[int, str] | None = None) -> Any:
    with engine.connect() as conn:
        return verify_chain(conn, anchor)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def _drop_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_change ON audit_log")


@pytest.fixture
def chained(engine: Engine) -> Iterator[Engine]:
    """A store with 12 chained rows written in three transactions."""
    rows = _rows(engine, 12, "c")
    for start in (0, 5, 9):
        insert_audit_rows(engine, rows[start : start + {0: 5, 5: 4, 9: 3}[start]])
    yield engine


def test_rows_are_chained_in_id_order(chained: Engine) -> None:
    with chained.connect() as conn:
        found = conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings()
        rows = [dict(r) for r in found]
    assert [r["id"] for r in rows] == list(range(1, 13))
    previous = GENESIS_HASH
    for row in rows:
        assert row["prev_hash"] == previous
        assert row["row_hash"] == row_hash(previous, row)
        previous = row["row_hash"]
    report = _verify(chained)
    assert report.ok and report.rows == 12
    assert (report.head_id, report.head_hash) == (12, previous)


def test_a_changed_row_is_named(chained: Engine) -> None:
    _drop_triggers(chained)
    with chained.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 7).values(status=404))
    report = _verify(chained)
    assert not report.ok
    assert report.first_break.id == 7
    assert "row 7's values do not match its row_hash" in report.first_break.problem
    assert report.broken == 1  # the rows after it still link to its stored hash


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(chained: Engine) -> None:
    _drop_triggers(chained)
    with chained.connect() as conn:
        row = dict(conn.execute(select(audit_log).where(audit_log.c.id == 4)).mappings().one())
    forged = {**row, "status": 500}
    with chained.begin() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.id == 4)
            .values(status=500, row_hash=row_hash(row["prev_hash"], forged))
        )
    report = _verify(chained)
    assert report.first_break.id == 5
    assert "prev_hash must be the row_hash of row 4" in report.first_break.problem


def test_a_deleted_row_is_named_by_the_gap(chained: Engine) -> None:
    _drop_triggers(chained)
    with chained.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id == 6))
    report = _verify(chained)
    assert report.first_break.id == 7
    assert "rows between 5 and 7 were deleted" in report.first_break.problem


def test_deleting_the_oldest_rows_is_named(chained: Engine) -> None:
    _drop_triggers(chained)
    with chained.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id <= 2))
    report = _verify(chained)
    assert report.first_break.id == 3 and "older rows were deleted" in report.first_break.problem


def test_removed_newest_rows_are_caught_by_the_anchor(chained: Engine) -> None:
    head = _verify(chained)
    anchor = (head.head_id, head.head_hash)
    assert _verify(chained, anchor).ok
    _drop_triggers(chained)
    with chained.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id >= 11))
    report = _verify(chained, anchor)
    assert report.first_break is None  # a shorter chain is still a chain …
    assert "it ends at row 10" in str(report.anchor_problem)  # … the anchor tells
    assert not report.ok


def test_a_row_written_outside_the_chain_is_named(chained: Engine) -> None:
    row = _rows(chained, 1, "plain")[0]
    with chained.begin() as conn:
        conn.execute(audit_log.insert(), [row])  # a plain insert: no hashes
    report = _verify(chained)
    assert report.first_break.id == 13 and "has no hash" in report.first_break.problem


def test_dropped_triggers_are_reported(chained: Engine) -> None:
    _drop_triggers(chained)
    report = _verify(chained)
    assert report.first_break is None and not report.ok
    if chained.dialect.name == "sqlite":
        assert [p.split(" is ")[0] for p in report.trigger_problems] == [
            "trigger audit_log_no_update",
            "trigger audit_log_no_delete",
        ]
    else:
        assert report.trigger_problems == [
            "trigger audit_log_no_change is missing: audit_log rows can be changed or removed"
        ]


def test_a_disabled_or_rewritten_trigger_is_reported(chained: Engine) -> None:
    with chained.begin() as conn:
        if chained.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
            conn.exec_driver_sql(
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END"
            )
            expected = "trigger audit_log_no_delete was rewritten"
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate")
            expected = "trigger audit_log_no_truncate is disabled"
    problems = _verify(chained).trigger_problems
    assert len(problems) == 1 and problems[0].startswith(expected)


def test_concurrent_threads_extend_one_chain(engine: Engine) -> None:
    rows = _rows(engine, 240, "t")
    errors: list[BaseException] = []

    def write(part: list[dict[str, Any]]) -> None:
        try:
            for start in range(0, len(part), 3):
                insert_audit_rows(engine, part[start : start + 3])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(rows[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = _verify(engine)
    assert report.ok and report.rows == 240


def test_the_group_commit_writer_and_direct_writers_extend_one_chain(engine: Engine) -> None:
    """The writer thread of the middleware and the batch route's direct inserts, together."""
    rows = _rows(engine, 200, "w")
    writer = AuditWriter(engine, max_batch=16)

    async def main() -> None:
        direct = [
            asyncio.to_thread(insert_audit_rows, engine, rows[i : i + 10])
            for i in range(100, 200, 10)
        ]
        await asyncio.gather(*(writer.write(row) for row in rows[:100]), *direct)

    asyncio.run(main())
    writer.close()
    report = _verify(engine)
    assert report.ok and report.rows == 200


_WRITER = textwrap.dedent(
    """
    import sys
    import time
    from datetime import UTC, datetime
    from sqlalchemy import text
    from risk.store import open_engine
    from serving.audit import insert_audit_rows

    url, tag, key_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    engine = open_engine(url)
    time.sleep(max(0.0, float(sys.argv[5]) - time.time()))  # start together


    def others() -> int:
        with engine.connect() as conn:
            query = text("SELECT count(*) FROM audit_log WHERE request_id NOT LIKE :t")
            return conn.execute(query, {"t": f"{tag}-%"}).scalar_one()


    for i in range(n):
        if i == n // 2:  # a loaded machine may run one process to its end first:
            deadline = time.time() + 60  # the second half waits for the other's first row
            while others() == 0 and time.time() < deadline:
                time.sleep(0.01)
        row = {
            "at": datetime.now(UTC), "request_id": f"{tag}-{i:05d}", "key_id": key_id,
            "institution": "链银行", "role": "bank", "uscc": None, "authorization_id": None,
            "purpose": None, "authorization_expires": None, "method": "GET", "route": "/p",
            "query": None, "status": 200, "response_sha256": "0" * 64,
        }
        insert_audit_rows(engine, [row])
    """
)


def test_two_processes_extend_one_chain(engine: Engine) -> None:
    key_id = create_key(engine, KeyRole.bank, "链银行").key.id
    url = engine.url.render_as_string(hide_password=False)
    start = str(time.time() + 4)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, tag, str(key_id), "150", start],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stderr=subprocess.PIPE,
        )
        for tag in ("p1", "p2")
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()
    report = _verify(engine)
    assert report.ok and report.rows == 300
    with engine.connect() as conn:
        ids = select(audit_log.c.request_id).order_by(audit_log.c.id)
        tags = [r[:2] for r in conn.execute(ids).scalars()]
    assert tags.count("p1") == tags.count("p2") == 150
    switches = sum(a != b for a, b in itertools.pairwise(tags))
    assert switches >= 2  # the two processes did write at the same time


def test_migration_chains_the_rows_written_before_it(store_url: str) -> None:
    engine = open_engine(store_url)
    try:
        migrate(engine, "0003")
        key_id = create_key_at_0003(engine)
        with engine.begin() as conn:
            for i in range(4):
                conn.execute(
                    text(
                        "INSERT INTO audit_log (at, request_id, key_id, institution, role, "
                        "method, route, status, response_sha256, authorization_expires) "
                        "VALUES (:at, :r, :k, '旧银行', 'bank', 'GET', '/r', 200, :h, :d)"
                    ),
                    {
                        "at": datetime(2026, 6, 30, 8, i, tzinfo=UTC),
                        "r": f"old-{i}",
                        "k": key_id,
                        "h": "f" * 64,
                        "d": date(2026, 12, 31),
                    },
                )
        migrate(engine)
        report = _verify(engine)
        assert report.ok and report.rows == 4  # chained, and the triggers are back
        insert_audit_rows(engine, _rows(engine, 2, "new"))
        assert _verify(engine).ok and _count(engine) == 6
    finally:
        engine.dispose()


def create_key_at_0003(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO api_keys (prefix, key_hash, role, institution, created_at) "
                    "VALUES ('clk_old', :h, 'bank', '旧银行', :at) RETURNING id"
                ),
                {"h": "0" * 64, "at": datetime(2026, 1, 1, tzinfo=UTC)},
            ).scalar_one()
        )


# --------------------------------------------------------------------------- the command


def _cli(engine: Engine, *args: str) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    return runner.invoke(app, ["audit", "verify", "--database-url", url, *args])


def test_cli_verify_passes_then_names_the_broken_row(chained: Engine) -> None:
    whole = _cli(chained, "--json")
    assert whole.exit_code == 0, whole.output
    report = json.loads(whole.stdout)
    assert report["ok"] and report["rows"] == 12 and report["head"]["id"] == 12
    anchor = f"12:{report['head']['row_hash']}"
    assert _cli(chained, "--anchor", anchor).exit_code == 0
    _drop_triggers(chained)
    with chained.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(uscc="91110000600037341X"))
    broken = _cli(chained)
    assert broken.exit_code == 1
    assert "broken link at row 3" in broken.output
    assert "trigger audit_log_no_" in broken.output
    as_json = json.loads(_cli(chained, "--json").stdout)
    assert as_json["first_break"]["id"] == 3 and not as_json["ok"]


@pytest.mark.parametrize("anchor", ["12", "x:" + "0" * 64, "12:" + "0" * 63, "12:" + "g" * 64])
def test_cli_verify_refuses_a_malformed_anchor(chained: Engine, anchor: str) -> None:
    result = _cli(chained, "--anchor", anchor)
    assert result.exit_code == 2
    assert "anchor must be ID:HASH" in result.output


def test_cli_verify_on_a_store_without_the_chain(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0003")
    result = _cli(engine)
    assert result.exit_code == 2 and "credlink db upgrade" in result.output
    engine.dispose()


def test_the_store_refuses_a_fork_of_the_chain(chained: Engine) -> None:
    """Two writers that read the same head claim the same next id: only one can append."""
    head = _verify(chained)
    fork = link_rows(_rows(chained, 1, "fork"), head.head_id + 1, head.head_hash)
    other = link_rows(_rows(chained, 1, "other"), head.head_id + 1, head.head_hash)
    with chained.begin() as conn:
        conn.execute(audit_log.insert(), fork)
    with pytest.raises(IntegrityError), chained.begin() as conn:
        conn.execute(audit_log.insert(), other)
    assert _verify(chained).ok


def test_a_writer_that_lost_the_race_rereads_the_head(
    chained: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head read just before another writer appended: the insert is refused (the id and
    the predecessor are taken) and retried after the new head, never forked."""
    stale = (11, _verify_head_of(chained, 11))
    reads: list[tuple[int, str]] = []
    real = serving.audit.chain_head

    def first_stale(conn: Any) -> tuple[int, str]:
        head = stale if not reads else real(conn)
        reads.append(head)
        return head

    monkeypatch.setattr(serving.audit, "chain_head", first_stale)
    (row_id,) = insert_audit_rows(chained, _rows(chained, 1, "late"))
    assert row_id == 13
    assert [h[0] for h in reads] == [11, 12]
    assert _verify(chained).ok


def test_a_duplicate_request_id_is_not_retried(chained: Engine) -> None:
    row = _rows(chained, 1, "c")[0]  # the request id of row 1 again
    with pytest.raises(IntegrityError, match="request_id"):
        insert_audit_rows(chained, [row])
    assert _verify(chained).ok and _count(chained) == 12


def _verify_head_of(engine: Engine, row_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(audit_log.c.row_hash).where(audit_log.c.id == row_id)).scalar_one()
        )
