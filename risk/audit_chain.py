"""The hash chain of the audit log: each row carries the hash of the one before it.

Every ``audit_log`` row stores ``prev_hash`` (the ``row_hash`` of the row before it, or
:data:`GENESIS_HASH` for the first) and ``row_hash`` = SHA-256 of ``prev_hash``, its ``id`` and
its canonical serialisation (:func:`row_hash`, :func:`canonical_row`: every other value as
compact JSON). Changing any value of a row, deleting
a row or inserting one in the middle breaks a link that :func:`verify_chain` names; the
append-only triggers of migration 0003 make the first two impossible without dropping them,
and :func:`trigger_problems` tells when they were dropped, disabled or rewritten.

One chain, whatever writes
    The store admits one successor per row: a row's successor has the next id, and ``id`` is
    the key. A writer reads the chain's head (:func:`chain_head`), links its rows after it
    (:func:`link_rows`) and inserts them in one statement; of two writers that read the same
    head, one succeeds and the other re-reads and retries (``serving.audit.insert_audit_rows``),
    so concurrent writers, threads or processes, extend one chain and no lock is held while
    Python runs.

What the chain cannot show
    Removing the newest rows leaves a shorter, valid chain: keep the head that
    :func:`verify_chain` reports (id and hash) somewhere else and check it later
    (``credlink audit verify --anchor ID:HASH``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from risk.store import audit_log

__all__ = [
    "CHAINED_COLUMNS",
    "GENESIS_HASH",
    "ChainBreak",
    "ChainReport",
    "canonical_row",
    "chain_head",
    "link_rows",
    "row_hash",
    "trigger_problems",
    "utc",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first row."""

CHAINED_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in audit_log.columns if c.name not in ("prev_hash", "row_hash")
)
"""The columns a row's hash covers: every column but the two hashes."""

_CONTENT_COLUMNS = tuple(name for name in CHAINED_COLUMNS if name != "id")

_SQLITE_TRIGGERS = {"audit_log_no_update": "UPDATE", "audit_log_no_delete": "DELETE"}
_POSTGRESQL_TRIGGERS = ("audit_log_no_change", "audit_log_no_truncate")


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC without tzinfo (a naive time is taken as UTC already).

    The one form a time is hashed and stored in: SQLite keeps a datetime's wall time and drops
    its zone, PostgreSQL returns it in the session's zone; both agree once in naive UTC.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"audit values must be str, int, date, datetime or None; got {value!r}")


def canonical_row(row: Mapping[str, Any]) -> bytes:
    """The row's values as its hash covers them: :data:`CHAINED_COLUMNS` but ``id``, as
    compact JSON (times UTC with microseconds, dates ISO, strings as stored, not escaped).

    The id is hashed apart (:func:`row_hash`), so that a writer can serialise its rows before
    it takes the chain's lock and learns their ids.

    Raises
    ------
    KeyError
        If a chained column is missing from ``row``.
    TypeError
        If a value is of another type.
    """
    values = [_canonical_value(row[name]) for name in _CONTENT_COLUMNS]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(prev_hash: str, row: Mapping[str, Any], content: bytes | None = None) -> str:
    """SHA-256 (hex) of ``prev_hash``, a newline, the row's ``id``, a newline and
    :func:`canonical_row` of ``row`` (``content``, when already computed)."""
    digest = hashlib.sha256(f"{prev_hash}\n{int(row['id'])}\n".encode("ascii"))
    digest.update(canonical_row(row) if content is None else content)
    return digest.hexdigest()


