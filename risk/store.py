"""The store: SQLAlchemy tables generated from the data contract, bookkeeping and warnings.

A SQLite file (WAL journal) by default; PostgreSQL when given a ``postgresql+psycopg://`` URL.
The schema is created and migrated by Alembic (:func:`migrate`); the migration scripts live in
``risk/migrations`` and a test checks that they produce exactly :data:`metadata`.

The contract tables get their columns from :mod:`risk.contract`; ``ingest_batches`` records
every ingested file (with its counts) and ``quarantine`` every refused row with its file, row
number, column and reason.

``api_keys`` holds the API keys of :mod:`serving` (banks, credit office, analysts, admins):
only the SHA-256 of each high-entropy token and a short prefix for identification, never the
token. ``audit_log`` is the append-only record of every bank call (DESIGN.md §6): who asked
(key, institution), about whom (USCC), under which authorization (授权编号, purpose, expiry),
on which route, with which status and the SHA-256 of the response body. Migration 0003 adds
triggers on SQLite and PostgreSQL that refuse UPDATE and DELETE on it; migration 0004 chains
its rows by hash (``prev_hash``, ``row_hash``: :mod:`risk.audit_chain`).

``loans`` is keyed by (bank, loan_id): loan ids are each bank's own, so one bank's report can
never touch another bank's loan. ``outcome_reports`` keeps, for every loan row a bank reported
through the API, the call's request id (its audit row) and the audit row of the authorized
query that entitled the bank to report on that enterprise.

Durability
    SQLite files run in WAL mode with ``synchronous=FULL``: a committed transaction (an audit
    row above all, whose commit releases an answer) survives a power cut, not only a crash of
    the process. Each commit costs one more sync of the WAL; ingest commits once per file.

``ui_sessions`` holds the credit-office web pages' login sessions (the SHA-256 of each session
id, never the id), so that logging out or revoking the key ends a session at once, and
``login_failures`` the failed web logins by client address and key prefix, shared by every
worker so that the lockout cannot be multiplied by spreading attempts over them (revision 0005).

``external_parties`` holds the parties outside the Chinese registers that roles name (revision
0008): foreign companies, trusts and state bodies keyed ``{scheme}-{id}`` (``GB-COH-06292597``)
and persons known without a resident ID number. They are graph nodes like any holder not in
``enterprises`` / ``persons``; this table gives them a name, their register and a flag. A
person's foreign identifier is kept only as a salted hash (``identifier_hash``).

``warnings`` holds the repeat-violator warnings (屡禁不止、屡罚不改 预警) of
:mod:`risk.warnings`, one row per warning with its lifecycle status, and ``warning_events`` the
append-only history of every change to them. At most one warning per enterprise and rule is
open (status other than ``closed``): the partial unique index ``ux_warnings_open`` enforces it
on SQLite and PostgreSQL alike.

About 640 lines because it is the one place the schema is declared (the contract tables,
bookkeeping, warnings, keys, audit, score sets) with the few primitives every writer shares
(:func:`serialized_transaction`, :func:`bulk_insert`); a split would spread one
``MetaData`` the migrations are checked against over several modules.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    case,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from risk.contract import TABLES, ColumnKind, ColumnSpec, Directness, TableSpec

__all__ = [
    "EARLIEST_DATE_COLUMNS",
    "SCORE_COLUMNS",
    "api_keys",
    "audit_log",
    "bulk_insert",
    "coerce_frame",
    "contract_table",
    "earliest_date",
    "external_parties",
    "ingest_batches",
    "login_failures",
    "metadata",
    "migrate",
    "open_engine",
    "outcome_reports",
    "quarantine",
    "read_table",
    "rows_frame",
    "score_events",
    "score_pointer",
    "score_sets",
    "score_tables",
    "serialized_transaction",
    "ui_sessions",
    "warning_events_table",
    "warnings_table",
]

metadata = MetaData()


def _sa_type(col: ColumnSpec) -> TypeEngine[Any]:
    match col.kind:
        case ColumnKind.date:
            return Date()
        case ColumnKind.number | ColumnKind.share:
            return Float()
        case ColumnKind.integer:
            return Integer()
        case ColumnKind.uscc:
            return String(64) if col.external else String(18)
        case ColumnKind.region:
            return String(6)
        case ColumnKind.industry:
            return String(1)
        case ColumnKind.enum:
            return String(32)
        case _:
            return String(col.max_length)


#: Key columns a row may be written without: ``roles.directness`` (a role is direct unless
#: declared indirect; migration 0008 sets the same server default).
_KEY_DEFAULTS = {("roles", "directness"): Directness.direct.value}


def _build(spec: TableSpec) -> Table:
    columns = [
        Column(
            c.name,
            _sa_type(c),
            nullable=c.nullable and c.name not in spec.key,
            server_default=_KEY_DEFAULTS.get((spec.name, c.name)),
        )
        for c in spec.columns
    ]
    # The key in the contract's order (loans: bank, then loan_id), whatever the column order.
    return Table(spec.name, metadata, *columns, PrimaryKeyConstraint(*spec.key))


_CONTRACT_TABLES: dict[str, Table] = {name: _build(spec) for name, spec in TABLES.items()}
Index("ix_records_subject", _CONTRACT_TABLES["records"].c.subject_id)
Index("ix_roles_holder", _CONTRACT_TABLES["roles"].c.holder_id)
Index("ix_loans_uscc", _CONTRACT_TABLES["loans"].c.uscc)

#: A loan's status history (revision 0009): the first date it was reported 90+ days overdue
#: and the first date in default. An update keeps the earlier of the stored and the reported
#: date (:func:`earliest_date`), so a cure or a later report never erases that it went bad.
EARLIEST_DATE_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"loans": ("overdue_90_date", "default_date")}
)


def earliest_date(stored: Any, reported: Any) -> ColumnElement[Any]:
    """The one rule of a status-history column: the earlier of two dates, missing ignored.

    Parameters
    ----------
    stored, reported
        SQL expressions (the table's column, the staged or bound new value).

    Returns
    -------
    sqlalchemy.sql.ColumnElement
        ``reported`` when nothing is stored, ``stored`` when nothing is reported, else the
        earlier of the two (``CASE``: SQLite's ``min`` of a NULL is NULL).
    """
    return case(
        (stored.is_(None), reported),
        (reported.is_(None), stored),
        (reported < stored, reported),
        else_=stored,
    )


ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("table_name", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("orphans", Integer, nullable=False, default=0),
    Column("message", Text, nullable=True),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("ingest_batches.id"), nullable=False, index=True),
    Column("source", Text, nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("column_name", String(64), nullable=True),
    Column("reason", Text, nullable=False),
    Column("raw", JSON, nullable=False),
)

external_parties = Table(
    "external_parties",
    metadata,
    Column("party_id", String(64), primary_key=True),
    Column("party_type", String(32), nullable=False),  # person / enterprise (HolderType)
    Column("name", String(200), nullable=True),
    Column("entity_type", String(32), nullable=True),  # BODS entityType.type
    Column("scheme", String(200), nullable=True),  # org-id.guide code or schemeName
    Column("identifier", String(64), nullable=True),  # a public register id (entities only)
    Column("identifier_hash", String(64), nullable=True),  # a person's id, salted hash
    Column("jurisdiction", String(8), nullable=True),
    Column("founded", Date, nullable=True),
    Column("closed", Date, nullable=True),
    Column("source", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

warnings_table = Table(
    "warnings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    # Comma-separated domain codes (sorted) and their regulators in the same order: plain text
    # so that "warnings of 税务局" is a portable LIKE on both backends.
    Column("domains", Text, nullable=False),
    Column("regulators", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The closed warning this one reopens (new evidence after closing), if any.
    Column("previous_id", Integer, ForeignKey("warnings.id"), nullable=True),
)
Index("ix_warnings_uscc_rule", warnings_table.c.uscc, warnings_table.c.rule)
Index("ix_warnings_updated_at", warnings_table.c.updated_at)
Index(
    "ux_warnings_open",
    warnings_table.c.uscc,
    warnings_table.c.rule,
    unique=True,
    sqlite_where=warnings_table.c.status != "closed",
    postgresql_where=warnings_table.c.status != "closed",
)

warning_events_table = Table(
    "warning_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", Integer, ForeignKey("warnings.id"), nullable=False, index=True),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("note", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The token's first characters, shown in listings so people can tell keys apart.
    Column("prefix", String(16), nullable=False),
    # SHA-256 (hex) of the whole token: a 256-bit random token needs no salt or slow hash.
    Column("key_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("institution", String(60), nullable=False),
    Column("name", String(30), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
Index("ux_api_keys_key_hash", api_keys.c.key_hash, unique=True)
Index("ux_api_keys_prefix", api_keys.c.prefix, unique=True)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(32), nullable=False),
    Column("key_id", Integer, ForeignKey("api_keys.id"), nullable=False, index=True),
    Column("institution", String(60), nullable=False),
    Column("role", String(16), nullable=False),
    # What was asked about, as sent (normalised, at most 64 characters): also for refused calls.
    Column("uscc", String(64), nullable=True, index=True),
    Column("authorization_id", String(64), nullable=True),
    Column("purpose", String(32), nullable=True),
    Column("authorization_expires", Date, nullable=True),
    Column("method", String(8), nullable=False),
    Column("route", String(200), nullable=False),
    Column("query", Text, nullable=True),
    Column("status", Integer, nullable=False),
    Column("response_sha256", String(64), nullable=False),
    # The hash chain (risk.audit_chain): the previous row's row_hash, and this row's hash.
    # Nullable only because ALTER TABLE on SQLite cannot add a NOT NULL column without a
    # default; every row the service writes has both, and `credlink audit verify` names any
    # row without them.
    Column("prev_hash", String(64), nullable=True),
    Column("row_hash", String(64), nullable=True),
)
Index("ix_audit_log_at", audit_log.c.at)
Index("ux_audit_log_request_id", audit_log.c.request_id, unique=True)
# No index on prev_hash: a row's successor has the next id, so the primary key already admits
# one successor per row, and a unique index of random hashes would dirty a random page per
# insert (it halved the audit's write rate with two workers).

outcome_reports = Table(
    "outcome_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # The reporting call: its audit row has the same request_id (bank and admin calls alike).
    Column("request_id", String(32), nullable=False),
    Column("key_id", Integer, ForeignKey("api_keys.id"), nullable=False),
    Column("batch_id", Integer, ForeignKey("ingest_batches.id"), nullable=False),
    Column("bank", String(200), nullable=False),
    Column("loan_id", String(64), nullable=False),
    Column("uscc", String(18), nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_date", Date, nullable=False),
    Column("change", String(16), nullable=False),  # inserted, updated or unchanged
    # The audited, authorized query of this bank about this enterprise that the report relies
    # on (None for an admin's report).
    Column("authority_audit_id", Integer, ForeignKey("audit_log.id"), nullable=True),
)
Index("ix_outcome_reports_loan", outcome_reports.c.bank, outcome_reports.c.loan_id)
Index("ix_outcome_reports_request_id", outcome_reports.c.request_id)

ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # SHA-256 (hex) of the session id in the signed cookie: the store can't recreate a cookie.
    Column("session_hash", String(64), nullable=False),
    Column("key_id", Integer, ForeignKey("api_keys.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
Index("ux_ui_sessions_session_hash", ui_sessions.c.session_hash, unique=True)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # The peer's address as the server saw it (a proxy's, behind one).
    Column("client", String(64), nullable=False),
    # The first 12 characters of a credlink-shaped token (a key's listed prefix), else NULL.
    Column("key_prefix", String(16), nullable=True),
)
Index("ix_login_failures_client_at", login_failures.c.client, login_failures.c.at)
Index("ix_login_failures_key_prefix_at", login_failures.c.key_prefix, login_failures.c.at)


# Score sets (risk.scoresets, revision 0006). A set is written once by the batch pipeline and
# never updated; live updates append rows with a higher ``seq`` (a delta) to the current set.
score_sets = Table(
    "score_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("as_of", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("config_digest", String(64), nullable=False),
    Column("config", JSON, nullable=False),
    Column("model_versions", JSON, nullable=False),
    Column("counts", JSON, nullable=False),
    # The newest ingest batch the set's snapshot saw (later batches reach it as deltas).
    Column("source_batch", Integer, nullable=True),
    # The newest delta applied (0: the batch rows only).
    Column("seq", Integer, nullable=False),
    Column("note", Text, nullable=True),
)
Index("ix_score_sets_status", score_sets.c.status)

# One row per name ("current"): the set readers answer from, and how far into its deltas.
score_pointer = Table(
    "score_pointer",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("set_id", Integer, ForeignKey("score_sets.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("switched_at", DateTime(timezone=True), nullable=False),
)

# Each kind of score: the columns after (set_id, subject_id, seq), the key of every row
# (subject_id: the USCC, or a person id for the linked risk of persons, whose band is NULL:
# the bands are the grades' thresholds, defined for enterprises).
SCORE_COLUMNS: dict[str, tuple[Column[Any], ...]] = {
    "risk": (
        Column("own_signal", Float, nullable=False),
        Column("linked_risk", Float, nullable=False),
        Column("linked_risk_excluding_self", Float, nullable=False),
        Column("band", String(8), nullable=True),
    ),
    "grades": (
        Column("grade", String(1), nullable=False),
        Column("reason", Text, nullable=False),
        Column("grade_bank", String(1), nullable=False),
        Column("reason_bank", Text, nullable=False),
        Column("serious_listed", Boolean, nullable=False),
        Column("warning_level", String(8), nullable=True),
    ),
    "warnings": (
        Column("level", String(8), nullable=True),
        Column("rules", Text, nullable=False),
        Column("warning_ids", JSON, nullable=False),
    ),
    "learned": (Column("probability", Float, nullable=False),),
    "assessments": (
        Column("decision", String(16), nullable=False),
        Column("pd", Float, nullable=True),
        Column("pd_band", String(8), nullable=True),
        Column("limit_amount", Float, nullable=True),
        Column("body", JSON, nullable=False),
    ),
}


def _score_table(kind: str, columns: tuple[Column[Any], ...]) -> Table:
    return Table(
        f"score_{kind}",
        metadata,
        Column("set_id", Integer, ForeignKey("score_sets.id"), nullable=False),
        Column("subject_id", String(64), nullable=False),
        Column("seq", Integer, nullable=False),
        *columns,
        PrimaryKeyConstraint("set_id", "subject_id", "seq"),
    )


score_tables: dict[str, Table] = {k: _score_table(k, c) for k, c in SCORE_COLUMNS.items()}

# What changed for an enterprise, appended by every published set and every delta: the feed
# monitoring delivers from (DESIGN.md §6).
score_events = Table(
    "score_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("set_id", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("cause", JSON, nullable=False),
)
Index("ix_score_events_subject_id_id", score_events.c.subject_id, score_events.c.id)


def contract_table(name: str) -> Table:
    """Return the SQLAlchemy table of contract table ``name``.

    Raises
    ------
    KeyError
        If ``name`` is not one of the contract's tables.
    """
    try:
        return _CONTRACT_TABLES[name]
    except KeyError:
        raise KeyError(
            f"table must be one of {', '.join(_CONTRACT_TABLES)}; got {name!r}"
        ) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL, not NORMAL: in WAL mode NORMAL syncs only at checkpoints, so a commit (an audit
    # row that released an answer) could vanish on power loss. See "Durability" above.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL, FULL sync and foreign keys.

    A relative SQLite path's parent directory is created if missing.
    """
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


_SQLITE_BUSY_TIMEOUT_MS = 5000  # pysqlite's default (timeout=5.0)
_LOCK_PAUSE_SECONDS = 0.0002


@contextmanager
def serialized_transaction(
    engine: Engine, lock: str, wait_seconds: float = 5.0
) -> Iterator[Connection]:
    """A transaction that holds the write lock named ``lock`` from its first statement.

    What it reads cannot change before it commits, for every writer that takes the same
    lock: the way to check, then write (the loans a bank reports).

    SQLite
        ``BEGIN IMMEDIATE`` takes the database's one write lock at once (a plain ``BEGIN``
        would take it at the first write, after reads another writer may have made stale).
        While another connection holds it, the attempt is retried every 0.2 ms for up to
        ``wait_seconds`` (SQLite's own busy handler backs off to 100 ms sleeps); ``lock`` is
        not needed: there is one lock.
    PostgreSQL
        ``pg_advisory_xact_lock`` on a 64-bit key derived from ``lock``, released at commit
        or rollback; writers with other lock names run concurrently.

    Raises
    ------
    sqlalchemy.exc.OperationalError
        If the lock could not be had within ``wait_seconds`` (SQLite).
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            key = int.from_bytes(hashlib.sha256(lock.encode()).digest()[:8], "big", signed=True)
            conn.execute(select(func.pg_advisory_xact_lock(key)))
            yield conn
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        _begin_immediate(conn, wait_seconds)
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def _begin_immediate(conn: Connection, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    conn.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise
                time.sleep(_LOCK_PAUSE_SECONDS)
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")


BULK_CHUNK = 50_000
"""Rows per executemany (SQLite) or per COPY flush (PostgreSQL) in :func:`bulk_insert`."""


def bulk_insert(
    conn: Connection, table: Table, rows: Iterable[Sequence[Any]], columns: Sequence[str]
) -> int:
    """Insert many rows fast inside the caller's transaction.

    PostgreSQL gets ``COPY … FROM STDIN`` (binary-safe, no SQL text per row), SQLite one
    prepared ``INSERT`` run by ``executemany`` in chunks of :data:`BULK_CHUNK`. JSON columns
    take Python objects (serialised here); ``None`` is NULL.

    Returns
    -------
    int
        Rows written.
    """
    json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    dbapi: Any = conn.connection.driver_connection
    written = 0
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{n}"' for n in columns)
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(_json_cells(row, json_at) if json_at else row)
                written += 1
        return written
    marks = ", ".join("?" for _ in columns)
    names = ", ".join(f'"{n}"' for n in columns)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    cursor = dbapi.cursor()
    if not json_at:  # sqlite3 takes the rows as they come, without a Python step per row
        try:
            cursor.executemany(statement, rows)
            return max(cursor.rowcount, 0)
        finally:
            cursor.close()
    try:
        chunk: list[Sequence[Any]] = []
        for row in rows:
            chunk.append(_json_cells(row, json_at) if json_at else row)
            if len(chunk) == BULK_CHUNK:
                cursor.executemany(statement, chunk)
                written += len(chunk)
                chunk = []
        if chunk:
            cursor.executemany(statement, chunk)
            written += len(chunk)
    finally:
        cursor.close()
    return written


def _json_cells(row: Sequence[Any], at: list[int]) -> list[Any]:
    out = list(row)
    for i in at:
        if out[i] is not None:
            out[i] = json.dumps(out[i], ensure_ascii=False, separators=(",", ":"))
    return out


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic to ``revision`` (default: the newest)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def read_table(
    conn: Connection | Engine,
    name: str,
    columns: Sequence[str] | None = None,
    where: Iterable[Any] = (),
) -> pd.DataFrame:
    """Read a contract table into a frame with contract dtypes (dates as datetime64).

    Parameters
    ----------
    conn
        A connection or engine.
    name
        Contract table name.
    columns
        Subset of columns (default: all, in contract order).
    where
        SQLAlchemy criteria on the table's columns.
    """
    table = contract_table(name)
    spec = TABLES[name]
    names = list(columns) if columns is not None else list(spec.names)
    query = select(*(table.c[n] for n in names))
    for criterion in where:
        query = query.where(criterion)
    if isinstance(conn, Engine):
        with conn.connect() as connection:
            rows = connection.execute(query).all()
    else:
        rows = conn.execute(query).all()
    return coerce_frame(rows_frame(rows, names), spec)


def rows_frame(rows: Sequence[Any], names: Sequence[str]) -> pd.DataFrame:
    """A frame of query rows, built column by column.

    ``DataFrame(rows)`` probes every SQLAlchemy ``Row`` with ``hasattr``, which the row answers
    by raising: a third of the read's time on a large table.
    """
    values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame(
        {n: list(v) for n, v in zip(names, values, strict=True)}, columns=list(names)
    )


def coerce_frame(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Give a frame of contract columns their canonical dtypes (in place of object columns).

    Dates → ``datetime64[s]``, numbers and shares → ``float64``, integers → nullable
    ``Int64``, everything else → ``object`` strings with ``None`` for missing.
    """
    out = frame.copy()
    for name in out.columns:
        if name not in spec.names:
            continue
        kind = spec.column(name).kind
        if kind == ColumnKind.date:
            out[name] = pd.to_datetime(out[name]).astype("datetime64[s]")
        elif kind in (ColumnKind.number, ColumnKind.share):
            out[name] = pd.to_numeric(out[name]).astype("float64")
        elif kind == ColumnKind.integer:
            out[name] = pd.to_numeric(out[name]).astype("Int64")
        else:
            values = out[name].astype(object)
            out[name] = values.where(values.notna(), None).astype(object)
    return out
