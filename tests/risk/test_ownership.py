"""Tests for risk.ownership: related-enterprise groups and actual controllers.

Every expected share below is worked out by hand in a comment. Two slow, obviously-correct
references live here too: networkx connected components for the groups, and the plain power
series E = H·(I + S + S² + …) (iterated to convergence, dense numpy) for effective shares.
"""

from __future__ import annotations

import time
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from risk.contract import Role
from risk.exceptions import InvalidFrameError
from risk.ownership import (
    BENEFICIAL_OWNER_THRESHOLD,
    UNKNOWN_HOLDER,
    ControllerStatus,
    OwnershipDataWarning,
    actual_controllers,
    beneficial_owners,
    group_statistics,
    related_groups,
    ultimate_holders,
)

AS_OF = "2024-06-30"


def role(
    uscc: str,
    holder_id: str,
    kind: str = "shareholder",
    share: float | None = None,
    *,
    holder_type: str | None = None,
    start: str = "2020-01-01",
    end: str | None = None,
) -> dict[str, object]:
    """One roles row; holders named P… are persons, anything else an enterprise."""
    if holder_type is None:
        holder_type = (
            "person" if holder_id.startswith("P") or holder_id == UNKNOWN_HOLDER else "enterprise"
        )
    return {
        "uscc": uscc,
        "holder_type": holder_type,
        "holder_id": holder_id,
        "role": kind,
        "share": share,
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end) if end else pd.NaT,
    }


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    out = pd.DataFrame(list(rows))
    out["start"] = out["start"].astype("datetime64[s]")
    out["end"] = out["end"].astype("datetime64[s]")
    return out


def by_uscc(result: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["uscc"]: row for _, row in result.iterrows()}


PERSONS = pd.DataFrame(
    {
        "person_id": ["P1", "P2", "P3", "P4"],
        "name": ["张三", "李四", "王五", "赵六"],
        "id_hash": ["a" * 64, "b" * 64, "c" * 64, "d" * 64],
        "id_masked": ["340321********1234"] * 4,
    }
)
NAMES = pd.DataFrame({"uscc": ["A", "B", "C", "D"], "name": ["A公司", "B公司", "C公司", "D公司"]})


# --------------------------------------------------------------------------- groups


GROUP_ROLES = frame(
    role("A", "P1", "legal_rep"),
    role("B", "P1", "shareholder", 0.5),  # P1 ties A and B
    role("C", "B", "shareholder", 1.0),  # B holds C
    role("D", "P2", "executive"),  # executive only: not a default group edge
    role("E", "P2", "executive"),
    role("F", UNKNOWN_HOLDER, "shareholder", 0.4),  # UNKNOWN links nothing …
    role("G", UNKNOWN_HOLDER, "shareholder", 0.4),
    role("H", "P3", "legal_rep", end="2023-01-01"),  # … nor does an ended role
    role("I", "P3", "legal_rep"),
    role("J", "A", "branch_of"),  # branch J of A
)


def test_related_groups_by_hand() -> None:
    groups = related_groups(GROUP_ROLES, AS_OF)
    got = dict(zip(groups["uscc"], groups["group_id"], strict=True))
    # {A, B, C, J} through P1, B→C and J→A; F, G and I alone; D, E and H touch no present
    # default-type edge and have no row without an enterprises frame.
    assert got == {"A": "GA", "B": "GA", "C": "GA", "J": "GA", "F": "GF", "G": "GG", "I": "GI"}
    sizes = dict(zip(groups["uscc"], groups["group_size"], strict=True))
    assert sizes["A"] == 4 and sizes["F"] == 1
    assert list(groups.columns) == ["uscc", "group_id", "group_size"]


def test_related_groups_edge_types_and_singletons() -> None:
    enterprises = pd.DataFrame({"uscc": list("ABCDEFGHIJK")})
    groups = related_groups(
        GROUP_ROLES, AS_OF, edge_types=(Role.executive, "legal_rep"), enterprises=enterprises
    )
    got = dict(zip(groups["uscc"], groups["group_id"], strict=True))
    assert got["D"] == got["E"] == "GD"  # the shared executive now links them
    assert got["B"] == "GB" and got["C"] == "GC"  # shareholder edges switched off
    assert got["K"] == "GK" and len(groups) == 11  # singletons from the enterprises frame


def test_related_groups_ids_are_stable_under_shuffling() -> None:
    a = related_groups(GROUP_ROLES, AS_OF)
    b = related_groups(GROUP_ROLES.sample(frac=1.0, random_state=3), AS_OF)
    pd.testing.assert_frame_equal(a, b)


def test_related_groups_validates_edge_types() -> None:
    with pytest.raises(ValueError, match="edge_types must contain only"):
        related_groups(GROUP_ROLES, AS_OF, edge_types=("owner",))
    with pytest.raises(ValueError, match="edge_types must name at least one role"):
        related_groups(GROUP_ROLES, AS_OF, edge_types=())
    with pytest.raises(TypeError, match="edge_types must be a sequence"):
        related_groups(GROUP_ROLES, AS_OF, edge_types="shareholder")  # type: ignore[arg-type]


def test_related_groups_empty() -> None:
    groups = related_groups(GROUP_ROLES.iloc[:0], AS_OF)
    assert groups.empty and list(groups.columns) == ["uscc", "group_id", "group_size"]


