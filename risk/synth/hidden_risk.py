"""Stages 3–5: the hidden risk ``z`` behind every record and loan outcome, closures that lean on
it, and 换壳 shells re-founded behind a dishonest enterprise's legal rep.
"""

from __future__ import annotations

import math

import numpy as np

from risk.synth.days import top_k, uniform_days
from risk.synth.state import CountyState
from risk.synth.vocabulary import BRANCH, COMPANY, IB, NAT

__all__ = [
    "HiddenRiskStage",
]


class HiddenRiskStage(CountyState):
    """Draws the latent risk, closures and shells (stages 3–5)."""

    def latent_and_closure(self) -> None:
        rng, cfg = self.rng(3), self.cfg
        rho = cfg.controller_risk_share
        u = self.pool.latent
        eps = rng.standard_normal(self.n)
        self.eps = eps
        self.z = math.sqrt(1 - rho) * eps + math.sqrt(rho) * u[self.founder]
        others = np.flatnonzero(self.kind != BRANCH)
        self._close(rng, others, np.full(len(others), self.end))
        # Branches: founded while the parent is alive, risk inherited from the parent.
        branches = np.flatnonzero(self.kind == BRANCH)
        parent = self.parent[branches]
        parent_end = np.where(self.closed[parent] == NAT, self.end, self.closed[parent])
        self.founded[branches] = np.minimum(
            uniform_days(rng, self.founded[parent] + 1, parent_end), self.end
        )
        self.z[branches] = math.sqrt(1 - rho) * eps[branches] + math.sqrt(rho) * self.z[parent]
        self._close(rng, branches, parent_end)
        forced = (self.closed[parent] != NAT) & (
            (self.closed[branches] == NAT) | (self.closed[branches] > self.closed[parent])
        )
        rows = branches[forced]
        self.closed[rows] = np.maximum(self.closed[parent[forced]], self.founded[rows])
        self.status[rows] = 1

    def _close(self, rng: np.random.Generator, rows: np.ndarray, limit: np.ndarray) -> None:
        if not len(rows):
            return
        factor = np.array([0.9, 1.4, 0.8, 0.8, 0.5])[self.kind[rows]] * np.exp(0.5 * self.z[rows])
        p = np.clip(self.cfg.closed_rate * factor / factor.mean(), 0, 0.95)
        span = limit - self.founded[rows]
        closing = (rng.random(len(rows)) < p) & (span > 60)
        when = uniform_days(rng, self.founded[rows] + 30, limit - 1)
        self.closed[rows[closing]] = when[closing]
        tilt = np.exp(0.5 * self.z[rows])
        revoked = rng.random(len(rows)) < np.clip(self.cfg.revoked_share * tilt / tilt.mean(), 0, 1)
        self.status[rows[closing]] = np.where(revoked[closing], 2, 1)

    def shells(self) -> None:
        rng, cfg = self.rng(4), self.cfg
        k = round(cfg.shell_share * self.n)
        self.source = np.empty(0, dtype=np.int64)
        self.source_day = np.empty(0, dtype=np.int64)
        self.shell_major = np.full(self.n, -1, dtype=np.int64)
        if k == 0:
            return
        is_parent = np.zeros(self.n, dtype=bool)
        is_parent[self.parent[self.parent >= 0]] = True
        low = np.maximum(self.t0, self.founded + 365)
        high = np.minimum(self.alive_end(), self.end) - 150
        eligible = np.flatnonzero(
            np.isin(self.kind, [COMPANY, IB]) & ~is_parent & (high - low > 30)
        )
        source = eligible[top_k(rng, 1.5 * self.z[eligible], k)]
        candidates = np.flatnonzero((self.kind == COMPANY) & ~is_parent)
        candidates = np.setdiff1d(candidates, source)
        k = min(len(source), len(candidates))
        source = rng.permutation(source)[:k]
        shell = rng.choice(candidates, size=k, replace=False)
        day = uniform_days(rng, low[source], high[source])
        self.founded[shell] = np.minimum(
            day + 30 + np.floor(rng.random(k) * np.minimum(510, self.end - day - 30)), self.end
        ).astype(np.int64)
        self.closed[shell] = NAT
        self.status[shell] = 0
        as_rep = rng.random(k) < 0.6
        self.founder[shell[as_rep]] = self.founder[source[as_rep]]
        self.shell_major[shell[~as_rep]] = self.founder[source[~as_rep]]
        # The shell's controller is the dishonest company's legal rep either way.
        rho = cfg.controller_risk_share
        controller_u = self.pool.latent[self.founder[source]]
        recomputed = math.sqrt(1 - rho) * self.eps[shell] + math.sqrt(rho) * controller_u
        self.z[shell] = np.maximum(recomputed, 1.0 + 0.5 * np.abs(rng.standard_normal(k)))
        self.is_shell[shell] = True
        # Half the sources are abandoned after the dishonest-debtor listing.
        closing = rng.random(k) < 0.5
        when = day + 60 + np.floor(rng.random(k) * 340).astype(np.int64)
        closing &= (when <= self.end) & (
            (self.closed[source] == NAT) | (self.closed[source] > when)
        )
        self.closed[source[closing]] = when[closing]
        self.status[source[closing]] = np.where(rng.random(int(closing.sum())) < 0.5, 2, 1)
        self.source, self.source_day = source, day
