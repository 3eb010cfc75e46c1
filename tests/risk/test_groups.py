"""Tests for risk.groups: related-enterprise groups (关联企业群), checked against networkx's
connected components as the slow, obviously-correct reference."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from risk.contract import UNKNOWN_HOLDER, Role
from risk.exceptions import InvalidFrameError
from risk.groups import group_statistics, related_groups
from tests.risk.test_ownership import AS_OF, frame, role

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
