"""The synthetic county: six contract tables with known ground truth, deterministic per seed.

:func:`generate_county` builds a county's enterprises (市场主体), persons, roles (法定代表人,
股东, 高管, 分支机构), public-credit records, annual financials and 信易贷 loans, all valid
under :mod:`risk.contract`; :func:`write_county` writes them as CSV files with English or
national Chinese (双公示) headers. The latent risk that drives every record and loan outcome is
returned beside the tables (:attr:`County.hidden_risk`), never inside them.

Parameters of :class:`SynthConfig`
----------------------------------
===========================  ==========  ==========  =============================================
field                        default     valid       meaning
===========================  ==========  ==========  =============================================
``enterprises``              20 000      10–10⁷      number of market entities
``years``                    4           1–30        years of records, financials and loans,
                                                     ending at ``end``
``seed``                     0           ≥ 0         seed of every random draw
``end``                      2026-06-30  2000–2100   as-of date: no event is dated after it
``region``                   ``341100``  GB/T 2260   county code (6 digits), in every USCC
``id_salt``                  (bytes)     ≥ 16 bytes  HMAC salt for the synthetic resident IDs
``county_name``              ``清源县``  2–12 chars  used in enterprise and authority names
``kind_mix``                 .56 .36     sum 1,      shares of company, individual_business,
                             .04 .02 .02 company >0  branch, partnership, social_org
``closed_rate``              0.15        [0, 0.9]    share of enterprises closed by ``end``
``revoked_share``            0.30        [0, 1]      share of closures that are 吊销 (else 注销)
``serial_holder_share``      0.12        [0, 0.9]    share of role slots filled by serial holders
``serial_degree_alpha``      1.6         (1, 10]     Pareto index of serial holders' propensity
``controller_risk_share``    0.5         [0, 1]      ρ: share of risk variance from the controller
``group_share``              0.06        [0, 0.5]    share of companies in holding groups
``minority_stake_share``     0.04        [0, 0.5]    companies with a minority corporate holder
``cycle_rate``               0.002       [0, 0.1]    ownership cycles per company (≥ 1 if > 0)
``legal_rep_change_rate``    0.12        [0, 1]      share of eligible enterprises that change
                                                     their legal rep once
``risk_sigma``               1.0         [0, 3]      σ: s.d. of the log record-rate multiplier
``penalty_rate``             0.10        [0, 5]      行政处罚 per enterprise-year at average risk
``court_rate``               0.04        [0, 2]      被执行 cases per enterprise-year
``abnormal_rate``            0.03        [0, 2]      经营异常 listings per enterprise-year
``positive_rate``            0.10        [0, 5]      许可 + 承诺 + 红名单 per enterprise-year
``person_record_rate``       0.003       [0, 1]      personal 失信被执行人 cases per person-year
``serious_list_rate``        0.004       [0, 0.01)   at most this share of enterprises is put
                                                     on the 严重失信主体名单
``explicit_publicity_share`` 0.30        [0, 1]      share of records stating a 公示截止期
``repair_share``             0.30        [0, 1]      信用修复 probability at average risk
``shell_share``              0.003       [0, 0.05]   换壳 companies per enterprise
``loan_rate``                0.15        [0, 1]      share of active companies and partnerships
                                                     that borrowed (individual businesses: ⅓)
``loan_bad_rate``            0.07        (0, 0.5]    target share of loans 90+ days overdue or
                                                     in default
``linked_effect``            1.5         [0, 5]      default log-odds per log(1 + k) dishonest
                                                     linked parties
``missing_rate``             0.03        [0, 0.5]    share of missing cells per nullable number
===========================  ==========  ==========  =============================================

Notes
-----
The generating process, in order. Each stage draws from its own PCG64 stream spawned from
``seed`` (``SeedSequence(seed, spawn_key=(stage,))``), so one stage's draws never shift
another's. Below, ``z`` is an enterprise's latent risk and ``m = exp(σz − σ²/2)`` (mean 1) the
multiplier of its record rates.

1. **Enterprises.** Kind from ``kind_mix``; age exponential (mean 7 years for companies, 4.5
   for individual businesses; at most 35); GB/T 4754 section from a per-kind mix (branches take
   their parent's); registered capital (万元) log-normal per kind, two significant figures, 2 %
   missing, none for branches; region the county's code (85 %) or a neighbouring one. USCC from
   :func:`~risk.identifiers.make_uscc`: ``91`` (企业), ``92`` (个体工商户), ``51``/``52`` (社会团体,
   民办非企业单位), the county region, and a unique organisation code (``MA`` + 7 characters from
   2015-10, before that 8 digits and the GB 11714 check character).
2. **Persons.** Every role slot (founder and first legal rep, co-shareholder, executive, later
   legal rep) is filled by a fresh person or, with probability ``serial_holder_share``, by one
   of a pool of serial holders drawn by capped Pareto propensities: most persons hold one
   enterprise, a few hold dozens (serial founders, 职业法人). Each person has a latent
   ``u ~ N(0, 1)``.
3. **Latent risk.** ``z = √(1−ρ)·ε + √ρ·u(founder)``: enterprises of the same controller share
   risk. A branch uses its parent's ``z`` in place of ``u``.
4. **Closure** with probability ∝ ``closed_rate`` × kind factor × ``exp(z/2)``, on a day
   uniform over the life; revocation (吊销) rather than deregistration also leans on ``z``.
   Branches are founded while their parent is alive and close with it at the latest.
5. **换壳 shells.** ``shell_share · n`` high-risk companies or individual businesses get a
   forced 失信被执行人 record on a day d (with its 被执行 case and 限高 for company and legal rep).
   A company is re-founded 1–18 months after d whose legal rep (60 %) or ~90 % shareholder
   behind a straw legal rep (40 %) is the dishonest enterprise's legal rep, with ``z ≥ 1``;
   half the dishonest enterprises close afterwards.
6. **Ownership.** Holding groups (size 1 + geometric, mean 4; the root is a 控股集团) form
   chains: each member is held by the previous one or an earlier one (51–100 %, 30 % wholly
   owned). Minority stakes (5–35 %) by an earlier company or partnership. Cross-holdings
   (5–20 %) close 2-cycles or, through a grandparent, 3-cycles between active companies.
7. **Roles.** Every enterprise has exactly one legal rep at a time (owner of an individual
   business, 负责人 of a branch, 执行事务合伙人 of a partnership); ``legal_rep_change_rate`` of
   those older than 18 months change it once: the old role ends the day the new one starts.
   Companies and partnerships have the founder and 0–3 co-founders as shareholders; shares are
   normalised per company to 1 (5 % disclose only 70–100 %) after the corporate stakes, and
   floored to 4 decimals, so they never sum above 1. Individual businesses, branches and
   social organisations have no shareholders. Executives: 执行董事 (the founder, 70 %) and
   监事 for companies, an officer for social organisations, half the new legal reps. Roles of
   closed enterprises keep no end (the registry keeps the last filing).
8. **Records**, decided while the enterprise is alive within ``[end − years, end]``
   (follow-ups may come after closure):
   行政处罚 ~ Poisson(``penalty_rate`` · m · exposure) per domain, the domain mix tilted by
   industry and multiplied by a gamma(0.5) frailty per (enterprise, domain), so some
   enterprises repeat in one domain and others across domains; serious with probability
   ``0.04·m^0.6``, else minor or general about evenly; fines log-normal (medians 0.2 / 2 /
   20 万元; 警告: 0).
   经营异常名录 (``abnormal_rate``): 55 % removed on filing, 60 % of the rest become 严重违法
   失信名单 3 years later. Court (``court_rate``, ∝ m^1.2): 被执行 → 失信被执行人 (probability
   ``0.3·√m``, 1–6 months later, 45 % removed on performance) and 限高 (50 %, for the company
   and, as a person record, its legal rep). 欠税公告 and 重大税收违法 at 12 % and 2 % (∝ m^1.5)
   of ``penalty_rate``; 拖欠农民工工资 at 4 % of it (construction ×6, manufacturing ×1.5, other
   ×0.5). 严重失信主体名单 for ``serious_list_rate · n`` enterprises chosen ∝ exp(z) among
   those with a serious record, 3–17 weeks after it. Positive records at ``positive_rate``:
   行政许可 60 %, 信用承诺 30 % (broken later with probability 0.1·m: 违背信用承诺), 红名单
   10 % (∝ exp(−σz)). Personal 失信被执行人 at ``person_record_rate`` · exp(σu − σ²/2).
   ``explicit_publicity_share`` of records state 公示截止期: the term of the regime
   :func:`~risk.publicity.choose_regime` picks (licences: 5 years), shortened for 30 % of
   terms of a year or more as the ranges allow (never for 失信被执行人); the others leave it
   empty, and ``regime`` is always empty: ingest derives both. General and serious records
   other than court and 经营异常 are repaired (信用修复) with probability ``repair_share ·
   2/(1 + m)``, 3 months (general) or 1 year (serious) + up to a year after the decision.
9. **Financials**, one row per enterprise and complete calendar year alive within the window
   (branches report through their parent): tax paid from size, age and ``z`` (many zeros for
   individual businesses); 纳税信用级别 A/B/C/D from ``−z`` and size, M for most enterprises
   under 18 months, D after 重大税收违法 (that year and the next), C or worse after 欠税;
   individual businesses mostly unrated; insured employees ~ Poisson(size); utility on-time
   rate ~ Beta with mean falling in ``z``; government procurement 0 for ~92 %. Nullable
   numbers are missing at ``missing_rate`` (utility at twice that).
10. **Loans.** ``loan_rate`` of active companies and partnerships (a third of that for
    individual businesses) borrow 1–3 times, chosen ∝ exp(−0.4z + 0.3·log capital), applying
    between their 6th month and 30 days before closure or ``end``. Applications on which the
    enterprise or its legal rep has an active 失信被执行人 or 严重失信 record (per
    :func:`~risk.publicity.active_mask`) are declined and absent: outcomes exist only for funded
    loans. Approved = max(5–9 × average tax of the two prior years (银税互动), 0.1–0.3 ×
    registered capital), in multiples of 5 万元, capped (50 individual business, 500
    partnership, 1000 company); drawn 60–100 % of it. Default log-odds: ``0.5z`` + 0.35 ×
    own negative records of the 24 months before applying (severity-weighted, capped at 6) +
    capacity (−0.25·log(1 + tax), low utility rate, C/D grade, −A grade) + 0.3 if under two
    years old + ``linked_effect · log(1 + k)``, where k counts, before the application, the
    other enterprises of the borrower's legal rep, shareholders and executives and its
    corporate shareholders with a 失信被执行人, 严重失信, 严重违法失信 or 重大税收违法 record,
    and those persons' own 失信 / 限高 records. A self-only model misses that term; a graph model
    can see it. The intercept is solved so the share of loans visibly bad by ``end`` (defaults
    surface 2–14 months after application, so recent loans still perform) is
    ``loan_bad_rate``. Bad loans are 90 days overdue, default 3–9 months later if by ``end``;
    some running loans are 30 days overdue; status_date is the bad day, the maturity of a
    repaid loan, or ``end``.

No event (founded, closed, start, end, decided, repaired, removed, applied, status_date) lies
after ``end``; ``publicity_end`` is a deadline fixed at decision and may lie beyond it.
Synthetic resident IDs are valid GB 11643 numbers that exist only inside
:func:`generate_county`: persons carry their HMAC hash and mask only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from risk.contract import (
    TABLES,
    ColumnKind,
    Domain,
    EnterpriseKind,
    EnterpriseStatus,
    HolderType,
    LoanStatus,
    RecordKind,
    Role,
    Severity,
    SubjectType,
    TaxGrade,
    zh_label,
)
from risk.identifiers import (
    PROVINCE_CODES,
    USCC_ALPHABET,
    hash_resident_id,
    make_uscc,
    mask_resident_id,
)
from risk.publicity import (
    NDRC_2026_IN_FORCE,
    active_mask,
    choose_regime,
    resolve_publicity,
    term_months,
)
from risk.validation import check_int, check_real

__all__ = ["County", "SynthConfig", "generate_county", "write_county"]

# ---------------------------------------------------------------------------------------------
# Vocabularies. Positions in these tuples are the integer codes used internally.

_KINDS = tuple(EnterpriseKind)
_COMPANY, _IB, _BRANCH, _PARTNERSHIP, _SOCIAL = range(5)
_STATUSES = tuple(EnterpriseStatus)
_ROLES = tuple(Role)
_LEGAL_REP, _SHAREHOLDER, _EXECUTIVE, _BRANCH_OF = range(4)
_RECORD_KINDS = tuple(RecordKind)
_RK = {kind: i for i, kind in enumerate(_RECORD_KINDS)}
_DOMAINS = tuple(Domain)
_DM = {domain: i for i, domain in enumerate(_DOMAINS)}
_SEVERITIES = tuple(Severity)
_MINOR, _GENERAL, _SERIOUS = range(3)
_GRADES = tuple(TaxGrade)
_INDUSTRIES = "ABCDEFGHIJKLMNOPQRST"
_NAT = np.iinfo(np.int64).min  # a missing day: int64 min is NaT once viewed as datetime64
_DAY0 = np.datetime64("1970-01-01", "D")
_ORG_MA_FROM = np.datetime64("2015-10-01", "D")  # new-style organisation codes (MA…)

_PROVINCE_ABBR = {
    11: "京", 12: "津", 13: "冀", 14: "晋", 15: "蒙", 21: "辽", 22: "吉", 23: "黑", 31: "沪",
    32: "苏", 33: "浙", 34: "皖", 35: "闽", 36: "赣", 37: "鲁", 41: "豫", 42: "鄂", 43: "湘",
    44: "粤", 45: "桂", 46: "琼", 50: "渝", 51: "川", 52: "贵", 53: "云", 54: "藏", 61: "陕",
    62: "甘", 63: "青", 64: "宁", 65: "新", 71: "台", 81: "港", 82: "澳",
}  # fmt: skip


def _mix(weights: dict[str, float], keys: Sequence[Any]) -> np.ndarray:
    out = np.array([weights.get(str(k), 0.0) for k in keys], dtype=float)
    return out / out.sum()


# GB/T 4754 section mixes per enterprise kind.
_INDUSTRY_MIX = np.vstack(
    [
        _mix(
            {"A": 4, "B": 1, "C": 15, "D": 1, "E": 10, "F": 26, "G": 5, "H": 4, "I": 5, "J": 0.5,
             "K": 4, "L": 11, "M": 6, "N": 1, "O": 3, "P": 1, "Q": 1, "R": 1.5},
            _INDUSTRIES,
        ),
        _mix(
            {"A": 5, "C": 4, "E": 2, "F": 46, "G": 4, "H": 20, "I": 1, "L": 2, "O": 14, "Q": 0.5,
             "R": 2},
            _INDUSTRIES,
        ),
        _mix({"C": 10, "E": 15, "F": 35, "G": 10, "H": 5, "J": 5, "K": 5, "L": 10, "M": 5},
             _INDUSTRIES),
        _mix({"C": 5, "F": 10, "I": 5, "J": 10, "K": 5, "L": 45, "M": 20}, _INDUSTRIES),
        _mix({"A": 5, "P": 15, "Q": 10, "R": 10, "S": 60}, _INDUSTRIES),
    ]
)  # fmt: skip

# Administrative-penalty domain mix (order of Domain), tilted per industry below.
_PENALTY_DOMAINS = _mix(
    {"market_regulation": 34, "ecology_environment": 10, "taxation": 10, "transport": 6,
     "work_safety": 10, "human_resources": 3, "housing_construction": 3, "health": 5,
     "culture_tourism": 3, "agriculture": 3, "natural_resources": 4, "finance": 0.5, "other": 2.5},
    _DOMAINS,
)  # fmt: skip
_INDUSTRY_TILT: dict[str, dict[str, float]] = {
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
    for letter in [*_INDUSTRIES, ""]:
        row = _PENALTY_DOMAINS.copy()
        for name, factor in _INDUSTRY_TILT.get(letter, {}).items():
            row[_DM[Domain(name)]] *= factor
        rows.append(row / row.sum())
    return np.vstack(rows)


_DOMAIN_BY_INDUSTRY = _domain_matrix()

# Names. Surnames roughly by frequency; given-name characters; 字号 characters.
_SURNAMES = np.array(list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
))  # fmt: skip
_SURNAME_P = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
_SURNAME_P /= _SURNAME_P.sum()
_GIVEN = np.array(list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国红文辉玲斌宇浩凯鹏俊峰志海东林丹萍鑫波"
    "晶琳慧春梅燕雪兰飞成龙云亮宏新良玉金荣德胜祥福庆永安生山松彬健晓欣佳婷雨思子一嘉泽博瑞天晨"
    "阳帅立民兵利忠锋诚顺宝"
))  # fmt: skip
_TRADE = np.array(list(
    "鑫盛恒泰华昌隆丰源达通宏兴顺和安益康利嘉瑞信诚美佳新金汇联众博远鼎润祥福德永长天海宇创锦豪"
    "富旺凯晟弘耀辉明光宁正中大立合广星辰禾森峰泽航腾跃优品"
))  # fmt: skip
_TOWNS = (
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
_COMPANY_WORDS = {
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
_SHOP_WORDS = {
    "A": ("家庭农场", "养殖场"), "C": ("加工厂", "豆腐坊"), "E": ("装修队",),
    "F": ("便利店", "商行", "超市", "五金店", "建材经营部"), "G": ("货运部",),
    "H": ("小吃店", "饭店", "面馆", "宾馆", "农家乐"), "O": ("理发店", "汽车修理部", "洗衣店"),
    "R": ("网吧", "棋牌室"),
}  # fmt: skip
_SOCIAL_WORDS = ("协会", "商会", "研究会", "促进会", "服务中心")
_COMPANY_FORMS = ("有限公司", "有限责任公司", "股份有限公司")

# Authorities (处罚机关) and 文号 abbreviations per domain; names pass domain_for_authority.
_AUTHORITY = {
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
_ABBR = {
    Domain.market_regulation: "市监", Domain.ecology_environment: "环",
    Domain.taxation: "税", Domain.transport: "交", Domain.work_safety: "应急",
    Domain.human_resources: "人社", Domain.housing_construction: "建",
    Domain.health: "卫", Domain.culture_tourism: "文旅", Domain.agriculture: "农",
    Domain.natural_resources: "自然资", Domain.court: "法", Domain.finance: "金",
    Domain.other: "发改",
}  # fmt: skip
# 文号 word per kind: {p} province, {s} county short name, {a} domain abbreviation.
_SERIES = {
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
_BANKS = (
    ("{s}农村商业银行", 0.30),
    ("农业银行{c}支行", 0.20),
    ("邮储银行{c}支行", 0.15),
    ("建设银行{c}支行", 0.12),
    ("工商银行{c}支行", 0.10),
    ("中国银行{c}支行", 0.08),
    ("交通银行{c}支行", 0.05),
)

# Kinds counting as "dishonest" for linked-party risk and the loan eligibility policy.
_DISHONEST_KINDS = (
    RecordKind.dishonest_debtor,
    RecordKind.serious_dishonesty_list,
    RecordKind.serious_violation,
    RecordKind.tax_violation,
)
_COURT_KINDS = (
    RecordKind.judgment_debtor,
    RecordKind.dishonest_debtor,
    RecordKind.consumption_restriction,
)


# ---------------------------------------------------------------------------------------------
# Configuration


# field → (low, high, open_low, open_high)
_FLOAT_RULES: dict[str, tuple[float, float, bool, bool]] = {
    "closed_rate": (0.0, 0.9, False, False),
    "revoked_share": (0.0, 1.0, False, False),
    "serial_holder_share": (0.0, 0.9, False, False),
    "serial_degree_alpha": (1.0, 10.0, True, False),
    "controller_risk_share": (0.0, 1.0, False, False),
    "group_share": (0.0, 0.5, False, False),
    "minority_stake_share": (0.0, 0.5, False, False),
    "cycle_rate": (0.0, 0.1, False, False),
    "legal_rep_change_rate": (0.0, 1.0, False, False),
    "risk_sigma": (0.0, 3.0, False, False),
    "penalty_rate": (0.0, 5.0, False, False),
    "court_rate": (0.0, 2.0, False, False),
    "abnormal_rate": (0.0, 2.0, False, False),
    "positive_rate": (0.0, 5.0, False, False),
    "person_record_rate": (0.0, 1.0, False, False),
    "serious_list_rate": (0.0, 0.01, False, True),
    "explicit_publicity_share": (0.0, 1.0, False, False),
    "repair_share": (0.0, 1.0, False, False),
    "shell_share": (0.0, 0.05, False, False),
    "loan_rate": (0.0, 1.0, False, False),
    "loan_bad_rate": (0.0, 0.5, True, False),
    "linked_effect": (0.0, 5.0, False, False),
    "missing_rate": (0.0, 0.5, False, False),
}


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of a synthetic county; see the module docstring for each field.

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, e.g. ``"years must be an int in [1, 30]; got 0"``.
    """

    enterprises: int = 20_000
    years: int = 4
    seed: int = 0
    end: date = date(2026, 6, 30)
    region: str = "341100"
    id_salt: bytes = b"credlink-synthetic-salt"
    county_name: str = "清源县"
    kind_mix: tuple[float, float, float, float, float] = (0.56, 0.36, 0.04, 0.02, 0.02)
    closed_rate: float = 0.15
    revoked_share: float = 0.30
    serial_holder_share: float = 0.12
    serial_degree_alpha: float = 1.6
    controller_risk_share: float = 0.5
    group_share: float = 0.06
    minority_stake_share: float = 0.04
    cycle_rate: float = 0.002
    legal_rep_change_rate: float = 0.12
    risk_sigma: float = 1.0
    penalty_rate: float = 0.10
    court_rate: float = 0.04
    abnormal_rate: float = 0.03
    positive_rate: float = 0.10
    person_record_rate: float = 0.003
    serious_list_rate: float = 0.004
    explicit_publicity_share: float = 0.30
    repair_share: float = 0.30
    shell_share: float = 0.003
    loan_rate: float = 0.15
    loan_bad_rate: float = 0.07
    linked_effect: float = 1.5
    missing_rate: float = 0.03

    def __post_init__(self) -> None:
        for field_name, minimum, maximum in (
            ("enterprises", 10, 10**7),
            ("years", 1, 30),
            ("seed", 0, 2**63 - 1),
        ):
            number = check_int(field_name, getattr(self, field_name), minimum, maximum)
            object.__setattr__(self, field_name, number)
        if isinstance(self.end, datetime) or not isinstance(self.end, date):
            raise TypeError(f"end must be a datetime.date; got {type(self.end).__name__}")
        if not date(2000, 1, 1) <= self.end <= date(2100, 12, 31):
            raise ValueError(f"end must be a date in [2000-01-01, 2100-12-31]; got {self.end}")
        if not isinstance(self.region, str):
            raise TypeError(f"region must be a str; got {type(self.region).__name__}")
        if not (
            len(self.region) == 6
            and self.region.isascii()
            and self.region.isdigit()
            and int(self.region[:2]) in PROVINCE_CODES
        ):
            raise ValueError(
                f"region must be a 6-digit GB/T 2260 code with a province prefix; "
                f"got {self.region!r}"
            )
        if not isinstance(self.id_salt, bytes):
            raise TypeError(f"id_salt must be bytes; got {type(self.id_salt).__name__}")
        if len(self.id_salt) < 16:
            raise ValueError(f"id_salt must be at least 16 bytes; got {len(self.id_salt)}")
        if not isinstance(self.county_name, str):
            raise TypeError(f"county_name must be a str; got {type(self.county_name).__name__}")
        if not 2 <= len(self.county_name.strip()) <= 12:
            raise ValueError(f"county_name must be 2-12 characters; got {self.county_name!r}")
        self._check_kind_mix()
        for name, (low, high, open_low, open_high) in _FLOAT_RULES.items():
            value = check_real(
                name, getattr(self, name), low, high, open_low=open_low, open_high=open_high
            )
            object.__setattr__(self, name, value)

    def _check_kind_mix(self) -> None:
        mix = self.kind_mix
        if not isinstance(mix, tuple | list):
            raise TypeError(f"kind_mix must be a tuple of 5 floats; got {type(mix).__name__}")
        values = tuple(check_real(f"kind_mix[{i}]", v, 0.0, 1.0) for i, v in enumerate(mix))
        if len(values) != len(_KINDS) or abs(sum(values) - 1.0) > 1e-6 or values[0] <= 0:
            raise ValueError(
                "kind_mix must be 5 shares (company, individual_business, branch, partnership, "
                f"social_org) summing to 1 with company > 0; got {mix!r}"
            )
        object.__setattr__(self, "kind_mix", values)


