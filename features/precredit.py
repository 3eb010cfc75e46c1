"""Point-in-time pre-credit features (信易贷 预授信), as of each application date.

One definition, :func:`build_features`, serves training (one row per funded loan, as of its
application date), batch scoring (every enterprise, as of one date: the 信易贷白名单) and
serving (one enterprise, as of today). Each row is computed from what the platform knew on
its date ``t`` and nothing later (DESIGN.md §5):

Own records (enterprise as subject), per kind group and window
    A window of W months is half-open: a record decided on d is in it when
    ``t − W months < d ≤ t``; ``all`` has no lower bound. Whether a record *counts* is
    decided by :func:`risk.publicity.active_mask` on t (the one rule of DESIGN.md §2):
    repaired (信用修复), removed and expired records do not count. With
    :attr:`FeatureConfig.include_inactive_history` (off by default, the policy flag of §2)
    extra ``own_negative_hist_*`` features count the negative records decided in the window
    that are no longer active on t. Administrative penalties are also counted per domain
    group (领域), with the number of domains and the largest count in one domain
    (屡禁不止 patterns).
Linked risk (:attr:`FeatureConfig.graph`)
    :func:`features.graph.graph_features` (the builder the warning uses too) on the
    **month-start cutoff** c ≤ t (``c`` = the first day of t's month; c = t when t is the
    first): own signal, linked risk *excluding the echo* of the enterprise's own records
    (see :mod:`features.graph`), path counts to linked parties with an active 失信 record on
    c, degree, and the related-enterprise group on c, all with the propagation settings of
    the deployment's :class:`risk.config.RiskConfig`. One cutoff per calendar month keeps the
    cost at one snapshot per month of applications instead of one per day, and the features
    are leak-free by construction because c ≤ t; records decided in (c, t] enter the own
    features but not the linked ones.
Financial capacity
    From the financial periods that ended strictly before t (``period_end < t``). Flows are
    annualised over the latest 12 months of available periods (relative to the newest
    period's end, so annual and quarterly filings mix), with the 12 months before that for
    trends; ``financials_age_months`` says how old the newest period is.
Enterprise and loans
    Age on t, kind, industry, region and registered capital (stored attributes; the contract
    keeps no history of them); earlier loans applied before t and those recorded 90+ days
    overdue or in default before t.

Categoricals (kind, industry, region) are returned as strings; the model integer-encodes them
with a logged vocabulary (:class:`features.encoding.CategoryEncoder`).

The feature catalog (:func:`feature_specs`, a :class:`features.catalog.FeatureCatalog`) gives
each feature its monotone sign (+1: more means higher default risk) and the concept it belongs
to (:data:`features.catalog.CONCEPTS`), which groups contributions into reasons with Chinese
and English texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import KIND_GROUP_CONCEPTS, TAX_GRADE_SCORES, FeatureCatalog, FeatureSpec
from features.data import PlatformData
from features.graph import GROUP_RULE, GROUP_RULES, LEGACY_GROUP_RULE, graph_features
from features.history import (
    DOMAIN_GROUPS,
    KIND_GROUPS,
    POSITIVE_GROUPS,
    enterprise_records,
    row_counts,
    row_values,
    window_name,
)
from risk.contract import NEGATIVE_KINDS, LoanStatus, RecordKind, Severity
from risk.dates import as_of_timestamp, months_before
from risk.frames import require_frame
from risk.propagation import PropagationConfig
from risk.publicity import active_mask
from risk.validation import check_bool, check_choice, check_int

__all__ = [
    "BAD_LOAN_STATUSES",
    "FINANCIAL_FEATURES",
    "LOAN_FEATURES",
    "FeatureConfig",
    "applications_on",
    "build_features",
    "feature_specs",
    "first_bad_day",
    "month_start",
    "own_record_specs",
    "validate_applications",
]

BAD_LOAN_STATUSES: frozenset[LoanStatus] = frozenset({LoanStatus.overdue_90, LoanStatus.default})
"""Loan statuses that count as bad (不良: 90+ days overdue or in default)."""


def first_bad_day(loans: pd.DataFrame) -> npt.NDArray[np.datetime64]:
    """The first day each loan was bad (90+ days overdue or in default), NaT if never.

    The one rule of when a loan went bad: the earlier of ``overdue_90_date`` and
    ``default_date`` (the status history of revision 0009), and ``status_date`` when the
    latest status is bad and the history is blank (frames written before the history, or
    without its columns). A loan cured since keeps its first bad day.

    Parameters
    ----------
    loans
        Contract loans: ``status``, ``status_date`` and, optionally, the history columns.

    Returns
    -------
    numpy.ndarray of datetime64[s]
    """
    require_frame(loans, "loans", ("status", "status_date"))
    never = np.full(len(loans), np.datetime64("NaT"), dtype="datetime64[s]")

    def days(column: str) -> npt.NDArray[np.datetime64]:
        if column not in loans:
            return never
        return pd.to_datetime(loans[column]).to_numpy(dtype="datetime64[s]")

    bad_now = loans["status"].isin([s.value for s in BAD_LOAN_STATUSES]).to_numpy()
    latest = np.where(bad_now, days("status_date"), never)
    stacked = np.vstack([days("overdue_90_date"), days("default_date"), latest])
    known = ~np.isnat(stacked)
    earliest = np.where(known, stacked, np.datetime64("9999-12-31", "s")).min(axis=0)
    return np.where(known.any(axis=0), earliest, never)


FINANCIAL_FEATURES = (
    "tax_paid_12m",
    "tax_paid_prev_12m",
    "tax_trend",
    "tax_grade_score",
    "employees",
    "employees_trend",
    "utility_on_time",
    "procurement_12m",
    "financials_age_months",
)
"""The financial-capacity features, from the periods that ended before t."""

LOAN_FEATURES = ("prior_loans", "prior_bad_loans")
"""The platform-loan history features."""

_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = _DAYS_PER_YEAR / 12


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class FeatureConfig:
    """What :func:`build_features` computes (frozen, validated on construction).

    Parameters
    ----------
    windows_months
        Own-history windows in months besides ``all``: distinct integers in [1, 120]
        (default 12 and 24).
    penalty_window_months
        Window of the per-domain penalty counts, in [1, 120] (default 24).
    include_inactive_history
        Also count negative records that are no longer active on t (repaired, removed,
        expired) as history features (DESIGN.md §2 policy flag; default off).
    graph
        Compute the linked-risk features (default on); off gives a self-only model. Their
        propagation settings are not part of this config: they are the deployment's
        :class:`risk.config.RiskConfig`'s, given to :func:`build_features`.
    group_rule
        Which roles join the related groups of ``group_size`` and ``group_dishonest``, among
        :data:`features.graph.GROUP_RULES` (default :data:`features.graph.GROUP_RULE`,
        control and ownership). Saved with every model, so that it is scored with the
        groups it was trained on; :meth:`from_dict` reads a model saved without it as one
        trained on :data:`features.graph.LEGACY_GROUP_RULE`.

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, as ``"<field> must be <rule>; got <value>"``.
    """

    windows_months: tuple[int, ...] = (12, 24)
    penalty_window_months: int = 24
    include_inactive_history: bool = False
    graph: bool = True
    group_rule: str = GROUP_RULE

    def __post_init__(self) -> None:
        windows = self.windows_months
        if isinstance(windows, str) or not isinstance(windows, Sequence):
            raise TypeError(
                f"windows_months must be a sequence of ints; got {type(windows).__name__}"
            )
        checked = tuple(check_int("windows_months[]", w, 1, 120) for w in windows)
        if not checked or len(set(checked)) != len(checked):
            raise ValueError(f"windows_months must be distinct and non-empty; got {windows!r}")
        object.__setattr__(self, "windows_months", tuple(sorted(checked)))
        object.__setattr__(
            self,
            "penalty_window_months",
            check_int("penalty_window_months", self.penalty_window_months, 1, 120),
        )
        check_bool("include_inactive_history", self.include_inactive_history)
        check_bool("graph", self.graph)
        check_choice("group_rule", self.group_rule, GROUP_RULES)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready parameters."""
        return {
            "windows_months": list(self.windows_months),
            "penalty_window_months": self.penalty_window_months,
            "include_inactive_history": self.include_inactive_history,
            "graph": self.graph,
            "group_rule": self.group_rule,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureConfig:
        """Rebuild a config from :meth:`to_dict` output.

        The ``propagation`` entry that models registered before the
        :class:`risk.config.RiskConfig` stored here is ignored: the propagation settings are
        the risk config's (logged with the run as ``risk_config``). A model saved without
        ``group_rule`` was trained before issue 15, on
        :data:`features.graph.LEGACY_GROUP_RULE`: that is the rule it gets, not today's
        default.
        """
        return cls(
            windows_months=tuple(data["windows_months"]),
            penalty_window_months=int(data["penalty_window_months"]),
            include_inactive_history=bool(data["include_inactive_history"]),
            graph=bool(data["graph"]),
            group_rule=data.get("group_rule", LEGACY_GROUP_RULE),
        )


# --------------------------------------------------------------------------- catalog


def own_record_specs(config: FeatureConfig) -> list[FeatureSpec]:
    """The catalog entries of the own-record counts, in column order, with the PD's signs.

    The counts of active records by kind group and window, the recent penalties, the
    positive records and (``include_inactive_history``) the inactive history: the columns
    :func:`build_features` computes from an enterprise's own records, which the learned
    warning reuses (:func:`features.warning.warning_feature_specs`, with its own signs).

    Parameters
    ----------
    config
        The windows and the history flag.

    Returns
    -------
    list of features.catalog.FeatureSpec
    """
    windows: list[int | None] = [*config.windows_months, None]
    specs = [
        FeatureSpec(f"own_{group}_{window_name(months)}", KIND_GROUP_CONCEPTS[group], 1)
        for group in KIND_GROUPS
        for months in windows
    ]
    pw = config.penalty_window_months
    specs += [
        FeatureSpec(f"own_serious_{pw}m", "record_severity", 1),
        FeatureSpec(f"own_penalty_amount_{pw}m", "penalties", 1),
        *(FeatureSpec(f"penalty_{g}_{pw}m", "penalties", 1) for g in DOMAIN_GROUPS),
        FeatureSpec(f"penalty_domains_{pw}m", "penalties", 1),
        FeatureSpec(f"penalty_max_domain_{pw}m", "penalties", 1),
        FeatureSpec("own_red_list_all", "positive_records", -1),
        FeatureSpec("own_licence_all", "positive_records", 0),
    ]
    if config.include_inactive_history:
        specs += [
            FeatureSpec(f"own_negative_hist_{window_name(m)}", "past_records", 1) for m in windows
        ]
        specs.append(FeatureSpec("own_dishonest_hist_all", "past_records", 1))
    return specs


def feature_specs(config: FeatureConfig | None = None) -> FeatureCatalog:
    """The catalog of features :func:`build_features` returns for ``config``, in column order.

    Parameters
    ----------
    config
        Default ``FeatureConfig()``.

    Returns
    -------
    features.catalog.FeatureCatalog
    """
    config = FeatureConfig() if config is None else config
    specs = own_record_specs(config)
    if config.graph:
        specs += [
            FeatureSpec("own_signal", "record_severity", 1, source="graph"),
            FeatureSpec("linked_risk", "linked_risk", 1, source="graph"),
            FeatureSpec("linked_dishonest_1hop", "linked_risk", 1, source="graph"),
            FeatureSpec("linked_dishonest_2hop", "linked_risk", 1, source="graph"),
            FeatureSpec("group_dishonest", "linked_risk", 1, source="graph"),
            FeatureSpec("neighbours", "network", 0, source="graph"),
            FeatureSpec("paths_2hop", "network", 0, source="graph"),
            FeatureSpec("group_size", "network", 0, source="graph"),
        ]
    specs += [
        FeatureSpec("tax_paid_12m", "tax_paid", -1),
        FeatureSpec("tax_paid_prev_12m", "tax_paid", -1),
        FeatureSpec("tax_trend", "tax_trend", -1),
        FeatureSpec("tax_grade_score", "tax_grade", -1),
        FeatureSpec("employees", "employment", -1),
        FeatureSpec("employees_trend", "employment_trend", -1),
        FeatureSpec("utility_on_time", "utilities", -1),
        FeatureSpec("procurement_12m", "procurement", 0),
        FeatureSpec("financials_age_months", "data_coverage", 0),
        FeatureSpec("age_years", "age", -1),
        FeatureSpec("registered_capital", "profile", 0),
        FeatureSpec("kind", "profile", 0, categorical=True),
        FeatureSpec("industry", "profile", 0, categorical=True),
        FeatureSpec("region", "region", 0, categorical=True),
        FeatureSpec("prior_loans", "loan_history", 0),
        FeatureSpec("prior_bad_loans", "loan_history", 1),
    ]
    return FeatureCatalog(specs)


# --------------------------------------------------------------------------- applications


def month_start(dates: pd.Series | pd.DatetimeIndex) -> npt.NDArray[np.datetime64]:
    """The first day of each date's month: the linked-risk cutoff c ≤ t of each application."""
    values = np.asarray(pd.DatetimeIndex(dates).to_numpy(), dtype="datetime64[s]")
    return values.astype("datetime64[M]").astype("datetime64[s]")


def validate_applications(applications: pd.DataFrame) -> pd.DataFrame:
    """Check an applications frame and return it with ``as_of`` as midnight ``datetime64[s]``.

    Parameters
    ----------
    applications
        Columns ``uscc`` and ``as_of`` (the application or scoring date), one row each.

    Raises
    ------
    TypeError
        If ``applications`` is not a DataFrame.
    InvalidFrameError
        If ``uscc`` or ``as_of`` is missing.
    ValueError
        If a date is missing or unreadable.
    """
    require_frame(applications, "applications", ("uscc", "as_of"))
    try:
        as_of = pd.to_datetime(applications["as_of"]).dt.normalize().astype("datetime64[s]")
    except (ValueError, TypeError) as error:
        raise ValueError(f"applications.as_of must be dates; got {error}") from None
    if as_of.isna().any():
        raise ValueError("applications.as_of must be dates; got a missing value")
    out = applications.copy()
    out["as_of"] = as_of
    out["uscc"] = applications["uscc"].astype(str)
    return out


def applications_on(data: PlatformData, as_of: date | pd.Timestamp | str) -> pd.DataFrame:
    """One application per enterprise active on ``as_of`` (:meth:`PlatformData.active_on`).

    Returns
    -------
    pandas.DataFrame
        Columns ``uscc`` and ``as_of``: the batch the 信易贷白名单 is scored on.
    """
    t = as_of_timestamp(as_of)
    ids = data.enterprises["uscc"].astype(str).to_numpy()
    active = data.active_on(ids, t)
    frame = pd.DataFrame({"uscc": ids[active]})
    frame["as_of"] = np.full(len(frame), t.to_datetime64(), dtype="datetime64[s]")
    return frame


# --------------------------------------------------------------------------- builders


def _own_record_features(
    data: PlatformData, uscc: np.ndarray, t: np.ndarray, config: FeatureConfig
) -> dict[str, npt.NDArray[np.float64]]:
    n = len(uscc)
    pairs, row, on = enterprise_records(data, uscc, t)
    decided = pairs["decided"].to_numpy(dtype="datetime64[s]")
    known = decided <= on
    pairs, row, on, decided = pairs[known], row[known], on[known], decided[known]
    active = active_mask(decided, pairs["publicity_end"], pairs["repaired"], pairs["removed"], on)
    kind = pairs["kind"].to_numpy(dtype=object)
    negative = np.isin(kind, [k.value for k in NEGATIVE_KINDS])
    in_window: dict[int | None, np.ndarray] = {None: np.ones(len(pairs), dtype=bool)}
    for length in {*config.windows_months, config.penalty_window_months}:
        in_window[length] = decided > months_before(t, length)[row]

    out: dict[str, npt.NDArray[np.float64]] = {}
    windows: list[int | None] = [*config.windows_months, None]
    for group, kinds in KIND_GROUPS.items():
        member = active & np.isin(kind, [k.value for k in kinds])
        for months in windows:
            out[f"own_{group}_{window_name(months)}"] = row_counts(
                row[member & in_window[months]], n
            )
    pw = config.penalty_window_months
    recent = active & in_window[pw]
    serious = (pairs["severity"] == Severity.serious.value).to_numpy()
    out[f"own_serious_{pw}m"] = row_counts(row[recent & negative & serious], n)
    penalty = recent & (kind == RecordKind.administrative_penalty.value)
    amount = pairs["amount"].fillna(0.0).to_numpy(dtype=np.float64)
    out[f"own_penalty_amount_{pw}m"] = row_counts(row[penalty], n, amount[penalty])
    domain = pairs["domain"].to_numpy(dtype=object)
    for group, domains in DOMAIN_GROUPS.items():
        hit = penalty & np.isin(domain, [d.value for d in domains])
        out[f"penalty_{group}_{pw}m"] = row_counts(row[hit], n)
    per_domain = pd.DataFrame({"row": row[penalty], "domain": domain[penalty]}).value_counts()
    by_row = per_domain.groupby(level="row")
    out[f"penalty_domains_{pw}m"] = row_values(by_row.size(), n)
    out[f"penalty_max_domain_{pw}m"] = row_values(by_row.max(), n)
    for group, kinds in POSITIVE_GROUPS.items():
        member = active & np.isin(kind, [k.value for k in kinds])
        out[f"own_{group}_all"] = row_counts(row[member], n)
    if config.include_inactive_history:
        past = negative & ~active
        for months in windows:
            out[f"own_negative_hist_{window_name(months)}"] = row_counts(
                row[past & in_window[months]], n
            )
        dishonest = np.isin(kind, [k.value for k in KIND_GROUPS["dishonest"]])
        out["own_dishonest_hist_all"] = row_counts(row[past & dishonest], n)
    return out


def _financial_features(
    data: PlatformData, uscc: np.ndarray, t: np.ndarray
) -> dict[str, npt.NDArray[np.float64]]:
    n = len(uscc)
    out = {name: np.full(n, np.nan) for name in FINANCIAL_FEATURES}
    apps = pd.DataFrame({"row": np.arange(n), "uscc": uscc})
    pairs = apps.merge(data.financials, on="uscc", how="inner", sort=False)
    row = pairs["row"].to_numpy(dtype=np.int64)
    end = pairs["period_end"].to_numpy(dtype="datetime64[s]")
    ended = end < t[row]
    pairs, row, end = pairs[ended], row[ended], end[ended]
    if not len(pairs):
        return out
    latest = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    newest = pd.Series(end).groupby(row).max()
    latest[newest.index.to_numpy()] = newest.to_numpy(dtype="datetime64[s]")
    has = ~np.isnat(latest)
    year_ago = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    two_years_ago = year_ago.copy()
    year_ago[has] = months_before(latest[has], 12)
    two_years_ago[has] = months_before(latest[has], 24)
    recent = end > year_ago[row]
    previous = ~recent & (end > two_years_ago[row])
    months = pairs["period_months"].to_numpy(dtype=np.float64)

    def annualised(column: str, rows_in: np.ndarray) -> npt.NDArray[np.float64]:
        values = pairs[column].to_numpy(dtype=np.float64)
        use = rows_in & ~np.isnan(values)
        total = row_counts(row[use], n, values[use])
        covered = row_counts(row[use], n, months[use])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(covered > 0, total * 12.0 / covered, np.nan)

    def latest_value(values: npt.NDArray[np.float64], rows_in: np.ndarray) -> np.ndarray:
        use = rows_in & ~np.isnan(values)
        frame = pd.DataFrame({"row": row[use], "end": end[use], "value": values[use]})
        last = frame.sort_values(["row", "end"]).groupby("row")["value"].last()
        result = np.full(n, np.nan)
        result[last.index.to_numpy()] = last.to_numpy(dtype=np.float64)
        return result

    out["tax_paid_12m"] = annualised("tax_paid", recent)
    out["tax_paid_prev_12m"] = annualised("tax_paid", previous)
    out["tax_trend"] = np.log1p(out["tax_paid_12m"]) - np.log1p(out["tax_paid_prev_12m"])
    out["procurement_12m"] = annualised("procurement_amount", recent)
    grade = pairs["tax_grade"].map(TAX_GRADE_SCORES).to_numpy(dtype=np.float64)
    out["tax_grade_score"] = latest_value(grade, recent)
    employees = pairs["insured_employees"].to_numpy(dtype=np.float64, na_value=np.nan)
    out["employees"] = latest_value(employees, recent)
    prior_employees = latest_value(employees, previous)
    out["employees_trend"] = np.log1p(out["employees"]) - np.log1p(prior_employees)
    utility = pairs["utility_on_time"].to_numpy(dtype=np.float64)
    use = recent & ~np.isnan(utility)
    count = row_counts(row[use], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["utility_on_time"] = np.where(
            count > 0, row_counts(row[use], n, utility[use]) / count, np.nan
        )
    age_days = (t - latest) / np.timedelta64(1, "D")
    out["financials_age_months"] = np.where(has, age_days / _DAYS_PER_MONTH, np.nan)
    return out


def _enterprise_features(
    data: PlatformData, uscc: np.ndarray, t: np.ndarray
) -> dict[str, np.ndarray]:
    ents = data.enterprises
    position = pd.Index(ents["uscc"].astype(str)).get_indexer(uscc)
    found = position >= 0
    safe = np.where(found, position, 0)

    def column(name: str) -> np.ndarray:
        values = ents[name].to_numpy()[safe].astype(object)
        values[~found] = None
        return values

    founded = ents["founded"].to_numpy(dtype="datetime64[s]")[safe]
    age = (t - founded) / np.timedelta64(1, "D") / _DAYS_PER_YEAR
    capital = ents["registered_capital"].to_numpy(dtype=np.float64)[safe]
    return {
        "age_years": np.where(found, age, np.nan),
        "registered_capital": np.where(found, capital, np.nan),
        "kind": column("kind"),
        "industry": column("industry"),
        "region": column("region"),
    }


def _loan_features(
    data: PlatformData, uscc: np.ndarray, t: np.ndarray
) -> dict[str, npt.NDArray[np.float64]]:
    n = len(uscc)
    apps = pd.DataFrame({"row": np.arange(n), "uscc": uscc})
    loans = data.loans[["uscc", "applied"]].assign(first_bad=first_bad_day(data.loans))
    pairs = apps.merge(loans, on="uscc")
    row = pairs["row"].to_numpy(dtype=np.int64)
    on = t[row]
    earlier = pairs["applied"].to_numpy(dtype="datetime64[s]") < on
    first_bad = pairs["first_bad"].to_numpy(dtype="datetime64[s]")
    bad = ~np.isnat(first_bad) & (first_bad < on)
    return {
        "prior_loans": row_counts(row[earlier], n),
        "prior_bad_loans": row_counts(row[earlier & bad], n),
    }


def build_features(
    data: PlatformData,
    applications: pd.DataFrame,
    config: FeatureConfig | None = None,
    *,
    propagation: PropagationConfig | None = None,
) -> pd.DataFrame:
    """Compute the pre-credit features of each application as of its date.

    Parameters
    ----------
    data
        The platform's tables (:class:`features.data.PlatformData`).
    applications
        Columns ``uscc`` and ``as_of`` (application date for training, scoring date
        otherwise); other columns are ignored.
    config
        Default ``FeatureConfig()``.
    propagation
        The own-signal and linked-risk settings of the graph features: the deployment's
        :class:`risk.config.RiskConfig` ``propagation`` (required when ``config.graph``).

    Returns
    -------
    pandas.DataFrame
        Same index as ``applications``, the columns of :func:`feature_specs` in order:
        ``float64`` numbers (``NaN`` when unknown, e.g. no financial period before t) and
        strings for the categoricals (``None`` when unknown). An enterprise that is not in
        ``data`` gets missing values throughout (and is declined by eligibility).

    Raises
    ------
    TypeError
        If ``data`` is not a :class:`PlatformData`, ``config`` not a :class:`FeatureConfig`,
        or ``propagation`` not a :class:`risk.propagation.PropagationConfig` while
        ``config.graph`` is on.
    InvalidFrameError, ValueError
        From :func:`validate_applications`.

    Notes
    -----
    Nothing dated after an application's ``as_of`` t can change its row: records count
    only if decided ≤ t and active on t; the graph is cut on c ≤ t; financial periods must
    have ended before t; earlier loans must have been applied for before t and their bad
    status recorded before t. ``tests/features/test_precredit.py`` checks this by rewriting
    every later-dated fact of a county.
    """
    if not isinstance(data, PlatformData):
        raise TypeError(f"data must be a PlatformData; got {type(data).__name__}")
    config = FeatureConfig() if config is None else config
    if not isinstance(config, FeatureConfig):
        raise TypeError(f"config must be a FeatureConfig; got {type(config).__name__}")
    graph_settings = propagation if config.graph else None
    if config.graph and not isinstance(graph_settings, PropagationConfig):
        raise TypeError(
            "propagation must be a PropagationConfig (the RiskConfig's) when the graph "
            f"features are on; got {type(propagation).__name__}"
        )
    apps = validate_applications(applications)
    uscc = apps["uscc"].to_numpy(dtype=object)
    t = apps["as_of"].to_numpy(dtype="datetime64[s]")
    columns: dict[str, np.ndarray] = {}
    specs = feature_specs(config)
    columns.update(_own_record_features(data, uscc, t, config))
    if graph_settings is not None:
        columns.update(
            graph_features(
                data,
                uscc,
                month_start(pd.DatetimeIndex(t)),
                specs.of_source("graph").names,
                graph_settings,
                dishonest_history=config.include_inactive_history,
                group_rule=config.group_rule,
            )
        )
    columns.update(_financial_features(data, uscc, t))
    columns.update(_enterprise_features(data, uscc, t))
    columns.update(_loan_features(data, uscc, t))
    frame = pd.DataFrame(
        {
            spec.name: (
                pd.Series(columns[spec.name], dtype=object)
                if spec.categorical
                else np.asarray(columns[spec.name], dtype=np.float64)
            )
            for spec in specs
        }
    )
    frame.index = apps.index
    return frame
