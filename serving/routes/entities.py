"""Entities: an enterprise's risk and its network, for every role.

Banks see persons masked (and aliased), no warnings, and must send the enterprise's
authorization (``X-Authorization-Id``, ``-Purpose``, ``-Expires``); each of their calls is
audited before its answer leaves (:mod:`serving.audit`). No answer holds a raw resident ID
number, whatever the store holds (:mod:`serving.crud`): a person id that is one is served as
a pseudonym keyed by the store's ID salt.

Both answer from the current score set (``X-Score-Set`` names it) and the enterprise's
neighbourhood in the store (:mod:`serving.crud`); 503 while no set has been published.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from serving import crud
from serving.deps import (
    AudienceDep,
    EngineDep,
    EnterpriseUscc,
    ServedDep,
    StateDep,
    bank_authorization,
)
from serving.errors import ERROR_RESPONSES, responses
from serving.schemas import EntityNetwork, EntityRisk

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/entities",
    tags=["entities"],
    dependencies=[Depends(bank_authorization)],
    responses={**ERROR_RESPONSES, **responses(404)},
)


@router.get("/{uscc}/risk", summary="An enterprise's own and linked risk, grade and sources")
def entity_risk(
    uscc: EnterpriseUscc,
    audience: AudienceDep,
    served: ServedDep,
    engine: EngineDep,
    state: StateDep,
    top: Annotated[
        int, Query(ge=1, le=20, description="Source records to explain.", examples=[5])
    ] = 5,
) -> EntityRisk:
    """Own signal, linked risk (with and without returning walks), grade A–D, active records
    and the top source records with their paths; warnings for the credit office and analysts.
    """
    return crud.entity_risk(
        state.scores, served, engine, uscc, audience, top=top, person_key=state.settings.salt()
    )


@router.get("/{uscc}/network", summary="An enterprise's network (关联关系图谱)")
def entity_network(
    uscc: EnterpriseUscc,
    audience: AudienceDep,
    served: ServedDep,
    state: StateDep,
    depth: Annotated[
        int, Query(ge=1, le=3, description="Hops from the enterprise.", examples=[2])
    ] = 1,
) -> EntityNetwork:
    """Nodes (enterprises, persons) and edges (legal_rep, shareholder, executive, branch_of)
    within ``depth`` hops, nearest first, at most CREDLINK_NETWORK_MAX_NODES nodes."""
    return crud.entity_network(
        state.scores,
        served,
        uscc,
        depth,
        audience,
        max_nodes=state.settings.network_max_nodes,
        person_key=state.settings.salt(),
    )
