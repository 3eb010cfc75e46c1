"""Scores of one snapshot: each node's own signal and linked risk (:class:`RiskScores`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk.exceptions import UnknownEntityError
from risk.propagation.config import PropagationConfig

__all__ = ["RiskScores"]


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
