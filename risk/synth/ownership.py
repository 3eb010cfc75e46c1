"""Stages 6–7: holding groups, minority stakes and cross-holdings, then every enterprise's roles
(legal reps and their changes, shareholders with normalised shares, executives).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from risk.synth.days import or_nat, uniform_days
from risk.synth.state import CountyState
from risk.synth.vocabulary import (
    BRANCH,
    BRANCH_OF,
    COMPANY,
    EXECUTIVE,
    LEGAL_REP,
    NAT,
    PARTNERSHIP,
    SHAREHOLDER,
    SOCIAL,
)

__all__ = [
    "OwnershipStage",
]


class OwnershipStage(CountyState):
    """Draws ownership and roles (stages 6–7)."""

    def ownership(self) -> None:
        """Corporate shareholders: holding groups, minority stakes, cross-holding cycles."""
        rng, cfg = self.rng(5), self.cfg
        companies = np.flatnonzero((self.kind == COMPANY) & ~self.is_shell)
        holders, helds, shares, starts = [], [], [], []
        group_parent = np.full(self.n, -1, dtype=np.int64)
        n_members = round(cfg.group_share * len(companies))
        if n_members >= 2:
            members = rng.choice(companies, size=n_members, replace=False)
            sizes = 1 + rng.geometric(1 / 3, size=n_members)
            sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n_members)) + 1]
            sizes[-1] -= sizes.sum() - n_members
            sizes = sizes[sizes > 0]
            group = np.repeat(np.arange(len(sizes)), sizes)
            members = members[np.lexsort((self.founded[members], group))]
            base = np.repeat(np.cumsum(sizes) - sizes, sizes)
            pos = np.arange(n_members) - base
            chain = rng.random(n_members) < 0.5
            parent_pos = np.where(chain, pos - 1, np.floor(rng.random(n_members) * pos))
            has = pos > 0
            holder = members[(base + parent_pos.astype(np.int64))[has]]
            held = members[has]
            ok = (self.closed[holder] == NAT) | (self.closed[holder] > self.founded[held])
            holder, held = holder[ok], held[ok]
            group_parent[held] = holder
            self.is_group_root[members[pos == 0]] = True
            share = np.where(rng.random(len(held)) < 0.3, 1.0, rng.uniform(0.51, 1.0, len(held)))
            holders.append(holder)
            helds.append(held)
            shares.append(share)
            starts.append(np.maximum(self.founded[held], self.founded[holder]))
            # Cross-holdings close cycles (2-cycles; 3-cycles through a grandparent).
            live = (self.status[holder] == 0) & (self.status[held] == 0)
            n_cycles = max(1, round(cfg.cycle_rate * len(companies))) if cfg.cycle_rate else 0
            picks = rng.permutation(np.flatnonzero(live))[:n_cycles]
            if len(picks):
                top = holder[picks]
                grand = group_parent[top]
                use_grand = (rng.random(len(picks)) < 0.3) & (grand >= 0)
                target = np.where(use_grand, grand, top)
                bottom = held[picks]
                first = np.maximum(self.founded[bottom], self.founded[target])
                holders.append(bottom)
                helds.append(target)
                shares.append(rng.uniform(0.05, 0.2, len(picks)))
                starts.append(uniform_days(rng, first, np.full(len(picks), self.end)))
        # Minority stakes by an earlier company or partnership.
        pool = np.flatnonzero(np.isin(self.kind, [COMPANY, PARTNERSHIP]) & ~self.is_shell)
        n_minor = round(cfg.minority_stake_share * len(companies))
        if n_minor and len(pool) > 1:
            held = rng.choice(companies, size=min(n_minor, len(companies)), replace=False)
            order = pool[np.argsort(self.founded[pool], kind="stable")]
            earlier = np.searchsorted(self.founded[order], self.founded[held])
            holder = order[np.floor(rng.random(len(held)) * np.maximum(earlier, 1)).astype(int)]
            start = uniform_days(rng, self.founded[held], np.full(len(held), self.end))
            ok = (
                (earlier > 0)
                & (holder != held)
                & ((self.closed[holder] == NAT) | (self.closed[holder] > start))
            )
            holders.append(holder[ok])
            helds.append(held[ok])
            shares.append(rng.uniform(0.05, 0.35, int(ok.sum())))
            starts.append(start[ok])
        if holders:
            edges = pd.DataFrame(
                {
                    "holder": np.concatenate(holders),
                    "held": np.concatenate(helds),
                    "share": np.concatenate(shares),
                    "start": np.concatenate(starts),
                }
            ).drop_duplicates(["holder", "held"])
            edges = edges[edges["holder"] != edges["held"]]
        else:
            edges = pd.DataFrame({"holder": [], "held": [], "share": [], "start": []})
        self.corporate = edges.astype({"holder": np.int64, "held": np.int64, "start": np.int64})

    def roles(self) -> None:
        """Legal reps (with changes), person shareholders, executives, branch_of edges."""
        rng, cfg = self.rng(6), self.cfg
        n, kind, pool = self.n, self.kind, self.pool
        alive_end = self.alive_end()
        ents = np.arange(n)
        source = np.zeros(n, dtype=bool)
        source[self.source] = True
        # Legal rep changes.
        eligible = (
            np.isin(kind, [COMPANY, BRANCH, PARTNERSHIP, SOCIAL])
            & ~source
            & ~self.is_shell
            & (alive_end - self.founded > 545)
        )
        changing = eligible & (rng.random(n) < cfg.legal_rep_change_rate)
        change = or_nat(uniform_days(rng, self.founded + 180, alive_end - 1), changing)
        new_rep = np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero(changing)
        new_rep[rows] = pool.take(rng, len(rows))
        same = rows[new_rep[rows] == self.founder[rows]]
        new_rep[same] = pool.fresh(rng, len(same))
        self.change_day, self.new_rep = change, new_rep

        parts: list[pd.DataFrame] = []

        def add(ent: np.ndarray, htype: int, holder: np.ndarray, role: int, **cols: Any) -> None:
            frame = pd.DataFrame({"ent": ent, "htype": htype, "holder": holder, "role": role})
            for name, value in cols.items():
                frame[name] = value
            parts.append(frame)

        add(ents, 0, self.founder, LEGAL_REP, start=self.founded, end=change)
        add(rows, 0, new_rep[rows], LEGAL_REP, start=change[rows], end=NAT)
        # Person shareholders of companies and partnerships: founder plus 0–3 co-holders.
        holding = np.flatnonzero(np.isin(kind, [COMPANY, PARTNERSHIP]))
        n_co = rng.choice(4, size=len(holding), p=[0.4, 0.35, 0.17, 0.08])
        n_co = np.where(kind[holding] == PARTNERSHIP, np.maximum(n_co, 1), n_co)
        co_ent = np.repeat(holding, n_co)
        co_person = pool.take(rng, len(co_ent))
        founder_weight = rng.gamma(3.0, 1.0, len(holding))
        straw = self.shell_major[holding] >= 0
        add(
            holding,
            0,
            self.founder[holding],
            SHAREHOLDER,
            weight=founder_weight,
            start=self.founded[holding],
        )
        add(
            co_ent,
            0,
            co_person,
            SHAREHOLDER,
            weight=rng.gamma(1.2, 1.0, len(co_ent)),
            start=self.founded[co_ent],
        )
        add(
            holding[straw],
            0,
            self.shell_major[holding[straw]],
            SHAREHOLDER,
            weight=9.0 * founder_weight[straw],
            start=self.founded[holding[straw]],
        )
        # Executives: 执行董事 (often the founder), 监事 (a co-holder or a new person).
        companies = np.flatnonzero(kind == COMPANY)
        director = companies[rng.random(len(companies)) < 0.7]
        add(director, 0, self.founder[director], EXECUTIVE, start=self.founded[director])
        first_co = pd.Series(co_person).groupby(co_ent).first()
        has_co = np.isin(companies, first_co.index.to_numpy())
        use_co = has_co & (rng.random(len(companies)) < 0.5)
        supervisor = np.empty(len(companies), dtype=np.int64)
        supervisor[use_co] = first_co.reindex(companies[use_co]).to_numpy()
        supervisor[~use_co] = pool.take(rng, int((~use_co).sum()))
        add(companies, 0, supervisor, EXECUTIVE, start=self.founded[companies])
        socials = np.flatnonzero(kind == SOCIAL)
        add(socials, 0, pool.take(rng, len(socials)), EXECUTIVE, start=self.founded[socials])
        new_exec = rows[rng.random(len(rows)) < 0.5]
        add(new_exec, 0, new_rep[new_exec], EXECUTIVE, start=change[new_exec])
        # Corporate shareholders and branch_of edges.
        corp = self.corporate
        add(
            corp["held"].to_numpy(),
            1,
            corp["holder"].to_numpy(),
            SHAREHOLDER,
            fixed=corp["share"].to_numpy(),
            start=corp["start"].to_numpy(),
        )
        branches = np.flatnonzero(kind == BRANCH)
        add(branches, 1, self.parent[branches], BRANCH_OF, start=self.founded[branches])

        roles = pd.concat(parts, ignore_index=True)
        roles["end"] = roles["end"].fillna(NAT).astype(np.int64)
        roles = roles.groupby(["ent", "htype", "holder", "role", "start"], as_index=False).agg(
            {"end": "max", "weight": "sum", "fixed": "sum"}
        )
        self.roles_idx = self._normalise_shares(rng, roles)

    def _normalise_shares(self, rng: np.random.Generator, roles: pd.DataFrame) -> pd.DataFrame:
        """Shares per company sum to ``total`` (1, or 0.7–1 when partly undisclosed)."""
        holder_rows = roles["role"] == SHAREHOLDER
        total = np.where(rng.random(self.n) < 0.05, rng.uniform(0.7, 1.0, self.n), 1.0)
        sh = roles[holder_rows]
        fixed_sum = sh.groupby("ent")["fixed"].sum().reindex(np.arange(self.n), fill_value=0.0)
        weight_sum = sh.groupby("ent")["weight"].sum().reindex(np.arange(self.n), fill_value=0.0)
        fixed_total = fixed_sum.to_numpy()
        scale = np.where(fixed_total > total, total / np.maximum(fixed_total, 1e-12), 1.0)
        rest = np.maximum(total - fixed_total * scale, 0.0)
        ent = sh["ent"].to_numpy()
        is_person = sh["htype"].to_numpy() == 0
        share = np.where(
            is_person,
            rest[ent] * sh["weight"].to_numpy() / np.maximum(weight_sum.to_numpy()[ent], 1e-12),
            sh["fixed"].to_numpy() * scale[ent],
        )
        share = np.floor(share * 10_000) / 10_000
        roles["share"] = np.nan
        roles.loc[holder_rows, "share"] = share
        keep = ~holder_rows | (roles["share"] > 0)
        return roles.loc[keep, ["ent", "htype", "holder", "role", "share", "start", "end"]]
