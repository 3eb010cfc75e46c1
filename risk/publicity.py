"""When a record counts: publicity terms and the one "is this record active" rule.

A record is **active** on date t when ``decided ≤ t < publicity_end`` and it is neither
repaired (信用修复) nor removed (移出) on or before t. :func:`active_mask` is the only place
this rule is written; everything that asks the question (warnings, features, eligibility,
graph signals) calls it.

When a file gives no 公示截止期, :func:`resolve_publicity` derives it from the regime in force
for the record, and the regime is stored on the record:

============================  ===========================================================
regime                         term from the decision date when publicity_end is missing
============================  ===========================================================
``dishonest_debtor``           失信被执行人: 2 years (extendable 1–3; removed early on
                               performance, which the ``removed`` date records)
``market_regulation``          国家企业信用信息公示系统: minor 3 months, others 3 years
``ndrc_2026``                  NDRC 信用修复管理办法 (decisions from 2026-04-01): minor not
                               published (term 0), general 1 year, serious 3 years
``order_58``                   NDRC Order No. 58 (earlier decisions): minor 3 months (1 year
                               in work safety and health: food, drugs, special equipment,
                               fire), general and serious 3 years
``open_ended``                 positive records (红名单, 许可, 承诺): public until removed
============================  ===========================================================

Where a regime gives a range (NDRC general: 3 months–1 year), the record stays public for the
longest term the regime allows; an earlier repair or removal ends it sooner. Minor records use
the shortest term, as the regimes publish them.

References
----------
国家发展改革委《信用修复管理办法》(2026-04-01 施行); 国家发展改革委令第58号《失信行为纠正后的
信用信息修复管理办法（试行）》; 《企业信息公示暂行条例》; 最高人民法院《关于公布失信被执行人
名单信息的若干规定》.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from risk.contract import POSITIVE_KINDS, Domain, RecordKind, Regime, Severity

__all__ = [
    "NDRC_2026_IN_FORCE",
    "active_mask",
    "choose_regime",
    "is_active",
    "resolve_publicity",
    "term_months",
]

NDRC_2026_IN_FORCE = date(2026, 4, 1)
_ORDER_58_ONE_YEAR_DOMAINS = frozenset({Domain.work_safety, Domain.health})


def choose_regime(kind: str, domain: str, decided: date | pd.Timestamp) -> Regime:
    """Return the regime that fixes the publicity term of a record without an explicit end."""
    domain = Domain(domain)  # raises ValueError on an unknown code
    if RecordKind(kind) in POSITIVE_KINDS:
        return Regime.open_ended
    if kind == RecordKind.dishonest_debtor:
        return Regime.dishonest_debtor
    if domain == Domain.market_regulation:
        return Regime.market_regulation
    if pd.Timestamp(decided) >= pd.Timestamp(NDRC_2026_IN_FORCE):
        return Regime.ndrc_2026
    return Regime.order_58


def term_months(regime: str, domain: str, severity: str) -> int | None:
    """Return the publicity term in months under a regime; ``None`` means open-ended.

    Raises
    ------
    ValueError
        For ``Regime.explicit``, which has no term of its own.
    """
    severity = Severity(severity)  # raises ValueError on an unknown code, in every regime
    domain = Domain(domain)
    match Regime(regime):
        case Regime.open_ended:
            return None
        case Regime.dishonest_debtor:
            return 24
        case Regime.market_regulation:
            return 3 if severity == Severity.minor else 36
        case Regime.ndrc_2026:
            return {Severity.minor: 0, Severity.general: 12, Severity.serious: 36}[severity]
        case Regime.order_58:
            if severity == Severity.minor:
                return 12 if domain in _ORDER_58_ONE_YEAR_DOMAINS else 3
            return 36
        case Regime.explicit:
            raise ValueError("regime 'explicit' needs a publicity_end from the record itself")
    raise AssertionError(regime)  # pragma: no cover


def resolve_publicity(records: pd.DataFrame) -> pd.DataFrame:
    """Fill ``publicity_end`` and ``regime`` for a frame of records (vectorised by group).

    Parameters
    ----------
    records
        Columns ``kind``, ``domain``, ``severity``, ``decided`` (datetime64) and optionally
        ``publicity_end`` and ``regime``.

    Returns
    -------
    DataFrame
        Same index, columns ``publicity_end`` (NaT for open-ended) and ``regime``. A given
        publicity_end is kept, with regime ``explicit`` unless the row names one; a given regime
        other than ``explicit`` is honoured when deriving the end.
    """
    n = len(records)
    decided = pd.to_datetime(records["decided"])
    given_end = (
        pd.to_datetime(records["publicity_end"])
        if "publicity_end" in records
        else pd.Series(pd.NaT, index=records.index, dtype="datetime64[s]")
    )
    given_regime = (
        records["regime"].astype(object).where(records["regime"].notna(), None)
        if "regime" in records
        else pd.Series([None] * n, index=records.index, dtype=object)
    )
    regime = np.empty(n, dtype=object)
    months = np.full(n, -1, dtype=np.int64)  # -1: explicit or open-ended
    kinds = records["kind"].to_numpy()
    domains = records["domain"].to_numpy()
    severities = records["severity"].to_numpy()
    has_end = given_end.notna().to_numpy()
    for i in range(n):
        named = given_regime.iat[i]
        if has_end[i]:
            regime[i] = named or Regime.explicit.value
            continue
        chosen = (
            Regime(named)
            if named and named != Regime.explicit
            else choose_regime(kinds[i], domains[i], decided.iat[i])
        )
        regime[i] = chosen.value
        term = term_months(chosen, domains[i], severities[i])
        months[i] = -1 if term is None else term

    end = given_end.astype("datetime64[s]").copy()
    for m in np.unique(months[months >= 0]):
        rows = months == m
        end.loc[rows] = decided.loc[rows] + pd.DateOffset(months=int(m))
    return pd.DataFrame({"publicity_end": end, "regime": regime}, index=records.index)


def active_mask(
    decided: Any,
    publicity_end: Any,
    repaired: Any,
    removed: Any,
    on: date | pd.Timestamp | Any,
) -> np.ndarray:
    """Return which records are active on ``on``: the one rule of DESIGN.md §2.

    A record is active when ``decided ≤ on < publicity_end`` and neither ``repaired`` nor
    ``removed`` is on or before ``on``. A missing publicity_end means open-ended (positive
    records); missing repaired / removed dates mean "not repaired / not removed".

    Parameters
    ----------
    decided, publicity_end, repaired, removed
        Array-likes of dates (missing values allowed except in ``decided``), or scalars.
    on
        The as-of date, or an array of dates of the same length (one per record).

    Returns
    -------
    numpy.ndarray of bool
    """
    t = _as_datetime(on)
    d = _as_datetime(decided)
    end = _as_datetime(publicity_end)
    rep = _as_datetime(repaired)
    rem = _as_datetime(removed)
    started = d <= t
    not_ended = np.isnat(end) | (t < end)
    not_repaired = np.isnat(rep) | (rep > t)
    not_removed = np.isnat(rem) | (rem > t)
    return np.asarray(started & not_ended & not_repaired & not_removed, dtype=bool)


def is_active(record: Mapping[str, Any], on: date | pd.Timestamp) -> bool:
    """Answer for one record (a mapping with decided, publicity_end, repaired, removed)."""
    return bool(
        active_mask(
            record["decided"],
            record.get("publicity_end"),
            record.get("repaired"),
            record.get("removed"),
            on,
        ).item()
    )


def _as_datetime(values: Any) -> np.ndarray:
    if values is None:
        return np.array(np.datetime64("NaT"), dtype="datetime64[s]")
    if np.isscalar(values) or isinstance(values, date | pd.Timestamp):
        return np.array(pd.Timestamp(values).to_datetime64(), dtype="datetime64[s]")
    return np.asarray(pd.to_datetime(pd.Series(values)).to_numpy(), dtype="datetime64[s]")
