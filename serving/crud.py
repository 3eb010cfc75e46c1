"""What the routes ask for, assembled from :mod:`risk` (the template's "crud" layer).

Routes call these functions with plain values (no ``Request``, no HTTP); these call
:mod:`risk.warnings`, :mod:`risk.propagation`, :mod:`risk.grades` and the loaded
snapshot, and return the pydantic bodies of :mod:`serving.schemas`.

Who sees what (:class:`Audience`)
--------------------------------
============================  ======  =============  =======  =====
                              bank    credit_office  analyst  admin
============================  ======  =============  =======  =====
persons' full names           no      yes            no       yes
persons' ids                  alias   yes            yes      yes
warnings (and warning-aware   no      yes            yes      yes
grade)
============================  ======  =============  =======  =====

For banks, person ids are replaced by per-response aliases (``person-1``, ``person-2``, … in
order of appearance): a bank learns how the enterprise's parties are linked, but cannot
follow one natural person from query to query. No response carries a person's ID number,
masked ID, ID hash or a record's ``subject_name``.

No raw resident ID numbers, whatever the store holds
----------------------------------------------------
A store ingested before ingest refused them can hold ID numbers as person ids, in names and
in records' texts, and the warnings' evidence then repeats them. The read side is safe
regardless, in two steps (:mod:`serving.redaction`):

1. a person id holding an ID number is served as a pseudonym (``person-`` and
   16 hex digits of a keyed hash): stable for every role, call and process, so networks and
   paths still join up, but opaque (banks keep their aliases);
2. every body these functions return passes :func:`without_id_numbers` last: any ID number
   left in any text (a name, 决定书文号, 处罚机关, evidence, a lifecycle note) is masked as
   ``340321********1234``, the text around it kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import Engine

from risk.contract import Domain, Severity, regulator_for, zh_label
from risk.contract import RecordKind as Kind
from risk.exceptions import UnknownEntityError
from risk.explain import explain
from risk.grades import assign_grades
from risk.graph import GraphSnapshot
from risk.propagation import record_signal
from risk.rules import LEVEL_RANK, Level, Rule
from risk.spreadsheets import csv_bytes
from risk.warnings import (
    OPEN_STATUSES,
    WarningRecord,
    WarningStatus,
    get_warning,
    list_warnings,
    notice_frame,
    transition,
    warning_events,
)
from serving.exceptions import ServiceUnavailableError
from serving.redaction import PersonIds, without_id_numbers
from serving.schemas import (
    ActiveRecord,
    EntityGrade,
    EntityNetwork,
    EntityRisk,
    GraphInfo,
    ModelInfo,
    NetworkEdge,
    NetworkNode,
    Readiness,
    RiskSource,
    WarningDetail,
    WarningEventOut,
    WarningPage,
    WarningSummary,
)
from serving.state import LoadedSnapshot, ServiceState

__all__ = [
    "Audience",
    "entity_network",
    "entity_risk",
    "move_warning",
    "notice_csv",
    "readiness",
    "warning_detail",
    "warning_page",
]

M = TypeVar("M", bound=BaseModel)

_ENTITY_WARNINGS = 100


@dataclass(frozen=True)
class Audience:
    """What the caller may see (module docstring)."""

    unmasked_persons: bool
    person_aliases: bool
    warnings: bool


def _private(body: M) -> M:
    """``body`` with every ID number in its text masked (:func:`without_id_numbers`)."""
    data = body.model_dump()
    masked = without_id_numbers(data)
    return body if masked is data else type(body).model_validate(masked)


# --------------------------------------------------------------------------- operations


def readiness(state: ServiceState) -> Readiness:
    """What is loaded: the graph snapshot and the models.

    Raises
    ------
    ServiceUnavailableError
        While the snapshot is not loaded.
    """
    loaded = state.snapshot
    if loaded is None:
        raise ServiceUnavailableError("the graph snapshot is not loaded yet")
    graph = loaded.run.snapshot
    persons = int(graph.is_person.sum())
    return Readiness(
        graph=GraphInfo(
            as_of=loaded.as_of,
            loaded_at=loaded.loaded_at,
            load_seconds=round(loaded.seconds, 3),
            nodes=graph.n_nodes,
            enterprises=graph.n_nodes - persons,
            persons=persons,
            edges=graph.n_edges,
            signal_records=len(loaded.run.records),
        ),
        models=[
            ModelInfo(name=m.name, version=m.version, alias=m.alias, loaded_at=m.loaded_at)
            for m in state.models.values()
        ],
    )


# --------------------------------------------------------------------------- warnings


def _summary_fields(record: WarningRecord) -> dict[str, Any]:
    data = record.to_dict()
    data["record_ids"] = list(record.record_ids)
    for name in ("fingerprint", "evidence"):
        data.pop(name)
    return data


def warning_summary(record: WarningRecord) -> WarningSummary:
    """One warning without its evidence."""
    return WarningSummary.model_validate(_summary_fields(record))


def warning_detail(engine: Engine, warning_id: int) -> WarningDetail:
    """One warning with its evidence and history.

    Raises
    ------
    UnknownWarningError
        If no warning has that id.
    """
    record = get_warning(engine, warning_id)
    events = [
        WarningEventOut.model_validate(e.to_dict()) for e in warning_events(engine, record.id)
    ]
    detail = WarningDetail.model_validate(
        {
            **_summary_fields(record),
            "fingerprint": record.fingerprint,
            "evidence": record.evidence,
            "events": events,
        }
    )
    return _private(detail)


def warning_page(
    engine: Engine,
    *,
    level: Iterable[Level] | None,
    rule: Iterable[Rule] | None,
    domain: Domain | None,
    regulator: str | None,
    status: Iterable[WarningStatus] | None,
    since: Any,
    limit: int,
    offset: int,
) -> WarningPage:
    """One page of warnings (:func:`risk.warnings.list_warnings`), without evidence."""
    page = list_warnings(
        engine,
        level=list(level) if level else None,
        rule=list(rule) if rule else None,
        domain=domain,
        regulator=regulator,
        status=list(status) if status else None,
        since=since,
        limit=limit,
        offset=offset,
    )
    body = WarningPage(
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        items=[warning_summary(w) for w in page.items],
    )
    return _private(body)


def move_warning(
    engine: Engine, warning_id: int, status: WarningStatus, note: str | None, actor: str
) -> WarningDetail:
    """Move a warning along its lifecycle; return it with its history.

    Raises
    ------
    UnknownWarningError, IllegalTransitionError
        From :func:`risk.warnings.transition`.
    """
    transition(engine, warning_id, status, actor, note)
    return warning_detail(engine, warning_id)


def notice_csv(engine: Engine, regulator: str, status: Iterable[WarningStatus] | None) -> bytes:
    """The 通报 list of one regulator as a spreadsheet-safe CSV.

    :func:`risk.spreadsheets.csv_bytes`: UTF-8 with BOM so that Excel reads it, and no cell
    is ever evaluated as a formula.
    """
    frame = notice_frame(engine, regulator, status=list(status) if status else None)
    return csv_bytes(frame)


# --------------------------------------------------------------------------- entities


def _enterprise_position(snapshot: GraphSnapshot, uscc: str) -> int:
    position = int(snapshot.node_ids.get_indexer([uscc])[0])
    if position < 0 or snapshot.is_person[position] or not snapshot.known[position]:
        raise UnknownEntityError(f"uscc must be an enterprise in the store; got {uscc!r}")
    return position


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _grade(
    loaded: LoadedSnapshot, uscc: str, warning_level: str | None, with_warnings: bool
) -> EntityGrade | None:
    if uscc not in loaded.grades.index:
        return None  # not existing on as_of (not founded yet, or closed)
    signals = loaded.grades.loc[[uscc], ["own_signal", "linked_risk", "serious_listed"]].copy()
    signals["warning_level"] = warning_level if with_warnings else None
    row = assign_grades(signals, loaded.config.grades).iloc[0]
    return EntityGrade(
        grade=row["grade"],
        label=row["grade_label"],
        reason=row["reason"],
        inspection_ratio=float(row["inspection_ratio"]),
        basis="signals_and_warnings" if with_warnings else "signals",
    )


def _active_records(loaded: LoadedSnapshot, uscc: str) -> list[ActiveRecord]:
    own = loaded.records_of([uscc])
    if own.empty:
        return []
    signal = record_signal(own, loaded.run.snapshot.as_of, loaded.run.scores.config)
    active = own.assign(signal=signal)[signal > 0]
    active = active.sort_values(["decided", "record_id"], ascending=[False, True])
    return [
        ActiveRecord(
            record_id=str(r.record_id),
            kind=Kind(r.kind),
            kind_label=zh_label(Kind(r.kind)),
            domain=Domain(r.domain),
            domain_label=zh_label(Domain(r.domain)),
            regulator=regulator_for(r.domain),
            severity=Severity(r.severity),
            authority=_text(r.authority),
            decided=pd.Timestamp(r.decided).date(),
            publicity_end=None
            if pd.isna(r.publicity_end)
            else pd.Timestamp(r.publicity_end).date(),
            signal=float(r.signal),
        )
        for r in active.itertuples(index=False)
    ]


def _sources(
    loaded: LoadedSnapshot, uscc: str, top: int, unmasked: bool, ids: PersonIds
) -> tuple[int, float, list[RiskSource]]:
    snapshot, scores = loaded.run.snapshot, loaded.run.scores
    ball, _ = snapshot.neighborhood([snapshot.index_of(uscc)], scores.config.hops)
    records = loaded.records_of([str(n) for n in snapshot.node_ids[ball]])
    explanation = explain(snapshot, scores, records, uscc, top=top, unmasked=unmasked)
    sources = []
    for source in ids.explanation(explanation.to_dict())["sources"]:
        source["paths"] = source.pop("walks")
        sources.append(RiskSource.model_validate(source))
    return explanation.n_sources, explanation.from_self, sources


def entity_risk(
    loaded: LoadedSnapshot,
    engine: Engine,
    uscc: str,
    audience: Audience,
    *,
    top: int = 5,
    person_key: bytes | None = None,
) -> EntityRisk:
    """An enterprise's risk as the audience may see it.

    Parameters
    ----------
    loaded
        The snapshot.
    engine
        The store (for warnings).
    uscc
        A normalised, checked USCC.
    audience
        What the caller may see.
    top
        How many source records to explain.
    person_key
        The key of :func:`person_pseudonym` (the store's ID salt; see :class:`PersonIds`).

    Raises
    ------
    UnknownEntityError
        If the USCC is not an enterprise in the store.
    """
    snapshot, scores = loaded.run.snapshot, loaded.run.scores
    position = _enterprise_position(snapshot, uscc)
    attributes = snapshot.nodes.iloc[position]
    ids = PersonIds(snapshot, person_key, aliases=audience.person_aliases)
    n_sources, _, sources = _sources(loaded, uscc, top, audience.unmasked_persons, ids)
    excluding_self = loaded.run.propagator.linked_risk_excluding_self(scores, [uscc])
    warnings: list[WarningSummary] | None = None
    level: str | None = None
    if audience.warnings:
        page = list_warnings(engine, uscc=uscc, limit=_ENTITY_WARNINGS)
        warnings = [warning_summary(w) for w in page.items]
        open_levels = [w.level for w in page.items if w.status in OPEN_STATUSES]
        if open_levels:
            level = min(open_levels, key=lambda lv: LEVEL_RANK[lv]).value
    body = EntityRisk(
        uscc=uscc,
        name=snapshot.display_name(position),
        kind=_text(attributes.get("kind")),
        status=_text(attributes.get("status")),
        industry=_text(attributes.get("industry")),
        region=_text(attributes.get("region")),
        as_of=loaded.as_of,
        own_signal=float(scores.own_signal[position]),
        linked_risk=float(scores.linked_risk[position]),
        linked_risk_excluding_self=float(excluding_self.iloc[0]),
        grade=_grade(loaded, uscc, level, audience.warnings),
        active_records=_active_records(loaded, uscc),
        n_sources=n_sources,
        top_sources=sources,
        persons_masked=not audience.unmasked_persons,
        warnings=warnings,
    )
    return _private(body)


def entity_network(
    loaded: LoadedSnapshot,
    uscc: str,
    depth: int,
    audience: Audience,
    *,
    max_nodes: int,
    person_key: bytes | None = None,
) -> EntityNetwork:
    """The ego network of an enterprise (nearest nodes first, at most ``max_nodes``).

    Person ids are served by :class:`PersonIds` with ``person_key``.

    Raises
    ------
    UnknownEntityError
        If the USCC is not an enterprise in the store.
    """
    snapshot, scores = loaded.run.snapshot, loaded.run.scores
    _enterprise_position(snapshot, uscc)
    graph = snapshot.ego_graph(uscc, depth, unmasked=audience.unmasked_persons, max_nodes=max_nodes)
    ids = PersonIds(snapshot, person_key, aliases=audience.person_aliases)
    positions = snapshot.indices_of(list(graph.nodes))
    nodes = []
    for (node_id, data), position in zip(graph.nodes(data=True), positions.tolist(), strict=True):
        node_type: Literal["enterprise", "person"] = data["node_type"]
        nodes.append(
            NetworkNode(
                id=ids(str(node_id)),
                node_type=node_type,
                name=str(data["name"]),
                known=bool(data["known"]),
                hops=int(data["hops"]),
                kind=_text(data.get("kind")),
                status=_text(data.get("status")),
                industry=_text(data.get("industry")),
                region=_text(data.get("region")),
                own_signal=float(scores.own_signal[position]),
                linked_risk=float(scores.linked_risk[position]),
            )
        )
    edges = [
        NetworkEdge(
            id=int(key),
            source=ids(str(holder)),
            target=ids(str(target)),
            role=data["role"],
            role_label=data["role_label"],
            label=data["label"],
            share=data["share"],
            start=data["start"],
            end=data["end"],
        )
        for holder, target, key, data in graph.edges(keys=True, data=True)
    ]
    body = EntityNetwork(
        center=uscc,
        as_of=loaded.as_of,
        depth=depth,
        truncated=bool(graph.graph["truncated"]),
        persons_masked=not audience.unmasked_persons,
        nodes=nodes,
        edges=edges,
    )
    return _private(body)
