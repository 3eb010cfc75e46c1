"""Tests for risk.controllers: actual controllers and beneficial owners, every expected share
worked out by hand in a comment (the roles helpers are test_ownership.py's)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from risk.contract import UNKNOWN_HOLDER
from risk.controllers import (
    BENEFICIAL_OWNER_THRESHOLD,
    ControllerStatus,
    actual_controllers,
    beneficial_owners,
)
from risk.exceptions import InvalidFrameError
from risk.ownership import ultimate_holders
from tests.risk.test_ownership import AS_OF, NAMES, PERSONS, by_uscc, frame, role


def test_chain_product_60_times_80_is_48() -> None:
    # P1 holds 60 % of A; A holds 80 % of B → P1 holds 0.6 × 0.8 = 48 % of B.
    roles = frame(role("A", "P1", share=0.6), role("B", "A", share=0.8))
    result = by_uscc(
        actual_controllers(
            roles, AS_OF, threshold=BENEFICIAL_OWNER_THRESHOLD, persons=PERSONS, enterprises=NAMES
        )
    )
    b = result["B"]
    assert b["status"] == ControllerStatus.natural_person
    assert b["controller_id"] == "P1" and b["controller_type"] == "person"
    assert b["effective_share"] == pytest.approx(0.48)
    assert b["path"] == ["P1", "A", "B"]
    assert b["explanation"] == "实际控制人 张*：通过 A公司(60%) → B公司(80%) 间接持股 48%"
    assert result["A"]["explanation"] == "实际控制人 张*：直接持股 60%"
    # At the default 50 % threshold, 48 % is not control; the candidate is still named.
    b50 = by_uscc(actual_controllers(roles, AS_OF, persons=PERSONS))["B"]
    assert b50["status"] == ControllerStatus.no_natural_person_controller
    assert b50["controller_id"] is None and b50["candidate_id"] == "P1"
    assert "张*" in b50["explanation"] and "未达 50%" in b50["explanation"]


def test_two_paths_to_the_same_person_are_summed() -> None:
    # P2 holds 30 % of C directly, and 50 % of D which holds 40 % of C:
    # 0.3 + 0.5 × 0.4 = 0.3 + 0.2 = 0.5 → reaches 50 %. Strongest path: the direct 30 %.
    roles = frame(role("C", "P2", share=0.3), role("D", "P2", share=0.5), role("C", "D", share=0.4))
    c = by_uscc(actual_controllers(roles, AS_OF, persons=PERSONS))["C"]
    assert c["status"] == ControllerStatus.natural_person and c["controller_id"] == "P2"
    assert c["effective_share"] == pytest.approx(0.5)
    assert c["path"] == ["P2", "C"]
    assert c["explanation"] == "实际控制人 李*：合计持股 50%（最强路径：直接持股 30%）"
    holders = ultimate_holders(roles, AS_OF)
    row = holders.loc[holders["uscc"] == "C"].iloc[0]
    assert row["path_share"] == pytest.approx(0.3)


def test_closed_cycle_terminates_and_names_no_one() -> None:
    # A holds 100 % of B and B 100 % of A; P9 is a shareholder of A with 0 %, P1 its legal
    # rep; Z is wholly held by A. No chain leaves the cycle: no ultimate holder anywhere.
    roles = frame(
        role("A", "B", share=1.0),
        role("B", "A", share=1.0),
        role("A", "P9", share=0.0),
        role("A", "P1", "legal_rep"),
        role("Z", "A", share=1.0),
    )
    result = by_uscc(actual_controllers(roles, AS_OF))
    for uscc in ("A", "B", "Z"):
        row = result[uscc]
        assert row["status"] == ControllerStatus.no_natural_person_controller
        assert row["controller_id"] is None and row["candidate_id"] is None
        assert row["path"] is None and np.isnan(row["effective_share"])
    assert "闭合的循环持股" in result["A"]["explanation"]
    assert "其上层股东" in result["Z"]["explanation"]
    holders = ultimate_holders(roles, AS_OF)
    assert holders.empty  # never A or B as their own holder, never above 100 %


def test_cycle_with_a_person_entry_point_sums_to_one() -> None:
    # P3 holds 50 % of A, A 100 % of B, B 50 % of A. P3's share of A sums every trip round
    # the loop: 0.5 + 0.5·(1·0.5) + 0.5·(1·0.5)² + … = 0.5 / (1 − 0.5) = 1.0;
    # of B: 1.0 (A's 100 %) × 1.0 = 1.0. Never above 1.
    roles = frame(role("A", "P3", share=0.5), role("B", "A", share=1.0), role("A", "B", share=0.5))
    holders = ultimate_holders(roles, AS_OF)
    shares = dict(zip(holders["uscc"], holders["effective_share"], strict=True))
    assert shares == {"A": pytest.approx(1.0), "B": pytest.approx(1.0)}
    assert (holders["effective_share"] <= 1.0).all()
    result = by_uscc(actual_controllers(roles, AS_OF))
    assert result["B"]["path"] == ["P3", "A", "B"]  # strongest simple path, 0.5 × 1
    assert result["A"]["controller_id"] == result["B"]["controller_id"] == "P3"


def test_partial_cycle_with_two_entry_points() -> None:
    # P1 holds 50 % of A, P2 40 % of B; A holds 60 % of B, B 50 % of A. With a, b = P1's
    # shares of A, B: a = 0.5 + 0.5·b, b = 0.6·a → a = 0.5 / 0.7 = 5/7, b = 3/7.
    # P2: q_B = 0.4 + 0.6·q_A, q_A = 0.5·q_B → q_B = 0.4 / 0.7 = 4/7, q_A = 2/7.
    # Each enterprise is fully accounted for: 5/7 + 2/7 = 1 and 3/7 + 4/7 = 1.
    roles = frame(
        role("A", "P1", share=0.5),
        role("B", "P2", share=0.4),
        role("B", "A", share=0.6),
        role("A", "B", share=0.5),
    )
    holders = ultimate_holders(roles, AS_OF).set_index(["uscc", "holder_id"])["effective_share"]
    assert holders["A", "P1"] == pytest.approx(5 / 7)
    assert holders["A", "P2"] == pytest.approx(2 / 7)
    assert holders["B", "P1"] == pytest.approx(3 / 7)
    assert holders["B", "P2"] == pytest.approx(4 / 7)
    result = by_uscc(actual_controllers(roles, AS_OF))
    assert result["A"]["controller_id"] == "P1"  # 71 %
    assert result["B"]["controller_id"] == "P2"  # 57 %


def test_treasury_shares_redistribute() -> None:
    # A holds 20 % of itself (回购); P1 holds the other 80 % → 0.8 / (1 − 0.2) = 1.0.
    roles = frame(role("A", "A", share=0.2), role("A", "P1", share=0.8))
    a = by_uscc(actual_controllers(roles, AS_OF))["A"]
    assert a["controller_id"] == "P1" and a["effective_share"] == pytest.approx(1.0)


def test_declared_unknown() -> None:
    roles = frame(
        role("U", UNKNOWN_HOLDER, share=0.7),  # 70 % declared unknown, P4 30 %
        role("U", "P4", share=0.3),
        role("V", UNKNOWN_HOLDER, share=0.4),  # P1 60 % still controls V
        role("V", "P1", share=0.6),
        role("W", "S", share=0.99),  # a state holder S (no shareholders) 99 %, 1 % unknown:
        role("W", UNKNOWN_HOLDER, share=0.01),  # the unknown 1 % cannot hide a controller
        role("X", "U", share=1.0),  # X inherits U's unknown 70 % through the chain
    )
    result = by_uscc(actual_controllers(roles, AS_OF, persons=PERSONS))
    u = result["U"]
    assert u["status"] == ControllerStatus.declared_unknown
    assert u["unknown_share"] == pytest.approx(0.7) and u["candidate_id"] == "P4"
    assert "申报为不明" in u["explanation"] and "赵*" in u["explanation"]
    assert result["V"]["status"] == ControllerStatus.natural_person
    assert result["V"]["unknown_share"] == pytest.approx(0.4)
    w = result["W"]
    assert w["status"] == ControllerStatus.no_natural_person_controller
    assert w["candidate_id"] == "S" and w["candidate_type"] == "enterprise"
    assert result["X"]["status"] == ControllerStatus.declared_unknown
    assert result["X"]["unknown_share"] == pytest.approx(0.7)
    assert UNKNOWN_HOLDER not in set(result)  # the placeholder is not an enterprise


def test_no_shareholders_and_as_of_filtering() -> None:
    roles = frame(
        role("A", "P1", "legal_rep"),  # a legal rep is not ownership
        role("B", "P1", share=0.9, end="2021-01-01"),  # P1 sold B at the start of 2021 …
        role("B", "P2", share=0.6, start="2021-01-01"),  # … to P2
    )
    enterprises = pd.DataFrame({"uscc": ["A", "B", "Q"], "name": ["A公司", "B公司", "Q公司"]})
    now = by_uscc(actual_controllers(roles, AS_OF, enterprises=enterprises))
    assert now["A"]["status"] == ControllerStatus.no_shareholders
    assert now["Q"]["status"] == ControllerStatus.no_shareholders  # only in enterprises
    assert now["B"]["controller_id"] == "P2"
    before = by_uscc(actual_controllers(roles, "2020-06-30"))
    assert before["B"]["controller_id"] == "P1"
    assert before["B"]["effective_share"] == pytest.approx(0.9)


def test_tie_at_the_top_is_no_single_controller() -> None:
    roles = frame(role("A", "P1", share=0.5), role("A", "P2", share=0.5))
    a = by_uscc(actual_controllers(roles, AS_OF, persons=PERSONS))["A"]
    assert a["status"] == ControllerStatus.no_natural_person_controller
    assert a["candidate_id"] == "P1"  # tie broken by id, for determinism
    assert "无单一实际控制人" in a["explanation"] and "张*、李*" in a["explanation"]


def test_branch_inherits_head_office_controller() -> None:
    roles = frame(role("A", "P1", share=0.8), role("AB", "A", "branch_of"))
    result = by_uscc(actual_controllers(roles, AS_OF, persons=PERSONS))
    assert result["AB"]["controller_id"] == "P1"
    assert result["AB"]["effective_share"] == pytest.approx(0.8)
    assert "AB(分支机构)" in result["AB"]["explanation"]
    plain = by_uscc(actual_controllers(roles, AS_OF, branch_as_owned=False))
    assert plain["AB"]["status"] == ControllerStatus.no_shareholders


def test_names_masked_unless_asked() -> None:
    roles = frame(role("A", "P1", share=0.8))
    assert "张*" in actual_controllers(roles, AS_OF, persons=PERSONS)["explanation"][0]
    full = actual_controllers(roles, AS_OF, persons=PERSONS, mask_persons=False)
    assert "张三" in full["explanation"][0]
    assert "自然人[P1]" in actual_controllers(roles, AS_OF)["explanation"][0]


def test_subjects_restrict_the_work_not_the_answer() -> None:
    roles = frame(
        role("A", "P1", share=0.6),
        role("B", "A", share=0.8),
        role("C", "P2", share=1.0),
    )
    full = actual_controllers(roles, AS_OF, threshold=0.25).set_index("uscc")
    one = actual_controllers(roles, AS_OF, threshold=0.25, subjects=["B"]).set_index("uscc")
    assert list(one.index) == ["B"]
    pd.testing.assert_series_equal(one.loc["B"], full.loc["B"])
    with pytest.raises(TypeError, match="subjects must be a sequence"):
        actual_controllers(roles, AS_OF, subjects="B")


def test_beneficial_owners_at_25_percent() -> None:
    roles = frame(
        role("A", "P1", share=0.3), role("A", "P2", share=0.3), role("A", "P3", share=0.4)
    )
    owners = beneficial_owners(roles, AS_OF)
    assert sorted(owners["holder_id"]) == ["P1", "P2", "P3"]
    assert list(beneficial_owners(roles, AS_OF, threshold=0.35)["holder_id"]) == ["P3"]


def test_missing_share_counts_as_held_but_adds_nothing() -> None:
    roles = frame(role("A", "P1", share=None))
    a = by_uscc(actual_controllers(roles, AS_OF))["A"]
    assert a["status"] == ControllerStatus.no_natural_person_controller
    assert "持股比例缺失" in a["explanation"]


def test_controller_validation() -> None:
    roles = frame(role("A", "P1", share=0.6))
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]; got 0"):
        actual_controllers(roles, AS_OF, threshold=0)
    with pytest.raises(ValueError, match="threshold must be in"):
        actual_controllers(roles, AS_OF, threshold=1.5)
    with pytest.raises(TypeError, match="threshold must be a real number; got str"):
        actual_controllers(roles, AS_OF, threshold="0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="threshold must be a real number; got bool"):
        actual_controllers(roles, AS_OF, threshold=True)
    bad = frame(role("A", "P1", share=1.5))
    with pytest.raises(InvalidFrameError, match=r"roles.share must be between 0 and 1; got 1.5"):
        actual_controllers(bad, AS_OF)
    with pytest.raises(InvalidFrameError, match="persons must have column"):
        actual_controllers(roles, AS_OF, persons=pd.DataFrame({"person_id": ["P1"]}))


def test_controllers_fast_on_50k_chain_forest() -> None:
    # Each enterprise j has one or two person shareholders and, half the time, an earlier
    # enterprise as a further shareholder: a forest of ownership chains over 50 000 firms.
    rng = np.random.default_rng(11)
    n = 50_000
    j = np.arange(n)
    has_parent = (rng.random(n) < 0.5) & (j > 0)
    parent = (rng.random(n) * j).astype(np.int64)
    second = rng.random(n) < 0.5
    uscc = np.concatenate([j, j[second], j[has_parent]])
    holder = np.concatenate(
        [
            np.char.add("P", rng.integers(0, 20_000, n).astype(str)),
            np.char.add("P", rng.integers(0, 20_000, int(second.sum())).astype(str)),
            np.char.add("E", parent[has_parent].astype(str)),
        ]
    )
    share = np.concatenate(
        [np.full(n, 0.5), np.full(int(second.sum()), 0.2), np.full(int(has_parent.sum()), 0.3)]
    )
    roles = pd.DataFrame(
        {
            "uscc": np.char.add("E", uscc.astype(str)),
            "holder_type": np.where(np.char.startswith(holder, "P"), "person", "enterprise"),
            "holder_id": holder,
            "role": "shareholder",
            "share": share,
            "start": pd.Timestamp("2020-01-01"),
            "end": pd.NaT,
        }
    )
    # CPU time of this process, so a busy CI machine does not fail the test.
    started = time.process_time()
    result = actual_controllers(roles, AS_OF)
    seconds = time.process_time() - started
    assert len(result) == n
    assert seconds < 5, f"actual_controllers took {seconds:.1f} s of CPU for 50 000 firms"
    assert set(result["status"]) <= {s.value for s in ControllerStatus}
    assert (result["effective_share"].dropna() <= 1 + 1e-9).all()