@dataclass(frozen=True, eq=False)
class County:
    """A generated county: the six contract tables plus the ground truth behind them.

    Attributes
    ----------
    tables
        Keyed by :data:`risk.contract.TABLES` names; each frame has exactly the contract's
        columns in order (enums as English codes, dates as ``datetime64``, NaN/NaT missing).
    hidden_risk
        Latent risk ``z`` per USCC (index ``uscc``): the ground truth that drives records and
        loan outcomes. Not part of the contract; for evaluation only.
    config
        The configuration that produced the county.
    """

    tables: dict[str, pd.DataFrame]
    hidden_risk: pd.Series
    config: SynthConfig


# ---------------------------------------------------------------------------------------------
# Day arithmetic on int64 day numbers (days since 1970-01-01; _NAT = missing).


def _day(value: date) -> int:
    return int((np.datetime64(value, "D") - _DAY0).astype(np.int64))


def _add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Calendar month offset, clipped to the month end (as ``pd.DateOffset(months=m)``)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day_of_month, length - 1)


def _year(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days, dtype=np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[Y]")
        .astype(np.int64)
        + 1970
    )


def _dates(days: np.ndarray) -> pd.Series:
    """int64 days (``_NAT`` missing) → ``datetime64[us]`` (the unit pandas parses dates to)."""
    return pd.Series(
        np.asarray(days, dtype=np.int64).view("datetime64[D]").astype("datetime64[us]")
    )


