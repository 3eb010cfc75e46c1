"""Registered models and the champions this process serves.

``GET /v1/models`` (analyst, admin)
    Every registered version with its aliases (``champion``, ``challenger``) and whether this
    process scores with it.
``POST /v1/admin/models/reload`` (admin)
    Re-read the current score set's pointer, load the current champions and swap them in
    atomically (:mod:`serving.precredit`), nothing recomputed, as
    data (booster text and JSON, never code from the artifact store). If a version fails to
    load, the current champions keep serving and the answer is a 503 ``model_unavailable``
    saying so and naming the model, version and file at fault. With several workers, the
    others follow within seconds (:func:`serving.precredit.follow_reloads`).
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends

from serving import precredit
from serving.deps import StateDep, require_roles
from serving.errors import ERROR_RESPONSES, responses
from serving.keys import ApiKey
from serving.roles import KeyRole
from serving.schemas_precredit import ModelsList, ReloadResult

__all__ = ["router"]

router = APIRouter(tags=["models"], responses={**ERROR_RESPONSES, **responses(503)})

ModelReaderKey = Annotated[ApiKey, Depends(require_roles(KeyRole.analyst))]
AdminKey = Annotated[ApiKey, Depends(require_roles())]


@router.get("/v1/models", summary="Registered model versions, aliases and what is serving")
def list_models(_key: ModelReaderKey, state: StateDep) -> ModelsList:
    """Versions newest first per model; ``serving`` marks this process's champions,
    ``answering`` the versions the current score set's assessments come from, ``problems``
    where the two disagree."""
    return precredit.models_list(state, state.scores.served())


@router.post(
    "/v1/admin/models/reload", summary="Load the current champions and swap them in atomically"
)
async def reload_models(_key: AdminKey, state: StateDep) -> ReloadResult:
    """Previous and current champions; on failure (503) the previous ones keep serving.
    This worker answers once it has reloaded; the other workers follow within a few seconds.
    """
    return await anyio.to_thread.run_sync(precredit.reload, state)
