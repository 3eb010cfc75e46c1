"""Registered models and the champions this process serves.

``GET /v1/models`` (analyst, admin)
    Every registered version with its aliases (``champion``, ``challenger``) and whether this
    process scores with it.
``POST /v1/admin/models/reload`` (admin)
    Load the current champions and swap them in atomically (:mod:`serving.precredit`), as
    data (booster text and JSON, never code from the artifact store). If a version fails to
    load, the current champions keep serving and the answer is a 503 ``model_unavailable``
    saying so and naming the model, version and file at fault. With several workers, the
    others follow within seconds (:func:`serving.precredit.follow_reloads`).
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends

from models.registry import ModelRegistry
from serving import precredit
from serving.deps import StateDep, require_roles
from serving.errors import ERROR_RESPONSES, responses
from serving.keys import ApiKey
from serving.roles import KeyRole
from serving.schemas_precredit import ModelRef, ModelsList, ModelVersionOut, ReloadResult
from serving.state import freeze_heap

__all__ = ["router"]

router = APIRouter(tags=["models"], responses={**ERROR_RESPONSES, **responses(503)})

ModelReaderKey = Annotated[ApiKey, Depends(require_roles(KeyRole.analyst))]
AdminKey = Annotated[ApiKey, Depends(require_roles())]


@router.get("/v1/models", summary="Registered model versions, aliases and what is serving")
def list_models(_key: ModelReaderKey, state: StateDep) -> ModelsList:
    """Versions newest first per model; ``serving`` marks this process's champions."""
    serving = {(m.name, m.version) for m in state.models.values()}
    uri = precredit.mlflow_uri(state.settings)
    frame = ModelRegistry(uri).list_models() if uri is not None else None
    registered = (
        []
        if frame is None
        else [
            ModelVersionOut(
                name=str(r.name),
                version=str(r.version),
                aliases=[a for a in str(r.aliases).split(", ") if a],
                run_id=None if r.run_id is None else str(r.run_id),
                created=r.created,
                serving=(str(r.name), str(r.version)) in serving,
            )
            for r in frame.itertuples(index=False)
        ]
    )
    return ModelsList(
        registered=registered,
        serving=[
            {"name": m.name, "version": m.version, "alias": m.alias, "loaded_at": m.loaded_at}
            for m in state.models.values()
        ],
        error=state.models_error,
    )


@router.post(
    "/v1/admin/models/reload", summary="Load the current champions and swap them in atomically"
)
async def reload_models(_key: AdminKey, state: StateDep) -> ReloadResult:
    """Previous and current champions; on failure (503) the previous ones keep serving.
    This worker answers once it has reloaded; the other workers follow within a few seconds.
    """
    previous, current = await anyio.to_thread.run_sync(precredit.reload_champions, state)
    # The other workers follow within a few seconds (serving.precredit.follow_reloads).
    state.reload_token = await anyio.to_thread.run_sync(precredit.announce_reload, state.settings)
    before = [ModelRef(name=m.name, version=m.version) for m in previous.values()]
    after = [ModelRef(name=m.name, version=m.version) for m in current.values()]
    del previous, current  # let the replaced champions go before the heap is frozen again
    freeze_heap()
    return ReloadResult(previous=before, current=after, changed=before != after)
