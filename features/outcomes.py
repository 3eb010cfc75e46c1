"""Loan outcomes as training labels: bad within the horizon, known as of a date.

The loans table (DESIGN.md §2) holds each funded loan's latest status (``status``,
``status_date``) and its status history: the first date it was reported 90+ days overdue
(``overdue_90_date``) and the first date in default (``default_date``). A loan is
(bank, loan_id), so labels follow the rows, never a loan id alone. Its *first bad day* is the
earlier of the two (:func:`features.precredit.first_bad_day`). The pre-credit label of a loan
applied on ``a``, with a horizon of H months (12 by default) and data as of T:

``bad`` (label 1)
    ``first_bad_day ≤ min(a + H months, T)``: the loan was 90+ days overdue or in default
    within the horizon, and we knew it by T — even if it was cured or restructured since.
``good`` (label 0)
    The horizon is complete (``a + H months ≤ T``) and the loan is not bad as above: it
    performed, was repaid, was at most 30 days overdue, or went bad only after the horizon.
unlabelled (NaN)
    The horizon is not complete and the loan is not (yet) bad: a loan younger than H months
    whose status is still good has no outcome yet, and is excluded from training.

A loan 90+ days overdue in month 11 and in default in month 14 is bad at a 12-month horizon
(its first bad day is in month 11). A date recorded after T is not known on T; with a later T
the same loan may change label, which is what retraining on all outcomes to date
(实际授信放款结果) means.

Outcomes exist only for funded loans (selective labels): applications a bank declined never
reach this table, so any model trained on it learns the risk of the *approved* population.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.precredit import first_bad_day
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
        Contract loans (``applied``, ``status``, ``status_date`` and, when stored, the
        history ``overdue_90_date``, ``default_date``).
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
    first_bad = first_bad_day(rows)
    known_by = np.minimum(horizon_end.to_numpy(), t)
    is_bad = ~np.isnat(first_bad) & (first_bad <= known_by)
    matured = horizon_end.to_numpy() <= t
    label = np.where(is_bad, 1.0, np.where(matured, 0.0, np.nan))
    return pd.DataFrame(
        {"label": label, "horizon_end": horizon_end.to_numpy(), "matured": matured},
        index=rows.index,
    )
