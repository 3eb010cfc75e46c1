"""Operations: liveness and readiness (no API key) and Prometheus metrics (an admin key or the
metrics token, unless ``CREDLINK_METRICS_PUBLIC``: :func:`serving.deps.metrics_reader`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from serving import crud, precredit
from serving.deps import MetricsDep, StateDep, metrics_reader, served_set
from serving.errors import responses
from serving.exceptions import ServiceUnavailableError
from serving.metrics import CONTENT_TYPE_LATEST
from serving.schemas import Health, ModelInfo, Readiness

__all__ = ["router"]

router = APIRouter(tags=["operations"])

_METRICS_EXAMPLE = """\
# HELP credlink_http_requests_total HTTP requests by method, route template and status.
# TYPE credlink_http_requests_total counter
credlink_http_requests_total{method="GET",route="/v1/warnings",status="200"} 12.0
# HELP credlink_warnings Warnings in the store by lifecycle status.
# TYPE credlink_warnings gauge
credlink_warnings{status="new"} 41.0
"""


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Health:
    """Always ``{"status": "ok"}`` while the process serves requests."""
    return Health()


@router.get(
    "/readyz",
    summary="Readiness: a score set is current and the required champions are loaded",
    responses=responses(503),
)
async def readyz(state: StateDep) -> Readiness:
    """The current score set (its date, its graph's size, what disagrees with the service)
    and the loaded models; 503 (``unavailable``, saying why) while no score set has been
    published (run ``credlink pipeline run``) or a required champion
    (``CREDLINK_REQUIRED_MODELS``) is not loaded. A failed reload keeps the current
    champions, and readiness with them."""
    served = await served_set(state)
    models = state.models  # read once: a reload swaps the whole dict
    readiness = crud.readiness(
        served,
        [
            ModelInfo(name=m.name, version=m.version, alias=m.alias, loaded_at=m.loaded_at)
            for m in models.values()
        ],
        precredit.set_problems(served, models),
    )
    problem = precredit.readiness_problem(state)
    if problem is not None:
        raise ServiceUnavailableError(f"not ready: {problem}")
    return readiness


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"example": _METRICS_EXAMPLE}}},
        **responses(401, 403),
    },
    dependencies=[Depends(metrics_reader)],
)
def metrics(collected: MetricsDep) -> Response:
    """Requests and latency by route template and status, audit writes, warnings by status.

    An admin key, or ``Authorization: Bearer <CREDLINK_METRICS_TOKEN>``; no key at all when
    ``CREDLINK_METRICS_PUBLIC`` is true.
    """
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)
