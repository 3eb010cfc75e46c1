"""The audit's group commit (:class:`serving.audit.AuditWriter`) on SQLite and PostgreSQL.

Concurrent calls share transactions, yet each call learns the id of its own committed row;
a failed transaction fails exactly the calls whose rows it held; a caller that gives up does
not strand the others. Request ids are unique without a system call each.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String, cast, func, insert, select
from sqlalchemy.exc import OperationalError

import serving.audit
from risk.store import audit_log, migrate, open_engine
from serving.audit import AuditContext, AuditWriter, audit_row
from serving.keys import create_key
from serving.middleware import call_of_item, item_request_id, request_ids
from serving.roles import KeyRole


def _rows(engine: Engine, n: int, tag: str) -> list[dict[str, Any]]:
    key = create_key(engine, KeyRole.bank, "组提交银行").key
    context = AuditContext(key=key, uscc="91110000600037341L", authorization_id="SQ-9")
    return [
        audit_row(
            context,
            request_id=f"{tag}-{i:05d}",
            method="POST",
            route="/v1/precredit/assessments",
            query="",
            status=200,
            body=f'{{"n": {i}}}'.encode(),
        )
        for i in range(n)
    ]


def _stored(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {r.id: r.request_id for r in conn.execute(select(audit_log))}


def test_concurrent_writes_share_transactions_and_each_gets_its_row(engine: Engine) -> None:
    rows = _rows(engine, 300, "grp")
    writer = AuditWriter(engine, max_batch=64)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(writer.write(row) for row in rows)))

    ids = asyncio.run(main())
    writer.close()
    assert len(set(ids)) == len(rows)
    stored = _stored(engine)
    assert [stored[i] for i in ids] == [row["request_id"] for row in rows]  # its own row
    assert 300 / 64 <= writer.transactions < len(rows)  # grouped, within the batch limit


def test_a_failed_transaction_fails_its_calls_only(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(engine, 6, "fail")
    writer = AuditWriter(engine)
    real = serving.audit.insert_audit_rows

    def locked(*args: Any, **kwargs: Any) -> list[int]:
        raise OperationalError("INSERT INTO audit_log", {}, Exception("database is locked"))

    async def main() -> tuple[list[Any], list[int]]:
        monkeypatch.setattr(serving.audit, "insert_audit_rows", locked)
        failed = await asyncio.gather(*(writer.write(r) for r in rows[:3]), return_exceptions=True)
        monkeypatch.setattr(serving.audit, "insert_audit_rows", real)
        return failed, [await writer.write(r) for r in rows[3:]]

    failed, later = asyncio.run(main())
    writer.close()
    assert all(isinstance(f, OperationalError) for f in failed)
    stored = _stored(engine)
    assert sorted(stored.values()) == [r["request_id"] for r in rows[3:]]  # nothing half-kept
    assert [stored[i] for i in later] == [r["request_id"] for r in rows[3:]]


def test_a_caller_that_gives_up_strands_nobody(engine: Engine) -> None:
    rows = _rows(engine, 20, "cancel")
    writer = AuditWriter(engine)

    async def main() -> list[int]:
        first = asyncio.create_task(writer.write(rows[0]))  # starts the flusher
        others = [asyncio.create_task(writer.write(row)) for row in rows[1:]]
        await asyncio.sleep(0)
        first.cancel()
        return list(await asyncio.gather(*others))

    ids = asyncio.run(main())
    writer.close()
    stored = _stored(engine)
    assert [stored[i] for i in ids] == [r["request_id"] for r in rows[1:]]
    # The cancelled caller's row was still written: the audit keeps every answered call.
    assert len(stored) == len(rows)


def test_writer_rejects_an_empty_batch_limit(engine: Engine) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        AuditWriter(engine, max_batch=0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0


def test_request_ids_are_unique_across_processes_and_ordered_within_one() -> None:
    one, two = request_ids(), request_ids()
    first = [next(one) for _ in range(1000)]
    second = [next(two) for _ in range(1000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in first + second)
    assert len(set(first) | set(second)) == 2000
    assert first == sorted(first)


def test_item_request_ids_are_unique_and_name_their_call() -> None:
    ids = request_ids()
    calls = [next(ids) for _ in range(300)]
    items = [item_request_id(call, index) for call in calls for index in (0, 1, 999)]
    assert len(set(items)) == len(items) and all(len(i) == 32 for i in items)
    assert not set(items) & set(calls)
    assert [call_of_item(i) for i in items] == [c for c in calls for _ in range(3)]


@pytest.mark.parametrize(
    ("request_id", "index", "match"),
    [
        ("0" * 32, -1, "index must be between 0 and 999; got -1"),
        ("0" * 32, 1000, "index must be between 0 and 999; got 1000"),
        ("abc", 0, "request_id must be 32 hex digits; got 'abc'"),
        ("g" * 32, 0, "request_id must be 32 hex digits"),
        ("0" * 16 + "f" * 16, 0, "counter must be below 16\\*\\*12"),
    ],
)
def test_item_request_id_refuses_what_is_not_a_call(
    request_id: str, index: int, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        item_request_id(request_id, index)


@pytest.mark.parametrize(
    "item_id", ["0" * 32, "0" * 27 + "-001", "g" * 28 + "-001", "0" * 28 + "-x"]
)
def test_call_of_item_refuses_what_is_not_an_item(item_id: str) -> None:
    with pytest.raises(ValueError, match="item_id must be"):
        call_of_item(item_id)


def test_rows_are_stored_exactly_as_a_plain_insert_stores_them(engine: Engine) -> None:
    """The chained insert stores values as SQLAlchemy's own insert does."""
    fast, plain = _rows(engine, 2, "same")
    at = datetime(2026, 11, 21, 12, 0, 1, 123456, tzinfo=UTC)
    fast = {**fast, "at": at, "authorization_expires": date(2026, 12, 31), "query": "a=1"}
    plain = {**fast, "request_id": "same-plain"}
    (fast_id,) = serving.audit.insert_audit_rows(engine, [fast])
    with engine.begin() as conn:
        conn.execute(insert(audit_log), [plain])
    columns = [
        c for c in audit_log.c if c.name not in ("id", "request_id", "prev_hash", "row_hash")
    ]
    with engine.connect() as conn:
        # Compare what the database holds, as text, not what SQLAlchemy reads back.
        stored = conn.execute(
            select(*(cast(c, String) for c in columns))
            .where(audit_log.c.request_id.in_(["same-00000", "same-plain"]))
            .order_by(audit_log.c.request_id)
        ).all()
        assert (
            conn.execute(
                select(audit_log.c.request_id).where(audit_log.c.id == fast_id)
            ).scalar_one()
            == "same-00000"
        )
    assert len(stored) == 2 and stored[0] == stored[1]


