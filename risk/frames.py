"""Checks on in-memory frames handed to the risk layer (the one implementation)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from risk.exceptions import InvalidFrameError

__all__ = ["require_frame"]


def require_frame(frame: Any, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """Return ``frame`` if it is a DataFrame with ``columns``.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame.
    InvalidFrameError
        Naming the missing columns: ``"<name> must have column(s) …; got …"``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidFrameError(
            f"{name} must have column(s) {', '.join(missing)}; got {', '.join(map(str, frame))}"
        )
    return frame
