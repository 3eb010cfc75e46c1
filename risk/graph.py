"""The linked-entity graph as of a date (关联关系图谱): nodes, typed dated edges, CSR arrays.

Nodes are enterprises (keyed by 统一社会信用代码) and natural persons (keyed by ``person_id``).
A holder that appears only in the roles table (an unregistered person, a shareholder enterprise
from another province) is kept as a node and flagged ``known = False``.

Edges come from the roles table and point from the holder to the enterprise
(``roles.holder_id`` → ``roles.uscc``): 法定代表人 ``legal_rep``, 股东 ``shareholder`` (with its
share), 高管 ``executive`` and 分支机构 ``branch_of`` (holder = the parent enterprise, uscc = the
branch). A snapshot as of date t holds the edges present on t, ``start ≤ t < end`` (a missing
end is open); self-loops (holder = enterprise) are dropped and counted.

Bulk math runs on CSR arrays; networkx is used only for small neighbourhoods
(:meth:`GraphSnapshot.ego_graph`), never for the whole province. The CSR structure is the
*neighbourhood* of every node, in both directions:

``indptr``, ``indices``
    Row i lists every node j joined to i by at least one edge (either direction), sorted and
    unique: the sparsity pattern of the transmission matrix ``P[i, j]`` (influence of j on i)
    of :mod:`risk.propagation`. The pattern is symmetric.
``pair_ptr``
    Entry ``q`` of ``indices`` (the pair (i, j)) owns the edge *contributions*
    ``pair_ptr[q]:pair_ptr[q + 1]`` — one per edge between i and j, more than one when, say, a
    person is both legal representative and shareholder of the enterprise.
``contrib_edge``, ``contrib_code``
    Per contribution: the edge id and ``role code + 4 · up`` (``up`` when row i is the
    holder, so the influence runs enterprise → holder).
``transpose``
    For each position q = (i, j), the position of (j, i): column j of ``P`` read from row j,
    so that a sparse vector can be *pushed* through ``P`` touching only its neighbourhoods.
``pair_mask``, ``pair_share``, ``missing_share_pairs``, ``irregular_pairs``
    A per-pair summary for building ``P`` in a few vectorised passes: bit ``c`` of
    ``pair_mask[q]`` is set when the pair has a contribution of code ``c``; ``pair_share[q]``
    is the share of its one shareholder contribution (0 when it has none or its share is
    missing; ``missing_share_pairs`` lists the latter). ``irregular_pairs`` lists the pairs
    with more than one shareholder contribution, which are weighted edge by edge.
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
from scipy import sparse
from sqlalchemy import Engine, or_

from risk.contract import ROLE_LABELS, HolderType, Role
from risk.dates import as_of_timestamp, present_on
from risk.exceptions import UnknownEntityError
from risk.frames import require_frame
from risk.identifiers import mask_name
from risk.store import contract_table, read_table

__all__ = [
    "ENTERPRISE_ATTRIBUTES",
    "ROLE_CODES",
    "GraphSnapshot",
    "role_text",
]

ROLE_CODES: tuple[Role, ...] = tuple(Role)
"""Integer role codes: ``ROLE_CODES[code]`` is the :class:`~risk.contract.Role`."""

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

UP = 4  # contrib_code = role code + UP when the influence runs enterprise → holder
_SHAREHOLDER = ROLE_CODES.index(Role.shareholder)
IntArray = npt.NDArray[np.integer[Any]]


def role_text(role: Role | str, share: float | None = None) -> str:
    """Chinese label of a role, with the share for shareholders (``股东 60%``)."""
    label = ROLE_LABELS[Role(role)]
    if Role(role) == Role.shareholder and share is not None and not np.isnan(share):
        return f"{label} {_percent(share)}"
    return label


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"


def _segments(indptr: IntArray, rows: IntArray) -> npt.NDArray[np.int64]:
    """Positions ``indptr[r]:indptr[r + 1]`` of every row ``r``, concatenated in order."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = indptr[rows].astype(np.int64)
    lengths = indptr[rows + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    out_start = np.cumsum(lengths) - lengths
    return np.repeat(starts - out_start, lengths) + np.arange(total, dtype=np.int64)


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
        The CSR neighbourhood structure described in the module docstring.
    pair_mask, pair_share, missing_share_pairs, irregular_pairs : numpy.ndarray
        The CSR neighbourhood structure described in the module docstring.
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
            self.edge_role == _SHAREHOLDER, np.asarray(share[keep], dtype=np.float64), np.nan
        )
        self.edge_start = np.asarray(start[keep], dtype="datetime64[s]")
        self.edge_end = np.asarray(end[keep], dtype="datetime64[s]")
        self.token = uuid.uuid4().hex
        self._build_csr(index_dtype)
        for array in self._arrays():
            array.flags.writeable = False

    def _build_csr(self, index_dtype: type[np.signedinteger[Any]]) -> None:
        n, n_edges = self.n_nodes, self.n_edges
        # Contribution c < E: row = target, col = holder (influence holder → enterprise, down);
        # c ≥ E: row = holder, col = target (influence enterprise → holder, up).
        width = max(n, 1)
        key = np.empty(2 * n_edges, dtype=np.int64)
        np.multiply(self.edge_target, width, out=key[:n_edges], dtype=np.int64)
        np.add(key[:n_edges], self.edge_holder, out=key[:n_edges])
        np.multiply(self.edge_holder, width, out=key[n_edges:], dtype=np.int64)
        np.add(key[n_edges:], self.edge_target, out=key[n_edges:])
        # Temporaries are dropped or narrowed as soon as possible: at province size each
        # int64 array of contributions is ~56 MB.
        order = np.argsort(key, kind="stable")
        key = key[order]
        order = order.astype(index_dtype)
        new_pair = np.empty(key.size, dtype=bool)
        new_pair[:1] = True
        np.not_equal(key[1:], key[:-1], out=new_pair[1:])
        self.pair_ptr = np.empty(int(new_pair.sum()) + 1, dtype=index_dtype)
        self.pair_ptr[:-1] = np.flatnonzero(new_pair)
        self.pair_ptr[-1] = 2 * n_edges
        del new_pair
        pair_keys = key[self.pair_ptr[:-1]]
        del key
        self.indices = np.remainder(pair_keys, width).astype(index_dtype)
        np.floor_divide(pair_keys, width, out=pair_keys)  # now the row of each pair
        self.indptr = np.zeros(n + 1, dtype=index_dtype)
        np.cumsum(np.bincount(pair_keys, minlength=n), out=self.indptr[1:])
        del pair_keys
        # Positions numbered in CSR order, re-read in CSC (column-major) order: entry p of the
        # CSC data is the CSR position of (i, j) where (j, i) sits at CSR position p. The
        # pattern being symmetric, that map is its own inverse: it is ``transpose``.
        numbered = np.arange(self.indices.size, dtype=index_dtype)
        csc = sparse.csr_array((numbered, self.indices, self.indptr), shape=(n, n)).tocsc()
        self.transpose = np.asarray(csc.data, dtype=index_dtype)
        del numbered, csc
        up = order >= n_edges
        edge = order
        np.subtract(edge, n_edges, out=edge, where=up)  # contribution → edge id, in place
        self.contrib_edge = edge
        role = self.edge_role[edge]
        self.contrib_code = role + np.int8(UP) * up.astype(np.int8)
        del up, order

        # Per-pair summary (see the module docstring).
        n_pairs = self.indices.size
        starts = self.pair_ptr[:-1]
        bits = np.left_shift(np.uint8(1), self.contrib_code.astype(np.uint8))
        self.pair_mask = (
            np.bitwise_or.reduceat(bits, starts) if n_pairs else np.zeros(0, dtype=np.uint8)
        ).astype(np.uint8)
        held = np.flatnonzero(role == _SHAREHOLDER)
        pair_of_held = np.searchsorted(starts, held, side="right") - 1
        share_of_held = self.edge_share[edge[held]]
        per_pair = np.bincount(pair_of_held, minlength=n_pairs)
        self.pair_share = np.zeros(n_pairs, dtype=np.float64)
        self.pair_share[pair_of_held] = np.nan_to_num(share_of_held, nan=0.0)
        irregular = per_pair > 1
        self.irregular_pairs = np.flatnonzero(irregular).astype(index_dtype)
        missing = pair_of_held[np.isnan(share_of_held)]
        self.missing_share_pairs = missing[~irregular[missing]].astype(index_dtype)

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
        codes = _role_codes(role, m)
        shares = (
            np.full(m, np.nan) if share is None else np.asarray(share, dtype=np.float64).ravel()
        )
        if shares.shape != (m,):
            raise ValueError(f"share must have one value per edge ({m}); got {shares.shape}")
        _check_shares(shares, codes)
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

        codes = _role_codes(live["role"].to_numpy(), len(live))
        shares = (
            pd.to_numeric(live["share"]).to_numpy(dtype=np.float64)
            if "share" in live
            else np.full(len(live), np.nan)
        )
        _check_shares(shares, codes)
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
            reached = np.unique(self.indices[_segments(self.indptr, frontier)])
            frontier = reached[~seen[reached]]
            seen[frontier] = True
            layers.append(frontier)
            distances.append(np.full(frontier.size, hop, dtype=np.int64))
        return np.concatenate(layers), np.concatenate(distances)

    def edges_within(self, nodes: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Ids of the edges whose holder and enterprise are both in ``nodes`` (sorted)."""
        members = np.unique(np.asarray(nodes, dtype=np.int64))
        pairs = _segments(self.indptr, members)
        if not pairs.size:
            return np.empty(0, dtype=np.int64)
        inside = np.isin(self.indices[pairs], members)
        contribs = _segments(self.pair_ptr, pairs[inside])
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


def _role_codes(role: npt.ArrayLike, m: int) -> npt.NDArray[np.int8]:
    values = np.asarray(role)
    if values.shape != (m,):
        raise ValueError(f"role must have one value per edge ({m}); got {values.shape}")
    if values.dtype.kind in "iu":
        if m and (values.min() < 0 or values.max() >= len(ROLE_CODES)):
            raise ValueError(
                f"role codes must be in [0, {len(ROLE_CODES)}); got {values.min()}..{values.max()}"
            )
        return values.astype(np.int8)
    lookup = {r.value: code for code, r in enumerate(ROLE_CODES)}
    codes = pd.Series(values, dtype=object).map(lookup)
    if codes.isna().any():
        bad = values[codes.isna().to_numpy()][0]
        raise ValueError(f"role must be one of {', '.join(lookup)}; got {bad!r}")
    return codes.to_numpy(dtype=np.int8)


def _check_shares(shares: npt.NDArray[np.float64], codes: npt.NDArray[np.int8]) -> None:
    held = shares[codes == _SHAREHOLDER]
    bad = ~np.isnan(held) & ((held < 0) | (held > 1))
    if bad.any():
        raise ValueError(f"share must be in [0, 1] for shareholders; got {float(held[bad][0])!r}")
