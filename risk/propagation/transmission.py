"""The transmission matrix ``P`` of a snapshot: the weight of each edge contribution, of each
pair (the maximum over its edges) and the whole CSR matrix built in vectorised passes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

from risk.graph import GraphSnapshot
from risk.graph.codes import ROLE_CODES, SHAREHOLDER, UP
from risk.graph.csr import segments
from risk.propagation.config import PropagationConfig

__all__ = ["contribution_weights", "pair_weights", "transmission_matrix"]


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
    held = code % UP == SHAREHOLDER
    share = snapshot.edge_share[snapshot.contrib_edge[contribs[held]]]
    weight[held] *= np.where(np.isnan(share), config.missing_share, share)
    return weight


def pair_weights(
    snapshot: GraphSnapshot, config: PropagationConfig, pairs: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """``P`` entries of the given CSR positions: the maximum over their edges' weights."""
    contribs = segments(snapshot.pair_ptr, pairs)
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
        if code % UP == SHAREHOLDER:
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
