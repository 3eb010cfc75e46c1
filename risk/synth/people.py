"""Persons: role slots filled by fresh persons or serial holders (:class:`PersonPool`), their
synthetic resident ID numbers, and the regions they come from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "PersonPool",
    "nearby_regions",
    "region_p",
    "resident_ids",
]


class PersonPool:
    """Fills role slots with fresh persons or, at ``share``, serial holders (heavy tail)."""

    def __init__(self, rng: np.random.Generator, n_serial: int, alpha: float, share: float) -> None:
        propensity = np.minimum(1.0 + rng.pareto(alpha, n_serial), 25.0)
        self._p = propensity / propensity.sum()
        self._share = share if n_serial else 0.0
        self._latent = [rng.standard_normal(n_serial)]
        self.size = n_serial

    def take(self, rng: np.random.Generator, k: int) -> np.ndarray:
        serial = rng.random(k) < self._share
        out = np.empty(k, dtype=np.int64)
        if serial.any():
            out[serial] = rng.choice(len(self._p), size=int(serial.sum()), p=self._p)
        out[~serial] = self.fresh(rng, int((~serial).sum()))
        return out

    def fresh(self, rng: np.random.Generator, k: int) -> np.ndarray:
        out = self.size + np.arange(k, dtype=np.int64)
        self.size += k
        self._latent.append(rng.standard_normal(k))
        return out

    @property
    def latent(self) -> np.ndarray:
        return np.concatenate(self._latent)


def resident_ids(
    rng: np.random.Generator, n: int, regions: Sequence[str], end_day: int
) -> list[str]:
    """``n`` distinct valid GB 11643 numbers (adults); they must never leave the generator."""
    prefix = np.array([[int(c) for c in r] for r in regions], dtype=np.int64)
    numbers = np.empty(0, dtype="<U18")
    while len(numbers) < n:
        k = n - len(numbers)
        region = prefix[rng.choice(len(regions), size=k, p=region_p(len(regions)))]
        age = np.clip(rng.normal(45, 10, k), 20, 75)
        born = (end_day - age * 365.25).astype(np.int64).astype("datetime64[D]")
        month = born.astype("datetime64[M]")
        year = month.astype("datetime64[Y]")
        ymd = (
            (year.astype(np.int64) + 1970) * 10_000
            + (month - year).astype(np.int64) * 100
            + (born - month).astype(np.int64)
            + 101
        )
        tail = ymd * 1000 + rng.integers(0, 1000, k)  # YYYYMMDD + sequence, 11 digits
        body = np.hstack([region, tail[:, None] // 10 ** np.arange(10, -1, -1) % 10])
        check = (body * _ID_WEIGHTS).sum(axis=1) % 11
        chars = np.hstack([_DIGITS[body], _ID_CHECK[check][:, None]])
        fresh = np.ascontiguousarray(chars).view("<U18").ravel()
        candidates = np.concatenate([numbers, fresh])
        _, first = np.unique(candidates, return_index=True)
        numbers = candidates[np.sort(first)]
    return [str(number) for number in numbers[:n]]


_DIGITS = np.array(list("0123456789"), dtype="<U1")

_ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)

_ID_CHECK = np.array(list("10X98765432"), dtype="<U1")


def region_p(k: int) -> np.ndarray:
    p = np.full(k, 0.3 / max(k - 1, 1))
    p[0] = 0.7 if k > 1 else 1.0
    return p / p.sum()


def nearby_regions(region: str) -> list[str]:
    """The county first, then a few codes of the same prefecture (GB/T 2260 digits 5–6)."""
    codes = [region]
    for k in (2, 3, 4, 21, 22, 23, 24, 25, 26, 81):
        code = f"{region[:4]}{k:02d}"
        if code != region and len(codes) < 7:
            codes.append(code)
    return codes
