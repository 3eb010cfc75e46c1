"""Day arithmetic on int64 day numbers (days since 1970-01-01; ``NAT`` = missing), and the
weighted draw of positions the stages share.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from risk.synth.vocabulary import DAY0, NAT

__all__ = [
    "add_months",
    "as_dates",
    "day_number",
    "or_nat",
    "top_k",
    "uniform_days",
    "year_number",
]


def day_number(value: date) -> int:
    return int((np.datetime64(value, "D") - DAY0).astype(np.int64))


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Calendar month offset, clipped to the month end (as ``pd.DateOffset(months=m)``)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day_of_month, length - 1)


def year_number(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days, dtype=np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[Y]")
        .astype(np.int64)
        + 1970
    )


def as_dates(days: np.ndarray) -> pd.Series:
    """int64 days (``NAT`` missing) → ``datetime64[us]`` (the unit pandas parses dates to)."""
    return pd.Series(
        np.asarray(days, dtype=np.int64).view("datetime64[D]").astype("datetime64[us]")
    )


def uniform_days(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A uniform whole day in ``[low, high]`` (``high ≥ low``)."""
    span = np.maximum(high - low, 0) + 1
    return low + np.floor(rng.random(len(low)) * span).astype(np.int64)


def or_nat(days: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return np.where(keep, days, NAT)


def top_k(rng: np.random.Generator, log_weight: np.ndarray, k: int) -> np.ndarray:
    """Weighted sample of ``k`` positions without replacement (Gumbel top-k)."""
    k = min(k, len(log_weight))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    keys = log_weight + rng.gumbel(size=len(log_weight))
    return np.sort(np.argpartition(-keys, k - 1)[:k])
