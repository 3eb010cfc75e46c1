"""Own signal and linked risk (关联风险传导) over the linked-entity graph.

Each node's **own signal** on date t sums its active negative records (DESIGN.md §3)::

    s_i(t) = Σ_records weight(kind) · multiplier(severity) · 0.5 ^ (age_days / half_life_days)

where "active" is decided by :func:`risk.publicity.active_mask` alone; positive kinds (红名单,
许可, 承诺), repaired, removed and expired records contribute nothing.

**Linked risk** spreads the own signals along the typed edges of a
:class:`~risk.graph.GraphSnapshot`, damped by α per hop and truncated at K hops::

    r = Σ_{k=1..K} α^k P^k s

with ``P[i, j]`` the transmission weight of node j's influence on node i. Every edge
holder → enterprise carries two weights: *down* (the holder's influence on the enterprise,
e.g. a dishonest legal representative taints the enterprise) and *up* (the enterprise's
influence on its holder). Shareholder weights are multiplied by the share. When several
edges join the same pair (a person who is legal representative *and* shareholder), ``P[i, j]``
is the **maximum** of their weights, so one relationship is not counted twice.

:class:`RiskPropagator` builds ``P`` once per snapshot (scipy CSR, float64) and runs the K
sparse products; :meth:`RiskPropagator.update` recomputes only the K-hop ball of changed nodes;
:func:`risk.explain.explain` lists the records that contribute most to a node's linked risk
with their hop paths, persons masked.

``linked_risk`` includes walks that return to the node (Katz semantics: an enterprise's own
record comes back through its legal representative).
:meth:`RiskPropagator.linked_risk_excluding_self` removes them exactly for given nodes, and
:meth:`RiskPropagator.top_linked` ranks by that value — what a "linked to dishonest parties"
list should show.

This module is over 600 lines because it is one algorithm: the settings (weights, half-life,
α, K), the own signal, the transmission matrix and the propagator read each other's details
(the weights of ``P`` are the config's, the push and the Katz sum are the propagator's kernel);
the docstrings carry the formulas. The explanations, which only read a fitted result, live in
:mod:`risk.explain`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from sqlalchemy import Engine

from risk.contract import (
    NEGATIVE_KINDS,
    RecordKind,
    Role,
    Severity,
)
from risk.dates import as_of_timestamp
from risk.exceptions import (
    InconsistentScoresError,
    MissingColumnsError,
    NotFittedError,
    UnknownEntityError,
)
from risk.graph import _SHAREHOLDER, ROLE_CODES, UP, GraphSnapshot, _segments
from risk.publicity import active_mask
from risk.store import contract_table, read_table
from risk.validation import check_int, check_real

__all__ = [
    "DEFAULT_DOWN_WEIGHTS",
    "DEFAULT_KIND_WEIGHTS",
    "DEFAULT_SEVERITY_MULTIPLIERS",
    "DEFAULT_UP_WEIGHTS",
    "PUSH_WORK_FRACTION",
    "PropagationConfig",
    "RiskPropagator",
    "RiskScores",
    "contribution_weights",
    "katz",
    "pair_weights",
    "read_signal_records",
    "record_signal",
    "transmission_matrix",
]

DEFAULT_KIND_WEIGHTS: Mapping[RecordKind, float] = MappingProxyType(
    {
        RecordKind.serious_dishonesty_list: 1.0,  # 严重失信主体名单
        RecordKind.serious_violation: 0.9,  # 严重违法失信名单
        RecordKind.dishonest_debtor: 0.8,  # 失信被执行人
        RecordKind.tax_violation: 0.7,  # 重大税收违法
        RecordKind.consumption_restriction: 0.6,  # 限制高消费
        RecordKind.wage_arrears: 0.6,  # 拖欠农民工工资
        RecordKind.commitment_breach: 0.5,  # 违背信用承诺
        RecordKind.judgment_debtor: 0.4,  # 被执行人
        RecordKind.administrative_penalty: 0.3,  # 行政处罚
        RecordKind.tax_arrears: 0.3,  # 欠税公告
        RecordKind.abnormal_operation: 0.2,  # 经营异常名录
    }
)
"""Weight per negative record kind: the national 失信 lists highest, scans lowest."""

DEFAULT_SEVERITY_MULTIPLIERS: Mapping[Severity, float] = MappingProxyType(
    {Severity.minor: 0.5, Severity.general: 1.0, Severity.serious: 2.0}
)
"""Multiplier per severity (轻微 / 一般 / 严重)."""

DEFAULT_DOWN_WEIGHTS: Mapping[Role, float] = MappingProxyType(
    {
        Role.legal_rep: 0.8,  # a dishonest 法定代表人 taints the enterprise strongly
        Role.shareholder: 1.0,  # × share: a 60% shareholder transmits 0.6
        Role.executive: 0.4,
        Role.branch_of: 0.9,  # parent → branch: a branch has no legal personality of its own
    }
)
"""Holder → enterprise transmission weight per role (for branch_of: parent → branch)."""

DEFAULT_UP_WEIGHTS: Mapping[Role, float] = MappingProxyType(
    {
        Role.legal_rep: 0.8,  # 失信联合惩戒 reaches the 法定代表人 of a dishonest enterprise
        Role.shareholder: 0.5,  # × share
        Role.executive: 0.3,
        Role.branch_of: 0.9,  # branch → parent: the parent answers for its branch's debts
    }
)
"""Enterprise → holder transmission weight per role (for branch_of: branch → parent)."""

MAX_HOPS = 10
_E = TypeVar("_E", bound=StrEnum)


def _weights(
    name: str,
    value: Any,
    enum: type[_E],
    allowed: Iterable[_E],
    defaults: Mapping[_E, float],
    upper: float | None,
) -> Mapping[_E, float]:
    """Validate a weight mapping and merge it over the defaults (enum keys, fixed order)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping; got {type(value).__name__}")
    allowed = tuple(allowed)
    merged = dict(defaults)
    for key, weight in value.items():
        try:
            member = enum(key)
        except ValueError:
            member = None
        if member is None or member not in allowed:
            names = ", ".join(m.value for m in allowed)
            raise ValueError(f"{name} keys must be one of {names}; got {key!r}")
        merged[member] = check_real(f"{name}[{member.value}]", weight, 0, upper)
    return MappingProxyType({m: merged[m] for m in allowed})


