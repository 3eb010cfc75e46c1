"""Stage 8: the public-credit records (行政处罚, court cases, 经营异常, tax and wage arrears,
严重失信 lists, positive records, personal 失信被执行人), their publicity terms and repairs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from risk.contract import Domain, RecordKind
from risk.publicity import NDRC_2026_IN_FORCE, choose_regime, term_months
from risk.synth.days import add_months, day_number, or_nat, top_k, uniform_days
from risk.synth.state import CountyState
from risk.synth.vocabulary import (
    COURT_KINDS,
    DM,
    DOMAIN_BY_INDUSTRY,
    DOMAINS,
    GENERAL,
    INDUSTRIES,
    MINOR,
    NAT,
    RECORD_KINDS,
    RK,
    SERIOUS,
    SEVERITIES,
)

__all__ = [
    "RecordDraws",
    "RecordStage",
]


class RecordDraws:
    """Draws record events for the builder and collects them as integer-coded blocks."""

    def __init__(self, builder: CountyState, rng: np.random.Generator) -> None:
        sigma = builder.cfg.risk_sigma
        self.rng, self.end = rng, builder.end
        self.lo = np.maximum(builder.founded, builder.t0)
        self.hi = np.minimum(builder.alive_end(), builder.end)
        self.exposure = np.maximum(self.hi - self.lo, 0) / 365.25  # years alive in the window
        self.m = np.exp(sigma * builder.z - sigma**2 / 2)  # record-rate multiplier, mean 1
        self._blocks: list[dict[str, Any]] = []

    def events(self, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Poisson(rate · exposure) events per enterprise, on uniform days while alive."""
        count = self.rng.poisson(rate * self.exposure)
        ent = np.repeat(np.arange(len(rate)), count)
        return ent, uniform_days(self.rng, self.lo[ent], self.hi[ent])

    def later(self, start: np.ndarray, low: int, high: int) -> np.ndarray:
        """A day ``low``–``high`` days after each ``start``."""
        offset = np.floor(self.rng.random(len(start)) * (high - low)).astype(np.int64)
        return start + low + offset

    def removal(self, start: np.ndarray, p: float, low: int, high: int) -> np.ndarray:
        """With probability ``p`` a removal day ``low``–``high`` days later (if by ``end``)."""
        when = self.later(start, low, high)
        return or_nat(when, (self.rng.random(len(start)) < p) & (when <= self.end))

    def add(
        self,
        subject: np.ndarray,
        kind: RecordKind,
        domain: np.ndarray | int,
        severity: np.ndarray | int,
        decided: np.ndarray,
        *,
        stype: int = 0,
        removed: np.ndarray | None = None,
        amount: np.ndarray | None = None,
        case: np.ndarray | None = None,
        suffix: str = "",
    ) -> None:
        size = len(subject)
        self._blocks.append(
            {
                "stype": np.full(size, stype),
                "subject": subject,
                "kind": np.full(size, RK[kind]),
                "domain": np.zeros(size, np.int64) + domain,
                "severity": np.zeros(size, np.int64) + severity,
                "decided": decided,
                "removed": np.full(size, NAT) if removed is None else removed,
                "amount": np.full(size, np.nan) if amount is None else amount,
                "case": np.full(size, -1) if case is None else case,
                "suffix": np.full(size, suffix),
            }
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {key: np.concatenate([b[key] for b in self._blocks]) for key in self._blocks[0]}
        )


