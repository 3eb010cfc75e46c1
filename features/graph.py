"""Point-in-time graph features: the one builder of both models' linked-party features.

:func:`graph_features` computes, for rows of (enterprise, cutoff date c), features of the
graph of roles present on c (:class:`risk.graph.GraphSnapshot`), with the records known and
active on c. The pre-credit PD (:mod:`features.precredit`) asks for its features on the
month-start cutoff of each application date, the learned warning (:mod:`features.warning`)
on its cutoff date itself; both ask this module, so a feature of the same name means the
same thing in both models. Each cutoff date costs one snapshot, one propagation and one
related-group pass, whatever the number of rows on it; a feature no caller asks for is not
computed.

The features (:data:`GRAPH_FEATURES`)
    ``own_signal``
        The enterprise's own signal s on c (:meth:`risk.propagation.RiskPropagator.score`).
    ``linked_risk``
        The linked risk its linked parties' records cause on c, **without the echo**:
        ``r_i − s_i · Σ_{k=1..K} α^k (P^k)_ii``
        (:meth:`risk.propagation.RiskPropagator.linked_risk_excluding_self`, in bulk).
    ``linked_dishonest_1hop``, ``linked_dishonest_2hop``
        Walks of one hop, and of two hops not returning to the enterprise, to nodes with a
        record of :data:`features.history.LINKED_DISHONEST_KINDS` (失信关联方).
    ``neighbours``, ``paths_2hop``
        Degree, and walks of two hops not returning to the enterprise.
    ``person_holders``, ``enterprise_holders``, ``held_enterprises``
        Distinct persons and enterprises holding a role in it, and enterprises it holds.
    ``rep_ties``
        The legal-rep and shareholder roles its legal reps and shareholders (persons) hold in
        *other* enterprises (职业法人, serial founders).
    ``linked_enterprises``, ``linked_negative_enterprises``, ``linked_negative_persons``
        Enterprises within two hops (a shared person, or a direct holding), those of them with
        an active negative record, and its direct linked persons with one.
    ``rep_enterprises``, ``rep_negative_rate``
        The repeat-offender neighbourhood (屡罚不改的关联企业): enterprises within two hops
        with at least :data:`REPEAT_RECORDS` negative records decided in the
        :data:`REPEAT_MONTHS` months up to c (active or not: a repaired penalty is still a
        penalty that happened), and the negative records those two-hop enterprises got in
        that window per linked enterprise (0 with none linked). A county that plants risk on
        a founder's whole portfolio shows it here first: an enterprise's siblings offending
        again and again, before it has a record of its own.
    ``group_size``, ``group_negative``, ``group_dishonest``
        Its related-enterprise group (关联企业群, :func:`risk.groups.related_groups`) on c:
        size, and the *other* members with an active negative record, or with a 失信 record.
        The group follows the ``group_rule`` the caller gives (:data:`GROUP_RULES`): a model
        is scored with the rule it was trained on, saved in its feature settings.

The group rules (:data:`GROUP_RULES`)
    ``"control"`` (:data:`GROUP_RULE`, since issue 15)
        Control and ownership only (:func:`risk.groups.control_mask`: legal rep, branch, a
        stake of at least :data:`risk.groups.CONTROL_SHARE`); a minority stake joins no group.
    ``"shared_persons"`` (:data:`LEGACY_GROUP_RULE`, before issue 15)
        Every role of :data:`GROUP_ROLES`, minority stakes included: two enterprises sharing a
        person who holds any stake in both are one group (``control_only=False``). Models
        trained before issue 15 saved no rule and were trained on this one; they keep it
        until they are retrained, since the same name with the other rule's values is a
        different feature to them (larger groups, more "other members" with records).

The echo (why ``linked_risk`` leaves out the walks that return to the enterprise)
    The Katz sum ``r = Σ_{k=1..K} α^k P^k s`` counts, for an enterprise i with records of its
    own, the walks i → … → i that leave and come back: i's own signal echoed through its
    legal rep or shareholders. That part is i's own history seen again, and the own-history
    features (``own_*``, ``own_signal``) already carry it in full; counting it in the linked
    risk double-counts an enterprise's own records and makes its "linked" risk large merely
    because it is itself dishonest and has any link at all. A credit modeller wants the
    linked feature to measure the risk that comes *from other parties*, so both models use
    the linked risk excluding self (which is what the rules' linked warning reads, too:
    :func:`risk.rule_checks.evaluate_rules`). The counts follow the same rule: the two-hop counts
    leave out the walks back to the enterprise, the group counts leave out the enterprise.
    Until this module, the pre-credit PD used the linked risk *with* the echo and the
    warning the one without; the PD's ``linked_risk`` changed for the enterprises with an
    own signal and a link (the rest are unchanged).

Notes
-----
Nothing dated after c enters a row: roles present on c, records decided on or before c and
active on c (or, with ``dishonest_history``, decided on or before c). Enterprises that are not
nodes of the graph (no role, not in the tables) get ``NaN`` throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from features.data import PlatformData
from features.history import LINKED_DISHONEST_KINDS, row_counts
from risk.contract import NEGATIVE_KINDS, UNKNOWN_HOLDER, Role
from risk.graph import ROLE_CODES, GraphSnapshot
from risk.groups import control_mask
from risk.propagation import PropagationConfig, RiskPropagator, RiskScores
from risk.publicity import active_mask
from risk.validation import check_choice

__all__ = [
    "GRAPH_FEATURES",
    "GROUP_ROLES",
    "GROUP_RULE",
    "GROUP_RULES",
    "LEGACY_GROUP_RULE",
    "REPEAT_MONTHS",
    "REPEAT_RECORDS",
    "graph_features",
]

_NEGATIVE = [k.value for k in NEGATIVE_KINDS]
_DISHONEST = [k.value for k in LINKED_DISHONEST_KINDS]
_HOLDING_ROLES = [ROLE_CODES.index(r) for r in (Role.legal_rep, Role.shareholder)]

GROUP_ROLES: tuple[Role, ...] = (Role.shareholder, Role.legal_rep, Role.branch_of)
"""The roles that join enterprises into a related group: :func:`risk.groups.related_groups`'
default ``edge_types`` (executive is left out there, and so here)."""
_GROUP_ROLE_CODES = [ROLE_CODES.index(r) for r in GROUP_ROLES]

GROUP_RULE = "control"
"""The group rule of new models: control and ownership only (module docstring)."""
LEGACY_GROUP_RULE = "shared_persons"
"""The group rule before issue 15, of every model whose saved feature settings name none."""
GROUP_RULES: tuple[str, ...] = (GROUP_RULE, LEGACY_GROUP_RULE)
"""The rules that can form the related groups of the ``group_*`` features."""

Values = npt.NDArray[np.float64]


class _GraphOn:
    """The graph of one cutoff date, the rows on it (their nodes ``at``), and
    what the features read from it, each computed once."""

    def __init__(
        self,
        data: PlatformData,
        cutoff: pd.Timestamp,
        at: npt.NDArray[np.int64],
        propagation: PropagationConfig,
        dishonest_history: bool,
        group_rule: str,
    ) -> None:
        self.data = data
        self.cutoff = cutoff
        self.at = at
        self.propagation = propagation
        self.dishonest_history = dishonest_history
        self.group_rule = group_rule
        self.arrays = data.graph_arrays

    @cached_property
    def snapshot(self) -> GraphSnapshot:
        a = self.arrays
        return GraphSnapshot.from_arrays(
            a.node_ids,
            a.is_person,
            a.holder,
            a.target,
            a.role,
            a.share,
            a.start,
            a.end,
            as_of=self.cutoff,
        )

    @cached_property
    def recent_negative(self) -> Values:
        """Per node: negative records decided in (c − :data:`REPEAT_MONTHS` months, c]."""
        records = self.data.records
        decided = records["decided"].to_numpy(dtype="datetime64[s]")
        start = (self.cutoff - pd.DateOffset(months=REPEAT_MONTHS)).to_datetime64()
        recent = (
            records["kind"].isin(_NEGATIVE).to_numpy()
            & (decided > start)
            & (decided <= self.cutoff.to_datetime64())
        )
        nodes = self.data.record_nodes[recent]
        nodes = nodes[nodes >= 0]
        return np.bincount(nodes, minlength=len(self.arrays.node_ids)).astype(np.float64)

    @cached_property
    def propagator(self) -> RiskPropagator:
        return RiskPropagator(self.propagation).fit(self.snapshot)

    @cached_property
    def scores(self) -> RiskScores:
        return self.propagator.score(self.data.records)

    @cached_property
    def active(self) -> npt.NDArray[np.bool_]:
        """Which records are active on the cutoff (:func:`risk.publicity.active_mask`)."""
        records = self.data.records
        return active_mask(
            records["decided"],
            records["publicity_end"],
            records["repaired"],
            records["removed"],
            self.cutoff,
        )

    def _flagged_nodes(self, records: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        nodes = self.data.record_nodes
        flags = np.zeros(len(self.arrays.node_ids), dtype=bool)
        flags[nodes[records & (nodes >= 0)]] = True
        return flags

    @cached_property
    def negative(self) -> npt.NDArray[np.bool_]:
        """Nodes with an active negative record."""
        kinds = self.data.records["kind"].isin(_NEGATIVE).to_numpy()
        return self._flagged_nodes(kinds & self.active)

    @cached_property
    def dishonest(self) -> npt.NDArray[np.bool_]:
        """Nodes with an active 失信 record (with ``dishonest_history``: any decided by c)."""
        records = self.data.records
        kinds = records["kind"].isin(_DISHONEST).to_numpy()
        if self.dishonest_history:
            decided = records["decided"].to_numpy(dtype="datetime64[s]")
            return self._flagged_nodes(kinds & (decided <= self.cutoff.to_datetime64()))
        return self._flagged_nodes(kinds & self.active)

    @cached_property
    def adjacency(self) -> sparse.csr_array:
        s = self.snapshot
        return sparse.csr_array(
            (np.ones(s.indices.size), s.indices, s.indptr), shape=(s.n_nodes, s.n_nodes)
        )

    @cached_property
    def degree(self) -> Values:
        return np.diff(self.snapshot.indptr).astype(np.float64)

    @cached_property
    def groups(self) -> tuple[npt.NDArray[np.int64], Values]:
        """The related groups on the cutoff: each node's component and each component's
        number of enterprises.

        The groups of :func:`risk.groups.related_groups` (the roles of :data:`GROUP_ROLES`
        present on the cutoff, with the ``"control"`` rule only their control roles,
        :func:`risk.groups.control_mask`, so that a minority stake joins no group; a shared
        executive never does; the declared-unknown holder
        :data:`risk.contract.UNKNOWN_HOLDER` links nothing), found on the snapshot's integer
        edges: the string ids, their sort and the group-id labels ``related_groups`` returns
        cost more than the components themselves, once per cutoff, and the features need
        none of them. ``tests/features/test_graph.py`` checks both give the same groups.
        """
        s = self.snapshot
        roles = np.asarray(ROLE_CODES, dtype=object)[s.edge_role]
        link = np.isin(s.edge_role, _GROUP_ROLE_CODES) & (s.edge_holder != self.unknown_holder)
        if self.group_rule == GROUP_RULE:
            link &= control_mask(roles, s.edge_share)
        adjacency = sparse.csr_array(
            (np.ones(int(link.sum()), dtype=np.int8), (s.edge_holder[link], s.edge_target[link])),
            shape=(s.n_nodes, s.n_nodes),
        )
        _, labels = connected_components(adjacency, directed=False)
        enterprise = ~self.arrays.is_person
        sizes = np.bincount(labels[enterprise], minlength=int(labels.max()) + 1)
        return labels.astype(np.int64), sizes.astype(np.float64)

    @cached_property
    def unknown_holder(self) -> int:
        """Node index of :data:`risk.contract.UNKNOWN_HOLDER` (-1 when no role names it)."""
        return int(self.arrays.node_ids.get_indexer([UNKNOWN_HOLDER])[0])

    def group_size(self) -> Values:
        """Per row: enterprises in its related group (itself included)."""
        labels, sizes = self.groups
        return sizes[labels[self.at]]

    def group_others(self, flags: npt.NDArray[np.bool_]) -> Values:
        """Per row: other members of its group with a flag (enterprises of the enterprise
        table; one outside it, known only from a role, counts as unflagged)."""
        labels, sizes = self.groups
        n = self.arrays.n_enterprises
        member = flags[:n].astype(np.float64)
        per_group = np.bincount(labels[:n], weights=member, minlength=sizes.size)
        own = flags[self.at] & (self.at < n)
        return np.asarray(per_group[labels[self.at]] - own, dtype=np.float64)

    @cached_property
    def near(self) -> tuple[sparse.csr_array, npt.NDArray[np.bool_]]:
        """The rows' 1-or-2-hop reach (0/1), and whether each row reaches itself back."""
        adjacency = self.adjacency
        near = adjacency[self.at] + adjacency[self.at] @ adjacency
        near.data[:] = 1.0
        # The neighbourhood is symmetric without self-loops: i is 2 hops from itself iff it
        # has a neighbour; the counts leave it out.
        return near, np.diff(self.snapshot.indptr)[self.at] > 0

    def distinct_holders(self, person: bool, *, held: bool = False) -> Values:
        """Per row: distinct holders of one type of it (or, ``held``, enterprises it holds)."""
        s = self.snapshot
        holder, target = s.edge_holder, s.edge_target
        kind = s.is_person[holder] == person
        group, member = (holder, target) if held else (target, holder)
        group, member = group[kind], member[kind]
        if not group.size:
            return np.zeros(self.at.size)
        pairs = np.unique(np.column_stack([group, member]), axis=0)
        return row_counts(pairs[:, 0], s.n_nodes)[self.at]


