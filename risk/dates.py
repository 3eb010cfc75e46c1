"""Dates of the risk layer: the as-of contract, the present-on rule, month arithmetic.

Every routine that takes a date "as of" which it computes reads it with
:func:`as_of_timestamp`: a calendar day, given as a :class:`datetime.date` (a
:class:`datetime.datetime` or :class:`pandas.Timestamp` is cut to its day), a
:class:`numpy.datetime64` or an ISO string; never a timezone-aware time, whose day depends on
where it is read. A dated role or edge is present on t when ``start ≤ t < end``
(:func:`present_on`, :func:`roles_present_on`). Month windows are named by their direction
(:func:`months_before`, :func:`months_after`), calendar months as :class:`pandas.DateOffset`
counts them: the day of the month is kept, clipped to the month's end.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk.frames import require_frame

__all__ = [
    "as_of_timestamp",
    "months_after",
    "months_before",
    "present_on",
    "roles_present_on",
]

_ROLE_COLUMNS = ("uscc", "holder_type", "holder_id", "role", "start")


def as_of_timestamp(as_of: date | pd.Timestamp | str, name: str = "as_of") -> pd.Timestamp:
    """Normalise an as-of date to a midnight :class:`pandas.Timestamp` (unit seconds).

    Parameters
    ----------
    as_of
        A date, datetime, timestamp, ``numpy.datetime64`` or ISO string; a time of day is
        dropped.
    name
        The argument's name in messages.

    Raises
    ------
    TypeError
        If ``as_of`` is none of those types.
    ValueError
        If it cannot be read as a date, or carries a timezone.
    """
    if not isinstance(as_of, date | str | np.datetime64):  # datetime, Timestamp are dates
        raise TypeError(f"{name} must be a date; got {type(as_of).__name__}")
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a date like 2024-05-31; got {as_of!r}") from None
    if pd.isna(stamp):
        raise ValueError(f"{name} must be a date like 2024-05-31; got {as_of!r}")
    if stamp.tzinfo is not None:
        raise ValueError(f"{name} must be a naive (local) date; got {as_of!r}")
    return stamp.normalize().as_unit("s")


def present_on(start: npt.ArrayLike, end: npt.ArrayLike, on: pd.Timestamp) -> npt.NDArray[np.bool_]:
    """The one rule for dated roles and edges: present on t when ``start ≤ t < end``.

    A missing end means open-ended; a missing start means undated (present), which only
    arrays built without dates use — the contract requires a start on every role.
    """
    t = pd.Timestamp(on).to_datetime64()
    start_arr = np.asarray(start, dtype="datetime64[s]")
    end_arr = np.asarray(end, dtype="datetime64[s]")
    started = np.isnat(start_arr) | (start_arr <= t)
    return np.asarray(started & (np.isnat(end_arr) | (t < end_arr)), dtype=bool)


def roles_present_on(roles: pd.DataFrame, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """Return the roles present on ``as_of`` by :func:`present_on` (missing end = open).

    Parameters
    ----------
    roles
        Frame with the contract columns of ``roles`` (``end`` and ``share`` optional).
    as_of
        The snapshot date (:func:`as_of_timestamp`).

    Returns
    -------
    DataFrame
        The present rows, re-indexed from 0. Rows without a start are never present.

    Raises
    ------
    TypeError
        If ``roles`` is not a DataFrame or ``as_of`` not a date.
    InvalidFrameError
        If a required column is missing.
    """
    require_frame(roles, "roles", _ROLE_COLUMNS)
    start = pd.to_datetime(roles["start"]).to_numpy(dtype="datetime64[s]")
    end = (
        pd.to_datetime(roles["end"]).to_numpy(dtype="datetime64[s]")
        if "end" in roles
        else np.full(len(roles), np.datetime64("NaT"), dtype="datetime64[s]")
    )
    present = present_on(start, end, as_of_timestamp(as_of))
    return roles.loc[present].reset_index(drop=True)


def months_before(days: npt.ArrayLike, months: int) -> npt.NDArray[np.datetime64]:
    """Each date moved ``months`` calendar months back, as ``datetime64[s]`` (NaT stays NaT).

    ``months_before(2024-03-31, 1)`` is 2024-02-29: the day is clipped to the month's end.
    """
    return _add_months(days, -months)


def months_after(days: npt.ArrayLike, months: int) -> npt.NDArray[np.datetime64]:
    """Each date moved ``months`` calendar months forward, as ``datetime64[s]``."""
    return _add_months(days, months)


def _add_months(days: npt.ArrayLike, months: int) -> npt.NDArray[np.datetime64]:
    shifted = pd.DatetimeIndex(np.asarray(days, dtype="datetime64[s]")) + pd.DateOffset(
        months=months
    )
    return np.asarray(shifted.to_numpy(), dtype="datetime64[s]")