def _uniform_days(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A uniform whole day in ``[low, high]`` (``high ≥ low``)."""
    span = np.maximum(high - low, 0) + 1
    return low + np.floor(rng.random(len(low)) * span).astype(np.int64)


def _or_nat(days: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return np.where(keep, days, _NAT)


def _top_k(rng: np.random.Generator, log_weight: np.ndarray, k: int) -> np.ndarray:
    """Weighted sample of ``k`` positions without replacement (Gumbel top-k)."""
    k = min(k, len(log_weight))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    keys = log_weight + rng.gumbel(size=len(log_weight))
    return np.sort(np.argpartition(-keys, k - 1)[:k])


# ---------------------------------------------------------------------------------------------
# Persons


class _PersonPool:
    """Fills role slots with fresh persons or, at ``share``, serial holders (heavy tail)."""

    def __init__(self, rng: np.random.Generator, n_serial: int, alpha: float, share: float) -> None:
        propensity = np.minimum(1.0 + rng.pareto(alpha, n_serial), 25.0)
        self._p = propensity / propensity.sum()
        self._share = share if n_serial else 0.0
        self._latent = [rng.standard_normal(n_serial)]
        self.size = n_serial

    def take(self, rng: np.random.Generator, k: int) -> np.ndarray:
        serial = rng.random(k) < self._share
        out = np.empty(k, dtype=np.int64)
        if serial.any():
            out[serial] = rng.choice(len(self._p), size=int(serial.sum()), p=self._p)
        out[~serial] = self.fresh(rng, int((~serial).sum()))
        return out

    def fresh(self, rng: np.random.Generator, k: int) -> np.ndarray:
        out = self.size + np.arange(k, dtype=np.int64)
        self.size += k
        self._latent.append(rng.standard_normal(k))
        return out

    @property
    def latent(self) -> np.ndarray:
        return np.concatenate(self._latent)


def _resident_ids(
    rng: np.random.Generator, n: int, regions: Sequence[str], end_day: int
) -> list[str]:
    """``n`` distinct valid GB 11643 numbers (adults); they must never leave the generator."""
    prefix = np.array([[int(c) for c in r] for r in regions], dtype=np.int64)
    numbers = np.empty(0, dtype="<U18")
    while len(numbers) < n:
        k = n - len(numbers)
        region = prefix[rng.choice(len(regions), size=k, p=_region_p(len(regions)))]
        age = np.clip(rng.normal(45, 10, k), 20, 75)
        born = (end_day - age * 365.25).astype(np.int64).astype("datetime64[D]")
        month = born.astype("datetime64[M]")
        year = month.astype("datetime64[Y]")
        ymd = (
            (year.astype(np.int64) + 1970) * 10_000
            + (month - year).astype(np.int64) * 100
            + (born - month).astype(np.int64)
            + 101
        )
        tail = ymd * 1000 + rng.integers(0, 1000, k)  # YYYYMMDD + sequence, 11 digits
        body = np.hstack([region, tail[:, None] // 10 ** np.arange(10, -1, -1) % 10])
        check = (body * _ID_WEIGHTS).sum(axis=1) % 11
        chars = np.hstack([_DIGITS[body], _ID_CHECK[check][:, None]])
        fresh = np.ascontiguousarray(chars).view("<U18").ravel()
        candidates = np.concatenate([numbers, fresh])
        _, first = np.unique(candidates, return_index=True)
        numbers = candidates[np.sort(first)]
    return [str(number) for number in numbers[:n]]


_DIGITS = np.array(list("0123456789"), dtype="<U1")
_ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"), dtype="<U1")


def _region_p(k: int) -> np.ndarray:
    p = np.full(k, 0.3 / max(k - 1, 1))
    p[0] = 0.7 if k > 1 else 1.0
    return p / p.sum()


def _nearby_regions(region: str) -> list[str]:
    """The county first, then a few codes of the same prefecture (GB/T 2260 digits 5–6)."""
    codes = [region]
    for k in (2, 3, 4, 21, 22, 23, 24, 25, 26, 81):
        code = f"{region[:4]}{k:02d}"
        if code != region and len(codes) < 7:
            codes.append(code)
    return codes


# ---------------------------------------------------------------------------------------------
# The generator


class _RecordDraws:
    """Draws record events for the builder and collects them as integer-coded blocks."""

    def __init__(self, builder: _Builder, rng: np.random.Generator) -> None:
        sigma = builder.cfg.risk_sigma
        self.rng, self.end = rng, builder.end
        self.lo = np.maximum(builder.founded, builder.t0)
        self.hi = np.minimum(builder.alive_end(), builder.end)
        self.exposure = np.maximum(self.hi - self.lo, 0) / 365.25  # years alive in the window
        self.m = np.exp(sigma * builder.z - sigma**2 / 2)  # record-rate multiplier, mean 1
        self._blocks: list[dict[str, Any]] = []

    def events(self, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Poisson(rate · exposure) events per enterprise, on uniform days while alive."""
        count = self.rng.poisson(rate * self.exposure)
        ent = np.repeat(np.arange(len(rate)), count)
        return ent, _uniform_days(self.rng, self.lo[ent], self.hi[ent])

    def later(self, start: np.ndarray, low: int, high: int) -> np.ndarray:
        """A day ``low``–``high`` days after each ``start``."""
        offset = np.floor(self.rng.random(len(start)) * (high - low)).astype(np.int64)
        return start + low + offset

    def removal(self, start: np.ndarray, p: float, low: int, high: int) -> np.ndarray:
        """With probability ``p`` a removal day ``low``–``high`` days later (if by ``end``)."""
        when = self.later(start, low, high)
        return _or_nat(when, (self.rng.random(len(start)) < p) & (when <= self.end))

    def add(
        self,
        subject: np.ndarray,
        kind: RecordKind,
        domain: np.ndarray | int,
        severity: np.ndarray | int,
        decided: np.ndarray,
        *,
        stype: int = 0,
        removed: np.ndarray | None = None,
        amount: np.ndarray | None = None,
        case: np.ndarray | None = None,
        suffix: str = "",
    ) -> None:
        size = len(subject)
        self._blocks.append(
            {
                "stype": np.full(size, stype),
                "subject": subject,
                "kind": np.full(size, _RK[kind]),
                "domain": np.zeros(size, np.int64) + domain,
                "severity": np.zeros(size, np.int64) + severity,
                "decided": decided,
                "removed": np.full(size, _NAT) if removed is None else removed,
                "amount": np.full(size, np.nan) if amount is None else amount,
                "case": np.full(size, -1) if case is None else case,
                "suffix": np.full(size, suffix),
            }
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {key: np.concatenate([b[key] for b in self._blocks]) for key in self._blocks[0]}
        )


class _Builder:
    """Holds the county's arrays while the stages of :func:`generate_county` fill them."""

    def __init__(self, config: SynthConfig) -> None:
        self.cfg = config
        self.end = _day(config.end)
        self.t0 = int(_add_months(np.array([self.end]), -12 * config.years)[0])
        self.regions = _nearby_regions(config.region)
        self.county_short = config.county_name.strip()[0]
        # 清源县 → 清源 (as in 清源农商银行); two-character names keep their suffix.
        name = config.county_name.strip()
        self.county_stem = name[:-1] if len(name) > 2 and name[-1] in "县区市旗" else name
        self.province = _PROVINCE_ABBR[int(config.region[:2])]

    def rng(self, stage: int) -> np.random.Generator:
        sequence = np.random.SeedSequence(self.cfg.seed, spawn_key=(stage,))
        return np.random.Generator(np.random.PCG64(sequence))

    # -- 1. enterprises -----------------------------------------------------------------------

    def enterprises(self) -> None:
        rng, cfg = self.rng(1), self.cfg
        n = cfg.enterprises
        kind = rng.choice(len(_KINDS), size=n, p=np.array(cfg.kind_mix) / sum(cfg.kind_mix))
        if not (kind == _COMPANY).any():
            kind[kind == _BRANCH] = _COMPANY
            kind[0] = _COMPANY
        mean_age = np.array([7.0, 4.5, 5.0, 4.0, 9.0])[kind]
        age = np.minimum(rng.exponential(mean_age), 35.0)
        self.founded = self.end - np.round(age * 365.25).astype(np.int64)
        industry = np.empty(n, dtype=np.int64)
        for k in range(len(_KINDS)):
            rows = kind == k
            industry[rows] = rng.choice(len(_INDUSTRIES), size=int(rows.sum()), p=_INDUSTRY_MIX[k])
        industry[rng.random(n) < 0.005] = len(_INDUSTRIES)  # missing: the last row of matrices
        log_cap_mean = np.log(np.array([100.0, 5.0, np.nan, 300.0, 10.0]))[kind]
        log_cap_sd = np.array([1.2, 1.0, 1.0, 1.3, 0.8])[kind]
        capital = np.exp(rng.normal(log_cap_mean, log_cap_sd))
        magnitude = 10.0 ** (np.floor(np.log10(np.where(np.isnan(capital), 1, capital))) - 1)
        capital = np.round(capital / magnitude) * magnitude
        capital[rng.random(n) < 0.02] = np.nan
        self.n, self.kind, self.industry, self.capital = n, kind, industry, capital
        # Size on a log scale, with missing capital at the kind's median: drives financials.
        self.log_size = np.where(np.isnan(capital), log_cap_mean, np.log(np.maximum(capital, 0.1)))
        nearby = rng.integers(1, max(len(self.regions), 2), n) % len(self.regions)
        self.region = np.where(rng.random(n) < 0.85, 0, nearby)
        self.trade = rng.integers(0, len(_TRADE), size=(n, 2))
        self.name_pick = rng.integers(0, 1_000_000, size=(n, 3))
        self.closed = np.full(n, _NAT, dtype=np.int64)
        self.status = np.zeros(n, dtype=np.int64)
        self.is_shell = np.zeros(n, dtype=bool)
        self.is_group_root = np.zeros(n, dtype=bool)
        companies = np.flatnonzero(kind == _COMPANY)
        branches = np.flatnonzero(kind == _BRANCH)
        weight = np.exp(0.5 * np.nan_to_num(self.log_size[companies], nan=np.log(100.0)))
        self.parent = np.full(n, -1, dtype=np.int64)
        self.parent[branches] = rng.choice(companies, size=len(branches), p=weight / weight.sum())
        self.industry[branches] = industry[
            self.parent[branches]
        ]  # a branch does its parent's trade

    # -- 2.–5. persons, latent risk, closure, shells ------------------------------------------

    def controllers(self) -> None:
        rng, cfg = self.rng(2), self.cfg
        expected_serial = cfg.serial_holder_share * 2.3 * self.n
        n_serial = max(3, round(expected_serial / 5)) if cfg.serial_holder_share > 0 else 0
        self.pool = _PersonPool(rng, n_serial, cfg.serial_degree_alpha, cfg.serial_holder_share)
        self.founder = self.pool.take(rng, self.n)

    def latent_and_closure(self) -> None:
        rng, cfg = self.rng(3), self.cfg
        rho = cfg.controller_risk_share
        u = self.pool.latent
        eps = rng.standard_normal(self.n)
        self.eps = eps
        self.z = math.sqrt(1 - rho) * eps + math.sqrt(rho) * u[self.founder]
        others = np.flatnonzero(self.kind != _BRANCH)
        self._close(rng, others, np.full(len(others), self.end))
        # Branches: founded while the parent is alive, risk inherited from the parent.
        branches = np.flatnonzero(self.kind == _BRANCH)
        parent = self.parent[branches]
        parent_end = np.where(self.closed[parent] == _NAT, self.end, self.closed[parent])
        self.founded[branches] = np.minimum(
            _uniform_days(rng, self.founded[parent] + 1, parent_end), self.end
        )
        self.z[branches] = math.sqrt(1 - rho) * eps[branches] + math.sqrt(rho) * self.z[parent]
        self._close(rng, branches, parent_end)
        forced = (self.closed[parent] != _NAT) & (
            (self.closed[branches] == _NAT) | (self.closed[branches] > self.closed[parent])
        )
        rows = branches[forced]
        self.closed[rows] = np.maximum(self.closed[parent[forced]], self.founded[rows])
        self.status[rows] = 1

    def _close(self, rng: np.random.Generator, rows: np.ndarray, limit: np.ndarray) -> None:
        if not len(rows):
            return
        factor = np.array([0.9, 1.4, 0.8, 0.8, 0.5])[self.kind[rows]] * np.exp(0.5 * self.z[rows])
        p = np.clip(self.cfg.closed_rate * factor / factor.mean(), 0, 0.95)
        span = limit - self.founded[rows]
        closing = (rng.random(len(rows)) < p) & (span > 60)
        when = _uniform_days(rng, self.founded[rows] + 30, limit - 1)
        self.closed[rows[closing]] = when[closing]
        tilt = np.exp(0.5 * self.z[rows])
        revoked = rng.random(len(rows)) < np.clip(self.cfg.revoked_share * tilt / tilt.mean(), 0, 1)
        self.status[rows[closing]] = np.where(revoked[closing], 2, 1)

    def alive_end(self) -> np.ndarray:
        return np.where(self.closed == _NAT, self.end, self.closed)

    def shells(self) -> None:
        rng, cfg = self.rng(4), self.cfg
        k = round(cfg.shell_share * self.n)
        self.source = np.empty(0, dtype=np.int64)
        self.source_day = np.empty(0, dtype=np.int64)
        self.shell_major = np.full(self.n, -1, dtype=np.int64)
        if k == 0:
            return
        is_parent = np.zeros(self.n, dtype=bool)
        is_parent[self.parent[self.parent >= 0]] = True
        low = np.maximum(self.t0, self.founded + 365)
        high = np.minimum(self.alive_end(), self.end) - 150
        eligible = np.flatnonzero(
            np.isin(self.kind, [_COMPANY, _IB]) & ~is_parent & (high - low > 30)
        )
        source = eligible[_top_k(rng, 1.5 * self.z[eligible], k)]
        candidates = np.flatnonzero((self.kind == _COMPANY) & ~is_parent)
        candidates = np.setdiff1d(candidates, source)
        k = min(len(source), len(candidates))
        source = rng.permutation(source)[:k]
        shell = rng.choice(candidates, size=k, replace=False)
        day = _uniform_days(rng, low[source], high[source])
        self.founded[shell] = np.minimum(
            day + 30 + np.floor(rng.random(k) * np.minimum(510, self.end - day - 30)), self.end
        ).astype(np.int64)
        self.closed[shell] = _NAT
        self.status[shell] = 0
        as_rep = rng.random(k) < 0.6
        self.founder[shell[as_rep]] = self.founder[source[as_rep]]
        self.shell_major[shell[~as_rep]] = self.founder[source[~as_rep]]
        # The shell's controller is the dishonest company's legal rep either way.
        rho = cfg.controller_risk_share
        controller_u = self.pool.latent[self.founder[source]]
        recomputed = math.sqrt(1 - rho) * self.eps[shell] + math.sqrt(rho) * controller_u
        self.z[shell] = np.maximum(recomputed, 1.0 + 0.5 * np.abs(rng.standard_normal(k)))
        self.is_shell[shell] = True
        # Half the sources are abandoned after the dishonest-debtor listing.
        closing = rng.random(k) < 0.5
        when = day + 60 + np.floor(rng.random(k) * 340).astype(np.int64)
        closing &= (when <= self.end) & (
            (self.closed[source] == _NAT) | (self.closed[source] > when)
        )
        self.closed[source[closing]] = when[closing]
        self.status[source[closing]] = np.where(rng.random(int(closing.sum())) < 0.5, 2, 1)
        self.source, self.source_day = source, day

    # -- 6.–7. ownership and roles ------------------------------------------------------------

    def ownership(self) -> None:
        """Corporate shareholders: holding groups, minority stakes, cross-holding cycles."""
        rng, cfg = self.rng(5), self.cfg
        companies = np.flatnonzero((self.kind == _COMPANY) & ~self.is_shell)
        holders, helds, shares, starts = [], [], [], []
        group_parent = np.full(self.n, -1, dtype=np.int64)
        n_members = round(cfg.group_share * len(companies))
        if n_members >= 2:
            members = rng.choice(companies, size=n_members, replace=False)
            sizes = 1 + rng.geometric(1 / 3, size=n_members)
            sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n_members)) + 1]
            sizes[-1] -= sizes.sum() - n_members
            sizes = sizes[sizes > 0]
            group = np.repeat(np.arange(len(sizes)), sizes)
            members = members[np.lexsort((self.founded[members], group))]
            base = np.repeat(np.cumsum(sizes) - sizes, sizes)
            pos = np.arange(n_members) - base
            chain = rng.random(n_members) < 0.5
            parent_pos = np.where(chain, pos - 1, np.floor(rng.random(n_members) * pos))
            has = pos > 0
            holder = members[(base + parent_pos.astype(np.int64))[has]]
            held = members[has]
            ok = (self.closed[holder] == _NAT) | (self.closed[holder] > self.founded[held])
            holder, held = holder[ok], held[ok]
            group_parent[held] = holder
            self.is_group_root[members[pos == 0]] = True
            share = np.where(rng.random(len(held)) < 0.3, 1.0, rng.uniform(0.51, 1.0, len(held)))
            holders.append(holder)
            helds.append(held)
            shares.append(share)
            starts.append(np.maximum(self.founded[held], self.founded[holder]))
            # Cross-holdings close cycles (2-cycles; 3-cycles through a grandparent).
            live = (self.status[holder] == 0) & (self.status[held] == 0)
            n_cycles = max(1, round(cfg.cycle_rate * len(companies))) if cfg.cycle_rate else 0
            picks = rng.permutation(np.flatnonzero(live))[:n_cycles]
            if len(picks):
                top = holder[picks]
                grand = group_parent[top]
                use_grand = (rng.random(len(picks)) < 0.3) & (grand >= 0)
                target = np.where(use_grand, grand, top)
                bottom = held[picks]
                first = np.maximum(self.founded[bottom], self.founded[target])
                holders.append(bottom)
                helds.append(target)
                shares.append(rng.uniform(0.05, 0.2, len(picks)))
                starts.append(_uniform_days(rng, first, np.full(len(picks), self.end)))
        # Minority stakes by an earlier company or partnership.
        pool = np.flatnonzero(np.isin(self.kind, [_COMPANY, _PARTNERSHIP]) & ~self.is_shell)
        n_minor = round(cfg.minority_stake_share * len(companies))
        if n_minor and len(pool) > 1:
            held = rng.choice(companies, size=min(n_minor, len(companies)), replace=False)
            order = pool[np.argsort(self.founded[pool], kind="stable")]
            earlier = np.searchsorted(self.founded[order], self.founded[held])
            holder = order[np.floor(rng.random(len(held)) * np.maximum(earlier, 1)).astype(int)]
            start = _uniform_days(rng, self.founded[held], np.full(len(held), self.end))
            ok = (
                (earlier > 0)
                & (holder != held)
                & ((self.closed[holder] == _NAT) | (self.closed[holder] > start))
            )
            holders.append(holder[ok])
            helds.append(held[ok])
            shares.append(rng.uniform(0.05, 0.35, int(ok.sum())))
            starts.append(start[ok])
        if holders:
            edges = pd.DataFrame(
                {
                    "holder": np.concatenate(holders),
                    "held": np.concatenate(helds),
                    "share": np.concatenate(shares),
                    "start": np.concatenate(starts),
                }
            ).drop_duplicates(["holder", "held"])
            edges = edges[edges["holder"] != edges["held"]]
        else:
            edges = pd.DataFrame({"holder": [], "held": [], "share": [], "start": []})
        self.corporate = edges.astype({"holder": np.int64, "held": np.int64, "start": np.int64})

    def roles(self) -> None:
        """Legal reps (with changes), person shareholders, executives, branch_of edges."""
        rng, cfg = self.rng(6), self.cfg
        n, kind, pool = self.n, self.kind, self.pool
        alive_end = self.alive_end()
        ents = np.arange(n)
        source = np.zeros(n, dtype=bool)
        source[self.source] = True
        # Legal rep changes.
        eligible = (
            np.isin(kind, [_COMPANY, _BRANCH, _PARTNERSHIP, _SOCIAL])
            & ~source
            & ~self.is_shell
            & (alive_end - self.founded > 545)
        )
        changing = eligible & (rng.random(n) < cfg.legal_rep_change_rate)
        change = _or_nat(_uniform_days(rng, self.founded + 180, alive_end - 1), changing)
        new_rep = np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero(changing)
        new_rep[rows] = pool.take(rng, len(rows))
        same = rows[new_rep[rows] == self.founder[rows]]
        new_rep[same] = pool.fresh(rng, len(same))
        self.change_day, self.new_rep = change, new_rep

        parts: list[pd.DataFrame] = []

        def add(ent: np.ndarray, htype: int, holder: np.ndarray, role: int, **cols: Any) -> None:
            frame = pd.DataFrame({"ent": ent, "htype": htype, "holder": holder, "role": role})
            for name, value in cols.items():
                frame[name] = value
            parts.append(frame)

        add(ents, 0, self.founder, _LEGAL_REP, start=self.founded, end=change)
        add(rows, 0, new_rep[rows], _LEGAL_REP, start=change[rows], end=_NAT)
        # Person shareholders of companies and partnerships: founder plus 0–3 co-holders.
        holding = np.flatnonzero(np.isin(kind, [_COMPANY, _PARTNERSHIP]))
        n_co = rng.choice(4, size=len(holding), p=[0.4, 0.35, 0.17, 0.08])
        n_co = np.where(kind[holding] == _PARTNERSHIP, np.maximum(n_co, 1), n_co)
        co_ent = np.repeat(holding, n_co)
        co_person = pool.take(rng, len(co_ent))
        founder_weight = rng.gamma(3.0, 1.0, len(holding))
        straw = self.shell_major[holding] >= 0
        add(
            holding,
            0,
            self.founder[holding],
            _SHAREHOLDER,
            weight=founder_weight,
            start=self.founded[holding],
        )
        add(
            co_ent,
            0,
            co_person,
            _SHAREHOLDER,
            weight=rng.gamma(1.2, 1.0, len(co_ent)),
            start=self.founded[co_ent],
        )
        add(
            holding[straw],
            0,
            self.shell_major[holding[straw]],
            _SHAREHOLDER,
            weight=9.0 * founder_weight[straw],
            start=self.founded[holding[straw]],
        )
        # Executives: 执行董事 (often the founder), 监事 (a co-holder or a new person).
        companies = np.flatnonzero(kind == _COMPANY)
        director = companies[rng.random(len(companies)) < 0.7]
        add(director, 0, self.founder[director], _EXECUTIVE, start=self.founded[director])
        first_co = pd.Series(co_person).groupby(co_ent).first()
        has_co = np.isin(companies, first_co.index.to_numpy())
        use_co = has_co & (rng.random(len(companies)) < 0.5)
        supervisor = np.empty(len(companies), dtype=np.int64)
        supervisor[use_co] = first_co.reindex(companies[use_co]).to_numpy()
        supervisor[~use_co] = pool.take(rng, int((~use_co).sum()))
        add(companies, 0, supervisor, _EXECUTIVE, start=self.founded[companies])
        socials = np.flatnonzero(kind == _SOCIAL)
        add(socials, 0, pool.take(rng, len(socials)), _EXECUTIVE, start=self.founded[socials])
        new_exec = rows[rng.random(len(rows)) < 0.5]
        add(new_exec, 0, new_rep[new_exec], _EXECUTIVE, start=change[new_exec])
        # Corporate shareholders and branch_of edges.
        corp = self.corporate
        add(
            corp["held"].to_numpy(),
            1,
            corp["holder"].to_numpy(),
            _SHAREHOLDER,
            fixed=corp["share"].to_numpy(),
            start=corp["start"].to_numpy(),
        )
        branches = np.flatnonzero(kind == _BRANCH)
        add(branches, 1, self.parent[branches], _BRANCH_OF, start=self.founded[branches])

        roles = pd.concat(parts, ignore_index=True)
        roles["end"] = roles["end"].fillna(_NAT).astype(np.int64)
        roles = roles.groupby(["ent", "htype", "holder", "role", "start"], as_index=False).agg(
            {"end": "max", "weight": "sum", "fixed": "sum"}
        )
        self.roles_idx = self._normalise_shares(rng, roles)

    def _normalise_shares(self, rng: np.random.Generator, roles: pd.DataFrame) -> pd.DataFrame:
        """Shares per company sum to ``total`` (1, or 0.7–1 when partly undisclosed)."""
        holder_rows = roles["role"] == _SHAREHOLDER
        total = np.where(rng.random(self.n) < 0.05, rng.uniform(0.7, 1.0, self.n), 1.0)
        sh = roles[holder_rows]
        fixed_sum = sh.groupby("ent")["fixed"].sum().reindex(np.arange(self.n), fill_value=0.0)
        weight_sum = sh.groupby("ent")["weight"].sum().reindex(np.arange(self.n), fill_value=0.0)
        fixed_total = fixed_sum.to_numpy()
        scale = np.where(fixed_total > total, total / np.maximum(fixed_total, 1e-12), 1.0)
        rest = np.maximum(total - fixed_total * scale, 0.0)
        ent = sh["ent"].to_numpy()
        is_person = sh["htype"].to_numpy() == 0
        share = np.where(
            is_person,
            rest[ent] * sh["weight"].to_numpy() / np.maximum(weight_sum.to_numpy()[ent], 1e-12),
            sh["fixed"].to_numpy() * scale[ent],
        )
        share = np.floor(share * 10_000) / 10_000
        roles["share"] = np.nan
        roles.loc[holder_rows, "share"] = share
        keep = ~holder_rows | (roles["share"] > 0)
        return roles.loc[keep, ["ent", "htype", "holder", "role", "share", "start", "end"]]

    # -- 8. records ---------------------------------------------------------------------------

    def records(self) -> None:
        rng = self.rng(7)
        draws = _RecordDraws(self, rng)
        self._penalties(draws)
        self._registry_lists(draws)
        self._court(draws)
        self._tax_and_wages(draws)
        self._positive(draws)
        frame = self._serious_list(rng, draws.frame())
        self.records_idx = self._publicity(rng, frame, draws.m)

    def _penalties(self, draws: _RecordDraws) -> None:
        """行政处罚: Poisson per (enterprise, domain) with a gamma frailty (repeat offenders)."""
        rng, m = draws.rng, draws.m
        kind_factor = np.array([1.0, 0.8, 0.7, 0.6, 0.3])[self.kind]
        domain_weight = _DOMAIN_BY_INDUSTRY[self.industry]
        frailty = rng.gamma(0.5, 2.0, size=domain_weight.shape)
        scale = self.cfg.penalty_rate * m * kind_factor * draws.exposure
        count = rng.poisson(scale[:, None] * domain_weight * frailty)
        ent, domain = np.nonzero(count)
        reps = count[ent, domain]
        ent, domain = np.repeat(ent, reps), np.repeat(domain, reps)
        decided = _uniform_days(rng, draws.lo[ent], draws.hi[ent])
        p_serious = np.clip(0.04 * m[ent] ** 0.6, 0, 0.3)
        draw = rng.random(len(ent))
        severity = np.where(draw < p_serious, _SERIOUS, np.where(draw < 0.55, _MINOR, _GENERAL))
        median = np.array([0.2, 2.0, 20.0])[severity]
        amount = np.round(rng.lognormal(np.log(median), 0.8), 4)
        amount[(severity == _MINOR) & (rng.random(len(ent)) < 0.3)] = 0.0  # 警告: no fine
        draws.add(ent, RecordKind.administrative_penalty, domain, severity, decided, amount=amount)

    def _registry_lists(self, draws: _RecordDraws) -> None:
        """经营异常名录: removed on filing, else 严重违法失信名单 three years later."""
        market = _DM[Domain.market_regulation]
        factor = np.array([1.0, 1.5, 0.5, 1.0, 0.0])[self.kind]
        ent, decided = draws.events(self.cfg.abnormal_rate * draws.m * factor)
        removed = draws.removal(decided, 0.55, 30, 400)
        draws.add(ent, RecordKind.abnormal_operation, market, _GENERAL, decided, removed=removed)
        three_years = _add_months(decided, 36)
        upgrade = (removed == _NAT) & (three_years <= self.end) & (draws.rng.random(len(ent)) < 0.6)
        draws.add(
            ent[upgrade], RecordKind.serious_violation, market, _SERIOUS, three_years[upgrade]
        )

    def _court(self, draws: _RecordDraws) -> None:
        """被执行 cases → 失信被执行人 and 限高 (company and legal rep); personal 失信.

        Every case gets one 案号; its records are the case (被执行), 之一 (失信), 之二 (限高 of
        the enterprise) and 之三 (限高 of its legal rep).
        """
        rng, m, cfg, court = draws.rng, draws.m, self.cfg, _DM[Domain.court]
        factor = np.array([1.0, 0.8, 0.0, 1.0, 0.1])[self.kind]
        ent, decided = draws.events(cfg.court_rate * m**1.2 / np.mean(m**1.2) * factor)
        escalate = rng.random(len(ent)) < np.clip(0.3 * np.sqrt(m[ent]), 0, 0.9)
        k = len(self.source)
        source_case_day = np.maximum(
            self.source_day - 30 - np.floor(rng.random(k) * 150).astype(np.int64),
            np.maximum(self.founded[self.source], self.t0),
        )
        case = np.arange(len(ent))
        stake = np.round(rng.lognormal(np.log(15.0), 1.0, len(ent)), 4)
        removed = draws.removal(decided, 0.6, 60, 540)
        draws.add(
            ent,
            RecordKind.judgment_debtor,
            court,
            _GENERAL,
            decided,
            removed=removed,
            amount=stake,
            case=case,
        )
        dd_day = draws.later(decided, 30, 180)
        ok = escalate & (dd_day <= self.end)
        draws.add(
            ent[ok],
            RecordKind.dishonest_debtor,
            court,
            _SERIOUS,
            dd_day[ok],
            removed=draws.removal(dd_day[ok], 0.45, 60, 720),
            amount=stake[ok],
            case=case[ok],
            suffix="之一",
        )
        # The forced 失信 of the 换壳 sources, never removed.
        source_case = len(ent) + np.arange(k)
        source_stake = np.round(rng.lognormal(np.log(80.0), 0.8, k), 4)
        draws.add(
            self.source,
            RecordKind.judgment_debtor,
            court,
            _GENERAL,
            source_case_day,
            amount=source_stake,
            case=source_case,
        )
        draws.add(
            self.source,
            RecordKind.dishonest_debtor,
            court,
            _SERIOUS,
            self.source_day,
            case=source_case,
            suffix="之一",
        )
        pick = rng.random(len(ent)) < 0.5
        restricted = np.concatenate([ent[pick], self.source])
        restricted_case = np.concatenate([case[pick], source_case])
        cr_day = draws.later(np.concatenate([decided[pick], self.source_day]), 10, 90)
        ok = cr_day <= self.end
        restricted, restricted_case, cr_day = restricted[ok], restricted_case[ok], cr_day[ok]
        cr_removed = draws.removal(cr_day, 0.4, 60, 720)
        draws.add(
            restricted,
            RecordKind.consumption_restriction,
            court,
            _GENERAL,
            cr_day,
            removed=cr_removed,
            case=restricted_case,
            suffix="之二",
        )
        draws.add(
            self.legal_rep_at(restricted, cr_day),
            RecordKind.consumption_restriction,
            court,
            _GENERAL,
            cr_day,
            stype=1,
            removed=cr_removed,
            case=restricted_case,
            suffix="之三",
        )
        # Personal 失信被执行人: own debts of role holders.
        persons = np.unique(self.roles_idx.loc[self.roles_idx["htype"] == 0, "holder"].to_numpy())
        sigma = cfg.risk_sigma
        person_m = np.exp(sigma * self.pool.latent[persons] - sigma**2 / 2)
        who = np.repeat(persons, rng.poisson(cfg.person_record_rate * person_m * cfg.years))
        day = _uniform_days(rng, np.full(len(who), self.t0), np.full(len(who), self.end))
        draws.add(
            who,
            RecordKind.dishonest_debtor,
            court,
            _SERIOUS,
            day,
            stype=1,
            removed=draws.removal(day, 0.4, 60, 720),
            amount=np.round(rng.lognormal(np.log(8.0), 1.0, len(who)), 4),
            case=len(ent) + k + np.arange(len(who)),
        )
        self.case_day = np.concatenate([decided, source_case_day, day])  # by case number

    def _tax_and_wages(self, draws: _RecordDraws) -> None:
        """欠税公告 and 重大税收违法 (税务), 拖欠农民工工资 (人社), relative to penalty_rate."""
        rng, m, rate = draws.rng, draws.m, self.cfg.penalty_rate
        taxed = np.array([1.0, 0.5, 0.0, 1.0, 0.1])[self.kind]
        ent, decided = draws.events(0.12 * rate * m * taxed)
        draws.add(
            ent,
            RecordKind.tax_arrears,
            _DM[Domain.taxation],
            _GENERAL,
            decided,
            removed=draws.removal(decided, 0.5, 30, 365),
            amount=np.round(rng.lognormal(np.log(3.0), 1.0, len(ent)), 4),
        )
        ent, decided = draws.events(0.02 * rate * m**1.5 * taxed)
        draws.add(
            ent,
            RecordKind.tax_violation,
            _DM[Domain.taxation],
            _SERIOUS,
            decided,
            amount=np.round(rng.lognormal(np.log(50.0), 1.0, len(ent)), 4),
        )
        sector = np.where(self.industry == _INDUSTRIES.index("E"), 6.0, 0.5)
        sector[self.industry == _INDUSTRIES.index("C")] = 1.5
        ent, decided = draws.events(0.04 * rate * m * sector * taxed)
        severity = np.where(rng.random(len(ent)) < 0.3, _SERIOUS, _GENERAL)
        draws.add(
            ent,
            RecordKind.wage_arrears,
            _DM[Domain.human_resources],
            severity,
            decided,
            amount=np.round(rng.lognormal(np.log(20.0), 1.0, len(ent)), 4),
        )

    def _positive(self, draws: _RecordDraws) -> None:
        """行政许可, 信用承诺 (some broken later: 违背信用承诺) and 红名单."""
        rng, m, rate = draws.rng, draws.m, self.cfg.positive_rate
        ent, decided = draws.events(0.6 * rate * np.ones(self.n))
        draws.add(ent, RecordKind.license, self._domain_for(rng, ent), _MINOR, decided)
        ent, decided = draws.events(0.3 * rate * np.ones(self.n))
        domain = self._domain_for(rng, ent)
        draws.add(ent, RecordKind.commitment, domain, _MINOR, decided)
        breach_day = draws.later(decided, 30, 720)
        ok = (breach_day <= draws.hi[ent]) & (rng.random(len(ent)) < np.clip(0.1 * m[ent], 0, 0.6))
        draws.add(ent[ok], RecordKind.commitment_breach, domain[ok], _GENERAL, breach_day[ok])
        sigma = self.cfg.risk_sigma
        good = np.exp(-sigma * self.z) * np.array([1.0, 0.2, 0.0, 0.5, 0.5])[self.kind]
        ent, decided = draws.events(0.1 * rate * good / max(good.mean(), 1e-12))
        domain = rng.choice(
            [_DM[Domain.taxation], _DM[Domain.market_regulation], _DM[Domain.other]],
            size=len(ent),
            p=[0.5, 0.3, 0.2],
        )
        removed = draws.removal(decided, 0.1, 180, 720)
        draws.add(ent, RecordKind.red_list, domain, _MINOR, decided, removed=removed)

    def legal_rep_at(self, ent: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The person who is the legal rep of ``ent`` on ``day`` (at most one change)."""
        changed = (self.change_day[ent] != _NAT) & (day >= self.change_day[ent])
        return np.where(changed, self.new_rep[ent], self.founder[ent])

    def _domain_for(self, rng: np.random.Generator, ent: np.ndarray) -> np.ndarray:
        cumulative = np.cumsum(_DOMAIN_BY_INDUSTRY[self.industry[ent]], axis=1)
        return (rng.random(len(ent))[:, None] > cumulative).sum(axis=1).clip(0, len(_DOMAINS) - 1)

    def _serious_list(self, rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
        """严重失信主体名单 for at most ``serious_list_rate · n`` enterprises with a trigger."""
        trigger = (frame["stype"] == 0) & (
            (frame["severity"] == _SERIOUS) & (frame["kind"] != _RK[RecordKind.wage_arrears])
        )
        first = frame[trigger].sort_values(["decided", "kind"]).drop_duplicates("subject")
        k = round(self.cfg.serious_list_rate * self.n)
        chosen = first.iloc[_top_k(rng, self.z[first["subject"].to_numpy()], k)]
        day = chosen["decided"].to_numpy() + 20 + np.floor(rng.random(len(chosen)) * 100)
        listed = chosen.assign(
            kind=_RK[RecordKind.serious_dishonesty_list],
            decided=day.astype(np.int64),
            removed=_NAT,
            amount=np.nan,
            case=-1,
            suffix="",
        )
        listed = listed[listed["decided"] <= self.end]
        return pd.concat([frame, listed], ignore_index=True)

    def _publicity(
        self, rng: np.random.Generator, frame: pd.DataFrame, m: np.ndarray
    ) -> pd.DataFrame:
        """Explicit 公示截止期 for a share of records; 信用修复 after the minimum term."""
        size = len(frame)
        kind_code = frame["kind"].to_numpy()
        domain = frame["domain"].to_numpy()
        severity = frame["severity"].to_numpy()
        decided = frame["decided"].to_numpy()
        court = np.isin(kind_code, [_RK[k] for k in _COURT_KINDS])
        positive = np.isin(
            kind_code,
            [_RK[k] for k in (RecordKind.license, RecordKind.commitment, RecordKind.red_list)],
        )
        explicit = rng.random(size) < self.cfg.explicit_publicity_share
        explicit &= ~court | (kind_code == _RK[RecordKind.dishonest_debtor])
        explicit &= ~positive | (kind_code == _RK[RecordKind.license])
        months = np.zeros(size, dtype=np.int64)
        ndrc = decided >= _day(NDRC_2026_IN_FORCE)
        combos = pd.DataFrame({"k": kind_code, "d": domain, "s": severity, "n": ndrc})
        for (k, d, s, after), rows in combos.groupby(["k", "d", "s", "n"]).groups.items():
            rkind = _RECORD_KINDS[int(k)]
            on = NDRC_2026_IN_FORCE if after else date(2025, 1, 1)
            regime = choose_regime(rkind, _DOMAINS[int(d)], on)
            term = term_months(regime, _DOMAINS[int(d)], _SEVERITIES[int(s)])
            months[np.asarray(rows)] = 60 if term is None else max(term, 3)
        # A regime's range allows shorter terms (NDRC general: 3 months–1 year).
        shorter = (rng.random(size) < 0.3) & (kind_code != _RK[RecordKind.dishonest_debtor])
        months = np.where(shorter & (months >= 12), np.maximum(months // 2, 3), months)
        frame["publicity_end"] = _or_nat(_add_months(decided, months), explicit)
        repairable = ~court & ~positive & (severity != _MINOR)
        repairable &= kind_code != _RK[RecordKind.abnormal_operation]
        is_enterprise = frame["stype"].to_numpy() == 0
        subject_m = np.ones(size)
        subject_m[is_enterprise] = m[frame["subject"].to_numpy()[is_enterprise]]
        p_repair = np.clip(self.cfg.repair_share * 2 / (1 + subject_m), 0, 1)
        minimum = np.where(severity == _SERIOUS, 365, 90)
        repaired = decided + minimum + np.floor(rng.random(size) * 365).astype(np.int64)
        ok = repairable & (rng.random(size) < p_repair) & (repaired <= self.end)
        frame["repaired"] = _or_nat(repaired, ok)
        return frame

    # -- 9. financials ------------------------------------------------------------------------

    def financials(self) -> None:
        rng, cfg = self.rng(8), self.cfg
        first_year = int(_year(np.array([self.t0]))[0])
        end_year = int(_year(np.array([self.end]))[0])
        last_year = end_year if self.cfg.end == date(end_year, 12, 31) else end_year - 1
        years = np.arange(first_year, last_year + 1)
        year_start = np.array([_day(date(int(y), 1, 1)) for y in years], dtype=np.int64)
        year_end = np.array([_day(date(int(y), 12, 31)) for y in years], dtype=np.int64)
        alive = (self.kind[:, None] != _BRANCH) & (self.founded[:, None] <= year_end[None, :])
        alive &= (self.closed[:, None] == _NAT) | (self.closed[:, None] >= year_start[None, :])
        ent, yi = np.nonzero(alive)
        size = len(ent)
        kind, z = self.kind[ent], self.z[ent]
        age = (year_end[yi] - self.founded[ent]) / 365.25
        closing_year = (self.closed[ent] != _NAT) & (self.closed[ent] <= year_end[yi])
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
        year_of = _year(enterprise_recs["decided"].to_numpy())
        year_index = {int(y): i for i, y in enumerate(years)}
        key = ent * len(years) + yi
        for rkind, level, lag in ((RecordKind.tax_violation, 4, 2), (RecordKind.tax_arrears, 3, 1)):
            hit = enterprise_recs["kind"].to_numpy() == _RK[rkind]
            marks: list[np.ndarray] = []
            for shift in range(lag):
                yy = year_of[hit] + shift
                ok = np.isin(yy, years)
                idx = np.array([year_index[int(y)] for y in yy[ok]], dtype=np.int64)
                marks.append(enterprise_recs["subject"].to_numpy()[hit][ok] * len(years) + idx)
            flagged = np.isin(key, np.concatenate(marks)) if marks else np.zeros(size, bool)
            grade = np.where(flagged, np.maximum(grade, level), grade)
        unrated = np.where(kind == _IB, 0.8, np.where(kind == _SOCIAL, 0.5, 0.0))
        grade_missing = rng.random(size) < unrated + cfg.missing_rate
        scale = np.exp(0.8 * log_scale - 0.3)
        employees = np.where(
            kind == _IB,
            rng.poisson(0.5, size),
            np.where(kind == _SOCIAL, rng.poisson(2.0, size), rng.poisson(scale)),
        )
        mu = 1 / (1 + np.exp(-(3.2 - 0.9 * z + rng.normal(0, 0.3, size))))
        utility = np.round(rng.beta(mu * 40, (1 - mu) * 40), 3)
        buys = rng.random(size) < np.where(kind == _COMPANY, 0.08, 0.01)
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

    # -- 10. loans ----------------------------------------------------------------------------

    def loans(self) -> None:
        rng, cfg = self.rng(9), self.cfg
        kind = self.kind
        low = np.maximum(self.t0, self.founded + 180)
        high = np.minimum(self.alive_end(), self.end) - 30
        chosen: list[np.ndarray] = []
        for kinds, rate in (((_COMPANY, _PARTNERSHIP), cfg.loan_rate), ((_IB,), cfg.loan_rate / 3)):
            group = np.isin(kind, kinds)
            target = round(rate * int((group & (self.status == 0)).sum()))
            pool = np.flatnonzero(group & (high > low))
            log_w = -0.4 * self.z[pool] + 0.3 * np.nan_to_num(self.log_size[pool], nan=3.0)
            chosen.append(pool[_top_k(rng, log_w, target)])
        borrower = np.sort(np.concatenate(chosen))
        ent = np.repeat(borrower, 1 + np.minimum(rng.poisson(0.5, len(borrower)), 2))
        applied = _uniform_days(rng, low[ent], high[ent])
        loans = pd.DataFrame({"ent": ent, "applied": applied}).drop_duplicates()
        loans = loans[self._eligible(loans)].reset_index(drop=True)
        ent, applied = loans["ent"].to_numpy(), loans["applied"].to_numpy()
        size = len(loans)

        # Capacity: average tax of the last two complete years, latest utility rate and grade.
        fin = self.financials_idx
        year = _year(applied)
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
        intercept = _solve_intercept(logit, observable, cfg.loan_bad_rate)
        bad = rng.random(size) < 1 / (1 + np.exp(-(intercept + logit)))
        bad_day = applied + 60 + np.floor(rng.random(size) * 366).astype(np.int64)
        bad &= bad_day <= self.end
        default_day = bad_day + 90 + np.floor(rng.random(size) * 180).astype(np.int64)
        defaulted = bad & (rng.random(size) < 0.55) & (default_day <= self.end)
        maturity = _add_months(applied, term)
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
        bank_names = [b.format(c=cfg.county_name, s=self.county_stem) for b, _ in _BANKS]
        bank_p = np.array([p for _, p in _BANKS])
        self.loans_idx = pd.DataFrame(
            {
                "ent": ent,
                "bank": np.array(bank_names)[
                    rng.choice(len(_BANKS), size, p=bank_p / bank_p.sum())
                ],
                "applied": applied,
                "approved": approved,
                "drawn": drawn,
                "term": term,
                "status": status,
                "status_day": status_day,
                "linked": linked,
            }
        )

    def _eligible(self, loans: pd.DataFrame) -> np.ndarray:
        """Policy (失信联合惩戒): no active 失信/严重失信 record of the enterprise or legal rep."""
        recs = self.records_idx
        blocking = recs[
            recs["kind"].isin(
                [_RK[RecordKind.dishonest_debtor], _RK[RecordKind.serious_dishonesty_list]]
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
        decided = _dates(pairs["decided"].to_numpy())
        # The publicity end ingest will derive for records that state none.
        resolved = resolve_publicity(
            pd.DataFrame(
                {
                    "kind": np.array([k.value for k in _RECORD_KINDS])[pairs["kind"].to_numpy()],
                    "domain": np.array([d.value for d in _DOMAINS])[pairs["domain"].to_numpy()],
                    "severity": np.array([s.value for s in _SEVERITIES])[
                        pairs["severity"].to_numpy()
                    ],
                    "decided": decided,
                    "publicity_end": _dates(pairs["publicity_end"].to_numpy()),
                }
            )
        )
        active = active_mask(
            decided,
            resolved["publicity_end"],
            _dates(pairs["repaired"].to_numpy()),
            _dates(pairs["removed"].to_numpy()),
            _dates(on).to_numpy(),
        )
        blocked = np.zeros(len(loans), dtype=bool)
        blocked[pairs["row"].to_numpy()[active]] = True
        return ~blocked

    def _own_history(self, ent: np.ndarray, applied: np.ndarray) -> np.ndarray:
        recs = self.records_idx
        negative = recs[
            (recs["stype"] == 0)
            & ~recs["kind"].isin(
                [_RK[k] for k in (RecordKind.license, RecordKind.commitment, RecordKind.red_list)]
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
        bad = recs[recs["kind"].isin([_RK[k] for k in _DISHONEST_KINDS])]
        first_ent = bad[bad["stype"] == 0].groupby("subject")["decided"].min()
        person_bad = recs[
            (recs["stype"] == 1)
            & recs["kind"].isin(
                [_RK[RecordKind.dishonest_debtor], _RK[RecordKind.consumption_restriction]]
            )
        ]
        first_person = person_bad.groupby("subject")["decided"].min()
        roles = self.roles_idx
        ties = roles[roles["htype"] == 0][["ent", "holder", "start", "end"]]
        loans = pd.DataFrame({"ent": ent, "applied": applied, "row": np.arange(len(ent))})
        linked_persons = loans.merge(ties, on="ent")
        linked_persons = linked_persons[
            (linked_persons["start"] <= linked_persons["applied"])
            & (
                (linked_persons["end"] == _NAT)
                | (linked_persons["end"] > linked_persons["applied"])
            )
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
        corp = roles[(roles["htype"] == 1) & (roles["role"] == _SHAREHOLDER)]
        parents = loans.merge(corp[["ent", "holder", "start"]], on="ent")
        parents = parents[parents["start"] <= parents["applied"]]
        when = first_ent.reindex(parents["holder"].to_numpy()).to_numpy()
        hit_parent = parents["row"].to_numpy()[np.nan_to_num(when, nan=np.inf) < parents["applied"]]
        hits = np.concatenate([hit_other, hit_person, hit_parent]).astype(np.int64)
        return np.bincount(hits, minlength=len(ent)).astype(float)


def _solve_intercept(logit: np.ndarray, observable: np.ndarray, target: float) -> float:
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


def _strings(values: Any) -> pd.Series:
    """A pandas ``str`` column (missing values as NaN)."""
    return pd.Series(values, dtype="str")


class _Assembler:
    """Turns the builder's integer-coded arrays into the contract's frames."""

    def __init__(self, b: _Builder) -> None:
        self.b = b
        self.rng = b.rng(10)
        self.uscc = self._usccs()
        self.names = self._enterprise_names()

    def _usccs(self) -> np.ndarray:
        b, rng = self.b, self.rng
        n = b.n
        alphabet = np.array(list(USCC_ALPHABET))
        new_style = b.founded >= (_ORG_MA_FROM - _DAY0).astype(np.int64)
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
        prefix = np.where(b.kind == _IB, "92", "91")
        social = b.kind == _SOCIAL
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
            letter = _INDUSTRIES[b.industry[i]] if b.industry[i] < len(_INDUSTRIES) else ""
            trade = _TRADE[b.trade[i, 0]] + _TRADE[b.trade[i, 1]]
            pick = b.name_pick[i]
            words = _COMPANY_WORDS[letter]
            word = words[pick[0] % len(words)]
            kind = b.kind[i]
            if kind == _COMPANY:
                if b.is_group_root[i]:
                    names[i] = f"{county}{trade}控股集团有限公司"
                else:
                    form = _COMPANY_FORMS[(0, 0, 0, 0, 0, 0, 0, 0, 1, 2)[pick[1] % 10]]
                    names[i] = f"{county}{trade}{word}{form}"
            elif kind == _IB:
                shops = _SHOP_WORDS.get(letter, ("经营部",))
                town = _TOWNS[pick[1] % len(_TOWNS)]
                names[i] = f"{county}{town}{trade}{shops[pick[2] % len(shops)]}"
            elif kind == _PARTNERSHIP:
                purpose = ("企业管理", "股权投资", "投资管理", "创业投资")[pick[1] % 4]
                names[i] = f"{county}{trade}{purpose}合伙企业（有限合伙）"
            elif kind == _SOCIAL:
                org = _SOCIAL_WORDS[pick[1] % len(_SOCIAL_WORDS)]
                names[i] = f"{county}{word}{org}"
        for branch in np.flatnonzero(b.kind == _BRANCH):  # after the parents are named
            town = _TOWNS[b.name_pick[branch, 1] % len(_TOWNS)]
            names[branch] = f"{names[b.parent[branch]]}{town[:2]}分公司"
        return names

    # -- tables -------------------------------------------------------------------------------

    def enterprises(self) -> pd.DataFrame:
        b = self.b
        industry = np.array([*_INDUSTRIES, None], dtype=object)[b.industry]
        return pd.DataFrame(
            {
                "uscc": _strings(self.uscc),
                "name": _strings(self.names),
                "kind": _strings(np.array([k.value for k in _KINDS])[b.kind]),
                "status": _strings(np.array([s.value for s in _STATUSES])[b.status]),
                "industry": _strings(industry),
                "region": _strings(np.array(b.regions)[b.region]),
                "registered_capital": b.capital.astype(float),
                "founded": _dates(b.founded),
                "closed": _dates(b.closed),
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
            self.rng.choice(_SURNAMES, size=k, p=_SURNAME_P)
            + self.rng.choice(_GIVEN, size=k)
            + np.where(given_two, self.rng.choice(_GIVEN, size=k), "")
        )
        self.person_name = pd.Series(name, index=used)
        raw = _resident_ids(self.rng, k, b.regions, b.end)
        salt = b.cfg.id_salt
        id_hash = [hash_resident_id(number, salt) for number in raw]
        id_masked = [mask_resident_id(number) for number in raw]
        del raw  # the raw numbers end here
        frame = pd.DataFrame(
            {
                "person_id": _strings([f"P{i:06d}" for i in order + 1]),
                "name": _strings(name),
                "id_hash": _strings(id_hash),
                "id_masked": _strings(id_masked),
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
                "uscc": _strings(self.uscc[roles["ent"].to_numpy()]),
                "holder_type": _strings(
                    np.where(is_person, HolderType.person.value, HolderType.enterprise.value)
                ),
                "holder_id": _strings(holder_id),
                "role": _strings(np.array([r.value for r in _ROLES])[roles["role"].to_numpy()]),
                "share": roles["share"].to_numpy(dtype=float),
                "start": _dates(roles["start"].to_numpy()),
                "end": _dates(roles["end"].to_numpy()),
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
        case_year = _year(b.case_day)
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
            rkind = _RECORD_KINDS[int(k)]
            if rkind in _SERIES:
                series[np.asarray(rows)] = _SERIES[rkind].format(
                    p=b.province, s=b.county_short, a=_ABBR[_DOMAINS[int(d)]]
                )
        year = _year(decided)
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
            [_AUTHORITY[d].format(c=b.cfg.county_name) for d in _DOMAINS], dtype=object
        )[domain]
        frame = pd.DataFrame(
            {
                "record_id": _strings(record_id),
                "subject_type": _strings(
                    np.where(is_person, SubjectType.person.value, SubjectType.enterprise.value)
                ),
                "subject_id": _strings(subject_id),
                "subject_name": _strings(subject_name),
                "kind": _strings(np.array([k.value for k in _RECORD_KINDS])[kind]),
                "domain": _strings(np.array([d.value for d in _DOMAINS])[domain]),
                "severity": _strings(
                    np.array([s.value for s in _SEVERITIES])[recs["severity"].to_numpy()]
                ),
                "authority": _strings(authority),
                "decided": _dates(decided),
                "publicity_end": _dates(recs["publicity_end"].to_numpy()),
                "repaired": _dates(recs["repaired"].to_numpy()),
                "removed": _dates(recs["removed"].to_numpy()),
                "amount": recs["amount"].to_numpy(dtype=float),
                "regime": _strings(np.full(size, np.nan, dtype=object)),
            }
        )
        return frame.sort_values(["decided", "record_id"], ignore_index=True)

    def financials(self) -> pd.DataFrame:
        fin = self.b.financials_idx
        grade = np.array([*(g.value for g in _GRADES), None], dtype=object)[fin["grade"].to_numpy()]
        return pd.DataFrame(
            {
                "uscc": _strings(self.uscc[fin["ent"].to_numpy()]),
                "period": _strings(fin["year"].astype(str).to_numpy()),
                "tax_paid": fin["tax_paid"].to_numpy(dtype=float),
                "tax_grade": _strings(grade),
                "insured_employees": pd.array(fin["employees"].to_numpy(), dtype="Int64"),
                "utility_on_time": fin["utility"].to_numpy(dtype=float),
                "procurement_amount": fin["procurement"].to_numpy(dtype=float),
            }
        )

    def loans(self) -> pd.DataFrame:
        loans = self.b.loans_idx.sort_values(["applied", "ent"], kind="stable", ignore_index=True)
        year = _year(loans["applied"].to_numpy())
        seq = pd.Series(year).groupby(year).cumcount().to_numpy() + 1
        statuses = np.array([s.value for s in LoanStatus])
        return pd.DataFrame(
            {
                "loan_id": _strings([f"XYD{y}-{s:06d}" for y, s in zip(year, seq, strict=True)]),
                "uscc": _strings(self.uscc[loans["ent"].to_numpy()]),
                "bank": _strings(loans["bank"].to_numpy()),
                "applied": _dates(loans["applied"].to_numpy()),
                "approved_amount": loans["approved"].to_numpy(dtype=float),
                "drawn_amount": loans["drawn"].to_numpy(dtype=float),
                "term_months": loans["term"].to_numpy(dtype=np.int64),
                "status": _strings(statuses[loans["status"].to_numpy()]),
                "status_date": _dates(loans["status_day"].to_numpy()),
            }
        )


def generate_county(config: SynthConfig) -> County:
    """Generate a synthetic county; the same config always gives identical frames.

    Parameters
    ----------
    config
        Size, seed, as-of date and rate parameters (:class:`SynthConfig`).

    Returns
    -------
    County
        The six contract tables (exactly :data:`risk.contract.TABLES`' columns, in order) and
        the latent risk behind them. See the module docstring for the generating process.

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`SynthConfig`.
    """
    if not isinstance(config, SynthConfig):
        raise TypeError(f"config must be a SynthConfig; got {type(config).__name__}")
    builder = _Builder(config)
    builder.enterprises()
    builder.controllers()
    builder.latent_and_closure()
    builder.shells()
    builder.ownership()
    builder.roles()
    builder.records()
    builder.financials()
    builder.loans()
    assembler = _Assembler(builder)
    tables = {
        "enterprises": assembler.enterprises(),
        "persons": assembler.persons(),
        "roles": assembler.roles(),
        "records": assembler.records(),
        "financials": assembler.financials(),
        "loans": assembler.loans(),
    }
    tables = {name: tables[name][list(TABLES[name].names)] for name in TABLES}
    hidden = pd.Series(
        builder.z, index=pd.Index(assembler.uscc, name="uscc", dtype="str"), name="hidden_risk"
    )
    return County(tables=tables, hidden_risk=hidden, config=config)


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
