"""National records files (issue 14): every 双公示 and list layout, written with the standards' own
headers, through ``ingest_paths`` on SQLite and PostgreSQL.

The header lists below are typed from the national standards (docs/headers.md names each source),
in the standards' order and with their full-width parentheses — not generated from
``risk.contract``, so that a header the contract forgot shows up as a refused file or an ignored
column here. Each layout is written as CSV in UTF-8 (with the byte-order mark Excel writes), as
CSV in GB18030 and as XLSX, under a file name that announces nothing, so the layout is found by
its headers. What is asserted is what the credit office sees: the counts reconcile, each row
lands (or is quarantined with a reason naming the file's own header), the kind, severity and
domain of the stored records, and the 重错码 report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine

from risk.ingest import ingest_paths
from tests.risk.ingest_helpers import (
    OTHER_ID,
    U1,
    U2,
    U3,
    U4,
    assert_nowhere_in_store,
    assert_quarantined,
    ingest,
    only_row,
    quarantined,
    resident_id,
    stored,
    write,
    wrong_check,
)

MARKET = "来安县市场监督管理局"
ENVIRONMENT = "来安县生态环境分局"
COURT = "来安县人民法院"
ORG = "法人及非法人组织"

# --------------------------------------------------------------------------- the standards' headers

#: 行政处罚, current 双公示 standard (行政相对人代码_1…_6, 法定代表人证件类型 …).
PENALTY = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "行政相对人代码_2（工商注册号）",
    "行政相对人代码_3（组织机构代码）",
    "行政相对人代码_4（税务登记号）",
    "行政相对人代码_5（事业单位证书号）",
    "行政相对人代码_6（社会组织登记证号）",
    "法定代表人",
    "法定代表人证件类型",
    "法定代表人证件号码",
    "证件类型",
    "证件号码",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "没收违法所得、没收非法财物的金额（万元）",
    "暂扣或吊销证照名称及编号",
    "处罚决定日期",
    "处罚有效期",
    "公示截止期",
    "处罚机关",
    "处罚机关统一社会信用代码",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
]

#: 行政处罚, 2016 信用中国 catalogue (处罚类别1/2, 行政相对人代码_1…_5 in the old order).
PENALTY_2016 = [
    "行政处罚决定书文号",
    "处罚名称",
    "处罚类别1",
    "处罚类别2",
    "处罚事由",
    "处罚依据",
    "行政相对人名称",
    "行政相对人代码_1(统一社会信用代码)",
    "行政相对人代码_2(组织机构代码)",
    "行政相对人代码_3(工商登记码)",
    "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(居民身份证号)",
    "法定代表人姓名",
    "处罚结果",
    "处罚决定日期",
    "处罚机关",
    "当前状态",
    "地方编码",
    "数据更新时间戳",
    "备注",
]

#: 行政许可, current 双公示 standard.
LICENSE = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "行政相对人代码_2（工商注册号）",
    "行政相对人代码_3（组织机构代码）",
    "行政相对人代码_4（税务登记号）",
    "行政相对人代码_5（事业单位证书号）",
    "行政相对人代码_6（社会组织登记证号）",
    "法定代表人",
    "法定代表人证件类型",
    "法定代表人证件号码",
    "证件类型",
    "证件号码",
    "行政许可决定文书名称",
    "行政许可决定文书号",
    "许可类别",
    "许可证书名称",
    "许可编号",
    "许可内容",
    "许可决定日期",
    "有效期自",
    "有效期至",
    "许可机关",
    "许可机关统一社会信用代码",
    "当前状态",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
]

#: 行政许可, 2016 信用中国 catalogue.
LICENSE_2016 = [
    "行政许可决定书文号",
    "项目名称",
    "审批类别",
    "许可内容",
    "行政相对人名称",
    "行政相对人代码_1(统一社会信用代码)",
    "行政相对人代码_2(组织机构代码)",
    "行政相对人代码_3(工商登记码)",
    "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(居民身份证号)",
    "法定代表人姓名",
    "许可决定日期",
    "许可截止期",
    "许可机关",
    "当前状态",
    "地方编码",
    "数据更新时间戳",
    "备注",
]

#: 失信被执行人, as 中国执行信息公开网 publishes each entry.
DISHONEST = [
    "被执行人姓名/名称",
    "身份证号码/组织机构代码",
    "法定代表人或者负责人姓名",
    "执行法院",
    "省份",
    "执行依据文号",
    "立案时间",
    "案号",
    "做出执行依据单位",
    "生效法律文书确定的义务",
    "被执行人的履行情况",
    "失信被执行人行为具体情形",
    "发布时间",
]

#: 经营异常名录, 国家企业信用信息公示系统 (the list's code and name, then the entry's columns).
ABNORMAL = [
    "序号",
    "统一社会信用代码/注册号",
    "企业名称",
    "列入决定书文号",
    "列入经营异常名录原因",
    "列入日期",
    "作出决定机关（列入）",
    "移出经营异常名录原因",
    "移出日期",
    "移出决定书文号",
    "作出决定机关（移出）",
]

#: 严重违法失信企业名单（黑名单）, 国家企业信用信息公示系统, with the enterprise's code and name.
SERIOUS = [
    "统一社会信用代码",
    "企业名称",
    "序号",
    "类别",
    "列入严重违法失信企业名单（黑名单）原因",
    "列入日期",
    "列入决定书文号",
    "作出决定机关（列入）",
    "移出严重违法失信企业名单（黑名单）原因",
    "移出日期",
    "移出决定书文号",
    "作出决定机关（移出）",
]


# --------------------------------------------------------------------------- rows and files


def _row(header: list[str], **cells: str) -> list[str]:
    """A row of ``header`` with the given cells (keyed by header) and the rest empty."""
    unknown = set(cells) - set(header)
    assert not unknown, unknown
    return [cells.get(h, "") for h in header]


def _write(tmp_path: Path, fmt: str, header: list[str], rows: list[list[str]]) -> Path:
    """The file in one of the three shapes platforms export; its name announces no table."""
    if fmt == "xlsx":
        path = tmp_path / "export.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Sheet1"
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        book.save(path)
        return path
    encoding = {"utf8": "utf-8-sig", "gb18030": "gb18030"}[fmt]
    lines = [",".join(cells) for cells in rows]
    return write(tmp_path, "export.csv", ",".join(header), lines, encoding=encoding)


FORMATS = ["utf8", "gb18030", "xlsx"]


def _records(engine: Engine) -> pd.DataFrame:
    return stored(engine, "records").set_index("record_id")


# --------------------------------------------------------------------------- each layout


@pytest.mark.parametrize("fmt", FORMATS)
def test_current_penalty_standard(engine: Engine, tmp_path: Path, fmt: str) -> None:
    h = PENALTY
    rows = [
        # The USCC is used when present, whatever other codes the row carries.
        _row(
            h,
            行政相对人名称="来安县甲有限公司",
            行政相对人类别=ORG,
            **{
                "行政相对人代码_1（统一社会信用代码）": U1,
                "行政相对人代码_2（工商注册号）": "341122000012345",
            },
            法定代表人="张三",
            法定代表人证件类型="身份证",
            法定代表人证件号码=OTHER_ID,  # never stored
            行政处罚决定书文号="来市监罚〔2025〕1号",
            违法行为类型="虚假宣传",
            处罚类别="罚款",
            **{"罚款金额（万元）": "2"},
            处罚决定日期="2025-03-10",
            公示截止期="2028-03-10",
            处罚机关=MARKET,
        ),
        # 个体工商户 is an enterprise subject; 警告 is minor.
        _row(
            h,
            行政相对人名称="来安县乙商店",
            行政相对人类别="个体工商户",
            **{"行政相对人代码_1（统一社会信用代码）": U2},
            行政处罚决定书文号="来环罚〔2025〕2号",
            处罚类别="警告",
            处罚决定日期="2025-04-01",
            处罚机关=ENVIRONMENT,
        ),
        # Named only by 工商注册号: quarantined, naming the headers as the file wrote them.
        _row(
            h,
            行政相对人名称="来安县丙有限公司",
            行政相对人类别=ORG,
            **{"行政相对人代码_2（工商注册号）": "341122000067890"},
            行政处罚决定书文号="来市监罚〔2025〕3号",
            处罚类别="罚款",
            处罚决定日期="2025-05-01",
            处罚机关=MARKET,
        ),
        # A natural person named by 证件号码 only: quarantined, the ID number masked.
        _row(
            h,
            行政相对人名称="李四",
            行政相对人类别="自然人",
            证件类型="身份证",
            证件号码=OTHER_ID,
            行政处罚决定书文号="来市监罚〔2025〕4号",
            处罚类别="罚款",
            处罚决定日期="2025-05-02",
            处罚机关=MARKET,
        ),
    ]
    path = _write(tmp_path, fmt, h, rows)

    summary = ingest(engine, path)

    assert (summary.table, summary.read, summary.inserted, summary.quarantined) == (
        "records",
        4,
        2,
        2,
    )
    frame = _records(engine)
    first, second = frame.loc["来市监罚〔2025〕1号"], frame.loc["来环罚〔2025〕2号"]
    assert (first["subject_id"], first["kind"], first["severity"]) == (
        U1,
        "administrative_penalty",
        "general",
    )
    assert (first["domain"], first["authority"], first["amount"]) == (
        "market_regulation",
        MARKET,
        2.0,
    )
    assert first["publicity_end"] == pd.Timestamp("2028-03-10")
    assert (second["subject_type"], second["severity"], second["domain"]) == (
        "enterprise",
        "minor",
        "ecology_environment",
    )
    rows_q = quarantined(engine, summary.batch_id)
    assert_quarantined(
        rows_q,
        4,
        "subject_id",
        r"^行政相对人代码_1（统一社会信用代码） is empty and the subject is named only by "
        r"行政相对人代码_2（工商注册号）, which the records table cannot carry",
    )
    person = assert_quarantined(rows_q, 5, "subject_id", r"named only by 证件号码,")
    assert OTHER_ID not in str(person["raw"])
    assert summary.uscc_read == 2 and summary.uscc_invalid == 0
    assert_nowhere_in_store(engine, [OTHER_ID])
    assert ingest(engine, path).unchanged == 2  # re-ingest changes nothing


@pytest.mark.parametrize("fmt", FORMATS)
def test_2016_penalty_catalogue(engine: Engine, tmp_path: Path, fmt: str) -> None:
    h = PENALTY_2016
    uscc_header = "行政相对人代码_1(统一社会信用代码)"
    rows = [
        # 处罚类别1 警告 and 处罚类别2 罚款: graded by the more severe, general.
        _row(
            h,
            行政处罚决定书文号="来环罚〔2016〕1号",
            处罚名称="环境违法",
            处罚类别1="警告",
            处罚类别2="罚款",
            行政相对人名称="来安县甲有限公司",
            **{uscc_header: U1},
            处罚决定日期="2016-09-01",
            处罚机关=ENVIRONMENT,
            当前状态="正常",
        ),
        _row(
            h,
            行政处罚决定书文号="来市监罚〔2016〕2号",
            处罚类别1="吊销营业执照",
            行政相对人名称="来安县乙有限公司",
            **{uscc_header: U2},
            处罚决定日期="2016-10-01",
            处罚机关=MARKET,
        ),
        # Named only by its 组织机构代码 (the 2016 order puts it in _2).
        _row(
            h,
            行政处罚决定书文号="来市监罚〔2016〕3号",
            处罚类别1="罚款",
            行政相对人名称="来安县丙有限公司",
            **{"行政相对人代码_2(组织机构代码)": "MA0000003"},
            处罚决定日期="2016-10-02",
            处罚机关=MARKET,
        ),
        # A category severity cannot be graded from: quarantined, naming 处罚类别1.
        _row(
            h,
            行政处罚决定书文号="来市监罚〔2016〕4号",
            处罚类别1="责令改正",
            行政相对人名称="来安县丁有限公司",
            **{uscc_header: U4},
            处罚决定日期="2016-10-03",
            处罚机关=MARKET,
        ),
    ]
    path = _write(tmp_path, fmt, h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (4, 2, 2)
    frame = _records(engine)
    assert frame["severity"].to_dict() == {
        "来环罚〔2016〕1号": "general",
        "来市监罚〔2016〕2号": "serious",
    }
    assert set(frame["kind"]) == {"administrative_penalty"}
    assert set(frame["subject_type"]) == {"enterprise"}
    rows_q = quarantined(engine, summary.batch_id)
    assert_quarantined(rows_q, 4, "subject_id", r"named only by 行政相对人代码_2\(组织机构代码\)")
    assert_quarantined(
        rows_q, 5, "severity", r"^处罚类别1 / 处罚类别2 must name a penalty category .*'责令改正'"
    )
    assert summary.uscc_read == 3  # U1, U2, U4: the row named by 组织机构代码 has none


@pytest.mark.parametrize("fmt", FORMATS)
def test_current_license_standard(engine: Engine, tmp_path: Path, fmt: str) -> None:
    h = LICENSE
    rows = [
        _row(
            h,
            行政相对人名称="来安县甲有限公司",
            行政相对人类别=ORG,
            **{"行政相对人代码_1（统一社会信用代码）": U1},
            法定代表人="张三",
            行政许可决定文书名称="食品经营许可决定书",
            行政许可决定文书号="来市监许〔2025〕1号",
            许可类别="普通",
            许可证书名称="食品经营许可证",
            许可编号="JY13411220000001",
            许可决定日期="2025-02-01",
            有效期自="2025-02-01",
            有效期至="2030-01-31",
            许可机关=MARKET,
        ),
        _row(
            h,
            行政相对人名称="来安县乙有限公司",
            行政相对人类别=ORG,
            **{"行政相对人代码_1（统一社会信用代码）": wrong_check(U2)},
            行政许可决定文书号="来市监许〔2025〕2号",
            许可决定日期="2025-02-02",
            许可机关=MARKET,
        ),
    ]
    path = _write(tmp_path, fmt, h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (2, 1, 1)
    record = _records(engine).loc["来市监许〔2025〕1号"]
    assert (record["kind"], record["severity"], record["regime"]) == (
        "license",
        "minor",
        "open_ended",
    )
    assert (record["subject_id"], record["authority"]) == (U1, MARKET)
    assert_quarantined(
        quarantined(engine, summary.batch_id),
        3,
        "subject_id",
        r"^行政相对人代码_1（统一社会信用代码） check character must be",
    )
    assert (summary.uscc_read, summary.uscc_invalid) == (2, 1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_2016_license_catalogue(engine: Engine, tmp_path: Path, fmt: str) -> None:
    h = LICENSE_2016
    rows = [
        _row(
            h,
            行政许可决定书文号="来住建许〔2016〕1号",
            项目名称="建筑工程施工许可",
            审批类别="普通",
            行政相对人名称="来安县甲建设有限公司",
            **{"行政相对人代码_1(统一社会信用代码)": U1},
            许可决定日期="2016-08-01",
            许可截止期="2019-08-01",
            许可机关="来安县住房和城乡建设局",
        ),
        # A person named by the 2016 resident-ID column only.
        _row(
            h,
            行政许可决定书文号="来住建许〔2016〕2号",
            行政相对人名称="王五",
            **{"行政相对人代码_5(居民身份证号)": OTHER_ID},
            许可决定日期="2016-08-02",
            许可机关="来安县住房和城乡建设局",
        ),
    ]
    path = _write(tmp_path, fmt, h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (2, 1, 1)
    record = _records(engine).loc["来住建许〔2016〕1号"]
    assert (record["kind"], record["domain"]) == ("license", "housing_construction")
    assert_quarantined(
        quarantined(engine, summary.batch_id),
        3,
        "subject_id",
        r"named only by 行政相对人代码_5\(居民身份证号\)",
    )
    assert_nowhere_in_store(engine, [OTHER_ID])


@pytest.mark.parametrize("fmt", FORMATS)
def test_dishonest_debtor_list(engine: Engine, tmp_path: Path, fmt: str) -> None:
    h = DISHONEST
    rows = [
        _row(
            h,
            **{"被执行人姓名/名称": "来安县甲有限公司", "身份证号码/组织机构代码": U1},
            法定代表人或者负责人姓名="张三",
            执行法院=COURT,
            省份="安徽",
            执行依据文号="（2024）皖1122民初100号",
            立案时间="2024-06-01",
            案号="（2024）皖1122执200号",
            做出执行依据单位=COURT,
            生效法律文书确定的义务="支付货款",
            被执行人的履行情况="全部未履行",
            失信被执行人行为具体情形="有履行能力而拒不履行生效法律文书确定义务",
            发布时间="2024-09-01",
        ),
        # A person, published with a masked ID number: no USCC, quarantined naming the header.
        _row(
            h,
            **{"被执行人姓名/名称": "赵六", "身份证号码/组织机构代码": "3411221985****0011"},
            执行法院=COURT,
            案号="（2024）皖1122执201号",
            失信被执行人行为具体情形="违反限制消费令",
            发布时间="2024-09-02",
        ),
    ]
    path = _write(tmp_path, fmt, h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (2, 1, 1)
    record = _records(engine).loc["（2024）皖1122执200号"]
    assert (record["kind"], record["severity"], record["domain"], record["regime"]) == (
        "dishonest_debtor",
        "serious",
        "court",
        "dishonest_debtor",
    )
    assert record["decided"] == pd.Timestamp("2024-09-01")  # 发布时间
    assert record["publicity_end"] == pd.Timestamp("2026-09-01")  # 2 years
    assert_quarantined(
        quarantined(engine, summary.batch_id), 3, "subject_id", r"^身份证号码/组织机构代码 "
    )


#: A person's ID number as the 失信被执行人 list may carry it: valid, mistyped (wrong check
#: character), first-generation (15 digits), and as the court publishes it (half-masked).
PERSON_ID = resident_id("34112219850101001")
PERSON_ID_15 = "341122850101001"
PERSON_ID_BAD_CHECK = PERSON_ID[:-1] + ("0" if PERSON_ID[-1] != "0" else "1")


def test_persons_id_numbers_on_the_dishonest_list_are_masked_and_not_counted_as_codes(
    engine: Engine, tmp_path: Path
) -> None:
    h = DISHONEST

    def entry(n: int, name: str, number: str) -> list[str]:
        return _row(
            h,
            **{"被执行人姓名/名称": name, "身份证号码/组织机构代码": number},
            执行法院=COURT,
            案号=f"（2024）皖1122执{200 + n}号",
            失信被执行人行为具体情形="违反限制消费令",
            发布时间="2024-09-02",
        )

    rows = [
        entry(1, "来安县甲有限公司", U1),
        entry(2, "来安县乙有限公司", wrong_check(U2)),  # an enterprise's mistyped USCC
        entry(3, "赵六", PERSON_ID),
        entry(4, "钱七", PERSON_ID_15),
        entry(5, "孙八", PERSON_ID_BAD_CHECK),
        entry(6, "李九", "3411221985****0011"),
    ]
    path = _write(tmp_path, "utf8", h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (6, 1, 5)
    # 重错码: the two enterprises' codes were read, one is wrong; the four persons are no USCCs.
    assert (summary.uscc_read, summary.uscc_invalid) == (2, 1)
    items = quarantined(engine, summary.batch_id)
    # The enterprise's wrong code stays visible, to be corrected.
    assert only_row(items, 3)["raw"]["身份证号码/组织机构代码"] == wrong_check(U2)
    assert wrong_check(U2) in only_row(items, 3)["reason"]
    for row in (5, 6, 7):  # named a person by the ID number, which is never quoted
        assert_quarantined(items, row, "subject_id", r"^身份证号码/组织机构代码 holds a person's")
        assert "********" in only_row(items, row)["raw"]["身份证号码/组织机构代码"]
    assert_nowhere_in_store(engine, [PERSON_ID, PERSON_ID_15, PERSON_ID_BAD_CHECK])


def test_a_2016_file_with_bare_headers_masks_the_resident_id_column(
    engine: Engine, tmp_path: Path
) -> None:
    # Exports that drop the parenthesised names: in the 2016 set _5 is the 居民身份证号.
    h = [header.split("(")[0] for header in PENALTY_2016]
    assert "行政相对人代码_5" in h
    rows = [
        _row(
            h,
            行政处罚决定书文号="来市监罚〔2016〕1号",
            处罚类别1="罚款",
            行政相对人名称="钱七",
            行政相对人代码_5=PERSON_ID_15,
            处罚决定日期="2016-05-03",
            处罚机关=MARKET,
        ),
        _row(
            h,
            行政处罚决定书文号="来市监罚〔2016〕2号",
            处罚类别1="罚款",
            行政相对人名称="孙八",
            行政相对人代码_5=PERSON_ID_BAD_CHECK,
            处罚决定日期="2016-05-03",
            处罚机关=MARKET,
        ),
    ]
    path = _write(tmp_path, "gb18030", h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.quarantined) == (2, 2)
    items = quarantined(engine, summary.batch_id)
    assert_quarantined(items, 2, "subject_id", "named only by 行政相对人代码_5")
    assert only_row(items, 2)["raw"]["行政相对人代码_5"] == "341122********1001"
    assert_nowhere_in_store(engine, [PERSON_ID_15, PERSON_ID_BAD_CHECK])


@pytest.mark.parametrize("fmt", FORMATS)
def test_abnormal_operation_list(engine: Engine, tmp_path: Path, fmt: str) -> None:
    h = ABNORMAL
    rows = [
        _row(
            h,
            序号="1",
            **{"统一社会信用代码/注册号": U1, "作出决定机关（列入）": MARKET},
            企业名称="来安县甲有限公司",
            列入决定书文号="来市监异列〔2024〕1号",
            列入经营异常名录原因="未按照规定报送年度报告",
            列入日期="2024-07-01",
            移出经营异常名录原因="补报未报年份的年度报告并公示",
            移出日期="2025-01-10",
            移出决定书文号="来市监异移〔2025〕1号",
        ),
        # A 15-digit 注册号 in the combined column: not a USCC, quarantined naming the column.
        _row(
            h,
            序号="2",
            **{"统一社会信用代码/注册号": "341122000054321", "作出决定机关（列入）": MARKET},
            企业名称="来安县乙有限公司",
            列入决定书文号="来市监异列〔2024〕2号",
            列入经营异常名录原因="通过登记的住所或者经营场所无法联系",
            列入日期="2024-07-02",
        ),
    ]
    path = _write(tmp_path, fmt, h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (2, 1, 1)
    record = _records(engine).loc["来市监异列〔2024〕1号"]
    assert (record["kind"], record["severity"], record["domain"]) == (
        "abnormal_operation",
        "general",
        "market_regulation",
    )
    assert (record["authority"], record["removed"]) == (MARKET, pd.Timestamp("2025-01-10"))
    assert_quarantined(
        quarantined(engine, summary.batch_id),
        3,
        "subject_id",
        r"^统一社会信用代码/注册号 must be 18 characters; got 15",
    )
    assert (summary.uscc_read, summary.uscc_invalid) == (2, 1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_serious_violation_list(engine: Engine, tmp_path: Path, fmt: str) -> None:
    h = SERIOUS
    rows = [
        _row(
            h,
            统一社会信用代码=U3,
            企业名称="来安县丙有限公司",
            序号="1",
            类别="严重违法失信",
            **{
                "列入严重违法失信企业名单（黑名单）原因": "列入经营异常名录届满3年",
                "作出决定机关（列入）": "滁州市市场监督管理局",
            },
            列入日期="2024-03-01",
            列入决定书文号="滁市监严列〔2024〕1号",
        ),
    ]
    path = _write(tmp_path, fmt, h, rows)

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (1, 1, 0)
    record = _records(engine).loc["滁市监严列〔2024〕1号"]
    assert (record["kind"], record["severity"], record["regime"]) == (
        "serious_violation",
        "serious",
        "market_regulation",
    )
    assert record["publicity_end"] == pd.Timestamp("2027-03-01")  # serious: 3 years


# --------------------------------------------------------------------------- refusals


def test_a_missing_column_is_named_as_the_standard_writes_it(
    engine: Engine, tmp_path: Path
) -> None:
    header = [h for h in PENALTY if h != "行政相对人代码_1（统一社会信用代码）"]
    path = _write(tmp_path, "utf8", header, [])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert summary.message is not None
    assert (
        "missing column 行政相对人代码_1(统一社会信用代码) or 统一社会信用代码; file refused"
        in summary.message
    )
    assert "subject_id" not in summary.message


def test_a_license_file_is_told_the_license_headers(engine: Engine, tmp_path: Path) -> None:
    header = [h for h in LICENSE if h not in ("许可决定日期", "许可机关")]
    path = _write(tmp_path, "gb18030", header, [])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert summary.message is not None
    assert "missing column 许可机关; missing column 许可决定日期" in summary.message
    assert "处罚" not in summary.message and "authority" not in summary.message


def test_an_english_file_is_told_the_contract_names(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "records.csv", "record_id,subject_type,kind", ["R1,enterprise,license"])

    (summary,) = ingest_paths(engine, [path]).files

    assert summary.status == "refused"
    assert "requires column(s) subject_id, domain, severity, authority, decided" in str(
        summary.message
    )


def test_reasons_name_the_headers_the_file_wrote(engine: Engine, tmp_path: Path) -> None:
    h = PENALTY
    rows = [
        _row(
            h,
            行政相对人类别=ORG,
            **{"行政相对人代码_1（统一社会信用代码）": U1, "罚款金额（万元）": "-1"},
            行政处罚决定书文号="来市监罚〔2025〕9号",
            处罚类别="罚款",
            处罚决定日期="2025-02-30",
            公示截止期="2024-01-01",
        )
    ]
    path = _write(tmp_path, "utf8", h, rows)

    summary = ingest(engine, path)

    (row,) = quarantined(engine, summary.batch_id)
    reason = row["reason"]
    assert "处罚机关 is required; got an empty cell" in reason
    assert "处罚决定日期 must be a real calendar date" in reason
    assert "罚款金额（万元） must be ≥ 0" in reason
    for english in ("authority", "decided", "amount", "subject_id"):
        assert english not in reason


# --------------------------------------------------------------------------- record key


def _two_authorities(tmp_path: Path, name: str, amount: str = "1") -> Path:
    h = PENALTY
    number = "罚决字〔2025〕1号"  # a 文号 two county bureaus both issued
    rows = [
        _row(
            h,
            行政相对人类别=ORG,
            **{"行政相对人代码_1（统一社会信用代码）": U1, "罚款金额（万元）": amount},
            行政处罚决定书文号=number,
            处罚类别="罚款",
            处罚决定日期="2025-03-01",
            处罚机关=MARKET,
        ),
        _row(
            h,
            行政相对人类别=ORG,
            **{"行政相对人代码_1（统一社会信用代码）": U2, "罚款金额（万元）": "3"},
            行政处罚决定书文号=number,
            处罚类别="罚款",
            处罚决定日期="2025-03-02",
            处罚机关=ENVIRONMENT,
        ),
    ]
    return _write(tmp_path / name, "utf8", h, rows)


def test_the_same_number_from_two_authorities_is_two_records(
    engine: Engine, tmp_path: Path
) -> None:
    first = ingest(engine, _two_authorities(tmp_path, "a"))
    assert (first.inserted, first.quarantined) == (2, 0)
    frame = stored(engine, "records")
    assert sorted(zip(frame["authority"], frame["subject_id"], strict=True)) == sorted(
        [(MARKET, U1), (ENVIRONMENT, U2)]
    )

    again = ingest(engine, _two_authorities(tmp_path, "b"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)

    changed = ingest(engine, _two_authorities(tmp_path, "c", amount="5"))
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    amounts = stored(engine, "records").set_index("authority")["amount"].to_dict()
    assert amounts == {MARKET: 5.0, ENVIRONMENT: 3.0}


def test_one_authority_repeating_a_number_is_a_duplicate_key(
    engine: Engine, tmp_path: Path
) -> None:
    h = PENALTY
    same: dict[str, Any] = {
        "行政相对人类别": ORG,
        "行政处罚决定书文号": "来市监罚〔2025〕7号",
        "处罚类别": "罚款",
        "处罚决定日期": "2025-03-01",
        "处罚机关": MARKET,
    }
    rows = [
        _row(h, **same, **{"行政相对人代码_1（统一社会信用代码）": U1}),
        _row(h, **same, **{"行政相对人代码_1（统一社会信用代码）": U2}),
    ]

    summary = ingest(engine, _write(tmp_path, "utf8", h, rows))

    assert (summary.inserted, summary.quarantined) == (0, 2)
    assert_quarantined(
        quarantined(engine, summary.batch_id),
        2,
        "record_id",
        rf"duplicate key \(行政处罚决定书文号=来市监罚〔2025〕7号, 处罚机关={MARKET}\) .*\[3\]",
    )


# --------------------------------------------------------------------------- 重错码 report


def test_the_uscc_report_counts_the_codes_of_records_files(engine: Engine, tmp_path: Path) -> None:
    enterprises = write(
        tmp_path,
        "enterprises.csv",
        "uscc,name,kind,status,industry,region,registered_capital,founded",
        [f"{U1},甲,company,active,C,341122,100,2020-01-05"],
    )
    h = PENALTY
    records = _write(
        tmp_path,
        "gb18030",
        h,
        [
            _row(
                h,
                行政相对人类别=ORG,
                **{"行政相对人代码_1（统一社会信用代码）": code},
                行政处罚决定书文号=f"来市监罚〔2025〕{i}号",
                处罚类别="警告",
                处罚决定日期="2025-03-01",
                处罚机关=MARKET,
            )
            for i, code in enumerate([U1, U2, wrong_check(U3), U4], start=1)
        ],
    )

    report = ingest_paths(engine, [enterprises, records]).to_dict()["uscc_report"]

    # 1 code in the enterprises file, 4 in the records file, of which 1 fails its check.
    assert (report["read"], report["invalid"], report["duplicate"]) == (5, 1, 0)
    assert report["error_rate"] == pytest.approx(1 / 5)
    assert report["meets_target"] is False
