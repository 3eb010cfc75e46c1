"""Sampling the negatives of a large training population, with weights that keep it unbiased.

A county of 10⁶ enterprises gives about 4·10⁶ training rows (five cutoffs), of which about
8 % are positives; building their features and boosting on them costs minutes while the
negatives beyond a few hundred thousand add almost nothing to what the trees learn. So when
the training cutoffs hold more than ``max_negatives`` negatives
(:class:`models.warning_training.WarningTrainConfig`), the labels are computed for every row
first (they are cheap) and the features only for a **stratified sample**: every positive, and
in each training cutoff c exactly ``k_c = round(f · n_c)`` of its ``n_c`` negatives drawn
without replacement, where ``f = max_negatives / Σ n_c`` (a permutation of a
``numpy.random.Generator`` seeded with ``sample_seed``: the same seed and data give the same
rows). Each kept negative weighs ``n_c / k_c`` in LightGBM (the objective and the
early-stopping log loss) and in the training score distribution the PSI compares with. The
weighted log loss is then an unbiased estimate of the unsampled one, so the probabilities stay
those of the population (no intercept correction is needed;
``tests/models/test_warning_training.py`` checks the mean probability on the held-out year
against the unsampled model and the observed rate). The held-out enterprises of early
stopping are drawn from the sampled rows, with their weights. The **test cutoff is never
sampled**: every metric, the rules' comparison, the holdout the promotion gate re-scores and
the PSI are on all its enterprises. Below the budget nothing is sampled and every weight is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["NegativeSample", "sample_negatives"]


@dataclass(frozen=True, eq=False)
class NegativeSample:
    """Which training rows :func:`sample_negatives` keeps, and their weights.

    Attributes
    ----------
    keep : numpy.ndarray of bool
        Per population row: its features are built (every positive, the sampled negatives,
        every row of an unsampled cutoff).
    weight : numpy.ndarray of float64
        Per population row: ``n_c / k_c`` for a kept negative of cutoff c, 1 otherwise.
    fraction : float
        ``f``: the share of the negatives kept (1: none sampled).
    counts : dict of str to int
        ``rows``, ``positives``, ``negatives`` of the sampled cutoffs before sampling, and
        ``rows_kept``, ``negatives_kept`` after.
    """

    keep: npt.NDArray[np.bool_]
    weight: npt.NDArray[np.float64]
    fraction: float
    counts: dict[str, int]


def sample_negatives(
    labels: npt.ArrayLike,
    strata: npt.ArrayLike,
    sampled: npt.ArrayLike,
    max_negatives: int | None,
    seed: int,
) -> NegativeSample:
    """Keep every positive and, per stratum, a uniform share of the negatives, weighted.

    Parameters
    ----------
    labels
        0/1 per row.
    strata
        The stratum of each row (the cutoff date): each keeps ``round(f · n_c)`` of its
        ``n_c`` negatives (at least one when it has any), each weighing ``n_c / k_c``.
    sampled
        Per row: whether it may be sampled (the training cutoffs); the other rows (the test
        cutoff) are all kept with weight 1.
    max_negatives
        Sample when the sampled rows hold more negatives than this: ``f = max_negatives /
        negatives``; ``None`` keeps every row.
    seed
        Seed of the draw (:func:`numpy.random.default_rng`): the same seed, labels and strata
        give the same rows.

    Returns
    -------
    NegativeSample

    Notes
    -----
    Stratifying by cutoff keeps each cutoff's weighted negatives equal to its true count, so
    the weighted base rate of every cutoff is its observed rate exactly, and the weighted log
    loss is an unbiased estimate of the full sample's (Horvitz–Thompson weights). Positives
    are never dropped: with a rare event they carry most of the information. Uniform
    subsampling of negatives leaves the ROC curve, and so the AUC, unchanged in expectation.

    References
    ----------
    .. [1] G. King and L. Zeng, "Logistic Regression in Rare Events Data", Political
       Analysis 9(2), 2001: choice-based sampling with weights.
    """
    y = np.asarray(labels, dtype=np.float64).ravel()
    stratum = np.asarray(strata).ravel()
    may = np.asarray(sampled, dtype=bool).ravel()
    negative = may & (y == 0)
    keep = np.ones(y.size, dtype=bool)
    weight = np.ones(y.size, dtype=np.float64)
    total = int(negative.sum())
    fraction = 1.0
    if max_negatives is not None and total > max_negatives:
        fraction = max_negatives / total
        rng = np.random.default_rng(seed)
        keep[negative] = False
        for value in np.unique(stratum[negative]):
            rows = np.flatnonzero(negative & (stratum == value))
            k = max(1, round(fraction * rows.size))
            chosen = rows[rng.permutation(rows.size)[:k]]
            keep[chosen] = True
            weight[chosen] = rows.size / k
    counts = {
        "rows": int(may.sum()),
        "positives": int((may & (y == 1)).sum()),
        "negatives": total,
        "rows_kept": int((may & keep).sum()),
        "negatives_kept": int((negative & keep).sum()),
    }
    return NegativeSample(keep, weight, fraction, counts)
