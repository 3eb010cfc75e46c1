"""Stages 1–2: enterprises (kind, age, industry, capital, region, branches) and the persons who
found and control them.
"""

from __future__ import annotations

import numpy as np

from risk.synth.people import PersonPool
from risk.synth.state import CountyState
from risk.synth.vocabulary import BRANCH, COMPANY, INDUSTRIES, INDUSTRY_MIX, KINDS, NAT, TRADE

__all__ = [
    "EnterpriseStage",
]


class EnterpriseStage(CountyState):
    """Draws the enterprises and their founders (stages 1–2)."""

    def enterprises(self) -> None:
        rng, cfg = self.rng(1), self.cfg
        n = cfg.enterprises
        kind = rng.choice(len(KINDS), size=n, p=np.array(cfg.kind_mix) / sum(cfg.kind_mix))
        if not (kind == COMPANY).any():
            kind[kind == BRANCH] = COMPANY
            kind[0] = COMPANY
        mean_age = np.array([7.0, 4.5, 5.0, 4.0, 9.0])[kind]
        age = np.minimum(rng.exponential(mean_age), 35.0)
        self.founded = self.end - np.round(age * 365.25).astype(np.int64)
        industry = np.empty(n, dtype=np.int64)
        for k in range(len(KINDS)):
            rows = kind == k
            industry[rows] = rng.choice(len(INDUSTRIES), size=int(rows.sum()), p=INDUSTRY_MIX[k])
        industry[rng.random(n) < 0.005] = len(INDUSTRIES)  # missing: the last row of matrices
        log_cap_mean = np.log(np.array([100.0, 5.0, np.nan, 300.0, 10.0]))[kind]
        log_cap_sd = np.array([1.2, 1.0, 1.0, 1.3, 0.8])[kind]
        capital = np.exp(rng.normal(log_cap_mean, log_cap_sd))
        magnitude = 10.0 ** (np.floor(np.log10(np.where(np.isnan(capital), 1, capital))) - 1)
        capital = np.round(capital / magnitude) * magnitude
        capital[rng.random(n) < 0.02] = np.nan
        self.n, self.kind, self.industry, self.capital = n, kind, industry, capital
        # Size on a log scale, with missing capital at the kind's median: drives financials.
        self.log_size = np.where(np.isnan(capital), log_cap_mean, np.log(np.maximum(capital, 0.1)))
        nearby = rng.integers(1, max(len(self.regions), 2), n) % len(self.regions)
        self.region = np.where(rng.random(n) < 0.85, 0, nearby)
        self.trade = rng.integers(0, len(TRADE), size=(n, 2))
        self.name_pick = rng.integers(0, 1_000_000, size=(n, 3))
        self.closed = np.full(n, NAT, dtype=np.int64)
        self.status = np.zeros(n, dtype=np.int64)
        self.is_shell = np.zeros(n, dtype=bool)
        self.is_group_root = np.zeros(n, dtype=bool)
        companies = np.flatnonzero(kind == COMPANY)
        branches = np.flatnonzero(kind == BRANCH)
        weight = np.exp(0.5 * np.nan_to_num(self.log_size[companies], nan=np.log(100.0)))
        self.parent = np.full(n, -1, dtype=np.int64)
        self.parent[branches] = rng.choice(companies, size=len(branches), p=weight / weight.sum())
        self.industry[branches] = industry[
            self.parent[branches]
        ]  # a branch does its parent's trade

    def controllers(self) -> None:
        rng, cfg = self.rng(2), self.cfg
        expected_serial = cfg.serial_holder_share * 2.3 * self.n
        n_serial = max(3, round(expected_serial / 5)) if cfg.serial_holder_share > 0 else 0
        self.pool = PersonPool(rng, n_serial, cfg.serial_degree_alpha, cfg.serial_holder_share)
        self.founder = self.pool.take(rng, self.n)
