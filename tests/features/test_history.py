"""Own-record history helpers: windows by direction, counts per row, record pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import (
    days_since_latest,
    enterprise_records,
    row_counts,
    row_values,
    window_name,
)
from risk.dates import months_after, months_before
from tests.features.builders import USCC, enterprise, platform, record


def days(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[s]")


def test_the_windows_use_risk_dates_months_clipped_to_the_month_end() -> None:
    t = days("2025-03-31", "2024-02-29")
    assert [str(d)[:10] for d in months_before(t, 1)] == ["2025-02-28", "2024-01-29"]
    assert [str(d)[:10] for d in months_after(t, 12)] == ["2026-03-31", "2025-02-28"]
    assert months_before(t, 0).dtype == np.dtype("datetime64[s]")


def test_window_names_and_counts_per_row() -> None:
    assert (window_name(12), window_name(None)) == ("12m", "all")
    rows = np.array([0, 2, 2], dtype=np.int64)
    assert list(row_counts(rows, 4)) == [1, 0, 2, 0]
    assert list(row_counts(rows, 4, np.array([1.5, 2.0, 3.0]))) == [1.5, 0, 5.0, 0]
    assert list(row_values(pd.Series([7.0], index=[1]), 3)) == [0, 7.0, 0]
    t = days("2025-06-30", "2025-06-30", "2025-06-30")
    since = days_since_latest(rows, days("2025-06-20", "2025-06-01", "2025-06-29"), t, 3)
    assert since[0] == 10 and np.isnan(since[1]) and since[2] == 1


def test_records_pair_with_the_rows_of_their_enterprise() -> None:
    data = platform(
        [enterprise("A"), enterprise("B")],
        persons=["P1"],
        records=[
            record("a1", "A", "administrative_penalty", "2025-01-01"),
            record("a2", "A", "administrative_penalty", "2026-01-01"),
            record("p1", "P1", "dishonest_debtor", "2025-01-01"),
        ],
    )
    t = days("2025-06-30", "2025-06-30", "2024-06-30")
    pairs, row, on = enterprise_records(data, [USCC["A"], USCC["B"], USCC["A"]], t)
    assert sorted(zip(row.tolist(), pairs["record_id"], strict=True)) == [
        (0, "a1"),
        (0, "a2"),
        (2, "a1"),
        (2, "a2"),
    ]  # every record of the enterprise, whenever decided; persons' records never
    assert (on == t[row]).all()
