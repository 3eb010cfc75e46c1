"""The HTTP API: :func:`create_app` builds the FastAPI application.

``uvicorn --factory serving.app:create_app`` (what ``credlink serve`` runs) calls it without
arguments: the settings then come from the environment (``CREDLINK_*``), read once here.

Startup (the lifespan, before the first request): open the store and migrate it, read the
USCC allow-list and the one risk configuration (``CREDLINK_RISK_CONFIG_FILE``), read the
current score set's pointer (:mod:`serving.scores`: nothing is recomputed, the batch pipeline
``credlink pipeline run`` computed every score once), then load the pre-credit champions
(:class:`serving.state.ServiceState.models`). Neither the start time nor the memory of a
worker grows with the county. Without a score set the service starts and ``/readyz`` answers
503 saying to run the pipeline.
Shutdown disposes of the engine.

Routes
------
=======  ======================================  ===========================================
method   path                                    roles
=======  ======================================  ===========================================
GET      /healthz, /readyz                       no key
GET      /metrics                                admin key or the metrics token
                                                 (``CREDLINK_METRICS_PUBLIC``: no key)
GET      /docs, /redoc, /openapi.json            any key (``CREDLINK_PUBLIC_DOCS``: no key)
GET      /v1/warnings                            credit_office, analyst, admin
GET      /v1/warnings/export?regulator=…         credit_office, admin
GET      /v1/warnings/{warning_id}               credit_office, analyst, admin
PATCH    /v1/warnings/{warning_id}               credit_office, admin
GET      /v1/entities/{uscc}/risk                bank (audited), credit_office, analyst, admin
GET      /v1/entities/{uscc}/network?depth=1..3  bank (audited), credit_office, analyst, admin
POST     /v1/precredit/assessments           bank (audited; authorization in the body)
POST     /v1/precredit/assessments:batch     bank (audited: one row per item + the call)
POST     /v1/outcomes                        bank (audited)
GET      /v1/models                          analyst, admin
POST     /v1/admin/models/reload             admin
GET      /ui/…                                   web pages: login with a credit_office or admin
                                                 key (:mod:`serving.web`)
=======  ======================================  ===========================================

Middleware, from the outside in: ``RequestContextMiddleware`` (request id, metrics) →
``AuditMiddleware`` (bank calls) → :class:`serving.limits.LimitsMiddleware` (body size, the key
before the body, per-key rates, body deadline) → ``UnhandledErrorMiddleware`` → the routes.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from risk.store import migrate, open_engine
from serving.deps import docs_reader
from serving.errors import UnhandledErrorMiddleware, install_error_handlers
from serving.limits import LimitsMiddleware
from serving.metrics import Metrics
from serving.middleware import AuditMiddleware, RequestContextMiddleware
from serving.precredit import follow_reloads, start_champions
from serving.redaction import install_log_filters
from serving.routes import entities, health, models, outcomes, precredit, records, warnings
from serving.scores import NO_SET
from serving.settings import Settings, load_allowlist
from serving.state import ServiceState, freeze_heap
from serving.web import router as web_router

__all__ = ["create_app"]

logger = logging.getLogger("credlink.serving")

_SWITCH_INTERVAL = 0.001
"""Seconds between GIL hand-overs in a serving process (see the lifespan)."""

_DESCRIPTION = """\
Linked-entity risk warning (关联风险预警) and, soon, 信易贷 pre-credit for a public-credit
platform.

**Authentication**: send an API key as `X-API-Key: <token>` or `Authorization: Bearer <token>`
(`credlink keys create`). Roles: bank, credit_office, analyst, admin (admin may do everything).
On `/v1` the key is checked before the body is read.

**Limits**: bodies over `CREDLINK_MAX_BODY_BYTES` → 413 (before they are read); more than
`CREDLINK_RATE_LIMIT_PER_SECOND` requests a second per key and worker → 429 with `Retry-After`;
headers or a body that arrive too slowly → 408.

