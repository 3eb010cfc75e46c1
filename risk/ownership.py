"""Related-enterprise groups (关联企业群) and actual controllers (实际控制人).

Both work on a snapshot of the ``roles`` table (DESIGN.md §2) taken on a date ``as_of``: a role
is present on t when ``start ≤ t < end`` (a missing end is open), see :func:`roles_present_on`.

Related-enterprise groups
    Connected components of the graph whose nodes are enterprises and persons and whose edges
    are the chosen role types (a person connects every enterprise they hold a role in). Computed
    with :func:`scipy.sparse.csgraph.connected_components` on integer indices, so a province
    (10⁶ enterprises) takes seconds.

Actual controllers
    Effective shares are products of shares along ownership chains, summed over all chains from
    the same ultimate holder (a natural person, or an enterprise without shareholders). The
    method is the absorbing Markov chain of ownership; it is exact, terminates on any ownership
    cycle and never exceeds 100 % (see :func:`ultimate_holders`, Notes).

The declared-unknown holder
    A shareholder row whose ``holder_id`` is :data:`UNKNOWN_HOLDER` (``"UNKNOWN"``, holder type
    person) records ownership that was declared but not identified, e.g. a BODS relationship
    whose interested party is an ``unspecifiedRecord``. It never links enterprises into a group
    and is never named as a controller.
"""

from __future__ import annotations

import itertools
import operator
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from risk.contract import HolderType, Role
from risk.dates import roles_present_on
from risk.exceptions import InvalidFrameError
from risk.frames import require_frame
from risk.identifiers import mask_name
from risk.validation import check_real

__all__ = [
    "BENEFICIAL_OWNER_THRESHOLD",
    "CONTROL_THRESHOLD",
    "UNKNOWN_HOLDER",
    "ControllerStatus",
    "OwnershipDataWarning",
    "actual_controllers",
    "beneficial_owners",
    "group_statistics",
    "related_groups",
    "ultimate_holders",
]

#: Reserved ``holder_id`` of a shareholder whose identity was declared unknown.
UNKNOWN_HOLDER: Final = "UNKNOWN"
#: 实际控制人: effective share at or above this makes a person the actual controller.
CONTROL_THRESHOLD: Final = 0.5
#: 受益所有人 (PBOC 受益所有人信息管理办法, 2024): the beneficial-ownership share threshold.
BENEFICIAL_OWNER_THRESHOLD: Final = 0.25

_ROLE_COLUMNS = ("uscc", "holder_type", "holder_id", "role", "start")
_DEFAULT_GROUP_EDGES = (Role.shareholder, Role.legal_rep, Role.branch_of)
# Shares are rounded in registers (33.34 % + 33.33 % + 33.34 %); only a larger excess is
# reported, and every over-declared enterprise is rescaled to 100 %.
_OVER_DECLARED_TOLERANCE = 1e-3
_EPS = 1e-12
_THRESHOLD_TOLERANCE = 1e-9


class ControllerStatus(StrEnum):
    """Outcome of the actual-controller search for one enterprise."""

    natural_person = "natural_person"
    no_natural_person_controller = "no_natural_person_controller"
    declared_unknown = "declared_unknown"
    no_shareholders = "no_shareholders"


class OwnershipDataWarning(UserWarning):
    """Ownership data needed a repair (e.g. an enterprise's shares summed above 100 %)."""


# --------------------------------------------------------------------------- validation


def _role_set(edge_types: Iterable[Role | str]) -> set[str]:
    if isinstance(edge_types, str):
        raise TypeError("edge_types must be a sequence of roles; got a single str")
    codes = set()
    for value in edge_types:
        try:
            codes.add(Role(value).value)
        except ValueError:
            raise ValueError(
                f"edge_types must contain only {', '.join(Role)}; got {value!r}"
            ) from None
    if not codes:
        raise ValueError("edge_types must name at least one role; got none")
    return codes


# --------------------------------------------------------------------------- groups


