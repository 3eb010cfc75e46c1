"""Tests for risk.contract: the six tables, the enums, and the domain → regulator map.

Expected values are copied from DESIGN.md §2, not derived from the module.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from enum import StrEnum
from pathlib import Path

import pytest

from risk.contract import (
    NEGATIVE_KINDS,
    PENALTY_CURRENT,
    POSITIVE_KINDS,
    REGULATORS,
    ROLE_LABELS,
    TABLES,
    ColumnKind,
    Domain,
    EnterpriseKind,
    EnterpriseStatus,
    HolderType,
    LoanStatus,
    NationalLayout,
    RecordKind,
    Regime,
    Role,
    Severity,
    SubjectType,
    TaxGrade,
    domain_for_authority,
    domain_for_regulator,
    enum_lookup,
    national_layout,
    normalise_header,
    regulator_for,
    zh_label,
)
from risk.store import contract_table

# DESIGN.md §2, "Domains (领域) map to the responsible regulator".
DESIGN_REGULATORS = {
    "market_regulation": "市场监管局",
    "ecology_environment": "生态环境局",
    "taxation": "税务局",
    "transport": "交通运输局",
    "work_safety": "应急管理局",
    "human_resources": "人社局",
    "housing_construction": "住建局",
    "health": "卫健委",
    "culture_tourism": "文旅局",
    "agriculture": "农业农村局",
    "natural_resources": "自然资源局",
    "court": "法院",
    "finance": "金融监管",
    "other": "发改委",
}

# DESIGN.md §2 table: key and main columns.
DESIGN_TABLES = {
    "enterprises": (
        ("uscc",),
        {
            "name", "kind", "status", "industry", "region", "registered_capital", "founded",
            "closed",
        },
    ),
    "persons": (("person_id",), {"name", "id_hash", "id_masked"}),
    "roles": (
        # issue 14: a direct and a declared indirect interest of one day are two roles
        ("uscc", "holder_type", "holder_id", "role", "start", "directness"),
        {"share", "end"},
    ),
    "records": (
        ("record_id", "authority"),  # issue 14: a 文号 is unique within its authority only
        {
            "subject_type", "subject_id", "kind", "domain", "severity", "authority", "decided",
            "publicity_end", "repaired", "removed", "amount",
        },
    ),
    "financials": (
        ("uscc", "period"),
        {"tax_paid", "tax_grade", "insured_employees", "utility_on_time", "procurement_amount"},
    ),
    "loans": (
        ("bank", "loan_id"),  # issue 11: loan ids are each bank's own (DESIGN §2 said loan_id)
        {
            "uscc", "bank", "applied", "approved_amount", "drawn_amount", "term_months",
            "status", "status_date",
        },
    ),
}  # fmt: skip

NEGATIVE = {
    "administrative_penalty",
    "dishonest_debtor",
    "judgment_debtor",
    "consumption_restriction",
    "serious_dishonesty_list",
    "abnormal_operation",
    "serious_violation",
    "tax_violation",
    "tax_arrears",
    "wage_arrears",
    "commitment_breach",
}
POSITIVE = {"red_list", "license", "commitment"}

ALL_ENUMS: list[type[StrEnum]] = [
    EnterpriseKind,
    EnterpriseStatus,
    HolderType,
    Role,
    SubjectType,
    RecordKind,
    Domain,
    Severity,
    TaxGrade,
    LoanStatus,
    Regime,
]


# --------------------------------------------------------------------------- tables


def test_six_tables():
    assert set(TABLES) == set(DESIGN_TABLES)
    for name, table in TABLES.items():
        assert table.name == name


@pytest.mark.parametrize("name", sorted(DESIGN_TABLES))
def test_table_keys_and_main_columns_match_design(name):
    key, main = DESIGN_TABLES[name]
    table = TABLES[name]
    assert table.key == key
    assert set(key) <= set(table.names)
    assert main <= set(table.names)
    assert table.zh_title


#: Key columns a file may leave out or blank: the ingest and the store's default fill them.
DEFAULTED_KEYS = {("roles", "directness"): "direct"}


@pytest.mark.parametrize("name", sorted(DESIGN_TABLES))
def test_key_columns_are_required_and_not_nullable(name):
    table = TABLES[name]
    for column in table.key:
        spec = table.column(column)
        if (name, column) in DEFAULTED_KEYS:
            stored = contract_table(name).c[column]
            assert not stored.nullable, column
            assert stored.server_default.arg == DEFAULTED_KEYS[name, column], column
            continue
        assert spec.required, column
        assert not spec.nullable, column


@pytest.mark.parametrize("name", sorted(DESIGN_TABLES))
def test_column_names_unique_and_names_in_order(name):
    table = TABLES[name]
    assert table.names == tuple(c.name for c in table.columns)
    assert len(set(table.names)) == len(table.names)


@pytest.mark.parametrize("name", sorted(DESIGN_TABLES))
def test_enum_columns_carry_their_enum(name):
    for spec in TABLES[name].columns:
        assert (spec.kind == ColumnKind.enum) == (spec.enum is not None), spec.name


@pytest.mark.parametrize("name", sorted(DESIGN_TABLES))
def test_no_header_alias_names_two_columns(name):
    # header_aliases() is a dict: a header claimed by two columns would be silently overwritten.
    seen: dict[str, str] = {}
    for spec in TABLES[name].columns:
        for header in (spec.name, *spec.zh):
            assert header not in seen, f"{header!r} names both {seen[header]} and {spec.name}"
            seen[header] = spec.name
    for layout in TABLES[name].layouts:  # a layout may repeat a column's own header
        for column, headers in layout.columns:
            for header in headers:
                known = seen.setdefault(normalise_header(header), column)
                assert known == column, f"{header!r} names both {known} and {column}"
    normalised = {normalise_header(h): c for h, c in TABLES[name].header_aliases().items()}
    assert normalised == {normalise_header(h): c for h, c in seen.items()}


def test_column_lookup_unknown():
    with pytest.raises(KeyError, match="table 'records' has no column 'bogus'"):
        TABLES["records"].column("bogus")


def test_persons_never_store_the_raw_id_number():
    names = set(TABLES["persons"].names)
    assert "id_number" not in names
    assert {"id_hash", "id_masked"} <= names
    assert TABLES["persons"].column("id_masked").max_length == 18


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("行政相对人名称", "subject_name"),
        ("统一社会信用代码", "subject_id"),
        ("行政处罚决定书文号", "record_id"),
        ("处罚决定日期", "decided"),
        ("公示截止期", "publicity_end"),
        ("处罚机关", "authority"),
        ("罚款金额(万元)", "amount"),
        ("罚款金额（万元）", "amount"),  # full-width parentheses
        ("record_id", "record_id"),
        ("decided", "decided"),
    ],
)
def test_records_accept_the_national_headers(header, column):
    assert TABLES["records"].header_aliases()[header] == column


def test_every_column_name_is_its_own_alias():
    for table in TABLES.values():
        aliases = table.header_aliases()
        for name in table.names:
            assert aliases[name] == name


# --------------------------------------------------------------------------- enums


def test_enum_values_match_design():
    assert {k.value for k in EnterpriseKind} == {
        "company",
        "individual_business",
        "branch",
        "partnership",
        "social_org",
    }
    assert {s.value for s in EnterpriseStatus} == {"active", "deregistered", "revoked"}
    assert {h.value for h in HolderType} == {"person", "enterprise"}
    assert {r.value for r in Role} == {"legal_rep", "shareholder", "executive", "branch_of"}
    assert {s.value for s in SubjectType} == {"enterprise", "person"}
    assert {s.value for s in Severity} == {"minor", "general", "serious"}
    assert {g.value for g in TaxGrade} == {"A", "B", "M", "C", "D"}
    assert {s.value for s in LoanStatus} == {"performing", "overdue_30", "overdue_90", "default"}
    assert {k.value for k in RecordKind} == NEGATIVE | POSITIVE
    assert {d.value for d in Domain} == set(DESIGN_REGULATORS)


def test_negative_and_positive_kinds_partition_all_kinds():
    assert set(RecordKind) == NEGATIVE_KINDS | POSITIVE_KINDS
    assert not NEGATIVE_KINDS & POSITIVE_KINDS
    assert {k.value for k in POSITIVE_KINDS} == POSITIVE
    assert {k.value for k in NEGATIVE_KINDS} == NEGATIVE


@pytest.mark.parametrize("enum", ALL_ENUMS, ids=lambda e: e.__name__)
def test_enum_lookup_maps_codes_and_labels(enum):
    lookup = enum_lookup(enum)
    for member in enum:
        assert lookup[member.value] == member.value
        label = zh_label(member)
        assert lookup[label] == member.value
    # No two members share a Chinese label (else the lookup would silently pick one).
    labels = [zh_label(m) for m in enum]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize(
    ("enum", "label", "code"),
    [
        (RecordKind, "行政处罚", "administrative_penalty"),
        (RecordKind, "守信激励对象", "red_list"),
        (Domain, "税务", "taxation"),
        (Domain, "生态环境", "ecology_environment"),
        (Severity, "轻微", "minor"),
        (Severity, "一般", "general"),
        (Severity, "严重", "serious"),
        (Role, "法定代表人", "legal_rep"),
        (Role, "股东", "shareholder"),
        (EnterpriseStatus, "存续", "active"),
        (EnterpriseKind, "个体工商户", "individual_business"),
        (LoanStatus, "逾期90天", "overdue_90"),
        (Regime, "国家发展改革委令第58号", "order_58"),
        (TaxGrade, "A", "A"),
    ],
)
def test_enum_lookup_samples(enum, label, code):
    assert enum_lookup(enum)[label] == code


def test_enum_lookup_unknown_spelling_absent():
    assert "bogus" not in enum_lookup(Domain)
    assert "市场监管局" not in enum_lookup(Domain)  # a regulator is not a domain label


def test_every_enum_member_used_by_a_column_has_a_chinese_label():
    for table in TABLES.values():
        for spec in table.columns:
            if spec.enum is None or spec.enum is TaxGrade:  # letter grades read the same in 中文
                continue
            for member in spec.enum:
                assert zh_label(member) != member.value, (table.name, spec.name, member)


def test_zh_label_samples_and_fallback():
    assert zh_label(Domain.taxation) == "税务"
    assert zh_label(RecordKind.judgment_debtor) == "被执行人"
    assert zh_label(SubjectType.enterprise) == "法人及非法人组织"
    assert zh_label(Regime.dishonest_debtor) == "失信被执行人规定"
    assert zh_label(Regime.market_regulation) == "市场监管公示规则"
    assert zh_label(TaxGrade.A) == "A"  # no label: the code itself


# Members of different enums that share a code (StrEnum members hash and compare as their
# str value): each must keep its own label.
DESIGN_LABELS = [
    pytest.param(RecordKind.dishonest_debtor, "失信被执行人"),
    pytest.param(Domain.market_regulation, "市场监管"),
    pytest.param(HolderType.enterprise, "企业"),
    pytest.param(Regime.dishonest_debtor, "失信被执行人规定"),
    pytest.param(Regime.market_regulation, "市场监管公示规则"),
    pytest.param(SubjectType.enterprise, "法人及非法人组织"),
    pytest.param(HolderType.person, "自然人"),
    pytest.param(SubjectType.person, "自然人"),
]


@pytest.mark.parametrize(("member", "label"), DESIGN_LABELS, ids=repr)
def test_members_sharing_a_code_keep_their_own_label(member, label):
    assert zh_label(member) == label
    assert enum_lookup(type(member))[label] == member.value


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        ("administrative_penalty", "行政处罚"),
        pytest.param("dishonest_debtor", "失信被执行人"),
        ("judgment_debtor", "被执行人"),
        ("consumption_restriction", "限制高消费"),
        ("serious_dishonesty_list", "严重失信主体名单"),
        ("abnormal_operation", "经营异常名录"),
        ("serious_violation", "严重违法失信名单"),
        ("tax_violation", "重大税收违法"),
        ("tax_arrears", "欠税公告"),
        ("wage_arrears", "拖欠农民工工资"),
        ("commitment_breach", "违背信用承诺"),
        ("license", "行政许可"),
        ("commitment", "信用承诺"),
    ],
)
def test_record_kind_lookup_accepts_the_design_chinese_names(kind, label):
    # DESIGN.md §2 "Record kinds" gives these Chinese names.
    assert enum_lookup(RecordKind)[label] == kind


def test_role_labels():
    assert dict(ROLE_LABELS) == {
        Role.legal_rep: "法定代表人",
        Role.shareholder: "股东",
        Role.executive: "高管",
        Role.branch_of: "分支机构",
    }


# --------------------------------------------------------------------------- regulators


def test_regulators_match_design():
    assert {d.value: r for d, r in REGULATORS.items()} == DESIGN_REGULATORS
    assert set(REGULATORS) == set(Domain)
    assert len(set(REGULATORS.values())) == len(REGULATORS)  # round trip needs unique names


def test_regulators_mapping_is_read_only():
    with pytest.raises(TypeError):
        REGULATORS[Domain.other] = "x"  # type: ignore[index]


@pytest.mark.parametrize("domain", list(Domain), ids=str)
def test_regulator_round_trip(domain):
    regulator = regulator_for(domain)
    assert regulator == DESIGN_REGULATORS[domain.value]
    assert regulator_for(domain.value) == regulator  # plain str code
    assert domain_for_regulator(regulator) is domain  # Chinese name
    assert domain_for_regulator(domain.value) is domain  # domain code
    assert domain_for_regulator(f"  {regulator} ") is domain  # surrounding spaces


@pytest.mark.parametrize("bad", ["bogus", "税务", "税务局", "", "Taxation"])
def test_regulator_for_unknown_domain(bad):
    with pytest.raises(ValueError, match=rf"domain must be one of .*; got '{bad}'"):
        regulator_for(bad)


@pytest.mark.parametrize("bad", ["bogus", "税务", "市场监督管理局", "", "Taxation"])
def test_domain_for_regulator_unknown(bad):
    with pytest.raises(ValueError, match=r"regulator must be one of .*税务局 \(taxation\).*; got"):
        domain_for_regulator(bad)


@pytest.mark.parametrize(
    ("authority", "domain"),
    [
        ("某县市场监督管理局", Domain.market_regulation),
        ("某市市场监管综合行政执法支队", Domain.market_regulation),
        ("国家税务总局某县税务局", Domain.taxation),
        ("国家税务总局某县税务局稽查局", Domain.taxation),
        ("某县生态环境局", Domain.ecology_environment),
        ("某市生态环境局某县分局", Domain.ecology_environment),
        ("某县环境保护局", Domain.ecology_environment),
        ("某县交通运输局", Domain.transport),
        ("某县应急管理局", Domain.work_safety),
        ("某县消防救援大队", Domain.work_safety),
        ("某县人力资源和社会保障局", Domain.human_resources),
        ("某县住房和城乡建设局", Domain.housing_construction),
        ("某县卫生健康委员会", Domain.health),
        ("某省药品监督管理局", Domain.health),
        ("某县文化广电和旅游局", Domain.culture_tourism),
        ("某县农业农村局", Domain.agriculture),
        ("某县自然资源和规划局", Domain.natural_resources),
        ("某县人民法院", Domain.court),
        ("某市地方金融监督管理局", Domain.finance),
        ("某县发展和改革委员会", Domain.other),
        ("某县城市管理综合行政执法局", Domain.other),
        ("", Domain.other),
        (None, Domain.other),
    ],
)
def test_domain_for_authority(authority, domain):
    assert domain_for_authority(authority) is domain


# --------------------------------------------------------------------------- national layouts

HEADERS_DOC = Path(__file__).resolve().parents[2] / "docs" / "headers.md"


def _cell_headers(cell: str) -> list[str]:
    """The headers a header-table cell lists, normalised: split at the commas outside
    parentheses, a note written after a space (``行政相对人类别 (法人…, 自然人)``) dropped; a
    header's own parentheses (``罚款金额（万元）``) follow it without a space."""
    text = unicodedata.normalize("NFKC", cell)
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [normalise_header(p.strip().split(" (")[0]) for p in parts if p.strip()]


