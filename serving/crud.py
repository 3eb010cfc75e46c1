"""What the routes ask for, assembled from :mod:`risk` (the template's "crud" layer).

Routes call these functions with plain values (no ``Request``, no HTTP); these call
:mod:`risk.warnings`, :mod:`risk.explain` and the current score set
(:class:`serving.scores.ScoreReader`), and return the pydantic bodies of :mod:`serving.schemas`.

An enterprise's answers
-----------------------
Own signal, linked risk (with and without its echo), band and grade are the score set's rows;
the active records and the top source records with their paths are computed on the
enterprise's K-hop ball read from the store (:func:`risk.snapshot.score_ball`), where they are
exact (:mod:`risk.graph.ball`); the network is the ego graph of its ``depth``-hop ball, each
node's scores read from the set. Nothing is computed over the county.

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
from risk.grades import GRADE_LABELS, Grade, GradeConfig
from risk.graph import GraphSnapshot
from risk.propagation import record_signal
from risk.rules import Level, Rule
from risk.snapshot import ScoredSnapshot
from risk.spreadsheets import csv_bytes
from risk.warnings import (
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
    ScoreSetInfo,
    WarningDetail,
    WarningEventOut,
    WarningPage,
    WarningSummary,
)
from serving.scores import NO_SET, ScoreReader, ServedSet

__all__ = [
    "NO_LEARNED_ORDER_NO_CHAMPION",
    "NO_LEARNED_ORDER_NO_SET",
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


def readiness(
    served: ServedSet | None, models: Iterable[ModelInfo], problems: Iterable[str] = ()
) -> Readiness:
    """What the service answers from: the current score set (its graph's size) and the
    models; ``problems`` are the ways they disagree (:func:`serving.precredit.set_problems`).

    Raises
    ------
    ServiceUnavailableError
        While no score set has been published.
    """
    if served is None:
        raise ServiceUnavailableError(f"not ready: {NO_SET}")
    graph = served.graph
    described = served.score_set
    return Readiness(
        graph=GraphInfo(
            as_of=served.as_of,
            loaded_at=served.first_read,
            load_seconds=round(served.read_seconds, 3),
            nodes=graph.nodes,
            enterprises=graph.enterprises,
            persons=graph.persons,
            edges=graph.edges,
            signal_records=graph.signal_records,
        ),
        models=list(models),
        score_set=ScoreSetInfo(
            id=served.set_id,
            seq=served.seq,
            as_of=served.as_of,
            completed_at=described.completed_at,
            config_digest=described.config_digest,
            config_matches=served.config_matches,
            model_versions=served.model_versions,
            counts=described.counts,
            problems=[*served.problems, *problems],
        ),
    )


# --------------------------------------------------------------------------- warnings


def _summary_fields(record: WarningRecord) -> dict[str, Any]:
    data = record.to_dict()
    data["record_ids"] = list(record.record_ids)
    for name in ("fingerprint", "evidence"):
        data.pop(name)
    return data


def warning_summary(record: WarningRecord, learned: float | None = None) -> WarningSummary:
    """One warning without its evidence (with its enterprise's learned probability)."""
    return WarningSummary.model_validate(
        {**_summary_fields(record), "learned_probability": learned}
    )


def warning_detail(
    engine: Engine,
    warning_id: int,
    reader: ScoreReader | None = None,
    served: ServedSet | None = None,
) -> WarningDetail:
    """One warning with its evidence and history (and, given the current set, its
    enterprise's learned probability).

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
            "learned_probability": _learned(reader, served, record.uscc),
        }
    )
    return _private(detail)


def _learned_set(served: ServedSet | None) -> int | None:
    """The set's id when it holds learned probabilities, else None."""
    return served.set_id if served is not None and served.has("learned") else None


def _learned(reader: ScoreReader | None, served: ServedSet | None, uscc: str) -> float | None:
    """The enterprise's learned probability in the set, or None (no set, none scored)."""
    if reader is None or served is None or _learned_set(served) is None:
        return None
    row = reader.row(served, "learned", uscc)
    return None if row is None else float(row["probability"])


NO_LEARNED_ORDER_NO_SET = (
    "sorted by level: no score set has been published, so there is no learned probability "
    "(再犯概率) to sort by"
)
"""``sort_note`` when ``sort=learned`` falls back because no set is current."""
NO_LEARNED_ORDER_NO_CHAMPION = (
    "sorted by level: the current score set has no learned probability (再犯概率; no "
    "learned-warning champion when it was computed)"
)
"""``sort_note`` when ``sort=learned`` falls back because the set holds no ``learned`` rows."""


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
    sort: str = "level",
    served: ServedSet | None = None,
) -> WarningPage:
    """One page of warnings (:func:`risk.warnings.list_warnings`), without evidence, each with
    its enterprise's learned probability in ``served`` (when the set holds them).

    ``sort="learned"`` with no probability to sort by — no score set published, or a set
    scored without a learned-warning champion — falls back to the default order in both
    cases, saying so in ``sort_applied`` and ``sort_note`` (a missing ordering is not an
    outage: the warnings themselves are all there).
    """
    learned_set = _learned_set(served)
    sort_note = None
    if sort == "learned" and learned_set is None:
        sort = "level"
        sort_note = NO_LEARNED_ORDER_NO_SET if served is None else NO_LEARNED_ORDER_NO_CHAMPION
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
        sort=sort,
        learned_set=learned_set,
    )
    learned = page.learned or (None,) * len(page.items)
    body = WarningPage(
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        items=[warning_summary(w, p) for w, p in zip(page.items, learned, strict=True)],
        sort_applied="learned" if sort == "learned" else "level",
        sort_note=sort_note,
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


def _unknown(uscc: str) -> UnknownEntityError:
    return UnknownEntityError(f"uscc must be an enterprise in the store; got {uscc!r}")


def _enterprise_position(snapshot: GraphSnapshot, uscc: str) -> int:
    position = int(snapshot.node_ids.get_indexer([uscc])[0])
    if position < 0 or snapshot.is_person[position] or not snapshot.known[position]:
        raise _unknown(uscc)
    return position


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _grade(row: dict[str, Any] | None, config: GradeConfig, bank: bool) -> EntityGrade | None:
    """The set's grade: the banks' (signals and lists) or the office's (open warnings too)."""
    if row is None:
        return None  # not existing on as_of (not founded yet, or closed)
    grade = Grade(row["grade_bank"] if bank else row["grade"])
    return EntityGrade(
        grade=grade,
        label=GRADE_LABELS[grade],
        reason=str(row["reason_bank"] if bank else row["reason"]),
        inspection_ratio=float(config.inspection_ratios[grade]),
        basis="signals" if bank else "signals_and_warnings",
    )


def _active_records(scored: ScoredSnapshot, uscc: str) -> list[ActiveRecord]:
    records = scored.records
    own = records[records["subject_id"].astype(str) == uscc]
    if own.empty:
        return []
    signal = record_signal(own, scored.snapshot.as_of, scored.scores.config)
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
    scored: ScoredSnapshot, uscc: str, top: int, unmasked: bool, ids: PersonIds
) -> tuple[int, float, list[RiskSource]]:
    explanation = explain(
        scored.snapshot, scored.scores, scored.records, uscc, top=top, unmasked=unmasked
    )
    sources = []
    for source in ids.explanation(explanation.to_dict())["sources"]:
        source["paths"] = source.pop("walks")
        sources.append(RiskSource.model_validate(source))
    return explanation.n_sources, explanation.from_self, sources