def related_groups(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    edge_types: Sequence[Role | str] = _DEFAULT_GROUP_EDGES,
    enterprises: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Find the related-enterprise groups (关联企业群) present on ``as_of``.

    Two enterprises are in one group when a chain of present roles of the chosen types joins
    them: an enterprise holding a role in another, or a person holding roles in both (same
    legal representative, shared shareholder, …). The declared-unknown holder
    :data:`UNKNOWN_HOLDER` links nothing.

    Parameters
    ----------
    roles
        Contract ``roles`` frame.
    as_of
        Snapshot date.
    edge_types
        Role types that link (default: shareholder, legal_rep, branch_of; executive is left
        out because 高管 often serve many unrelated firms of one family office).
    enterprises
        Optional contract ``enterprises`` frame. When given, every enterprise in it gets a row
        (singletons form groups of size 1); otherwise only enterprises touched by a present
        role of the chosen types appear.

    Returns
    -------
    DataFrame
        One row per enterprise, sorted by ``group_id`` then ``uscc``: ``uscc``, ``group_id``
        (``"G"`` + the smallest USCC of the group: stable under reordering of the input and
        under additions elsewhere in the graph) and ``group_size`` (number of enterprises;
        persons are not counted).

    Raises
    ------
    TypeError, ValueError, InvalidFrameError
        For a malformed frame, date or edge type.

    Notes
    -----
    Nodes are integer indices: enterprises ``0..E-1`` in sorted USCC order (hash-factorised,
    then one sort of the distinct ids), persons after them. The undirected adjacency is one
    COO matrix and the components come from
    :func:`scipy.sparse.csgraph.connected_components`; the group id is found without a Python
    loop because the first enterprise index of each component is its smallest USCC. No Python
    loop anywhere: 10⁶ enterprises with 1.5·10⁶ roles take about 4 s of CPU.
    """
    wanted = _role_set(edge_types)
    present = roles_present_on(roles, as_of)
    present = present.loc[present["role"].astype(str).isin(wanted).to_numpy()]
    # Fixed-width numpy strings: sorting and searching them runs in C, not on Python objects.
    touched = present["uscc"].to_numpy().astype(str)  # UNKNOWN holders link nothing, but
    present = present.loc[(present["holder_id"].astype(str) != UNKNOWN_HOLDER).to_numpy()]
    subject = present["uscc"].to_numpy().astype(str)  # their enterprises still get a row
    holder = present["holder_id"].to_numpy().astype(str)
    holder_is_ent = (present["holder_type"].astype(str) == HolderType.enterprise.value).to_numpy()

    pieces = [subject, holder[holder_is_ent], touched]
    if enterprises is not None:
        require_frame(enterprises, "enterprises", ("uscc",))
        pieces.append(enterprises["uscc"].dropna().to_numpy().astype(str))
    # Hash-factorise every enterprise id occurrence at once, then rank the distinct ids by
    # sorting them once: index order = USCC order, which makes the group id cheap below.
    codes, uniques = pd.factorize(np.concatenate(pieces))
    sorted_order = np.argsort(np.asarray(uniques, dtype=str), kind="stable")
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[sorted_order] = np.arange(len(uniques))
    ent_ids = np.asarray(uniques, dtype=str)[sorted_order]
    n_ent = len(ent_ids)
    out_cols = ["uscc", "group_id", "group_size"]
    if n_ent == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in out_cols}).astype(
            {"group_size": "int64"}
        )
    n_edges, n_holder_ent = len(subject), int(holder_is_ent.sum())
    person_codes, _ = pd.factorize(holder[~holder_is_ent])
    n_nodes = n_ent + (int(person_codes.max()) + 1 if person_codes.size else 0)

    rows = rank[codes[:n_edges]]
    cols = np.empty(len(holder), dtype=np.int64)
    cols[holder_is_ent] = rank[codes[n_edges : n_edges + n_holder_ent]]
    cols[~holder_is_ent] = n_ent + person_codes
    adjacency = sparse.coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes, n_nodes)
    ).tocsr()
    _, labels = connected_components(adjacency, directed=False)
    ent_labels = labels[:n_ent]
    # np.unique's return_index gives the first (= smallest-USCC) enterprise of each component.
    uniq, first = np.unique(ent_labels, return_index=True)
    smallest = np.empty(int(labels.max()) + 1, dtype=ent_ids.dtype)
    smallest[uniq] = ent_ids[first]
    sizes = np.bincount(ent_labels, minlength=int(labels.max()) + 1)
    group_ids = np.char.add("G", smallest[ent_labels])
    # ent_ids is sorted, so a stable sort on group_id keeps uscc order within a group.
    order = np.argsort(group_ids, kind="stable")
    return pd.DataFrame(
        {
            "uscc": pd.Series(ent_ids[order].astype(object), dtype=object),
            "group_id": pd.Series(group_ids[order].astype(object), dtype=object),
            "group_size": sizes[ent_labels][order].astype(np.int64),
        }
    )


def group_statistics(
    groups: pd.DataFrame,
    per_enterprise_values: pd.DataFrame,
    *,
    count: Sequence[str] | None = None,
    total: Sequence[str] | None = None,
    maximum: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Summarise per-enterprise values over related-enterprise groups.

    Parameters
    ----------
    groups
        Output of :func:`related_groups` (``uscc``, ``group_id``, ``group_size``).
    per_enterprise_values
        A frame with ``uscc`` and value columns, e.g. ``is_dishonest`` (bool) and
        ``linked_risk`` (float). Enterprises absent from it count as False / missing.
    count
        Columns whose truthy (non-missing, non-zero) values are counted → ``n_<column>``.
    total
        Numeric columns summed (missing skipped) → ``sum_<column>``.
    maximum
        Numeric columns maximised (missing skipped) → ``max_<column>``.
        When ``count``, ``total`` and ``maximum`` are all None, bool columns are counted and
        the other numeric columns are summed and maximised.

    Returns
    -------
    DataFrame
        One row per group, sorted by ``group_id``: ``group_id``, ``group_size`` and the
        requested statistics.

    Raises
    ------
    InvalidFrameError
        If a frame lacks a required column or a named column.
    """
    require_frame(groups, "groups", ("uscc", "group_id", "group_size"))
    require_frame(per_enterprise_values, "per_enterprise_values", ("uscc",))
    value_cols = [c for c in per_enterprise_values.columns if c != "uscc"]
    if count is None and total is None and maximum is None:
        kinds = per_enterprise_values[value_cols].dtypes
        count = [c for c in value_cols if pd.api.types.is_bool_dtype(kinds[c])]
        numeric = [
            c
            for c in value_cols
            if pd.api.types.is_numeric_dtype(kinds[c]) and not pd.api.types.is_bool_dtype(kinds[c])
        ]
        total, maximum = numeric, numeric
    count, total, maximum = list(count or ()), list(total or ()), list(maximum or ())
    for col in (*count, *total, *maximum):
        if col not in value_cols:
            raise InvalidFrameError(
                f"per_enterprise_values must have column {col!r}; got {', '.join(value_cols)}"
            )
    values = per_enterprise_values.drop_duplicates("uscc", keep="last")
    merged = groups[["uscc", "group_id", "group_size"]].merge(values, on="uscc", how="left")
    by_group = merged.groupby("group_id", sort=True)
    result = by_group["group_size"].first().astype("int64").to_frame()
    for col in count:
        truthy = merged[col].fillna(0).astype(bool)
        result[f"n_{col}"] = truthy.groupby(merged["group_id"]).sum().astype("int64")
    for col in total:
        numbers = pd.to_numeric(merged[col], errors="raise").astype("float64")
        result[f"sum_{col}"] = numbers.groupby(merged["group_id"]).sum(min_count=1)
    for col in maximum:
        numbers = pd.to_numeric(merged[col], errors="raise").astype("float64")
        result[f"max_{col}"] = numbers.groupby(merged["group_id"]).max()
    return result.reset_index()


# --------------------------------------------------------------------------- ownership engine


class _Ownership:
    """The ownership snapshot as integer-indexed lists and the traced ultimate holders.

    Node numbering: enterprises ``0..n_ent-1`` (sorted ids), persons ``n_ent..unknown-1``,
    and ``unknown`` for :data:`UNKNOWN_HOLDER`. ``holders[j]`` maps each ultimate holder u of
    enterprise j to ``[effective_share, strongest_path_share, predecessor]``; for an
    enterprise without shareholders it is ``{j: [1, 1, -1]}`` (it is its own ultimate holder).
    Plain Python lists, not arrays: the trace touches them one element at a time.
    """

    def __init__(
        self,
        ent_ids: np.ndarray,
        person_ids: np.ndarray,
        ptr: np.ndarray,
        holder: np.ndarray,
        share: np.ndarray,
        branch: np.ndarray,
    ) -> None:
        self.ent_ids = ent_ids
        self.n_ent = len(ent_ids)
        self.unknown = self.n_ent + len(person_ids)
        self.ids: list[str] = [*map(str, ent_ids), *map(str, person_ids), UNKNOWN_HOLDER]
        self.ptr: list[int] = ptr.tolist()  # in-edges of enterprise j: ptr[j]:ptr[j+1]
        self.holder: list[int] = holder.tolist()
        self.share: list[float] = share.tolist()
        # branch_of edges (分支机构 → 总公司), counted as 100 % ownership
        self.branch: list[bool] = branch.tolist()
        self.holders: list[dict[int, list[float]]] = [{} for _ in range(self.n_ent)]
        # held through (or inside) a closed cross-holding cycle; inside one
        self.closed: list[bool] = [False] * self.n_ent
        self.in_closed_cycle: list[bool] = [False] * self.n_ent
        self._edges: dict[tuple[int, int], tuple[float, bool]] | None = None

    def has_shareholders(self, j: int) -> bool:
        return self.ptr[j + 1] > self.ptr[j]

    def node_id(self, node: int) -> str:
        return self.ids[node]

    def node_type(self, node: int) -> str:
        if node < self.n_ent:
            return HolderType.enterprise.value
        if node == self.unknown:
            return "unknown"
        return HolderType.person.value

    def edge(self, holder: int, subject: int) -> tuple[float, bool]:
        """Direct share of ``subject`` held by ``holder`` and whether it is a branch link."""
        if self._edges is None:
            subjects = [j for j in range(self.n_ent) for _ in range(self.ptr[j], self.ptr[j + 1])]
            self._edges = {
                (h, j): (s, b)
                for h, j, s, b in zip(self.holder, subjects, self.share, self.branch, strict=True)
            }
        return self._edges[holder, subject]

    def path(self, j: int, u: int) -> list[int]:
        """Strongest path from ultimate holder u down to enterprise j (node indices)."""
        nodes = [j]
        seen = {j}
        current = j
        while current != u:
            entry = self.holders[current].get(u)
            if entry is None or entry[2] < 0:
                break  # pragma: no cover - pointers always lead to u
            current = int(entry[2])
            if current in seen:  # pragma: no cover - impossible: products never exceed 1
                break
            seen.add(current)
            nodes.append(current)
        return nodes[::-1]


def _ownership_edges(present: pd.DataFrame, branch_as_owned: bool) -> pd.DataFrame:
    """Aggregate present shareholder (and branch) rows into (subject, holder) edges."""
    role = present["role"].astype(str)
    holder_id = present["holder_id"].astype(str)
    holder_type = present["holder_type"].astype(str)
    unknown = holder_id == UNKNOWN_HOLDER
    holder_type = holder_type.where(~unknown, "unknown")
    sh = present.loc[(role == Role.shareholder.value).to_numpy()]
    share = (
        pd.to_numeric(sh["share"], errors="coerce").astype("float64")
        if "share" in sh
        else pd.Series(np.nan, index=sh.index)
    )
    bad = (share < 0) | (share > 1)
    if bad.any():
        row = sh.loc[bad].iloc[0]
        raise InvalidFrameError(
            f"roles.share must be between 0 and 1; got {float(share[bad].iloc[0])!r} "
            f"(uscc {row['uscc']}, holder {row['holder_id']})"
        )
    edges = pd.DataFrame(
        {
            "uscc": sh["uscc"].astype(str).to_numpy(),
            "holder_type": holder_type[sh.index].to_numpy(),
            "holder_id": holder_id[sh.index].to_numpy(),
            # A shareholder without a share still makes the enterprise "held"; it adds 0.
            "share": share.fillna(0.0).to_numpy(),
            "branch": False,
        }
    )
    if branch_as_owned:
        is_branch = (role == Role.branch_of.value) & (holder_type == HolderType.enterprise.value)
        br = present.loc[is_branch.to_numpy()]
        if len(br):
            held = np.isin(br["uscc"].to_numpy().astype(str), edges["uscc"].to_numpy().astype(str))
            br = br.loc[~held]
        if len(br):
            subjects = br["uscc"].astype(str)
            parents = subjects.map(subjects.value_counts())
            edges = pd.concat(
                [
                    edges,
                    pd.DataFrame(
                        {
                            "uscc": subjects.to_numpy(),
                            "holder_type": HolderType.enterprise.value,
                            "holder_id": br["holder_id"].astype(str).to_numpy(),
                            # A branch with several head offices (bad data) is split evenly.
                            "share": 1.0 / parents.to_numpy(dtype=float),
                            "branch": True,
                        }
                    ),
                ],
                ignore_index=True,
            )
    edges = edges.groupby(["uscc", "holder_type", "holder_id"], as_index=False, sort=True).agg(
        share=("share", "sum"), branch=("branch", "all")
    )
    totals = edges.groupby("uscc")["share"].transform("sum")
    over = totals > 1 + _EPS
    if over.any():
        worst = edges.loc[over].assign(total=totals[over]).sort_values("total").iloc[-1]
        if (totals > 1 + _OVER_DECLARED_TOLERANCE).any():
            n_over = edges.loc[totals > 1 + _OVER_DECLARED_TOLERANCE, "uscc"].nunique()
            warnings.warn(
                f"{n_over} enterprise(s) have shares summing above 100 % (largest: "
                f"{worst['uscc']} at {worst['total']:.4f}); their shares were rescaled to 100 %",
                OwnershipDataWarning,
                stacklevel=3,
            )
        # Rescaling keeps each column of the chain sub-stochastic: the ≤ 100 % guarantee.
        edges.loc[over, "share"] = edges.loc[over, "share"] / totals[over]
    return edges


def _upstream(edges: pd.DataFrame, subjects: Iterable[str]) -> pd.DataFrame:
    """Keep only the edges above ``subjects`` (their holders, the holders' holders, …)."""
    keep = set(subjects)
    frontier = set(keep)
    ent_edges = edges.loc[edges["holder_type"] == HolderType.enterprise.value]
    subj = ent_edges["uscc"].to_numpy()
    hold = ent_edges["holder_id"].to_numpy()
    while frontier:
        mask = np.isin(subj, list(frontier))
        found = set(hold[mask]) - keep
        keep |= found
        frontier = found
    return edges.loc[edges["uscc"].isin(keep).to_numpy()]


def _add(acc: dict[int, list[float]], u: int, eff: float, best: float, pred: int) -> None:
    entry = acc.get(u)
    if entry is None:
        acc[u] = [eff, best, float(pred)]
        return
    entry[0] += eff
    if best > entry[1]:  # strict: ties keep the first (lowest holder index) path
        entry[1] = best
        entry[2] = float(pred)


def _topological_components(labels: np.ndarray, hold: np.ndarray, subj: np.ndarray) -> list[int]:
    """Kahn's order of the condensation (strong components), holders before holdings."""
    n_comp = int(labels.max()) + 1 if labels.size else 0
    a, b = labels[hold], labels[subj]
    cross = a != b
    keys = np.unique(a[cross].astype(np.int64) * n_comp + b[cross])
    src, dst = keys // n_comp, keys % n_comp
    indegree = np.bincount(dst, minlength=n_comp).tolist()
    targets = dst[np.argsort(src, kind="stable")].tolist()
    ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n_comp))]).tolist()
    queue = [c for c in range(n_comp - 1, -1, -1) if indegree[c] == 0]
    result: list[int] = []
    while queue:
        c = queue.pop()
        result.append(c)
        for d in targets[ptr[c] : ptr[c + 1]]:
            indegree[d] -= 1
            if indegree[d] == 0:
                queue.append(d)
    return result


