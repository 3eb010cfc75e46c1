"""The audit of bank calls (DESIGN.md §6): one append-only ``audit_log`` row per call.

Which calls
    Every request authenticated with a **bank** key, whatever its outcome (200, 403 for a
    missing authorization, 404, 422, even 500). :func:`serving.deps.current_key` opens an
    :class:`AuditContext` in the request's state as soon as it knows the key is a bank's;
    later dependencies fill in the USCC and the authorization reference. Outcome reports
    (``POST /v1/outcomes``) write data, so they are audited whoever sends them, admins too.

What a row holds
    time, request id, key id, institution, role, the USCC asked about (as sent, normalised),
    authorization id (授权编号), purpose, expiry, method, route template, query string
    (percent-decoded), status and the SHA-256 of the exact response body bytes.

Nothing raw from the caller
    The log is append-only, so whatever enters it stays. What the caller sent enters a row
    only as a validated identifier (a USCC that passes GB 32100) or with every resident ID
    number in it masked by :func:`risk.identifiers.mask_id_numbers` (``110105********002X``):
    the USCC when it is not one, the authorization id, the purpose and the query string. A
    bank that sends an ID number where a USCC belongs is refused (422) and audited, and the
    number is not kept (:func:`audit_row` is the one builder of rows).

Commit barrier
    :class:`serving.middleware.AuditMiddleware` holds the whole response back, computes the
    digest, hands the row to the process's :class:`AuditWriter` and waits until the
    transaction holding it has committed; only then does the response start to leave. If the
    write fails, the client gets a 503 in the one error shape instead of the data. No audit
    row, no data (the table is append-only by trigger, see migration 0003).

Hash chain
    Each row carries the hash of the one before it (:mod:`risk.audit_chain`). Appends are
    optimistic (:func:`insert_audit_rows`): the store admits one successor per row, so
    concurrent writers (threads, worker processes) extend a single chain, and a writer that
    lost the race re-reads the head. ``credlink audit verify`` walks the chain.

Group commit
    Concurrent calls do not each pay a transaction: while one batch is being committed (in a
    worker thread), the rows of the calls that finish meanwhile queue up and go together in
    the next transaction (at most :data:`MAX_BATCH` rows). Each call still waits for *its*
    row's commit, so batching changes latency, never what is guaranteed.

Authorization reference (授权编号)
    A bank must show that the enterprise authorized the query: on GET routes with the
    headers ``X-Authorization-Id`` (the 授权编号), ``X-Authorization-Purpose`` (a
    :class:`Purpose` code) and ``X-Authorization-Expires`` (ISO date, valid through that day).
    Missing or expired → 403 ``authorization_required`` / ``authorization_expired``. The
    pre-credit assessment (POST) will carry the same reference in its body.
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.requests import Request
from starlette.types import Scope

from risk.audit_chain import canonical_row, chain_head, link_rows
from risk.identifiers import check_uscc, mask_id_numbers, normalize_uscc
from risk.store import audit_log
from serving.keys import ApiKey

__all__ = [
    "MAX_BATCH",
    "PURPOSE_LABELS",
    "AuditContext",
    "AuditWriter",
    "Purpose",
    "audit_context_of",
    "audit_row",
    "insert_audit_rows",
    "open_audit",
    "printable",
    "write_audit_row",
]

_STATE_KEY = "audit"
_MAX_SUBJECT = 64
_MAX_QUERY = 2000
_MAX_ROUTE = 200
_MAX_AUTHORIZATION_ID = 64
_MAX_PURPOSE = 32

MAX_BATCH = 500
"""Most audit rows one group-commit transaction holds."""
_LOCKED_SECONDS = 5.0  # longest time an append keeps retrying (locked, or lost a race)
_LOCKED_PAUSE = 0.0002
_BUSY_TIMEOUT_MS = 5000  # pysqlite's default (timeout=5.0), restored after the audit insert


class Purpose(StrEnum):
    """Why a bank queries an enterprise (the purpose the enterprise authorized)."""

    pre_credit = "pre_credit"
    credit_approval = "credit_approval"
    post_loan = "post_loan"


PURPOSE_LABELS = {
    Purpose.pre_credit: "贷前调查/预授信",
    Purpose.credit_approval: "授信审批",
    Purpose.post_loan: "贷后管理",
}
"""Chinese label of each purpose."""


@dataclass
class AuditContext:
    """What the audit row of a bank call will say; filled in as the request is resolved.

    Mutable on purpose: dependencies add what they learn (the USCC, the authorization) before
    they may refuse the call, so that a refused call is audited with everything it sent.
    """

    key: ApiKey
    uscc: str | None = None
    authorization_id: str | None = None
    purpose: str | None = None
    authorization_expires: date | None = None

    def record_authorization(
        self, authorization_id: str | None, purpose: Purpose | None, expires: date | None
    ) -> None:
        """What the call sent as the enterprise's authorization (headers or body), recorded
        before it is checked: a refused call is audited with what it sent."""
        self.authorization_id = authorization_id
        self.purpose = purpose.value if purpose is not None else None
        self.authorization_expires = expires


def open_audit(request: Request, key: ApiKey) -> AuditContext:
    """Start the audit of this request (a bank call); the middleware writes the row."""
    subject = request.path_params.get("uscc")
    context = AuditContext(key=key, uscc=printable(subject) if isinstance(subject, str) else None)
    setattr(request.state, _STATE_KEY, context)
    return context


def printable(value: str, limit: int = _MAX_SUBJECT) -> str:
    """A value as sent, normalised and fit for the log: non-printables replaced, truncated.

    The audit keeps what was asked even when it is not a valid USCC, but never lets a NUL or
    a control character (which PostgreSQL refuses) cost the call its audit row.
    """
    return _printable_text(normalize_uscc(value), limit)


def _printable_text(text: str, limit: int) -> str:
    return "".join(c if c.isprintable() else "\ufffd" for c in text)[:limit]


def _subject(value: str | None) -> str | None:
    """The USCC asked about: as sent if it is a valid USCC, else with ID numbers masked."""
    if value is None or check_uscc(value).check is None:
        return value
    return mask_id_numbers(value)


def _sent_text(value: str | None, limit: int) -> str | None:
    """Free text the caller sent, fit for the log: printable, ID numbers masked, truncated.

    Masked before truncation, so that a cut can never leave an unmasked ID number behind.
    """
    if value is None:
        return None
    return _printable_text(mask_id_numbers(value), limit)


def audit_context_of(scope: Scope) -> AuditContext | None:
    """The audit context of a request, or None when it is not audited."""
    state = scope.get("state")
    context = state.get(_STATE_KEY) if isinstance(state, dict) else None
    return context if isinstance(context, AuditContext) else None


def audit_row(
    context: AuditContext,
    *,
    request_id: str,
    method: str,
    route: str,
    query: str,
    status: int,
    body: bytes,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The ``audit_log`` values of one call.

    Parameters
    ----------
    context
        Who asked about what, under which authorization.
    request_id
        The request's id (also the ``X-Request-Id`` header).
    method, route, query
        HTTP method, route template (``/v1/entities/{uscc}/risk``) and raw query string
        (stored percent-decoded, so that an encoded ID number is masked like a plain one).
    status
        The response status.
    body
        The exact response body; only its SHA-256 is stored.
    at
        Time of the call (default: now, UTC).
    """
    return {
        "at": at or datetime.now(UTC),
        "request_id": request_id,
        "key_id": context.key.id,
        "institution": context.key.institution,
        "role": context.key.role.value,
        "uscc": _subject(context.uscc),
        "authorization_id": _sent_text(context.authorization_id, _MAX_AUTHORIZATION_ID),
        "purpose": _sent_text(context.purpose, _MAX_PURPOSE),
        "authorization_expires": context.authorization_expires,
        "method": method[:8],
        "route": route[:_MAX_ROUTE],
        "query": _sent_text(unquote_plus(query), _MAX_QUERY) or None,
        "status": status,
        "response_sha256": hashlib.sha256(body).hexdigest(),
    }