def _doc_header_tables() -> dict[str, dict[str, str]]:
    """Each layout's header table in docs/headers.md (the section naming ``Layout `<name>```):
    every header its rows list → the row's contract-column cell."""
    text = HEADERS_DOC.read_text(encoding="utf-8")
    tables: dict[str, dict[str, str]] = {}
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        named = re.search(r"Layout `(\w+)`", section)
        if named is None:
            continue
        rows = [line for line in section.splitlines() if line.startswith("|")]
        assert rows[0].startswith("| national header |"), named.group(1)
        table = tables.setdefault(named.group(1), {})
        for row in rows[2:]:  # after the header row and the |---| line
            headers, column = (c.strip() for c in row.strip().strip("|").split("|"))
            for header in _cell_headers(headers):
                assert header not in table, (named.group(1), header)
                table[header] = column
    return tables


def test_every_national_header_is_in_the_header_table_of_its_layout_in_the_docs():
    tables = _doc_header_tables()
    assert set(tables) == {layout.name for layout in TABLES["records"].layouts}
    for layout in TABLES["records"].layouts:
        table = tables[layout.name]
        for header in layout.headers():
            bare = header.startswith("行政相对人代码_") and "(" not in header
            if not bare:  # the bare numbered forms are described once, in prose
                assert normalise_header(header) in table, (layout.name, header)
        for header in layout.id_numbers:  # an ID-number column says it is masked
            if header.startswith("行政相对人代码_") and "(" not in header:
                continue
            assert "masked" in table[normalise_header(header)], (layout.name, header)