def _trace(edges: pd.DataFrame, extra_enterprises: Iterable[str] = ()) -> _Ownership:
    """Propagate ultimate holders over the ownership graph (see ultimate_holders, Notes)."""
    is_ent = (edges["holder_type"] == HolderType.enterprise.value).to_numpy()
    is_unknown = (edges["holder_type"] == "unknown").to_numpy()
    is_person = ~is_ent & ~is_unknown
    subj_ids = edges["uscc"].to_numpy().astype(str)
    hold_ids = edges["holder_id"].to_numpy().astype(str)
    extra = np.asarray(list(extra_enterprises), dtype=str)
    ent_ids = np.unique(np.concatenate([subj_ids, hold_ids[is_ent], extra]))
    person_ids = np.unique(hold_ids[is_person])
    n_ent, n_person = len(ent_ids), len(person_ids)
    subj = np.searchsorted(ent_ids, subj_ids)
    hold = np.empty(len(edges), dtype=np.int64)
    hold[is_ent] = np.searchsorted(ent_ids, hold_ids[is_ent])
    hold[is_person] = n_ent + np.searchsorted(person_ids, hold_ids[is_person])
    hold[is_unknown] = n_ent + n_person
    share = edges["share"].to_numpy(dtype=float)
    branch = edges["branch"].to_numpy(dtype=bool)
    order = np.lexsort((hold, subj))
    subj, hold, share, branch = subj[order], hold[order], share[order], branch[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(subj, minlength=n_ent))]).astype(np.int64)
    own = _Ownership(ent_ids, person_ids, ptr, hold, share, branch)
    if n_ent == 0:
        return own

    ee = hold < n_ent
    graph = sparse.coo_matrix(
        (np.ones(int(ee.sum()), dtype=np.int8), (hold[ee], subj[ee])), shape=(n_ent, n_ent)
    ).tocsr()
    _, labels = connected_components(graph, directed=True, connection="strong")
    members_order = np.argsort(labels, kind="stable").tolist()
    comp_ptr = np.concatenate([[0], np.cumsum(np.bincount(labels))]).tolist()
    self_loop = np.zeros(n_ent, dtype=bool)
    self_loop[subj[ee & (hold == subj)]] = True
    has_self_loop = self_loop.tolist()

    holders, closed = own.holders, own.closed
    ptr_l, hold_l, share_l = own.ptr, own.holder, own.share
    for comp in _topological_components(labels, hold[ee], subj[ee]):
        lo_c, hi_c = comp_ptr[comp], comp_ptr[comp + 1]
        if hi_c - lo_c > 1 or has_self_loop[members_order[lo_c]]:
            _trace_cycle(own, members_order[lo_c:hi_c])
            continue
        j = members_order[lo_c]
        lo, hi = ptr_l[j], ptr_l[j + 1]
        if lo == hi:  # no shareholders: an ultimate holder of whatever it holds
            holders[j] = {j: [1.0, 1.0, -1.0]}
            continue
        acc: dict[int, list[float]] = {}
        touched = False
        for k in range(lo, hi):
            i, s = hold_l[k], share_l[k]
            if s <= 0:
                continue
            if i >= n_ent:
                _add(acc, i, s, s, i)
                continue
            touched = touched or closed[i]
            for u, (e, b, _) in holders[i].items():  # _add, inlined: the hot loop
                entry = acc.get(u)
                if entry is None:
                    acc[u] = [s * e, s * b, i]
                else:
                    entry[0] += s * e
                    if s * b > entry[1]:
                        entry[1], entry[2] = s * b, i
        holders[j] = acc
        closed[j] = touched
    return own


