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

Modules
-------
:mod:`~risk.propagation.config` the settings and their defaults; :mod:`~risk.propagation.signal`
the own signal; :mod:`~risk.propagation.transmission` the matrix ``P``;
:mod:`~risk.propagation.kernel` the Katz sum by sparse products;
:mod:`~risk.propagation.scores` the scores of a snapshot; :mod:`~risk.propagation.propagator`
the propagator. The explanations, which only read a fitted result, live in :mod:`risk.explain`.
"""

from risk.propagation.config import (
    DEFAULT_DOWN_WEIGHTS,
    DEFAULT_KIND_WEIGHTS,
    DEFAULT_SEVERITY_MULTIPLIERS,
    DEFAULT_UP_WEIGHTS,
    PropagationConfig,
)
from risk.propagation.kernel import PUSH_WORK_FRACTION, katz
from risk.propagation.propagator import RiskPropagator
from risk.propagation.scores import RiskScores
from risk.propagation.signal import read_signal_records, record_signal
from risk.propagation.transmission import contribution_weights, pair_weights, transmission_matrix

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