def _hold_write_lock(
    path: str, seconds: float, release: threading.Event | None = None
) -> threading.Thread:
    """Another process's transaction, as SQLite sees it: a connection holding the write lock
    for ``seconds``, or until ``release`` is set (at most 30 s)."""
    locked = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        if release is None:
            time.sleep(seconds)
        else:
            release.wait(30)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait()
    return thread


def test_sqlite_insert_waits_out_another_writer_then_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    migrate(engine)
    first, second = _rows(engine, 2, "lock")
    holder = _hold_write_lock(str(tmp_path / "audit.db"), 0.3)
    started = time.monotonic()
    (row_id,) = serving.audit.insert_audit_rows(engine, [first])  # retried until released
    assert time.monotonic() - started >= 0.25
    holder.join()
    assert _stored(engine) == {row_id: first["request_id"]}
    monkeypatch.setattr(serving.audit, "_LOCKED_SECONDS", 0.1)
    # Held until the insert gave up: a loaded machine cannot let the lock go first.
    release = threading.Event()
    holder = _hold_write_lock(str(tmp_path / "audit.db"), 0, release)
    try:
        with pytest.raises(OperationalError, match="locked"):
            serving.audit.insert_audit_rows(engine, [second])
    finally:
        release.set()
        holder.join()
    # The connection went back to the pool with SQLite's usual busy timeout.
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
    engine.dispose()
