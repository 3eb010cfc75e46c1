"""Out-of-time splits: pre-credit slices by date, the warning's cutoffs."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from models.exceptions import TrainingDataError
from models.splits import cutoff_before, time_split, warning_split


def test_time_split_by_hand() -> None:
    dates = pd.to_datetime(
        ["2024-01-01"] * 4 + ["2024-02-01"] * 2 + ["2024-03-01", "2024-04-01"] + ["2024-05-01"] * 2
    )
    # Train should end after the 5th row, inside the 2024-02-01 pair: the pair moves on
    # together (a date never straddles two slices).
    labels = time_split(dates, 0.2, 0.1, 0.2)
    assert labels.tolist() == ["train"] * 4 + ["valid"] * 3 + ["calibration"] + ["test"] * 2
    labels = time_split(dates, 0.3, 0.0, 0.3)  # no calibration slice
    assert labels.tolist() == ["train"] * 4 + ["valid"] * 3 + ["test"] * 3


def test_split_is_quarterly_and_no_training_label_reaches_the_test_year() -> None:
    split = warning_split("2026-06-30")
    assert split.test == pd.Timestamp("2025-06-30")
    assert [c.date() for c in split.train] == [
        date(2023, 6, 30),
        date(2023, 9, 30),
        date(2023, 12, 31),
        date(2024, 3, 31),
        date(2024, 6, 30),
    ]
    assert all(split.label_end(c) <= split.test for c in split.train)
    assert split.label_end(split.test) == split.end
    frame = split.to_frame()
    assert list(frame["split"]) == ["train"] * 5 + ["test"]
    assert warning_split("2026-06-30", earliest="2024-01-01").train[0] == pd.Timestamp("2024-03-31")
    with pytest.raises(TrainingDataError, match="must allow a training cutoff"):
        warning_split("2026-06-30", earliest="2025-01-01")
    with pytest.raises(ValueError, match=r"step_months must be an int in \[1, 24\]; got 0"):
        warning_split("2026-06-30", step_months=0)


def test_cutoffs_stay_on_month_ends() -> None:
    assert cutoff_before(pd.Timestamp("2025-06-30"), 3) == pd.Timestamp("2025-03-31")
    assert cutoff_before(pd.Timestamp("2025-02-28"), -12) == pd.Timestamp("2026-02-28")
    assert cutoff_before(pd.Timestamp("2025-01-15"), -1) == pd.Timestamp("2025-02-15")
