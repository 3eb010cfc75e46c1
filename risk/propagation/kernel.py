"""The Katz sum ``Σ_{k=1..K} α^k M^k s`` by sparse products (:func:`katz`): pushed from a sparse
vector's support while that is cheaper, and on a K-hop ball's submatrix for local updates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from risk.graph.csr import segments

__all__ = ["ECHO_BATCH", "PUSH_WORK_FRACTION", "closed_walks", "katz", "submatrix"]

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
    positions = segments(indptr, support)
    pushed = matrix.data[transpose[positions]] * np.repeat(walk[support], counts)
    return np.bincount(matrix.indices[positions], weights=pushed, minlength=walk.size).astype(
        np.float64, copy=False
    )


def submatrix(matrix: sparse.csr_array, nodes: npt.NDArray[np.int64]) -> sparse.csr_array:
    """``matrix[nodes][:, nodes]`` for sorted ``nodes``, without touching other rows."""
    size = nodes.size
    positions = segments(matrix.indptr, nodes)
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


ECHO_BATCH = 4096
"""Nodes whose closed walks :func:`closed_walks` pushes through ``P`` in one sparse block
(bounds the block's memory: at most ``ECHO_BATCH`` columns)."""


def closed_walks(
    matrix: sparse.csr_array, nodes: npt.NDArray[np.int64], alpha: float, hops: int
) -> npt.NDArray[np.float64]:
    """``Σ_{k=1..hops} α^k (Mᵏ)_ii`` of each node i: the weight of the walks that leave i and
    come back to it (its echo, per unit of its own signal).

    The walks of every node are pushed through ``matrix`` together, a sparse block of unit
    columns at a time (:data:`ECHO_BATCH` of them), instead of one node's ball at a time: the
    same walks, so the same sums to rounding, at a fraction of the cost for thousands of nodes
    (0.54 s → 0.07 s for the 20,000 enterprises of a synthetic county).
    """
    out = np.empty(nodes.size)
    for start in range(0, nodes.size, ECHO_BATCH):
        batch = nodes[start : start + ECHO_BATCH]
        columns = np.arange(batch.size)
        walk = sparse.csr_array(
            (np.ones(batch.size), (batch, columns)), shape=(matrix.shape[0], batch.size)
        )
        echo = np.zeros(batch.size)
        for _ in range(hops):
            walk = matrix @ walk
            walk.data *= alpha
            echo += np.asarray(walk[batch, columns], dtype=np.float64).ravel()
        out[start : start + batch.size] = echo
    return out
