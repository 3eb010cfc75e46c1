"""The generator's vocabularies: integer codes of kinds, roles, records, domains and grades; the
mixes that draw them; the words enterprise, person and authority names are made of.

Positions in the code tuples are the integer codes the stages use internally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from risk.contract import (
    Domain,
    EnterpriseKind,
    EnterpriseStatus,
    RecordKind,
    Role,
    Severity,
    TaxGrade,
)

__all__ = [
    "ABBR",
    "AUTHORITY",
    "BANKS",
    "BRANCH",
    "BRANCH_OF",
    "COMPANY",
    "COMPANY_FORMS",
    "COMPANY_WORDS",
    "COURT_KINDS",
    "DAY0",
    "DISHONEST_KINDS",
    "DM",
    "DOMAINS",
    "DOMAIN_BY_INDUSTRY",
    "EXECUTIVE",
    "GENERAL",
    "GIVEN",
    "GRADES",
    "IB",
    "INDUSTRIES",
    "INDUSTRY_MIX",
    "INDUSTRY_TILT",
    "KINDS",
    "LEGAL_REP",
    "MINOR",
    "NAT",
    "ORG_MA_FROM",
    "PARTNERSHIP",
    "PENALTY_DOMAINS",
    "PROVINCE_ABBR",
    "RECORD_KINDS",
    "RK",
    "ROLES",
    "SERIES",
    "SERIOUS",
    "SEVERITIES",
    "SHAREHOLDER",
    "SHOP_WORDS",
    "SOCIAL",
    "SOCIAL_WORDS",
    "STATUSES",
    "SURNAMES",
    "SURNAME_P",
    "TOWNS",
    "TRADE",
]


KINDS = tuple(EnterpriseKind)
COMPANY, IB, BRANCH, PARTNERSHIP, SOCIAL = range(5)
STATUSES = tuple(EnterpriseStatus)
ROLES = tuple(Role)
LEGAL_REP, SHAREHOLDER, EXECUTIVE, BRANCH_OF = range(4)
RECORD_KINDS = tuple(RecordKind)
RK = {kind: i for i, kind in enumerate(RECORD_KINDS)}
DOMAINS = tuple(Domain)
DM = {domain: i for i, domain in enumerate(DOMAINS)}
SEVERITIES = tuple(Severity)
MINOR, GENERAL, SERIOUS = range(3)
GRADES = tuple(TaxGrade)
INDUSTRIES = "ABCDEFGHIJKLMNOPQRST"
NAT = np.iinfo(np.int64).min  # a missing day: int64 min is NaT once viewed as datetime64
DAY0 = np.datetime64("1970-01-01", "D")
ORG_MA_FROM = np.datetime64("2015-10-01", "D")  # new-style organisation codes (MA…)

PROVINCE_ABBR = {
    11: "京", 12: "津", 13: "冀", 14: "晋", 15: "蒙", 21: "辽", 22: "吉", 23: "黑", 31: "沪",
    32: "苏", 33: "浙", 34: "皖", 35: "闽", 36: "赣", 37: "鲁", 41: "豫", 42: "鄂", 43: "湘",
    44: "粤", 45: "桂", 46: "琼", 50: "渝", 51: "川", 52: "贵", 53: "云", 54: "藏", 61: "陕",
    62: "甘", 63: "青", 64: "宁", 65: "新", 71: "台", 81: "港", 82: "澳",
}  # fmt: skip


def _mix(weights: dict[str, float], keys: Sequence[Any]) -> np.ndarray:
    out = np.array([weights.get(str(k), 0.0) for k in keys], dtype=float)
    return out / out.sum()


# GB/T 4754 section mixes per enterprise kind.
INDUSTRY_MIX = np.vstack(
    [
        _mix(
            {"A": 4, "B": 1, "C": 15, "D": 1, "E": 10, "F": 26, "G": 5, "H": 4, "I": 5, "J": 0.5,
             "K": 4, "L": 11, "M": 6, "N": 1, "O": 3, "P": 1, "Q": 1, "R": 1.5},
            INDUSTRIES,
        ),
        _mix(
            {"A": 5, "C": 4, "E": 2, "F": 46, "G": 4, "H": 20, "I": 1, "L": 2, "O": 14, "Q": 0.5,
             "R": 2},
            INDUSTRIES,
        ),
        _mix({"C": 10, "E": 15, "F": 35, "G": 10, "H": 5, "J": 5, "K": 5, "L": 10, "M": 5},
             INDUSTRIES),
        _mix({"C": 5, "F": 10, "I": 5, "J": 10, "K": 5, "L": 45, "M": 20}, INDUSTRIES),
        _mix({"A": 5, "P": 15, "Q": 10, "R": 10, "S": 60}, INDUSTRIES),
    ]
)  # fmt: skip

# Administrative-penalty domain mix (order of Domain), tilted per industry below.
PENALTY_DOMAINS = _mix(
    {"market_regulation": 34, "ecology_environment": 10, "taxation": 10, "transport": 6,
     "work_safety": 10, "human_resources": 3, "housing_construction": 3, "health": 5,
     "culture_tourism": 3, "agriculture": 3, "natural_resources": 4, "finance": 0.5, "other": 2.5},
    DOMAINS,
)  # fmt: skip
INDUSTRY_TILT: dict[str, dict[str, float]] = {
    "A": {"agriculture": 6, "natural_resources": 2, "ecology_environment": 1.5},
    "B": {"natural_resources": 6, "work_safety": 3, "ecology_environment": 3},
    "C": {"ecology_environment": 3, "work_safety": 2.5, "market_regulation": 1.2},
    "D": {"work_safety": 2, "ecology_environment": 2},
    "E": {"housing_construction": 8, "work_safety": 2.5, "human_resources": 3,
          "natural_resources": 2, "ecology_environment": 1.5},
    "F": {"market_regulation": 1.6},
    "G": {"transport": 8, "work_safety": 1.5},
    "H": {"health": 5, "market_regulation": 1.5, "work_safety": 1.5},
    "J": {"finance": 10},
    "K": {"housing_construction": 4, "natural_resources": 3},
    "L": {"market_regulation": 1.2, "other": 2},
    "M": {"other": 1.5},
    "N": {"ecology_environment": 2},
    "O": {"market_regulation": 1.4, "health": 2},
    "P": {"other": 2, "health": 1.5},
    "Q": {"health": 8},
    "R": {"culture_tourism": 8, "work_safety": 1.5},
    "S": {"other": 4},
    "T": {"other": 2},
}  # fmt: skip


def _domain_matrix() -> np.ndarray:
    """Rows: industries A–T then 'missing'; columns: domains; rows sum to 1."""
    rows = []
    for letter in [*INDUSTRIES, ""]:
        row = PENALTY_DOMAINS.copy()
        for name, factor in INDUSTRY_TILT.get(letter, {}).items():
            row[DM[Domain(name)]] *= factor
        rows.append(row / row.sum())
    return np.vstack(rows)


DOMAIN_BY_INDUSTRY = _domain_matrix()

# Names. Surnames roughly by frequency; given-name characters; 字号 characters.
SURNAMES = np.array(list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
))  # fmt: skip
SURNAME_P = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.8
SURNAME_P /= SURNAME_P.sum()
GIVEN = np.array(list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国红文辉玲斌宇浩凯鹏俊峰志海东林丹萍鑫波"
    "晶琳慧春梅燕雪兰飞成龙云亮宏新良玉金荣德胜祥福庆永安生山松彬健晓欣佳婷雨思子一嘉泽博瑞天晨"
    "阳帅立民兵利忠锋诚顺宝"
))  # fmt: skip
TRADE = np.array(list(
    "鑫盛恒泰华昌隆丰源达通宏兴顺和安益康利嘉瑞信诚美佳新金汇联众博远鼎润祥福德永长天海宇创锦豪"
    "富旺凯晟弘耀辉明光宁正中大立合广星辰禾森峰泽航腾跃优品"
))  # fmt: skip
TOWNS = (
    "城关镇",
    "东城街道",
    "西城街道",
    "新河镇",
    "三桥镇",
    "柳林镇",
    "王集镇",
    "石门乡",
    "桥头镇",
    "白沙镇",
)
COMPANY_WORDS = {
    "A": ("农业", "种植", "生态农业", "养殖"), "B": ("矿业", "石材"),
    "C": ("机械", "食品", "服装", "建材", "塑料制品", "电子科技", "家具", "纺织"),
    "D": ("电力", "燃气", "新能源"), "E": ("建筑工程", "建设工程", "装饰工程", "路桥工程"),
    "F": ("商贸", "贸易", "建材销售", "农资", "医药"), "G": ("物流", "运输", "客运", "仓储"),
    "H": ("餐饮管理", "酒店管理"), "I": ("网络科技", "信息技术", "软件"),
    "J": ("投资", "融资担保"), "K": ("房地产开发", "置业", "物业管理"),
    "L": ("企业管理咨询", "劳务", "广告", "人力资源"), "M": ("工程技术", "检测", "设计"),
    "N": ("环保科技", "园林绿化"), "O": ("家政服务", "汽车维修"), "P": ("教育咨询", "培训"),
    "Q": ("医疗", "健康管理", "养老服务"), "R": ("文化传媒", "旅游开发", "体育"),
    "S": ("社会服务",), "T": ("国际交流",), "": ("实业", "科技"),
}  # fmt: skip
SHOP_WORDS = {
    "A": ("家庭农场", "养殖场"), "C": ("加工厂", "豆腐坊"), "E": ("装修队",),
    "F": ("便利店", "商行", "超市", "五金店", "建材经营部"), "G": ("货运部",),
    "H": ("小吃店", "饭店", "面馆", "宾馆", "农家乐"), "O": ("理发店", "汽车修理部", "洗衣店"),
    "R": ("网吧", "棋牌室"),
}  # fmt: skip
SOCIAL_WORDS = ("协会", "商会", "研究会", "促进会", "服务中心")
COMPANY_FORMS = ("有限公司", "有限责任公司", "股份有限公司")

# Authorities (处罚机关) and 文号 abbreviations per domain; names pass domain_for_authority.
AUTHORITY = {
    Domain.market_regulation: "{c}市场监督管理局",
    Domain.ecology_environment: "{c}生态环境分局",
    Domain.taxation: "国家税务总局{c}税务局",
    Domain.transport: "{c}交通运输局",
    Domain.work_safety: "{c}应急管理局",
    Domain.human_resources: "{c}人力资源和社会保障局",
    Domain.housing_construction: "{c}住房和城乡建设局",
    Domain.health: "{c}卫生健康委员会",
    Domain.culture_tourism: "{c}文化和旅游局",
    Domain.agriculture: "{c}农业农村局",
    Domain.natural_resources: "{c}自然资源和规划局",
    Domain.court: "{c}人民法院",
    Domain.finance: "{c}地方金融监督管理局",
    Domain.other: "{c}发展和改革委员会",
}
ABBR = {
    Domain.market_regulation: "市监", Domain.ecology_environment: "环",
    Domain.taxation: "税", Domain.transport: "交", Domain.work_safety: "应急",
    Domain.human_resources: "人社", Domain.housing_construction: "建",
    Domain.health: "卫", Domain.culture_tourism: "文旅", Domain.agriculture: "农",
    Domain.natural_resources: "自然资", Domain.court: "法", Domain.finance: "金",
    Domain.other: "发改",
}  # fmt: skip
# 文号 word per kind: {p} province, {s} county short name, {a} domain abbreviation.
SERIES = {
    RecordKind.administrative_penalty: "{p}{s}{a}罚",
    RecordKind.abnormal_operation: "{p}{s}市监异",
    RecordKind.serious_violation: "{p}{s}市监严违",
    RecordKind.tax_violation: "{p}{s}税稽罚",
    RecordKind.tax_arrears: "{s}税欠公告",
    RecordKind.wage_arrears: "{s}人社欠薪",
    RecordKind.serious_dishonesty_list: "{s}{a}严失",
    RecordKind.commitment: "{s}{a}诺",
    RecordKind.commitment_breach: "{s}{a}违诺",
    RecordKind.license: "{p}{s}{a}许",
    RecordKind.red_list: "{s}{a}信红",
}
BANKS = (
    ("{s}农村商业银行", 0.30),
    ("农业银行{c}支行", 0.20),
    ("邮储银行{c}支行", 0.15),
    ("建设银行{c}支行", 0.12),
    ("工商银行{c}支行", 0.10),
    ("中国银行{c}支行", 0.08),
    ("交通银行{c}支行", 0.05),
)

# Kinds counting as "dishonest" for linked-party risk and the loan eligibility policy.
DISHONEST_KINDS = (
    RecordKind.dishonest_debtor,
    RecordKind.serious_dishonesty_list,
    RecordKind.serious_violation,
    RecordKind.tax_violation,
)
COURT_KINDS = (
    RecordKind.judgment_debtor,
    RecordKind.dishonest_debtor,
    RecordKind.consumption_restriction,
)