**Banks** see persons masked (names `周**`, ids replaced by per-response aliases) and no
warnings; on entity routes they must send the enterprise's authorization:
`X-Authorization-Id` (授权编号), `X-Authorization-Purpose` (pre_credit, credit_approval,
post_loan) and `X-Authorization-Expires` (ISO date). Every bank call is written to an
append-only audit log before its answer leaves; the `X-Audit-Id` header names its row.

**Errors** have one shape: `{"error": {"code", "message", "field", "check", "details",
"request_id"}}`.
"""


def _start(settings: Settings, metrics: Metrics) -> ServiceState:
    started = time.perf_counter()
    engine = open_engine(settings.store_url)
    migrate(engine)
    state = ServiceState(
        settings=settings,
        engine=engine,
        risk_config=settings.risk_config(),
        allowlist=load_allowlist(settings.uscc_allowlist),
    )
    served = state.scores.refresh()  # logs the set it serves
    if served is None:
        logger.warning("not ready: %s", NO_SET)
    start_champions(state)
    metrics.attach(engine, state.scores)
    logger.info(
        "started in %.2f s (nothing scored: answers are read by key)", time.perf_counter() - started
    )
    return state


def _add_docs(app: FastAPI) -> None:
    """``/openapi.json``, ``/docs`` and ``/redoc``, each behind :func:`serving.deps.docs_reader`.

    The document describes every route, role and parameter: it is for the API's users (any
    key), not for whoever scans the address, unless the operator says so.
    """
    reader = [Depends(docs_reader)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=reader)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=reader)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="credlink – Swagger UI")

    @app.get("/redoc", include_in_schema=False, dependencies=reader)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="credlink – ReDoc")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API.

    Parameters
    ----------
    settings
        The configuration; ``None`` reads it from the environment (once).

    Returns
    -------
    fastapi.FastAPI
        Its lifespan opens the store, reads the score pointer and loads the champions; use
        ``with TestClient(app)`` in tests.
    """
    settings = Settings() if settings is None else settings
    metrics = Metrics()
    install_log_filters()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await anyio.to_thread.run_sync(_start, settings, metrics)
        app.state.credlink = state
        freeze_heap()
        # The audit writer thread must get the GIL back quickly once its commit returns:
        # every bank call of the batch waits for it (Python's default is 5 ms).
        sys.setswitchinterval(_SWITCH_INTERVAL)
        async with anyio.create_task_group() as background:
            background.start_soon(follow_reloads, state)
            try:
                yield
            finally:
                background.cancel_scope.cancel()
                await anyio.to_thread.run_sync(state.audit.close)
                state.engine.dispose()

    app = FastAPI(
        title="credlink",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        # Served by _add_docs below, behind a key unless CREDLINK_PUBLIC_DOCS.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "operations", "description": "Liveness, readiness, metrics."},
            {"name": "warnings", "description": "Repeat-violator warnings (credit office)."},
            {"name": "entities", "description": "Enterprise risk and network."},
            {"name": "precredit", "description": "信易贷 pre-credit assessments (banks)."},
            {"name": "outcomes", "description": "Banks' loan outcomes (放款结果)."},
            {"name": "models", "description": "Registered and serving pre-credit models."},
            {"name": "records", "description": "Live updates of records (credit office)."},
        ],
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    # Added innermost first (see serving.middleware for the stack and why this order).
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(LimitsMiddleware, settings=settings)
    app.add_middleware(AuditMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    _add_docs(app)
    app.include_router(health.router)
    app.include_router(warnings.router)
    app.include_router(entities.router)
    app.include_router(precredit.router)
    app.include_router(outcomes.router)
    app.include_router(records.router)
    app.include_router(models.router)
    # The style sheet first: the pages' router ends with a catch-all 404 page under /ui.
    app.mount("/ui/static", StaticFiles(packages=[("serving.web", "static")]), name="ui-static")
    app.include_router(web_router)
    return app
