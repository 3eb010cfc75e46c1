"""Several workers on their own SO_REUSEPORT sockets (:mod:`serving.workers`).

A tiny ASGI app answering with its process id stands in for credlink, so that each test
starts in a second. What a user of ``credlink serve --workers N`` relies on: a burst of
connections is spread over the workers; a crashed worker is replaced; a worker that cannot
start stops the server with uvicorn's start-up failure code; SIGTERM stops everything; an
address already served by anyone is refused before any worker starts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from serving.workers import reuse_port_socket, run_workers
from tests.serving.conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def supervisor(
    port: int, workers: int, *, serve_config: bool = False, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``run_workers`` on the stand-in app; with ``serve_config`` the configuration is the one
    ``credlink serve`` builds (the guarded protocol, keep-alive and concurrency limits) from
    the ``CREDLINK_*`` variables in ``env``."""
    config = {"app": "tests.serving.workers_app:app", "host": "127.0.0.1", "port": port}
    code = (
        "from serving.workers import run_workers; "
        f"raise SystemExit(run_workers({config!r}, {workers}, grace=5))"
    )
    if serve_config:
        code = (
            "from serving.cli.serve import uvicorn_config; from serving.settings import Settings; "
            "from serving.workers import run_workers; "
            f"config = uvicorn_config(Settings(port={port}), app={config['app']!r}); "
            f"raise SystemExit(run_workers(config, {workers}, grace=5))"
        )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _pids(port: int, n: int) -> set[int]:
    """Worker pids answering ``n`` requests, each on its own new connection."""
    url = f"http://127.0.0.1:{port}/"

    def one(_: int) -> int:
        return int(httpx.get(url, timeout=5).text)

    with ThreadPoolExecutor(n) as pool:
        return set(pool.map(one, range(n)))


def _wait_for(port: int, workers: int, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while time.monotonic() < deadline:
        try:
            seen |= _pids(port, 8)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if len(seen) >= workers:
            return seen
    raise AssertionError(f"{len(seen)} of {workers} workers answered in {timeout} s")


def test_a_burst_of_connections_is_spread_over_the_workers() -> None:
    port = free_port()
    with supervisor(port, 2) as process:
        workers = _wait_for(port, 2)
        # 32 connections opened at once (a pool, a load generator): both workers get some.
        conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        answered: list[int] = []
        for conn in conns:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        for conn in conns:
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            answered.append(int(data.rsplit(b"\r\n\r\n", 1)[1]))
            conn.close()
        assert set(answered) == workers
        assert min(answered.count(pid) for pid in workers) >= 4  # P(fail) ≈ 1e-5
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    for pid in workers:  # the workers went with it
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_crashed_worker_is_replaced() -> None:
    port = free_port()
    with supervisor(port, 2) as process:
        first = _wait_for(port, 2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _pids(port, 16)
            if victim not in now and len(now) == 2:
                break
            time.sleep(0.3)
        assert victim not in now and len(now - first) == 1  # one new worker, one old
        assert process.poll() is None


def test_a_worker_that_cannot_start_stops_the_server() -> None:
    port = free_port()
    with supervisor(port, 2, CREDLINK_TEST_FAIL_STARTUP="1") as process:
        assert process.wait(timeout=60) == 3  # uvicorn's STARTUP_FAILURE


def test_an_address_in_use_is_refused_before_any_worker_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"127.0.0.1:{port} must be free"):
            run_workers({"app": "x:y", "host": "127.0.0.1", "port": port}, 2)
    with pytest.raises(ValueError, match="workers"):
        run_workers({"app": "x:y", "host": "127.0.0.1", "port": port}, 0)


def test_reuse_port_sockets_share_an_address() -> None:
    first = reuse_port_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = reuse_port_socket("127.0.0.1", port)
    assert second.getsockname()[1] == port
    first.close()
    second.close()


def test_the_workers_cut_off_clients_that_dribble_their_headers() -> None:
    port = free_port()
    limits = {"CREDLINK_HEADER_TIMEOUT_SECONDS": "1", "CREDLINK_KEEP_ALIVE_SECONDS": "1"}
    with supervisor(port, 2, serve_config=True, **limits) as process:
        workers = _wait_for(port, 2)

        def dribble(_: int) -> tuple[bytes, float]:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                started = time.monotonic()
                reply = b""
                for byte in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 100:
                    try:
                        conn.sendall(bytes([byte]))
                    except (BrokenPipeError, ConnectionResetError):
                        break
                    time.sleep(0.2)
                    conn.setblocking(False)
                    try:
                        reply = conn.recv(4096)
                    except BlockingIOError:
                        continue
                    finally:
                        conn.setblocking(True)
                    break
                conn.settimeout(5)
                try:
                    while chunk := conn.recv(4096):
                        reply += chunk
                except ConnectionResetError:
                    # The worker closed on a byte it had not read (a reset, not a FIN): what
                    # arrived before counts; the checks below need the whole 408 in it.
                    pass
                return reply, time.monotonic() - started

        # Eight slow clients at once: the kernel spreads them over both workers.
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(dribble, range(8)))
        for reply, seconds in replies:
            assert reply.startswith(b"HTTP/1.1 408 "), reply[:100]
            assert b"connection: close" in reply.lower()
            # Cut off after the 1 s header timeout, long before the 21 s the whole dribble
            # takes (the upper bound leaves room for a loaded 2-core machine).
            assert 0.9 <= seconds < 10
        # The workers answer others as before.
        assert _pids(port, 8) <= workers
        assert process.poll() is None
