"""The feature catalog: what each feature of the pre-credit and warning models means.

One type describes a feature of either model (:class:`FeatureSpec`): its column name, the
*concept* it belongs to (:class:`Concept`: the unit of a reason, with Chinese and English
texts), its monotone sign and whether it is a category, and its *source*: the enterprise's
own records and profile (``self``) or the graph of its linked parties (``graph``), the
warning's ablation sets. A model's features form a :class:`FeatureCatalog`
(:func:`features.precredit.feature_specs`, :func:`features.warning.warning_feature_specs`),
which the models read for their monotone constraints, categorical columns and reasons, and
log with every run (:meth:`FeatureCatalog.to_records`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, overload

import numpy as np

from risk.contract import EnterpriseKind, TaxGrade, zh_label
from risk.validation import check_bool

__all__ = [
    "CONCEPTS",
    "FEATURE_SOURCES",
    "GRAPH_CONCEPTS",
    "INDUSTRY_SECTIONS",
    "KIND_GROUP_CONCEPTS",
    "PUBLIC_CREDIT_CONCEPTS",
    "TAX_GRADE_SCORES",
    "Concept",
    "FeatureCatalog",
    "FeatureSpec",
]

FEATURE_SOURCES = ("self", "graph")
"""Where a feature comes from: the enterprise's own records and profile, or the graph."""

TAX_GRADE_SCORES: Mapping[str, float] = MappingProxyType(
    {TaxGrade.A: 5.0, TaxGrade.B: 4.0, TaxGrade.M: 3.0, TaxGrade.C: 2.0, TaxGrade.D: 1.0}
)
"""纳税信用级别 as a number (A = 5 … D = 1): the ``tax_grade_score`` feature."""

_SCORE_GRADE = {score: str(grade) for grade, score in TAX_GRADE_SCORES.items()}

INDUSTRY_SECTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "A": ("农、林、牧、渔业", "agriculture, forestry, animal husbandry and fishery"),
        "B": ("采矿业", "mining"),
        "C": ("制造业", "manufacturing"),
        "D": ("电力、热力、燃气及水生产和供应业", "electricity, heat, gas and water supply"),
        "E": ("建筑业", "construction"),
        "F": ("批发和零售业", "wholesale and retail trade"),
        "G": ("交通运输、仓储和邮政业", "transport, storage and postal services"),
        "H": ("住宿和餐饮业", "accommodation and catering"),
        "I": (
            "信息传输、软件和信息技术服务业",
            "information transmission, software and IT services",
        ),
        "J": ("金融业", "finance"),
        "K": ("房地产业", "real estate"),
        "L": ("租赁和商务服务业", "leasing and business services"),
        "M": ("科学研究和技术服务业", "scientific research and technical services"),
        "N": ("水利、环境和公共设施管理业", "water, environment and public facilities management"),
        "O": ("居民服务、修理和其他服务业", "resident services, repair and other services"),
        "P": ("教育", "education"),
        "Q": ("卫生和社会工作", "health and social work"),
        "R": ("文化、体育和娱乐业", "culture, sports and entertainment"),
        "S": ("公共管理、社会保障和社会组织", "public administration and social organisations"),
        "T": ("国际组织", "international organisations"),
    }
)
"""The sections (门类) of GB/T 4754-2017 《国民经济行业分类》: letter → Chinese and English name,
the names reasons show instead of the letter the contract stores."""


def _count(value: float, lang: str) -> str:
    return f"{value:.0f}"


def _amount(value: float, lang: str) -> str:  # 万元
    return f"{value:,.1f} 万元" if lang == "zh" else f"CNY {value * 1e4:,.0f}"


def _change(value: float, lang: str) -> str:  # a log ratio, in words and a percentage
    ratio = math.expm1(value)
    if round(abs(ratio) * 100) == 0:
        return "持平" if lang == "zh" else "flat"
    if lang == "zh":
        return f"{'增长' if ratio > 0 else '下降'} {abs(ratio):.0%}"
    return f"{'up' if ratio > 0 else 'down'} {abs(ratio):.0%}"


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


