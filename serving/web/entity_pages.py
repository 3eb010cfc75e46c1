"""What the credit office's entity page shows: risk, grade, the enterprise's own records with
their publicity status, the actual controller, the 2-hop network and the shared-person links
(弱关联) kept apart from the related group.

Persons on the pages
--------------------
The pages show persons masked (``张*``) to every role, the credit office included: names
appear on screens and in screenshots that travel further than an API answer. The risk
explanations use per-page aliases (``person-1``) for person ids; the network picture keeps
person ids out of the page (:func:`serving.web.network.network_svg`). Whatever the store holds,
no page shows a raw resident ID number (:mod:`serving.web.warning_pages` says how).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from risk.contract import (
    POSITIVE_KINDS,
    Domain,
    HolderType,
    RecordKind,
    Severity,
    regulator_for,
    zh_label,
)
from risk.controllers import ControllerStatus, actual_controllers
from risk.graph import GraphSnapshot
from risk.graph.ball import read_owners
from risk.groups import shared_person_links
from risk.identifiers import mask_name
from risk.live.region import read_by
from risk.publicity import active_mask
from risk.store import contract_table, read_table
from risk.warnings import WarningStatus
from serving import crud
from serving.crud import Audience
from serving.redaction import PersonIds
from serving.schemas import EntityNetwork, EntityRisk
from serving.scores import ScoreReader, ServedSet

__all__ = [
    "NETWORK_DEPTH",
    "PAGE_AUDIENCE",
    "ControllerStep",
    "ControllerView",
    "EntityPage",
    "RecordRow",
    "WeakLink",
    "entity_controller",
    "entity_page",
    "entity_records",
    "entity_weak_links",
]

PAGE_AUDIENCE = Audience(unmasked_persons=False, person_aliases=True, warnings=True)
"""What the pages show (module docstring)."""

NETWORK_DEPTH = 2
_ENTITY_SOURCES = 5
WEAK_LINKS_SHOWN = 20


# --------------------------------------------------------------------------- entity page

RecordStatus = Literal["active", "removed", "repaired", "expired", "unpublished"]


@dataclass(frozen=True)
class RecordRow:
    """One of the enterprise's own records, with its publicity status on the score set's date."""

    record_id: str
    kind_label: str
    negative: bool
    domain_label: str
    regulator: str
    severity_label: str
    authority: str | None
    decided: date
    publicity_end: date | None
    status: RecordStatus
    status_label: str


@dataclass(frozen=True)
class ControllerStep:
    """One node of the actual controller's chain, from the controller down."""

    name: str
    share_label: str | None = None


@dataclass(frozen=True)
class ControllerView:
    """The actual controller (实际控制人) and the chain that justifies it."""

    status: str
    found: bool
    explanation: str
    path_ids: tuple[str, ...] = ()
    steps: tuple[ControllerStep, ...] = ()


@dataclass(frozen=True)
class WeakLink:
    """A shared-person link (弱关联): another enterprise in which a person of this one also
    holds a role, not a controlling one in both (:func:`risk.groups.shared_person_links`)."""

    other_uscc: str
    other_name: str
    person: str
    """The linking person, masked (``张*``)."""
    roles: str
    other_roles: str


@dataclass(frozen=True)
class EntityPage:
    """Everything the entity page shows."""

    risk: EntityRisk
    network: EntityNetwork
    records: list[RecordRow]
    controller: ControllerView
    linked_notable: float
    """Linked risk from which the picture colours a node as linked-risky: grade B's threshold
    of the score set's risk settings (:attr:`serving.scores.ServedSet.config`)."""
    open_warnings: int = 0
    learned_b: float = 0.3
    """再犯概率 from which the office's grade is lifted (the set's ``grades.learned_b``)."""
    counts: dict[str, int] = field(default_factory=dict)
    weak_links: list[WeakLink] = field(default_factory=list)
    """At most :data:`WEAK_LINKS_SHOWN`, by the other enterprise's USCC."""
    n_weak_links: int = 0


