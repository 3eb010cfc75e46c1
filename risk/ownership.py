"""Effective shares along ownership chains (股权穿透): every ultimate holder of every enterprise.

Effective shares are products of shares along ownership chains, summed over all chains from
the same ultimate holder (a natural person, or an enterprise without shareholders), on a
snapshot of the ``roles`` table taken on ``as_of`` (:func:`risk.dates.roles_present_on`). The
method is the absorbing Markov chain of ownership; it is exact, terminates on any ownership
cycle and never exceeds 100 % (see :func:`ultimate_holders`, Notes). Who *controls* follows
from these shares in :mod:`risk.controllers`.

The declared holders
    A shareholder row whose ``holder_id`` is :data:`~risk.contract.UNKNOWN_HOLDER`
    (``"UNKNOWN"``, holder type person) records ownership that was declared but not
    identified, e.g. a BODS relationship whose interested party is an ``unspecifiedRecord``;
    :data:`~risk.contract.EXEMPT_HOLDER` (``"EXEMPT"``) ownership declared exempt from
    disclosure. Both hold their share (together, as the one undisclosed node) but are never
    named as a controller; :attr:`Ownership.declared` keeps which declarations each enterprise
    made directly, with or without a share.

Declared indirect interests
    A shareholder row with ``directness`` indirect is a declared end of a chain (BODS
    ``directOrIndirect: "indirect"``): the register says the holder ends up with that share
    without giving every link. It is no edge. The holder's share of that enterprise is its
    direct share plus the larger of the declared indirect share and the one the known chains
    give (:func:`ultimate_holders`, Notes) — never both, so a chain that is also fully known is
    not counted twice — and it passes down the chain like any other: P declaring 60 % of A
    indirectly, A holding 100 % of C, P holds 60 % of C.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from risk.contract import DECLARED_HOLDERS, UNKNOWN_HOLDER, Directness, HolderType, Role
from risk.dates import roles_present_on
from risk.exceptions import InvalidFrameError

__all__ = [
    "Ownership",
    "OwnershipDataWarning",
    "is_declared_indirect",
    "object_frame",
    "prepare",
    "ultimate_holders",
]

# Shares are rounded in registers (33.34 % + 33.33 % + 33.34 %); only a larger excess is
# reported, and every over-declared enterprise is rescaled to 100 %.
_OVER_DECLARED_TOLERANCE = 1e-3

_EPS = 1e-12


class OwnershipDataWarning(UserWarning):
    """Ownership data needed a repair (e.g. an enterprise's shares summed above 100 %)."""


class Ownership:
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
        #: (holder, enterprise) → declared indirect share, where it counted
        self.declared_indirect: dict[tuple[int, int], float] = {}
        #: enterprise → the declared holders (UNKNOWN, EXEMPT) its own register names
        self.declared: dict[int, set[str]] = {}

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

    def edge_map(self) -> dict[tuple[int, int], tuple[float, bool]]:
        """(holder, enterprise) → (direct share, branch link) of every direct edge."""
        if self._edges is None:
            subjects = [j for j in range(self.n_ent) for _ in range(self.ptr[j], self.ptr[j + 1])]
            self._edges = {
                (h, j): (s, b)
                for h, j, s, b in zip(self.holder, subjects, self.share, self.branch, strict=True)
            }
        return self._edges

    def edge(self, holder: int, subject: int) -> tuple[float, bool]:
        """Share of ``subject`` held by ``holder`` — direct, or declared indirect — and whether
        it is a branch link."""
        edges = self.edge_map()
        if (holder, subject) in edges:
            return edges[holder, subject]
        return self.declared_indirect[holder, subject], False

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


def is_declared_indirect(roles: pd.DataFrame) -> np.ndarray:
    """The one rule for "is this role a declared indirect interest" (BODS
    ``directOrIndirect: "indirect"``): such a row is no edge of the ownership graph or of the
    risk graph (:class:`risk.graph.GraphSnapshot`), only a declared end of a chain."""
    if "directness" not in roles:
        return np.zeros(len(roles), dtype=bool)
    return (roles["directness"].astype(object) == Directness.indirect.value).to_numpy(bool)


def _ownership_edges(present: pd.DataFrame, branch_as_owned: bool) -> pd.DataFrame:
    """Aggregate present direct shareholder (and branch) rows into (subject, holder) edges."""
    present = present.loc[~is_declared_indirect(present)]
    role = present["role"].astype(str)
    holder_id = present["holder_id"].astype(str)
    holder_type = present["holder_type"].astype(str)
    unknown = holder_id.isin(DECLARED_HOLDERS)
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


def _trace(
    edges: pd.DataFrame,
    extra_enterprises: Iterable[str] = (),
    extra_persons: Iterable[str] = (),
    indirect: pd.DataFrame | None = None,
) -> Ownership:
    """Propagate ultimate holders over the ownership graph (see ultimate_holders, Notes).

    Declared indirect interests in ``indirect`` are credited to their enterprise as soon as
    its holders are known, before the enterprises it holds take them over.
    """
    is_ent = (edges["holder_type"] == HolderType.enterprise.value).to_numpy()
    is_unknown = (edges["holder_type"] == "unknown").to_numpy()
    is_person = ~is_ent & ~is_unknown
    subj_ids = edges["uscc"].to_numpy().astype(str)
    hold_ids = edges["holder_id"].to_numpy().astype(str)
    extra = np.asarray(list(extra_enterprises), dtype=str)
    ent_ids = np.unique(np.concatenate([subj_ids, hold_ids[is_ent], extra]))
    person_ids = np.unique(
        np.concatenate([hold_ids[is_person], np.asarray(list(extra_persons), dtype=str)])
    )
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
    own = Ownership(ent_ids, person_ids, ptr, hold, share, branch)
    if n_ent == 0:
        return own
    credits = _indirect_credits(own, indirect)

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
            for j in members_order[lo_c:hi_c]:
                _credit(own, j, credits.get(j, ()))
            continue
        j = members_order[lo_c]
        lo, hi = ptr_l[j], ptr_l[j + 1]
        if lo == hi:  # no shareholders: an ultimate holder of whatever it holds
            holders[j] = {j: [1.0, 1.0, -1.0]}
            _credit(own, j, credits.get(j, ()))
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
        _credit(own, j, credits.get(j, ()))
    return own


def _trace_cycle(own: Ownership, members: list[int]) -> None:
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


def prepare(
    roles: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    subjects: Iterable[str] | None,
    branch_as_owned: bool,
) -> tuple[Ownership, list[str]]:
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
        wanted = sorted(named - DECLARED_HOLDERS)
    kept = set(edges["uscc"].astype(str)) | set(wanted)
    is_shareholder = (present["role"].astype(str) == Role.shareholder.value).to_numpy()
    in_scope = present["uscc"].astype(str).isin(kept).to_numpy()
    indirect = present.loc[is_declared_indirect(present) & is_shareholder & in_scope]
    indirect = indirect.loc[~indirect["holder_id"].astype(str).isin(DECLARED_HOLDERS).to_numpy()]
    persons = indirect.loc[
        (indirect["holder_type"].astype(str) == HolderType.person.value).to_numpy(), "holder_id"
    ]
    firms = indirect.loc[
        (indirect["holder_type"].astype(str) == HolderType.enterprise.value).to_numpy(),
        "holder_id",
    ]
    own = _trace(edges, [*wanted, *firms.astype(str)], persons.astype(str), indirect)
    _declarations(own, present.loc[in_scope & is_shareholder])
    return own, wanted


def _declarations(own: Ownership, shareholders: pd.DataFrame) -> None:
    """Record the declared holders (UNKNOWN, EXEMPT) each enterprise's register names."""
    holder_id = shareholders["holder_id"].astype(str)
    declared = shareholders.loc[holder_id.isin(DECLARED_HOLDERS).to_numpy()]
    index = pd.Index(own.ent_ids)
    for uscc, holder in zip(
        declared["uscc"].astype(str), declared["holder_id"].astype(str), strict=True
    ):
        j = index.get_indexer([uscc])[0]
        if j >= 0:
            own.declared.setdefault(int(j), set()).add(holder)


def _indirect_credits(
    own: Ownership, indirect: pd.DataFrame | None
) -> dict[int, list[tuple[int, float]]]:
    """Declared indirect interests by enterprise: j → [(holder, declared share)]."""
    credits: dict[int, list[tuple[int, float]]] = {}
    if indirect is None or indirect.empty:
        return credits
    shares = pd.to_numeric(indirect["share"], errors="coerce").fillna(0.0)
    index = pd.Index(own.ids)
    for uscc, kind, holder_id, declared in zip(
        indirect["uscc"].astype(str),
        indirect["holder_type"].astype(str),
        indirect["holder_id"].astype(str),
        shares,
        strict=True,
    ):
        j = int(index.get_indexer([uscc])[0])
        u = int(index.get_indexer([holder_id])[0])
        if (
            j < 0
            or u < 0
            or j >= own.n_ent
            or (kind == HolderType.person.value) != (u >= own.n_ent)
        ):
            continue
        credits.setdefault(j, []).append((u, float(declared)))
    return credits


def _credit(own: Ownership, j: int, credits: Iterable[tuple[int, float]]) -> None:
    """Credit enterprise j's declared indirect shares: direct + max(declared, known chains),
    capped at 1. Called as soon as j's holders are traced, so the enterprises j holds inherit
    the credit like any other holder of j (a cross-holding cycle's members inherit it from
    outside the cycle only: the cycle is solved before its members' declarations)."""
    for u, declared in credits:
        edges = own.edge_map()
        direct = edges[u, j][0] if (u, j) in edges else 0.0
        entry = own.holders[j].get(u)
        effective = entry[0] if entry else 0.0
        chains = max(effective - direct, 0.0)
        if declared <= chains:
            continue
        own.declared_indirect[u, j] = declared
        total = min(direct + declared, 1.0)
        if entry is None:
            own.holders[j][u] = [total, declared, float(u)]
        else:
            entry[0] = total
            if declared > entry[1]:
                entry[1], entry[2] = declared, float(u)


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
    own, wanted = prepare(roles, as_of, subjects, branch_as_owned)
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
    frame = object_frame(
        records,
        ("uscc", "holder_id", "holder_type", "effective_share", "path_share", "path"),
        floats=("effective_share", "path_share"),
    )
    return frame.sort_values(
        ["uscc", "effective_share", "holder_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def object_frame(
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