@dataclass(frozen=True)
class PropagationConfig:
    """How own signals are weighted and spread (frozen, validated on construction).

    Weight mappings may be partial: keys left out keep their defaults. Keys may be enum
    members or their codes (``"dishonest_debtor"``).

    Parameters
    ----------
    kind_weights
        Weight of each negative :class:`~risk.contract.RecordKind`, ≥ 0
        (default :data:`DEFAULT_KIND_WEIGHTS`). Positive kinds are not accepted: they never
        contribute.
    severity_multipliers
        Multiplier of each :class:`~risk.contract.Severity`, ≥ 0
        (default :data:`DEFAULT_SEVERITY_MULTIPLIERS`).
    half_life_days
        Age in days at which a record's signal has halved, > 0 (default 365).
    down_weights
        Transmission holder → enterprise per :class:`~risk.contract.Role`, in [0, 1]
        (default :data:`DEFAULT_DOWN_WEIGHTS`). Multiplied by the share for shareholders.
    up_weights
        Transmission enterprise → holder per role, in [0, 1] (default
        :data:`DEFAULT_UP_WEIGHTS`). Multiplied by the share for shareholders.
    alpha
        Damping per hop, in (0, 1] (default 0.5).
    hops
        K, the number of hops, an integer in [1, 10] (default 3).
    missing_share
        Share assumed for a shareholder edge without one, in [0, 1] (default 0.1).

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, as ``"<field> must be <rule>; got <value>"``.
    """

    kind_weights: Mapping[RecordKind, float] = field(default_factory=lambda: DEFAULT_KIND_WEIGHTS)
    severity_multipliers: Mapping[Severity, float] = field(
        default_factory=lambda: DEFAULT_SEVERITY_MULTIPLIERS
    )
    half_life_days: float = 365.0
    down_weights: Mapping[Role, float] = field(default_factory=lambda: DEFAULT_DOWN_WEIGHTS)
    up_weights: Mapping[Role, float] = field(default_factory=lambda: DEFAULT_UP_WEIGHTS)
    alpha: float = 0.5
    hops: int = 3
    missing_share: float = 0.1

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(
            self,
            "kind_weights",
            _weights(
                "kind_weights",
                self.kind_weights,
                RecordKind,
                [k for k in RecordKind if k in NEGATIVE_KINDS],
                DEFAULT_KIND_WEIGHTS,
                None,
            ),
        )
        put(
            self,
            "severity_multipliers",
            _weights(
                "severity_multipliers",
                self.severity_multipliers,
                Severity,
                Severity,
                DEFAULT_SEVERITY_MULTIPLIERS,
                None,
            ),
        )
        for name, defaults in (
            ("down_weights", DEFAULT_DOWN_WEIGHTS),
            ("up_weights", DEFAULT_UP_WEIGHTS),
        ):
            put(self, name, _weights(name, getattr(self, name), Role, Role, defaults, 1.0))
        put(
            self,
            "half_life_days",
            check_real("half_life_days", self.half_life_days, 0, open_low=True),
        )
        put(self, "alpha", check_real("alpha", self.alpha, 0, 1, open_low=True))
        put(self, "hops", check_int("hops", self.hops, 1, MAX_HOPS))
        put(self, "missing_share", check_real("missing_share", self.missing_share, 0, 1))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.to_dict().items())))

    def to_dict(self) -> dict[str, float | int]:
        """Flat parameters (``kind_weights.dishonest_debtor`` → 0.8), e.g. for MLflow."""
        flat: dict[str, float | int] = {}
        for name in ("kind_weights", "severity_multipliers", "down_weights", "up_weights"):
            for key, weight in getattr(self, name).items():
                flat[f"{name}.{key.value}"] = weight
        for name in ("half_life_days", "alpha", "hops", "missing_share"):
            flat[name] = getattr(self, name)
        return flat