def link_rows(
    rows: Sequence[Mapping[str, Any]],
    first_id: int | Sequence[int],
    prev_hash: str,
    contents: Sequence[bytes] | None = None,
) -> list[dict[str, Any]]:
    """The rows with their ``id``, ``prev_hash`` and ``row_hash``, chained after ``prev_hash``.

    Parameters
    ----------
    rows
        ``audit_log`` values without ``id`` and hashes.
    first_id
        The id of the first row (the next ones follow by one), or each row's id.
    prev_hash
        The ``row_hash`` of the chain's head (:data:`GENESIS_HASH` on an empty log).
    contents
        :func:`canonical_row` of each row, if computed already (outside the lock).
    """
    ids = list(range(first_id, first_id + len(rows))) if isinstance(first_id, int) else first_id
    if len(ids) != len(rows):
        raise ValueError(f"first_id must give one id per row ({len(rows)}); got {len(ids)}")
    if contents is None:
        contents = [canonical_row(row) for row in rows]
    linked = []
    for row_id, row, content in zip(ids, rows, contents, strict=True):
        # Stored as an aware UTC time: PostgreSQL would read a naive one in its session zone.
        values = {**row, "id": row_id, "at": utc(row["at"]).replace(tzinfo=UTC)}
        values["prev_hash"] = prev_hash
        values["row_hash"] = prev_hash = row_hash(prev_hash, values, content)
        linked.append(values)
    return linked


