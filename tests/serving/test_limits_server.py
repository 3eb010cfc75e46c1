"""Limits on hostile callers (:mod:`serving.limits`) against a real ``credlink serve``
process driven with raw sockets: big bodies do not grow it, no key is refused before the
body, headers dribbled byte by byte, silent and idle connections, stalled bodies and too many
header bytes are cut off. The middleware and the app are ``test_limits.py``.
"""

from __future__ import annotations

import json
import math
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty, running_server

MiB = 1024 * 1024
ASSESS = "/v1/precredit/assessments"

SERVER_LIMITS = {
    "max_body_bytes": MiB,
    "header_timeout_seconds": 1.0,
    "body_timeout_seconds": 2.0,
    "keep_alive_seconds": 1,
    "max_header_bytes": 8192,
}


@pytest.fixture(scope="module")
def server(api_county: ApiCounty, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One worker (this process's child) with short timeouts and a 1 MiB body limit."""
    log_path = tmp_path_factory.mktemp("uvicorn") / "server.log"
    with running_server(api_county, log_path, workers=1, **SERVER_LIMITS) as base:
        yield base


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _server_rss_mb(port: int) -> float:
    """Resident memory of the server process (found by its CREDLINK_PORT)."""
    marker = f"CREDLINK_PORT={port}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            return int(match.group(1)) / 1024
    raise AssertionError(f"no server process with CREDLINK_PORT={port}")


def _connect(base: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", _port(base)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_reply(sock: socket.socket, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (until its length, or the server closes)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed before a complete response: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _closed(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes the connection within ``timeout`` seconds."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _stream_until_answered(sock: socket.socket, head: bytes, total: int) -> int:
    """Send ``head`` then up to ``total`` bytes of chunked body, stopping once the server
    answers or closes; return the bytes of body sent."""
    sock.sendall(head)
    piece = b"x" * 65536
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    sent = 0
    try:
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(chunk)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def _post_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_big_bodies_do_not_grow_the_server(server: str, api_county: ApiCounty) -> None:
    port = _port(server)
    assert httpx.get(f"{server}/healthz").status_code == 200
    before = _server_rss_mb(port)
    bank = {"X-API-Key": api_county.tokens[KeyRole.bank]}
    for headers, status in (
        ({"Content-Length": str(200 * MiB)}, 413),  # declared: refused before any byte
        ({"Transfer-Encoding": "chunked"}, 401),  # no key: refused before any byte
        ({**bank, "Transfer-Encoding": "chunked"}, 413),  # a key: cut off at 1 MiB
    ):
        for _ in range(3):  # the review's three 200 MB posts
            with _connect(server) as sock:
                sent = _stream_until_answered(sock, _post_head(ASSESS, headers), 200 * MiB)
                got, reply_headers, _ = _read_reply(sock)
                assert got == status, headers
                assert reply_headers["connection"] == "close"
                assert sent < 100 * MiB
    grown = _server_rss_mb(port) - before
    assert grown < 40, f"the server grew by {grown:.0f} MB"
    assert httpx.get(f"{server}/healthz").status_code == 200


def test_no_key_is_refused_before_the_body_is_sent(server: str) -> None:
    with _connect(server) as sock:
        # 500 KB declared (under the limit), not one byte of it sent: the answer comes anyway.
        sock.sendall(_post_head(ASSESS, {"Content-Length": str(500_000)}))
        status, headers, body = _read_reply(sock, timeout=5)
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthenticated"
    assert headers["connection"] == "close"


def test_headers_dribbled_byte_by_byte_are_cut_off(server: str) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with _connect(server) as sock:
        started = time.monotonic()
        refused = False
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                refused = True
                break
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                refused = True
                break
        assert refused
        status, headers, body = _read_reply(sock)
        elapsed = time.monotonic() - started
        assert _closed(sock, 2)
    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert 0.9 <= elapsed < 3  # the header timeout is 1 s


def test_a_connection_that_sends_nothing_is_closed(server: str) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        assert _closed(sock, 5)
        assert 0.9 <= time.monotonic() - started < 3


def test_a_body_that_stalls_is_cut_off(server: str, api_county: ApiCounty) -> None:
    headers = {"X-API-Key": api_county.tokens[KeyRole.analyst], "Content-Length": "1000"}
    with _connect(server) as sock:
        started = time.monotonic()
        sock.sendall(_post_head(ASSESS, headers) + b'{"uscc": "')
        status, reply_headers, body = _read_reply(sock)
        elapsed = time.monotonic() - started
        assert _closed(sock, 2)
    assert status == 408 and reply_headers["connection"] == "close"
    assert json.loads(body)["error"]["field"] == "body"
    assert 1.9 <= elapsed < 4  # the body timeout is 2 s


def test_too_many_header_bytes_are_refused(server: str) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n"
        )
        status, headers, body = _read_reply(sock)
        assert _closed(sock, 2)
    assert status == 431 and headers["connection"] == "close"
    assert "at most 8192 bytes" in json.loads(body)["error"]["message"]


def test_an_idle_keep_alive_connection_is_closed(server: str) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        status, _, _ = _read_reply(sock)
        assert status == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")  # kept alive
        assert _read_reply(sock)[0] == 200
        started = time.monotonic()
        assert _closed(sock, 5)
        assert math.isclose(time.monotonic() - started, 1.0, abs_tol=0.6)
