"""``credlink serve``: run the HTTP API under uvicorn (uvloop, httptools, factory mode).

One worker runs in this process (``uvicorn.run``); several run as processes that each listen
on their own ``SO_REUSEPORT`` socket (:mod:`serving.workers`: uvicorn's own workers share one
socket, and a client's burst of connections all lands on one of them).

Registered in :mod:`serving.cli` as the ``serve`` command.

uvicorn imports ``serving.app:create_app`` and calls it in each worker, so each worker reads
its settings from the environment: :func:`serve` first writes the settings it was given
(command-line overrides included) into ``CREDLINK_*`` variables, pins the date setting (so
that workers started around midnight read the same day) and migrates the store once, before
any worker starts. The workers answer from the current score set (``credlink pipeline run``):
none of them scores the county.

Logging: uvicorn's configuration, and the ``credlink`` loggers at INFO on the same handler
(a worker says which score set it serves and which champions it loaded).

Connection limits (:func:`uvicorn_config`): the request-header deadline and size of
:class:`serving.limits.GuardedHttpToolsProtocol` (slow clients get 408), uvicorn's keep-alive
timeout and its concurrency limit (503 beyond ``CREDLINK_MAX_CONNECTIONS``).
"""

from __future__ import annotations

import copy
import os
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from serving.cli.common import DatabaseOpt, WorkDirOpt, err, risk_config_of

if TYPE_CHECKING:
    from serving.settings import Settings

__all__ = ["APP_FACTORY", "serve", "serve_command", "settings_environment", "uvicorn_config"]

APP_FACTORY = "serving.app:create_app"
"""The import string uvicorn calls (factory mode)."""


def settings_environment(settings: Settings) -> dict[str, str]:
    """The ``CREDLINK_*`` variables that rebuild ``settings`` in a worker (the date pinned)."""
    from pydantic import SecretStr

    values: dict[str, Any] = dict(settings)
    values["as_of"] = settings.snapshot_date
    for name, value in values.items():
        if isinstance(value, SecretStr):  # the salt, the metrics token: their values, not ***
            values[name] = value.get_secret_value()
    return {
        f"CREDLINK_{name.upper()}": value.isoformat() if isinstance(value, date) else str(value)
        for name, value in values.items()
        if value is not None
    }


def uvicorn_config(settings: Settings, app: str = APP_FACTORY) -> dict[str, Any]:
    """Keyword arguments of :class:`uvicorn.Config` for ``settings`` (module docstring).

    Parameters
    ----------
    settings
        Address, access log and the connection limits.
    app
        The import string of the application (a factory unless a test passes a plain app).
    """
    from uvicorn.config import LOGGING_CONFIG

    from serving.limits import http_protocol

    # The service's own lines (which score set it serves, model loads) beside uvicorn's.
    logging = copy.deepcopy(LOGGING_CONFIG)
    logging["loggers"]["credlink"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return {
        "app": app,
        "factory": app == APP_FACTORY,
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": http_protocol(settings),
        "proxy_headers": False,
        "server_header": False,
        "log_level": "info",
        "log_config": logging,
        "access_log": settings.access_log,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.max_connections,
    }


def serve(settings: Settings) -> None:
    """Migrate the store, then serve the API until interrupted.

    Parameters
    ----------
    settings
        Host, port, workers and store.
    """
    import uvicorn

    from risk.store import migrate, open_engine
    from serving.workers import run_workers

    engine = open_engine(settings.store_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    os.environ.update(settings_environment(settings))
    config = uvicorn_config(settings)
    if settings.workers == 1:
        uvicorn.run(**config)
        return
    code = run_workers(config, settings.workers)
    if code:
        raise SystemExit(code)


def serve_command(
    host: Annotated[str | None, typer.Option(help="Bind address (CREDLINK_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (CREDLINK_PORT).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Worker processes (CREDLINK_WORKERS).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Date setting YYYY-MM-DD (CREDLINK_AS_OF; default today); answers are as of "
            "the current score set's date.",
        ),
    ] = None,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Serve the HTTP API (banks, credit office, analysts); docs at /docs."""
    from serving.settings import Settings

    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": workers,
        "as_of": as_of,
        "database_url": database_url,
        "work_dir": work_dir,
    }
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError names the setting
        raise typer.BadParameter(str(exc)) from None
    risk_config_of(settings)  # a bad CREDLINK_RISK_CONFIG_FILE: a usage error, before any worker
    err.print(
        f"serving on http://{settings.host}:{settings.port} with {settings.workers} worker(s), "
        "answering from the current score set (credlink pipeline run)"
    )
    serve(settings)
