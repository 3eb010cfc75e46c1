"""The part of the store a live update reads: the neighbourhood of the changed nodes.

:func:`load_region` walks the roles table outwards from some seed nodes, one breadth-first
layer per query (roles by ``uscc`` and by ``holder_id``, both indexed), and keeps two
distances per node: over the roles **present** on the date (the edges linked risk travels
along) and over the roles **begun** by it, ended or not (疑似换壳 asks who *was* a legal
representative). It then reads the contract rows of every node it reached — enterprises,
persons, their records decided by the date — and the roles it walked, as a
:class:`~risk.rules.RuleInputs` the rules, the propagation and the grades run on unchanged.

The graph of a region is a subgraph of the county's: every edge in it is real, so every walk
in it is a real walk, and whatever depends only on walks that stay inside the region (the
radii of :mod:`risk.live.apply` see to it) comes out as on the whole county.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from risk.contract import TABLES, UNKNOWN_HOLDER, HolderType, Role
from risk.dates import as_of_timestamp
from risk.groups import CONTROL_ROLES, CONTROL_SHARE, GROUP_EDGES, SHARE_TOLERANCE
from risk.rules import RuleInputs
from risk.store import contract_table, read_table
from risk.validation import check_bool, check_int

__all__ = ["CHUNK", "Region", "RelatedGroups", "load_groups", "load_region", "read_by"]

CHUNK = 500
"""Ids per ``IN (…)`` list (well below SQLite's and PostgreSQL's parameter limits)."""

_PERSON_COLUMNS = ["person_id", "name"]


@dataclass(frozen=True, eq=False)
class Region:
    """The neighbourhood of some seed nodes on a date, with the rows it holds.

    Attributes
    ----------
    as_of : pandas.Timestamp
    present : Mapping
        Node id → hops from the seeds over the roles present on ``as_of``, for the nodes within
        the present radius.
    begun : Mapping
        Node id → hops over the roles begun by ``as_of`` (ended or not), within the begun
        radius.
    inputs : RuleInputs
        The enterprises and persons of the reached nodes, every role begun by ``as_of`` that
        touches a node the walk expanded, and the records decided by ``as_of`` of the reached
        nodes.
    queries : int
        Statements the walk and the reads ran.
    """

    as_of: pd.Timestamp
    present: Mapping[str, int] = field(repr=False)
    begun: Mapping[str, int] = field(repr=False)
    inputs: RuleInputs = field(repr=False)
    queries: int = 0

    def within(self, hops: int, *, begun: bool = False) -> set[str]:
        """The nodes at most ``hops`` away (over present roles, or ``begun`` ones)."""
        distances = self.begun if begun else self.present
        return {node for node, d in distances.items() if d <= hops}

    @property
    def nodes(self) -> set[str]:
        """Every node reached."""
        return set(self.present) | set(self.begun)

    @property
    def enterprise_ids(self) -> set[str]:
        """The reached nodes that are enterprises of the enterprises table."""
        return set(self.inputs.enterprises["uscc"].astype(str))


def read_by(
    conn: Connection, table: str, column: str, ids: Collection[str], where: Iterable[object] = ()
) -> pd.DataFrame:
    """Rows of a contract table whose ``column`` is one of ``ids`` (in chunks of
    :data:`CHUNK`), with contract dtypes."""
    t = contract_table(table)
    ordered = sorted(ids)
    columns = _PERSON_COLUMNS if table == "persons" else None
    extra = list(where)
    parts = [
        read_table(
            conn,
            table,
            columns=columns,
            where=[t.c[column].in_(ordered[i : i + CHUNK]), *extra],
        )
        for i in range(0, len(ordered), CHUNK)
    ]
    if not parts:
        return read_table(conn, table, columns=columns, where=[t.c[column].in_([])])
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def load_region(
    engine: Engine,
    seeds: Iterable[str],
    as_of: date | pd.Timestamp | str,
    *,
    present_radius: int,
    begun_radius: int,
) -> Region:
    """Walk the roles out from ``seeds`` and read the rows of every node reached.

    Parameters
    ----------
    engine
        A migrated store.
    seeds
        Node ids (USCCs, person ids) to start from; ids without any row are kept as nodes.
    as_of
        The date: roles begun and records decided after it are left out.
    present_radius
        Hops over roles present on ``as_of`` (≥ 0).
    begun_radius
        Hops over roles begun by ``as_of`` (≥ 0).

    Returns
    -------
    Region

    Notes
    -----
    A node at distance d < radius is *expanded*: every role touching it is read, so the region
    holds every edge between a node it expanded and any other node. Each layer costs two
    indexed queries per :data:`CHUNK` ids; the layers of both distances share them.
    """
    present_radius = check_int("present_radius", present_radius, 0, 100)
    begun_radius = check_int("begun_radius", begun_radius, 0, 100)
    t = as_of_timestamp(as_of)
    day = t.date()
    roles_table = contract_table("roles")
    records_table = contract_table("records")
    start = sorted({str(s) for s in seeds})
    present: dict[str, int] = dict.fromkeys(start, 0)
    begun: dict[str, int] = dict.fromkeys(start, 0)
    adjacent_present: dict[str, set[str]] = {}
    adjacent_begun: dict[str, set[str]] = {}
    expanded: set[str] = set()
    role_parts: list[pd.DataFrame] = []
    queries = 0

    with engine.connect() as conn:

        def expand(nodes: Iterable[str]) -> None:
            nonlocal queries
            fresh = sorted(set(nodes) - expanded)
            if not fresh:
                return
            expanded.update(fresh)
            for column in ("uscc", "holder_id"):
                rows = read_by(conn, "roles", column, fresh, [roles_table.c.start <= day])
                queries += max(1, -(-len(fresh) // CHUNK))
                if rows.empty:
                    continue
                role_parts.append(rows)
                ends = rows["end"]
                is_present = (ends.isna() | (ends > t)).to_numpy()
                pairs = zip(
                    rows["uscc"].astype(str), rows["holder_id"].astype(str), is_present, strict=True
                )
                for target, holder, now in pairs:
                    for a, b in ((target, holder), (holder, target)):
                        adjacent_begun.setdefault(a, set()).add(b)
                        if now:
                            adjacent_present.setdefault(a, set()).add(b)

        frontier_present, frontier_begun = list(start), list(start)
        for hop in range(max(present_radius, begun_radius)):
            walk_present = hop < present_radius
            walk_begun = hop < begun_radius
            expand(
                (frontier_present if walk_present else []) + (frontier_begun if walk_begun else [])
            )
            frontier_present = (
                _step(frontier_present, adjacent_present, present, hop + 1) if walk_present else []
            )
            frontier_begun = (
                _step(frontier_begun, adjacent_begun, begun, hop + 1) if walk_begun else []
            )

        nodes = set(present) | set(begun)
        enterprises = read_by(conn, "enterprises", "uscc", nodes)
        persons = read_by(conn, "persons", "person_id", nodes)
        records = read_by(conn, "records", "subject_id", nodes, [records_table.c.decided <= day])
        queries += 3 * max(1, -(-len(nodes) // CHUNK))

        if not role_parts:
            role_parts.append(read_by(conn, "roles", "uscc", []))
    roles = pd.concat(role_parts, ignore_index=True)
    roles = roles.drop_duplicates(list(TABLES["roles"].key), ignore_index=True)
    inputs = RuleInputs(enterprises=enterprises, persons=persons, roles=roles, records=records)
    return Region(as_of=t, present=present, begun=begun, inputs=inputs, queries=queries)


def _step(
    frontier: list[str], adjacent: Mapping[str, set[str]], distance: dict[str, int], hop: int
) -> list[str]:
    """The next layer of a breadth-first walk: unseen neighbours, at ``hop``."""
    reached = []
    for node in frontier:
        for other in adjacent.get(node, ()):
            if other not in distance:
                distance[other] = hop
                reached.append(other)
    return reached


@dataclass(frozen=True, eq=False)
class RelatedGroups:
    """The related-enterprise groups (关联企业群) of some seed nodes on a date.

    Attributes
    ----------
    nodes : set of str
        Every node reached (enterprises and persons).
    enterprises : set of str
        The enterprises among them (registered or known only from roles).
    roles : pandas.DataFrame
        Every group role present on the date that touches a node whose group was read whole.
    complete : set of str
        The seeds whose whole group was read (the others' groups hold more than the limit).
    """

    nodes: set[str] = field(repr=False)
    enterprises: set[str] = field(repr=False)
    roles: pd.DataFrame = field(repr=False)
    complete: set[str] = field(repr=False)


def load_groups(
    engine: Engine,
    seeds: Iterable[str],
    on: date | pd.Timestamp | str,
    *,
    limit: int,
    control_only: bool = True,
) -> RelatedGroups:
    """Walk the related groups of ``seeds`` on ``on`` as :func:`risk.groups.related_groups`
    forms them: the control roles (:func:`risk.groups.control_mask`; with ``control_only``
    False every role, the rule before issue 15 that older models were trained on) of
    :data:`risk.groups.GROUP_EDGES` present on the date, the declared-unknown holder linking
    nothing. A group has no radius (a county's largest holds
    thousands of enterprises): a group is walked no further once it holds more than ``limit``
    enterprises, and its seeds are left out of :attr:`RelatedGroups.complete`.
    """
    limit = check_int("limit", limit, 1, 10**9)
    check_bool("control_only", control_only)
    day = as_of_timestamp(on).date()
    table = contract_table("roles")
    # The SQL form of risk.groups.control_mask: representatives, branches, majority stakes.
    controls = table.c.role.in_(CONTROL_ROLES) | (
        (table.c.role == Role.shareholder.value)
        & (table.c.share >= CONTROL_SHARE - SHARE_TOLERANCE)
    )
    where = [
        table.c.role.in_([r.value for r in GROUP_EDGES]),
        table.c.start <= day,
        (table.c.end.is_(None)) | (table.c.end > day),
        table.c.holder_id != UNKNOWN_HOLDER,
    ]
    if control_only:
        where.append(controls)
    start = sorted({str(s) for s in seeds} - {UNKNOWN_HOLDER})
    parent = {node: node for node in start}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    is_enterprise: dict[str, bool] = {}
    parts: list[pd.DataFrame] = []
    oversized: set[str] = set()
    frontier = start
    with engine.connect() as conn:
        while frontier:
            rows = pd.concat(
                [read_by(conn, "roles", c, frontier, where) for c in ("uscc", "holder_id")],
                ignore_index=True,
            )
            parts.append(rows)
            held = (rows["holder_type"].astype(str) == HolderType.enterprise.value).to_numpy()
            reached = []
            for target, holder, firm in zip(
                rows["uscc"].astype(str), rows["holder_id"].astype(str), held, strict=True
            ):
                is_enterprise[target] = True
                is_enterprise.setdefault(holder, bool(firm))
                for node in (target, holder):
                    if node not in parent:
                        parent[node] = node
                        reached.append(node)
                a, b = root(target), root(holder)
                if a != b:
                    parent[a] = b
            sizes: dict[str, int] = {}
            for node, firm in is_enterprise.items():
                if firm:
                    sizes[root(node)] = sizes.get(root(node), 0) + 1
            oversized |= {node for node, size in sizes.items() if size > limit}
            oversized = {root(node) for node in oversized}
            frontier = sorted(n for n in reached if root(n) not in oversized)
        if not parts:
            parts.append(read_by(conn, "roles", "uscc", []))
    key = list(TABLES["roles"].key)
    return RelatedGroups(
        nodes=set(parent),
        enterprises={n for n, firm in is_enterprise.items() if firm},
        roles=pd.concat(parts, ignore_index=True).drop_duplicates(key, ignore_index=True),
        complete={s for s in start if root(s) not in oversized},
    )
