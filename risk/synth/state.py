"""The builder's state: the county's arrays, shared by the stages of the generator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk.synth.config import SynthConfig
from risk.synth.days import add_months, day_number
from risk.synth.people import PersonPool, nearby_regions
from risk.synth.vocabulary import NAT, PROVINCE_ABBR

__all__ = [
    "CountyState",
]


class CountyState:
    """The county's integer-coded arrays while the stages of :func:`generate_county` fill them.

    Each stage (a mixin of :class:`~risk.synth.generate.Builder`) reads what earlier stages set
    and sets its own attributes, declared here in stage order; every stage draws from its own
    random stream (:meth:`rng`), so one stage's draws never shift another's.
    """

    cfg: SynthConfig
    end: int
    t0: int
    regions: list[str]
    county_short: str
    county_stem: str
    province: str
    # 1. enterprises
    n: int
    kind: np.ndarray
    industry: np.ndarray
    capital: np.ndarray
    log_size: np.ndarray
    founded: np.ndarray
    region: np.ndarray
    trade: np.ndarray
    name_pick: np.ndarray
    closed: np.ndarray
    status: np.ndarray
    is_shell: np.ndarray
    is_group_root: np.ndarray
    parent: np.ndarray
    # 2.–5. persons, latent risk, closure, shells
    pool: PersonPool
    founder: np.ndarray
    eps: np.ndarray
    z: np.ndarray
    source: np.ndarray
    source_day: np.ndarray
    shell_major: np.ndarray
    # 6.–7. ownership and roles
    corporate: pd.DataFrame
    change_day: np.ndarray
    new_rep: np.ndarray
    roles_idx: pd.DataFrame
    # 8.–10. records, financials, loans
    case_day: np.ndarray
    records_idx: pd.DataFrame
    financials_idx: pd.DataFrame
    loans_idx: pd.DataFrame

    def __init__(self, config: SynthConfig) -> None:
        self.cfg = config
        self.end = day_number(config.end)
        self.t0 = int(add_months(np.array([self.end]), -12 * config.years)[0])
        self.regions = nearby_regions(config.region)
        self.county_short = config.county_name.strip()[0]
        # 清源县 → 清源 (as in 清源农商银行); two-character names keep their suffix.
        name = config.county_name.strip()
        self.county_stem = name[:-1] if len(name) > 2 and name[-1] in "县区市旗" else name
        self.province = PROVINCE_ABBR[int(config.region[:2])]

    def rng(self, stage: int) -> np.random.Generator:
        sequence = np.random.SeedSequence(self.cfg.seed, spawn_key=(stage,))
        return np.random.Generator(np.random.PCG64(sequence))

    def alive_end(self) -> np.ndarray:
        return np.where(self.closed == NAT, self.end, self.closed)

    def legal_rep_at(self, ent: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The person who is the legal rep of ``ent`` on ``day`` (at most one change)."""
        changed = (self.change_day[ent] != NAT) & (day >= self.change_day[ent])
        return np.where(changed, self.new_rep[ent], self.founder[ent])
