"""The ASGI middleware stack of the API (pure ASGI: no body copies outside the audit).

From the outside in (:func:`serving.app.create_app` adds them in reverse)::

    Starlette ServerErrorMiddleware        last-resort 500 (never reached in practice)
    RequestContextMiddleware               X-Request-Id, latency and status metrics
    AuditMiddleware                        bank calls: hold the response, commit the audit row
    UnhandledErrorMiddleware               any other exception → 500 in the one error shape
    Starlette ExceptionMiddleware          RiskError, ServingError, validation, HTTPException
    routes                                 → deps → risk (the "crud")

The order matters: the audit sits *outside* every error translation, so the body it hashes is
exactly the body the client receives, 500s included; the metrics sit outside the audit, so
latency includes the audit commit and a withheld response counts as the 503 it became.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Iterator

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.audit import audit_context_of, audit_row
from serving.errors import error_json, request_id_of
from serving.metrics import UNMATCHED_ROUTE, Metrics

__all__ = [
    "AuditMiddleware",
    "RequestContextMiddleware",
    "call_of_item",
    "item_request_id",
    "request_ids",
    "route_template",
]

logger = logging.getLogger("credlink.serving")

_AUDIT_FAILED = (
    "the audit row of this call could not be written, so its answer is withheld; try again"
)


def request_ids() -> Iterator[str]:
    """Request ids of one process: 32 hex digits, a random half per process and a counter.

    Unique across workers and restarts (64 random bits per process), ordered within one,
    and without a system call per request (``uuid4`` reads the kernel's random source).
    """
    prefix = secrets.token_hex(8)
    return (f"{prefix}{n:0{_COUNTER_DIGITS}x}" for n in itertools.count(1))


_PREFIX_DIGITS = 16
_COUNTER_DIGITS = 16
_ITEM_COUNTER_DIGITS = 12  # 2**48 calls per process before an item id would not fit
_ITEM_INDEX_DIGITS = 3  # a batch holds at most 1,000 items: 0 … 999


def item_request_id(request_id: str, index: int) -> str:
    """The audit ``request_id`` of item ``index`` of the call ``request_id`` (32 characters).

    ``<the call's 16-hex process prefix><its counter, 12 hex>-<index, 3 digits>``: unique in
    the log (the call's id is, and the ``-`` sets item ids apart from call ids), and the call
    is read back from it by :func:`call_of_item`. Every part of the call's id is kept, so two
    calls never share an item id, however long the process runs (the batch route once cut the
    call's id to its first 26 characters, which are the same for a whole process).

    Raises
    ------
    ValueError
        If ``request_id`` is not one of :func:`request_ids` or ``index`` is outside 0 … 999.
    """
    if not 0 <= index < 10**_ITEM_INDEX_DIGITS:
        raise ValueError(f"index must be between 0 and 999; got {index}")
    counter = _counter_of(request_id)
    if counter >= 16**_ITEM_COUNTER_DIGITS:
        raise ValueError(f"request_id counter must be below 16**12; got {request_id}")
    prefix = request_id[:_PREFIX_DIGITS]
    return f"{prefix}{counter:0{_ITEM_COUNTER_DIGITS}x}-{index:0{_ITEM_INDEX_DIGITS}d}"


def call_of_item(item_id: str) -> str:
    """The request id of the call an :func:`item_request_id` belongs to.

    Raises
    ------
    ValueError
        If ``item_id`` is not an item id.
    """
    head, dash, index = item_id.rpartition("-")
    if (
        not dash
        or len(head) != _PREFIX_DIGITS + _ITEM_COUNTER_DIGITS
        or not index.isdigit()
        or not _is_hex(head)
    ):
        raise ValueError(f"item_id must be <28 hex digits>-<index>; got {item_id!r}")
    counter = int(head[_PREFIX_DIGITS:], 16)
    return f"{head[:_PREFIX_DIGITS]}{counter:0{_COUNTER_DIGITS}x}"


def _counter_of(request_id: str) -> int:
    if len(request_id) != _PREFIX_DIGITS + _COUNTER_DIGITS or not _is_hex(request_id):
        raise ValueError(f"request_id must be 32 hex digits; got {request_id!r}")
    return int(request_id[_PREFIX_DIGITS:], 16)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/entities/{uscc}/risk``), else ``<unmatched>``."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Give each request an id (``X-Request-Id``) and count it in the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.ids = request_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = next(self.ids)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_progress.dec()
            self.metrics.observe(
                scope["method"], route_template(scope), status, time.perf_counter() - started
            )


class AuditMiddleware:
    """Commit the audit row of every bank call before its response leaves (:mod:`serving.audit`).

    Requests without an :class:`~serving.audit.AuditContext` pass straight through (and may
    stream). Audited ones are held whole: at the end of the body the row goes to the
    process's :class:`~serving.audit.AuditWriter` (group commit); once its transaction has
    committed, the response is sent with an ``X-Audit-Id`` header. If the write fails the
    client receives a 503 instead, and nothing of the held answer.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._written = metrics.audit_writes.labels("ok")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        audited: bool | None = None  # decided at the response start: dependencies ran by then
        start: Message | None = None
        body = bytearray()
        finished = False

        async def release(status: int, headers: list[tuple[bytes, bytes]], data: bytes) -> None:
            nonlocal finished
            finished = True
            context = audit_context_of(scope)
            assert context is not None
            try:
                audit_id = await scope["app"].state.credlink.audit.write(
                    audit_row(
                        context,
                        request_id=request_id_of(scope) or "",
                        method=scope["method"],
                        route=route_template(scope),
                        query=scope.get("query_string", b"").decode("latin-1"),
                        status=status,
                        body=data,
                    )
                )
            except Exception:
                self.metrics.audit_writes.labels("failed").inc()
                logger.exception(
                    "audit write failed: response of %s withheld", route_template(scope)
                )
                withheld = error_json(
                    503, "audit_unavailable", _AUDIT_FAILED, request_id=request_id_of(scope)
                )
                await withheld(scope, receive, send)
                return
            self._written.inc()
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [*headers, (b"x-audit-id", str(audit_id).encode())],
                }
            )
            await send({"type": "http.response.body", "body": bytes(data), "more_body": False})

        async def holding_send(message: Message) -> None:
            nonlocal audited, start
            if audited is None:
                audited = audit_context_of(scope) is not None
            if not audited:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    assert start is not None
                    await release(int(start["status"]), list(start.get("headers", [])), bytes(body))

        try:
            await self.app(scope, receive, holding_send)
        except Exception:
            # Only reachable when a response failed half-way; audit what the client gets.
            if audited and not finished:
                logger.exception("audited request failed after its response started")
                failed = error_json(
                    500,
                    "internal_error",
                    "an internal error occurred; quote the request id when reporting it",
                    request_id=request_id_of(scope),
                )
                await release(500, list(failed.raw_headers), bytes(failed.body))
                return
            raise