def test_the_docs_header_check_reads_table_rows_not_prose():
    # 案号 is named in prose all over the page; in a table row only of the 失信被执行人 list.
    assert "案号" in HEADERS_DOC.read_text(encoding="utf-8").split("## 行政处罚")[0]
    tables = _doc_header_tables()
    assert normalise_header("案号") in tables["dishonest_debtor"]
    assert normalise_header("案号") not in tables["penalty"]
    cell = "行政相对人类别 (法人及非法人组织, 个体工商户, 自然人), 罚款金额（万元）"
    assert _cell_headers(cell) == ["行政相对人类别", "罚款金额(万元)"]


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        (["行政处罚决定书文号", "行政相对人代码_1（统一社会信用代码）", "处罚类别"], "penalty"),
        (["行政处罚决定书文号", "处罚类别1", "处罚类别2", "处罚名称"], "penalty_2016"),
        (["行政许可决定文书号", "许可决定日期", "有效期至"], "license"),
        (["行政许可决定书文号", "项目名称", "许可截止期"], "license_2016"),
        (["案号", "执行法院", "失信被执行人行为具体情形"], "dishonest_debtor"),
        (["列入决定书文号", "列入经营异常名录原因", "列入日期"], "abnormal_operation"),
        (["列入决定书文号", "列入严重违法失信企业名单（黑名单）原因"], "serious_violation"),
        (["record_id", "subject_id", "authority"], None),
        (["统一社会信用代码", "企业名称", "成立日期"], None),  # an enterprises file
    ],
)
def test_national_layout_is_told_by_its_markers(headers, name):
    layout = national_layout(headers)
    assert (layout.name if layout is not None else None) == name