# --------------------------------------------------------------------------- own signal

_SIGNAL_COLUMNS = ("subject_id", "kind", "severity", "decided")


def record_signal(
    records: pd.DataFrame, as_of: date | pd.Timestamp | str, config: PropagationConfig
) -> npt.NDArray[np.float64]:
    """Signal of each record on ``as_of``: weight(kind) · mult(severity) · 0.5^(age/half-life).

    Parameters
    ----------
    records
        Contract records with ``kind``, ``severity``, ``decided`` and optionally
        ``publicity_end``, ``repaired``, ``removed`` (datetime64).
    as_of
        The date the signal is computed on.
    config
        The weights and half-life.

    Returns
    -------
    numpy.ndarray of float64
        One value per record, 0 for records that are not active on ``as_of`` (decided by
        :func:`risk.publicity.active_mask`) and for positive kinds.

    Raises
    ------
    MissingColumnsError
        If a required column is missing.
    ValueError
        On an unknown kind, or an unknown severity on an active negative record.
    """
    if not isinstance(records, pd.DataFrame):
        raise TypeError(f"records must be a pandas DataFrame; got {type(records).__name__}")
    missing = [c for c in _SIGNAL_COLUMNS[1:] if c not in records.columns]
    if missing:
        raise MissingColumnsError("records", missing, "record_signal")
    t = as_of_timestamp(as_of)
    n = len(records)
    if n == 0:
        return np.zeros(0, dtype=np.float64)

    kinds = records["kind"].astype(object).to_numpy()
    kind_weight = pd.Series(kinds).map(
        {
            **{k.value: 0.0 for k in RecordKind},
            **{k.value: w for k, w in config.kind_weights.items()},
        }
    )
    if kind_weight.isna().any():
        bad = kinds[kind_weight.isna().to_numpy()][0]
        raise ValueError(f"records.kind must be one of {', '.join(RecordKind)}; got {bad!r}")
    weight = kind_weight.to_numpy(dtype=np.float64)

    active = active_mask(
        records["decided"],
        records.get("publicity_end"),
        records.get("repaired"),
        records.get("removed"),
        t,
    )
    counts = active & (weight > 0)
    severities = records["severity"].astype(object).to_numpy()
    multiplier = (
        pd.Series(severities)
        .map({s.value: m for s, m in config.severity_multipliers.items()})
        .to_numpy(dtype=np.float64)
    )
    unknown = counts & np.isnan(multiplier)
    if unknown.any():
        bad = severities[unknown][0]
        raise ValueError(f"records.severity must be one of {', '.join(Severity)}; got {bad!r}")

    decided = np.asarray(pd.to_datetime(records["decided"]).to_numpy(), dtype="datetime64[s]")
    age_days = (t.to_datetime64() - decided) / np.timedelta64(1, "D")
    with np.errstate(invalid="ignore", over="ignore"):
        decay = np.exp2(-age_days / config.half_life_days)
        signal = np.where(counts, weight * multiplier * decay, 0.0)
    return np.asarray(signal, dtype=np.float64)


