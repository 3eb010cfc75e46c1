"""The CSR neighbourhood structure of a snapshot's edges (:func:`build_neighbourhood`, held by
:class:`~risk.graph.GraphSnapshot`): the *neighbourhood* of every node, in both directions,
the arrays bulk math runs on.

``indptr``, ``indices``
    Row i lists every node j joined to i by at least one edge (either direction), sorted and
    unique: the sparsity pattern of the transmission matrix ``P[i, j]`` (influence of j on i)
    of :mod:`risk.propagation`. The pattern is symmetric.
``pair_ptr``
    Entry ``q`` of ``indices`` (the pair (i, j)) owns the edge *contributions*
    ``pair_ptr[q]:pair_ptr[q + 1]`` — one per edge between i and j, more than one when, say, a
    person is both legal representative and shareholder of the enterprise.
``contrib_edge``, ``contrib_code``
    Per contribution: the edge id and ``role code + 4 · up`` (``up`` when row i is the
    holder, so the influence runs enterprise → holder).
``transpose``
    For each position q = (i, j), the position of (j, i): column j of ``P`` read from row j,
    so that a sparse vector can be *pushed* through ``P`` touching only its neighbourhoods.
``pair_mask``, ``pair_share``, ``missing_share_pairs``, ``irregular_pairs``
    A per-pair summary for building ``P`` in a few vectorised passes: bit ``c`` of
    ``pair_mask[q]`` is set when the pair has a contribution of code ``c``; ``pair_share[q]``
    is the share of its one shareholder contribution (0 when it has none or its share is
    missing; ``missing_share_pairs`` lists the latter). ``irregular_pairs`` lists the pairs
    with more than one shareholder contribution, which are weighted edge by edge.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import sparse

from risk.graph.codes import SHAREHOLDER, UP, IntArray

__all__ = ["Neighbourhood", "build_neighbourhood", "segments"]


def segments(indptr: IntArray, rows: IntArray) -> npt.NDArray[np.int64]:
    """Positions ``indptr[r]:indptr[r + 1]`` of every row ``r``, concatenated in order."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = indptr[rows].astype(np.int64)
    lengths = indptr[rows + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    out_start = np.cumsum(lengths) - lengths
    return np.repeat(starts - out_start, lengths) + np.arange(total, dtype=np.int64)


class Neighbourhood(NamedTuple):
    """The CSR arrays of a snapshot's edges (see the module docstring)."""

    indptr: npt.NDArray[Any]
    indices: npt.NDArray[Any]
    transpose: npt.NDArray[Any]
    pair_ptr: npt.NDArray[Any]
    contrib_edge: npt.NDArray[Any]
    contrib_code: npt.NDArray[np.int8]
    pair_mask: npt.NDArray[np.uint8]
    pair_share: npt.NDArray[np.float64]
    missing_share_pairs: npt.NDArray[Any]
    irregular_pairs: npt.NDArray[Any]


def build_neighbourhood(
    edge_holder: npt.NDArray[Any],
    edge_target: npt.NDArray[Any],
    edge_role: npt.NDArray[np.int8],
    edge_share: npt.NDArray[np.float64],
    n: int,
    index_dtype: type[np.signedinteger[Any]],
) -> Neighbourhood:
    """The CSR neighbourhood structure of ``n`` nodes and their edges (holder → enterprise).

    Indices are stored as ``index_dtype`` (int32 while they fit).
    """
    n_edges = int(edge_holder.size)
    # Contribution c < E: row = target, col = holder (influence holder → enterprise, down);
    # c ≥ E: row = holder, col = target (influence enterprise → holder, up).
    width = max(n, 1)
    key = np.empty(2 * n_edges, dtype=np.int64)
    np.multiply(edge_target, width, out=key[:n_edges], dtype=np.int64)
    np.add(key[:n_edges], edge_holder, out=key[:n_edges])
    np.multiply(edge_holder, width, out=key[n_edges:], dtype=np.int64)
    np.add(key[n_edges:], edge_target, out=key[n_edges:])
    # Temporaries are dropped or narrowed as soon as possible: at province size each
    # int64 array of contributions is ~56 MB.
    order = np.argsort(key, kind="stable")
    key = key[order]
    order = order.astype(index_dtype)
    new_pair = np.empty(key.size, dtype=bool)
    new_pair[:1] = True
    np.not_equal(key[1:], key[:-1], out=new_pair[1:])
    pair_ptr = np.empty(int(new_pair.sum()) + 1, dtype=index_dtype)
    pair_ptr[:-1] = np.flatnonzero(new_pair)
    pair_ptr[-1] = 2 * n_edges
    del new_pair
    pair_keys = key[pair_ptr[:-1]]
    del key
    indices = np.remainder(pair_keys, width).astype(index_dtype)
    np.floor_divide(pair_keys, width, out=pair_keys)  # now the row of each pair
    indptr = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(np.bincount(pair_keys, minlength=n), out=indptr[1:])
    del pair_keys
    # Positions numbered in CSR order, re-read in CSC (column-major) order: entry p of the
    # CSC data is the CSR position of (i, j) where (j, i) sits at CSR position p. The
    # pattern being symmetric, that map is its own inverse: it is ``transpose``.
    numbered = np.arange(indices.size, dtype=index_dtype)
    csc = sparse.csr_array((numbered, indices, indptr), shape=(n, n)).tocsc()
    transpose = np.asarray(csc.data, dtype=index_dtype)
    del numbered, csc
    up = order >= n_edges
    edge = order
    np.subtract(edge, n_edges, out=edge, where=up)  # contribution → edge id, in place
    contrib_edge = edge
    role = edge_role[edge]
    contrib_code = role + np.int8(UP) * up.astype(np.int8)
    del up, order

    # Per-pair summary (see the module docstring).
    n_pairs = indices.size
    starts = pair_ptr[:-1]
    bits = np.left_shift(np.uint8(1), contrib_code.astype(np.uint8))
    pair_mask = (
        np.bitwise_or.reduceat(bits, starts) if n_pairs else np.zeros(0, dtype=np.uint8)
    ).astype(np.uint8)
    held = np.flatnonzero(role == SHAREHOLDER)
    pair_of_held = np.searchsorted(starts, held, side="right") - 1
    share_of_held = edge_share[edge[held]]
    per_pair = np.bincount(pair_of_held, minlength=n_pairs)
    pair_share = np.zeros(n_pairs, dtype=np.float64)
    pair_share[pair_of_held] = np.nan_to_num(share_of_held, nan=0.0)
    irregular = per_pair > 1
    irregular_pairs = np.flatnonzero(irregular).astype(index_dtype)
    missing = pair_of_held[np.isnan(share_of_held)]
    missing_share_pairs = missing[~irregular[missing]].astype(index_dtype)
    return Neighbourhood(
        indptr=indptr,
        indices=indices,
        transpose=transpose,
        pair_ptr=pair_ptr,
        contrib_edge=contrib_edge,
        contrib_code=contrib_code,
        pair_mask=pair_mask,
        pair_share=pair_share,
        missing_share_pairs=missing_share_pairs,
        irregular_pairs=irregular_pairs,
    )
