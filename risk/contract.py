"""The data contract: the six input tables of DESIGN.md §2, defined once.

The generator (:mod:`risk.synth`), the ingest (:mod:`risk.ingest`) and the store
(:mod:`risk.store`) all read their columns, types, enums and Chinese headers from here, and the
domain → regulator map (领域 → 行业主管部门) lives only here.

Every enum value is an English snake_case code; each enum also carries the Chinese label used
in 双公示 files and in user-facing text (:func:`zh_label`), and ingest accepts either.

The national file layouts a records file may arrive in (行政处罚 and 行政许可 双公示 files in
their 2016 and current header sets, 失信被执行人 lists, the 国家企业信用信息公示系统's
经营异常名录 and 严重违法失信名单) are written down here too (:data:`RECORD_LAYOUTS`): which
header becomes which contract column, which record kind a layout holds, which headers name a
subject by a code the contract cannot carry. ``docs/headers.md`` is the same table for people.

About 600 lines because it is the one place the contract is written down: the enums, their
Chinese labels, the domain → regulator map and the six table specs are read together by every
consumer; split, the contract would again have several homes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "DECLARED_HOLDERS",
    "EXEMPT_HOLDER",
    "NEGATIVE_KINDS",
    "PENALTY_CATEGORIES",
    "POSITIVE_KINDS",
    "RECORD_LAYOUTS",
    "REGULATORS",
    "ROLE_LABELS",
    "SHARE_RANGE_RE",
    "TABLES",
    "UNKNOWN_HOLDER",
    "ColumnKind",
    "ColumnSpec",
    "Directness",
    "Domain",
    "EnterpriseKind",
    "EnterpriseStatus",
    "HolderType",
    "LoanStatus",
    "NationalLayout",
    "RecordKind",
    "Regime",
    "Role",
    "Severity",
    "SubjectType",
    "TableSpec",
    "TaxGrade",
    "domain_for_authority",
    "domain_for_regulator",
    "enum_lookup",
    "national_layout",
    "normalise_header",
    "regulator_for",
    "severity_for_penalty_category",
    "zh_label",
]


class EnterpriseKind(StrEnum):
    """市场主体类型."""

    company = "company"
    individual_business = "individual_business"
    branch = "branch"
    partnership = "partnership"
    social_org = "social_org"


class EnterpriseStatus(StrEnum):
    """登记状态."""

    active = "active"
    deregistered = "deregistered"
    revoked = "revoked"


class HolderType(StrEnum):
    """Who holds a role: a natural person or another enterprise."""

    person = "person"
    enterprise = "enterprise"


class Role(StrEnum):
    """The typed edges of the risk graph."""

    legal_rep = "legal_rep"
    shareholder = "shareholder"
    executive = "executive"
    branch_of = "branch_of"


class Directness(StrEnum):
    """Whether a role is held directly or declared as the end of a chain (BODS
    ``directOrIndirect``). Indirect roles are declarations: they count for the controller of
    their own enterprise, never as edges of the graph (the chain's own roles are the edges).
    """

    direct = "direct"
    indirect = "indirect"


class SubjectType(StrEnum):
    """行政相对人类别: whom a record is about."""

    enterprise = "enterprise"
    person = "person"


class RecordKind(StrEnum):
    """Record kinds: the national lists plus the commercial platforms' risk scans."""

    administrative_penalty = "administrative_penalty"
    dishonest_debtor = "dishonest_debtor"
    judgment_debtor = "judgment_debtor"
    consumption_restriction = "consumption_restriction"
    serious_dishonesty_list = "serious_dishonesty_list"
    abnormal_operation = "abnormal_operation"
    serious_violation = "serious_violation"
    tax_violation = "tax_violation"
    tax_arrears = "tax_arrears"
    wage_arrears = "wage_arrears"
    commitment_breach = "commitment_breach"
    red_list = "red_list"
    license = "license"
    commitment = "commitment"


class Domain(StrEnum):
    """领域; each maps to one responsible regulator in :data:`REGULATORS`."""

    market_regulation = "market_regulation"
    ecology_environment = "ecology_environment"
    taxation = "taxation"
    transport = "transport"
    work_safety = "work_safety"
    human_resources = "human_resources"
    housing_construction = "housing_construction"
    health = "health"
    culture_tourism = "culture_tourism"
    agriculture = "agriculture"
    natural_resources = "natural_resources"
    court = "court"
    finance = "finance"
    other = "other"


class Severity(StrEnum):
    """失信行为严重程度 (NDRC 信用修复管理办法: 轻微 / 一般 / 严重)."""

    minor = "minor"
    general = "general"
    serious = "serious"


class TaxGrade(StrEnum):
    """纳税信用级别."""

    A = "A"
    B = "B"
    M = "M"
    C = "C"
    D = "D"


class LoanStatus(StrEnum):
    """A funded loan's latest repayment status."""

    performing = "performing"
    overdue_30 = "overdue_30"
    overdue_90 = "overdue_90"
    default = "default"


class Regime(StrEnum):
    """Which rule set fixed a record's publicity end (stored on every record).

    ``explicit``: the file gave 公示截止期. ``ndrc_2026``: NDRC 信用修复管理办法 (decisions from
    2026-04-01). ``order_58``: NDRC Order No. 58 (earlier decisions). ``market_regulation``:
    国家企业信用信息公示系统 rules. ``dishonest_debtor``: 最高法 失信被执行人 rules.
    ``open_ended``: positive records (红名单, 许可, 承诺), public until removed.
    """

    explicit = "explicit"
    ndrc_2026 = "ndrc_2026"
    order_58 = "order_58"
    market_regulation = "market_regulation"
    dishonest_debtor = "dishonest_debtor"
    open_ended = "open_ended"


#: Reserved ``roles.holder_id`` of a shareholder whose identity was declared but not identified
#: (e.g. a BODS ``unspecifiedRecord``): holds its share, links no group, is never a controller.
UNKNOWN_HOLDER: Final = "UNKNOWN"
#: Reserved ``roles.holder_id`` of an owner declared exempt from disclosure (a listed company,
#: a protected person; BODS ``subjectExemptFromDisclosure`` / ``interestedPartyExemptFrom…``).
EXEMPT_HOLDER: Final = "EXEMPT"
#: The reserved holders that stand for a declaration, not a party.
DECLARED_HOLDERS: Final = frozenset({UNKNOWN_HOLDER, EXEMPT_HOLDER})
#: ``roles.share_range``: a share known only as a range, interval notation in percent —
#: ``[25,50)`` is at least 25 % and less than 50 %; the role's ``share`` is its lower bound.
SHARE_RANGE_RE: Final = re.compile(r"^([\[(])\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*([\])])$")

POSITIVE_KINDS: frozenset[RecordKind] = frozenset(
    {RecordKind.red_list, RecordKind.license, RecordKind.commitment}
)
NEGATIVE_KINDS: frozenset[RecordKind] = frozenset(set(RecordKind) - POSITIVE_KINDS)

_ZH_LABELS: tuple[tuple[StrEnum, str], ...] = (
    (EnterpriseKind.company, "公司"),
    (EnterpriseKind.individual_business, "个体工商户"),
    (EnterpriseKind.branch, "分支机构"),
    (EnterpriseKind.partnership, "合伙企业"),
    (EnterpriseKind.social_org, "社会组织"),
    (EnterpriseStatus.active, "存续"),
    (EnterpriseStatus.deregistered, "注销"),
    (EnterpriseStatus.revoked, "吊销"),
    (HolderType.person, "自然人"),
    (HolderType.enterprise, "企业"),
    (Role.legal_rep, "法定代表人"),
    (Role.shareholder, "股东"),
    (Role.executive, "高管"),
    (Role.branch_of, "分支机构"),
    (Directness.direct, "直接"),
    (Directness.indirect, "间接"),
    (SubjectType.enterprise, "法人及非法人组织"),
    (SubjectType.person, "自然人"),
    (RecordKind.administrative_penalty, "行政处罚"),
    (RecordKind.dishonest_debtor, "失信被执行人"),
    (RecordKind.judgment_debtor, "被执行人"),
    (RecordKind.consumption_restriction, "限制高消费"),
    (RecordKind.serious_dishonesty_list, "严重失信主体名单"),
    (RecordKind.abnormal_operation, "经营异常名录"),
    (RecordKind.serious_violation, "严重违法失信名单"),
    (RecordKind.tax_violation, "重大税收违法"),
    (RecordKind.tax_arrears, "欠税公告"),
    (RecordKind.wage_arrears, "拖欠农民工工资"),
    (RecordKind.commitment_breach, "违背信用承诺"),
    (RecordKind.red_list, "守信激励对象"),
    (RecordKind.license, "行政许可"),
    (RecordKind.commitment, "信用承诺"),
    (Domain.market_regulation, "市场监管"),
    (Domain.ecology_environment, "生态环境"),
    (Domain.taxation, "税务"),
    (Domain.transport, "交通运输"),
    (Domain.work_safety, "安全生产"),
    (Domain.human_resources, "人力资源社会保障"),
    (Domain.housing_construction, "住房城乡建设"),
    (Domain.health, "卫生健康"),
    (Domain.culture_tourism, "文化旅游"),
    (Domain.agriculture, "农业农村"),
    (Domain.natural_resources, "自然资源"),
    (Domain.court, "司法"),
    (Domain.finance, "金融"),
    (Domain.other, "其他"),
    (Severity.minor, "轻微"),
    (Severity.general, "一般"),
    (Severity.serious, "严重"),
    (LoanStatus.performing, "正常"),
    (LoanStatus.overdue_30, "逾期30天"),
    (LoanStatus.overdue_90, "逾期90天"),
    (LoanStatus.default, "违约"),
    (Regime.explicit, "决定书载明"),
    (Regime.ndrc_2026, "信用修复管理办法"),
    (Regime.order_58, "国家发展改革委令第58号"),
    (Regime.market_regulation, "市场监管公示规则"),
    (Regime.dishonest_debtor, "失信被执行人规定"),
    (Regime.open_ended, "长期公示"),
)

# 领域 → 行业主管部门. The only place this mapping is written down.
REGULATORS: Mapping[Domain, str] = MappingProxyType(
    {
        Domain.market_regulation: "市场监管局",
        Domain.ecology_environment: "生态环境局",
        Domain.taxation: "税务局",
        Domain.transport: "交通运输局",
        Domain.work_safety: "应急管理局",
        Domain.human_resources: "人社局",
        Domain.housing_construction: "住建局",
        Domain.health: "卫健委",
        Domain.culture_tourism: "文旅局",
        Domain.agriculture: "农业农村局",
        Domain.natural_resources: "自然资源局",
        Domain.court: "法院",
        Domain.finance: "金融监管",
        Domain.other: "发改委",
    }
)

# Keywords of 处罚机关 names (e.g. "某县市场监督管理局") that identify the domain when a 双公示
# file has no domain column. Checked in order; the first hit wins.
_AUTHORITY_KEYWORDS: tuple[tuple[str, Domain], ...] = (
    ("市场监督", Domain.market_regulation),
    ("市场监管", Domain.market_regulation),
    ("生态环境", Domain.ecology_environment),
    ("环境保护", Domain.ecology_environment),
    ("税务", Domain.taxation),
    ("交通运输", Domain.transport),
    ("应急管理", Domain.work_safety),
    ("安全生产", Domain.work_safety),
    ("消防", Domain.work_safety),
    ("人力资源", Domain.human_resources),
    ("人社", Domain.human_resources),
    ("住房和城乡建设", Domain.housing_construction),
    ("住建", Domain.housing_construction),
    ("卫生健康", Domain.health),
    ("卫健", Domain.health),
    ("药品监督", Domain.health),
    ("文化", Domain.culture_tourism),
    ("旅游", Domain.culture_tourism),
    ("农业农村", Domain.agriculture),
    ("自然资源", Domain.natural_resources),
    ("法院", Domain.court),
    ("金融", Domain.finance),
    ("银保监", Domain.finance),
)

# 处罚类别 (the national penalty categories) → severity, for 双公示 files without a severity
# column: warnings and public criticism are minor; fines and confiscation general; licence
# revocation, suspension, closure, bans and detention serious. The most severe hit wins.
_PENALTY_SEVERITY: tuple[tuple[str, Severity], ...] = (
    ("吊销", Severity.serious),
    ("责令停产停业", Severity.serious),
    ("责令关闭", Severity.serious),
    ("限制从业", Severity.serious),
    ("限制开展生产经营活动", Severity.serious),
    ("降低资质等级", Severity.serious),
    ("暂扣", Severity.serious),
    ("行政拘留", Severity.serious),
    ("罚款", Severity.general),
    ("没收", Severity.general),
    ("警告", Severity.minor),
    ("通报批评", Severity.minor),
)

#: The 处罚类别 words severity is graded from (:func:`severity_for_penalty_category`).
PENALTY_CATEGORIES: tuple[str, ...] = tuple(word for word, _ in _PENALTY_SEVERITY)

# Members of different enums share codes (RecordKind.dishonest_debtor and
# Regime.dishonest_debtor hash alike), so labels are keyed by (enum type, code).
_ZH: dict[tuple[type, str], str] = {(type(m), m.value): label for m, label in _ZH_LABELS}
ROLE_LABELS: Mapping[Role, str] = MappingProxyType({r: _ZH[(Role, r.value)] for r in Role})


def zh_label(value: StrEnum) -> str:
    """Return the Chinese label of an enum value (``Domain.taxation`` → ``"税务"``)."""
    return _ZH.get((type(value), value.value), str(value))


def regulator_for(domain: Domain | str) -> str:
    """Return the responsible regulator (行业主管部门) of a domain.

    Raises
    ------
    ValueError
        If ``domain`` is not a :class:`Domain` code.
    """
    try:
        return REGULATORS[Domain(domain)]
    except ValueError:
        raise ValueError(f"domain must be one of {', '.join(Domain)}; got {domain!r}") from None


def domain_for_regulator(name: str) -> Domain:
    """Return the domain of a regulator given by Chinese name (``税务局``) or domain code.

    Raises
    ------
    ValueError
        If ``name`` is neither a regulator name nor a domain code.
    """
    text = name.strip()
    if text in Domain.__members__:
        return Domain(text)
    for domain, regulator in REGULATORS.items():
        if text == regulator:
            return domain
    known = ", ".join(f"{r} ({d})" for d, r in REGULATORS.items())
    raise ValueError(f"regulator must be one of {known}; got {name!r}")


def domain_for_authority(authority: str | None) -> Domain:
    """Infer the domain from a 处罚机关 name; ``Domain.other`` when nothing matches."""
    if authority:
        for keyword, domain in _AUTHORITY_KEYWORDS:
            if keyword in authority:
                return domain
    return Domain.other


def severity_for_penalty_category(category: str | None) -> Severity | None:
    """Infer severity from a 处罚类别 text (e.g. ``"警告;罚款"`` → general); ``None`` if unknown."""
    if not category:
        return None
    for keyword, severity in _PENALTY_SEVERITY:
        if keyword in category:
            return severity
    return None


# Further spellings found in national files, beyond each value's own label.
_ZH_SYNONYMS: dict[type, dict[str, str]] = {
    SubjectType: {
        "法人": "enterprise",
        "非法人组织": "enterprise",
        "法人和非法人组织": "enterprise",
        "个体工商户": "enterprise",
    },
    EnterpriseStatus: {"在业": "active", "开业": "active", "注销": "deregistered"},
    EnterpriseKind: {"有限责任公司": "company", "股份有限公司": "company"},
}


def enum_lookup(enum: type[StrEnum]) -> dict[str, str]:
    """Map every accepted spelling of an enum (code, Chinese label, synonyms) to its code."""
    table: dict[str, str] = dict(_ZH_SYNONYMS.get(enum, {}))
    for member in enum:
        table[member.value] = member.value
        label = _ZH.get((enum, member.value))
        if label:
            table[label] = member.value
    return table


class ColumnKind(StrEnum):
    """How a column is parsed and validated at ingest."""

    text = "text"
    uscc = "uscc"  # 统一社会信用代码, normalised and checked (GB 32100-2015)
    subject_id = "subject_id"  # USCC for enterprises, person_id for persons
    enum = "enum"
    date = "date"
    number = "number"  # float, ≥ 0 unless the spec says otherwise
    integer = "integer"
    share = "share"  # float in [0, 1]
    region = "region"  # 6-digit GB/T 2260 code
    industry = "industry"  # GB/T 4754 section letter A–T
    period = "period"  # YYYY or YYYYQn
    id_hash = "id_hash"  # salted hash of a resident ID: 64 hexadecimal characters
    id_masked = "id_masked"  # masked resident ID: 6 digits, 8 stars, 3 digits and a digit or X


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    ``required`` columns must be present in a file (else the file is refused whole);
    ``nullable`` says whether a cell may be empty. A date column holds an event (决定, 成立,
    申请 …) that cannot lie after the day it is ingested, unless ``allow_future`` marks it as
    an end that may (公示截止期, 终止日期). An ``external`` enterprise column also takes the id
    of a party outside the Chinese registers (:func:`risk.identifiers.is_external_party_id`,
    e.g. ``GB-COH-06292597``).
    """

    name: str
    kind: ColumnKind
    zh: tuple[str, ...] = ()
    required: bool = True
    nullable: bool = False
    enum: type[StrEnum] | None = None
    max_length: int = 200
    allow_future: bool = False
    external: bool = False
    doc: str = ""


def normalise_header(text: str) -> str:
    """A header as it is compared: NFKC (full-width → half-width), all whitespace removed.

    ``行政相对人代码_1（统一社会信用代码）`` and ``行政相对人代码_1 (统一社会信用代码)`` are the
    same header.
    """
    return "".join(unicodedata.normalize("NFKC", str(text)).split())


@dataclass(frozen=True)
class NationalLayout:
    """One national layout of a records file: its headers and what each becomes.

    ``columns`` pairs a contract column with the layout's headers for it, the standard's own
    header first (the one a refusal names when the column is missing). ``category`` holds the
    处罚类别 headers that severity is graded from (:func:`severity_for_penalty_category`);
    a layout without them has one ``severity`` for all its entries. ``codes`` are the headers
    naming the subject by an identifier the records table cannot carry (工商注册号, 组织机构代码,
    税务登记号 …, a natural person's 证件号码): a row named only by those is quarantined, never
    dropped silently. ``other`` are the standard's remaining headers, read and not carried.
    Each header has one of these roles (mapped to a column, category, code or other).
    ``id_numbers`` marks, among those headers, the ones whose cells may be persons' ID numbers
    (a 证件号码 code, the 失信被执行人 list's subject column, a 2016 file's 居民身份证号): never
    stored, and masked whole in a quarantined row and in its reasons, also when the number is
    malformed. ``markers`` are the headers that tell the layout apart (any one of them).
    """

    name: str
    title: str
    source: str
    kind: RecordKind
    markers: tuple[str, ...]
    columns: tuple[tuple[str, tuple[str, ...]], ...]
    severity: Severity | None = None
    category: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    id_numbers: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    def headers_for(self, column: str) -> tuple[str, ...]:
        """The layout's headers of a contract column (standard's own first); ``()`` if none."""
        return dict(self.columns).get(column, ())

    def headers(self) -> tuple[str, ...]:
        """Every header of the layout, mapped or not, in the standard's order of kinds."""
        mapped = tuple(h for _, found in self.columns for h in found)
        return tuple(dict.fromkeys((*mapped, *self.category, *self.codes, *self.other)))


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract: its key, columns, the Chinese title of its file and the
    national layouts its files may arrive in."""

    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    zh_title: str
    doc: str = ""
    layouts: tuple[NationalLayout, ...] = ()
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    def header_aliases(self) -> dict[str, str]:
        """Map every accepted header (English name, Chinese headers, the national layouts'
        headers) to the column name."""
        aliases: dict[str, str] = {}
        for col in self.columns:
            aliases[col.name] = col.name
            for zh in col.zh:
                aliases[zh] = col.name
        for layout in self.layouts:
            for column, headers in layout.columns:
                for header in headers:
                    aliases[header] = column
        return aliases


C = ColumnSpec
K = ColumnKind

ENTERPRISES = TableSpec(
    name="enterprises",
    key=("uscc",),
    zh_title="企业登记信息",
    doc="Market entities (市场主体) keyed by 统一社会信用代码.",
    columns=(
        C("uscc", K.uscc, ("统一社会信用代码",)),
        C("name", K.text, ("企业名称", "市场主体名称")),
        C("kind", K.enum, ("市场主体类型", "企业类型"), enum=EnterpriseKind),
        C("status", K.enum, ("登记状态",), enum=EnterpriseStatus),
        C("industry", K.industry, ("行业门类",), nullable=True),
        C("region", K.region, ("行政区划代码", "住所所在行政区划")),
        C("registered_capital", K.number, ("注册资本(万元)", "注册资本（万元）"), nullable=True),
        C("founded", K.date, ("成立日期",)),
        C("closed", K.date, ("注销日期", "吊销日期"), required=False, nullable=True),
    ),
)

PERSONS = TableSpec(
    name="persons",
    key=("person_id",),
    zh_title="自然人信息",
    doc=(
        "Natural persons. Only a salted hash and a masked form of the resident ID are kept; a "
        "file may instead carry the raw 身份证号 in column id_number, which ingest hashes, masks "
        "and discards."
    ),
    columns=(
        C("person_id", K.text, ("自然人编号",), max_length=64),
        C("name", K.text, ("姓名",)),
        C("id_hash", K.id_hash, ("证件号码哈希",), max_length=64),
        C("id_masked", K.id_masked, ("证件号码(脱敏)", "证件号码（脱敏）"), max_length=18),
    ),
)

ROLES = TableSpec(
    name="roles",
    key=("uscc", "holder_type", "holder_id", "role", "start", "directness"),
    zh_title="任职与出资信息",
    doc=(
        "Typed, dated edges: 法定代表人, 股东 (with share), 高管, 分支机构 (branch_of). A share "
        "known only as a range keeps it in share_range (interval notation, percent: [25,50)) "
        "and its lower bound in share; directness indirect marks a declared end of a chain."
    ),
    columns=(
        C("uscc", K.uscc, ("统一社会信用代码",), external=True),
        C("holder_type", K.enum, ("主体类型",), enum=HolderType),
        C("holder_id", K.subject_id, ("主体编号",), max_length=64, external=True),
        C("role", K.enum, ("角色",), enum=Role),
        C("share", K.share, ("出资比例", "持股比例"), nullable=True),
        C("start", K.date, ("起始日期",)),
        C("end", K.date, ("终止日期",), required=False, nullable=True, allow_future=True),
        C("share_range", K.text, ("持股比例区间",), required=False, nullable=True, max_length=32),
        C(
            "directness",
            K.enum,
            ("直接或间接",),
            required=False,
            nullable=True,
            enum=Directness,
        ),
    ),
)

# --------------------------------------------------------------------------- national layouts
# The headers below are the standards' own (docs/headers.md names each source). They are
# compared after normalise_header, so full-width and half-width parentheses are one header.

#: Subject codes of the current 双公示 header set other than the USCC (行政相对人代码_2…_6).
_CODES_CURRENT = (
    "行政相对人代码_2(工商注册号)",
    "行政相对人代码_3(组织机构代码)",
    "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(事业单位证书号)",
    "行政相对人代码_6(社会组织登记证号)",
)
#: The same in the 2016 信用中国 header set (another order; _5 is a resident ID number).
_CODES_2016 = (
    "行政相对人代码_2(组织机构代码)",
    "行政相对人代码_3(工商登记码)",
    "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(居民身份证号)",
)
#: Exports that drop the parenthesised name keep the numbered header alone (in a 2016 file
#: the bare 行政相对人代码_5 is the 居民身份证号).
_CODES_BARE = tuple(f"行政相对人代码_{n}" for n in range(2, 7))
_ID_2016 = ("行政相对人代码_5(居民身份证号)", "行政相对人代码_5")
_USCC_SUBJECT = ("行政相对人代码_1(统一社会信用代码)", "统一社会信用代码", "行政相对人代码_1")
_PERSON_ID = "证件号码"  # a natural person's ID number (行政相对人类别 自然人), with 证件类型
_DATA_SOURCE = ("数据来源单位", "数据来源单位统一社会信用代码", "备注")

PENALTY_CURRENT = NationalLayout(
    name="penalty",
    title="行政处罚（双公示，现行表头：行政相对人代码_1…_6）",
    source="《行政处罚信息数据标准》（信用中国「双公示」，行政相对人代码_1…_6 版）",
    kind=RecordKind.administrative_penalty,
    markers=("行政处罚决定书文号",),
    columns=(
        ("record_id", ("行政处罚决定书文号",)),
        ("subject_type", ("行政相对人类别",)),
        ("subject_id", _USCC_SUBJECT),
        ("subject_name", ("行政相对人名称",)),
        ("authority", ("处罚机关",)),
        ("decided", ("处罚决定日期",)),
        ("publicity_end", ("公示截止期",)),
        ("amount", ("罚款金额(万元)",)),
    ),
    category=("处罚类别",),
    codes=(*_CODES_CURRENT, *_CODES_BARE, _PERSON_ID),
    id_numbers=("法定代表人证件号码", _PERSON_ID),
    other=(
        "法定代表人",
        "法定代表人证件类型",
        "法定代表人证件号码",
        "证件类型",
        "违法行为类型",
        "违法事实",
        "处罚依据",
        "处罚内容",
        "没收违法所得、没收非法财物的金额(万元)",
        "暂扣或吊销证照名称及编号",
        "处罚有效期",
        "处罚机关统一社会信用代码",
        *_DATA_SOURCE,
    ),
)

PENALTY_2016 = NationalLayout(
    name="penalty_2016",
    title="行政处罚（信用中国 2016 表头：处罚类别1、处罚类别2）",
    source="信用中国「双公示」行政处罚信息目录（2016 年版，行政相对人代码_1…_5）",
    kind=RecordKind.administrative_penalty,
    markers=("行政处罚决定书文号",),
    columns=(
        ("record_id", ("行政处罚决定书文号",)),
        ("subject_id", _USCC_SUBJECT),
        ("subject_name", ("行政相对人名称",)),
        ("authority", ("处罚机关",)),
        ("decided", ("处罚决定日期",)),
    ),
    category=("处罚类别1", "处罚类别2"),
    codes=(*_CODES_2016, *_CODES_BARE),
    id_numbers=_ID_2016,
    other=(
        "处罚名称",
        "处罚事由",
        "处罚依据",
        "法定代表人姓名",
        "处罚结果",
        "当前状态",
        "地方编码",
        "数据更新时间戳",
        "备注",
    ),
)

LICENSE_CURRENT = NationalLayout(
    name="license",
    title="行政许可（双公示，现行表头：行政相对人代码_1…_6）",
    source="《行政许可信息数据标准》（信用中国「双公示」，行政相对人代码_1…_6 版）",
    kind=RecordKind.license,
    severity=Severity.minor,
    markers=("行政许可决定文书号", "行政许可决定文书名称"),
    columns=(
        ("record_id", ("行政许可决定文书号",)),
        ("subject_type", ("行政相对人类别",)),
        ("subject_id", _USCC_SUBJECT),
        ("subject_name", ("行政相对人名称",)),
        ("authority", ("许可机关",)),
        ("decided", ("许可决定日期",)),
    ),
    codes=(*_CODES_CURRENT, *_CODES_BARE, _PERSON_ID),
    id_numbers=("法定代表人证件号码", "法定代表人身份证号", _PERSON_ID),
    other=(
        "法定代表人",
        "法定代表人证件类型",
        "法定代表人证件号码",
        "法定代表人身份证号",
        "证件类型",
        "行政许可决定文书名称",
        "许可类别",
        "许可证书名称",
        "许可编号",
        "许可内容",
        "有效期自",
        "有效期至",
        "许可机关统一社会信用代码",
        "当前状态",
        *_DATA_SOURCE,
    ),
)

LICENSE_2016 = NationalLayout(
    name="license_2016",
    title="行政许可（信用中国 2016 表头：项目名称、审批类别）",
    source="信用中国「双公示」行政许可信息目录（2016 年版，行政相对人代码_1…_5）",
    kind=RecordKind.license,
    severity=Severity.minor,
    markers=("行政许可决定书文号",),
    columns=(
        ("record_id", ("行政许可决定书文号",)),
        ("subject_id", _USCC_SUBJECT),
        ("subject_name", ("行政相对人名称",)),
        ("authority", ("许可机关",)),
        ("decided", ("许可决定日期",)),
    ),
    codes=(*_CODES_2016, *_CODES_BARE),
    id_numbers=_ID_2016,
    other=(
        "项目名称",
        "审批类别",
        "许可内容",
        "法定代表人姓名",
        "许可截止期",
        "当前状态",
        "地方编码",
        "数据更新时间戳",
        "备注",
    ),
)

DISHONEST_DEBTOR_LIST = NationalLayout(
    name="dishonest_debtor",
    title="失信被执行人名单（最高人民法院，中国执行信息公开网）",
    source=(
        "最高人民法院《关于公布失信被执行人名单信息的若干规定》；"
        "中国执行信息公开网 失信被执行人公布项"
    ),
    kind=RecordKind.dishonest_debtor,
    severity=Severity.serious,
    markers=("失信被执行人行为具体情形", "执行法院"),
    columns=(
        ("record_id", ("案号",)),
        ("subject_id", ("身份证号码/组织机构代码",)),
        ("subject_name", ("被执行人姓名/名称",)),
        ("authority", ("执行法院",)),
        ("decided", ("发布时间",)),
    ),
    # A person's entry names the debtor by the ID number (often published half-masked).
    id_numbers=("身份证号码/组织机构代码",),
    other=(
        "法定代表人或者负责人姓名",
        "省份",
        "执行依据文号",
        "立案时间",
        "做出执行依据单位",
        "生效法律文书确定的义务",
        "被执行人的履行情况",
        "失信被执行人行为具体情形",
    ),
)

_GSXT_SUBJECT = ("统一社会信用代码/注册号", "统一社会信用代码")
_GSXT_COLUMNS = (
    ("record_id", ("列入决定书文号",)),
    ("subject_id", _GSXT_SUBJECT),
    ("subject_name", ("企业名称",)),
    ("authority", ("作出决定机关(列入)",)),
    ("decided", ("列入日期",)),
    ("removed", ("移出日期",)),
)

ABNORMAL_OPERATION_LIST = NationalLayout(
    name="abnormal_operation",
    title="经营异常名录（国家企业信用信息公示系统）",
    source="《企业经营异常名录管理暂行办法》；国家企业信用信息公示系统 列入经营异常名录信息",
    kind=RecordKind.abnormal_operation,
    severity=Severity.general,
    markers=("列入经营异常名录原因", "列入经营异常原因", "列入异常名录原因"),
    columns=_GSXT_COLUMNS,
    other=(
        "序号",
        "列入经营异常名录原因",
        "列入经营异常原因",
        "列入异常名录原因",
        "移出经营异常名录原因",
        "移出决定书文号",
        "作出决定机关(移出)",
    ),
)

SERIOUS_VIOLATION_LIST = NationalLayout(
    name="serious_violation",
    title="严重违法失信名单（国家企业信用信息公示系统）",
    source=(
        "《市场监督管理严重违法失信名单管理办法》；"
        "国家企业信用信息公示系统 列入严重违法失信企业名单（黑名单）信息"
    ),
    kind=RecordKind.serious_violation,
    severity=Severity.serious,
    markers=("列入严重违法失信企业名单(黑名单)原因",),
    columns=_GSXT_COLUMNS,
    other=(
        "序号",
        "类别",
        "列入严重违法失信企业名单(黑名单)原因",
        "移出严重违法失信企业名单(黑名单)原因",
        "移出决定书文号",
        "作出决定机关(移出)",
    ),
)

#: The national layouts of records files, the current ones before their 2016 forebears.
RECORD_LAYOUTS: tuple[NationalLayout, ...] = (
    PENALTY_CURRENT,
    PENALTY_2016,
    LICENSE_CURRENT,
    LICENSE_2016,
    DISHONEST_DEBTOR_LIST,
    ABNORMAL_OPERATION_LIST,
    SERIOUS_VIOLATION_LIST,
)


RECORDS = TableSpec(
    name="records",
    key=("record_id", "authority"),
    zh_title="信用记录",
    doc=(
        "Public-credit records (行政处罚, 失信被执行人, …), keyed by the issuing authority and "
        "its 文号 / 案号: two authorities may issue the same 文号. In a national file "
        "(RECORD_LAYOUTS) kind, domain and severity may be absent: kind is the layout's, "
        "domain is inferred from 处罚机关, severity from 处罚类别 or the list's own."
    ),
    layouts=RECORD_LAYOUTS,
    columns=(
        C("record_id", K.text, ("行政处罚决定书文号", "决定书文号", "案号"), max_length=100),
        C("subject_type", K.enum, ("行政相对人类别",), enum=SubjectType),
        C("subject_id", K.subject_id, ("统一社会信用代码", "行政相对人代码"), max_length=64),
        C("subject_name", K.text, ("行政相对人名称",), required=False, nullable=True),
        C("kind", K.enum, ("信用记录类型",), enum=RecordKind),
        C("domain", K.enum, ("领域",), enum=Domain),
        C("severity", K.enum, ("严重程度",), enum=Severity),
        C("authority", K.text, ("处罚机关", "认定机关")),
        C("decided", K.date, ("处罚决定日期", "认定日期", "决定日期")),
        C(
            "publicity_end",
            K.date,
            ("公示截止期",),
            required=False,
            nullable=True,
            allow_future=True,
        ),
        C("repaired", K.date, ("信用修复日期",), required=False, nullable=True),
        C("removed", K.date, ("移出日期",), required=False, nullable=True),
        C(
            "amount",
            K.number,
            ("罚款金额(万元)", "罚款金额（万元）"),
            required=False,
            nullable=True,
        ),
        C("regime", K.enum, ("公示规则",), required=False, nullable=True, enum=Regime),
    ),
)

FINANCIALS = TableSpec(
    name="financials",
    key=("uscc", "period"),
    zh_title="经营与纳税信息",
    doc="Financial capacity signals per enterprise and period (YYYY or YYYYQn).",
    columns=(
        C("uscc", K.uscc, ("统一社会信用代码",)),
        C("period", K.period, ("所属期",), max_length=6),
        C("tax_paid", K.number, ("纳税额(万元)", "纳税额（万元）"), nullable=True),
        C("tax_grade", K.enum, ("纳税信用级别",), nullable=True, enum=TaxGrade),
        C("insured_employees", K.integer, ("参保人数",), nullable=True),
        C("utility_on_time", K.share, ("水电气按时缴费率",), nullable=True),
        C(
            "procurement_amount",
            K.number,
            ("政府采购金额(万元)", "政府采购金额（万元）"),
            nullable=True,
        ),
    ),
)

LOANS = TableSpec(
    name="loans",
    key=("bank", "loan_id"),
    zh_title="信易贷放款结果",
    doc=(
        "Banks' funded loans: their latest status and the first dates they were 90+ days "
        "overdue or in default (实际授信放款结果)."
    ),
    columns=(
        C("loan_id", K.text, ("贷款编号",), max_length=64),
        C("uscc", K.uscc, ("统一社会信用代码",)),
        C("bank", K.text, ("贷款银行",)),
        C("applied", K.date, ("申请日期",)),
        C("approved_amount", K.number, ("授信金额(万元)", "授信金额（万元）")),
        C("drawn_amount", K.number, ("放款金额(万元)", "放款金额（万元）"), nullable=True),
        C("term_months", K.integer, ("期限(月)", "期限（月）")),
        C("status", K.enum, ("还款状态",), enum=LoanStatus),
        C("status_date", K.date, ("状态日期",)),
        C("overdue_90_date", K.date, ("首次逾期90天日期",), required=False, nullable=True),
        C("default_date", K.date, ("首次违约日期",), required=False, nullable=True),
    ),
)

del C, K

TABLES: Mapping[str, TableSpec] = MappingProxyType(
    {t.name: t for t in (ENTERPRISES, PERSONS, ROLES, RECORDS, FINANCIALS, LOANS)}
)


def national_layout(headers: Iterable[str]) -> NationalLayout | None:
    """The national layout a records file's headers are in, or ``None`` (English or generic).

    A layout needs one of its markers among the headers; of those that have one, the layout
    with the most of its headers present wins (the current 双公示 set before the 2016 one on a
    tie).
    """
    found = {normalise_header(h) for h in headers}
    best, best_hits = None, 0
    for layout in RECORD_LAYOUTS:
        if not any(normalise_header(m) in found for m in layout.markers):
            continue
        hits = sum(normalise_header(h) in found for h in layout.headers())
        if hits > best_hits:
            best, best_hits = layout, hits
    return best