def _linked_risk(g: _GraphOn) -> Values:
    scores = g.scores
    linked = scores.linked_risk[g.at].copy()
    own = scores.own_signal[g.at]
    # Only enterprises with an own signal have an echo to leave out (module docstring).
    returning = (own > 0) & (linked > 0)
    if returning.any():
        # Distinct nodes in, values in the same order out: no reindexing by string id.
        nodes, where = np.unique(g.at[returning], return_inverse=True)
        excluded = g.propagator.linked_risk_excluding_self(scores, g.arrays.node_ids[nodes])
        linked[returning] = excluded.to_numpy()[where]
    return linked


def _rep_ties(g: _GraphOn) -> Values:
    # Σ over the enterprise's legal-rep / shareholder persons of the *other* enterprises in
    # which they hold such a role.
    s = g.snapshot
    holding = np.zeros(len(ROLE_CODES), dtype=bool)
    holding[_HOLDING_ROLES] = True
    ties = s.is_person[s.edge_holder] & holding[s.edge_role]
    tie_pairs = (
        np.unique(np.column_stack([s.edge_holder[ties], s.edge_target[ties]]), axis=0)
        if ties.any()
        else np.empty((0, 2), dtype=np.int64)
    )
    per_person = row_counts(tie_pairs[:, 0], s.n_nodes)
    return row_counts(tie_pairs[:, 1], s.n_nodes, per_person[tie_pairs[:, 0]] - 1.0)[g.at]