def test_related_groups_match_networkx_reference() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(300):
        uscc = f"E{rng.integers(0, 150):03d}"
        if rng.random() < 0.5:
            rows.append(role(uscc, f"P{rng.integers(0, 120):03d}", "legal_rep"))
        else:
            rows.append(role(uscc, f"E{rng.integers(0, 150):03d}", "shareholder", 0.1))
    roles = frame(*rows)
    groups = related_groups(roles, AS_OF)

    graph = nx.Graph()
    for r in rows:
        graph.add_edge(("e", r["uscc"]), (r["holder_type"][0], r["holder_id"]))
    expected = {}
    for component in nx.connected_components(graph):
        members = sorted(node[1] for node in component if node[0] == "e")
        for member in members:
            expected[member] = ("G" + members[0], len(members))
    got = {u: (g, s) for u, g, s in groups.itertuples(index=False)}
    assert got == expected


def test_group_statistics_by_hand() -> None:
    groups = related_groups(GROUP_ROLES, AS_OF)
    values = pd.DataFrame(
        {
            "uscc": ["A", "B", "C", "F"],
            "is_dishonest": [True, False, True, True],
            "linked_risk": [0.2, np.nan, 0.7, 0.1],
        }
    )
    stats = group_statistics(groups, values).set_index("group_id")
    # GA = {A, B, C, J}: dishonest A and C → 2; risk 0.2 + 0.7 = 0.9, max 0.7 (J missing).
    assert stats.loc["GA", "group_size"] == 4
    assert stats.loc["GA", "n_is_dishonest"] == 2
    assert stats.loc["GA", "sum_linked_risk"] == pytest.approx(0.9)
    assert stats.loc["GA", "max_linked_risk"] == pytest.approx(0.7)
    # GG = {G}: no values at all → count 0, sum and max missing.
    assert stats.loc["GG", "n_is_dishonest"] == 0
    assert np.isnan(stats.loc["GG", "max_linked_risk"])
    explicit = group_statistics(groups, values, maximum=["linked_risk"])
    assert list(explicit.columns) == ["group_id", "group_size", "max_linked_risk"]
    with pytest.raises(InvalidFrameError, match="must have column 'risk'"):
        group_statistics(groups, values, total=["risk"])
    with pytest.raises(InvalidFrameError, match="groups must have column"):
        group_statistics(values, values)


# --------------------------------------------------------------------------- controllers


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


def _reference_shares(rows: list[dict[str, object]]) -> dict[tuple[str, str], float]:
    """E = H + E·S iterated to convergence (dense): the plain power series."""
    ents = sorted(
        {str(r["uscc"]) for r in rows}
        | {str(r["holder_id"]) for r in rows if r["holder_type"] == "enterprise"}
    )
    people = sorted({str(r["holder_id"]) for r in rows if r["holder_type"] == "person"})
    e_index = {e: i for i, e in enumerate(ents)}
    p_index = {p: i for i, p in enumerate(people)}
    held = {str(r["uscc"]) for r in rows}
    roots = [e for e in ents if e not in held]
    r_index = {e: i for i, e in enumerate(roots)}
    s = np.zeros((len(ents), len(ents)))  # s[i, j]: share of j held by enterprise i
    h = np.zeros((len(people) + len(roots), len(ents)))
    for r in rows:
        j = e_index[str(r["uscc"])]
        if r["holder_type"] == "person":
            h[p_index[str(r["holder_id"])], j] += float(r["share"])  # type: ignore[arg-type]
        elif str(r["holder_id"]) in r_index:
            h[len(people) + r_index[str(r["holder_id"])], j] += float(r["share"])  # type: ignore[arg-type]
        else:
            s[e_index[str(r["holder_id"])], j] += float(r["share"])  # type: ignore[arg-type]
    e = h.copy()
    for _ in range(5000):
        nxt = h + e @ s
        if np.abs(nxt - e).max() < 1e-13:
            break
        e = nxt
    names = people + roots
    return {
        (ents[j], names[u]): float(e[u, j])
        for u in range(len(names))
        for j in range(len(ents))
        if e[u, j] > 1e-12
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_effective_shares_match_power_series_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for j in range(12):
        holders = rng.choice(12 + 6, size=rng.integers(1, 4), replace=False)
        shares = rng.dirichlet(np.ones(len(holders))) * rng.uniform(0.6, 1.0)
        for k, s in zip(holders, shares, strict=True):
            name = f"E{k:02d}" if k < 12 else f"P{k:02d}"
            rows.append(role(f"E{j:02d}", name, share=float(s)))
    holders = ultimate_holders(frame(*rows), AS_OF)
    got = {
        (u, h): s
        for u, h, s in holders[["uscc", "holder_id", "effective_share"]].itertuples(index=False)
    }
    expected = _reference_shares(rows)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    totals = holders.groupby("uscc")["effective_share"].sum()
    assert (totals <= 1 + 1e-9).all()


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


def test_over_declared_shares_warn_and_rescale() -> None:
    # 70 % + 60 % = 130 %: rescaled to 7/13 and 6/13.
    roles = frame(role("A", "P1", share=0.7), role("A", "P2", share=0.6))
    with pytest.warns(OwnershipDataWarning, match="summing above 100 %"):
        holders = ultimate_holders(roles, AS_OF)
    shares = dict(zip(holders["holder_id"], holders["effective_share"], strict=True))
    assert shares == {"P1": pytest.approx(7 / 13), "P2": pytest.approx(6 / 13)}
    # Rounding in registers (33.34 + 33.33 + 33.34) is rescaled without a warning.
    rounded = frame(*(role("B", f"P{i}", share=s) for i, s in enumerate((0.3334, 0.3333, 0.3334))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = ultimate_holders(rounded, AS_OF)["effective_share"].sum()
    assert total == pytest.approx(1.0)


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
