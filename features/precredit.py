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
    Computed on the **month-start cutoff** c ≤ t (``c`` = the first day of t's month; c = t
    when t is the first): the graph of roles present on c (:class:`risk.graph.GraphSnapshot`),
    own signals and linked risk on c (:class:`risk.propagation.RiskPropagator`), path counts
    to linked parties with an active 失信 record on c, and the related-enterprise group
    (:func:`risk.ownership.related_groups`) on c. One cutoff per calendar month keeps the
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

The feature catalog (:func:`feature_specs`) gives each feature its monotone sign (+1: more
means higher default risk) and the concept it belongs to (:data:`CONCEPTS`), which groups
contributions into reasons with Chinese and English texts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from features.data import PlatformData
from risk.contract import (
    NEGATIVE_KINDS,
    Domain,
    EnterpriseKind,
    LoanStatus,
    RecordKind,
    Severity,
    SubjectType,
    TaxGrade,
    zh_label,
)
from risk.dates import as_of_timestamp, months_before
from risk.frames import require_frame
from risk.graph import GraphSnapshot
from risk.groups import related_groups
from risk.propagation import PropagationConfig, RiskPropagator
from risk.publicity import active_mask
from risk.validation import check_bool, check_int

__all__ = [
    "BAD_LOAN_STATUSES",
    "CONCEPTS",
    "DOMAIN_GROUPS",
    "KIND_GROUPS",
    "LINKED_DISHONEST_KINDS",
    "Concept",
    "FeatureConfig",
    "FeatureSpec",
    "applications_on",
    "build_features",
    "feature_specs",
    "month_start",
    "validate_applications",
]

KIND_GROUPS: Mapping[str, frozenset[RecordKind]] = MappingProxyType(
    {
        "dishonest": frozenset(
            {
                RecordKind.dishonest_debtor,
                RecordKind.serious_dishonesty_list,
                RecordKind.serious_violation,
            }
        ),
        "court": frozenset({RecordKind.judgment_debtor, RecordKind.consumption_restriction}),
        "penalty": frozenset({RecordKind.administrative_penalty}),
        "tax": frozenset({RecordKind.tax_violation, RecordKind.tax_arrears}),
        "abnormal": frozenset({RecordKind.abnormal_operation}),
        "breach": frozenset({RecordKind.wage_arrears, RecordKind.commitment_breach}),
    }
)
"""Negative record kinds grouped for the own-history counts (every negative kind once)."""

_POSITIVE_GROUPS: Mapping[str, frozenset[RecordKind]] = MappingProxyType(
    {
        "red_list": frozenset({RecordKind.red_list}),
        "licence": frozenset({RecordKind.license, RecordKind.commitment}),
    }
)

DOMAIN_GROUPS: Mapping[str, frozenset[Domain]] = MappingProxyType(
    {
        "market": frozenset({Domain.market_regulation}),
        "safety_environment": frozenset(
            {Domain.work_safety, Domain.health, Domain.ecology_environment}
        ),
        "taxation": frozenset({Domain.taxation}),
        "labour": frozenset({Domain.human_resources}),
        "court_finance": frozenset({Domain.court, Domain.finance}),
        "other": frozenset(
            {
                Domain.transport,
                Domain.housing_construction,
                Domain.culture_tourism,
                Domain.agriculture,
                Domain.natural_resources,
                Domain.other,
            }
        ),
    }
)
"""Domains (领域) grouped for the penalty counts (every domain once)."""

LINKED_DISHONEST_KINDS: frozenset[RecordKind] = KIND_GROUPS["dishonest"] | {
    RecordKind.tax_violation,
    RecordKind.consumption_restriction,
}
"""Kinds that make a linked party (person or enterprise) count as dishonest (失信关联方)."""

BAD_LOAN_STATUSES: frozenset[LoanStatus] = frozenset({LoanStatus.overdue_90, LoanStatus.default})
"""Loan statuses that count as bad (不良: 90+ days overdue or in default)."""

_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = _DAYS_PER_YEAR / 12
_GRADE_SCORE: Mapping[str, float] = MappingProxyType(
    {TaxGrade.A: 5.0, TaxGrade.B: 4.0, TaxGrade.M: 3.0, TaxGrade.C: 2.0, TaxGrade.D: 1.0}
)
_SCORE_GRADE = {score: str(grade) for grade, score in _GRADE_SCORE.items()}


# --------------------------------------------------------------------------- configuration


