"""An enterprise's own record history: the record groups, windows and counts both feature
sets use.

The pre-credit features (:mod:`features.precredit`) and the warning features
(:mod:`features.warning`) count an enterprise's records per kind group (:data:`KIND_GROUPS`),
domain group (:data:`DOMAIN_GROUPS`) and window as of a date t, and the graph features
(:mod:`features.graph`) flag linked parties by :data:`LINKED_DISHONEST_KINDS`. Rows are paired
with records one way (:func:`enterprise_records`), windows are named one way
(:func:`window_name`) and bounded one way (a window of W months holds the records decided in
``(t − W months, t]``: :func:`risk.dates.months_before`), and counted per row one way
(:func:`row_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.data import PlatformData
from risk.contract import Domain, RecordKind, SubjectType

__all__ = [
    "DOMAIN_GROUPS",
    "KIND_GROUPS",
    "LINKED_DISHONEST_KINDS",
    "POSITIVE_GROUPS",
    "days_since_latest",
    "enterprise_records",
    "row_counts",
    "row_values",
    "window_name",
]

_DAY = np.timedelta64(1, "D")

KIND_GROUPS: Mapping[str, frozenset[RecordKind]] = MappingProxyType(
    {
        "dishonest": frozenset(
            {
                RecordKind.dishonest_debtor,
                RecordKind.serious_dishonesty_list,
                RecordKind.serious_violation,
            }
        ),
        "court": frozenset({RecordKind.judgment_debtor, RecordKind.consumption_restriction}),
        "penalty": frozenset({RecordKind.administrative_penalty}),
        "tax": frozenset({RecordKind.tax_violation, RecordKind.tax_arrears}),
        "abnormal": frozenset({RecordKind.abnormal_operation}),
        "breach": frozenset({RecordKind.wage_arrears, RecordKind.commitment_breach}),
    }
)
"""Negative record kinds grouped for the own-history counts (every negative kind once)."""

POSITIVE_GROUPS: Mapping[str, frozenset[RecordKind]] = MappingProxyType(
    {
        "red_list": frozenset({RecordKind.red_list}),
        "licence": frozenset({RecordKind.license, RecordKind.commitment}),
    }
)
"""Positive record kinds grouped for the own-history counts."""

DOMAIN_GROUPS: Mapping[str, frozenset[Domain]] = MappingProxyType(
    {
        "market": frozenset({Domain.market_regulation}),
        "safety_environment": frozenset(
            {Domain.work_safety, Domain.health, Domain.ecology_environment}
        ),
        "taxation": frozenset({Domain.taxation}),
        "labour": frozenset({Domain.human_resources}),
        "court_finance": frozenset({Domain.court, Domain.finance}),
        "other": frozenset(
            {
                Domain.transport,
                Domain.housing_construction,
                Domain.culture_tourism,
                Domain.agriculture,
                Domain.natural_resources,
                Domain.other,
            }
        ),
    }
)
"""Domains (领域) grouped for the penalty counts (every domain once)."""

LINKED_DISHONEST_KINDS: frozenset[RecordKind] = KIND_GROUPS["dishonest"] | {
    RecordKind.tax_violation,
    RecordKind.consumption_restriction,
}
"""Kinds that make a linked party (person or enterprise) count as dishonest (失信关联方)."""


def window_name(months: int | None) -> str:
    """The suffix of a window's features: ``12m``, or ``all`` for no lower bound."""
    return "all" if months is None else f"{months}m"


def row_counts(rows: npt.NDArray[np.int64], n: int, weights: Any = None) -> npt.NDArray[np.float64]:
    """How many entries (or the sum of ``weights``) each of the rows 0 … n − 1 has."""
    return np.bincount(rows, weights=weights, minlength=n).astype(np.float64)


def row_values(series: pd.Series, n: int) -> npt.NDArray[np.float64]:
    """A series indexed by row number as an array of n rows, 0 where it has no entry."""
    values = np.zeros(n, dtype=np.float64)
    values[series.index.to_numpy(dtype=np.int64)] = series.to_numpy(dtype=np.float64)
    return values


def enterprise_records(
    data: PlatformData, uscc: npt.ArrayLike, t: npt.NDArray[np.datetime64]
) -> tuple[pd.DataFrame, npt.NDArray[np.int64], npt.NDArray[np.datetime64]]:
    """Every (row, record about the row's enterprise) pair, whenever the record was decided.

    Parameters
    ----------
    data
        The platform's tables.
    uscc, t
        The rows: an enterprise and its as-of date each.

    Returns
    -------
    pairs : pandas.DataFrame
        The records' columns, one row per pair.
    row : numpy.ndarray of int64
        The row of each pair.
    on : numpy.ndarray of datetime64[s]
        The row's as-of date of each pair.
    """
    records = data.records
    records = records[(records["subject_type"] == SubjectType.enterprise.value).to_numpy()]
    rows = pd.DataFrame({"row": np.arange(len(t)), "subject_id": np.asarray(uscc, dtype=object)})
    pairs = rows.merge(records, on="subject_id", how="inner", sort=False)
    row = pairs["row"].to_numpy(dtype=np.int64)
    return pairs, row, t[row]


def days_since_latest(
    rows: npt.NDArray[np.int64],
    dates: npt.NDArray[np.datetime64],
    t: npt.NDArray[np.datetime64],
    n: int,
) -> npt.NDArray[np.float64]:
    """Days from each row's latest date in ``dates`` to its t (``NaN`` when it has none)."""
    out = np.full(n, np.nan)
    if rows.size:
        latest = pd.Series(dates).groupby(rows).max()
        at = latest.index.to_numpy(dtype=np.int64)
        out[at] = (t[at] - latest.to_numpy(dtype="datetime64[s]")) / _DAY
    return out
