"""The county as the contract's frames (:class:`Assembler`: codes, names, USCCs and IDs from the
integer-coded arrays) and as CSV files (:func:`write_county`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from risk.contract import TABLES, ColumnKind, HolderType, LoanStatus, SubjectType, zh_label
from risk.identifiers import USCC_ALPHABET, hash_resident_id, make_uscc, mask_resident_id
from risk.synth.config import County
from risk.synth.days import as_dates, year_number
from risk.synth.people import resident_ids
from risk.synth.state import CountyState
from risk.synth.vocabulary import (
    ABBR,
    AUTHORITY,
    BRANCH,
    COMPANY,
    COMPANY_FORMS,
    COMPANY_WORDS,
    DAY0,
    DOMAINS,
    GIVEN,
    GRADES,
    IB,
    INDUSTRIES,
    KINDS,
    ORG_MA_FROM,
    PARTNERSHIP,
    RECORD_KINDS,
    ROLES,
    SERIES,
    SEVERITIES,
    SHOP_WORDS,
    SOCIAL,
    SOCIAL_WORDS,
    STATUSES,
    SURNAME_P,
    SURNAMES,
    TOWNS,
    TRADE,
)

__all__ = [
    "Assembler",
    "strings",
    "write_county",
]


def strings(values: Any) -> pd.Series:
    """A pandas ``str`` column (missing values as NaN)."""
    return pd.Series(values, dtype="str")


class Assembler:
    """Turns the builder's integer-coded arrays into the contract's frames."""

    def __init__(self, b: CountyState) -> None:
        self.b = b
        self.rng = b.rng(10)
        self.uscc = self._usccs()
        self.names = self._enterprise_names()

    def _usccs(self) -> np.ndarray:
        b, rng = self.b, self.rng
        n = b.n
        alphabet = np.array(list(USCC_ALPHABET))
        new_style = b.founded >= (ORG_MA_FROM - DAY0).astype(np.int64)
        codes = np.empty(n, dtype="<U9")
        todo = np.arange(n)
        while len(todo):
            k = len(todo)
            fresh = np.concatenate(
                [np.full((k, 2), "M"), alphabet[rng.integers(0, 31, (k, 7))]], axis=1
            )
            fresh[:, 1] = "A"
            digits = rng.integers(0, 10, (k, 8))
            check = 11 - (digits * np.array([3, 7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11
            check_char = np.where(check == 10, "X", np.where(check == 11, "0", check.astype(str)))
            old = np.concatenate([digits.astype(str), check_char[:, None]], axis=1)
            chars = np.where(new_style[todo, None], fresh, old).astype("<U1")
            codes[todo] = np.ascontiguousarray(chars).view("<U9").ravel()
            todo = np.flatnonzero(pd.Series(codes).duplicated().to_numpy())
        prefix = np.where(b.kind == IB, "92", "91")
        social = b.kind == SOCIAL
        prefix[social] = np.where(rng.random(int(social.sum())) < 0.5, "51", "52")
        region = b.cfg.region
        return np.array(
            [make_uscc(p[0], p[1], region, code) for p, code in zip(prefix, codes, strict=True)]
        )

    def _enterprise_names(self) -> np.ndarray:
        b = self.b
        county = b.cfg.county_name
        names = np.empty(b.n, dtype=object)
        for i in range(b.n):
            letter = INDUSTRIES[b.industry[i]] if b.industry[i] < len(INDUSTRIES) else ""
            trade = TRADE[b.trade[i, 0]] + TRADE[b.trade[i, 1]]
            pick = b.name_pick[i]
            words = COMPANY_WORDS[letter]
            word = words[pick[0] % len(words)]
            kind = b.kind[i]
            if kind == COMPANY:
                if b.is_group_root[i]:
                    names[i] = f"{county}{trade}控股集团有限公司"
                else:
                    form = COMPANY_FORMS[(0, 0, 0, 0, 0, 0, 0, 0, 1, 2)[pick[1] % 10]]
                    names[i] = f"{county}{trade}{word}{form}"
            elif kind == IB:
                shops = SHOP_WORDS.get(letter, ("经营部",))
                town = TOWNS[pick[1] % len(TOWNS)]
                names[i] = f"{county}{town}{trade}{shops[pick[2] % len(shops)]}"
            elif kind == PARTNERSHIP:
                purpose = ("企业管理", "股权投资", "投资管理", "创业投资")[pick[1] % 4]
                names[i] = f"{county}{trade}{purpose}合伙企业（有限合伙）"
            elif kind == SOCIAL:
                org = SOCIAL_WORDS[pick[1] % len(SOCIAL_WORDS)]
                names[i] = f"{county}{word}{org}"
        for branch in np.flatnonzero(b.kind == BRANCH):  # after the parents are named
            town = TOWNS[b.name_pick[branch, 1] % len(TOWNS)]
            names[branch] = f"{names[b.parent[branch]]}{town[:2]}分公司"
        return names

    # -- tables -------------------------------------------------------------------------------

    def enterprises(self) -> pd.DataFrame:
        b = self.b
        industry = np.array([*INDUSTRIES, None], dtype=object)[b.industry]
        return pd.DataFrame(
            {
                "uscc": strings(self.uscc),
                "name": strings(self.names),
                "kind": strings(np.array([k.value for k in KINDS])[b.kind]),
                "status": strings(np.array([s.value for s in STATUSES])[b.status]),
                "industry": strings(industry),
                "region": strings(np.array(b.regions)[b.region]),
                "registered_capital": b.capital.astype(float),
                "founded": as_dates(b.founded),
                "closed": as_dates(b.closed),
            }
        )

    def persons(self) -> pd.DataFrame:
        b = self.b
        roles = b.roles_idx
        used = np.unique(roles.loc[roles["htype"] == 0, "holder"].to_numpy())
        order = self.rng.permutation(len(used))
        self.person_number = pd.Series(order + 1, index=used)  # original index → P number
        k = len(used)
        given_two = self.rng.random(k) < 0.7
        name = (
            self.rng.choice(SURNAMES, size=k, p=SURNAME_P)
            + self.rng.choice(GIVEN, size=k)
            + np.where(given_two, self.rng.choice(GIVEN, size=k), "")
        )
        self.person_name = pd.Series(name, index=used)
        raw = resident_ids(self.rng, k, b.regions, b.end)
        salt = b.cfg.id_salt
        id_hash = [hash_resident_id(number, salt) for number in raw]
        id_masked = [mask_resident_id(number) for number in raw]
        del raw  # the raw numbers end here
        frame = pd.DataFrame(
            {
                "person_id": strings([f"P{i:06d}" for i in order + 1]),
                "name": strings(name),
                "id_hash": strings(id_hash),
                "id_masked": strings(id_masked),
            }
        )
        return frame.sort_values("person_id", ignore_index=True)

    def _person_ids(self, holders: np.ndarray) -> np.ndarray:
        numbers = self.person_number.reindex(holders).to_numpy()
        return np.array([f"P{int(i):06d}" for i in numbers], dtype=object)

    def roles(self) -> pd.DataFrame:
        roles = self.b.roles_idx.sort_values(["ent", "role", "start", "htype", "holder"])
        is_person = roles["htype"].to_numpy() == 0
        holder = roles["holder"].to_numpy()
        holder_id = np.empty(len(roles), dtype=object)
        holder_id[is_person] = self._person_ids(holder[is_person])
        holder_id[~is_person] = self.uscc[holder[~is_person]]
        return pd.DataFrame(
            {
                "uscc": strings(self.uscc[roles["ent"].to_numpy()]),
                "holder_type": strings(
                    np.where(is_person, HolderType.person.value, HolderType.enterprise.value)
                ),
                "holder_id": strings(holder_id),
                "role": strings(np.array([r.value for r in ROLES])[roles["role"].to_numpy()]),
                "share": roles["share"].to_numpy(dtype=float),
                "start": as_dates(roles["start"].to_numpy()),
                "end": as_dates(roles["end"].to_numpy()),
                # registers give exact shares of direct holdings
                "share_range": strings(np.full(len(roles), np.nan, dtype=object)),
                "directness": strings(np.full(len(roles), np.nan, dtype=object)),
            }
        )

    def records(self) -> pd.DataFrame:
        b = self.b
        recs = b.records_idx.reset_index(drop=True)
        size = len(recs)
        stype = recs["stype"].to_numpy()
        subject = recs["subject"].to_numpy()
        kind = recs["kind"].to_numpy()
        domain = recs["domain"].to_numpy()
        decided = recs["decided"].to_numpy()
        # 案号 of court cases: （year）皖1100执123号, numbered per year in date order.
        case_year = year_number(b.case_day)
        case_order = np.lexsort((np.arange(len(b.case_day)), b.case_day))
        case_seq = np.empty(len(b.case_day), dtype=np.int64)
        case_seq[case_order] = (
            pd.Series(case_year[case_order]).groupby(case_year[case_order]).cumcount() + 1
        ).to_numpy()
        court_code = f"{b.province}{b.cfg.region[2:6]}"
        case_id = np.array(
            [f"（{y}）{court_code}执{s}号" for y, s in zip(case_year, case_seq, strict=True)],
            dtype=object,
        )
        # 决定书文号 of the rest: series〔year〕seq号, numbered per series and year.
        series = np.empty(size, dtype=object)
        for (k, d), rows in (
            pd.DataFrame({"k": kind, "d": domain}).groupby(["k", "d"]).groups.items()
        ):
            rkind = RECORD_KINDS[int(k)]
            if rkind in SERIES:
                series[np.asarray(rows)] = SERIES[rkind].format(
                    p=b.province, s=b.county_short, a=ABBR[DOMAINS[int(d)]]
                )
        year = year_number(decided)
        is_case = recs["case"].to_numpy() >= 0
        numbered = pd.DataFrame({"series": series, "year": year, "decided": decided})[~is_case]
        numbered = numbered.sort_values(["decided"], kind="stable")
        seq = numbered.groupby(["series", "year"]).cumcount() + 1
        record_id = np.empty(size, dtype=object)
        record_id[seq.index.to_numpy()] = [
            f"{s}〔{y}〕{q}号"
            for s, y, q in zip(numbered["series"], numbered["year"], seq.to_numpy(), strict=True)
        ]
        record_id[is_case] = case_id[recs["case"].to_numpy()[is_case]] + recs["suffix"].to_numpy()[
            is_case
        ].astype(object)
        is_person = stype == 1
        subject_id = np.empty(size, dtype=object)
        subject_name = np.empty(size, dtype=object)
        subject_id[~is_person] = self.uscc[subject[~is_person]]
        subject_name[~is_person] = self.names[subject[~is_person]]
        subject_id[is_person] = self._person_ids(subject[is_person])
        subject_name[is_person] = self.person_name.reindex(subject[is_person]).to_numpy()
        authority = np.array(
            [AUTHORITY[d].format(c=b.cfg.county_name) for d in DOMAINS], dtype=object
        )[domain]
        frame = pd.DataFrame(
            {
                "record_id": strings(record_id),
                "subject_type": strings(
                    np.where(is_person, SubjectType.person.value, SubjectType.enterprise.value)
                ),
                "subject_id": strings(subject_id),
                "subject_name": strings(subject_name),
                "kind": strings(np.array([k.value for k in RECORD_KINDS])[kind]),
                "domain": strings(np.array([d.value for d in DOMAINS])[domain]),
                "severity": strings(
                    np.array([s.value for s in SEVERITIES])[recs["severity"].to_numpy()]
                ),
                "authority": strings(authority),
                "decided": as_dates(decided),
                "publicity_end": as_dates(recs["publicity_end"].to_numpy()),
                "repaired": as_dates(recs["repaired"].to_numpy()),
                "removed": as_dates(recs["removed"].to_numpy()),
                "amount": recs["amount"].to_numpy(dtype=float),
                "regime": strings(np.full(size, np.nan, dtype=object)),
            }
        )
        return frame.sort_values(["decided", "record_id"], ignore_index=True)

    def financials(self) -> pd.DataFrame:
        fin = self.b.financials_idx
        grade = np.array([*(g.value for g in GRADES), None], dtype=object)[fin["grade"].to_numpy()]
        return pd.DataFrame(
            {
                "uscc": strings(self.uscc[fin["ent"].to_numpy()]),
                "period": strings(fin["year"].astype(str).to_numpy()),
                "tax_paid": fin["tax_paid"].to_numpy(dtype=float),
                "tax_grade": strings(grade),
                "insured_employees": pd.array(fin["employees"].to_numpy(), dtype="Int64"),
                "utility_on_time": fin["utility"].to_numpy(dtype=float),
                "procurement_amount": fin["procurement"].to_numpy(dtype=float),
            }
        )

    def loans(self) -> pd.DataFrame:
        loans = self.b.loans_idx.sort_values(["applied", "ent"], kind="stable", ignore_index=True)
        year = year_number(loans["applied"].to_numpy())
        seq = pd.Series(year).groupby(year).cumcount().to_numpy() + 1
        statuses = np.array([s.value for s in LoanStatus])
        return pd.DataFrame(
            {
                "loan_id": strings([f"XYD{y}-{s:06d}" for y, s in zip(year, seq, strict=True)]),
                "uscc": strings(self.uscc[loans["ent"].to_numpy()]),
                "bank": strings(loans["bank"].to_numpy()),
                "applied": as_dates(loans["applied"].to_numpy()),
                "approved_amount": loans["approved"].to_numpy(dtype=float),
                "drawn_amount": loans["drawn"].to_numpy(dtype=float),
                "term_months": loans["term"].to_numpy(dtype=np.int64),
                "status": strings(statuses[loans["status"].to_numpy()]),
                "status_date": as_dates(loans["status_day"].to_numpy()),
                "overdue_90_date": as_dates(loans["overdue_90_day"].to_numpy()),
                "default_date": as_dates(loans["default_day"].to_numpy()),
            }
        )


def write_county(
    county: County, out_dir: Path, headers: Literal["en", "zh"] = "en"
) -> dict[str, Path]:
    """Write one UTF-8 CSV per table (``<table>.csv``) and ``hidden_risk.csv``.

    Parameters
    ----------
    county
        A generated county.
    out_dir
        Directory to write into (created if missing; existing files are replaced).
    headers
        ``"en"``: English column names and enum codes. ``"zh"``: each column's first Chinese
        header (双公示 style) and enum values as Chinese labels.

    Returns
    -------
    dict
        Table name → path of its CSV file, for the six contract tables. ``hidden_risk.csv``
        (columns ``uscc, hidden_risk``, always English) is ground truth for evaluation only:
        never ingest it.

    Raises
    ------
    TypeError
        If ``county`` is not a :class:`County`.
    ValueError
        If ``headers`` is neither ``"en"`` nor ``"zh"``.
    """
    if not isinstance(county, County):
        raise TypeError(f"county must be a County; got {type(county).__name__}")
    if headers not in ("en", "zh"):
        raise ValueError(f"headers must be 'en' or 'zh'; got {headers!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, spec in TABLES.items():
        frame = county.tables[name]
        if headers == "zh":
            frame = frame.copy()
            for column in spec.columns:
                if column.kind is ColumnKind.enum and column.enum is not None:
                    labels = {member.value: zh_label(member) for member in column.enum}
                    frame[column.name] = frame[column.name].map(labels)
            frame.columns = [column.zh[0] for column in spec.columns]
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8", date_format="%Y-%m-%d")
        paths[name] = path
    county.hidden_risk.reset_index().to_csv(out / "hidden_risk.csv", index=False, encoding="utf-8")
    return paths