def _industry(value: Any, lang: str) -> str:
    names = INDUSTRY_SECTIONS.get(str(value))
    if names is None:
        return f"行业门类 {value}" if lang == "zh" else f"industry section {value}"
    return names[0] if lang == "zh" else names[1]


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
        "industry": _industry,
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
        Feature name → formatter name (``count``, ``amount``, ``change`` (a log ratio in
        words: 增长 30 % / up 30 %), ``share``, ``years``, ``months``, ``score``, ``grade``,
        ``text``, ``industry`` (the GB/T 4754 section's name), ``value``, ``kind``).
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
            "近12个月纳税 {tax_paid_12m}",
            "Tax paid over the last 12 months: {tax_paid_12m}",
            {"tax_paid_12m": "amount"},
        ),
        Concept(
            "tax_trend",
            "纳税额同比{tax_trend}",
            "Tax paid {tax_trend} year on year",
            {"tax_trend": "change"},
        ),
        Concept(
            "tax_grade",
            "纳税信用级别：{tax_grade_score}",
            "Tax credit grade: {tax_grade_score}",
            {"tax_grade_score": "grade"},
        ),
        Concept(
            "employment",
            "参保职工 {employees} 人",
            "Insured employees: {employees}",
            {"employees": "count"},
        ),
        Concept(
            "employment_trend",
            "参保职工人数同比{employees_trend}",
            "Insured employees {employees_trend} year on year",
            {"employees_trend": "change"},
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
            "{kind}，所属行业：{industry}，注册资本 {registered_capital}",
            "{kind} in {industry}, registered capital {registered_capital}",
            {
                "kind": "kind",
                "industry": "industry",
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
            "violations",
            "违法违规（行政处罚、重大税收违法、拖欠农民工工资，有效）：近12个月 "
            "{own_violation_12m} 次，近24个月 {own_violation_24m} 次",
            "Active violations (administrative penalties, major tax violations, wage arrears): "
            "{own_violation_12m} in the last 12 months, {own_violation_24m} in 24 months",
            {"own_violation_12m": "count", "own_violation_24m": "count"},
        ),
        Concept(
            "records_by_domain",
            "近24个月各领域失信记录（有效）：市场监管 {own_negative_market_24m} 条，安全环保 "
            "{own_negative_safety_environment_24m} 条，税务 {own_negative_taxation_24m} 条，"
            "劳动 {own_negative_labour_24m} 条，司法金融 {own_negative_court_finance_24m} 条，"
            "其他 {own_negative_other_24m} 条",
            "Active negative records in the last 24 months by domain: market "
            "{own_negative_market_24m}, safety and environment "
            "{own_negative_safety_environment_24m}, taxation {own_negative_taxation_24m}, "
            "labour {own_negative_labour_24m}, court and finance "
            "{own_negative_court_finance_24m}, other {own_negative_other_24m}",
            {
                "own_negative_market_24m": "count",
                "own_negative_safety_environment_24m": "count",
                "own_negative_taxation_24m": "count",
                "own_negative_labour_24m": "count",
                "own_negative_court_finance_24m": "count",
                "own_negative_other_24m": "count",
            },
        ),
        Concept(
            "recency",
            "距最近一条失信记录 {days_since_negative} 天，距最近一次违法违规 "
            "{days_since_violation} 天",
            "{days_since_negative} days since the latest negative record, "
            "{days_since_violation} since the latest violation",
            {"days_since_negative": "count", "days_since_violation": "count"},
        ),
        Concept(
            "repairs",
            "近24个月信用修复 {repairs_24m} 次，距最近一次修复 {days_since_repair} 天",
            "Credit repairs (信用修复) in the last 24 months: {repairs_24m}; "
            "{days_since_repair} days since the latest",
            {"repairs_24m": "count", "days_since_repair": "count"},
        ),
        Concept(
            "commitments",
            "有效信用承诺 {commitments_active} 项",
            "Active credit commitments: {commitments_active}",
            {"commitments_active": "count"},
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
"""Every concept a feature of either model belongs to, by code."""

PUBLIC_CREDIT_CONCEPTS: frozenset[str] = frozenset(
    {
        "dishonest_lists",
        "court_enforcement",
        "penalties",
        "record_severity",
        "tax_violations",
        "abnormal_operation",
        "breaches",
        "past_records",
        "positive_records",
        "violations",
        "records_by_domain",
        "recency",
        "repairs",
        "commitments",
    }
)
"""The concepts read from the enterprise's own public-credit records (公共信用信息: lists,
penalties, court enforcement, repairs, commitments): the model card reports their share."""

GRAPH_CONCEPTS: frozenset[str] = frozenset({"linked_risk", "network"})
"""The concepts read from the graph of linked parties (关联方), reported beside them."""

KIND_GROUP_CONCEPTS: Mapping[str, str] = MappingProxyType(
    {
        "dishonest": "dishonest_lists",
        "court": "court_enforcement",
        "penalty": "penalties",
        "tax": "tax_violations",
        "abnormal": "abnormal_operation",
        "breach": "breaches",
    }
)
"""The concept of the counts of each kind group (:data:`features.history.KIND_GROUPS`)."""


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of a model's catalog (validated on construction).

    Attributes
    ----------
    name : str
        Column name.
    concept : str
        Code of its :class:`Concept` in :data:`CONCEPTS`.
    monotone : int
        +1 if more means higher risk (default, or a new violation), −1 if lower, 0 if
        unconstrained.
    categorical : bool
        A category (a string the PD integer-encodes, or a fixed integer code), never
        constrained.
    source : str
        ``"self"`` (own records and profile) or ``"graph"`` (linked parties).

    Raises
    ------
    ValueError
        If ``concept`` is not in :data:`CONCEPTS`, ``monotone`` not −1, 0 or 1, a
        categorical feature is constrained, or ``source`` not in :data:`FEATURE_SOURCES`.
    """

    name: str
    concept: str
    monotone: int = 0
    categorical: bool = False
    source: str = "self"

    def __post_init__(self) -> None:
        if self.concept not in CONCEPTS:
            raise ValueError(
                f"concept of {self.name!r} must be a code of CONCEPTS; got {self.concept!r}"
            )
        if isinstance(self.monotone, bool) or self.monotone not in (-1, 0, 1):
            raise ValueError(f"monotone of {self.name!r} must be -1, 0 or 1; got {self.monotone!r}")
        check_bool("categorical", self.categorical)
        if self.categorical and self.monotone:
            raise ValueError(
                f"monotone of categorical {self.name!r} must be 0; got {self.monotone}"
            )
        if self.source not in FEATURE_SOURCES:
            raise ValueError(
                f"source of {self.name!r} must be one of {', '.join(FEATURE_SOURCES)}; "
                f"got {self.source!r}"
            )


class FeatureCatalog(Sequence[FeatureSpec]):
    """A model's features in column order (an immutable sequence of :class:`FeatureSpec`).

    Parameters
    ----------
    specs
        The features; names must be distinct.

    Raises
    ------
    TypeError
        If an item is not a :class:`FeatureSpec`.
    ValueError
        If a name repeats.
    """

    def __init__(self, specs: Iterable[FeatureSpec]) -> None:
        items = tuple(specs)
        for spec in items:
            if not isinstance(spec, FeatureSpec):
                raise TypeError(f"specs must be FeatureSpec items; got {type(spec).__name__}")
        seen: set[str] = set()
        for spec in items:
            if spec.name in seen:
                raise ValueError(f"feature names must be distinct; got {spec.name!r} twice")
            seen.add(spec.name)
        self._specs = items

    @overload
    def __getitem__(self, index: int) -> FeatureSpec: ...

    @overload
    def __getitem__(self, index: slice) -> FeatureCatalog: ...

    def __getitem__(self, index: int | slice) -> FeatureSpec | FeatureCatalog:
        if isinstance(index, slice):
            return FeatureCatalog(self._specs[index])
        return self._specs[index]

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[FeatureSpec]:
        return iter(self._specs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureCatalog):
            return NotImplemented
        return self._specs == other._specs

    def __hash__(self) -> int:
        return hash(self._specs)

    def __repr__(self) -> str:
        return f"FeatureCatalog({len(self)} features: {', '.join(self.names[:4])}, …)"

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [spec.name for spec in self._specs]

    @property
    def categorical(self) -> list[str]:
        """The categorical columns, in order."""
        return [spec.name for spec in self._specs if spec.categorical]

    @property
    def monotone(self) -> dict[str, int]:
        """Feature → monotone sign (−1, 0 or +1), every feature."""
        return {spec.name: spec.monotone for spec in self._specs}

    @property
    def concept_of(self) -> dict[str, str]:
        """Feature → concept code (what :class:`models.reasons.Reasons` groups by)."""
        return {spec.name: spec.concept for spec in self._specs}

    def of_source(self, source: str) -> FeatureCatalog:
        """The features of one source (``self`` or ``graph``), in order."""
        if source not in FEATURE_SOURCES:
            raise ValueError(f"source must be one of {', '.join(FEATURE_SOURCES)}; got {source!r}")
        return FeatureCatalog(spec for spec in self._specs if spec.source == source)

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per feature (``features.json`` of a training run)."""
        return [asdict(spec) for spec in self._specs]
