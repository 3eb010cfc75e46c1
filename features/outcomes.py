"""Loan outcomes as training labels: bad within the horizon, known as of a date.

The loans table (DESIGN.md §2) holds each funded loan's *latest* status and the date it was
recorded (``status_date``); a loan is (bank, loan_id), so labels follow the rows, never a
loan id alone. The pre-credit label of a loan applied on ``a``, with a horizon of
H months (12 by default) and data as of T:

``bad`` (label 1)
    ``status`` is ``overdue_90`` or ``default`` and ``status_date ≤ min(a + H months, T)``:
    the loan was recorded 90+ days overdue or in default within the horizon, and we knew it
    by T.
``good`` (label 0)
    The horizon is complete (``a + H months ≤ T``) and the loan is not bad as above: it
    performed, was repaid, was at most 30 days overdue, or went bad only after the horizon.
unlabelled (NaN)
    The horizon is not complete and the loan is not (yet) bad: a loan younger than H months
    whose status is still good has no outcome yet, and is excluded from training.

Because only the latest status is kept, a loan that went 90+ days overdue inside the horizon
but was recorded in ``default`` after it counts as good: the contract has no "first bad date"
column. A status recorded after T is not known on T; with a later T the same loan may change
label, which is what retraining on all outcomes to date (实际授信放款结果) means.

Outcomes exist only for funded loans (selective labels): applications a bank declined never
reach this table, so any model trained on it learns the risk of the *approved* population.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.precredit import BAD_LOAN_STATUSES
from risk.dates import as_of_timestamp
from risk.frames import require_frame
from risk.validation import check_int

__all__ = ["HORIZON_MONTHS", "loan_outcomes"]

HORIZON_MONTHS = 12
"""Default performance window: bad within 12 months of the application."""


def loan_outcomes(
    loans: pd.DataFrame, as_of: date | pd.Timestamp | str, horizon_months: int = HORIZON_MONTHS
) -> pd.DataFrame:
    """Label each loan applied on or before ``as_of`` (see the module docstring).

    Parameters
    ----------
    loans
        Contract loans (``applied``, ``status``, ``status_date``).
    as_of
        The date the outcomes are known on.
    horizon_months
        The performance window H in months, in [1, 60].

    Returns
    -------
    pandas.DataFrame
        Same index as ``loans``, rows with ``applied ≤ as_of`` only: ``label`` (1.0 bad,
        0.0 good, NaN unlabelled), ``horizon_end`` (``applied + H months``) and ``matured``
        (the horizon is complete on ``as_of``).

    Raises
    ------
    InvalidFrameError
        If a column is missing.
    """
    horizon = check_int("horizon_months", horizon_months, 1, 60)
    require_frame(loans, "loans", ("applied", "status", "status_date"))
    t = as_of_timestamp(as_of).to_datetime64()
    applied = pd.to_datetime(loans["applied"]).astype("datetime64[s]")
    rows = loans.loc[(applied <= t).to_numpy()]
    applied = applied.loc[rows.index]
    horizon_end = (applied + pd.DateOffset(months=horizon)).astype("datetime64[s]")
    status_date = pd.to_datetime(rows["status_date"]).astype("datetime64[s]")
    known_by = np.minimum(horizon_end.to_numpy(), t)
    is_bad = rows["status"].isin([s.value for s in BAD_LOAN_STATUSES]).to_numpy() & (
        status_date.to_numpy() <= known_by
    )
    matured = horizon_end.to_numpy() <= t
    label = np.where(is_bad, 1.0, np.where(matured, 0.0, np.nan))
    return pd.DataFrame(
        {"label": label, "horizon_end": horizon_end.to_numpy(), "matured": matured},
        index=rows.index,
    )
