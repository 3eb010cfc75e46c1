"""Explanations of linked risk: the source records behind a node's score, with their hop paths.

:func:`explain` answers "why does this enterprise carry linked risk?" for one node of a scored
:class:`~risk.graph.GraphSnapshot`: the records that contribute most, each with the walks that
carry its signal to the node, phrased in Chinese (``法定代表人 张* 同时担任 X公司 法定代表人``),
persons masked unless asked otherwise. The contributions add up exactly to the node's linked
risk (:mod:`risk.propagation`: ``r = Σ_k α^k P^k s``), so an explanation is never an
approximation of the score it explains.

The paths shown are what a person can follow (issue 15): simple (no node twice: the walks
that go back and forth through a node count in the score but are not shown), at most
:data:`MAX_PATHS_PER_SOURCE` per source record, and near-duplicates (the same relations
through another person or firm of the same kind, e.g. two minority shareholders of one firm)
merged into one path that names the alternatives (:attr:`Walk.similar_via`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from risk.contract import (
    ROLE_LABELS,
    Domain,
    RecordKind,
    Role,
    Severity,
    regulator_for,
    zh_label,
)
from risk.exceptions import (
    InconsistentScoresError,
    MissingColumnsError,
)
from risk.graph import GraphSnapshot
from risk.graph.codes import ROLE_CODES, UP, percent
from risk.graph.csr import segments
from risk.propagation import (
    PropagationConfig,
    RiskScores,
    contribution_weights,
    katz,
    pair_weights,
    record_signal,
)
from risk.validation import check_bool

__all__ = [
    "MAX_PATHS_PER_SOURCE",
    "Direction",
    "Explanation",
    "Hop",
    "SourceContribution",
    "Walk",
    "explain",
]

MAX_PATHS_PER_SOURCE = 3
"""The most paths shown per source record: more is noise to the reader, not evidence."""

_VIA_KEPT = 10  # alternative intermediates named per merged path (all are counted)
_VIA_IN_SENTENCE = 3


class Direction(StrEnum):
    """Which way a hop carries the signal along an edge holder → enterprise."""

    down = "down"  # holder → enterprise (for branch_of: parent → branch)
    up = "up"  # enterprise → holder (for branch_of: branch → parent)


_DIRECTION_LABELS: Mapping[tuple[Role, Direction], str] = MappingProxyType(
    {
        (Role.legal_rep, Direction.down): "法定代表人→企业",
        (Role.legal_rep, Direction.up): "企业→法定代表人",
        (Role.shareholder, Direction.down): "股东→被投资企业",
        (Role.shareholder, Direction.up): "被投资企业→股东",
        (Role.executive, Direction.down): "高管→企业",
        (Role.executive, Direction.up): "企业→高管",
        (Role.branch_of, Direction.down): "总机构→分支机构",
        (Role.branch_of, Direction.up): "分支机构→总机构",
    }
)


@dataclass(frozen=True)
class Hop:
    """One step of a walk, in the direction the signal travels (``from`` → ``to``).

    ``role_label`` names the relationship in Chinese (``法定代表人``, ``股东 60%``, ``高管``,
    ``分支机构``) and ``direction_label`` its direction (``企业→法定代表人``). When several
    edges join the pair, the one with the largest weight (the one that counts) is shown.
    """

    from_id: str
    from_name: str
    to_id: str
    to_name: str
    role: Role
    role_label: str
    share: float | None
    direction: Direction
    direction_label: str
    weight: float


@dataclass(frozen=True)
class Walk:
    """A path from the source record's subject to the explained node.

    ``weight`` is ``α^len · Π P`` along the path; ``contribution`` = record signal × weight.
    ``similar_paths`` counts the near-duplicates merged into it: paths with the same relations
    hop by hop that differ only by one intermediate node of the same kind (person or
    enterprise); ``similar_via`` names those intermediates (the first ten, persons masked as
    the hops are). Their weights are not added to this one's.
    """

    hops: tuple[Hop, ...]
    weight: float
    contribution: float
    sentence: str
    similar_paths: int = 0
    similar_via: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceContribution:
    """One source record and the exact part of the linked risk it causes.

    ``contribution`` = record signal × Σ over *all* walks of length 1..K from the record's
    subject to the explained node of ``α^len · Π P``; over all source records the
    contributions sum to the node's linked risk. ``walks`` lists the heaviest of the simple
    ones (no node twice), near-duplicates merged (``n_walks`` simple walks in all;
    ``walks_truncated`` when enumeration stopped at the cap, the contribution itself is
    always exact). A record of the explained node itself (``from_self``) reaches it only by
    walks that return to it, so it has no path to show.
    """

    record_id: str
    kind: RecordKind
    kind_label: str
    domain: Domain
    domain_label: str
    regulator: str
    severity: Severity
    decided: date
    publicity_end: date | None
    publicity_status: str
    subject_id: str
    subject_name: str
    subject_type: str
    record_signal: float
    contribution: float
    share_of_linked_risk: float
    from_self: bool
    walks: tuple[Walk, ...]
    n_walks: int
    walks_truncated: bool

    @property
    def sentence(self) -> str:
        """The sentence of the heaviest path (for the node's own record, how it counts)."""
        if self.walks:
            return self.walks[0].sentence
        if self.from_self:
            own = "本人" if self.subject_type == "person" else "本企业"
            return f"{own}自身的记录，经关联方回传计入关联风险"
        return ""


@dataclass(frozen=True)
class Explanation:
    """Why a node has its linked risk: the top contributing source records.

    ``from_self`` is the part of the linked risk caused by the node's own records through
    walks that return to it (Katz semantics, see :class:`RiskPropagator`).
    """

    node_id: str
    name: str
    node_type: str
    as_of: date
    own_signal: float
    linked_risk: float
    from_self: float
    n_sources: int
    sources: tuple[SourceContribution, ...]

    def text(self) -> str:
        """A few lines of Chinese for people (CLI, web page)."""
        lines = [
            f"{self.name}（{self.node_id}）截至 {self.as_of}：关联风险 {self.linked_risk:.4f}，"
            f"自身信号 {self.own_signal:.4f}，其中经关联方回传的自身记录 {self.from_self:.4f}"
        ]
        for rank, source in enumerate(self.sources, start=1):
            lines.append(
                f"{rank}. {source.kind_label} {source.record_id}（{source.domain_label}，"
                f"{source.regulator}，{source.publicity_status}）贡献 {source.contribution:.4f}"
                f"（{source.share_of_linked_risk:.0%}）：{source.sentence}"
            )
        if self.n_sources > len(self.sources):
            lines.append(f"… 共 {self.n_sources} 条来源记录")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings, enums as codes)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


