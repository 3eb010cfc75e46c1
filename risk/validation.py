"""Parameter checks shared by every frozen config (``risk``, ``features``, ``models``).

Every check raises ``TypeError`` for a wrong type and ``ValueError`` for a bad value, with the
message ``"<field> must be <rule>; got <value>"`` (STYLE.md §3), and returns the value in its
canonical type (``int``, ``float``, ``bool``, ``tuple``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

__all__ = ["check_bool", "check_choice", "check_int", "check_real", "check_str"]


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool.

    Raises
    ------
    TypeError
        If ``value`` is not a bool (integers are refused: ``1`` is not ``True`` here).
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    return value


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` in ``[low, high]`` (either bound may be open).

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools are refused).
    ValueError
        If it is outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be an int in {_interval(low, high)}; got {value!r}")
    return number


def check_real(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within the bounds.

    Parameters
    ----------
    name
        The field name used in messages.
    value
        The value to check.
    low, high
        Bounds (``None``: unbounded).
    open_low, open_high
        Whether the bound itself is excluded.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (bools are refused).
    ValueError
        If it is not finite or outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite; got {value!r}")
    below = low is not None and (number <= low if open_low else number < low)
    above = high is not None and (number >= high if open_high else number > high)
    if below or above:
        interval = _interval(low, high, open_low=open_low, open_high=open_high)
        raise ValueError(f"{name} must be in {interval}; got {value!r}")
    return number


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (strings).

    Raises
    ------
    TypeError
        If ``value`` is not a string.
    ValueError
        If it is not one of ``choices``.
    """
    options = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str; got {type(value).__name__}")
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def check_str(name: str, value: Any) -> str:
    """Return ``value`` if it is a non-blank string.

    Raises
    ------
    TypeError
        If ``value`` is not a string.
    ValueError
        If it is empty or blank.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str; got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")
    return value


def _interval(
    low: float | None, high: float | None, *, open_low: bool = False, open_high: bool = False
) -> str:
    left = "(-inf" if low is None else f"{'(' if open_low else '['}{low:g}"
    right = "inf)" if high is None else f"{high:g}{')' if open_high else ']'}"
    return f"{left}, {right}"
