"""Stages 9–10: annual financials and 信易贷 loans, funded only when eligible, with outcomes driven
by own history, capacity and dishonest linked parties.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from risk.contract import RecordKind
from risk.publicity import active_mask, resolve_publicity
from risk.synth.days import add_months, as_dates, day_number, top_k, uniform_days, year_number
from risk.synth.state import CountyState
from risk.synth.vocabulary import (
    BANKS,
    BRANCH,
    COMPANY,
    DISHONEST_KINDS,
    DOMAINS,
    IB,
    NAT,
    PARTNERSHIP,
    RECORD_KINDS,
    RK,
    SEVERITIES,
    SHAREHOLDER,
    SOCIAL,
)

__all__ = [
    "FinanceStage",
    "solve_intercept",
]


class FinanceStage(CountyState):
    """Draws the financials and loans (stages 9–10)."""

    def financials(self) -> None:
        rng, cfg = self.rng(8), self.cfg
        first_year = int(year_number(np.array([self.t0]))[0])
        end_year = int(year_number(np.array([self.end]))[0])
        last_year = end_year if self.cfg.end == date(end_year, 12, 31) else end_year - 1
        years = np.arange(first_year, last_year + 1)
        year_start = np.array([day_number(date(int(y), 1, 1)) for y in years], dtype=np.int64)
        year_end = np.array([day_number(date(int(y), 12, 31)) for y in years], dtype=np.int64)
        alive = (self.kind[:, None] != BRANCH) & (self.founded[:, None] <= year_end[None, :])
        alive &= (self.closed[:, None] == NAT) | (self.closed[:, None] >= year_start[None, :])
        ent, yi = np.nonzero(alive)
        size = len(ent)
        kind, z = self.kind[ent], self.z[ent]
        age = (year_end[yi] - self.founded[ent]) / 365.25
        closing_year = (self.closed[ent] != NAT) & (self.closed[ent] <= year_end[yi])
        firm_effect = rng.normal(0, 0.35, self.n)[ent]
        log_scale = (
            0.55 * np.nan_to_num(self.log_size[ent], nan=np.log(100.0))
            + np.array([0.0, -0.8, 0.0, -0.3, -1.0])[kind]
            + firm_effect
            + rng.normal(0, 0.15, size)
            - 0.7 * (age < 1)
            - 0.5 * closing_year
        )
        tax = np.round(np.exp(log_scale - 1.5 - 0.25 * z), 2)
        p_zero = np.array([0.15, 0.6, 0.0, 0.3, 0.7])[kind] + 0.15 * (age < 1)
        tax[rng.random(size) < p_zero] = 0.0
        score = -0.8 * z + 0.3 * log_scale + rng.normal(0, 0.6, size)
        grade = np.select([score > 1.3, score > -0.6, score > -1.6], [0, 1, 3], default=4)
        grade = np.where((age < 1.5) & (rng.random(size) < 0.8), 2, grade)
        # D after 重大税收违法 in the year or the year before; at most C after 欠税.
        recs = self.records_idx
        enterprise_recs = recs[recs["stype"] == 0]
        year_of = year_number(enterprise_recs["decided"].to_numpy())
        year_index = {int(y): i for i, y in enumerate(years)}
        key = ent * len(years) + yi
        for rkind, level, lag in ((RecordKind.tax_violation, 4, 2), (RecordKind.tax_arrears, 3, 1)):
            hit = enterprise_recs["kind"].to_numpy() == RK[rkind]
            marks: list[np.ndarray] = []
            for shift in range(lag):
                yy = year_of[hit] + shift
                ok = np.isin(yy, years)
                idx = np.array([year_index[int(y)] for y in yy[ok]], dtype=np.int64)
                marks.append(enterprise_recs["subject"].to_numpy()[hit][ok] * len(years) + idx)
            flagged = np.isin(key, np.concatenate(marks)) if marks else np.zeros(size, bool)
            grade = np.where(flagged, np.maximum(grade, level), grade)
        unrated = np.where(kind == IB, 0.8, np.where(kind == SOCIAL, 0.5, 0.0))
        grade_missing = rng.random(size) < unrated + cfg.missing_rate
        scale = np.exp(0.8 * log_scale - 0.3)
        employees = np.where(
            kind == IB,
            rng.poisson(0.5, size),
            np.where(kind == SOCIAL, rng.poisson(2.0, size), rng.poisson(scale)),
        )
        mu = 1 / (1 + np.exp(-(3.2 - 0.9 * z + rng.normal(0, 0.3, size))))
        utility = np.round(rng.beta(mu * 40, (1 - mu) * 40), 3)
        buys = rng.random(size) < np.where(kind == COMPANY, 0.08, 0.01)
        procurement = np.where(buys, np.round(rng.lognormal(np.log(30.0), 1.0, size), 2), 0.0)

        def missing(values: np.ndarray, rate: float) -> np.ndarray:
            out = values.astype(float)
            out[rng.random(size) < rate] = np.nan
            return out

        self.financials_idx = pd.DataFrame(
            {
                "ent": ent,
                "year": years[yi],
                "tax_paid": missing(tax, cfg.missing_rate),
                "grade": np.where(grade_missing, -1, grade),
                "employees": missing(employees, cfg.missing_rate),
                "utility": missing(utility, 2 * cfg.missing_rate),
                "procurement": missing(procurement, cfg.missing_rate),
            }
        )

    def loans(self) -> None:
        rng, cfg = self.rng(9), self.cfg
        kind = self.kind
        low = np.maximum(self.t0, self.founded + 180)
        high = np.minimum(self.alive_end(), self.end) - 30
        chosen: list[np.ndarray] = []
        for kinds, rate in (((COMPANY, PARTNERSHIP), cfg.loan_rate), ((IB,), cfg.loan_rate / 3)):
            group = np.isin(kind, kinds)
            target = round(rate * int((group & (self.status == 0)).sum()))
            pool = np.flatnonzero(group & (high > low))
            log_w = -0.4 * self.z[pool] + 0.3 * np.nan_to_num(self.log_size[pool], nan=3.0)
            chosen.append(pool[top_k(rng, log_w, target)])
        borrower = np.sort(np.concatenate(chosen))
        ent = np.repeat(borrower, 1 + np.minimum(rng.poisson(0.5, len(borrower)), 2))
        applied = uniform_days(rng, low[ent], high[ent])
        loans = pd.DataFrame({"ent": ent, "applied": applied}).drop_duplicates()
        loans = loans[self._eligible(loans)].reset_index(drop=True)
        ent, applied = loans["ent"].to_numpy(), loans["applied"].to_numpy()
        size = len(loans)

        # Capacity: average tax of the last two complete years, latest utility rate and grade.
        fin = self.financials_idx
        year = year_number(applied)
        capacity = pd.DataFrame({"ent": ent, "year": year - 1, "row": np.arange(size)})
        prior = capacity.assign(year=year - 2)
        both = pd.concat([capacity, prior]).merge(fin, on=["ent", "year"], how="left")
        tax_avg = both.groupby("row")["tax_paid"].mean().reindex(range(size)).to_numpy()
        last = capacity.merge(fin, on=["ent", "year"], how="left").sort_values("row")
        utility = np.nan_to_num(last["utility"].to_numpy(), nan=0.92)
        grade = last["grade"].fillna(-1).to_numpy()
        cap = np.nan_to_num(self.capital[ent], nan=50.0)
        # 银税互动: 5–9 × average annual tax, or a share of registered capital if larger.
        approved = np.maximum(
            np.nan_to_num(tax_avg) * rng.uniform(5, 9, size),
            0.2 * cap * rng.uniform(0.5, 1.5, size),
        )
        ceiling = np.array([1000.0, 50.0, 0.0, 500.0, 0.0])[kind[ent]]
        approved = np.clip(np.round(approved / 5) * 5, 5, ceiling)
        drawn = np.round(approved * rng.uniform(0.6, 1.0, size), 2)
        drawn[rng.random(size) < 0.05] = np.nan
        term = rng.choice([6, 12, 24, 36], size=size, p=[0.15, 0.55, 0.2, 0.1])

        own = self._own_history(ent, applied)
        linked = self._linked_dishonesty(ent, applied)
        young = (applied - self.founded[ent]) < 730
        logit = (
            0.5 * self.z[ent]
            + 0.35 * np.minimum(own, 6.0)
            - 0.25 * np.log1p(np.nan_to_num(tax_avg))
            + 2.5 * (0.92 - utility)
            + 0.6 * np.isin(grade, [3, 4])
            - 0.4 * (grade == 0)
            + 0.3 * young
            + cfg.linked_effect * np.log1p(linked)
        )
        # Defaults surface 60–425 days after application: recent loans are still performing.
        observable = np.clip((self.end - applied - 60) / 365.0, 0.0, 1.0)
        intercept = solve_intercept(logit, observable, cfg.loan_bad_rate)
        bad = rng.random(size) < 1 / (1 + np.exp(-(intercept + logit)))
        bad_day = applied + 60 + np.floor(rng.random(size) * 366).astype(np.int64)
        bad &= bad_day <= self.end
        default_day = bad_day + 90 + np.floor(rng.random(size) * 180).astype(np.int64)
        defaulted = bad & (rng.random(size) < 0.55) & (default_day <= self.end)
        maturity = add_months(applied, term)
        running = maturity > self.end
        late = (
            ~bad & running & (rng.random(size) < np.clip(0.03 * np.exp(0.5 * self.z[ent]), 0, 0.3))
        )
        status = np.select([defaulted, bad, late], [3, 2, 1], default=0)
        status_day = np.select(
            [defaulted, bad, late, running],
            [
                default_day,
                bad_day,
                self.end - np.floor(rng.random(size) * 20).astype(np.int64),
                np.full(size, self.end),
            ],
            default=maturity,
        )
        bank_names = [b.format(c=cfg.county_name, s=self.county_stem) for b, _ in BANKS]
        bank_p = np.array([p for _, p in BANKS])
        bank = np.array(bank_names)[rng.choice(len(BANKS), size, p=bank_p / bank_p.sum())]
        # A quarter of the bad loans that did not default are cured (repaid the arrears) 1–4
        # months later: their latest status is performing, their history keeps the bad day.
        cure_day = bad_day + 30 + np.floor(rng.random(size) * 90).astype(np.int64)
        cured = bad & ~defaulted & (rng.random(size) < 0.25) & (cure_day <= self.end)
        status = np.where(cured, 0, status)
        status_day = np.where(cured, cure_day, status_day)
        self.loans_idx = pd.DataFrame(
            {
                "ent": ent,
                "bank": bank,
                "applied": applied,
                "approved": approved,
                "drawn": drawn,
                "term": term,
                "status": status,
                "status_day": status_day,
                "overdue_90_day": np.where(bad, bad_day, NAT),
                "default_day": np.where(defaulted, default_day, NAT),
                "linked": linked,
            }
        )

    def _eligible(self, loans: pd.DataFrame) -> np.ndarray:
        """Policy (失信联合惩戒): no active 失信/严重失信 record of the enterprise or legal rep."""
        recs = self.records_idx
        blocking = recs[
            recs["kind"].isin(
                [RK[RecordKind.dishonest_debtor], RK[RecordKind.serious_dishonesty_list]]
            )
        ]
        rep = self.legal_rep_at(loans["ent"].to_numpy(), loans["applied"].to_numpy())
        subjects = pd.concat(
            [
                pd.DataFrame(
                    {"row": np.arange(len(loans)), "stype": 0, "subject": loans["ent"].to_numpy()}
                ),
                pd.DataFrame({"row": np.arange(len(loans)), "stype": 1, "subject": rep}),
            ]
        )
        pairs = subjects.merge(blocking, on=["stype", "subject"])
        on = loans["applied"].to_numpy()[pairs["row"].to_numpy()]
        decided = as_dates(pairs["decided"].to_numpy())
        # The publicity end ingest will derive for records that state none.
        resolved = resolve_publicity(
            pd.DataFrame(
                {
                    "kind": np.array([k.value for k in RECORD_KINDS])[pairs["kind"].to_numpy()],
                    "domain": np.array([d.value for d in DOMAINS])[pairs["domain"].to_numpy()],
                    "severity": np.array([s.value for s in SEVERITIES])[
                        pairs["severity"].to_numpy()
                    ],
                    "decided": decided,
                    "publicity_end": as_dates(pairs["publicity_end"].to_numpy()),
                }
            )
        )
        active = active_mask(
            decided,
            resolved["publicity_end"],
            as_dates(pairs["repaired"].to_numpy()),
            as_dates(pairs["removed"].to_numpy()),
            as_dates(on).to_numpy(),
        )
        blocked = np.zeros(len(loans), dtype=bool)
        blocked[pairs["row"].to_numpy()[active]] = True
        return ~blocked

    def _own_history(self, ent: np.ndarray, applied: np.ndarray) -> np.ndarray:
        recs = self.records_idx
        negative = recs[
            (recs["stype"] == 0)
            & ~recs["kind"].isin(
                [RK[k] for k in (RecordKind.license, RecordKind.commitment, RecordKind.red_list)]
            )
        ]
        loans = pd.DataFrame({"subject": ent, "applied": applied, "row": np.arange(len(ent))})
        pairs = loans.merge(negative[["subject", "decided", "severity"]], on="subject")
        window = (pairs["decided"] < pairs["applied"]) & (
            pairs["decided"] >= pairs["applied"] - 730
        )
        weight = np.array([0.3, 1.0, 2.0])[pairs["severity"].to_numpy()] * window
        return np.bincount(pairs["row"].to_numpy(), weights=weight, minlength=len(ent))

    def _linked_dishonesty(self, ent: np.ndarray, applied: np.ndarray) -> np.ndarray:
        """Dishonest linked parties before ``applied``: via persons and corporate holders."""
        recs = self.records_idx
        bad = recs[recs["kind"].isin([RK[k] for k in DISHONEST_KINDS])]
        first_ent = bad[bad["stype"] == 0].groupby("subject")["decided"].min()
        person_bad = recs[
            (recs["stype"] == 1)
            & recs["kind"].isin(
                [RK[RecordKind.dishonest_debtor], RK[RecordKind.consumption_restriction]]
            )
        ]
        first_person = person_bad.groupby("subject")["decided"].min()
        roles = self.roles_idx
        ties = roles[roles["htype"] == 0][["ent", "holder", "start", "end"]]
        loans = pd.DataFrame({"ent": ent, "applied": applied, "row": np.arange(len(ent))})
        linked_persons = loans.merge(ties, on="ent")
        linked_persons = linked_persons[
            (linked_persons["start"] <= linked_persons["applied"])
            & ((linked_persons["end"] == NAT) | (linked_persons["end"] > linked_persons["applied"]))
        ].drop_duplicates(["row", "holder"])
        other = linked_persons[["row", "ent", "applied", "holder"]].merge(
            ties[["holder", "ent"]].rename(columns={"ent": "other"}), on="holder"
        )
        other = other[other["other"] != other["ent"]].drop_duplicates(["row", "other"])
        when = first_ent.reindex(other["other"].to_numpy()).to_numpy()
        hit_other = other["row"].to_numpy()[np.nan_to_num(when, nan=np.inf) < other["applied"]]
        when = first_person.reindex(linked_persons["holder"].to_numpy()).to_numpy()
        hit_person = linked_persons["row"].to_numpy()[
            np.nan_to_num(when, nan=np.inf) < linked_persons["applied"]
        ]
        corp = roles[(roles["htype"] == 1) & (roles["role"] == SHAREHOLDER)]
        parents = loans.merge(corp[["ent", "holder", "start"]], on="ent")
        parents = parents[parents["start"] <= parents["applied"]]
        when = first_ent.reindex(parents["holder"].to_numpy()).to_numpy()
        hit_parent = parents["row"].to_numpy()[np.nan_to_num(when, nan=np.inf) < parents["applied"]]
        hits = np.concatenate([hit_other, hit_person, hit_parent]).astype(np.int64)
        return np.bincount(hits, minlength=len(ent)).astype(float)


def solve_intercept(logit: np.ndarray, observable: np.ndarray, target: float) -> float:
    """The intercept b with mean(sigmoid(b + logit) · observable) = target (bisection)."""
    if not len(logit):
        return 0.0
    if observable.mean() <= target:  # unreachable: every observable loan goes bad
        return 30.0
    low, high = -30.0, 30.0
    for _ in range(80):
        mid = (low + high) / 2
        rate = float(np.mean(observable / (1 + np.exp(-(mid + logit)))))
        low, high = (mid, high) if rate < target else (low, mid)
    return (low + high) / 2