def _linked_enterprises(g: _GraphOn) -> Values:
    near, back = g.near
    return near @ (~g.arrays.is_person).astype(np.float64) - back


def _linked_negative_enterprises(g: _GraphOn) -> Values:
    near, back = g.near
    flagged = ~g.arrays.is_person & g.negative
    return near @ flagged.astype(np.float64) - (back & flagged[g.at])


def _linked_negative_persons(g: _GraphOn) -> Values:
    return g.adjacency[g.at] @ (g.arrays.is_person & g.negative).astype(np.float64)


def _linked_dishonest_1hop(g: _GraphOn) -> Values:
    return (g.adjacency @ g.dishonest.astype(np.float64))[g.at]


def _linked_dishonest_2hop(g: _GraphOn) -> Values:
    # Walks i → j → k with k ≠ i: (A·A·b)_i minus the walks that come back to i.
    bad = g.dishonest.astype(np.float64)
    return (g.adjacency @ (g.adjacency @ bad))[g.at] - g.degree[g.at] * bad[g.at]


def _paths_2hop(g: _GraphOn) -> Values:
    return (g.adjacency @ g.degree)[g.at] - g.degree[g.at]


REPEAT_MONTHS = 24
"""The window of the repeat-offender features (the county plans' 24 months)."""
REPEAT_RECORDS = 2
"""Negative records in the window that make an enterprise a repeat offender."""


