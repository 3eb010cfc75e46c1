"""Tests for risk.groups: related-enterprise groups (关联企业群), checked against networkx's
connected components as the slow, obviously-correct reference."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from risk.contract import UNKNOWN_HOLDER, Role
from risk.exceptions import InvalidFrameError
from risk.groups import (
    CONTROL_SHARE,
    control_mask,
    group_statistics,
    related_groups,
    shared_person_links,
)
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
    role("K", "P4", "shareholder", 0.3),  # P4 holds minority stakes in K and L: a weak link,
    role("L", "P4", "shareholder", 0.4999),  # not one group
)


def test_related_groups_by_hand() -> None:
    groups = related_groups(GROUP_ROLES, AS_OF)
    got = dict(zip(groups["uscc"], groups["group_id"], strict=True))
    # {A, B, C, J} through P1 (legal rep of A, 50 % of B), B→C and J→A; F, G, I, K and L
    # alone; D, E and H touch no present default-type edge and have no row without an
    # enterprises frame.
    assert got == {
        "A": "GA", "B": "GA", "C": "GA", "J": "GA",
        "F": "GF", "G": "GG", "I": "GI", "K": "GK", "L": "GL",
    }  # fmt: skip
    sizes = dict(zip(groups["uscc"], groups["group_size"], strict=True))
    assert sizes["A"] == 4 and sizes["F"] == 1
    assert list(groups.columns) == ["uscc", "group_id", "group_size"]


def test_related_groups_edge_types_and_singletons() -> None:
    enterprises = pd.DataFrame({"uscc": list("ABCDEFGHIJKLM")})
    groups = related_groups(
        GROUP_ROLES,
        AS_OF,
        edge_types=(Role.executive, "legal_rep"),
        enterprises=enterprises,
        control_only=False,
    )
    got = dict(zip(groups["uscc"], groups["group_id"], strict=True))
    assert got["D"] == got["E"] == "GD"  # the shared executive now links them
    on_control = related_groups(
        GROUP_ROLES, AS_OF, edge_types=(Role.executive,), enterprises=enterprises
    )
    assert on_control["group_size"].max() == 1  # an executive post never controls
    assert got["B"] == "GB" and got["C"] == "GC"  # shareholder edges switched off
    assert got["M"] == "GM" and len(groups) == 13  # singletons from the enterprises frame


def test_control_mask_by_hand() -> None:
    assert CONTROL_SHARE == 0.5
    role = ["legal_rep", "branch_of", "shareholder", "shareholder", "shareholder", "executive"]
    share = [None, None, 0.5, 0.4999, np.nan, 1.0]
    assert control_mask(role, share).tolist() == [True, True, True, False, False, False]
    assert control_mask([Role.shareholder], [0.5 - 1e-12]).tolist() == [True]  # float noise
    with pytest.raises(ValueError, match=r"share must have one value per role \(2\); got 1"):
        control_mask(["legal_rep", "executive"], [None])


def test_minority_stakes_link_only_under_the_old_rule() -> None:
    old = related_groups(GROUP_ROLES, AS_OF, control_only=False)
    got = dict(zip(old["uscc"], old["group_id"], strict=True))
    assert got["K"] == got["L"] == "GK"
    with pytest.raises(TypeError, match="control_only must be a bool; got int"):
        related_groups(GROUP_ROLES, AS_OF, control_only=1)  # type: ignore[arg-type]


def test_shared_person_links_by_hand() -> None:
    roles = frame(
        role("A", "P1", "legal_rep"),
        role("B", "P1", "shareholder", 0.6),  # P1 controls A and B: one group, no weak link
        role("C", "P1", "shareholder", 0.1),  # … and a minority stake in C: weak A–C, B–C
        role("D", "P2", "executive"),  # P2 an executive of D and E: weak D–E
        role("E", "P2", "executive"),
        role("E", "P2", "shareholder", 0.2, end="2023-01-01"),  # ended: not a role any more
        role("F", UNKNOWN_HOLDER, "shareholder", 0.1),  # UNKNOWN links nothing
        role("G", UNKNOWN_HOLDER, "shareholder", 0.1),
        role("H", "A", "shareholder", 0.1),  # an enterprise holder: a holding, not a person
    )
    links = shared_person_links(roles, AS_OF)
    pairs = list(zip(links["uscc"], links["other_uscc"], links["person_id"], strict=True))
    assert pairs == [
        ("A", "C", "P1"), ("B", "C", "P1"), ("C", "A", "P1"), ("C", "B", "P1"),
        ("D", "E", "P2"), ("E", "D", "P2"),
    ]  # fmt: skip
    first = links.iloc[0]
    assert (first["roles"], first["other_roles"]) == ("法定代表人", "股东 10%")
    assert links.iloc[4]["roles"] == "高管"
    of_c = shared_person_links(roles, AS_OF, of=["C"])
    assert of_c["other_uscc"].tolist() == ["A", "B"] and set(of_c["uscc"]) == {"C"}
    assert shared_person_links(roles, AS_OF, of=["Z"]).empty
    groups = related_groups(roles, AS_OF)
    group_of = dict(zip(groups["uscc"], groups["group_id"], strict=True))
    assert group_of["A"] == group_of["B"] != group_of["C"]


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


def _networkx_groups(graph: nx.Graph) -> dict[str, tuple[str, int]]:
    """Each enterprise node's (``"G"`` + smallest USCC, size) of its connected component: the
    reference of :func:`related_groups` (nodes ``("e", uscc)`` are enterprises)."""
    expected = {}
    for component in nx.connected_components(graph):
        members = sorted(node[1] for node in component if node[0] == "e")
        for member in members:
            expected[member] = ("G" + members[0], len(members))
    return expected


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
    groups = related_groups(roles, AS_OF, control_only=False)

    graph = nx.Graph()
    for r in rows:
        graph.add_edge(("e", r["uscc"]), (r["holder_type"][0], r["holder_id"]))
    got = {u: (g, s) for u, g, s in groups.itertuples(index=False)}
    assert got == _networkx_groups(graph)


def test_control_groups_match_networkx_reference() -> None:
    rng = np.random.default_rng(11)
    rows = []
    for _ in range(400):
        uscc = f"E{rng.integers(0, 150):03d}"
        holder = (
            f"P{rng.integers(0, 80):03d}" if rng.random() < 0.7 else f"E{rng.integers(0, 150):03d}"
        )
        kind = str(rng.choice(["legal_rep", "shareholder", "executive"]))
        share = float(rng.choice([0.1, 0.3, 0.5, 0.7])) if kind == "shareholder" else None
        rows.append(role(uscc, holder, kind, share))
    groups = related_groups(frame(*rows), AS_OF)

    graph = nx.Graph()
    for r in rows:
        if r["role"] == "executive":
            continue
        graph.add_node(("e", r["uscc"]))  # touched by a group role: it has a row
        if r["role"] == "legal_rep" or r["share"] >= 0.5:
            graph.add_edge(("e", r["uscc"]), (r["holder_type"][0], r["holder_id"]))
    got = {u: (g, s) for u, g, s in groups.itertuples(index=False)}
    assert got == _networkx_groups(graph)


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