def _day(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _publicity(row: Any, active: bool, on: date) -> tuple[RecordStatus, str]:
    """Why a record counts or not on ``on`` (the decision itself is :func:`active_mask`)."""
    end, repaired, removed = _day(row.publicity_end), _day(row.repaired), _day(row.removed)
    if active:
        return "active", f"公示中至{end}" if end else "公示中（长期）"
    if removed is not None and removed <= on:
        return "removed", f"已移出（{removed}）"
    if repaired is not None and repaired <= on:
        return "repaired", f"已修复（{repaired}）"
    decided = _day(row.decided)
    if end is not None and decided is not None and end <= decided:
        return "unpublished", "不予公示（轻微）"
    return "expired", f"已过期（{end}）"


def entity_records(engine: Engine, uscc: str, on: date) -> list[RecordRow]:
    """The enterprise's own records decided on or before ``on``, active ones first."""
    table = contract_table("records")
    where = [table.c.subject_id == uscc, table.c.decided <= on]
    records = read_table(engine, "records", where=where)
    if records.empty:
        return []
    active = active_mask(
        records["decided"], records["publicity_end"], records["repaired"], records["removed"], on
    )
    rows = []
    for row, is_active in zip(records.itertuples(index=False), active.tolist(), strict=True):
        status, label = _publicity(row, bool(is_active), on)
        kind = RecordKind(row.kind)
        rows.append(
            RecordRow(
                record_id=str(row.record_id),
                kind_label=zh_label(kind),
                negative=kind not in POSITIVE_KINDS,
                domain_label=zh_label(Domain(row.domain)),
                regulator=regulator_for(row.domain),
                severity_label=zh_label(Severity(row.severity)),
                authority=None if pd.isna(row.authority) else str(row.authority),
                decided=pd.Timestamp(row.decided).date(),
                publicity_end=_day(row.publicity_end),
                status=status,
                status_label=label,
            )
        )
    rows.sort(key=lambda r: (r.status != "active", -r.decided.toordinal(), r.record_id))
    return rows


def entity_controller(engine: Engine, as_of: date, uscc: str) -> ControllerView:
    """The actual controller through ownership chains, persons masked, with its chain (the
    chains above the enterprise read from the store: :func:`risk.graph.ball.read_owners`)."""
    roles, enterprises, persons = read_owners(engine, as_of, uscc)
    chains = GraphSnapshot.from_frames(enterprises, persons, roles, as_of)  # names, masked
    result = actual_controllers(
        roles,
        as_of,
        persons=persons[persons["name"].notna()],
        enterprises=enterprises.loc[enterprises["name"].notna(), ["uscc", "name"]],
        subjects=[uscc],
        mask_persons=True,
    )
    row = result.loc[result["uscc"] == uscc].iloc[0]
    path = [str(n) for n in row["path"]] if isinstance(row["path"], list) else []
    served = PersonIds(chains)  # the ids of crud.entity_network, for the highlight
    shares = {
        (h, t): s for h, t, s in zip(roles["holder_id"], roles["uscc"], roles["share"], strict=True)
    }
    steps = []
    for position, node_id in enumerate(path):
        share = shares.get((node_id, path[position + 1])) if position + 1 < len(path) else None
        index = chains.node_ids.get_indexer([node_id])[0]
        name = chains.display_name(int(index)) if index >= 0 else node_id
        steps.append(
            ControllerStep(
                name=name,
                share_label=None if share is None or pd.isna(share) else f"{share:.2%}",
            )
        )
    return ControllerView(
        status=str(row["status"]),
        found=row["status"] == ControllerStatus.natural_person.value,
        explanation=str(row["explanation"]),
        path_ids=tuple(served(n) for n in path),
        steps=tuple(steps),
    )


def entity_weak_links(engine: Engine, uscc: str, on: date) -> tuple[list[WeakLink], int]:
    """The enterprise's shared-person links on ``on`` (the first :data:`WEAK_LINKS_SHOWN`,
    persons masked) and how many there are: read from the store, the roles of its persons
    only."""
    with engine.connect() as conn:
        own = read_by(conn, "roles", "uscc", [uscc])
        people = set(own.loc[own["holder_type"] == HolderType.person.value, "holder_id"])
        roles = read_by(conn, "roles", "holder_id", people) if people else own
        links = shared_person_links(roles, on, of=[uscc])
        shown = links.head(WEAK_LINKS_SHOWN)
        names = read_by(conn, "enterprises", "uscc", set(shown["other_uscc"]))
        persons = read_by(conn, "persons", "person_id", set(shown["person_id"]))
    firm = dict(zip(names["uscc"], names["name"], strict=True))
    person = dict(zip(persons["person_id"], persons["name"], strict=True))
    return [
        WeakLink(
            other_uscc=str(row.other_uscc),
            other_name=str(firm.get(row.other_uscc) or row.other_uscc),
            person=mask_name(person[row.person_id])
            if isinstance(person.get(row.person_id), str)
            else "未登记自然人",
            roles=str(row.roles),
            other_roles=str(row.other_roles),
        )
        for row in shown.itertuples(index=False)
    ], len(links)


def entity_page(
    reader: ScoreReader, served: ServedSet, engine: Engine, uscc: str, *, max_nodes: int
) -> EntityPage:
    """The entity page: risk, grade, records, actual controller and the 2-hop network, from
    the score set ``served`` and the enterprise's neighbourhood in the store.

    Raises
    ------
    UnknownEntityError
        If the USCC is not an enterprise of the score set.
    """
    risk = crud.entity_risk(reader, served, engine, uscc, PAGE_AUDIENCE, top=_ENTITY_SOURCES)
    network = crud.entity_network(
        reader,
        served,
        uscc,
        NETWORK_DEPTH,
        Audience(unmasked_persons=False, person_aliases=False, warnings=True),
        max_nodes=max_nodes,
    )
    records = entity_records(engine, uscc, served.as_of)
    weak_links, n_weak_links = entity_weak_links(engine, uscc, served.as_of)
    open_warnings = sum(1 for w in risk.warnings or () if w.status != WarningStatus.closed)
    counts = {
        status: sum(1 for r in records if r.status == status)
        for status in ("active", "repaired", "expired", "removed", "unpublished")
    }
    return EntityPage(
        risk=risk,
        network=network,
        records=records,
        controller=entity_controller(engine, served.as_of, uscc),
        linked_notable=served.config.grades.linked_risk_b,
        learned_b=served.config.grades.learned_b,
        open_warnings=open_warnings,
        counts=counts,
        weak_links=weak_links,
        n_weak_links=n_weak_links,
    )