def chain_head(conn: Connection) -> tuple[int, str]:
    """The newest row's id and ``row_hash``; ``(0, GENESIS_HASH)`` for an empty log."""
    head = conn.execute(
        select(audit_log.c.id, audit_log.c.row_hash).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    if head is None:
        return 0, GENESIS_HASH
    return int(head.id), str(head.row_hash) if head.row_hash is not None else ""


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link: the row and what differs."""

    id: int
    problem: str


@dataclass
class ChainReport:
    """What :func:`verify_chain` found.

    Attributes
    ----------
    rows
        Rows checked.
    head_id, head_hash
        The newest row and its ``row_hash`` (keep them to detect a truncated tail later).
    first_break
        The first broken link, or None.
    broken
        How many rows do not link (the first break and any after it).
    trigger_problems
        Missing, disabled or rewritten append-only triggers (:func:`trigger_problems`).
    anchor_problem
        Why the anchor given to :func:`verify_chain` does not hold, or None.
    """

    rows: int = 0
    head_id: int | None = None
    head_hash: str | None = None
    first_break: ChainBreak | None = None
    broken: int = 0
    trigger_problems: list[str] = field(default_factory=list)
    anchor_problem: str | None = None

    @property
    def ok(self) -> bool:
        """The chain is whole, the triggers are in place and the anchor holds."""
        return self.first_break is None and not self.trigger_problems and not self.anchor_problem

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": {"id": self.head_id, "row_hash": self.head_hash},
            "first_break": None
            if self.first_break is None
            else {"id": self.first_break.id, "problem": self.first_break.problem},
            "broken": self.broken,
            "trigger_problems": self.trigger_problems,
            "anchor_problem": self.anchor_problem,
        }


def verify_chain(
    conn: Connection, anchor: tuple[int, str] | None = None, chunk: int = 5000
) -> ChainReport:
    """Walk the whole log in id order and check every link and the append-only triggers.

    A row's link holds when its ``row_hash`` is the hash of its ``prev_hash`` and its values
    (else it was changed after it was written) and its ``prev_hash`` is the ``row_hash`` of the
    row before it (else rows between them were deleted, or it was inserted out of the chain).
    The chain, not the ids, tells whether a row is missing or was changed.

    Parameters
    ----------
    conn
        A connection to the store.
    anchor
        ``(id, row_hash)`` of a head kept earlier: the row must still be there, unchanged.
    chunk
        Rows read per query.
    """
    report = ChainReport(trigger_problems=trigger_problems(conn))
    columns = [audit_log.c[name] for name in (*CHAINED_COLUMNS, "prev_hash", "row_hash")]
    expected_prev, prev_id, after = GENESIS_HASH, None, 0
    while True:
        rows = conn.execute(
            select(*columns).where(audit_log.c.id > after).order_by(audit_log.c.id).limit(chunk)
        ).mappings()
        batch: list[Mapping[str, Any]] = [dict(row) for row in rows]
        if not batch:
            break
        for row in batch:
            problem = _link_problem(row, expected_prev, prev_id)
            if problem is not None:
                report.broken += 1
                if report.first_break is None:
                    report.first_break = ChainBreak(int(row["id"]), problem)
            if anchor is not None and row["id"] == anchor[0] and row["row_hash"] != anchor[1]:
                report.anchor_problem = (
                    f"row {anchor[0]}'s row_hash must be the anchor {anchor[1]}; "
                    f"got {row['row_hash']}"
                )
            expected_prev, prev_id = row["row_hash"], int(row["id"])
            report.rows += 1
        after = prev_id or after
    report.head_id, report.head_hash = prev_id, expected_prev if prev_id is not None else None
    if anchor is not None and (prev_id is None or prev_id < anchor[0]):
        report.anchor_problem = (
            f"the log must reach the anchor row {anchor[0]}; it ends at row {prev_id} "
            "(the newest rows were removed)"
        )
    elif anchor is not None and report.anchor_problem is None and not _has_row(conn, anchor[0]):
        report.anchor_problem = f"the anchor row {anchor[0]} must be in the log; it is missing"
    return report


def _has_row(conn: Connection, row_id: int) -> bool:
    return conn.execute(select(audit_log.c.id).where(audit_log.c.id == row_id)).first() is not None


def _link_problem(row: Mapping[str, Any], expected_prev: str, prev_id: int | None) -> str | None:
    row_id = row["id"]
    if row["row_hash"] is None or row["prev_hash"] is None:
        return f"row {row_id} has no hash: it was written outside the chain or its hash cleared"
    if row_hash(row["prev_hash"], row) != row["row_hash"]:
        return (
            f"row {row_id}'s values do not match its row_hash: the row was changed after it "
            "was written"
        )
    if row["prev_hash"] != expected_prev:
        if prev_id is None:
            return (
                f"row {row_id} is the oldest row but its prev_hash is not the genesis hash: "
                "older rows were deleted"
            )
        return (
            f"row {row_id}'s prev_hash must be the row_hash of row {prev_id}, the row before it; "
            f"it differs: rows between {prev_id} and {row_id} were deleted, or {row_id} was "
            "inserted out of the chain"
        )
    return None


def trigger_problems(conn: Connection) -> list[str]:
    """What is wrong with the append-only triggers of ``audit_log`` (empty when all is well).

    SQLite: ``audit_log_no_update`` and ``audit_log_no_delete`` exist, fire before UPDATE and
    DELETE and abort. PostgreSQL: ``audit_log_no_change`` and ``audit_log_no_truncate`` exist,
    are enabled and call a function that raises.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        found = {
            str(name): str(sql or "")
            for name, sql in conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_log'"
                )
            )
        }
        return list(_sqlite_trigger_problems(found))
    if dialect == "postgresql":
        rows = conn.execute(
            text(
                "SELECT t.tgname, t.tgenabled, p.prosrc FROM pg_trigger t "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE t.tgrelid = 'audit_log'::regclass AND NOT t.tgisinternal"
            )
        ).all()
        return list(_postgresql_trigger_problems({str(r[0]): (str(r[1]), str(r[2])) for r in rows}))
    return [f"the append-only triggers cannot be checked on {dialect}"]


def _sqlite_trigger_problems(found: Mapping[str, str]) -> Iterable[str]:
    for name, event in _SQLITE_TRIGGERS.items():
        sql = " ".join(found.get(name, "").upper().split())
        if not sql:
            yield f"trigger {name} is missing: {event} on audit_log is no longer refused"
        elif f"BEFORE {event} ON AUDIT_LOG" not in sql or "RAISE(ABORT" not in sql:
            yield f"trigger {name} was rewritten: it must abort every {event} on audit_log"


def _postgresql_trigger_problems(found: Mapping[str, tuple[str, str]]) -> Iterable[str]:
    for name in _POSTGRESQL_TRIGGERS:
        if name not in found:
            yield f"trigger {name} is missing: audit_log rows can be changed or removed"
            continue
        enabled, source = found[name]
        if enabled == "D":
            yield f"trigger {name} is disabled: audit_log rows can be changed or removed"
        if "RAISE EXCEPTION" not in source.upper():
            yield f"trigger {name}'s function was rewritten: it must raise an exception"