def entity_risk(
    reader: ScoreReader,
    served: ServedSet,
    engine: Engine,
    uscc: str,
    audience: Audience,
    *,
    top: int = 5,
    person_key: bytes | None = None,
) -> EntityRisk:
    """An enterprise's risk as the audience may see it (module docstring).

    Parameters
    ----------
    reader
        The process's score reader.
    served
        The set this answer comes from (read once per request).
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
        If the USCC is not an enterprise of the score set.
    """
    row = reader.row(served, "risk", uscc)
    if row is None:
        raise _unknown(uscc)
    scored = reader.scored_ball(served, uscc)
    snapshot = scored.snapshot
    position = _enterprise_position(snapshot, uscc)
    attributes = snapshot.nodes.iloc[position]
    ids = PersonIds(snapshot, person_key, aliases=audience.person_aliases)
    n_sources, _, sources = _sources(scored, uscc, top, audience.unmasked_persons, ids)
    warnings: list[WarningSummary] | None = None
    learned: float | None = None
    if audience.warnings:  # banks see neither the warnings nor the learned probability
        learned = _learned(reader, served, uscc)
        page = list_warnings(engine, uscc=uscc, limit=_ENTITY_WARNINGS)
        warnings = [warning_summary(w, learned) for w in page.items]
    body = EntityRisk(
        uscc=uscc,
        name=snapshot.display_name(position),
        kind=_text(attributes.get("kind")),
        status=_text(attributes.get("status")),
        industry=_text(attributes.get("industry")),
        region=_text(attributes.get("region")),
        as_of=served.as_of,
        own_signal=float(row["own_signal"]),
        linked_risk=float(row["linked_risk"]),
        linked_risk_excluding_self=float(row["linked_risk_excluding_self"]),
        grade=_grade(
            reader.row(served, "grades", uscc), served.config.grades, not audience.warnings
        ),
        active_records=_active_records(scored, uscc),
        n_sources=n_sources,
        top_sources=sources,
        persons_masked=not audience.unmasked_persons,
        warnings=warnings,
        learned_probability=learned,
    )
    return _private(body)


def entity_network(
    reader: ScoreReader,
    served: ServedSet,
    uscc: str,
    depth: int,
    audience: Audience,
    *,
    max_nodes: int,
    person_key: bytes | None = None,
) -> EntityNetwork:
    """The ego network of an enterprise (nearest nodes first, at most ``max_nodes``), each
    node's own signal and linked risk from the score set.

    Person ids are served by :class:`PersonIds` with ``person_key``.

    Raises
    ------
    UnknownEntityError
        If the USCC is not an enterprise of the score set.
    """
    if reader.row(served, "risk", uscc) is None:
        raise _unknown(uscc)
    snapshot = reader.ball(served, uscc, depth).snapshot
    _enterprise_position(snapshot, uscc)
    graph = snapshot.ego_graph(uscc, depth, unmasked=audience.unmasked_persons, max_nodes=max_nodes)
    ids = PersonIds(snapshot, person_key, aliases=audience.person_aliases)
    scores = reader.rows(served, "risk", [str(n) for n in graph.nodes])
    nodes = []
    for node_id, data in graph.nodes(data=True):
        node_type: Literal["enterprise", "person"] = data["node_type"]
        row = scores.get(str(node_id), {})  # a node the set does not know scores nothing
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
                own_signal=float(row.get("own_signal", 0.0)),
                linked_risk=float(row.get("linked_risk", 0.0)),
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
        as_of=served.as_of,
        depth=depth,
        truncated=bool(graph.graph["truncated"]),
        persons_masked=not audience.unmasked_persons,
        nodes=nodes,
        edges=edges,
    )
    return _private(body)