def _trace_cycle(own: _Ownership, members: list[int]) -> None:
    """Resolve one strongly connected set of cross-holding enterprises exactly."""
    holders, closed = own.holders, own.closed
    k = len(members)
    position = {m: a for a, m in enumerate(members)}
    inner = np.zeros((k, k))  # inner[a, b]: share of members[a] held by members[b]
    outside: list[dict[int, list[float]]] = [{} for _ in range(k)]
    touched = False
    for a, j in enumerate(members):
        for e in range(own.ptr[j], own.ptr[j + 1]):
            i, s = own.holder[e], own.share[e]
            if s <= 0:
                continue
            if i in position:
                inner[a, position[i]] += s
            elif i >= own.n_ent:
                _add(outside[a], i, s, s, i)
            else:
                touched = touched or closed[i]
                for u, (held_eff, held_best, _) in holders[i].items():
                    _add(outside[a], u, s * held_eff, s * held_best, i)
    exits = 1.0 - inner.sum(axis=1)
    if exits.max() <= _EPS:
        # A closed class: every member is wholly owned inside the cycle, so no chain ever
        # leaves it and no one outside is an ultimate holder. Nothing to name.
        for j in members:
            holders[j] = {}
            closed[j] = True
            own.in_closed_cycle[j] = True
        return
    # Some member leaks ownership out of the cycle, so (I − inner) is invertible (an
    # irreducible sub-stochastic matrix with a deficient row has spectral radius < 1).
    ultimate = sorted(set().union(*outside))
    col = {u: c for c, u in enumerate(ultimate)}
    direct = np.zeros((k, len(ultimate)))
    best = np.zeros((k, len(ultimate)))
    pred = np.full((k, len(ultimate)), -1, dtype=np.int64)
    for a in range(k):
        for u, (out_eff, out_best, out_pred) in outside[a].items():
            direct[a, col[u]] = out_eff
            best[a, col[u]] = out_best
            pred[a, col[u]] = int(out_pred)
    effective = np.clip(np.linalg.solve(np.eye(k) - inner, direct), 0.0, 1.0)
    # Strongest paths: Bellman–Ford on max-product. Shares ≤ 1 mean no cycle improves a
    # path, so k − 1 rounds suffice and the predecessor pointers form a tree.
    for _ in range(max(k - 1, 0)):
        changed = False
        for a in range(k):
            for b in np.flatnonzero(inner[a]):
                if b == a:
                    continue
                candidate = inner[a, b] * best[b]
                better = candidate > best[a]
                if better.any():
                    best[a, better] = candidate[better]
                    pred[a, better] = members[b]
                    changed = True
        if not changed:
            break
    for a, j in enumerate(members):
        holders[j] = {
            u: [float(effective[a, c]), float(best[a, c]), float(pred[a, c])]
            for u, c in col.items()
            if effective[a, c] > 0 or best[a, c] > 0
        }
        closed[j] = touched