def _propagation_from_dict(flat: Mapping[str, Any]) -> PropagationConfig:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if "." in key:
            group, member = key.split(".", 1)
            nested.setdefault(group, {})[member] = value
        else:
            nested[key] = value
    return PropagationConfig(**nested)


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
        Compute the linked-risk features (default on); off gives a self-only model.
    propagation
        Weights, damping and hops of the linked risk (:class:`risk.propagation.PropagationConfig`).

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
    propagation: PropagationConfig = field(default_factory=PropagationConfig)

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
        if not isinstance(self.propagation, PropagationConfig):
            raise TypeError(
                f"propagation must be a PropagationConfig; got {type(self.propagation).__name__}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready parameters (the propagation config flattened)."""
        return {
            "windows_months": list(self.windows_months),
            "penalty_window_months": self.penalty_window_months,
            "include_inactive_history": self.include_inactive_history,
            "graph": self.graph,
            "propagation": self.propagation.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureConfig:
        """Rebuild a config from :meth:`to_dict` output."""
        return cls(
            windows_months=tuple(data["windows_months"]),
            penalty_window_months=int(data["penalty_window_months"]),
            include_inactive_history=bool(data["include_inactive_history"]),
            graph=bool(data["graph"]),
            propagation=_propagation_from_dict(data["propagation"]),
        )


# --------------------------------------------------------------------------- catalog


def _count(value: float, lang: str) -> str:
    return f"{value:.0f}"


def _amount(value: float, lang: str) -> str:  # 万元
    return f"{value:,.1f} 万元" if lang == "zh" else f"CNY {value * 1e4:,.0f}"


def _change(value: float, lang: str) -> str:  # a log ratio, shown as a percentage change
    return f"{math.expm1(value):+.0%}"


def _share(value: float, lang: str) -> str:
    return f"{value:.0%}"


def _years(value: float, lang: str) -> str:
    return f"{value:.1f} 年" if lang == "zh" else f"{value:.1f} years"


def _months(value: float, lang: str) -> str:
    return f"{value:.0f} 个月" if lang == "zh" else f"{value:.0f} months"


def _score(value: float, lang: str) -> str:
    return f"{value:.2f}"


def _grade(value: float, lang: str) -> str:
    return _SCORE_GRADE.get(float(value), "?")


def _text(value: Any, lang: str) -> str:
    return str(value)


def _value(value: Any, lang: str) -> str:
    if isinstance(value, float | int | np.floating | np.integer) and not isinstance(value, bool):
        return f"{float(value):.4g}"
    return str(value)


def _kind(value: Any, lang: str) -> str:
    try:
        return zh_label(EnterpriseKind(value)) if lang == "zh" else str(value).replace("_", " ")
    except ValueError:
        return str(value)


_FORMATTERS: Mapping[str, Callable[[Any, str], str]] = MappingProxyType(
    {
        "count": _count,
        "amount": _amount,
        "change": _change,
        "share": _share,
        "years": _years,
        "months": _months,
        "score": _score,
        "grade": _grade,
        "text": _text,
        "value": _value,
        "kind": _kind,
    }
)


@dataclass(frozen=True)
class Concept:
    """A readable group of features: the unit of a reason (原因).

    Parameters
    ----------
    code
        Stable identifier (``dishonest_lists``), returned with every reason.
    zh, en
        Text templates with ``{field}`` placeholders, filled with the formatted values of
        ``fields`` (e.g. ``"近12个月纳税 {tax_paid_12m}"``).
    fields
        Feature name → formatter name (``count``, ``amount``, ``change``, ``share``,
        ``years``, ``months``, ``score``, ``grade``, ``text``, ``value``, ``kind``).
    """

    code: str
    zh: str
    en: str
    fields: Mapping[str, str]

    def render(self, values: Mapping[str, Any], lang: str) -> str:
        """The text in ``lang`` (``"zh"`` or ``"en"``) for one row's ``values``.

        Each ``{field}`` of the template is replaced literally (field names may hold any
        character); missing values read 未知 / unknown.
        """
        unknown = "未知" if lang == "zh" else "unknown"
        text = self.zh if lang == "zh" else self.en
        for name, kind in self.fields.items():
            value = values.get(name)
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            text = text.replace(
                "{" + name + "}", unknown if missing else _FORMATTERS[kind](value, lang)
            )
        return text


def _concepts() -> Mapping[str, Concept]:
    items = (
        Concept(
            "dishonest_lists",
            "失信名单记录（有效）：共 {own_dishonest_all} 条，近12个月 {own_dishonest_12m} 条",
            "Active dishonesty-list records (dishonest debtor, serious dishonesty): "
            "{own_dishonest_all}, {own_dishonest_12m} in the last 12 months",
            {"own_dishonest_all": "count", "own_dishonest_12m": "count"},
        ),
        Concept(
            "court_enforcement",
            "被执行人、限制高消费记录（有效）：{own_court_all} 条",
            "Active court enforcement and consumption-restriction records: {own_court_all}",
            {"own_court_all": "count"},
        ),
        Concept(
            "penalties",
            "近24个月行政处罚（有效）：{own_penalty_24m} 次，涉及 {penalty_domains_24m} 个领域，"
            "罚款 {own_penalty_amount_24m}",
            "Active administrative penalties in the last 24 months: {own_penalty_24m} in "
            "{penalty_domains_24m} domains, fines {own_penalty_amount_24m}",
            {
                "own_penalty_24m": "count",
                "penalty_domains_24m": "count",
                "own_penalty_amount_24m": "amount",
            },
        ),
        Concept(
            "record_severity",
            "近24个月严重失信行为记录：{own_serious_24m} 条（信用风险信号 {own_signal}）",
            "Serious-severity records in the last 24 months: {own_serious_24m} "
            "(credit risk signal {own_signal})",
            {"own_serious_24m": "count", "own_signal": "score"},
        ),
        Concept(
            "tax_violations",
            "重大税收违法、欠税公告记录（有效）：{own_tax_all} 条",
            "Active tax-violation and tax-arrears records: {own_tax_all}",
            {"own_tax_all": "count"},
        ),
        Concept(
            "abnormal_operation",
            "经营异常名录记录（有效）：{own_abnormal_all} 条",
            "Active abnormal-operation listings: {own_abnormal_all}",
            {"own_abnormal_all": "count"},
        ),
        Concept(
            "breaches",
            "拖欠农民工工资、违背信用承诺记录（有效）：{own_breach_all} 条",
            "Active wage-arrears and commitment-breach records: {own_breach_all}",
            {"own_breach_all": "count"},
        ),
        Concept(
            "past_records",
            "已修复、移出或到期的失信记录：{own_negative_hist_all} 条",
            "Repaired, removed or expired negative records: {own_negative_hist_all}",
            {"own_negative_hist_all": "count"},
        ),
        Concept(
            "positive_records",
            "守信激励（红名单）记录：{own_red_list_all} 条，"
            "行政许可与信用承诺 {own_licence_all} 条",
            "Red-list (trustworthy) records: {own_red_list_all}; licences and credit "
            "commitments: {own_licence_all}",
            {"own_red_list_all": "count", "own_licence_all": "count"},
        ),
        Concept(
            "linked_risk",
            "关联方失信：直接关联失信主体 {linked_dishonest_1hop} 个，二度关联失信路径 "
            "{linked_dishonest_2hop} 条，同一关联企业群失信企业 {group_dishonest} 家"
            "（关联风险 {linked_risk}）",
            "Dishonest linked parties: {linked_dishonest_1hop} direct, "
            "{linked_dishonest_2hop} two-hop paths, {group_dishonest} in the related group "
            "(linked risk {linked_risk})",
            {
                "linked_dishonest_1hop": "count",
                "linked_dishonest_2hop": "count",
                "group_dishonest": "count",
                "linked_risk": "score",
            },
        ),
        Concept(
            "network",
            "关联关系：直接关联方 {neighbours} 个，关联企业群 {group_size} 家企业",
            "Relationships: {neighbours} direct linked parties, related group of "
            "{group_size} enterprises",
            {"neighbours": "count", "group_size": "count"},
        ),
        Concept(
            "tax_paid",
            "近12个月纳税 {tax_paid_12m}（同比 {tax_trend}）",
            "Tax paid over the last 12 months: {tax_paid_12m} ({tax_trend} year on year)",
            {"tax_paid_12m": "amount", "tax_trend": "change"},
        ),
        Concept(
            "tax_grade",
            "纳税信用级别：{tax_grade_score}",
            "Tax credit grade: {tax_grade_score}",
            {"tax_grade_score": "grade"},
        ),
        Concept(
            "employment",
            "参保职工 {employees} 人（同比 {employees_trend}）",
            "Insured employees: {employees} ({employees_trend} year on year)",
            {"employees": "count", "employees_trend": "change"},
        ),
        Concept(
            "utilities",
            "水电气按时缴费率 {utility_on_time}",
            "Utility bills paid on time: {utility_on_time}",
            {"utility_on_time": "share"},
        ),
        Concept(
            "procurement",
            "近12个月政府采购中标 {procurement_12m}",
            "Government procurement over the last 12 months: {procurement_12m}",
            {"procurement_12m": "amount"},
        ),
        Concept(
            "data_coverage",
            "最近一期经营数据距今 {financials_age_months}",
            "Newest financial period ended {financials_age_months} before",
            {"financials_age_months": "months"},
        ),
        Concept(
            "age", "成立年限 {age_years}", "In business for {age_years}", {"age_years": "years"}
        ),
        Concept(
            "profile",
            "{kind}，行业门类 {industry}，注册资本 {registered_capital}",
            "{kind}, industry section {industry}, registered capital {registered_capital}",
            {
                "kind": "kind",
                "industry": "text",
                "registered_capital": "amount",
            },
        ),
        Concept(
            "region",
            "所在地区 {region}",
            "Region {region}",
            {"region": "text"},
        ),
        Concept(
            "loan_history",
            "此前信易贷贷款 {prior_loans} 笔，其中逾期90天以上或违约 {prior_bad_loans} 笔",
            "Earlier platform loans: {prior_loans}, of which {prior_bad_loans} 90+ days "
            "overdue or in default",
            {"prior_loans": "count", "prior_bad_loans": "count"},
        ),
    )
    return MappingProxyType({c.code: c for c in items})


CONCEPTS: Mapping[str, Concept] = _concepts()
"""Every concept a pre-credit feature belongs to, by code."""


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of the catalog.

    Attributes
    ----------
    name : str
        Column name.
    concept : str
        Code of its :class:`Concept`.
    monotone : int
        +1 if more means higher default risk, −1 if lower, 0 if unconstrained.
    categorical : bool
        A string category (integer-encoded by the model).
    """

    name: str
    concept: str
    monotone: int = 0
    categorical: bool = False


def _window_name(months: int | None) -> str:
    return "all" if months is None else f"{months}m"


def feature_specs(config: FeatureConfig | None = None) -> tuple[FeatureSpec, ...]:
    """The catalog of features :func:`build_features` returns for ``config``, in column order.

    Parameters
    ----------
    config
        Default ``FeatureConfig()``.

    Returns
    -------
    tuple of FeatureSpec
    """
    config = FeatureConfig() if config is None else config
    windows: list[int | None] = [*config.windows_months, None]
    concept_of = {
        "dishonest": "dishonest_lists",
        "court": "court_enforcement",
        "penalty": "penalties",
        "tax": "tax_violations",
        "abnormal": "abnormal_operation",
        "breach": "breaches",
    }
    specs: list[FeatureSpec] = []
    for group in KIND_GROUPS:
        for months in windows:
            specs.append(FeatureSpec(f"own_{group}_{_window_name(months)}", concept_of[group], 1))
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
            FeatureSpec(f"own_negative_hist_{_window_name(m)}", "past_records", 1) for m in windows
        ]
        specs.append(FeatureSpec("own_dishonest_hist_all", "past_records", 1))
    if config.graph:
        specs += [
            FeatureSpec("own_signal", "record_severity", 1),
            FeatureSpec("linked_risk", "linked_risk", 1),
            FeatureSpec("linked_dishonest_1hop", "linked_risk", 1),
            FeatureSpec("linked_dishonest_2hop", "linked_risk", 1),
            FeatureSpec("group_dishonest", "linked_risk", 1),
            FeatureSpec("neighbours", "network", 0),
            FeatureSpec("paths_2hop", "network", 0),
            FeatureSpec("group_size", "network", 0),
        ]
    specs += [
        FeatureSpec("tax_paid_12m", "tax_paid", -1),
        FeatureSpec("tax_paid_prev_12m", "tax_paid", -1),
        FeatureSpec("tax_trend", "tax_paid", -1),
        FeatureSpec("tax_grade_score", "tax_grade", -1),
        FeatureSpec("employees", "employment", -1),
        FeatureSpec("employees_trend", "employment", -1),
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
    return tuple(specs)


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


def _bincount(rows: npt.NDArray[np.int64], n: int, weights: Any = None) -> npt.NDArray[np.float64]:
    return np.bincount(rows, weights=weights, minlength=n).astype(np.float64)


def _own_record_features(
    data: PlatformData, uscc: np.ndarray, t: np.ndarray, config: FeatureConfig
) -> dict[str, npt.NDArray[np.float64]]:
    n = len(uscc)
    recs = data.records
    recs = recs[(recs["subject_type"] == SubjectType.enterprise.value).to_numpy()]
    apps = pd.DataFrame({"row": np.arange(n), "subject_id": uscc})
    pairs = apps.merge(recs, on="subject_id", how="inner", sort=False)
    row = pairs["row"].to_numpy(dtype=np.int64)
    on = t[row]
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
            out[f"own_{group}_{_window_name(months)}"] = _bincount(
                row[member & in_window[months]], n
            )
    pw = config.penalty_window_months
    recent = active & in_window[pw]
    serious = (pairs["severity"] == Severity.serious.value).to_numpy()
    out[f"own_serious_{pw}m"] = _bincount(row[recent & negative & serious], n)
    penalty = recent & (kind == RecordKind.administrative_penalty.value)
    amount = pairs["amount"].fillna(0.0).to_numpy(dtype=np.float64)
    out[f"own_penalty_amount_{pw}m"] = _bincount(row[penalty], n, amount[penalty])
    domain = pairs["domain"].to_numpy(dtype=object)
    for group, domains in DOMAIN_GROUPS.items():
        hit = penalty & np.isin(domain, [d.value for d in domains])
        out[f"penalty_{group}_{pw}m"] = _bincount(row[hit], n)
    per_domain = pd.DataFrame({"row": row[penalty], "domain": domain[penalty]}).value_counts()
    by_row = per_domain.groupby(level="row")
    out[f"penalty_domains_{pw}m"] = _reindexed(by_row.size(), n)
    out[f"penalty_max_domain_{pw}m"] = _reindexed(by_row.max(), n)
    for group, kinds in _POSITIVE_GROUPS.items():
        member = active & np.isin(kind, [k.value for k in kinds])
        out[f"own_{group}_all"] = _bincount(row[member], n)
    if config.include_inactive_history:
        past = negative & ~active
        for months in windows:
            out[f"own_negative_hist_{_window_name(months)}"] = _bincount(
                row[past & in_window[months]], n
            )
        dishonest = np.isin(kind, [k.value for k in KIND_GROUPS["dishonest"]])
        out["own_dishonest_hist_all"] = _bincount(row[past & dishonest], n)
    return out


def _reindexed(series: pd.Series, n: int) -> npt.NDArray[np.float64]:
    values = np.zeros(n, dtype=np.float64)
    values[series.index.to_numpy(dtype=np.int64)] = series.to_numpy(dtype=np.float64)
    return values


def _graph_features(
    data: PlatformData, uscc: np.ndarray, t: np.ndarray, config: FeatureConfig
) -> dict[str, npt.NDArray[np.float64]]:
    n = len(uscc)
    names = (
        "own_signal",
        "linked_risk",
        "linked_dishonest_1hop",
        "linked_dishonest_2hop",
        "group_dishonest",
        "neighbours",
        "paths_2hop",
        "group_size",
    )
    out = {name: np.full(n, np.nan) for name in names}
    arrays = data.graph_arrays
    nodes = arrays.node_ids.get_indexer(uscc)
    records = data.records
    record_nodes = data.record_nodes
    kinds = [k.value for k in LINKED_DISHONEST_KINDS]
    dishonest = records["kind"].isin(kinds).to_numpy() & (record_nodes >= 0)
    ent_ids = data.enterprises[["uscc"]]
    cutoffs = month_start(pd.DatetimeIndex(t))
    for cutoff in np.unique(cutoffs):
        rows = np.flatnonzero((cutoffs == cutoff) & (nodes >= 0))
        if not rows.size:
            continue
        c = pd.Timestamp(cutoff)
        snapshot = GraphSnapshot.from_arrays(
            arrays.node_ids,
            arrays.is_person,
            arrays.holder,
            arrays.target,
            arrays.role,
            arrays.share,
            arrays.start,
            arrays.end,
            as_of=c,
        )
        scores = RiskPropagator(config.propagation).fit(snapshot).score(records)
        flagged = dishonest & (records["decided"].to_numpy(dtype="datetime64[s]") <= cutoff)
        if not config.include_inactive_history:
            flagged &= active_mask(
                records["decided"],
                records["publicity_end"],
                records["repaired"],
                records["removed"],
                c,
            )
        bad = np.zeros(snapshot.n_nodes)
        bad[np.unique(record_nodes[flagged])] = 1.0
        adjacency = sparse.csr_array(
            (np.ones(snapshot.indices.size), snapshot.indices, snapshot.indptr),
            shape=(snapshot.n_nodes, snapshot.n_nodes),
        )
        degree = np.diff(snapshot.indptr).astype(np.float64)
        one_hop = adjacency @ bad
        at = nodes[rows]
        out["own_signal"][rows] = scores.own_signal[at]
        out["linked_risk"][rows] = scores.linked_risk[at]
        out["linked_dishonest_1hop"][rows] = one_hop[at]
        # Walks i → j → k with k ≠ i: (A·A·b)_i minus the walks that come back to i.
        out["linked_dishonest_2hop"][rows] = (adjacency @ one_hop)[at] - degree[at] * bad[at]
        out["neighbours"][rows] = degree[at]
        out["paths_2hop"][rows] = (adjacency @ degree)[at] - degree[at]
        groups = related_groups(data.roles, c, enterprises=ent_ids)
        bad_enterprise = pd.Series(
            bad[: arrays.n_enterprises], index=data.enterprises["uscc"].astype(str).to_numpy()
        )
        group_bad = bad_enterprise.reindex(groups["uscc"].astype(str).to_numpy()).to_numpy()
        per_group = pd.Series(group_bad).groupby(groups["group_id"].to_numpy()).sum()
        frame = groups.assign(
            group_bad=per_group.reindex(groups["group_id"].to_numpy()).to_numpy() - group_bad
        ).set_index("uscc")
        looked_up = frame.reindex(uscc[rows])
        out["group_size"][rows] = looked_up["group_size"].to_numpy(dtype=np.float64)
        out["group_dishonest"][rows] = looked_up["group_bad"].to_numpy(dtype=np.float64)
    return out


def _financial_features(
    data: PlatformData, uscc: np.ndarray, t: np.ndarray
) -> dict[str, npt.NDArray[np.float64]]:
    n = len(uscc)
    names = (
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
    out = {name: np.full(n, np.nan) for name in names}
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
        total = _bincount(row[use], n, values[use])
        covered = _bincount(row[use], n, months[use])
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
    grade = pairs["tax_grade"].map(_GRADE_SCORE).to_numpy(dtype=np.float64)
    out["tax_grade_score"] = latest_value(grade, recent)
    employees = pairs["insured_employees"].to_numpy(dtype=np.float64, na_value=np.nan)
    out["employees"] = latest_value(employees, recent)
    prior_employees = latest_value(employees, previous)
    out["employees_trend"] = np.log1p(out["employees"]) - np.log1p(prior_employees)
    utility = pairs["utility_on_time"].to_numpy(dtype=np.float64)
    use = recent & ~np.isnan(utility)
    count = _bincount(row[use], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["utility_on_time"] = np.where(
            count > 0, _bincount(row[use], n, utility[use]) / count, np.nan
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
    pairs = apps.merge(data.loans[["uscc", "applied", "status", "status_date"]], on="uscc")
    row = pairs["row"].to_numpy(dtype=np.int64)
    on = t[row]
    earlier = pairs["applied"].to_numpy(dtype="datetime64[s]") < on
    bad = pairs["status"].isin([s.value for s in BAD_LOAN_STATUSES]).to_numpy() & (
        pairs["status_date"].to_numpy(dtype="datetime64[s]") < on
    )
    return {
        "prior_loans": _bincount(row[earlier], n),
        "prior_bad_loans": _bincount(row[earlier & bad], n),
    }


def build_features(
    data: PlatformData, applications: pd.DataFrame, config: FeatureConfig | None = None
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
        If ``data`` is not a :class:`PlatformData` or ``config`` not a :class:`FeatureConfig`.
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
    apps = validate_applications(applications)
    uscc = apps["uscc"].to_numpy(dtype=object)
    t = apps["as_of"].to_numpy(dtype="datetime64[s]")
    columns: dict[str, np.ndarray] = {}
    columns.update(_own_record_features(data, uscc, t, config))
    if config.graph:
        columns.update(_graph_features(data, uscc, t, config))
    columns.update(_financial_features(data, uscc, t))
    columns.update(_enterprise_features(data, uscc, t))
    columns.update(_loan_features(data, uscc, t))
    specs = feature_specs(config)
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