class RecordStage(CountyState):
    """Draws the records (stage 8)."""

    def records(self) -> None:
        rng = self.rng(7)
        draws = RecordDraws(self, rng)
        self._penalties(draws)
        self._registry_lists(draws)
        self._court(draws)
        self._tax_and_wages(draws)
        self._positive(draws)
        frame = self._serious_list(rng, draws.frame())
        self.records_idx = self._publicity(rng, frame, draws.m)

    def _penalties(self, draws: RecordDraws) -> None:
        """行政处罚: Poisson per (enterprise, domain) with a gamma frailty (repeat offenders)."""
        rng, m = draws.rng, draws.m
        kind_factor = np.array([1.0, 0.8, 0.7, 0.6, 0.3])[self.kind]
        domain_weight = DOMAIN_BY_INDUSTRY[self.industry]
        frailty = rng.gamma(0.5, 2.0, size=domain_weight.shape)
        scale = self.cfg.penalty_rate * m * kind_factor * draws.exposure
        count = rng.poisson(scale[:, None] * domain_weight * frailty)
        ent, domain = np.nonzero(count)
        reps = count[ent, domain]
        ent, domain = np.repeat(ent, reps), np.repeat(domain, reps)
        decided = uniform_days(rng, draws.lo[ent], draws.hi[ent])
        p_serious = np.clip(0.04 * m[ent] ** 0.6, 0, 0.3)
        draw = rng.random(len(ent))
        severity = np.where(draw < p_serious, SERIOUS, np.where(draw < 0.55, MINOR, GENERAL))
        median = np.array([0.2, 2.0, 20.0])[severity]
        amount = np.round(rng.lognormal(np.log(median), 0.8), 4)
        amount[(severity == MINOR) & (rng.random(len(ent)) < 0.3)] = 0.0  # 警告: no fine
        draws.add(ent, RecordKind.administrative_penalty, domain, severity, decided, amount=amount)

    def _registry_lists(self, draws: RecordDraws) -> None:
        """经营异常名录: removed on filing, else 严重违法失信名单 three years later."""
        market = DM[Domain.market_regulation]
        factor = np.array([1.0, 1.5, 0.5, 1.0, 0.0])[self.kind]
        ent, decided = draws.events(self.cfg.abnormal_rate * draws.m * factor)
        removed = draws.removal(decided, 0.55, 30, 400)
        draws.add(ent, RecordKind.abnormal_operation, market, GENERAL, decided, removed=removed)
        three_years = add_months(decided, 36)
        upgrade = (removed == NAT) & (three_years <= self.end) & (draws.rng.random(len(ent)) < 0.6)
        draws.add(ent[upgrade], RecordKind.serious_violation, market, SERIOUS, three_years[upgrade])

    def _court(self, draws: RecordDraws) -> None:
        """被执行 cases → 失信被执行人 and 限高 (company and legal rep); personal 失信.

        Every case gets one 案号; its records are the case (被执行), 之一 (失信), 之二 (限高 of
        the enterprise) and 之三 (限高 of its legal rep).
        """
        rng, m, cfg, court = draws.rng, draws.m, self.cfg, DM[Domain.court]
        factor = np.array([1.0, 0.8, 0.0, 1.0, 0.1])[self.kind]
        ent, decided = draws.events(cfg.court_rate * m**1.2 / np.mean(m**1.2) * factor)
        escalate = rng.random(len(ent)) < np.clip(0.3 * np.sqrt(m[ent]), 0, 0.9)
        k = len(self.source)
        source_case_day = np.maximum(
            self.source_day - 30 - np.floor(rng.random(k) * 150).astype(np.int64),
            np.maximum(self.founded[self.source], self.t0),
        )
        case = np.arange(len(ent))
        stake = np.round(rng.lognormal(np.log(15.0), 1.0, len(ent)), 4)
        removed = draws.removal(decided, 0.6, 60, 540)
        draws.add(
            ent,
            RecordKind.judgment_debtor,
            court,
            GENERAL,
            decided,
            removed=removed,
            amount=stake,
            case=case,
        )
        dd_day = draws.later(decided, 30, 180)
        ok = escalate & (dd_day <= self.end)
        draws.add(
            ent[ok],
            RecordKind.dishonest_debtor,
            court,
            SERIOUS,
            dd_day[ok],
            removed=draws.removal(dd_day[ok], 0.45, 60, 720),
            amount=stake[ok],
            case=case[ok],
            suffix="之一",
        )
        # The forced 失信 of the 换壳 sources, never removed.
        source_case = len(ent) + np.arange(k)
        source_stake = np.round(rng.lognormal(np.log(80.0), 0.8, k), 4)
        draws.add(
            self.source,
            RecordKind.judgment_debtor,
            court,
            GENERAL,
            source_case_day,
            amount=source_stake,
            case=source_case,
        )
        draws.add(
            self.source,
            RecordKind.dishonest_debtor,
            court,
            SERIOUS,
            self.source_day,
            case=source_case,
            suffix="之一",
        )
        pick = rng.random(len(ent)) < 0.5
        restricted = np.concatenate([ent[pick], self.source])
        restricted_case = np.concatenate([case[pick], source_case])
        cr_day = draws.later(np.concatenate([decided[pick], self.source_day]), 10, 90)
        ok = cr_day <= self.end
        restricted, restricted_case, cr_day = restricted[ok], restricted_case[ok], cr_day[ok]
        cr_removed = draws.removal(cr_day, 0.4, 60, 720)
        draws.add(
            restricted,
            RecordKind.consumption_restriction,
            court,
            GENERAL,
            cr_day,
            removed=cr_removed,
            case=restricted_case,
            suffix="之二",
        )
        draws.add(
            self.legal_rep_at(restricted, cr_day),
            RecordKind.consumption_restriction,
            court,
            GENERAL,
            cr_day,
            stype=1,
            removed=cr_removed,
            case=restricted_case,
            suffix="之三",
        )
        # Personal 失信被执行人: own debts of role holders.
        persons = np.unique(self.roles_idx.loc[self.roles_idx["htype"] == 0, "holder"].to_numpy())
        sigma = cfg.risk_sigma
        person_m = np.exp(sigma * self.pool.latent[persons] - sigma**2 / 2)
        who = np.repeat(persons, rng.poisson(cfg.person_record_rate * person_m * cfg.years))
        day = uniform_days(rng, np.full(len(who), self.t0), np.full(len(who), self.end))
        draws.add(
            who,
            RecordKind.dishonest_debtor,
            court,
            SERIOUS,
            day,
            stype=1,
            removed=draws.removal(day, 0.4, 60, 720),
            amount=np.round(rng.lognormal(np.log(8.0), 1.0, len(who)), 4),
            case=len(ent) + k + np.arange(len(who)),
        )
        self.case_day = np.concatenate([decided, source_case_day, day])  # by case number

    def _tax_and_wages(self, draws: RecordDraws) -> None:
        """欠税公告 and 重大税收违法 (税务), 拖欠农民工工资 (人社), relative to penalty_rate."""
        rng, m, rate = draws.rng, draws.m, self.cfg.penalty_rate
        taxed = np.array([1.0, 0.5, 0.0, 1.0, 0.1])[self.kind]
        ent, decided = draws.events(0.12 * rate * m * taxed)
        draws.add(
            ent,
            RecordKind.tax_arrears,
            DM[Domain.taxation],
            GENERAL,
            decided,
            removed=draws.removal(decided, 0.5, 30, 365),
            amount=np.round(rng.lognormal(np.log(3.0), 1.0, len(ent)), 4),
        )
        ent, decided = draws.events(0.02 * rate * m**1.5 * taxed)
        draws.add(
            ent,
            RecordKind.tax_violation,
            DM[Domain.taxation],
            SERIOUS,
            decided,
            amount=np.round(rng.lognormal(np.log(50.0), 1.0, len(ent)), 4),
        )
        sector = np.where(self.industry == INDUSTRIES.index("E"), 6.0, 0.5)
        sector[self.industry == INDUSTRIES.index("C")] = 1.5
        ent, decided = draws.events(0.04 * rate * m * sector * taxed)
        severity = np.where(rng.random(len(ent)) < 0.3, SERIOUS, GENERAL)
        draws.add(
            ent,
            RecordKind.wage_arrears,
            DM[Domain.human_resources],
            severity,
            decided,
            amount=np.round(rng.lognormal(np.log(20.0), 1.0, len(ent)), 4),
        )

    def _positive(self, draws: RecordDraws) -> None:
        """行政许可, 信用承诺 (some broken later: 违背信用承诺) and 红名单."""
        rng, m, rate = draws.rng, draws.m, self.cfg.positive_rate
        ent, decided = draws.events(0.6 * rate * np.ones(self.n))
        draws.add(ent, RecordKind.license, self._domain_for(rng, ent), MINOR, decided)
        ent, decided = draws.events(0.3 * rate * np.ones(self.n))
        domain = self._domain_for(rng, ent)
        draws.add(ent, RecordKind.commitment, domain, MINOR, decided)
        breach_day = draws.later(decided, 30, 720)
        ok = (breach_day <= draws.hi[ent]) & (rng.random(len(ent)) < np.clip(0.1 * m[ent], 0, 0.6))
        draws.add(ent[ok], RecordKind.commitment_breach, domain[ok], GENERAL, breach_day[ok])
        sigma = self.cfg.risk_sigma
        good = np.exp(-sigma * self.z) * np.array([1.0, 0.2, 0.0, 0.5, 0.5])[self.kind]
        ent, decided = draws.events(0.1 * rate * good / max(good.mean(), 1e-12))
        domain = rng.choice(
            [DM[Domain.taxation], DM[Domain.market_regulation], DM[Domain.other]],
            size=len(ent),
            p=[0.5, 0.3, 0.2],
        )
        removed = draws.removal(decided, 0.1, 180, 720)
        draws.add(ent, RecordKind.red_list, domain, MINOR, decided, removed=removed)

    def _domain_for(self, rng: np.random.Generator, ent: np.ndarray) -> np.ndarray:
        cumulative = np.cumsum(DOMAIN_BY_INDUSTRY[self.industry[ent]], axis=1)
        return (rng.random(len(ent))[:, None] > cumulative).sum(axis=1).clip(0, len(DOMAINS) - 1)

    def _serious_list(self, rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
        """严重失信主体名单 for at most ``serious_list_rate · n`` enterprises with a trigger."""
        trigger = (frame["stype"] == 0) & (
            (frame["severity"] == SERIOUS) & (frame["kind"] != RK[RecordKind.wage_arrears])
        )
        first = frame[trigger].sort_values(["decided", "kind"]).drop_duplicates("subject")
        k = round(self.cfg.serious_list_rate * self.n)
        chosen = first.iloc[top_k(rng, self.z[first["subject"].to_numpy()], k)]
        day = chosen["decided"].to_numpy() + 20 + np.floor(rng.random(len(chosen)) * 100)
        listed = chosen.assign(
            kind=RK[RecordKind.serious_dishonesty_list],
            decided=day.astype(np.int64),
            removed=NAT,
            amount=np.nan,
            case=-1,
            suffix="",
        )
        listed = listed[listed["decided"] <= self.end]
        return pd.concat([frame, listed], ignore_index=True)

    def _publicity(
        self, rng: np.random.Generator, frame: pd.DataFrame, m: np.ndarray
    ) -> pd.DataFrame:
        """Explicit 公示截止期 for a share of records; 信用修复 after the minimum term."""
        size = len(frame)
        kind_code = frame["kind"].to_numpy()
        domain = frame["domain"].to_numpy()
        severity = frame["severity"].to_numpy()
        decided = frame["decided"].to_numpy()
        court = np.isin(kind_code, [RK[k] for k in COURT_KINDS])
        positive = np.isin(
            kind_code,
            [RK[k] for k in (RecordKind.license, RecordKind.commitment, RecordKind.red_list)],
        )
        explicit = rng.random(size) < self.cfg.explicit_publicity_share
        explicit &= ~court | (kind_code == RK[RecordKind.dishonest_debtor])
        explicit &= ~positive | (kind_code == RK[RecordKind.license])
        months = np.zeros(size, dtype=np.int64)
        ndrc = decided >= day_number(NDRC_2026_IN_FORCE)
        combos = pd.DataFrame({"k": kind_code, "d": domain, "s": severity, "n": ndrc})
        for (k, d, s, after), rows in combos.groupby(["k", "d", "s", "n"]).groups.items():
            rkind = RECORD_KINDS[int(k)]
            on = NDRC_2026_IN_FORCE if after else date(2025, 1, 1)
            regime = choose_regime(rkind, DOMAINS[int(d)], on)
            term = term_months(regime, DOMAINS[int(d)], SEVERITIES[int(s)])
            months[np.asarray(rows)] = 60 if term is None else max(term, 3)
        # A regime's range allows shorter terms (NDRC general: 3 months–1 year).
        shorter = (rng.random(size) < 0.3) & (kind_code != RK[RecordKind.dishonest_debtor])
        months = np.where(shorter & (months >= 12), np.maximum(months // 2, 3), months)
        frame["publicity_end"] = or_nat(add_months(decided, months), explicit)
        repairable = ~court & ~positive & (severity != MINOR)
        repairable &= kind_code != RK[RecordKind.abnormal_operation]
        is_enterprise = frame["stype"].to_numpy() == 0
        subject_m = np.ones(size)
        subject_m[is_enterprise] = m[frame["subject"].to_numpy()[is_enterprise]]
        p_repair = np.clip(self.cfg.repair_share * 2 / (1 + subject_m), 0, 1)
        minimum = np.where(severity == SERIOUS, 365, 90)
        repaired = decided + minimum + np.floor(rng.random(size) * 365).astype(np.int64)
        ok = repairable & (rng.random(size) < p_repair) & (repaired <= self.end)
        frame["repaired"] = or_nat(repaired, ok)
        return frame