def _prepare(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    subjects: Iterable[str] | None,
    branch_as_owned: bool,
) -> tuple[_Ownership, list[str]]:
    present = roles_present_on(roles, as_of)
    edges = _ownership_edges(present, branch_as_owned)
    if subjects is not None:
        if isinstance(subjects, str):
            raise TypeError("subjects must be a sequence of USCCs; got a single str")
        wanted = [str(s) for s in subjects]
        edges = _upstream(edges, wanted)
    else:
        ent_holders = roles["holder_id"].loc[
            (roles["holder_type"].astype(str) == HolderType.enterprise.value).to_numpy()
        ]
        named = set(roles["uscc"].dropna().astype(str)) | set(ent_holders.dropna().astype(str))
        wanted = sorted(named - {UNKNOWN_HOLDER})
    return _trace(edges, wanted), wanted


# --------------------------------------------------------------------------- public API


def ultimate_holders(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    *,
    subjects: Iterable[str] | None = None,
    branch_as_owned: bool = True,
) -> pd.DataFrame:
    """Effective shares of every ultimate holder in every enterprise, with strongest paths.

    Parameters
    ----------
    roles
        Contract ``roles`` frame; shareholder rows carry ``share`` in [0, 1].
    as_of
        Snapshot date (roles present on it count).
    subjects
        Restrict the output (and the work) to these enterprises; only the ownership above
        them is traced. Default: every enterprise named in ``roles``.
    branch_as_owned
        Treat ``branch_of`` as 100 % ownership of a branch (分支机构) by its head office when
        the branch has no shareholder rows of its own: a branch is not a legal person, so its
        controller is the head office's.

    Returns
    -------
    DataFrame
        One row per (enterprise, ultimate holder) with a positive effective share, sorted by
        ``uscc`` then descending ``effective_share``: ``uscc``, ``holder_id``, ``holder_type``
        (``person``, ``enterprise`` for an enterprise with no shareholders, or ``unknown`` for
        :data:`UNKNOWN_HOLDER`), ``effective_share``, ``path_share`` (product along the
        strongest path) and ``path`` (node ids from the holder down to the enterprise).

    Raises
    ------
    TypeError, ValueError, InvalidFrameError
        For a malformed frame or date, or a share outside [0, 1].

    Warns
    -----
    OwnershipDataWarning
        When an enterprise's shares sum above 100 % (beyond rounding); they are rescaled.

    Notes
    -----
    **Model.** Read ownership as an absorbing Markov chain walking *up* the register: from
    enterprise j, step to holder i with probability ``s(i, j)``, the share of j that i holds.
    Persons, :data:`UNKNOWN_HOLDER` and enterprises without shareholders are absorbing; the
    part of j not covered by its register (Σ shares < 1) leaks to an implicit "unrecorded"
    state. The effective share of ultimate holder u in j is the probability that the walk from
    j is absorbed at u, which is exactly Σ over all chains from u to j of the product of the
    shares along the chain — the usual 穿透 rule, summed over paths.

    **Why it never exceeds 100 %.** Each enterprise's shares are made to sum to at most 1
    (over-declared registers are rescaled), so the chain is sub-stochastic and the absorption
    probabilities of one starting enterprise sum to at most 1. In particular no single holder
    gets more than 100 %, however many loops a chain goes round.

    **Why it terminates on cycles.** The strongly connected components of the enterprise
    graph (scipy) are processed in topological order of the condensation, holders first. An
    acyclic enterprise adds its holders' vectors, weighted. A cross-holding set C is solved in
    closed form, ``(I − Q_C)⁻¹ · B_C`` where ``Q_C`` holds the shares inside C and ``B_C`` the
    already-final contributions from outside: if any member's ownership leaves C (or is
    unrecorded), ``Q_C`` is irreducible with a deficient row, its spectral radius is < 1 and the
    inverse is the convergent series ``I + Q_C + Q_C² + …`` (every number of trips round the
    loop). If no ownership leaves C at all (A holds 100 % of B and B 100 % of A), C is a closed
    class: the walk never gets out, so C and everything held through it have *no* ultimate
    holder. A cycle member is never its own ultimate holder, because only persons and
    enterprises without shareholders absorb.

    Worked example (tests): P holds 50 % of A, A 100 % of B, B 50 % of A. P's share of A is
    ``0.5 + 0.5·(1·0.5) + 0.5·(1·0.5)² + … = 0.5 / (1 − 0.5) = 1``, and of B ``1 · 1 = 1``.

    **Strongest path.** Among the chains from u to j, the one with the largest product
    (max-product = shortest path in −log share). Shares ≤ 1 mean loops never strengthen a
    path, so it is a simple path: a DP in topological order, Bellman–Ford inside a cycle.

    Cost is linear in the number of (enterprise, ultimate holder) pairs outside cycles, plus
    a dense k×k solve per cross-holding set of k enterprises (k is small in registers).

    References
    ----------
    .. [1] J. G. Kemeny, J. L. Snell, *Finite Markov Chains*, Springer, 1976, ch. III
       (absorption probabilities ``B = (I − Q)⁻¹R``).
    .. [2] S. Vitali, J. B. Glattfelder, S. Battiston, "The network of global corporate
       control", PLoS ONE 6(10), 2011 (integrated ownership along chains and cycles).
    .. [3] 中国人民银行令〔2024〕第3号《受益所有人信息管理办法》 (25 % beneficial ownership).
    """
    own, wanted = _prepare(roles, as_of, subjects, branch_as_owned)
    records: list[tuple[str, str, str, float, float, list[str]]] = []
    index = pd.Index(own.ent_ids)
    positions = index.get_indexer(wanted)
    for uscc, j in zip(wanted, positions, strict=True):
        if j < 0 or not own.has_shareholders(int(j)):
            continue
        for u, (eff, best, _) in own.holders[int(j)].items():
            if eff <= 0:
                continue
            path = [own.node_id(n) for n in own.path(int(j), u)]
            records.append(
                (uscc, own.node_id(u), own.node_type(u), min(eff, 1.0), min(best, 1.0), path)
            )
    frame = _object_frame(
        records,
        ("uscc", "holder_id", "holder_type", "effective_share", "path_share", "path"),
        floats=("effective_share", "path_share"),
    )
    return frame.sort_values(
        ["uscc", "effective_share", "holder_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def beneficial_owners(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    threshold: float = BENEFICIAL_OWNER_THRESHOLD,
    *,
    subjects: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Natural persons whose effective share reaches ``threshold`` (受益所有人, default 25 %).

    Returns the rows of :func:`ultimate_holders` with ``holder_type == "person"`` and
    ``effective_share ≥ threshold``; an enterprise may have several.

    Raises
    ------
    TypeError, ValueError
        If ``threshold`` is not a number in (0, 1].
    """
    limit = check_real("threshold", threshold, 0, 1, open_low=True)
    holders = ultimate_holders(roles, as_of, subjects=subjects)
    keep = (holders["holder_type"] == HolderType.person.value) & (
        holders["effective_share"] >= limit - _THRESHOLD_TOLERANCE
    )
    return holders.loc[keep.to_numpy()].reset_index(drop=True)


_CONTROLLER_COLUMNS = (
    "uscc",
    "status",
    "controller_id",
    "controller_type",
    "candidate_id",
    "candidate_type",
    "effective_share",
    "path",
    "unknown_share",
    "explanation",
)


def _object_frame(
    rows: Sequence[Sequence[Any]], columns: Sequence[str], floats: Sequence[str]
) -> pd.DataFrame:
    """Build a frame keeping text columns as ``object`` with ``None`` for missing.

    pandas 3 would infer its ``str`` dtype and turn ``None`` into NaN.
    """
    data: dict[str, pd.Series] = {}
    for k, column in enumerate(columns):
        values = [row[k] for row in rows]
        if column in floats:
            data[column] = pd.Series(values, dtype="float64")
        else:
            cells = np.empty(len(values), dtype=object)
            for i, value in enumerate(values):  # element-wise: paths are lists
                cells[i] = value
            data[column] = pd.Series(cells, dtype=object)
    return pd.DataFrame(data, columns=list(columns))


def _pct(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


class _Labels:
    """Readable names for explanations: persons masked (mask_name) unless told otherwise."""

    def __init__(
        self,
        own: _Ownership,
        persons: pd.DataFrame | None,
        enterprises: pd.DataFrame | None,
        mask_persons: bool,
    ) -> None:
        self.own = own
        self.mask = mask_persons
        self.person_names: Mapping[str, str] = {}
        self.enterprise_names: Mapping[str, str] = {}
        if persons is not None:
            require_frame(persons, "persons", ("person_id", "name"))
            named = persons.dropna(subset=["person_id", "name"])
            self.person_names = dict(
                zip(named["person_id"].astype(str), named["name"].astype(str), strict=True)
            )
        if enterprises is not None:
            require_frame(enterprises, "enterprises", ("uscc", "name"))
            named = enterprises.dropna(subset=["uscc", "name"])
            self.enterprise_names = dict(
                zip(named["uscc"].astype(str), named["name"].astype(str), strict=True)
            )

    def node(self, node: int) -> str:
        own = self.own
        if node == own.unknown:
            return "不明持有人"
        ident = own.node_id(node)
        if node < own.n_ent:
            return self.enterprise_names.get(ident, ident)
        name = self.person_names.get(ident)
        if not name:
            return f"自然人[{ident}]"
        return mask_name(name) if self.mask else name

    def chain(self, path: list[int], total: float) -> str:
        """Describe a chain: ``通过 A公司(60%) → B公司(80%) 间接持股 48%``."""
        own = self.own
        steps: list[str] = []
        product = 1.0
        for holder, subject in itertools.pairwise(path):
            share, via_branch = own.edge(holder, subject)
            product *= share
            tag = "分支机构" if via_branch else _pct(share)
            steps.append(f"{self.node(subject)}({tag})")
        if len(path) == 2:
            share, via_branch = own.edge(path[0], path[1])
            text = "为其总公司（分支机构）" if via_branch else f"直接持股 {_pct(share)}"
        else:
            text = f"通过 {' → '.join(steps)} 间接持股 {_pct(product)}"
        if abs(total - product) > 1e-9:
            text = f"合计持股 {_pct(total)}（最强路径：{text}）"
        return text


def actual_controllers(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    threshold: float = CONTROL_THRESHOLD,
    persons: pd.DataFrame | None = None,
    *,
    enterprises: pd.DataFrame | None = None,
    subjects: Iterable[str] | None = None,
    mask_persons: bool = True,
    branch_as_owned: bool = True,
) -> pd.DataFrame:
    """Find each enterprise's actual controller (实际控制人) through ownership chains.

    Parameters
    ----------
    roles
        Contract ``roles`` frame.
    as_of
        Snapshot date.
    threshold
        Effective share a natural person must reach: :data:`CONTROL_THRESHOLD` (0.5, default)
        or :data:`BENEFICIAL_OWNER_THRESHOLD` (0.25, 受益所有人).
    persons
        Optional contract ``persons`` frame, for names in the explanation.
    enterprises
        Optional contract ``enterprises`` frame: names in the explanation, and one row for
        every enterprise in it (default: every enterprise named in ``roles``).
    subjects
        Only these enterprises (e.g. one USCC for ``credlink graph controller``); only the
        ownership above them is traced.
    mask_persons
        Mask person names with :func:`risk.identifiers.mask_name` (``张*``). Default True:
        explanations may reach banks.
    branch_as_owned
        See :func:`ultimate_holders`.

    Returns
    -------
    DataFrame
        One row per enterprise, sorted by ``uscc``:

        ``status``
            A :class:`ControllerStatus` value, decided in this order:

            1. ``no_shareholders``: no shareholder (or branch) row is present on ``as_of``.
            2. ``natural_person``: one natural person has the largest effective share among
               persons and it is ≥ ``threshold``. A tie for the largest (two persons at 50 %)
               means there is no single controller and falls through.
            3. ``declared_unknown``: part of the ownership (directly or further up) was
               declared unknown, and that part together with the largest person's share
               reaches ``threshold`` — the undisclosed holder could be the controller.
            4. ``no_natural_person_controller``: otherwise — no person ultimate holder at all
               (only enterprises without shareholders, e.g. state or foreign owners, or a
               closed cross-holding cycle), or the largest person is below ``threshold``.
        ``controller_id``, ``controller_type``
            The controller (``person``) when the status is ``natural_person``, else None.
        ``candidate_id``, ``candidate_type``
            The largest natural-person ultimate holder if there is one, else the largest
            enterprise ultimate holder; None when there is none. Equal to the controller when
            the status is ``natural_person``.
        ``effective_share``
            The candidate's effective share (sum over all chains), NaN without a candidate.
        ``path``
            Node ids of the candidate's strongest chain, from the candidate down to the
            enterprise (None without a candidate).
        ``unknown_share``
            Effective share held by :data:`UNKNOWN_HOLDER`.
        ``explanation``
            Readable Chinese, e.g. ``"实际控制人 张*：通过 A公司(60%) → B公司(80%) 间接持股 48%"``.

    Raises
    ------
    TypeError, ValueError, InvalidFrameError
        For a malformed frame, date or threshold.

    Notes
    -----
    Effective shares, cycle handling and strongest paths are those of
    :func:`ultimate_holders`; see its Notes for why results are exact, terminate on any
    cycle, and never exceed 100 %. Ties between candidates are broken by id, so the output is
    deterministic.
    """
    limit = check_real("threshold", threshold, 0, 1, open_low=True)
    if enterprises is not None:
        require_frame(enterprises, "enterprises", ("uscc",))
    own, wanted = _prepare(roles, as_of, subjects, branch_as_owned)
    if subjects is None and enterprises is not None:
        wanted = sorted(set(wanted) | set(enterprises["uscc"].dropna().astype(str)))
    labels = _Labels(own, persons, enterprises, mask_persons)
    index = pd.Index(own.ent_ids)
    positions = index.get_indexer(wanted)
    rows = [
        _controller_row(own, labels, uscc, int(j), limit)
        for uscc, j in zip(wanted, positions, strict=True)
    ]
    frame = _object_frame(rows, _CONTROLLER_COLUMNS, floats=("effective_share", "unknown_share"))
    return frame.sort_values("uscc", kind="stable").reset_index(drop=True)


def _largest(shares: list[tuple[int, float]]) -> tuple[int, float, list[int]]:
    """The largest (node, share), ties within tolerance broken by node index = by id."""
    if len(shares) == 1:
        u, e = shares[0]
        return u, min(e, 1.0), [u]
    top_share = max(shares, key=operator.itemgetter(1))[1]
    tied = sorted([u for u, e in shares if e >= top_share - _THRESHOLD_TOLERANCE])
    return tied[0], min(top_share, 1.0), tied


def _controller_row(
    own: _Ownership, labels: _Labels, uscc: str, j: int, limit: float
) -> tuple[Any, ...]:
    """One output row of actual_controllers (columns in the frame's order)."""
    if j < 0 or not own.has_shareholders(j):
        status = ControllerStatus.no_shareholders.value
        return (
            uscc,
            status,
            None,
            None,
            None,
            None,
            np.nan,
            None,
            0.0,
            "无在册股东，无法追溯实际控制人",
        )
    holders = own.holders[j]
    n_ent, unknown = own.n_ent, own.unknown
    people = [(u, e[0]) for u, e in holders.items() if n_ent <= u < unknown and e[0] > 0]
    firms = [(u, e[0]) for u, e in holders.items() if u < n_ent and e[0] > 0]
    unknown_share = min(holders[unknown][0], 1.0) if unknown in holders else 0.0

    candidate: tuple[Any, ...] = (None, None, np.nan, None)
    person, person_share, tied = -1, 0.0, list[int]()
    top, top_share = -1, 0.0
    if people:
        person, person_share, tied = _largest(people)
        top, top_share = person, person_share
    elif firms:
        top, top_share, _ = _largest(firms)
    top_path: list[int] = []
    if people or firms:
        top_path = own.path(j, top)
        path = [own.node_id(n) for n in top_path]
        candidate = (own.node_id(top), own.node_type(top), top_share, path)
    reaches = bool(people) and person_share >= limit - _THRESHOLD_TOLERANCE

    if reaches and len(tied) == 1:
        chain = labels.chain(top_path, person_share)
        explanation = f"实际控制人 {labels.node(person)}：{chain}"
        if unknown_share > 0:
            explanation += f"；另有 {_pct(unknown_share)} 股权申报为不明"
        status = ControllerStatus.natural_person.value
        return (uscc, status, candidate[0], "person", *candidate, unknown_share, explanation)

    status = ControllerStatus.no_natural_person_controller
    if reaches:  # several persons tie at the top: no single controller
        names = "、".join(labels.node(u) for u in tied)
        explanation = f"无单一实际控制人：{names} 并列最终持股 {_pct(person_share)}"
    elif unknown_share > 0 and person_share + unknown_share >= limit - _THRESHOLD_TOLERANCE:
        status = ControllerStatus.declared_unknown
        explanation = f"部分股权申报为不明（合计 {_pct(unknown_share)}），无法确认实际控制人"
        if people:
            chain = labels.chain(top_path, person_share)
            explanation += (
                f"；已知最大自然人最终持有人 {labels.node(person)}（{chain}），未达 {_pct(limit)}"
            )
    elif people:
        chain = labels.chain(top_path, person_share)
        explanation = (
            f"无自然人实际控制人：最大自然人最终持有人 {labels.node(person)}"
            f"（{chain}），未达 {_pct(limit)}"
        )
    elif firms:
        chain = labels.chain(top_path, top_share)
        explanation = (
            f"无自然人实际控制人：最终持有人为无在册股东的企业 {labels.node(top)}（{chain}）"
        )
    elif own.closed[j]:
        where = "处于" if own.in_closed_cycle[j] else "其上层股东处于"
        explanation = f"无自然人实际控制人：{where}闭合的循环持股中，股权无法追溯到最终持有人"
    else:
        explanation = "无自然人实际控制人：股东持股比例缺失，无法计算最终持股"
    if unknown_share > 0 and status != ControllerStatus.declared_unknown:
        explanation += f"；另有 {_pct(unknown_share)} 股权申报为不明"
    return (uscc, status.value, None, None, *candidate, unknown_share, explanation)
