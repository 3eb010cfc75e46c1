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
from enum import StrEnum
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
    """Fill ``publicity_end`` and ``regime`` for a frame of records (vectorised).

    The same rules as :func:`choose_regime` and :func:`term_months` applied to whole columns
    (a test checks them against those functions row by row): one pass of numpy selections
    for the regime and the term, then one month shift per distinct term.

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

    Raises
    ------
    ValueError
        If a record whose end is derived carries an unknown regime, kind, domain or severity
        code.
    """
    n = len(records)
    decided = pd.to_datetime(records["decided"])
    given_end = (
        pd.to_datetime(records["publicity_end"])
        if "publicity_end" in records
        else pd.Series(pd.NaT, index=records.index, dtype="datetime64[s]")
    )
    has_end = given_end.notna().to_numpy()
    derive = ~has_end
    given = (
        records["regime"].to_numpy(dtype=object)
        if "regime" in records
        else np.full(n, None, dtype=object)
    )
    has_name = ~pd.isna(given)
    has_name[has_name] = given[has_name] != ""
    named = _Codes(given, Regime)
    use_named = derive & has_name & (named.codes != named.of(Regime.explicit))
    choose = derive & ~use_named
    kind = _Codes(records["kind"], RecordKind)
    domain = _Codes(records["domain"], Domain)
    severity = _Codes(records["severity"], Severity)
    named.check(use_named)
    kind.check(choose)
    domain.check(derive)
    severity.check(derive)

    # The regime: the row's own name, else choose_regime's order of precedence.
    chosen = np.select(
        [
            np.isin(kind.codes, [kind.of(k) for k in POSITIVE_KINDS]),
            kind.codes == kind.of(RecordKind.dishonest_debtor),
            domain.codes == domain.of(Domain.market_regulation),
            (decided >= pd.Timestamp(NDRC_2026_IN_FORCE)).to_numpy(),
        ],
        [
            named.of(Regime.open_ended),
            named.of(Regime.dishonest_debtor),
            named.of(Regime.market_regulation),
            named.of(Regime.ndrc_2026),
        ],
        named.of(Regime.order_58),
    )
    regime = np.where(use_named, named.codes, chosen)

    # The term in months (term_months); -1: open-ended (or an explicit end).
    minor = severity.codes == severity.of(Severity.minor)
    general = severity.codes == severity.of(Severity.general)
    one_year_minor = np.isin(domain.codes, [domain.of(d) for d in _ORDER_58_ONE_YEAR_DOMAINS])
    terms = {
        Regime.open_ended: np.full(n, -1),
        Regime.dishonest_debtor: np.full(n, 24),
        Regime.market_regulation: np.where(minor, 3, 36),
        Regime.ndrc_2026: np.select([minor, general], [0, 12], 36),
        Regime.order_58: np.where(minor, np.where(one_year_minor, 12, 3), 36),
    }
    months = np.full(n, -1, dtype=np.int64)
    for name, term in terms.items():
        rows = derive & (regime == named.of(name))
        months[rows] = term[rows]

    end = given_end.astype("datetime64[s]").copy()
    for m in np.unique(months[months >= 0]):
        rows = months == m
        end.loc[rows] = decided.loc[rows] + pd.DateOffset(months=int(m))
    labels = np.array([r.value for r in Regime], dtype=object)[np.maximum(regime, 0)]
    kept = has_end & has_name  # an explicit end keeps the regime the row names, as given
    labels[kept] = given[kept]
    labels[has_end & ~has_name] = Regime.explicit.value
    return pd.DataFrame({"publicity_end": end, "regime": labels}, index=records.index)


class _Codes:
    """A column of enum codes (strings or members) as integers: the member's position in the
    enum, -1 for a value it does not know (a missing one included)."""

    def __init__(self, values: Any, enum: type[StrEnum]) -> None:
        self.enum = enum
        self.members = list(enum)
        self.values = np.asarray(values, dtype=object)
        # Factorise (hashing in C), then look the few distinct values up in the enum.
        found, distinct = pd.factorize(self.values, use_na_sentinel=True)
        position = {m.value: i for i, m in enumerate(self.members)}
        lookup = np.array([position.get(v, -1) for v in distinct] + [-1], dtype=np.int64)
        self.codes = lookup[found]  # the sentinel -1 of a missing value picks the last -1

    def of(self, member: StrEnum) -> int:
        return self.members.index(member)

    def check(self, rows: np.ndarray) -> None:
        """Raise the enum's own ``ValueError`` for the first unknown code among ``rows``."""
        unknown = rows & (self.codes < 0)
        if unknown.any():
            self.enum(self.values[np.flatnonzero(unknown)[0]])  # "'x' is not a valid <Enum>"
            raise AssertionError("unreachable")  # pragma: no cover


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