_EXPLAIN_COLUMNS = ("record_id", "subject_id", "kind", "domain", "severity", "decided")


def explain(
    snapshot: GraphSnapshot,
    scores: RiskScores,
    records: pd.DataFrame,
    node_id: str,
    top: int = 5,
    *,
    unmasked: bool = False,
    walks_per_source: int = MAX_PATHS_PER_SOURCE,
    max_walks: int = 10_000,
    simple_paths: bool = True,
) -> Explanation:
    """The top source records behind a node's linked risk, with their hop paths.

    Parameters
    ----------
    snapshot
        The snapshot ``scores`` were computed on.
    scores
        From :meth:`RiskPropagator.score`.
    records
        The records the scores were computed from (at least those of the node's K-hop
        neighbourhood; :func:`read_signal_records` with ``subject_ids`` reads just those).
    node_id
        The enterprise (or person) to explain.
    top
        How many source records to return, ≥ 1.
    unmasked
        Show persons' full names (credit office only); masked (``张*``) by default.
    walks_per_source
        How many of the heaviest paths to show per source, in [1, 3]
        (:data:`MAX_PATHS_PER_SOURCE`).
    max_walks
        Stop enumerating walks of one source after this many (contributions stay exact).
    simple_paths
        True (default): show simple paths only, near-duplicates merged (module docstring).
        False shows the heaviest walks as they come, revisits and near-duplicates included:
        the explanations before issue 15, kept to measure the change (``bench/groups.py``).

    Returns
    -------
    Explanation

    Raises
    ------
    UnknownEntityError
        If ``node_id`` is not in the snapshot.
    InconsistentScoresError
        If ``scores`` belong to another snapshot, or ``records`` do not reproduce the own
        signals the scores were computed from.
    ValueError
        On a bad ``top``, ``walks_per_source`` or ``max_walks``.
    TypeError
        If ``simple_paths`` is not a bool.

    Notes
    -----
    With c = Σ_{k=1..K} α^k (Pᵀ)^k e_i (computed on the K-hop ball of i), node j's signal
    reaches i with weight c_j, so record ρ of j contributes s_ρ · c_j and
    Σ_ρ s_ρ c_{j(ρ)} = (Σ_k α^k P^k s)_i, the linked risk, exactly.
    """
    for name, value in (
        ("top", top),
        ("walks_per_source", walks_per_source),
        ("max_walks", max_walks),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if walks_per_source > MAX_PATHS_PER_SOURCE:
        raise ValueError(
            f"walks_per_source must be at most {MAX_PATHS_PER_SOURCE} (more paths per source "
            f"are noise; near-duplicates are merged into one); got {walks_per_source}"
        )
    check_bool("simple_paths", simple_paths)
    if scores.snapshot_token != snapshot.token:
        raise InconsistentScoresError(
            "scores must come from the given snapshot; got scores of another snapshot"
        )
    missing = [c for c in _EXPLAIN_COLUMNS if c not in records.columns]
    if missing:
        raise MissingColumnsError("records", missing, "explain")
    config = scores.config
    centre = snapshot.index_of(node_id)
    ball, distance = snapshot.neighborhood([centre], config.hops)
    order = np.argsort(ball)
    ball, distance = ball[order], distance[order]
    sub = _local_transmission(snapshot, config, ball)
    local_centre = int(np.searchsorted(ball, centre))
    start = np.zeros(ball.size)
    start[local_centre] = 1.0
    reach = katz(sub.T.tocsr(), start, config.alpha, config.hops)  # c_j for j in the ball

    linked = float(scores.linked_risk[centre])
    reaching = ball[reach > 0]
    subject = records["subject_id"].astype(str)
    candidates = records[subject.isin(snapshot.node_ids[reaching]).to_numpy()]
    per_record = record_signal(candidates, scores.as_of, config)
    candidates = candidates.assign(explain_signal=per_record)[per_record > 0]
    positions = snapshot.node_ids.get_indexer(candidates["subject_id"].astype(str))
    _check_reproduces(
        scores, reaching, positions, candidates["explain_signal"].to_numpy(), snapshot
    )

    local = np.searchsorted(ball, positions)
    contribution = candidates["explain_signal"].to_numpy() * reach[local]
    candidates = candidates.assign(explain_contribution=contribution, explain_position=positions)
    candidates = candidates.sort_values(
        ["explain_contribution", "record_id"], ascending=[False, True], kind="stable"
    )
    from_self = float(contribution[positions == centre].sum())

    walker = _Walker(snapshot, config, ball, distance, sub, centre, unmasked, simple_paths)
    sources = []
    for row in candidates.head(top).itertuples(index=False):
        sources.append(
            _source(walker, row, linked, walks_per_source, max_walks, snapshot, unmasked)
        )
    return Explanation(
        node_id=str(node_id),
        name=snapshot.display_name(centre, unmasked=unmasked),
        node_type="person" if snapshot.is_person[centre] else "enterprise",
        as_of=scores.as_of.date(),
        own_signal=float(scores.own_signal[centre]),
        linked_risk=linked,
        from_self=from_self,
        n_sources=len(candidates),
        sources=tuple(sources),
    )


def _local_transmission(
    snapshot: GraphSnapshot, config: PropagationConfig, nodes: npt.NDArray[np.int64]
) -> sparse.csr_array:
    """``P`` restricted to sorted ``nodes``, weights computed as :func:`transmission_matrix`."""
    size = nodes.size
    pairs = segments(snapshot.indptr, nodes)
    lengths = (snapshot.indptr[nodes + 1] - snapshot.indptr[nodes]).astype(np.int64)
    columns = snapshot.indices[pairs].astype(np.int64)
    local = np.minimum(np.searchsorted(nodes, columns), max(size - 1, 0))
    inside = nodes[local] == columns
    rows = np.repeat(np.arange(size), lengths)[inside]
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
    data = pair_weights(snapshot, config, pairs[inside]) if inside.any() else np.zeros(0)
    return sparse.csr_array((data, local[inside], indptr), shape=(size, size))


def _check_reproduces(
    scores: RiskScores,
    reaching: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    signals: npt.NDArray[np.float64],
    snapshot: GraphSnapshot,
) -> None:
    """Refuse to explain with records that do not give the scored own signals."""
    rebuilt = pd.Series(signals).groupby(positions).sum()
    expected = scores.own_signal[reaching]
    got = rebuilt.reindex(reaching, fill_value=0.0).to_numpy()
    bad = ~np.isclose(got, expected, rtol=1e-9, atol=1e-12)
    if bad.any():
        j = int(reaching[np.flatnonzero(bad)[0]])
        raise InconsistentScoresError(
            f"records must reproduce the scored own signals; node {snapshot.node_ids[j]!r} "
            f"scored {scores.own_signal[j]:.6g} but its records give {got[bad][0]:.6g}"
        )


class _Walker:
    """Enumerates walks inside the K-hop ball of the explained node and phrases them."""

    def __init__(
        self,
        snapshot: GraphSnapshot,
        config: PropagationConfig,
        ball: npt.NDArray[np.int64],
        distance: npt.NDArray[np.int64],
        sub: sparse.csr_array,
        centre: int,
        unmasked: bool,
        simple: bool,
    ) -> None:
        self.snapshot = snapshot
        self.simple = simple
        self._hops: dict[tuple[int, int], Hop] = {}
        self.config = config
        self.ball = ball
        self.distance = distance  # hops from the centre (the pattern is symmetric)
        self.forward = sub.T.tocsr()  # row a lists b with P[b, a] > 0: where a's signal goes
        self.centre = centre
        self.local_centre = int(np.searchsorted(ball, centre))
        self.unmasked = unmasked

    def walks(self, source: int, cap: int) -> tuple[list[tuple[list[int], float]], bool]:
        """The walks source → centre of 1..K hops with their weights α^len Π P (local ids):
        the simple ones (no node twice) unless the walker shows every walk."""
        alpha, hops = self.config.alpha, self.config.hops
        indptr, indices, data = self.forward.indptr, self.forward.indices, self.forward.data
        found: list[tuple[list[int], float]] = []
        stack: list[tuple[int, list[int], float]] = [(source, [source], 1.0)]
        truncated = False
        while stack:
            node, path, weight = stack.pop()
            if node == self.local_centre and len(path) > 1:
                found.append((path, weight))
                if len(found) >= cap:
                    truncated = True
                    break
                if self.simple:
                    continue  # the centre is reached: going on would come back to it
            remaining = hops - (len(path) - 1)
            for p in range(indptr[node], indptr[node + 1]):
                nxt, w = int(indices[p]), float(data[p])
                if w > 0 and self.distance[nxt] <= remaining - 1:
                    if self.simple and nxt in path:
                        continue
                    stack.append((nxt, [*path, nxt], weight * alpha * w))
        return found, truncated

    def merged(
        self, found: list[tuple[list[int], float]], keep: int
    ) -> list[tuple[list[int], float, list[int]]]:
        """The ``keep`` heaviest paths of ``found`` (local ids, heaviest first), each with
        the intermediates of its near-duplicates (same relations, one intermediate node of
        the same kind swapped), which are merged into it."""
        kept: list[tuple[list[int], float, list[int]]] = []
        for path, weight in found:
            for head, _, alternatives in kept:
                via = self._swapped(head, path)
                if via is not None:
                    alternatives.append(via)
                    break
            else:
                if len(kept) < keep:
                    kept.append((path, weight, []))
        return kept

    def _swapped(self, head: list[int], path: list[int]) -> int | None:
        """The intermediate node of ``path`` that replaces one of ``head`` when the two
        differ only there, by a node of the same kind and the same relations; else None."""
        if len(head) != len(path):
            return None
        differ = [i for i, (a, b) in enumerate(zip(head, path, strict=True)) if a != b]
        if len(differ) != 1 or differ[0] in (0, len(path) - 1):
            return None
        i = differ[0]
        glob = [int(self.ball[n]) for n in (head[i - 1], head[i], path[i], head[i + 1])]
        before, mine, other, after = glob
        if self.snapshot.is_person[mine] != self.snapshot.is_person[other]:
            return None
        for one, two in ((self.hop(before, mine), self.hop(before, other)),
                         (self.hop(mine, after), self.hop(other, after))):  # fmt: skip
            if (one.role, one.direction) != (two.role, two.direction):
                return None
        return path[i]

    def hop(self, a: int, b: int) -> Hop:
        """The hop carrying the signal from node a to node b (global ids)."""
        key = (a, b)
        if key not in self._hops:
            self._hops[key] = self._hop(a, b)
        return self._hops[key]

    def _hop(self, a: int, b: int) -> Hop:
        snapshot = self.snapshot
        row_start, row_end = snapshot.indptr[b], snapshot.indptr[b + 1]
        q = row_start + int(np.searchsorted(snapshot.indices[row_start:row_end], a))
        contribs = np.arange(snapshot.pair_ptr[q], snapshot.pair_ptr[q + 1], dtype=np.int64)
        weights = contribution_weights(snapshot, self.config, contribs)
        best = int(contribs[int(np.argmax(weights))])
        edge = int(snapshot.contrib_edge[best])
        role = ROLE_CODES[snapshot.edge_role[edge]]
        direction = Direction.up if snapshot.contrib_code[best] >= UP else Direction.down
        share = float(snapshot.edge_share[edge])
        return Hop(
            from_id=str(snapshot.node_ids[a]),
            from_name=self.name(a),
            to_id=str(snapshot.node_ids[b]),
            to_name=self.name(b),
            role=role,
            role_label=_role_label(role, share),
            share=None if np.isnan(share) else share,
            direction=direction,
            direction_label=_DIRECTION_LABELS[(role, direction)],
            weight=float(weights.max()),
        )

    def name(self, index: int) -> str:
        return self.snapshot.display_name(index, unmasked=self.unmasked)

    def sentence(self, hops: tuple[Hop, ...], record_text: str) -> str:
        """Read a walk from the explained node outwards (``法定代表人 张* 同时担任 …``)."""
        centre_id = str(self.snapshot.node_ids[self.centre])
        self_word = "本人" if self.snapshot.is_person[self.centre] else "本企业"

        def called(node_id: str, name: str) -> str:
            return self_word if node_id == centre_id else name

        parts: list[str] = []
        previous_named_holder = False
        for m, hop in enumerate(reversed(hops)):
            # Reading outwards: ``near`` is the node already named, ``far`` the new one.
            near_id, far_name = hop.to_id, called(hop.from_id, hop.from_name)
            far_is_holder = hop.direction == Direction.down  # the signal left far, the holder
            share = f"{percent(hop.share)}" if hop.share is not None else "未知比例"
            if far_is_holder:  # far holds a role in near
                phrase = {
                    Role.legal_rep: f"法定代表人 {far_name}",
                    Role.shareholder: f"股东 {far_name}（持股 {share}）",
                    Role.executive: f"高管 {far_name}",
                    Role.branch_of: f"隶属企业 {far_name}",
                }[hop.role]
                parts.append(phrase if m == 0 else f"，其{phrase}")
                previous_named_holder = True
            else:  # near holds a role in far
                verb = {
                    Role.legal_rep: f"担任 {far_name} 法定代表人",
                    Role.shareholder: f"持有 {far_name} {share} 股权",
                    Role.executive: f"担任 {far_name} 高管",
                    Role.branch_of: f"设有分支机构 {far_name}",
                }[hop.role]
                if m == 0:
                    parts.append(f"{self_word}{verb}")
                elif previous_named_holder:
                    parts.append(f" 同时{verb}")
                else:
                    near_name = called(near_id, self.name(self.snapshot.index_of(near_id)))
                    parts.append(f"，{near_name} {verb}")
                previous_named_holder = False
        subject_id = hops[0].from_id
        subject = called(subject_id, hops[0].from_name)
        return f"{''.join(parts)}，{subject} {record_text}"


def _role_label(role: Role, share: float) -> str:
    label = ROLE_LABELS[role]
    if role == Role.shareholder and not np.isnan(share):
        return f"{label} {percent(share)}"
    return label


def _day(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _source(
    walker: _Walker,
    row: Any,
    linked: float,
    walks_per_source: int,
    max_walks: int,
    snapshot: GraphSnapshot,
    unmasked: bool,
) -> SourceContribution:
    kind = RecordKind(row.kind)
    domain = Domain(row.domain)
    decided = _day(row.decided)
    publicity_end = _day(getattr(row, "publicity_end", None))
    status = f"公示中至{publicity_end}" if publicity_end else "公示中（长期）"
    record_text = f"{zh_label(kind)}（{decided} 起）"
    position = int(row.explain_position)
    local = int(np.searchsorted(walker.ball, position))
    found, truncated = walker.walks(local, max_walks)
    found.sort(key=lambda item: -item[1])
    if walker.simple:
        shown = walker.merged(found, walks_per_source)
    else:
        shown = [(path, weight, []) for path, weight in found[:walks_per_source]]
    walks = []
    for path, weight, alternatives in shown:
        glob = [int(walker.ball[p]) for p in path]
        hops = tuple(walker.hop(a, b) for a, b in pairwise(glob))
        via = tuple(walker.name(int(walker.ball[n])) for n in alternatives[:_VIA_KEPT])
        sentence = walker.sentence(hops, record_text)
        if alternatives:
            named = "、".join(via[:_VIA_IN_SENTENCE])
            more = "等" if len(alternatives) > _VIA_IN_SENTENCE else ""
            sentence += f"（另有 {len(alternatives)} 条相似路径，经 {named}{more}）"
        walks.append(
            Walk(
                hops=hops,
                weight=weight,
                contribution=float(row.explain_signal) * weight,
                sentence=sentence,
                similar_paths=len(alternatives),
                similar_via=via,
            )
        )
    return SourceContribution(
        record_id=str(row.record_id),
        kind=kind,
        kind_label=zh_label(kind),
        domain=domain,
        domain_label=zh_label(domain),
        regulator=regulator_for(domain),
        severity=Severity(row.severity),
        decided=decided if decided is not None else date.min,
        publicity_end=publicity_end,
        publicity_status=status,
        subject_id=str(row.subject_id),
        subject_name=snapshot.display_name(position, unmasked=unmasked),
        subject_type="person" if snapshot.is_person[position] else "enterprise",
        record_signal=float(row.explain_signal),
        contribution=float(row.explain_contribution),
        share_of_linked_risk=float(row.explain_contribution) / linked if linked > 0 else 0.0,
        from_self=position == walker.centre,
        walks=tuple(walks),
        n_walks=len(found),
        walks_truncated=truncated,
    )
