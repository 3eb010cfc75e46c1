"""Limits on hostile callers: body size, the key before the body, per-key rates, slow clients.

Two layers, both configured by :class:`serving.settings.Settings`:

:class:`LimitsMiddleware` (pure ASGI, in :func:`serving.app.create_app`)
    For every request, in this order, before the application reads a byte of the body:

    1. a declared ``Content-Length`` over ``max_body_bytes`` → **413** at once;
    2. on ``/v1``: the API key is verified (:func:`serving.deps.verify_token`, the worker's key
       cache first) → **401** without a valid one; a bank's call is audited from here on;
    3. on ``/v1``: the key's token bucket (:class:`RateLimiter`) → **429** with
       ``Retry-After`` when it is empty.

    A refusal of a request that has a body closes the connection (``Connection: close``):
    the body is never read, not even to be thrown away.

    Then, while the application reads the body, the bytes are counted as they stream in (a
    chunked body declares no length): past ``max_body_bytes`` the read is cut off → **413**;
    a body that has not fully arrived ``body_timeout_seconds`` after its headers → **408**.
    413 and 408 close the connection, so nothing more of the body is read. Every refusal has
    the one error shape of :mod:`serving.errors`. The middleware sits inside
    ``RequestContextMiddleware`` (request id, metrics) and ``AuditMiddleware`` (a bank's
    refusals after step 2 are audited), outside everything else.

:class:`GuardedHttpToolsProtocol` (uvicorn's httptools protocol, :func:`http_protocol`)
    What an ASGI application cannot see, because it is called only once the headers are in:
    a request line and headers must arrive within ``header_timeout_seconds`` of the request's
    first byte (or of the connection opening) — a client dribbling them (slowloris) gets
    **408** and the connection is closed, one that sends nothing is closed; and they may hold
    at most ``max_header_bytes`` → **431** and close. uvicorn's own limits come from
    :func:`serving.cli.serve.uvicorn_config`: ``timeout_keep_alive`` (idle keep-alive
    connections) and ``limit_concurrency`` (503 beyond that many connections and requests).

Rate limits are per worker
    Each worker keeps its own buckets (nothing to share, no store round trip per request): a
    key may make ``rate_limit_per_second`` requests a second **on each worker**, so the
    service-wide limit is that times ``CREDLINK_WORKERS`` (the kernel spreads a client's
    connections over the workers). The defaults (5,000 a second, bursts of 10,000) lie above
    what one worker can serve — about 3,100 of the cheapest keyed requests per CPU second on
    the 2-core test machine — so ``bench/api.py`` at 32 connections and the load test never
    meet them, and a lone client is never limited; where keys compete for the service, the
    operator sets the rate any one key may use (the same for every key, e.g. 50 a second,
    bursts of 100).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from serving.audit import open_audit
from serving.deps import VERIFIED_KEY, sent_token, verify_token
from serving.errors import ErrorBody, ErrorResponse, error_json, handle_known_error, request_id_of
from serving.exceptions import AuthenticationError
from serving.keys import ApiKey
from serving.roles import KeyRole
from serving.settings import Settings
from serving.state import ServiceState

__all__ = [
    "API_PREFIX",
    "ConnectionLimits",
    "GuardedHttpToolsProtocol",
    "LimitsMiddleware",
    "RateLimiter",
    "http_protocol",
]

logger = logging.getLogger("credlink.serving")

API_PREFIX = "/v1"
"""Routes under this prefix need a key, verified before their body is read."""

_CLOSE = {"Connection": "close"}
_INTERNAL_MESSAGE = "an internal error occurred; quote the request id when reporting it"


# --------------------------------------------------------------------------- rate limits


class RateLimiter:
    """Token buckets, one per API key: ``rate`` requests a second, up to ``burst`` at once.

    Parameters
    ----------
    rate
        Tokens added a second (> 0).
    burst
        The bucket's size (≥ 1): a key that was quiet may send this many at once.
    clock
        Monotonic seconds (a test passes a fake one).

    Notes
    -----
    A bucket holds ``min(burst, tokens + rate · elapsed)`` tokens; a request takes one. One
    entry per key that called (keys are few), updated in place: no lock is needed, since a
    worker's event loop runs one request's code at a time.
    """

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be more than 0 requests a second; got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1; got {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, key_id: int) -> float:
        """Take a token for ``key_id``: 0.0 if there was one, else the seconds until there is."""
        now = self._clock()
        tokens, last = self._buckets.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key_id] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key_id] = (tokens, now)
        return (1.0 - tokens) / self.rate


# --------------------------------------------------------------------------- the middleware


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None or not value.isdigit():
        return None  # the HTTP parser refuses a malformed length before we are called
    return int(value)


def _has_body(headers: Headers, declared: int | None) -> bool:
    return bool(declared) or "transfer-encoding" in headers


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class LimitsMiddleware:
    """Body size, the key before the body, per-key rates and the body deadline (module doc).

    Parameters
    ----------
    app
        The application inside (the audit's, in :func:`serving.app.create_app`).
    settings
        ``max_body_bytes``, ``body_timeout_seconds``, ``rate_limit_per_second`` (0: none) and
        ``rate_limit_burst``.
    clock
        Monotonic seconds for the rate limiter (a test passes a fake one).
    """

    def __init__(
        self, app: ASGIApp, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.body_timeout = settings.body_timeout_seconds
        rate, burst = settings.rate_limit_per_second, settings.rate_limit_burst
        self.rates = RateLimiter(rate, burst, clock=clock) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.body_timeout
        headers = Headers(scope=scope)
        declared = _content_length(headers)
        if declared is not None and declared > self.max_body:
            await self._too_large(scope, f"{declared} bytes are declared")(scope, receive, send)
            return
        if _is_api(scope["path"]):
            refusal = await self._admit(scope, headers)
            if refusal is not None:
                if _has_body(headers, declared):
                    # Its body stays unread: close rather than read and discard it.
                    refusal.headers["Connection"] = "close"
                await refusal(scope, receive, send)
                return
        await self._run(scope, receive, send, deadline)

    def _too_large(self, scope: Scope, sent: str) -> Response:
        return error_json(
            413,
            "payload_too_large",
            f"the request body must be at most {self.max_body} bytes "
            f"(CREDLINK_MAX_BODY_BYTES); {sent}",
            field="body",
            check="max_bytes",
            request_id=request_id_of(scope),
            headers=_CLOSE,
        )

    async def _admit(self, scope: Scope, headers: Headers) -> Response | None:
        """Verify the key and take a token for it; the refusal to send, if any."""
        state = getattr(scope["app"].state, "credlink", None)
        if not isinstance(state, ServiceState):
            return None  # starting: the application answers 503 itself
        try:
            token = sent_token(headers.get("x-api-key"), headers.get("authorization"))
            key = await verify_token(state, token)
        except AuthenticationError as exc:
            return await handle_known_error(Request(scope), exc)
        except Exception:
            logger.exception("request %s: the key could not be checked", request_id_of(scope))
            return error_json(
                500, "internal_error", _INTERNAL_MESSAGE, request_id=request_id_of(scope)
            )
        scope.setdefault("state", {})[VERIFIED_KEY] = key
        if key.role == KeyRole.bank:
            open_audit(Request(scope), key)  # so that a refusal from here on is audited too
        return self._limit_rate(scope, key)

    def _limit_rate(self, scope: Scope, key: ApiKey) -> Response | None:
        if self.rates is None:
            return None
        wait = self.rates.take(key.id)
        if wait == 0.0:
            return None
        retry_after = max(1, math.ceil(wait))
        return error_json(
            429,
            "too_many_requests",
            f"key {key.prefix}… must make at most {self.rates.rate:g} requests a second "
            f"(bursts of {self.rates.burst}) on each worker; retry after {retry_after} s",
            check="rate_limit",
            request_id=request_id_of(scope),
            headers={"Retry-After": str(retry_after)},
        )

    async def _run(self, scope: Scope, receive: Receive, send: Send, deadline: float) -> None:
        """Call the application, counting and timing its body as it reads it."""
        received = 0
        body_done = False
        refused = False
        started = False

        async def refuse(response: Response) -> Message:
            nonlocal refused
            refused = True
            if not started:
                await response(scope, receive, send)
            return {"type": "http.disconnect"}  # what the application reads: it stops reading

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if refused:
                return {"type": "http.disconnect"}
            if body_done:  # e.g. a response listening for the client to go away
                return await receive()
            message: Message | None = None
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                message = await receive()
            if message is None:
                return await refuse(
                    error_json(
                        408,
                        "request_timeout",
                        f"the request body must arrive within {self.body_timeout:g} s of the "
                        f"headers (CREDLINK_BODY_TIMEOUT_SECONDS); {received} bytes came",
                        field="body",
                        check="timeout",
                        request_id=request_id_of(scope),
                        headers=_CLOSE,
                    )
                )
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    return await refuse(
                        self._too_large(scope, f"more than {self.max_body} bytes were sent")
                    )
                body_done = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the client has its 413/408; the application's answer is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


# --------------------------------------------------------------------------- the protocol


@dataclass(frozen=True)
class ConnectionLimits:
    """What :class:`GuardedHttpToolsProtocol` enforces before a request reaches the app.

    Attributes
    ----------
    header_timeout : float
        Seconds a request line and its headers may take from the first byte (or from the
        connection opening, for the first request).
    max_header_bytes : int
        Most bytes of URL, header names and values one request may send.
    """

    header_timeout: float
    max_header_bytes: int

    def __post_init__(self) -> None:
        if not self.header_timeout > 0:
            raise ValueError(f"header_timeout must be more than 0 s; got {self.header_timeout}")
        if self.max_header_bytes < 1:
            raise ValueError(f"max_header_bytes must be at least 1; got {self.max_header_bytes}")


def _error_bytes(code: str, message: str) -> bytes:
    return ErrorResponse(error=ErrorBody(code=code, message=message)).model_dump_json().encode()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for request headers.

    uvicorn arms no timer while a request's headers arrive (only between requests, for
    keep-alive), so a client that sends one header byte every few seconds holds a connection
    and a slot of ``limit_concurrency`` for ever. Here a timer starts when the connection
    opens and again at each request's first byte, and stops when the headers are complete;
    when it fires, the client gets 408 (or, if it never sent a byte, just a closed
    connection). Module docstring.
    """

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: Any = None,
        *,
        limits: ConnectionLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._header_timer: Any = None
        self._header_bytes = 0
        self._in_headers = False
        self._refused = False

    # ------------------------------------------------------------------ timer

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.limits.header_timeout, self._headers_timed_out
            )

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if not self._in_headers:
            self.transport.close()  # a connection that never sent a byte
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        logger.warning(
            "%s sent no complete headers in %g s; 408", client, self.limits.header_timeout
        )
        self._refuse(
            408,
            "request_timeout",
            f"the request line and headers must arrive within {self.limits.header_timeout:g} s "
            "(CREDLINK_HEADER_TIMEOUT_SECONDS)",
        )

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` in the one error shape and close the connection."""
        self._refused = True
        body = _error_bytes(code, message)
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered and closing: read nothing more
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if self._refused:
            return  # the parser stopped because we refused the headers: already answered
        super().send_400_response(msg)

    # ------------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._in_headers = True
        self._arm()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_header_bytes:
            self._disarm()
            self._refuse(
                431,
                "request_header_fields_too_large",
                f"the request line and headers must hold at most "
                f"{self.limits.max_header_bytes} bytes (CREDLINK_MAX_HEADER_BYTES)",
            )
            # Stops httptools mid-parse; it reports a parser error, which send_400_response
            # above then leaves unanswered.
            raise ConnectionAbortedError("request headers too large")

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()


def http_protocol(settings: Settings) -> Callable[..., GuardedHttpToolsProtocol]:
    """The ``http`` of :class:`uvicorn.Config`: :class:`GuardedHttpToolsProtocol` with the
    settings' header timeout and size (a ``functools.partial``, picklable for the workers)."""
    limits = ConnectionLimits(
        header_timeout=settings.header_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
    )
    return functools.partial(GuardedHttpToolsProtocol, limits=limits)
