"""The edge coding: integer role codes, the direction bit of an edge contribution and the
Chinese label of a role with its share.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk.contract import ROLE_LABELS, Role

__all__ = [
    "ROLE_CODES",
    "SHAREHOLDER",
    "UP",
    "IntArray",
    "check_shares",
    "percent",
    "role_codes",
    "role_text",
]

ROLE_CODES: tuple[Role, ...] = tuple(Role)
"""Integer role codes: ``ROLE_CODES[code]`` is the :class:`~risk.contract.Role`."""

UP = 4  # contrib_code = role code + UP when the influence runs enterprise → holder
SHAREHOLDER = ROLE_CODES.index(Role.shareholder)
IntArray = npt.NDArray[np.integer[Any]]


def role_text(role: Role | str, share: float | None = None) -> str:
    """Chinese label of a role, with the share for shareholders (``股东 60%``)."""
    label = ROLE_LABELS[Role(role)]
    if Role(role) == Role.shareholder and share is not None and not np.isnan(share):
        return f"{label} {percent(share)}"
    return label


def percent(share: float) -> str:
    return f"{share * 100:.4g}%"


def role_codes(role: npt.ArrayLike, m: int) -> npt.NDArray[np.int8]:
    values = np.asarray(role)
    if values.shape != (m,):
        raise ValueError(f"role must have one value per edge ({m}); got {values.shape}")
    if values.dtype.kind in "iu":
        if m and (values.min() < 0 or values.max() >= len(ROLE_CODES)):
            raise ValueError(
                f"role codes must be in [0, {len(ROLE_CODES)}); got {values.min()}..{values.max()}"
            )
        return values.astype(np.int8)
    lookup = {r.value: code for code, r in enumerate(ROLE_CODES)}
    codes = pd.Series(values, dtype=object).map(lookup)
    if codes.isna().any():
        bad = values[codes.isna().to_numpy()][0]
        raise ValueError(f"role must be one of {', '.join(lookup)}; got {bad!r}")
    return codes.to_numpy(dtype=np.int8)


def check_shares(shares: npt.NDArray[np.float64], codes: npt.NDArray[np.int8]) -> None:
    held = shares[codes == SHAREHOLDER]
    bad = ~np.isnan(held) & ((held < 0) | (held > 1))
    if bad.any():
        raise ValueError(f"share must be in [0, 1] for shareholders; got {float(held[bad][0])!r}")
