"""Several uvicorn workers, each listening on its own ``SO_REUSEPORT`` socket (Linux, BSD).

Why not ``uvicorn --workers``
    Its workers share one listening socket, and whichever worker wakes first accepts every
    connection waiting. A client that opens its keep-alive connections at once — a bank's
    connection pool, a load generator — lands on one worker while the others idle: measured
    with wrk's 32 connections on two workers, 32 and 0. Here each worker binds its own socket
    to the same address with ``SO_REUSEPORT`` and the kernel spreads new connections over the
    workers by a hash of the client's address and port.

Readiness for free
    A worker's socket starts listening only after its lifespan has read the score pointer and
    loaded the models (uvicorn runs the lifespan before it listens), and it closes with the
    worker: a starting, restarting or crashed worker is never sent a connection it cannot
    answer.

Supervision
    :func:`run_workers` starts the workers as spawned processes, restarts one that exits
    unexpectedly (logged, after a pause), gives up when a worker fails its start-up (uvicorn's
    exit code 3: a broken configuration would only fail again) and, on SIGINT or SIGTERM,
    stops them all (SIGTERM: uvicorn's graceful shutdown; SIGKILL after ``grace`` seconds).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

__all__ = ["reuse_port_socket", "run_workers"]

logger = logging.getLogger("uvicorn.error")

_spawn = multiprocessing.get_context("spawn")
_RESTART_PAUSE = 1.0
_POLL = 0.2


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not yet listening).

    Raises
    ------
    OSError
        If the address is taken by a socket without ``SO_REUSEPORT`` (another server), or
        the platform has no ``SO_REUSEPORT``.
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("several workers need SO_REUSEPORT (Linux or BSD); run with 1 worker")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _check_free(host: str, port: int) -> None:
    """Fail here rather than in every worker when another server holds the address.

    A plain bind (without ``SO_REUSEPORT``) fails against *any* listener, including another
    credlink started on the same port, which would otherwise silently share its connections.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"{host}:{port} must be free to serve on; {error.strerror}") from None


def _worker(config: dict[str, Any]) -> None:
    """One worker process: its own socket, then uvicorn (lifespan, then listen)."""
    server = uvicorn.Server(uvicorn.Config(**config))
    server.run(sockets=[reuse_port_socket(config["host"], config["port"])])


def _start(config: dict[str, Any]) -> multiprocessing.process.BaseProcess:
    process = _spawn.Process(target=_worker, args=(config,), name="credlink-worker")
    process.start()
    return process


def run_workers(config: dict[str, Any], workers: int, *, grace: float = 30.0) -> int:
    """Run ``workers`` uvicorn workers until SIGINT or SIGTERM; return the exit code.

    Parameters
    ----------
    config
        Keyword arguments of :class:`uvicorn.Config` (``host`` and ``port`` included; an app
        import string, since the workers are spawned).
    workers
        How many worker processes (≥ 1).
    grace
        Seconds the workers get to finish their requests once asked to stop.

    Returns
    -------
    int
        0 after a requested stop; uvicorn's start-up failure code (3) when a worker could not
        start.

    Raises
    ------
    OSError
        If ``host:port`` cannot be bound (checked before any worker starts).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    _check_free(config["host"], config["port"])
    stop: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _frame: stop.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    code = 0
    processes = [_start(config) for _ in range(workers)]
    logger.info(
        "started %d workers [%s], each on its own SO_REUSEPORT socket",
        workers,
        ", ".join(str(p.pid) for p in processes),
    )
    try:
        while not stop:
            time.sleep(_POLL)
            for index, process in enumerate(processes):
                if process.is_alive() or stop:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    logger.error("worker [%s] failed to start; stopping", process.pid)
                    code = STARTUP_FAILURE
                    stop.append(0)
                    break
                logger.warning(
                    "worker [%s] exited with code %s; starting another",
                    process.pid,
                    process.exitcode,
                )
                time.sleep(_RESTART_PAUSE)
                processes[index] = _start(config)
    finally:
        _stop_all(processes, grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _stop_all(processes: list[multiprocessing.process.BaseProcess], grace: float) -> None:
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            logger.warning("worker [%s] did not stop in %.0f s; killing it", process.pid, grace)
            process.kill()
            process.join()
