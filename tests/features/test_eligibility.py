"""Eligibility: every decline branch, with its Chinese and English reasons."""

from __future__ import annotations

import pandas as pd
import pytest

from features.eligibility import EligibilityPolicy, assess_eligibility
from risk.contract import RecordKind
from tests.features.builders import USCC, apps, enterprise, platform, record, role

T = "2025-06-15"


def data():  # type: ignore[no-untyped-def]
    return platform(
        [
            enterprise("A"),
            enterprise("B"),
            enterprise("C"),
            enterprise("D"),
            enterprise("E", status="deregistered", closed="2025-03-01"),
            enterprise("F"),
            enterprise("G"),
            enterprise("H"),
        ],
        persons=["P1", "P2", "P3"],
        roles=[
            role("D", "P1"),
            role("G", "P2"),
            role("H", "P3", start="2025-07-01"),  # becomes legal rep after t
        ],
        records=[
            record("（2024）皖1100执1号", "B", "dishonest_debtor", "2024-05-01"),
            record("黑名单〔2025〕1号", "C", "serious_dishonesty_list", "2025-01-10"),
            record("（2024）皖1100执2号", "P1", "dishonest_debtor", "2024-09-01"),
            record(
                "（2024）皖1100执3号", "F", "dishonest_debtor", "2024-01-01", removed="2025-01-01"
            ),
            record(
                "（2024）皖1100执4号", "P2", "dishonest_debtor", "2024-01-01", repaired="2025-02-01"
            ),
            record("（2024）皖1100执5号", "P3", "dishonest_debtor", "2024-01-01"),
            record("（2025）皖1100执6号", "A", "dishonest_debtor", "2025-07-01"),
            record("罚〔2025〕1号", "A", "administrative_penalty", "2025-01-01"),
        ],
    )


def test_every_branch() -> None:
    result = assess_eligibility(data(), apps(*((x, T) for x in "ABCDEFGH")))
    codes = dict(zip("ABCDEFGH", result["decline_codes"], strict=True))
    assert codes == {
        "A": [],  # a penalty does not decline; the 失信 record comes after t
        "B": ["enterprise_dishonest_debtor"],
        "C": ["enterprise_serious_dishonesty_list"],
        "D": ["legal_rep_dishonest_debtor"],
        "E": ["inactive"],
        "F": [],  # removed (performed) before t
        "G": [],  # the legal rep's record was repaired before t
        "H": [],  # P3 is not the legal rep on t
    }
    assert result["eligible"].tolist() == [True, False, False, False, False, True, True, True]
    zh, en = result["decline_reasons_zh"], result["decline_reasons_en"]
    assert zh[1] == ["企业有有效的失信被执行人记录（（2024）皖1100执1号，2024-05-01 起）"]
    assert en[1] == [
        "The enterprise has an active dishonest debtor record "
        "(（2024）皖1100执1号, since 2024-05-01)"
    ]
    assert zh[3] == [
        "法定代表人 张** 有有效的失信被执行人记录（（2024）皖1100执2号，2024-09-01 起）"
    ]
    assert en[3][0].startswith("The legal representative 张** has an active dishonest debtor")
    assert zh[4] == ["企业在 2025-06-15 不处于存续状态（注销 2025-03-01）"]
    assert en[4] == ["The enterprise was not active on 2025-06-15 (deregistered 2025-03-01)"]
    assert all(len(z) == len(e) for z, e in zip(zh, en, strict=True))


def test_unknown_and_not_yet_founded() -> None:
    frame = pd.DataFrame(
        {"uscc": ["91341100MA0000099X", USCC["A"]], "as_of": ["2025-06-15", "2014-06-01"]}
    )
    result = assess_eligibility(data(), frame)
    assert result["decline_reasons_zh"][0] == ["平台无该企业的登记信息"]
    assert result["decline_reasons_en"][1] == [
        "The enterprise was founded on 2015-01-01, after 2014-06-01"
    ]


def test_rules_are_configurable() -> None:
    applications = apps(*((x, T) for x in "BDE"))
    lenient = EligibilityPolicy(require_active=False, enterprise_kinds=(), legal_rep_kinds=())
    assert assess_eligibility(data(), applications, lenient)["eligible"].all()
    strict = EligibilityPolicy(enterprise_kinds={"administrative_penalty", "dishonest_debtor"})
    result = assess_eligibility(data(), apps(("A", T)), strict)
    assert result["decline_codes"][0] == ["enterprise_administrative_penalty"]
    assert EligibilityPolicy.from_dict(strict.to_dict()) == strict


def test_policy_validation() -> None:
    with pytest.raises(TypeError, match="require_active must be a bool; got int"):
        EligibilityPolicy(require_active=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="enterprise_kinds must be a collection of record kinds"):
        EligibilityPolicy(enterprise_kinds="dishonest_debtor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="legal_rep_kinds must hold negative record kinds"):
        EligibilityPolicy(legal_rep_kinds={RecordKind.red_list})
    with pytest.raises(ValueError, match="enterprise_kinds must hold negative record kinds"):
        EligibilityPolicy(enterprise_kinds={"bankrupt"})
    with pytest.raises(TypeError, match="data must be a PlatformData; got dict"):
        assess_eligibility({}, apps(("A", T)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be an EligibilityPolicy; got dict"):
        assess_eligibility(data(), apps(("A", T)), {})  # type: ignore[arg-type]
