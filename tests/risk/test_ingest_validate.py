"""risk.ingest.validate and risk.ingest.columns: the checks of cells, columns and rows, as a file
drop meets them (USCCs, enums, dates, records, roles, loans, duplicate keys, 双公示 headers).

See :mod:`tests.risk.ingest_helpers` for how the files are written and what is asserted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from risk.ingest import ingest_paths
from tests.risk.ingest_helpers import (
    ENTERPRISES,
    LOANS,
    RECORDS,
    ROLES,
    U1,
    U2,
    U3,
    U4,
    U5,
    U6,
    assert_quarantined,
    code,
    ent,
    full_width,
    ingest,
    quarantined,
    rec,
    stored,
    write,
    wrong_check,
)

# --------------------------------------------------------------------------- USCC checks


def test_bad_check_character_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    bad = wrong_check(U2)
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1), ent(bad, "来安县乙公司")])

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (2, 1, 1)
    assert (summary.uscc_read, summary.uscc_invalid) == (2, 1)
    rows = quarantined(engine)
    row = assert_quarantined(
        rows, 3, "uscc", rf"uscc check character must be '{U2[17]}'; got '{bad[17]}'"
    )
    assert row["batch_id"] == summary.batch_id
    assert row["source"] == str(path)
    assert row["raw"]["uscc"] == bad  # the raw cells, as in the file
    assert row["raw"]["name"] == "来安县乙公司"
    assert stored(engine, "enterprises")["uscc"].tolist() == [U1]


def test_wrong_length_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1[:17]), ent(U2 + "1"), ent(U3)])

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined, summary.uscc_invalid) == (1, 2, 2)
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "uscc", r"uscc must be 18 characters; got 17")
    assert_quarantined(rows, 3, "uscc", r"uscc must be 18 characters; got 19")


def test_forbidden_letters_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    # Position 10 of U1 (the "A" of "MA…") replaced by each letter the alphabet leaves out.
    codes = [U1[:9] + letter + U1[10:] for letter in "IOSVZ"]
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(c) for c in codes])

    summary = ingest(engine, path)

    assert (summary.read, summary.inserted, summary.quarantined) == (5, 0, 5)
    rows = quarantined(engine)
    for row_number, bad in enumerate(codes, start=2):
        assert_quarantined(
            rows, row_number, "uscc", rf"uscc must use only .*\(no I, O, S, V, Z\); got '{bad}'"
        )


def test_full_width_lower_case_uscc_is_normalised_and_accepted(
    engine: Engine, tmp_path: Path
) -> None:
    spaced = f" {U2[:8].lower()} {U2[8:].lower()} "  # "91341122 ma0000002y"
    path = write(
        tmp_path, "enterprises.csv", ENTERPRISES, [ent(full_width(U1)), ent(f'"{spaced}"')]
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined, summary.uscc_invalid) == (2, 0, 0)
    assert stored(engine, "enterprises")["uscc"].tolist() == [U1, U2]


def test_pilot_code_is_accepted_only_when_allow_listed(engine: Engine, tmp_path: Path) -> None:
    # 91350100000000001A: Σ value·weight = 9·1 + 1·3 + 3·9 + 5·27 + 1·26 + 1·28 = 228,
    # 228 mod 31 = 11, 31 − 11 = 20 → the check character should be "L", not "A".
    pilot = "91350100000000001A"
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(pilot, region="350100")])

    refused = ingest(engine, path)
    accepted = ingest(engine, path, uscc_allowlist=[pilot.lower()])  # normalised like codes

    assert (refused.inserted, refused.quarantined, refused.pilot_codes) == (0, 1, 0)
    assert refused.uscc_invalid == 1
    assert_quarantined(quarantined(engine), 2, "uscc", r"uscc check character must be 'L'; got 'A'")
    assert (accepted.inserted, accepted.quarantined) == (1, 0)
    assert (accepted.pilot_codes, accepted.uscc_invalid) == (1, 0)
    assert stored(engine, "enterprises")["uscc"].tolist() == [pilot]


# --------------------------------------------------------------------------- enums


def test_unknown_enum_value_lists_the_allowed_values(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, [ent(U1, kind="limited"), ent(U2)])

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(
        quarantined(engine),
        2,
        "kind",
        r"kind must be one of company, individual_business, branch, partnership, social_org; "
        r"got 'limited'",
    )


def test_chinese_enum_labels_are_accepted(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [
            ent(U1, kind="公司", status="存续"),
            ent(U2, kind="个体工商户", status="注销", closed="2023-06-30"),
            ent(U3, kind="合伙企业", status="吊销", closed="2024-01-31"),
            ent(U4, kind="Company", status="ACTIVE"),  # codes in any case
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (4, 0)
    frame = stored(engine, "enterprises")
    assert frame["kind"].tolist() == ["company", "individual_business", "partnership", "company"]
    assert frame["status"].tolist() == ["active", "deregistered", "revoked", "active"]


# --------------------------------------------------------------------------- dates


def test_unparseable_and_impossible_dates_have_different_reasons(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [
            ent(U1, founded="yesterday"),
            ent(U2, founded="2024-02-30"),
            ent(U3),
            ent(U4, status="deregistered", founded="2020-01-05", closed="2019-12-31"),
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 3)
    rows = quarantined(engine)
    unparseable = assert_quarantined(
        rows, 2, "founded", r"founded must be a date like 2024-05-31; got 'yesterday'"
    )
    impossible = assert_quarantined(
        rows, 3, "founded", r"founded must be a real calendar date .*; got '2024-02-30'"
    )
    assert unparseable["reason"].split(";")[0] != impossible["reason"].split(";")[0]
    assert_quarantined(
        rows, 5, "closed", r"closed must be on or after founded \(2020-01-05\); got 2019-12-31"
    )


def test_common_date_formats_are_accepted(engine: Engine, tmp_path: Path) -> None:
    formats = ["2024/01/05", "20240105", "2024年1月5日", "2024-1-5", "2024.01.05"]
    rows = [ent(code(10 + i), founded=f) for i, f in enumerate(formats)]
    path = write(tmp_path, "enterprises.csv", ENTERPRISES, rows)

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (len(formats), 0)
    assert stored(engine, "enterprises")["founded"].tolist() == [pd.Timestamp("2024-01-05")] * 5


# --------------------------------------------------------------------------- records


def test_publicity_end_before_decided_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "records.csv",
        RECORDS,
        [rec("R1", publicity_end="2024-02-01"), rec("R2", publicity_end="2024-03-01")],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)  # same day is allowed
    assert_quarantined(
        quarantined(engine),
        2,
        "publicity_end",
        r"publicity_end must be on or after decided \(2024-03-01\); got 2024-02-01",
    )


def test_repaired_before_decided_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "records.csv",
        RECORDS,
        [rec("R1", repaired="2024-02-29"), rec("R2", repaired="2024-09-01")],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(
        quarantined(engine),
        2,
        "repaired",
        r"repaired must be on or after decided \(2024-03-01\); got 2024-02-29",
    )
    assert stored(engine, "records").loc[0, "repaired"] == pd.Timestamp("2024-09-01")


def test_negative_amount_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path, "records.csv", RECORDS, [rec("R1", amount="-5"), rec("R2", amount='"1,250.5"')]
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(quarantined(engine), 2, "amount", r"amount must be ≥ 0; got '-5'")
    assert stored(engine, "records").loc[0, "amount"] == 1250.5  # thousands separator


# --------------------------------------------------------------------------- roles, loans


def test_share_outside_zero_one_is_quarantined_and_percent_accepted(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [
            f"{U1},person,P1,shareholder,1.5,2020-01-01,",
            f"{U1},person,P2,shareholder,-0.1,2020-01-01,",
            f"{U1},person,P3,shareholder,35%,2020-01-01,",
            f"{U1},person,P4,shareholder,１００％,2020-01-01,",  # full-width 100% = 1.0
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (2, 2)
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "share", r"share must be between 0 and 1; got '1\.5'")
    assert_quarantined(rows, 3, "share", r"share must be between 0 and 1; got '-0\.1'")
    frame = stored(engine, "roles")
    assert frame["holder_id"].tolist() == ["P3", "P4"]
    assert frame["share"].tolist() == pytest.approx([0.35, 1.0])


def test_share_on_a_non_shareholder_role_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [f"{U1},person,P1,legal_rep,0.5,2020-01-01,", f"{U1},person,P1,法定代表人,,2020-01-01,"],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(quarantined(engine), 2, "share", r"share is only for shareholders")
    assert stored(engine, "roles")["role"].tolist() == ["legal_rep"]


def test_role_ending_on_or_before_its_start_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [
            f"{U1},person,P1,executive,,2020-01-01,2020-01-01",
            f"{U1},person,P2,executive,,2020-01-01,2019-06-30",
            f"{U1},person,P3,executive,,2020-01-01,2020-01-02",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 2)
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "end", r"end must be after start \(2020-01-01\); got 2020-01-01")
    assert_quarantined(rows, 3, "end", r"end must be after start \(2020-01-01\); got 2019-06-30")


def test_loan_drawn_above_approved_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "loans.csv",
        LOANS,
        [
            f"L1,{U1},来安农商银行,2024-01-10,100,120,12,performing,2024-06-30",
            f"L2,{U1},来安农商银行,2024-01-10,100,100,12,正常,2024-06-30",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(
        quarantined(engine),
        2,
        "drawn_amount",
        r"drawn_amount must not exceed approved_amount \(100(\.0)?\); got 120(\.0)?",
    )
    assert stored(engine, "loans")["status"].tolist() == ["performing"]


# --------------------------------------------------------------------------- duplicates


def test_duplicate_keys_quarantine_every_occurrence(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "enterprises.csv",
        ENTERPRISES,
        [
            ent(U1, "来安县甲公司"),
            ent(U2),
            ent(U1, "来安县甲公司（重复）"),
            ent(full_width(U1), "来安县甲公司（全角）"),  # the same code once normalised
        ],
    )

    result = ingest_paths(engine, [path])
    (summary,) = result.files

    assert summary.reconciled
    assert (summary.read, summary.inserted, summary.quarantined) == (4, 1, 3)
    assert summary.uscc_duplicate == 3  # 重错码: every occurrence counts
    assert result.to_dict()["uscc_report"]["duplicate"] == 3
    rows = quarantined(engine)
    assert_quarantined(rows, 2, "uscc", rf"duplicate key \(uscc={U1}\) also at row\(s\) \[4, 5\]")
    assert_quarantined(rows, 4, "uscc", rf"duplicate key \(uscc={U1}\) also at row\(s\) \[2, 5\]")
    assert_quarantined(rows, 5, "uscc", rf"duplicate key \(uscc={U1}\) also at row\(s\) \[2, 4\]")
    assert stored(engine, "enterprises")["uscc"].tolist() == [U2]

    # A composite key (roles): the same edge twice, its start date written two ways.
    roles = write(
        tmp_path,
        "roles.csv",
        ROLES,
        [
            f"{U2},person,P1,shareholder,0.4,2020-01-01,",
            f"{U2},person,P1,shareholder,0.6,2021-01-01,",  # other start: another edge
            f"{U2},person,P1,shareholder,0.5,2020/01/01,",  # same key as row 2
        ],
    )
    summary = ingest(engine, roles)
    assert (summary.inserted, summary.quarantined) == (1, 2)
    rows = quarantined(engine, summary.batch_id)
    assert_quarantined(rows, 2, "uscc", r"duplicate key \(uscc=.*holder_id=P1.*\) .*\[4\]")
    assert_quarantined(rows, 4, "uscc", r"duplicate key \(uscc=.*holder_id=P1.*\) .*\[2\]")
    assert stored(engine, "roles")["start"].tolist() == [pd.Timestamp("2021-01-01")]


# --------------------------------------------------------------------------- 双公示 files

PENALTY_HEADER = (
    "行政相对人名称,行政相对人类别,统一社会信用代码,行政处罚决定书文号,处罚类别,处罚决定日期,"
    "公示截止期,处罚机关,罚款金额（万元）"
)


def test_national_penalty_file_with_chinese_headers(engine: Engine, tmp_path: Path) -> None:
    org = "法人及非法人组织"
    path = write(
        tmp_path,
        "来安县行政处罚双公示.csv",
        PENALTY_HEADER,
        [
            f"来安县甲公司,{org},{U1},来市监罚〔2025〕1号,警告,2025-01-15,,某县市场监督管理局,",
            f"来安县乙公司,{org},{U2},来环罚〔2025〕2号,罚款,2025-03-10,,某县生态环境局,2",
            f"来安县丙公司,{org},{U3},来市监罚〔2025〕3号,吊销营业执照,2025-06-30,2028-06-30,"
            "某县市场监督管理局,",
            f"来安县丁公司,{org},{U4},来交罚〔2026〕4号,罚款,2026-05-10,,某县交通运输局,0.5",
            f"来安县戊公司,{org},{U5},来应急罚〔2025〕5号,警告;罚款,2025-08-01,,某县应急管理局,1",
            # 9999-12-31 is how publicity files write 长期 (no end).
            f"来安县己公司,{org},{U6},来市监罚〔2025〕6号,吊销营业执照,2025-09-01,9999-12-31,"
            "某县市场监督管理局,",
        ],
        encoding="utf-8-sig",  # as Excel saves "CSV UTF-8": with a byte-order mark
    )

    summary = ingest(engine, path)

    assert summary.table == "records"
    assert (summary.inserted, summary.quarantined) == (6, 0)
    frame = stored(engine, "records").set_index("subject_id")
    assert set(frame["kind"]) == {"administrative_penalty"}
    assert set(frame["subject_type"]) == {"enterprise"}
    assert frame.loc[U1, "record_id"] == "来市监罚〔2025〕1号"
    assert frame.loc[U1, "subject_name"] == "来安县甲公司"
    assert frame.loc[U2, "authority"] == "某县生态环境局"
    assert frame["domain"].to_dict() == {
        U1: "market_regulation",
        U2: "ecology_environment",
        U3: "market_regulation",
        U4: "transport",
        U5: "work_safety",
        U6: "market_regulation",
    }
    assert frame["severity"].to_dict() == {
        U1: "minor",  # 警告
        U2: "general",  # 罚款
        U3: "serious",  # 吊销营业执照
        U4: "general",
        U5: "general",  # 警告;罚款: the most severe category wins
        U6: "serious",
    }
    assert frame.loc[U2, "amount"] == 2.0
    assert np.isnan(frame.loc[U1, "amount"])
    # Publicity ends, by hand:
    #   U1 market regulation, minor: 3 months from 2025-01-15 → 2025-04-15.
    #   U2 Order No. 58 (decided before 2026-04-01), general: 3 years → 2028-03-10.
    #   U3, U6 公示截止期 given → kept, regime explicit.
    #   U4 NDRC 信用修复管理办法 (decided 2026-05-10 ≥ 2026-04-01), general: 1 year → 2027-05-10.
    #   U5 Order No. 58, general (work safety): 3 years → 2028-08-01.
    assert frame["regime"].to_dict() == {
        U1: "market_regulation",
        U2: "order_58",
        U3: "explicit",
        U4: "ndrc_2026",
        U5: "order_58",
        U6: "explicit",
    }
    assert frame["publicity_end"].to_dict() == {
        U1: pd.Timestamp("2025-04-15"),
        U2: pd.Timestamp("2028-03-10"),
        U3: pd.Timestamp("2028-06-30"),
        U4: pd.Timestamp("2027-05-10"),
        U5: pd.Timestamp("2028-08-01"),
        U6: pd.Timestamp("9999-12-31"),
    }
    assert ingest(engine, path).unchanged == 6  # derived ends compare equal on re-ingest


def test_penalty_file_without_subject_type_quarantines_a_bad_uscc(
    engine: Engine, tmp_path: Path
) -> None:
    header = "行政相对人名称,统一社会信用代码,行政处罚决定书文号,处罚类别,处罚决定日期,处罚机关"
    path = write(
        tmp_path,
        "行政处罚.csv",
        header,
        [
            f"来安县甲公司,{U1},来环罚〔2025〕1号,罚款,2025-03-10,某县生态环境局",
            f"来安县乙公司,{wrong_check(U2)},来环罚〔2025〕2号,罚款,2025-03-10,某县生态环境局",
        ],
    )

    summary = ingest(engine, path)

    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert_quarantined(quarantined(engine), 3, "subject_id", r"check character")