def _rep_enterprises(g: _GraphOn) -> Values:
    near, back = g.near
    repeat = ~g.arrays.is_person & (g.recent_negative >= REPEAT_RECORDS)
    return near @ repeat.astype(np.float64) - (back & repeat[g.at])


def _rep_negative_rate(g: _GraphOn) -> Values:
    near, back = g.near
    enterprise = ~g.arrays.is_person
    counts = np.where(enterprise, g.recent_negative, 0.0)
    records = near @ counts - np.where(back, counts[g.at], 0.0)
    linked = near @ enterprise.astype(np.float64) - back
    return np.divide(records, linked, out=np.zeros_like(records), where=linked > 0)


_FEATURES: Mapping[str, Callable[[_GraphOn], Values]] = MappingProxyType(
    {
        "own_signal": lambda g: g.scores.own_signal[g.at],
        "linked_risk": _linked_risk,
        "linked_dishonest_1hop": _linked_dishonest_1hop,
        "linked_dishonest_2hop": _linked_dishonest_2hop,
        "neighbours": lambda g: g.degree[g.at],
        "paths_2hop": _paths_2hop,
        "person_holders": lambda g: g.distinct_holders(True),
        "enterprise_holders": lambda g: g.distinct_holders(False),
        "held_enterprises": lambda g: g.distinct_holders(False, held=True),
        "rep_ties": _rep_ties,
        "linked_enterprises": _linked_enterprises,
        "linked_negative_enterprises": _linked_negative_enterprises,
        "linked_negative_persons": _linked_negative_persons,
        "group_size": lambda g: g.group_size(),
        "group_negative": lambda g: g.group_others(g.negative),
        "group_dishonest": lambda g: g.group_others(g.dishonest),
        "rep_enterprises": _rep_enterprises,
        "rep_negative_rate": _rep_negative_rate,
    }
)

