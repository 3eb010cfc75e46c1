"""Loan outcomes: bad within the horizon, good when the horizon is over, else unlabelled."""

from __future__ import annotations

import pandas as pd
import pytest

from features.outcomes import loan_outcomes
from features.precredit import first_bad_day
from risk.exceptions import InvalidFrameError

AS_OF = "2025-06-30"


def loans() -> pd.DataFrame:
    rows = [
        ("bad_in_window", "2024-01-01", "overdue_90", "2024-08-01"),
        ("default_in_window", "2024-01-01", "default", "2024-12-31"),
        ("bad_after_window", "2023-01-01", "default", "2024-03-01"),
        ("repaid", "2024-01-01", "performing", "2025-01-01"),
        ("late_30", "2024-02-01", "overdue_30", "2025-06-30"),
        ("young_good", "2025-01-01", "performing", "2025-06-30"),
        ("young_bad", "2025-01-01", "overdue_90", "2025-05-01"),
        ("bad_known_later", "2025-01-01", "overdue_90", "2025-09-01"),
        ("applied_later", "2025-07-01", "performing", "2025-07-02"),
    ]
    return pd.DataFrame(rows, columns=["loan_id", "applied", "status", "status_date"]).assign(
        applied=lambda f: pd.to_datetime(f["applied"]),
        status_date=lambda f: pd.to_datetime(f["status_date"]),
    )


def test_labels_by_hand() -> None:
    frame = loans()
    out = loan_outcomes(frame, AS_OF)
    labels = dict(zip(frame.loc[out.index, "loan_id"], out["label"], strict=True))
    assert labels["bad_in_window"] == 1 and labels["default_in_window"] == 1
    assert labels["bad_after_window"] == 0  # went bad 14 months in
    assert labels["repaid"] == 0 and labels["late_30"] == 0
    assert pd.isna(labels["young_good"])  # no outcome yet: excluded from training
    assert labels["young_bad"] == 1
    assert pd.isna(labels["bad_known_later"])  # recorded after the as-of date
    assert "applied_later" not in labels
    matured = dict(zip(frame.loc[out.index, "loan_id"], out["matured"], strict=True))
    assert matured["bad_in_window"] and not matured["young_bad"]
    assert out.loc[0, "horizon_end"] == pd.Timestamp("2025-01-01")


def test_a_shorter_horizon_and_validation() -> None:
    out = loan_outcomes(loans(), AS_OF, horizon_months=6)
    labels = dict(zip(loans().loc[out.index, "loan_id"], out["label"], strict=True))
    assert labels["default_in_window"] == 0  # 12 months in: outside a 6-month horizon
    assert pd.isna(labels["young_good"])  # its 6 months end on 2025-07-01, one day after
    assert labels["young_bad"] == 1
    with pytest.raises(ValueError, match=r"horizon_months must be an int in \[1, 60\]; got 0"):
        loan_outcomes(loans(), AS_OF, horizon_months=0)
    with pytest.raises(InvalidFrameError, match="loans must have column"):
        loan_outcomes(loans().drop(columns="status"), AS_OF)


def test_two_banks_loans_under_one_loan_id_are_labelled_apart() -> None:
    """A loan is (bank, loan_id): the same id at two banks is two loans, two labels."""
    frame = pd.DataFrame(
        {
            "bank": ["甲银行", "乙银行"],
            "loan_id": ["L-1", "L-1"],
            "applied": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            "status": ["default", "performing"],
            "status_date": pd.to_datetime(["2024-06-01", "2025-01-01"]),
        }
    )
    out = loan_outcomes(frame, AS_OF)
    assert out["label"].tolist() == [1.0, 0.0]


def test_the_label_uses_the_first_bad_day_of_the_status_history() -> None:
    """90+ overdue in month 11, default in month 14: bad at 12 months. Cured: still bad."""
    frame = pd.DataFrame(
        {
            "loan_id": ["overdue_then_default", "cured", "default_only_late", "no_history"],
            "applied": pd.to_datetime(["2024-01-01"] * 4),
            "status": ["default", "performing", "default", "default"],
            "status_date": pd.to_datetime(["2025-03-01", "2025-05-01", "2025-03-01", "2024-06-01"]),
            "overdue_90_date": pd.to_datetime(["2024-12-01", "2024-07-01", None, None]),
            "default_date": pd.to_datetime(["2025-03-01", None, "2025-03-01", None]),
        }
    )
    out = loan_outcomes(frame, AS_OF)
    assert out["label"].tolist() == [1.0, 1.0, 0.0, 1.0]
    # Known on T only: the overdue of 2024-12-01 is not known on 2024-11-30.
    early = loan_outcomes(frame, "2024-11-30")
    assert early["label"].isna().tolist() == [True, False, True, False]


def test_first_bad_day_takes_the_earliest_known_date() -> None:
    frame = pd.DataFrame(
        {
            "status": ["default", "performing", "overdue_30", "overdue_90"],
            "status_date": pd.to_datetime(["2025-03-01", "2025-05-01", "2025-05-01", "2025-02-01"]),
            "overdue_90_date": pd.to_datetime(["2025-04-01", None, None, None]),
            "default_date": pd.to_datetime(["2025-03-01", "2025-01-01", None, None]),
        }
    )
    days = first_bad_day(frame).astype("datetime64[D]").astype(str).tolist()
    assert days == ["2025-03-01", "2025-01-01", "NaT", "2025-02-01"]