def _headers_in_two_roles(layout: NationalLayout) -> list[str]:
    """Headers listed twice across (or within) a layout's roles: its mapped columns, 处罚类别,
    codes and other headers, as written (not de-duplicated)."""
    listed = [
        normalise_header(h)
        for h in (
            *(h for _, found in layout.columns for h in found),
            *layout.category,
            *layout.codes,
            *layout.other,
        )
    ]
    return sorted({h for h in listed if listed.count(h) > 1})


def test_layouts_keep_every_header_in_one_role():
    for layout in TABLES["records"].layouts:
        assert _headers_in_two_roles(layout) == [], layout.name
        headers = {normalise_header(h) for h in layout.headers()}
        assert {normalise_header(m) for m in layout.markers} <= headers, layout.name
        # id_numbers marks headers of the roles (what their cells hold), not a role of its own.
        assert {normalise_header(h) for h in layout.id_numbers} <= headers, layout.name


def test_a_header_in_two_roles_is_caught():
    doubled = dataclasses.replace(PENALTY_CURRENT, other=(*PENALTY_CURRENT.other, "证件号码"))
    assert _headers_in_two_roles(doubled) == ["证件号码"]
    twice = dataclasses.replace(PENALTY_CURRENT, codes=(*PENALTY_CURRENT.codes, "证件号码"))
    assert _headers_in_two_roles(twice) == ["证件号码"]


def test_every_column_holding_persons_id_numbers_is_marked():
    # The columns the standards fill with natural persons' ID numbers (they are masked).
    marked = {
        layout.name: {normalise_header(h) for h in layout.id_numbers}
        for layout in TABLES["records"].layouts
    }
    assert {"证件号码", "法定代表人证件号码"} <= marked["penalty"]
    assert {"证件号码", "法定代表人证件号码", "法定代表人身份证号"} <= marked["license"]
    for name in ("penalty_2016", "license_2016"):
        assert {"行政相对人代码_5(居民身份证号)", "行政相对人代码_5"} <= marked[name]
    assert "身份证号码/组织机构代码" in marked["dishonest_debtor"]
    # In the current set the bare _5 is a 事业单位证书号, not a person's number.
    assert "行政相对人代码_5" not in marked["penalty"]