GRAPH_FEATURES: tuple[str, ...] = tuple(_FEATURES)
"""Every graph feature :func:`graph_features` computes (module docstring)."""


def graph_features(
    data: PlatformData,
    uscc: npt.ArrayLike,
    cutoff: npt.ArrayLike,
    names: Sequence[str],
    propagation: PropagationConfig,
    *,
    dishonest_history: bool = False,
    group_rule: str = GROUP_RULE,
) -> dict[str, Values]:
    """Compute graph features of enterprises on the graph of their cutoff dates.

    Parameters
    ----------
    data
        The platform's tables.
    uscc
        The enterprise of each row.
    cutoff
        The date of each row's graph (``datetime64``): the month start of an application date
        for the PD, the cutoff itself for the warning. Rows sharing a date share its graph.
    names
        The features wanted, among :data:`GRAPH_FEATURES`.
    propagation
        The own-signal and linked-risk settings: the :class:`risk.config.RiskConfig`'s
        ``propagation``, the one the served linked risk and the rules use.
    dishonest_history
        A linked party counts as dishonest for a 失信 record decided by c even if it is no
        longer active on c (the DESIGN.md §2 history policy flag; default off).
    group_rule
        Which roles join the related groups of the ``group_*`` features, among
        :data:`GROUP_RULES` (default :data:`GROUP_RULE`): the rule the model was trained on.

    Returns
    -------
    dict of str to numpy.ndarray
        ``float64`` values per name, one per row; ``NaN`` for enterprises that are not in
        the graph.

    Raises
    ------
    TypeError
        If ``propagation`` is not a :class:`risk.propagation.PropagationConfig`.
    ValueError
        If a name is not a graph feature, or ``group_rule`` not a rule.
    """
    if not isinstance(propagation, PropagationConfig):
        raise TypeError(
            f"propagation must be a PropagationConfig; got {type(propagation).__name__}"
        )
    check_choice("group_rule", group_rule, GROUP_RULES)
    unknown = [name for name in names if name not in _FEATURES]
    if unknown:
        raise ValueError(
            f"names must be graph features ({', '.join(GRAPH_FEATURES)}); got {unknown[0]!r}"
        )
    ids = np.asarray(uscc, dtype=object)
    dates = np.asarray(cutoff, dtype="datetime64[s]")
    n = len(ids)
    out = {name: np.full(n, np.nan) for name in names}
    nodes = data.graph_arrays.node_ids.get_indexer(ids)
    for day in np.unique(dates):
        rows = np.flatnonzero((dates == day) & (nodes >= 0))
        if not rows.size:
            continue
        graph = _GraphOn(
            data, pd.Timestamp(day), nodes[rows], propagation, dishonest_history, group_rule
        )
        for name in names:
            out[name][rows] = _FEATURES[name](graph)
    return out
