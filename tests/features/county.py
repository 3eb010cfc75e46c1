"""Small synthetic counties shared by the feature and model tests (cached per process)."""

from __future__ import annotations

from functools import lru_cache

from features.data import PlatformData
from risk.synth import County, SynthConfig, generate_county

AS_OF = "2026-06-30"
"""The synthetic counties' end date: no event lies after it."""


@lru_cache(maxsize=2)
def small_county(enterprises: int = 2500, seed: int = 7) -> County:
    """A county with many loans (loan_rate 0.8) so that models have bads to learn from."""
    return generate_county(SynthConfig(enterprises=enterprises, seed=seed, loan_rate=0.8))


@lru_cache(maxsize=2)
def small_platform(enterprises: int = 2500, seed: int = 7) -> PlatformData:
    """:func:`small_county` as :class:`PlatformData`."""
    return PlatformData.from_frames(small_county(enterprises, seed).tables)
