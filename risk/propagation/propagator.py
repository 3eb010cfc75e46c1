"""The propagator: a snapshot's ``P`` built once, own signals spread over it, local updates and
the linked risk without returning walks (:class:`RiskPropagator`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk.exceptions import (
    InconsistentScoresError,
    MissingColumnsError,
    NotFittedError,
)
from risk.graph import GraphSnapshot
from risk.propagation.config import PropagationConfig
from risk.propagation.kernel import closed_walks, katz, submatrix
from risk.propagation.scores import RiskScores
from risk.propagation.signal import record_signal
from risk.propagation.transmission import transmission_matrix
from risk.validation import check_real

__all__ = ["RiskPropagator"]


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
            ball, spread = self._spread_locally(positions[moved], delta[moved], self.config_.hops)
            linked[ball] += spread
        return self._scores(own, linked)

    def linked_risk_excluding_self(self, scores: RiskScores, node_ids: Iterable[str]) -> pd.Series:
        """Linked risk of some nodes without the walks that return to them.

        ``r_i − s_i · Σ_{k=1..K} α^k (P^k)_ii``: the linked risk caused by *other* nodes'
        records only. The closed walks of all the nodes are summed together, in sparse blocks
        (:func:`risk.propagation.kernel.closed_walks`): every enterprise of a county costs
        about one propagation.

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
        own = scores.own_signal[positions]
        # Only nodes with an own signal have an echo to leave out.
        echoing = (own > 0) & (values > 0)
        if echoing.any():
            nodes, where = np.unique(positions[echoing], return_inverse=True)
            echo = closed_walks(self.transmission_, nodes, config.alpha, config.hops)[where]
            values[echoing] -= own[echoing] * echo
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

    def _spread_locally(
        self, sources: npt.NDArray[np.int64], values: npt.ArrayLike, radius: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The Katz sum of ``values`` at ``sources`` on the ``radius``-hop ball around them.

        Returns the ball (sorted node indices) and the sum on it; exact wherever every walk of
        at most K hops from the sources stays in the ball.
        """
        ball = np.sort(self.snapshot_.neighborhood(sources, radius)[0])
        start = np.zeros(ball.size)
        start[np.searchsorted(ball, sources)] = values
        sub = submatrix(self.transmission_, ball)
        return ball, katz(sub, start, self.config_.alpha, self.config_.hops)

    def _check_scores(self, scores: RiskScores) -> None:
        if not isinstance(scores, RiskScores):
            raise TypeError(f"scores must be RiskScores; got {type(scores).__name__}")
        if scores.snapshot_token != self.snapshot_.token or scores.config != self.config_:
            raise InconsistentScoresError(
                "scores must come from this propagator's snapshot and config; got scores of "
                f"another snapshot or config (as of {scores.as_of.date()})"
            )