def read_signal_records(
    engine: Engine,
    as_of: date | pd.Timestamp | str,
    subject_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read the records that can carry a signal on ``as_of`` from the store.

    The query keeps negative kinds decided on or before ``as_of`` (a superset of the active
    records); :func:`record_signal` then applies :func:`risk.publicity.active_mask`, the one
    rule for whether a record counts.

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The date.
    subject_ids
        Restrict to these subjects (e.g. the K-hop ball of a node to explain).

    Returns
    -------
    pandas.DataFrame
        Contract records.
    """
    t = as_of_timestamp(as_of)
    table = contract_table("records")
    where: list[Any] = [
        table.c.decided <= t.date(),
        table.c.kind.in_(sorted(k.value for k in NEGATIVE_KINDS)),
    ]
    if subject_ids is not None:
        where.append(table.c.subject_id.in_(sorted(set(subject_ids))))
    return read_table(engine, "records", where=where)


# --------------------------------------------------------------------------- transmission


def _code_weights(config: PropagationConfig) -> npt.NDArray[np.float64]:
    """Weight of each contribution code (role + 4 · up) before the share factor."""
    table = np.zeros(2 * UP, dtype=np.float64)
    for role_code, role in enumerate(ROLE_CODES):
        table[role_code] = config.down_weights[role]
        table[UP + role_code] = config.up_weights[role]
    return table


def contribution_weights(
    snapshot: GraphSnapshot, config: PropagationConfig, contribs: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Weight of each edge contribution: its role's weight in its direction × share factor.

    The share factor is the share for shareholder edges (``config.missing_share`` when the
    edge has none) and 1 for the other roles.
    """
    code = snapshot.contrib_code[contribs]
    weight = _code_weights(config)[code]
    held = code % UP == _SHAREHOLDER
    share = snapshot.edge_share[snapshot.contrib_edge[contribs[held]]]
    weight[held] *= np.where(np.isnan(share), config.missing_share, share)
    return weight


def pair_weights(
    snapshot: GraphSnapshot, config: PropagationConfig, pairs: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """``P`` entries of the given CSR positions: the maximum over their edges' weights."""
    contribs = _segments(snapshot.pair_ptr, pairs)
    lengths = (snapshot.pair_ptr[pairs + 1] - snapshot.pair_ptr[pairs]).astype(np.int64)
    weight = contribution_weights(snapshot, config, contribs)
    if weight.size == pairs.size:  # one edge per pair: nothing to reduce
        return weight
    return np.asarray(np.maximum.reduceat(weight, np.cumsum(lengths) - lengths), dtype=np.float64)


def _all_pair_weights(
    snapshot: GraphSnapshot, config: PropagationConfig
) -> npt.NDArray[np.float64]:
    """Every entry of ``P`` from the per-pair summary; the same values as :func:`pair_weights`.

    A pair's weight is the maximum over its edges. Without shareholder edges that maximum
    depends only on which codes are present (a 256-entry table over ``pair_mask``); a single
    shareholder edge adds ``weight × pair_share`` (× ``missing_share`` when it has no share).
    The few pairs with several shareholder edges go through :func:`pair_weights`.
    """
    table = _code_weights(config)
    masks = np.arange(256, dtype=np.uint16)
    others = np.zeros(256)
    holders = np.zeros(256)
    for code in range(2 * UP):
        present = (masks >> code) & 1 == 1
        if code % UP == _SHAREHOLDER:
            holders[present] = np.maximum(holders[present], table[code])
        else:
            others[present] = np.maximum(others[present], table[code])
    n_pairs = snapshot.pair_mask.size
    data = np.empty(n_pairs, dtype=np.float64)
    # In cache-sized chunks: the temporaries stay small and are reused, not page-faulted in.
    for low in range(0, n_pairs, _CHUNK):
        high = min(low + _CHUNK, n_pairs)
        mask = snapshot.pair_mask[low:high].astype(np.intp)
        out = data[low:high]
        others.take(mask, out=out, mode="clip")  # "clip": no buffered bounds check
        held = holders.take(mask, mode="clip")
        held *= snapshot.pair_share[low:high]
        np.maximum(out, held, out=out)
    missing = snapshot.missing_share_pairs
    if missing.size:
        without_share = holders[snapshot.pair_mask[missing]] * config.missing_share
        data[missing] = np.maximum(data[missing], without_share)
    irregular = snapshot.irregular_pairs.astype(np.int64)
    if irregular.size:
        data[irregular] = pair_weights(snapshot, config, irregular)
    return data


_CHUNK = 1 << 16


def transmission_matrix(snapshot: GraphSnapshot, config: PropagationConfig) -> sparse.csr_array:
    """The transmission matrix ``P`` of a snapshot (``P[i, j]``: influence of j on i).

    Parameters
    ----------
    snapshot
        The graph.
    config
        Role weights per direction and the share assumed when missing.

    Returns
    -------
    scipy.sparse.csr_array
        n × n, float64, sharing the snapshot's index arrays. Several edges between the same
        pair give the maximum of their weights.
    """
    n = snapshot.n_nodes
    data = _all_pair_weights(snapshot, config)
    return sparse.csr_array((data, snapshot.indices, snapshot.indptr), shape=(n, n))


PUSH_WORK_FRACTION = 0.1
"""Push a vector through ``P`` from its support instead of a full sparse product when the
support's neighbourhoods hold less than this fraction of ``P``'s entries (checked only while
the vector has nonzeros on fewer than that fraction of the nodes)."""


def katz(
    matrix: sparse.csr_array | sparse.csc_array,
    signal: npt.NDArray[np.float64],
    alpha: float,
    hops: int,
    transpose: npt.NDArray[np.integer[Any]] | None = None,
) -> npt.NDArray[np.float64]:
    """Σ_{k=1..hops} α^k Mᵏ s by repeated sparse products (v ← αMv, accumulate).

    With ``transpose`` (the snapshot's, ``matrix`` being its ``P``), the first products of a
    sparse vector — own signals sit on a few percent of nodes — are pushed from the vector's
    support instead of computed over every row; the result is the same up to rounding.
    """
    linked = np.zeros_like(signal)
    walk = signal
    sparse_walk = transpose is not None
    for _ in range(hops):
        pushed = _push(matrix, walk, transpose) if sparse_walk else None
        if pushed is None:
            sparse_walk = False  # supports only grow in practice: stop checking
            walk = np.asarray(matrix @ walk, dtype=np.float64)
        else:
            walk = pushed
        walk *= alpha
        linked += walk
    return linked


def _push(
    matrix: sparse.csr_array | sparse.csc_array,
    walk: npt.NDArray[np.float64],
    transpose: npt.NDArray[np.integer[Any]] | None,
) -> npt.NDArray[np.float64] | None:
    """``matrix @ walk`` pushed from the support of ``walk``; ``None`` when that costs more."""
    if transpose is None:
        return None
    nonzero = walk != 0
    if np.count_nonzero(nonzero) >= PUSH_WORK_FRACTION * walk.size:
        return None
    indptr = matrix.indptr
    support = np.flatnonzero(nonzero)  # on a boolean mask: ~10× faster than on floats
    counts = indptr[support + 1] - indptr[support]
    if counts.sum() >= PUSH_WORK_FRACTION * matrix.nnz:
        return None
    # The pattern is symmetric: row j lists the i with P[i, j] ≠ 0, stored at transpose[q].
    positions = _segments(indptr, support)
    pushed = matrix.data[transpose[positions]] * np.repeat(walk[support], counts)
    return np.bincount(matrix.indices[positions], weights=pushed, minlength=walk.size).astype(
        np.float64, copy=False
    )


def _submatrix(matrix: sparse.csr_array, nodes: npt.NDArray[np.int64]) -> sparse.csr_array:
    """``matrix[nodes][:, nodes]`` for sorted ``nodes``, without touching other rows."""
    size = nodes.size
    positions = _segments(matrix.indptr, nodes)
    lengths = (matrix.indptr[nodes + 1] - matrix.indptr[nodes]).astype(np.int64)
    columns = matrix.indices[positions]
    local = np.minimum(np.searchsorted(nodes, columns), max(size - 1, 0))
    inside = nodes[local] == columns
    rows = np.repeat(np.arange(size), lengths)[inside]
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
    return sparse.csr_array(
        (matrix.data[positions[inside]], local[inside], indptr), shape=(size, size)
    )


# --------------------------------------------------------------------------- scores


@dataclass(frozen=True, eq=False)
class RiskScores:
    """Own signal and linked risk of every node of one snapshot (read-only arrays).

    Attributes
    ----------
    node_ids : pandas.Index
        Node id per position (the snapshot's).
    is_person : numpy.ndarray of bool
        Node type per position.
    own_signal, linked_risk : numpy.ndarray of float64
        s and r per position.
    as_of : pandas.Timestamp
        The snapshot date.
    config : PropagationConfig
        The configuration the scores were computed with.
    snapshot_token : str
        :attr:`GraphSnapshot.token` of the snapshot they belong to.
    """

    node_ids: pd.Index
    is_person: npt.NDArray[np.bool_]
    own_signal: npt.NDArray[np.float64]
    linked_risk: npt.NDArray[np.float64]
    as_of: pd.Timestamp
    config: PropagationConfig
    snapshot_token: str

    def __post_init__(self) -> None:
        self.own_signal.flags.writeable = False
        self.linked_risk.flags.writeable = False

    def __len__(self) -> int:
        return len(self.node_ids)

    def to_frame(self) -> pd.DataFrame:
        """A frame indexed by node_id with node_type, own_signal and linked_risk."""
        return pd.DataFrame(
            {
                "node_type": np.where(self.is_person, "person", "enterprise"),
                "own_signal": self.own_signal,
                "linked_risk": self.linked_risk,
            },
            index=pd.Index(self.node_ids, name="node_id"),
        )

    def lookup(self, node_id: str) -> tuple[float, float]:
        """``(own_signal, linked_risk)`` of one node.

        Raises
        ------
        UnknownEntityError
            If ``node_id`` is not scored.
        """
        position = self.node_ids.get_indexer([node_id])[0]
        if position < 0:
            raise UnknownEntityError(f"node_id must be a scored node; got {node_id!r}")
        return float(self.own_signal[position]), float(self.linked_risk[position])

    def top(
        self, n: int = 10, *, by: str = "linked_risk", node_type: str | None = "enterprise"
    ) -> pd.DataFrame:
        """The ``n`` highest-scoring nodes (ties by node id), as :meth:`to_frame` rows.

        Parameters
        ----------
        n
            How many, ≥ 1.
        by
            ``"linked_risk"`` or ``"own_signal"``.
        node_type
            ``"enterprise"``, ``"person"`` or ``None`` for both.

        Raises
        ------
        ValueError
            On a bad ``n``, ``by`` or ``node_type``.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        if by not in ("linked_risk", "own_signal"):
            raise ValueError(f"by must be linked_risk or own_signal; got {by!r}")
        if node_type not in ("enterprise", "person", None):
            raise ValueError(f"node_type must be enterprise, person or None; got {node_type!r}")
        values = self.linked_risk if by == "linked_risk" else self.own_signal
        candidates = np.flatnonzero(values > 0)
        if node_type is not None:
            candidates = candidates[self.is_person[candidates] == (node_type == "person")]
        if candidates.size > n:
            # Keep every node tied with the n-th value so that ties break by node id.
            nth = np.partition(values[candidates], candidates.size - n)[candidates.size - n]
            candidates = candidates[values[candidates] >= nth]
        frame = pd.DataFrame(
            {
                "node_id": np.asarray(self.node_ids[candidates], dtype=object),
                "node_type": np.where(self.is_person[candidates], "person", "enterprise"),
                "own_signal": self.own_signal[candidates],
                "linked_risk": self.linked_risk[candidates],
            }
        )
        frame = frame.sort_values([by, "node_id"], ascending=[False, True], kind="stable")
        return frame.head(n).set_index("node_id")


class RiskPropagator:
    """Spread own signals over a snapshot: ``r = Σ_{k=1..K} α^k P^k s`` (scikit-learn style).

    Parameters
    ----------
    config
        Weights, half-life, α and K; ``None`` means ``PropagationConfig()``.

    Attributes
    ----------
    config_ : PropagationConfig
        The configuration in use.
    snapshot_ : GraphSnapshot
        The snapshot :meth:`fit` was given.
    transmission_ : scipy.sparse.csr_array
        ``P``, n × n, float64.

    Notes
    -----
    The series ``Σ_{k≥1} α^k P^k s`` is Katz's status index [1]_ seeded with the own signals
    instead of ones, equivalently an unnormalised personalized PageRank [2]_ [3]_ whose
    restart distribution is s. Truncated at K hops it needs no convergence condition on
    α‖P‖; it is computed by K sparse matrix–vector products ``v ← αPv, r ← r + v`` in
    O(K · nnz(P)) time and O(n) extra memory.

    **Returning walks are included (Katz semantics).** A walk that leaves node i and comes
    back to it (i → legal rep → i) adds α^k (P^k)_ii s_i to i's linked risk. Excluding them
    for every node needs the diagonal of Σ α^k P^k (closed walks, one source vector per
    signalled node), far more than the ≈ 1.5 × kernel budget; so ``linked_risk`` keeps them,
    and the exact value without them is computed for the nodes that need it — the few a rule
    flags — by :meth:`linked_risk_excluding_self` (and reported as ``from_self`` by
    :func:`risk.explain.explain`).

    The first products of a sparse signal vector are *pushed* from its support (only the
    rows of ``P`` that can become nonzero are touched), the later, dense ones are plain CSR
    products; :meth:`update` works on the K-hop ball of the changed nodes only.

    ``P`` is not row-normalised, unlike PageRank: linked risk is additive over walks, so a
    person tied to five dishonest enterprises carries more than one tied to one.

    References
    ----------
    .. [1] Katz, L. (1953). A new status index derived from sociometric analysis.
       Psychometrika 18(1), 39–43.
    .. [2] Page, L., Brin, S., Motwani, R., Winograd, T. (1999). The PageRank citation
       ranking: bringing order to the Web. Stanford InfoLab.
    .. [3] Jeh, G., Widom, J. (2003). Scaling personalized web search. WWW '03, 271–279.
    """

    def __init__(self, config: PropagationConfig | None = None) -> None:
        self.config = config

    def fit(self, snapshot: GraphSnapshot) -> RiskPropagator:
        """Build the transmission matrix of ``snapshot``.

        Parameters
        ----------
        snapshot
            The graph on the scoring date.

        Returns
        -------
        RiskPropagator
            ``self``.

        Raises
        ------
        TypeError
            If ``snapshot`` is not a :class:`~risk.graph.GraphSnapshot` or ``config`` is not a
            :class:`PropagationConfig`.
        """
        if not isinstance(snapshot, GraphSnapshot):
            raise TypeError(f"snapshot must be a GraphSnapshot; got {type(snapshot).__name__}")
        config = PropagationConfig() if self.config is None else self.config
        if not isinstance(config, PropagationConfig):
            raise TypeError(f"config must be a PropagationConfig; got {type(config).__name__}")
        self.config_ = config
        self.snapshot_ = snapshot
        self.transmission_ = transmission_matrix(snapshot, config)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "transmission_"):
            raise NotFittedError("RiskPropagator is not fitted; call fit(snapshot) first")

    def own_signal(self, records: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Own signal of every node on the snapshot date (records of unknown subjects ignored).

        Parameters
        ----------
        records
            Contract records (``subject_id``, ``kind``, ``severity``, ``decided``, …).

        Returns
        -------
        numpy.ndarray of float64
            One value per node index.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        if isinstance(records, pd.DataFrame) and "subject_id" not in records.columns:
            raise MissingColumnsError("records", ["subject_id"], "RiskPropagator.own_signal")
        snapshot = self.snapshot_
        per_record = record_signal(records, snapshot.as_of, self.config_)
        positions = snapshot.node_ids.get_indexer(records["subject_id"].astype(str))
        keep = (positions >= 0) & (per_record > 0)
        return np.bincount(
            positions[keep], weights=per_record[keep], minlength=snapshot.n_nodes
        ).astype(np.float64)

    def signal_of(self, records: pd.DataFrame, node_ids: Iterable[str]) -> dict[str, float]:
        """Own signal of the given nodes from their records (0 for nodes without any).

        Use it with :meth:`update` when new records arrive: pass *all* current records of
        the affected nodes.

        Raises
        ------
        UnknownEntityError
            If a node id is not in the snapshot.
        """
        self._check_fitted()
        ids = list(dict.fromkeys(str(i) for i in node_ids))
        self.snapshot_.indices_of(ids)
        subset = records[records["subject_id"].astype(str).isin(ids)]
        per_record = record_signal(subset, self.snapshot_.as_of, self.config_)
        sums = pd.Series(per_record, index=subset["subject_id"].astype(str).to_numpy())
        totals = sums.groupby(level=0).sum()
        return {i: float(totals.get(i, 0.0)) for i in ids}

    def propagate(self, own_signal: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Linked risk ``Σ_{k=1..K} α^k P^k s`` of every node.

        Parameters
        ----------
        own_signal
            s, one finite value ≥ 0 per node index.

        Returns
        -------
        numpy.ndarray of float64

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValueError
            If ``own_signal`` has the wrong shape or a negative or non-finite value.
        """
        self._check_fitted()
        signal = self._signal_vector(own_signal)
        return self._spread(signal)

    def _signal_vector(self, own_signal: npt.ArrayLike) -> npt.NDArray[np.float64]:
        signal = np.asarray(own_signal, dtype=np.float64)
        n = self.snapshot_.n_nodes
        if signal.shape != (n,):
            raise ValueError(f"own_signal must have one value per node ({n}); got {signal.shape}")
        if not np.isfinite(signal).all() or (signal.size and signal.min() < 0):
            raise ValueError("own_signal must be finite and ≥ 0; got a negative or NaN value")
        return signal

    def score(self, records: pd.DataFrame) -> RiskScores:
        """Own signal and linked risk of every node from the records.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        return self.score_signal(self.own_signal(records))

    def score_signal(self, own_signal: npt.ArrayLike) -> RiskScores:
        """:class:`RiskScores` from a given own-signal vector (one value per node index)."""
        self._check_fitted()
        signal = self._signal_vector(own_signal).copy()
        return self._scores(signal, self._spread(signal))

    def _spread(self, signal: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        config = self.config_
        return katz(self.transmission_, signal, config.alpha, config.hops, self.snapshot_.transpose)

    def _scores(self, own: npt.NDArray[np.float64], linked: npt.NDArray[np.float64]) -> RiskScores:
        snapshot = self.snapshot_
        return RiskScores(
            node_ids=snapshot.node_ids,
            is_person=snapshot.is_person,
            own_signal=own,
            linked_risk=linked,
            as_of=snapshot.as_of,
            config=self.config_,
            snapshot_token=snapshot.token,
        )

    def update(self, scores: RiskScores, changed_signal: Mapping[str, float]) -> RiskScores:
        """New scores after the own signal of some nodes changed, touching only their K-hop ball.

        A change Δs at node j reaches only nodes within K hops of j, so
        ``r_new = r_old + Σ_{k=1..K} α^k P^k Δs`` is computed on ``P`` restricted to that
        ball; the result equals a full recompute (up to rounding).

        Parameters
        ----------
        scores
            Scores of this propagator's snapshot and config.
        changed_signal
            New own signal per node id (finite, ≥ 0), e.g. from :meth:`signal_of`.

        Returns
        -------
        RiskScores
            New scores; ``scores`` is left unchanged.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InconsistentScoresError
            If ``scores`` come from another snapshot or config.
        UnknownEntityError
            If a node id is not in the snapshot.
        ValueError
            On a negative or non-finite signal.
        """
        self._check_fitted()
        self._check_scores(scores)
        if not isinstance(changed_signal, Mapping):
            raise TypeError(
                f"changed_signal must be a mapping; got {type(changed_signal).__name__}"
            )
        snapshot = self.snapshot_
        positions = snapshot.indices_of(changed_signal.keys())
        values = np.array([check_real("changed_signal value", v) for v in changed_signal.values()])
        if values.size and values.min() < 0:
            raise ValueError(f"changed_signal values must be ≥ 0; got {float(values.min())!r}")
        own = scores.own_signal.copy()
        linked = scores.linked_risk.copy()
        delta = values - own[positions]
        own[positions] = values
        moved = delta != 0
        if moved.any():
            sources, shift = positions[moved], delta[moved]
            ball = np.sort(snapshot.neighborhood(sources, self.config_.hops)[0])
            local = np.zeros(ball.size)
            local[np.searchsorted(ball, sources)] = shift
            sub = _submatrix(self.transmission_, ball)
            linked[ball] += katz(sub, local, self.config_.alpha, self.config_.hops)
        return self._scores(own, linked)

    def linked_risk_excluding_self(self, scores: RiskScores, node_ids: Iterable[str]) -> pd.Series:
        """Linked risk of some nodes without the walks that return to them.

        ``r_i − s_i · Σ_{k=1..K} α^k (P^k)_ii``: the linked risk caused by *other* nodes'
        records only. Closed walks of at most K hops stay within ⌊K/2⌋ hops of i, so each
        node costs one small product on that ball.

        Parameters
        ----------
        scores
            Scores of this propagator's snapshot and config.
        node_ids
            The nodes (e.g. those a warning rule flags).

        Returns
        -------
        pandas.Series
            Indexed by node id.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InconsistentScoresError
            If ``scores`` come from another snapshot or config.
        UnknownEntityError
            If a node id is not in the snapshot.
        """
        self._check_fitted()
        self._check_scores(scores)
        ids = list(dict.fromkeys(str(i) for i in node_ids))
        positions = self.snapshot_.indices_of(ids)
        config = self.config_
        values = scores.linked_risk[positions].copy()
        for k, node in enumerate(positions.tolist()):
            own = scores.own_signal[node]
            if own == 0:
                continue
            ball = np.sort(self.snapshot_.neighborhood([node], config.hops // 2)[0])
            local = int(np.searchsorted(ball, node))
            start = np.zeros(ball.size)
            start[local] = 1.0
            returning = katz(_submatrix(self.transmission_, ball), start, config.alpha, config.hops)
            values[k] -= own * returning[local]
        return pd.Series(np.maximum(values, 0.0), index=pd.Index(ids, name="node_id"))

    def top_linked(
        self, scores: RiskScores, n: int = 10, *, node_type: str | None = "enterprise"
    ) -> pd.DataFrame:
        """The ``n`` nodes with the highest linked risk caused by *other* nodes' records.

        Ranks by :meth:`linked_risk_excluding_self` exactly, computing it only for as many
        nodes as needed: candidates are taken in decreasing ``linked_risk`` (an upper bound
        of the excluded value) until the next bound cannot beat the n-th best.

        Parameters
        ----------
        scores
            Scores of this propagator's snapshot and config.
        n
            How many, ≥ 1.
        node_type
            ``"enterprise"``, ``"person"`` or ``None`` for both.

        Returns
        -------
        pandas.DataFrame
            Indexed by node id, columns ``node_type``, ``own_signal``, ``linked_risk`` and
            ``linked_risk_excluding_self``, best first (ties by node id); nodes whose
            excluded value is 0 are left out.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InconsistentScoresError
            If ``scores`` come from another snapshot or config.
        ValueError
            On a bad ``n`` or ``node_type``.
        """
        self._check_fitted()
        self._check_scores(scores)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        if node_type not in ("enterprise", "person", None):
            raise ValueError(f"node_type must be enterprise, person or None; got {node_type!r}")
        bound = scores.linked_risk
        candidates = np.flatnonzero(bound > 0)
        if node_type is not None:
            candidates = candidates[scores.is_person[candidates] == (node_type == "person")]
        candidates = candidates[np.argsort(-bound[candidates], kind="stable")]
        found: list[tuple[float, str, int]] = []
        batch = max(4 * n, 64)
        for begin in range(0, candidates.size, batch):
            chunk = candidates[begin : begin + batch]
            if len(found) >= n and bound[chunk[0]] < found[n - 1][0]:
                break
            ids = [str(i) for i in scores.node_ids[chunk]]
            excluded = self.linked_risk_excluding_self(scores, ids)
            found += [(float(excluded[i]), i, int(j)) for i, j in zip(ids, chunk, strict=True)]
            found.sort(key=lambda item: (-item[0], item[1]))
        rows = [item for item in found[:n] if item[0] > 0]
        positions = np.array([j for _, _, j in rows], dtype=np.int64)
        return pd.DataFrame(
            {
                "node_type": np.where(scores.is_person[positions], "person", "enterprise"),
                "own_signal": scores.own_signal[positions],
                "linked_risk": scores.linked_risk[positions],
                "linked_risk_excluding_self": [value for value, _, _ in rows],
            },
            index=pd.Index([i for _, i, _ in rows], name="node_id"),
        )

    def _check_scores(self, scores: RiskScores) -> None:
        if not isinstance(scores, RiskScores):
            raise TypeError(f"scores must be RiskScores; got {type(scores).__name__}")
        if scores.snapshot_token != self.snapshot_.token or scores.config != self.config_:
            raise InconsistentScoresError(
                "scores must come from this propagator's snapshot and config; got scores of "
                f"another snapshot or config (as of {scores.as_of.date()})"
            )
