"""The graph as of a date (:class:`GraphSnapshot`): built from arrays, frames or the store,
and queried by node, neighbourhood and ego graph.

Over 600 lines because it is one class: its three constructors validate their inputs at the edge
and its queries read the same arrays; the edge coding and the CSR construction live in
:mod:`risk.graph.codes` and :mod:`risk.graph.csr`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, or_

from risk.contract import ROLE_LABELS, HolderType
from risk.dates import as_of_timestamp, present_on
from risk.exceptions import UnknownEntityError
from risk.frames import require_frame
from risk.graph.codes import (
    ROLE_CODES,
    SHAREHOLDER,
    IntArray,
    check_shares,
    role_codes,
    role_text,
)
from risk.graph.csr import build_neighbourhood, segments
from risk.identifiers import mask_name
from risk.ownership import is_declared_indirect
from risk.store import contract_table, read_table

__all__ = ["ENTERPRISE_ATTRIBUTES", "GraphSnapshot"]

ENTERPRISE_ATTRIBUTES: tuple[str, ...] = (
    "kind",
    "status",
    "industry",
    "region",
    "registered_capital",
    "founded",
    "closed",
)
"""Enterprise columns carried onto :attr:`GraphSnapshot.nodes` (as stored, not as of t)."""


def _dates(values: Any, n: int) -> npt.NDArray[np.datetime64]:
    if values is None:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    return np.asarray(pd.to_datetime(pd.Series(values)).to_numpy(), dtype="datetime64[s]")


class GraphSnapshot:
    """The linked-entity graph on one date, with CSR arrays for bulk math.

    Build it with :meth:`from_store`, :meth:`from_frames` or :meth:`from_arrays`; the
    constructor is internal. A snapshot is read-only once built.

    Attributes
    ----------
    as_of : pandas.Timestamp
        The date the edges are present on.
    node_ids : pandas.Index
        Node id (USCC or person_id) of each node index.
    is_person, known : numpy.ndarray of bool
        Node type, and whether the node is in the enterprises / persons table (``False`` for
        holders known only from roles).
    edge_holder, edge_target : numpy.ndarray of int
        Node indices of each edge (holder → enterprise).
    edge_role : numpy.ndarray of int8
        Role code of each edge (``ROLE_CODES[code]``).
    edge_share : numpy.ndarray of float64
        Share of shareholder edges (``NaN`` when missing or for other roles).
    edge_start, edge_end : numpy.ndarray of datetime64[s]
        Validity of each edge (``NaT`` end = open; ``NaT`` start when built from bare arrays).
    indptr, indices, transpose, pair_ptr, contrib_edge, contrib_code : numpy.ndarray
        The CSR neighbourhood structure (:mod:`risk.graph.csr`).
    pair_mask, pair_share, missing_share_pairs, irregular_pairs : numpy.ndarray
        The CSR neighbourhood structure (:mod:`risk.graph.csr`).
    dropped_self_loops : int
        Edges dropped because holder and enterprise were the same node.
    token : str
        A random id of this snapshot; results computed on it carry it so that they are never
        mixed with another snapshot's.
    """

    def __init__(
        self,
        *,
        as_of: pd.Timestamp,
        node_ids: pd.Index,
        is_person: npt.NDArray[np.bool_],
        known: npt.NDArray[np.bool_],
        names: npt.NDArray[np.object_] | None,
        attributes: pd.DataFrame | None,
        holder: IntArray,
        target: IntArray,
        role: IntArray,
        share: npt.NDArray[np.float64],
        start: npt.NDArray[np.datetime64],
        end: npt.NDArray[np.datetime64],
    ) -> None:
        n = len(node_ids)
        present = present_on(start, end, as_of)
        loops = holder == target
        self.dropped_self_loops = int((present & loops).sum())
        keep = present & ~loops
        n_edges = int(keep.sum())
        index_dtype = np.int32 if max(n, 2 * n_edges) < 2**31 - 1 else np.int64

        self.as_of = as_of
        self.node_ids = node_ids
        self.is_person = np.array(is_person, dtype=bool)  # copies: frozen below
        self.known = np.array(known, dtype=bool)
        self._names = names
        self._attributes = attributes
        self.edge_holder = np.asarray(holder[keep], dtype=index_dtype)
        self.edge_target = np.asarray(target[keep], dtype=index_dtype)
        self.edge_role = np.asarray(role[keep], dtype=np.int8)
        self.edge_share = np.where(
            self.edge_role == SHAREHOLDER, np.asarray(share[keep], dtype=np.float64), np.nan
        )
        self.edge_start = np.asarray(start[keep], dtype="datetime64[s]")
        self.edge_end = np.asarray(end[keep], dtype="datetime64[s]")
        self.token = uuid.uuid4().hex
        csr = build_neighbourhood(
            self.edge_holder, self.edge_target, self.edge_role, self.edge_share, n, index_dtype
        )
        self.indptr = csr.indptr
        self.indices = csr.indices
        self.transpose = csr.transpose
        self.pair_ptr = csr.pair_ptr
        self.contrib_edge = csr.contrib_edge
        self.contrib_code = csr.contrib_code
        self.pair_mask = csr.pair_mask
        self.pair_share = csr.pair_share
        self.missing_share_pairs = csr.missing_share_pairs
        self.irregular_pairs = csr.irregular_pairs
        for array in self._arrays():
            array.flags.writeable = False

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.is_person,
            self.known,
            self.edge_holder,
            self.edge_target,
            self.edge_role,
            self.edge_share,
            self.edge_start,
            self.edge_end,
            self.indptr,
            self.indices,
            self.transpose,
            self.pair_ptr,
            self.contrib_edge,
            self.contrib_code,
            self.pair_mask,
            self.pair_share,
            self.missing_share_pairs,
            self.irregular_pairs,
        )

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_arrays(
        cls,
        node_ids: Sequence[str] | pd.Index,
        is_person: npt.ArrayLike,
        holder: npt.ArrayLike,
        target: npt.ArrayLike,
        role: npt.ArrayLike,
        share: npt.ArrayLike | None = None,
        start: npt.ArrayLike | None = None,
        end: npt.ArrayLike | None = None,
        *,
        as_of: date | pd.Timestamp | str,
        names: Sequence[str | None] | None = None,
    ) -> GraphSnapshot:
        """Build a snapshot from bare arrays (benchmarks, province-scale pipelines).

        Parameters
        ----------
        node_ids
            Unique node ids; position = node index.
        is_person
            Boolean per node: person (True) or enterprise.
        holder, target
            Node indices of each edge (holder → enterprise).
        role
            Role per edge: integer codes into :data:`ROLE_CODES` or role names.
        share
            Share per edge (used for shareholder edges; ``NaN`` = missing).
        start, end
            Optional validity dates per edge; edges not present on ``as_of`` are dropped.
        as_of
            The snapshot date.
        names
            Optional display names per node (persons are masked on output).

        Returns
        -------
        GraphSnapshot

        Raises
        ------
        ValueError
            On duplicate node ids, mismatched lengths, indices out of range, unknown roles or
            shares outside [0, 1].
        """
        t = as_of_timestamp(as_of)
        index = pd.Index(node_ids, dtype="str") if not isinstance(node_ids, pd.Index) else node_ids
        if _has_duplicates(index):
            dup = index[index.duplicated()][0]
            raise ValueError(f"node_ids must be unique; got {dup!r} twice")
        n = len(index)
        person = np.asarray(is_person, dtype=bool)
        if person.shape != (n,):
            raise ValueError(f"is_person must have one value per node ({n}); got {person.shape}")
        h = np.asarray(holder)
        g = np.asarray(target)
        m = h.size
        if h.shape != (m,) or g.shape != (m,):
            raise ValueError(
                f"holder and target must be 1-d of equal length; got {h.shape}, {g.shape}"
            )
        for name, values in (("holder", h), ("target", g)):
            if m and values.dtype.kind not in "iu":
                raise ValueError(f"{name} must be integer node indices; got dtype {values.dtype}")
            outside = (values < 0) | (values >= n)
            if outside.any():
                bad = int(values[outside][0])
                raise ValueError(f"{name} must be node indices in [0, {n}); got {bad}")
        codes = role_codes(role, m)
        shares = (
            np.full(m, np.nan) if share is None else np.asarray(share, dtype=np.float64).ravel()
        )
        if shares.shape != (m,):
            raise ValueError(f"share must have one value per edge ({m}); got {shares.shape}")
        check_shares(shares, codes)
        return cls(
            as_of=t,
            node_ids=index,
            is_person=person,
            known=np.ones(n, dtype=bool),
            names=None if names is None else np.asarray(names, dtype=object),
            attributes=None,
            holder=h,
            target=g,
            role=codes,
            share=shares,
            start=_dates(start, m),
            end=_dates(end, m),
        )

    @classmethod
    def from_frames(
        cls,
        enterprises: pd.DataFrame,
        persons: pd.DataFrame,
        roles: pd.DataFrame,
        as_of: date | pd.Timestamp | str,
    ) -> GraphSnapshot:
        """Build a snapshot from contract frames (dates as datetime64).

        Parameters
        ----------
        enterprises
            Columns ``uscc``, ``name`` and optionally the :data:`ENTERPRISE_ATTRIBUTES`.
        persons
            Columns ``person_id``, ``name``.
        roles
            Columns ``uscc``, ``holder_type``, ``holder_id``, ``role``, ``start`` and optionally
            ``share``, ``end``. Only roles present on ``as_of`` become edges.
        as_of
            The snapshot date.

        Returns
        -------
        GraphSnapshot

        Raises
        ------
        InvalidFrameError
            If a frame lacks a required column.
        ValueError
            On duplicate ids, an id that is both an enterprise and a person, a holder type that
            contradicts the holder's table, an unknown role or a share outside [0, 1].
        """
        t = as_of_timestamp(as_of)
        require_frame(enterprises, "enterprises", ("uscc", "name"))
        require_frame(persons, "persons", ("person_id", "name"))
        require_frame(roles, "roles", ("uscc", "holder_type", "holder_id", "role", "start"))

        # Set operations on ids go through pandas' hash tables (numpy's are quadratic on
        # strings).
        ent_ids = pd.Index(enterprises["uscc"].astype(str).to_numpy(dtype=object))
        per_ids = pd.Index(persons["person_id"].astype(str).to_numpy(dtype=object))
        for label, ids in (("enterprises.uscc", ent_ids), ("persons.person_id", per_ids)):
            dup = ids[ids.duplicated()]
            if len(dup):
                raise ValueError(f"{label} must be unique; got {dup[0]!r} twice")
        both = ent_ids.intersection(per_ids)
        if len(both):
            raise ValueError(
                f"node ids must not be both an enterprise and a person; got {both[0]!r}"
            )

        start = _dates(roles["start"], len(roles))
        end = _dates(roles.get("end"), len(roles))
        present = present_on(start, end, t)
        present &= ~is_declared_indirect(roles)  # a declaration, no edge
        live = roles.loc[present]
        start, end = start[present], end[present]

        holder_type = live["holder_type"].astype(str).to_numpy()
        bad_type = ~np.isin(holder_type, [h.value for h in HolderType])
        if bad_type.any():
            raise ValueError(
                f"roles.holder_type must be person or enterprise; got {holder_type[bad_type][0]!r}"
            )
        holder_ids = live["holder_id"].astype(str).to_numpy(dtype=object)
        target_ids = live["uscc"].astype(str).to_numpy(dtype=object)
        holder_is_person = holder_type == HolderType.person.value

        as_person = pd.Index(pd.unique(holder_ids[holder_is_person]))
        as_ent = pd.Index(pd.unique(np.concatenate([holder_ids[~holder_is_person], target_ids])))
        clash = as_person.intersection(ent_ids).append(
            [as_ent.intersection(per_ids), as_person.intersection(as_ent)]
        )
        if len(clash):
            raise ValueError(
                "roles.holder_type must match the holder's node type; "
                f"got a conflicting type for {clash[0]!r}"
            )
        unknown_ent = as_ent.difference(ent_ids, sort=True).to_numpy(dtype=object)
        unknown_per = as_person.difference(per_ids, sort=True).to_numpy(dtype=object)
        ent_ids, per_ids = ent_ids.to_numpy(), per_ids.to_numpy()

        all_ids = np.concatenate([ent_ids, per_ids, unknown_ent, unknown_per]).astype(str)
        index = pd.Index(all_ids, dtype="str")
        n_ent, n_per = len(ent_ids), len(per_ids)
        is_person = np.zeros(len(index), dtype=bool)
        is_person[n_ent : n_ent + n_per] = True
        is_person[n_ent + n_per + len(unknown_ent) :] = True
        known = np.zeros(len(index), dtype=bool)
        known[: n_ent + n_per] = True
        names = np.concatenate(
            [
                enterprises["name"].to_numpy(dtype=object),
                persons["name"].to_numpy(dtype=object),
                np.full(len(unknown_ent) + len(unknown_per), None, dtype=object),
            ]
        )
        attr_cols = [c for c in ENTERPRISE_ATTRIBUTES if c in enterprises.columns]
        attributes = enterprises[attr_cols].reset_index(drop=True)

        codes = role_codes(live["role"].to_numpy(), len(live))
        shares = (
            pd.to_numeric(live["share"]).to_numpy(dtype=np.float64)
            if "share" in live
            else np.full(len(live), np.nan)
        )
        check_shares(shares, codes)
        return cls(
            as_of=t,
            node_ids=index,
            is_person=is_person,
            known=known,
            names=names,
            attributes=attributes,
            holder=index.get_indexer(holder_ids),
            target=index.get_indexer(target_ids),
            role=codes,
            share=shares,
            start=start,
            end=end,
        )

    @classmethod
    def from_store(cls, engine: Engine, as_of: date | pd.Timestamp | str) -> GraphSnapshot:
        """Read enterprises, persons and the roles present on ``as_of`` from the store.

        Parameters
        ----------
        engine
            A migrated store (:func:`risk.store.open_engine`).
        as_of
            The snapshot date.

        Returns
        -------
        GraphSnapshot
        """
        t = as_of_timestamp(as_of)
        day = t.date()
        roles_table = contract_table("roles")
        roles = read_table(
            engine,
            "roles",
            where=[
                roles_table.c.start <= day,
                or_(roles_table.c.end.is_(None), roles_table.c.end > day),
            ],
        )
        enterprises = read_table(engine, "enterprises")
        persons = read_table(engine, "persons", columns=["person_id", "name"])
        return cls.from_frames(enterprises, persons, roles, t)

    # ------------------------------------------------------------------ queries

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of edges present on :attr:`as_of`."""
        return int(self.edge_holder.size)

    def index_of(self, node_id: str) -> int:
        """Return the node index of ``node_id``.

        Raises
        ------
        UnknownEntityError
            If no enterprise or person has that id in this snapshot.
        """
        position = self.node_ids.get_indexer([node_id])[0]
        if position < 0:
            raise UnknownEntityError(
                f"node_id must be an enterprise or person of the graph; got {node_id!r}"
            )
        return int(position)

    def indices_of(self, node_ids: Iterable[str]) -> npt.NDArray[np.int64]:
        """Return the node indices of many ids (vectorised :meth:`index_of`).

        Raises
        ------
        UnknownEntityError
            Naming the first id that is not in the snapshot.
        """
        ids = list(node_ids)
        positions = self.node_ids.get_indexer(ids).astype(np.int64)
        if (positions < 0).any():
            missing = ids[int(np.flatnonzero(positions < 0)[0])]
            raise UnknownEntityError(
                f"node_id must be an enterprise or person of the graph; got {missing!r}"
            )
        return positions

    @cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per node index: node_id, node_type, name, known, enterprise attributes.

        Names are unmasked here (an internal frame); outputs mask persons.
        """
        frame = pd.DataFrame(
            {
                "node_id": self.node_ids,
                "node_type": np.where(
                    self.is_person, HolderType.person.value, HolderType.enterprise.value
                ),
                "name": self._names if self._names is not None else None,
                "known": self.known,
            }
        )
        if self._attributes is not None:
            attrs = self._attributes.reindex(range(self.n_nodes))
            frame = pd.concat([frame, attrs], axis=1)
        return frame

    @cached_property
    def edges(self) -> pd.DataFrame:
        """One row per edge: holder, target (node indices), their ids, role, share, start, end."""
        return pd.DataFrame(
            {
                "holder": self.edge_holder,
                "target": self.edge_target,
                "holder_id": self.node_ids[self.edge_holder],
                "target_id": self.node_ids[self.edge_target],
                "role": np.asarray([r.value for r in ROLE_CODES], dtype=object)[self.edge_role],
                "share": self.edge_share,
                "start": self.edge_start,
                "end": self.edge_end,
            }
        )

    def display_name(self, index: int, *, unmasked: bool = False) -> str:
        """A node's name for people: enterprises by name, persons masked (``张*``).

        Unknown persons read ``未登记自然人``; nodes without a name fall back to their id.
        """
        name = self._names[index] if self._names is not None else None
        if self.is_person[index]:
            if name is None or pd.isna(name) or not str(name).strip():
                return "未登记自然人"
            return str(name) if unmasked else mask_name(str(name))
        if name is None or pd.isna(name) or not str(name).strip():
            return str(self.node_ids[index])
        return str(name)

    def neighborhood(
        self, sources: npt.ArrayLike, radius: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Every node within ``radius`` hops of ``sources`` (edges taken in both directions).

        Parameters
        ----------
        sources
            Node indices.
        radius
            Number of hops, ≥ 0.

        Returns
        -------
        nodes, distance : numpy.ndarray
            Node indices in breadth-first order (sources first) and their hop distance.

        Raises
        ------
        ValueError
            If ``radius`` is negative or a source is out of range.
        """
        if isinstance(radius, bool) or not isinstance(radius, int | np.integer) or radius < 0:
            raise ValueError(f"radius must be a non-negative integer; got {radius!r}")
        frontier = np.unique(np.asarray(sources, dtype=np.int64))
        if frontier.size and (frontier[0] < 0 or frontier[-1] >= self.n_nodes):
            bad = int(frontier[0] if frontier[0] < 0 else frontier[-1])
            raise ValueError(f"sources must be node indices in [0, {self.n_nodes}); got {bad}")
        seen = np.zeros(self.n_nodes, dtype=bool)
        seen[frontier] = True
        layers = [frontier]
        distances = [np.zeros(frontier.size, dtype=np.int64)]
        for hop in range(1, int(radius) + 1):
            if not frontier.size:
                break
            reached = np.unique(self.indices[segments(self.indptr, frontier)])
            frontier = reached[~seen[reached]]
            seen[frontier] = True
            layers.append(frontier)
            distances.append(np.full(frontier.size, hop, dtype=np.int64))
        return np.concatenate(layers), np.concatenate(distances)

    def edges_within(self, nodes: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Ids of the edges whose holder and enterprise are both in ``nodes`` (sorted)."""
        members = np.unique(np.asarray(nodes, dtype=np.int64))
        pairs = segments(self.indptr, members)
        if not pairs.size:
            return np.empty(0, dtype=np.int64)
        inside = np.isin(self.indices[pairs], members)
        contribs = segments(self.pair_ptr, pairs[inside])
        return np.unique(self.contrib_edge[contribs]).astype(np.int64)

    def ego_graph(
        self,
        node_id: str,
        depth: int = 1,
        *,
        unmasked: bool = False,
        max_nodes: int | None = None,
    ) -> nx.MultiDiGraph:
        """The neighbourhood of one node as a networkx graph, built from the CSR arrays only.

        Parameters
        ----------
        node_id
            The centre (USCC or person_id).
        depth
            Hops from the centre, edges taken in both directions.
        unmasked
            Show persons' full names (credit office only); masked (``张*``) by default.
        max_nodes
            Keep at most this many nodes, nearest first (for drawing around hubs); the graph
            attribute ``truncated`` says whether nodes were left out.

        Returns
        -------
        networkx.MultiDiGraph
            Nodes keyed by node id with attributes ``node_type``, ``name``, ``known``, ``hops``
            and, for registered enterprises, ``kind``, ``status``, ``industry``, ``region``.
            Edges run holder → enterprise, keyed by edge id, with ``role``, ``role_label``
            (``法定代表人``, ``股东``, ``高管``, ``分支机构``), ``label`` (``股东 60%``), ``share``,
            ``start`` and ``end``.

        Raises
        ------
        UnknownEntityError
            If ``node_id`` is not in the snapshot.
        ValueError
            If ``depth`` is negative or ``max_nodes`` is below 1.
        """
        centre = self.index_of(node_id)
        if max_nodes is not None and (isinstance(max_nodes, bool) or max_nodes < 1):
            raise ValueError(f"max_nodes must be a positive integer or None; got {max_nodes!r}")
        nodes, distance = self.neighborhood([centre], depth)
        truncated = max_nodes is not None and nodes.size > max_nodes
        if truncated:
            nodes, distance = nodes[:max_nodes], distance[:max_nodes]

        graph = nx.MultiDiGraph(
            center=str(node_id), as_of=self.as_of.date(), depth=depth, truncated=truncated
        )
        attrs = self._attributes
        for index, hops in zip(nodes.tolist(), distance.tolist(), strict=True):
            data: dict[str, Any] = {
                "node_type": "person" if self.is_person[index] else "enterprise",
                "name": self.display_name(index, unmasked=unmasked),
                "known": bool(self.known[index]),
                "hops": hops,
            }
            if attrs is not None and not self.is_person[index] and index < len(attrs):
                for column in ("kind", "status", "industry", "region"):
                    if column in attrs.columns and pd.notna(attrs.at[index, column]):
                        data[column] = attrs.at[index, column]
            graph.add_node(str(self.node_ids[index]), **data)
        for edge in self.edges_within(nodes).tolist():
            role = ROLE_CODES[self.edge_role[edge]]
            share = float(self.edge_share[edge])
            graph.add_edge(
                str(self.node_ids[self.edge_holder[edge]]),
                str(self.node_ids[self.edge_target[edge]]),
                key=edge,
                role=role.value,
                role_label=ROLE_LABELS[role],
                label=role_text(role, share),
                share=None if np.isnan(share) else share,
                start=_date_or_none(self.edge_start[edge]),
                end=_date_or_none(self.edge_end[edge]),
            )
        return graph

    def __repr__(self) -> str:
        persons = int(self.is_person.sum())
        return (
            f"GraphSnapshot(as_of={self.as_of.date()}, enterprises={self.n_nodes - persons}, "
            f"persons={persons}, edges={self.n_edges})"
        )


def _has_duplicates(index: pd.Index) -> bool:
    """Whether ids repeat, checked by sorting them with Arrow on the system allocator.

    pandas' ``is_unique`` would build its id hash table (a Python object per id, ~190 MB at
    1.8M nodes, kept) and Arrow's hash kernels peak far higher; sorting needs about twice the
    ids' size, handed back to the system at once.
    """
    if len(index) < 2:
        return False
    pool = pa.system_memory_pool()
    ids = pa.array(index)
    ordered = pc.take(ids, pc.sort_indices(ids, memory_pool=pool), memory_pool=pool)
    same = pc.equal(ordered[1:], ordered[:-1], memory_pool=pool)
    return bool(pc.any(same, memory_pool=pool).as_py())


def _date_or_none(value: np.datetime64) -> date | None:
    return None if np.isnat(value) else pd.Timestamp(value).date()
