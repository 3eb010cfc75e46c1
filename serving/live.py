"""Live updates through the service: ``POST /v1/records`` and ``credlink ingest --live``.

:func:`risk.live.apply_records` does the work (ingest, the region of the change, linked risk,
rules, grades, the delta and its events); this module adds what the service holds — the salt,
the USCC allow-list, the champions — and the answer of the route.

Assessments (:func:`live_assessor`)
    A pre-credit assessment reads an enterprise's own records, financials and loans, its
    linked risk and the 1–2-hop counts of :mod:`features.graph` on the month-start cutoff,
    and its related group (关联企业群: ``group_size``, ``group_dishonest``). So the
    enterprises to reassess are those within max(K, 2) hops of the changed nodes over roles
    begun by the set's date (a superset of those present on the cutoff), and, when the
    features count the group, the members of the changed nodes' groups. Each is scored by
    :meth:`models.scoring.PrecreditScorer.score` on the rows it depends on — its max(K, 2)-hop
    region and its whole related group — read from the store, and the result equals the
    batch pipeline's. A group has no radius: one of more than ``group_limit`` enterprises (the
    county's largest, thousands at a province's scale) is not read per update, and the
    enterprises that need it keep their assessment until the next ``credlink pipeline run``;
    the update's notes say how many.

Which champions
    The ones the current set was assessed with: when the service's champions have other
    versions than the set's ``model_versions`` (a promotion since the pipeline ran), the
    assessments are left to the next run and the answer says so, so that one set never
    mixes two models' assessments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from features.data import PlatformData
from features.graph import GROUP_RULE
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME
from models.scoring import PrecreditScorer
from risk.config import RiskConfig
from risk.contract import TABLES, UNKNOWN_HOLDER
from risk.live import Assess, LiveResult, LiveScope, apply_records
from risk.live.region import load_groups, load_region, read_by
from risk.rules import RuleInputs
from risk.scoresets import current, get_set
from risk.store import contract_table, quarantine
from serving.precredit import Champions, assessment_frames, assessment_rows
from serving.redaction import without_id_numbers
from serving.schemas_live import RecordsResult, ScoreEvent
from serving.schemas_precredit import QuarantinedRow
from serving.settings import Settings
from serving.state import ServiceState

__all__ = [
    "GROUP_LIMIT",
    "LIVE_TABLES",
    "live_assessor",
    "pipeline_assessor",
    "post_records",
    "records_result",
    "service_assessor",
]

GROUP_LIMIT = 2000
"""Enterprises of a related group read per update at most (module docstring)."""

LIVE_TABLES = ("enterprises", "persons", "roles", "records", "financials")
"""Tables ``POST /v1/records`` takes (loans arrive through ``/v1/outcomes``, bound to a
bank's authority)."""

_FIRST_DATA_ROW = 2


def live_assessor(
    engine: Engine,
    scorer: PrecreditScorer,
    versions: Mapping[str, str],
    *,
    group_limit: int = GROUP_LIMIT,
) -> Assess:
    """A callback for :func:`risk.live.apply_records` that reassesses what a change moves
    with ``scorer`` (module docstring).

    Parameters
    ----------
    engine
        The store.
    scorer
        The champions' scorer (its risk settings the set's).
    versions
        Model name → version, as the assessments name them.
    group_limit
        Enterprises of a related group read at most.
    """
    counts_groups = bool(scorer.feature_config.graph)
    # The groups the PD was trained on: a model from before issue 15 keeps its wider ones.
    control_only = scorer.feature_config.group_rule == GROUP_RULE

    def assess(scope: LiveScope) -> pd.DataFrame:
        radius = max(scope.hops, 2)
        cutoff = date(scope.as_of.year, scope.as_of.month, 1)
        targets = set(scope.subjects)
        if scope.changed:
            near = load_region(
                engine, scope.changed, scope.as_of, present_radius=0, begun_radius=radius
            )
            targets |= near.within(radius, begun=True) & near.enterprise_ids
            if counts_groups:
                moved = load_groups(
                    engine, scope.changed, cutoff, limit=group_limit, control_only=control_only
                )
                targets |= moved.enterprises
                if set(scope.changed) - moved.complete - {UNKNOWN_HOLDER}:
                    scope.notes.append(
                        f"a related group of more than {group_limit} enterprises changed: "
                        "its members outside the change's neighbourhood keep their assessment "
                        "until the next pipeline run"
                    )
        region = load_region(engine, targets, scope.as_of, present_radius=0, begun_radius=radius)
        registered = region.enterprise_ids
        frames = _frames(engine, region.inputs, sorted(targets & registered))
        assessed = sorted(targets & registered)
        if counts_groups and assessed:
            groups = load_groups(
                engine, assessed, cutoff, limit=group_limit, control_only=control_only
            )
            kept = sorted(set(assessed) - groups.complete)
            if kept:
                scope.notes.append(
                    f"{len(kept)} enterprises keep their assessment until the next pipeline "
                    f"run: their related group holds more than {group_limit} enterprises"
                )
            assessed = sorted(groups.complete)
            frames = _with_groups(engine, frames, groups.nodes, groups.roles, scope.as_of)
        if not assessed:
            return assessment_rows([])
        data = PlatformData.from_frames(frames)
        return pd.concat(assessment_frames(scorer, data, assessed, versions, scope.as_of))

    return assess


def _frames(engine: Engine, inputs: RuleInputs, usccs: list[str]) -> dict[str, pd.DataFrame]:
    """The contract tables of a region, with the financials and loans of ``usccs``."""
    with engine.connect() as conn:
        financials = read_by(conn, "financials", "uscc", usccs)
        loans = read_by(conn, "loans", "uscc", usccs)
        persons = read_by(conn, "persons", "person_id", set(inputs.persons["person_id"]))
    return {
        "enterprises": inputs.enterprises,
        "persons": persons,
        "roles": inputs.roles,
        "records": inputs.records,
        "financials": financials,
        "loans": loans,
    }


def _with_groups(
    engine: Engine,
    frames: dict[str, pd.DataFrame],
    nodes: set[str],
    roles: pd.DataFrame,
    as_of: date,
) -> dict[str, pd.DataFrame]:
    """``frames`` with the rows of the group members they lack (their group roles, records,
    enterprise and person rows)."""
    have = set(frames["enterprises"]["uscc"].astype(str)) | set(
        frames["persons"]["person_id"].astype(str)
    )
    fresh = sorted(nodes - have)
    decided = contract_table("records").c.decided <= as_of
    with engine.connect() as conn:
        enterprises = read_by(conn, "enterprises", "uscc", fresh)
        persons = read_by(conn, "persons", "person_id", fresh)
        records = read_by(conn, "records", "subject_id", fresh, [decided])
    out = dict(frames)
    out["enterprises"] = _concat(frames["enterprises"], enterprises, ["uscc"])
    out["persons"] = _concat(frames["persons"], persons, ["person_id"])
    out["records"] = _concat(frames["records"], records, list(TABLES["records"].key))
    out["roles"] = _concat(frames["roles"], roles, list(TABLES["roles"].key))
    return out


def _concat(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    if b.empty:
        return a
    return pd.concat([a, b[a.columns]], ignore_index=True).drop_duplicates(key, ignore_index=True)


def service_assessor(state: ServiceState) -> tuple[Assess | None, str | None]:
    """The callback of the service's champions, or None and why the assessments are kept."""
    loaded = state.models.get(PD_MODEL_NAME)
    bundle = None if loaded is None else loaded.model
    if not isinstance(bundle, Champions):
        return None, "assessments kept: no pre-credit champions are loaded"
    return _if_same_versions(state.engine, bundle.scorer, bundle.versions)


def pipeline_assessor(
    engine: Engine, settings: Settings, risk_config: RiskConfig
) -> tuple[Assess | None, str | None]:
    """The callback of the registry's champions, as ``credlink pipeline run`` loads them
    (``credlink ingest --live``), or None and why the assessments are kept."""
    from serving.pipeline import _champions
    from serving.precredit import mlflow_uri

    champions = _champions(mlflow_uri(settings), risk_config, settings.mlflow_registry_uri)
    if champions.scorer is None:
        return None, f"assessments kept: {champions.why_not_precredit}"
    versions = {name: champions.models[name][0] for name in champions.precredit_names}
    return _if_same_versions(engine, champions.scorer, versions)


def _if_same_versions(
    engine: Engine, scorer: PrecreditScorer, versions: Mapping[str, str]
) -> tuple[Assess | None, str | None]:
    """The callback, when the current set was assessed with these versions (module
    docstring: one set never mixes two models' assessments)."""
    pointer = current(engine)
    if pointer is None:
        return None, None
    assessed_with = get_set(engine, pointer.set_id).model_versions
    names = (PD_MODEL_NAME, LIMIT_MODEL_NAME)
    if any(assessed_with.get(n) != versions.get(n) for n in names):
        return None, (
            "assessments kept: the score set was assessed with other champion versions; "
            "the next pipeline run reassesses"
        )
    return live_assessor(engine, scorer, versions), None


def records_result(engine: Engine, table: str, result: LiveResult) -> RecordsResult:
    """The route's answer: counts, the quarantined rows (reasons with ID numbers masked), the
    set and seq, the events."""
    summary = result.summary
    items: list[QuarantinedRow] = []
    if summary.batch_id is not None and summary.quarantined:
        with engine.connect() as conn:
            rows = conn.execute(
                select(quarantine.c.row_number, quarantine.c.column_name, quarantine.c.reason)
                .where(quarantine.c.batch_id == summary.batch_id)
                .order_by(quarantine.c.row_number, quarantine.c.id)
            ).all()
        items = [
            QuarantinedRow(
                index=int(number) - _FIRST_DATA_ROW,
                column=column,
                reason=without_id_numbers(str(reason)),
            )
            for number, column, reason in rows
        ]
    events = [
        ScoreEvent(
            subject_id=str(e["subject_id"]),
            kind=str(e["kind"]),
            before=_event_value(e["before"]),
            after=_event_value(e["after"]),
        )
        for e in result.events.to_dict("records")
    ]
    return RecordsResult(
        table=table,
        status=summary.status,
        batch_id=summary.batch_id,
        read=summary.read,
        accepted=result.accepted,
        inserted=summary.inserted,
        updated=summary.updated,
        unchanged=summary.unchanged,
        quarantined=summary.quarantined,
        quarantine=items,
        set_id=result.set_id,
        seq=result.seq,
        changed=without_id_numbers(list(result.changed)),
        recomputed=dict(result.recomputed),
        events=events,
        notes=without_id_numbers(list(result.notes)),
    )


def _event_value(value: Any) -> str | None:
    return None if value is None else without_id_numbers(str(value))


def post_records(
    state: ServiceState, table: str, rows: Sequence[Mapping[str, Any]], *, request_id: str
) -> RecordsResult:
    """Apply posted rows live (``POST /v1/records``): the ingest, the delta, the answer.

    Raises
    ------
    risk.scoresets.ScoreSetError
        No score set is published, or it was scored with other settings (nothing stored).
    """
    assess, why_not = service_assessor(state)
    result = apply_records(
        state.engine,
        table,
        list(rows),
        state.risk_config,
        cause={"request_id": request_id},
        source=f"POST /v1/records request {request_id}",
        assess=assess,
        id_salt=state.settings.salt(),
        uscc_allowlist=state.allowlist,
    )
    # This worker answers from the delta at once; the others see it within a second.
    state.scores.refresh()
    answer = records_result(state.engine, table, result)
    if why_not is not None and result.seq and result.recomputed:
        answer.notes.append(why_not)
    return answer