def insert_audit_rows(engine: Engine, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Append audit rows to the hash chain in one statement; return their ids in order.

    Optimistic, so that no lock is held while Python runs: read the chain's head, give the
    rows the next ids and their hashes (:func:`risk.audit_chain.link_rows`), insert them in
    **one** autocommitted statement. The store admits one successor per row (``id`` is the
    key, and a row's successor has the next id), so of two writers that read the same head
    exactly one succeeds; the other re-reads the head and tries again. Every writer — this process's
    writer thread, the batch route, other worker processes — thus extends one chain, and the
    database's write lock is held only inside SQLite's or PostgreSQL's own code. (Taking the
    lock for read-then-insert instead, ``BEGIN IMMEDIATE``, cut the bank throughput of
    ``bench/api.py`` with two workers: the lock then waits for the GIL between statements.)

    On SQLite a statement that meets another process's write lock is retried every 0.2 ms
    (SQLite's own busy handler backs off to 100 ms sleeps, which cost a request tens of
    milliseconds); both kinds of retry give up after :data:`_LOCKED_SECONDS`.

    Raises
    ------
    sqlalchemy.exc.SQLAlchemyError
        If the rows could not be committed (then none is; the callers must withhold their
        responses).
    """
    if not rows:
        return []
    contents = [canonical_row(row) for row in rows]  # the slow part, done once
    deadline = time.monotonic() + _LOCKED_SECONDS
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    head_id, head_hash = chain_head(conn)
                    ids = _next_ids(head_id, len(rows))
                    _insert(conn, link_rows(rows, ids, head_hash, contents))
                    return ids
                except IntegrityError as error:
                    if not _lost_the_race(error) or time.monotonic() > deadline:
                        raise
                except OperationalError as error:
                    if "locked" not in str(error.orig) or time.monotonic() > deadline:
                        raise
                    time.sleep(_LOCKED_PAUSE)
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")


def _lost_the_race(error: IntegrityError) -> bool:
    """Whether another writer appended first (our ids or our predecessor were taken)."""
    text = str(error.orig)
    return "audit_log.id" in text or "audit_log_pkey" in text  # SQLite, PostgreSQL


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The rows in one multi-row ``INSERT`` statement: all or none of them, and the write
    lock held only while the database runs it. On SQLite the values go through the columns'
    own bind processors (stored as SQLAlchemy's insert stores them), in a statement built
    without SQLAlchemy's compiler."""
    if conn.dialect.name != "sqlite":
        # The column's sequence moves on with the chain (same statement), so that a plain
        # insert elsewhere gets an id after it instead of colliding with it.
        added = insert(audit_log).values(rows).returning(audit_log.c.id).cte("added")
        sequence = func.pg_get_serial_sequence(audit_log.name, "id")
        conn.execute(select(func.setval(sequence, select(func.max(added.c.id)).scalar_subquery())))
        return
    dialect = conn.dialect
    names = list(rows[0])
    processors = [
        audit_log.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    values: list[Any] = []
    for row in rows:
        values.extend(
            process(row[name]) if process else row[name]
            for name, process in zip(names, processors, strict=True)
        )
    placeholders = "(" + ", ".join("?" * len(names)) + ")"
    conn.exec_driver_sql(
        f"INSERT INTO {audit_log.name} ({', '.join(names)}) "
        f"VALUES {', '.join([placeholders] * len(rows))}",
        tuple(values),
    )


def _next_ids(head_id: int, n: int) -> list[int]:
    """Ids for ``n`` new rows: the ones after the head, so that the chain's order is the ids'
    order and two writers that read the same head claim the same ids (one of them loses)."""
    return list(range(head_id + 1, head_id + 1 + n))


def write_audit_row(engine: Engine, context: AuditContext, **call: Any) -> int:
    """Insert and commit the audit row of one call (:func:`audit_row`'s arguments); its id."""
    (row_id,) = insert_audit_rows(engine, [audit_row(context, **call)])
    return row_id


class AuditWriter:
    """Group commit of audit rows for one process (module docstring).

    :meth:`write` queues a row and returns its id once the transaction holding it has
    committed. One writer thread (started on first use) takes everything queued — at most
    ``max_batch`` rows — commits it in one transaction and wakes the waiting requests with one
    callback per batch; while it commits, the next batch queues up. It is not tied to any
    request, so a client that disconnects cannot strand the rows of others.

    Parameters
    ----------
    engine
        The store.
    max_batch
        Most rows per transaction.
    """

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1; got {max_batch}")
        self.engine = engine
        self.max_batch = max_batch
        self._gathering: list[_Pending] = []
        self._queue: queue.SimpleQueue[list[_Pending] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.transactions = 0
        """Transactions committed or attempted so far (for tests and metrics)."""

    async def write(self, row: dict[str, Any]) -> int:
        """Queue one row (:func:`audit_row`) and wait for its commit; return its id.

        Raises
        ------
        sqlalchemy.exc.SQLAlchemyError
            If the transaction holding the row failed (the row is not stored).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        if not self._gathering:
            # Rows written in this turn of the event loop go to the writer together.
            loop.call_soon(self._hand_over)
        self._gathering.append((row, future, loop))
        # A caller that gives up cancels only its own future; its row is still committed.
        return await future

    def _hand_over(self) -> None:
        self._start()
        self._queue.put(self._gathering)
        self._gathering = []

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread (the lifespan's shutdown)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="credlink-audit-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = list(first)
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            for start in range(0, len(batch), self.max_batch):
                self._commit(batch[start : start + self.max_batch])

    def _commit(self, batch: list[_Pending]) -> None:
        self.transactions += 1
        failure: Exception | None = None
        ids: list[int] = []
        try:
            ids = insert_audit_rows(self.engine, [row for row, _, _ in batch])
        except Exception as error:
            failure = error
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int]]] = {}
        for index, (_, future, loop) in enumerate(batch):
            by_loop.setdefault(loop, []).append((future, -1 if failure else ids[index]))
        for loop, waiting in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, waiting, failure)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                continue


_Pending = tuple[dict[str, Any], "asyncio.Future[int]", asyncio.AbstractEventLoop]


def _settle(waiting: list[tuple[asyncio.Future[int], int]], failure: Exception | None) -> None:
    """On the event loop: give each waiting request its row id, or the batch's error."""
    for future, row_id in waiting:
        if future.done():
            continue
        if failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(row_id)
