"""risk.dates: the as-of contract, the present-on rule and month arithmetic by direction."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from risk.dates import as_of_timestamp, months_after, months_before, present_on, roles_present_on
from risk.exceptions import InvalidFrameError, RiskError

AS_OF = "2024-06-30"


def roles(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    """Legal-rep roles of enterprise A: (holder, start, end)."""
    return pd.DataFrame(
        {
            "uscc": "A",
            "holder_type": "person",
            "holder_id": [h for h, _, _ in rows],
            "role": "legal_rep",
            "start": pd.to_datetime([s for _, s, _ in rows]).astype("datetime64[s]"),
            "end": pd.to_datetime([e for _, _, e in rows]).astype("datetime64[s]"),
        }
    )


# --------------------------------------------------------------------------- as of


@pytest.mark.parametrize(
    "value",
    [
        date(2025, 6, 30),
        datetime(2025, 6, 30, 13, 45),
        pd.Timestamp("2025-06-30 13:45"),
        np.datetime64("2025-06-30T08:00"),
        "2025-06-30",
    ],
)
def test_as_of_is_the_calendar_day_at_midnight(value: object) -> None:
    stamp = as_of_timestamp(value)  # type: ignore[arg-type]
    assert stamp == pd.Timestamp("2025-06-30") and stamp.unit == "s"


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (20250630, TypeError, "as_of must be a date; got int"),
        (None, TypeError, "as_of must be a date; got NoneType"),
        ("30/06/2025 nonsense", ValueError, "as_of must be a date like 2024-05-31; got '30/06"),
        ("NaT", ValueError, "as_of must be a date like"),
        (datetime(2025, 6, 30, tzinfo=UTC), ValueError, r"as_of must be a naive \(local\) date"),
    ],
)
def test_as_of_refusals(value: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        as_of_timestamp(value)  # type: ignore[arg-type]


def test_as_of_names_the_argument() -> None:
    with pytest.raises(TypeError, match="end must be a date; got list"):
        as_of_timestamp([], "end")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- present on t


def test_present_on_is_start_inclusive_end_exclusive() -> None:
    start = np.array(["2024-06-30", "2020-01-01", "2024-07-01", "2020-01-01", "NaT"], "M8[s]")
    end = np.array(["NaT", "2024-06-30", "NaT", "2024-07-01", "NaT"], "M8[s]")
    present = present_on(start, end, pd.Timestamp(AS_OF))
    assert present.tolist() == [True, False, False, True, True]


def test_roles_present_on_uses_start_inclusive_end_exclusive() -> None:
    frame = roles(
        ("P1", "2024-06-30", None),  # starts on t: present
        ("P2", "2020-01-01", "2024-06-30"),  # ends on t: gone
        ("P3", "2024-07-01", None),  # future
        ("P4", "2020-01-01", "2024-07-01"),  # open until after t
    )
    present = roles_present_on(frame, AS_OF)
    assert sorted(present["holder_id"]) == ["P1", "P4"]
    assert present.index.tolist() == [0, 1]
    assert roles_present_on(frame.drop(columns="end"), AS_OF)["holder_id"].tolist() == [
        "P1",
        "P2",
        "P4",
    ]


def test_roles_present_on_validates_input() -> None:
    with pytest.raises(TypeError, match="roles must be a pandas DataFrame"):
        roles_present_on([], AS_OF)  # type: ignore[arg-type]
    with pytest.raises(InvalidFrameError, match="roles must have column"):
        roles_present_on(pd.DataFrame({"uscc": []}), AS_OF)
    frame = roles(("P1", "2020-01-01", None))
    with pytest.raises(TypeError, match="as_of must be a date"):
        roles_present_on(frame, 20240630)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="as_of must be a date like"):
        roles_present_on(frame, "30/06/2024 nonsense")
    assert issubclass(InvalidFrameError, RiskError)


# --------------------------------------------------------------------------- months


def test_months_are_calendar_months_clipped_to_the_month_end() -> None:
    days = np.array(["2024-03-31", "2024-05-15", "NaT"], dtype="datetime64[s]")
    back = months_before(days, 1)
    assert back.dtype == np.dtype("datetime64[s]")
    assert back[:2].tolist() == [datetime(2024, 2, 29), datetime(2024, 4, 15)]
    assert np.isnat(back[2])
    forward = months_after(days, 11)
    assert forward[:2].tolist() == [datetime(2025, 2, 28), datetime(2025, 4, 15)]


def test_months_before_and_after_are_opposite_directions() -> None:
    days = pd.date_range("2020-01-31", periods=40, freq="17D").to_numpy(dtype="datetime64[s]")
    for months in (1, 12, 24):
        expected = (pd.DatetimeIndex(days) - pd.DateOffset(months=months)).to_numpy()
        assert (months_before(days, months) == expected).all()
        assert (months_after(days, -months) == expected).all()
        assert (months_after(days, months) > days).all()
