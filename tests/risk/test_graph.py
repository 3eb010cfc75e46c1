"""Tests for risk.graph: the snapshot's nodes, dated typed edges, CSR arrays and ego graphs.

The hand-made county below (:func:`hand_frames`) is also the fixture of test_propagation.py.
As of 2025-06-30 its graph is::

    张三 P1 ──legal_rep + executive──▶ 甲公司 A
    张三 P1 ──legal_rep──────────────▶ 乙公司 B ◀──shareholder 60%── 李四 P2
    李四 P2 ──executive──────────────▶ 丙公司 C ──shareholder 50%──▶ 丁公司 D
    丁公司 D ──branch_of─────────────▶ 丁公司城东分公司 E
    P9 (unregistered) ──executive───▶ 丁公司 D, and ──executive──▶ E (starts on 2025-06-30)

Not present on that day: P2 executive of A (ended 2025-01-01), P2 executive of E (ends on
2025-06-30 itself), P1 legal_rep of C (starts 2025-07-01).
"""

from __future__ import annotations

from datetime import date

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from risk.contract import Role
from risk.exceptions import InvalidFrameError, RiskError, UnknownEntityError
from risk.graph import ROLE_CODES, GraphSnapshot, role_text
from risk.identifiers import make_uscc
from risk.store import contract_table

AS_OF = date(2025, 6, 30)
A, B, C, D, E = (make_uscc("9", "1", "340321", f"MA000000{i}") for i in range(1, 6))
NAMES = {A: "甲公司", B: "乙公司", C: "丙公司", D: "丁公司", E: "丁公司城东分公司"}


def _d(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text) if text else pd.NaT


def hand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """enterprises, persons, roles, records of the hand-made county (module docstring)."""
    enterprises = pd.DataFrame(
        {
            "uscc": [A, B, C, D, E],
            "name": [NAMES[u] for u in (A, B, C, D, E)],
            "kind": ["company"] * 4 + ["branch"],
            "status": ["active"] * 5,
            "industry": ["C", "F", "G", "E", "E"],
            "region": ["340321"] * 5,
            "registered_capital": [100.0, 500.0, 50.0, 1000.0, None],
            "founded": pd.to_datetime(
                ["2020-01-01", "2021-03-01", "2022-01-01"] * 1
                + [
                    "2022-05-01",
                    "2023-01-01",
                ]
            ).astype("datetime64[s]"),
            "closed": pd.Series([pd.NaT] * 5, dtype="datetime64[s]"),
        }
    )
    persons = pd.DataFrame({"person_id": ["P1", "P2"], "name": ["张三", "李四"]})
    rows = [
        (A, "person", "P1", "legal_rep", None, "2020-01-01", None),
        (A, "person", "P1", "executive", None, "2020-01-01", None),
        (B, "person", "P1", "legal_rep", None, "2021-03-01", None),
        (B, "person", "P2", "shareholder", 0.6, "2021-03-01", None),
        (C, "person", "P2", "executive", None, "2022-01-01", None),
        (D, "enterprise", C, "shareholder", 0.5, "2022-05-01", None),
        (E, "enterprise", D, "branch_of", None, "2023-01-01", None),
        (D, "person", "P9", "executive", None, "2023-01-01", None),
        (E, "person", "P9", "executive", None, "2025-06-30", None),  # starts on as_of: present
        (A, "person", "P2", "executive", None, "2020-01-01", "2025-01-01"),  # ended
        (E, "person", "P2", "executive", None, "2023-01-01", "2025-06-30"),  # ends on as_of
        (C, "person", "P1", "legal_rep", None, "2025-07-01", None),  # future
    ]
    roles = pd.DataFrame(
        rows, columns=["uscc", "holder_type", "holder_id", "role", "share", "start", "end"]
    )
    roles["share"] = roles["share"].astype("float64")
    roles["start"] = pd.to_datetime(roles["start"]).astype("datetime64[s]")
    roles["end"] = pd.to_datetime(roles["end"]).astype("datetime64[s]")
    recs = [
        # The one record that counts: 失信被执行人 of B, exactly one half-life old.
        ("(2024)皖0321执1号", "enterprise", B, "dishonest_debtor", "court", "general",
         "2024-06-30", "2026-06-30", None, None),
        # Repaired (信用修复) before as_of.
        ("皖市监罚〔2024〕1号", "enterprise", A, "administrative_penalty", "market_regulation",
         "serious", "2024-01-10", "2027-01-10", "2025-03-01", None),
        # Expired: publicity ended 2023-01-01.
        ("皖税欠〔2022〕7号", "enterprise", C, "tax_arrears", "taxation", "general",
         "2022-01-01", "2023-01-01", None, None),
        # Positive kind: 守信激励对象.
        ("红名单〔2024〕3号", "enterprise", D, "red_list", "other", "general",
         "2024-01-01", None, None, None),
        # Decided after as_of.
        ("皖市监罚〔2025〕9号", "enterprise", B, "administrative_penalty", "market_regulation",
         "general", "2025-07-15", "2028-07-15", None, None),
        # Removed (移出) on as_of itself.
        ("(2024)皖0321执限2号", "person", "P2", "consumption_restriction", "court", "serious",
         "2024-01-01", "2026-01-01", None, "2025-06-30"),
    ]  # fmt: skip
    records = pd.DataFrame(
        recs,
        columns=[
            "record_id", "subject_type", "subject_id", "kind", "domain", "severity",
            "decided", "publicity_end", "repaired", "removed",
        ],
    )  # fmt: skip
    for column in ("decided", "publicity_end", "repaired", "removed"):
        records[column] = pd.to_datetime(records[column]).astype("datetime64[s]")
    return enterprises, persons, roles, records


@pytest.fixture
def snapshot() -> GraphSnapshot:
    enterprises, persons, roles, _ = hand_frames()
    return GraphSnapshot.from_frames(enterprises, persons, roles, AS_OF)


def _edge_set(snap: GraphSnapshot) -> set[tuple[str, str, str, float | None]]:
    edges = snap.edges
    return {
        (h, t, r, None if np.isnan(s) else s)
        for h, t, r, s in zip(
            edges["holder_id"], edges["target_id"], edges["role"], edges["share"], strict=True
        )
    }


PRESENT = {
    ("P1", A, "legal_rep", None),
    ("P1", A, "executive", None),
    ("P1", B, "legal_rep", None),
    ("P2", B, "shareholder", 0.6),
    ("P2", C, "executive", None),
    (C, D, "shareholder", 0.5),
    (D, E, "branch_of", None),
    ("P9", D, "executive", None),
    ("P9", E, "executive", None),
}


# --------------------------------------------------------------------------- nodes and edges


def test_nodes_are_enterprises_persons_and_unknown_holders(snapshot: GraphSnapshot) -> None:
    nodes = snapshot.nodes.set_index("node_id")
    assert list(nodes.index) == [A, B, C, D, E, "P1", "P2", "P9"]
    assert nodes.loc[A, "node_type"] == "enterprise"
    assert nodes.loc["P1", "node_type"] == "person"
    assert nodes.loc["P9", "node_type"] == "person"
    assert nodes["known"].to_dict() == {**{u: True for u in NAMES}, "P1": True, "P2": True,
                                        "P9": False}  # fmt: skip
    assert nodes.loc[A, "name"] == "甲公司"
    assert nodes.loc["P1", "name"] == "张三"  # internal frame: unmasked
    assert nodes.loc[E, "kind"] == "branch"
    assert nodes.loc[B, "registered_capital"] == 500.0
    assert pd.isna(nodes.loc["P1", "kind"])
    assert snapshot.n_nodes == 8
    assert repr(snapshot) == "GraphSnapshot(as_of=2025-06-30, enterprises=5, persons=3, edges=9)"


def test_only_edges_present_on_as_of(snapshot: GraphSnapshot) -> None:
    # start ≤ t < end: the edge starting on t is in, the one ending on t is out.
    assert _edge_set(snapshot) == PRESENT
    assert snapshot.n_edges == 9
    edges = snapshot.edges
    assert edges["holder"].dtype.kind == "i" and edges["target"].dtype.kind == "i"
    first = edges.iloc[0]
    assert snapshot.node_ids[first["holder"]] == "P1"
    assert snapshot.node_ids[first["target"]] == A
    assert first["start"] == pd.Timestamp("2020-01-01") and pd.isna(first["end"])


def test_edges_move_with_the_date() -> None:
    enterprises, persons, roles, _ = hand_frames()
    before = GraphSnapshot.from_frames(enterprises, persons, roles, "2024-12-31")
    assert ("P2", A, "executive", None) in _edge_set(before)
    assert ("P2", E, "executive", None) in _edge_set(before)
    assert ("P9", E, "executive", None) not in _edge_set(before)
    later = GraphSnapshot.from_frames(enterprises, persons, roles, "2025-07-01")
    assert ("P1", C, "legal_rep", None) in _edge_set(later)


def test_index_of(snapshot: GraphSnapshot) -> None:
    assert snapshot.index_of(A) == 0
    assert snapshot.index_of("P9") == 7
    assert list(snapshot.indices_of([B, "P1"])) == [1, 5]
    with pytest.raises(UnknownEntityError, match="node_id must be an enterprise or person"):
        snapshot.index_of("91110000600037341L")
    with pytest.raises(KeyError):  # UnknownEntityError is also a KeyError
        snapshot.indices_of([A, "nobody"])


def test_csr_lists_neighbours_both_ways_with_duplicate_edges(snapshot: GraphSnapshot) -> None:
    ids = snapshot.node_ids
    neighbours = {
        ids[i]: sorted(ids[snapshot.indices[snapshot.indptr[i] : snapshot.indptr[i + 1]]])
        for i in range(snapshot.n_nodes)
    }
    assert neighbours[A] == ["P1"]
    assert neighbours["P1"] == sorted([A, B])
    assert neighbours[D] == sorted([C, E, "P9"])
    assert neighbours["P9"] == sorted([D, E])
    # The pattern is symmetric and sorted per row.
    dense = np.zeros((8, 8), dtype=bool)
    for i in range(8):
        row = snapshot.indices[snapshot.indptr[i] : snapshot.indptr[i + 1]]
        assert list(row) == sorted(row)
        dense[i, row] = True
    assert (dense == dense.T).all()
    # Pair (A, P1) holds two contributions (legal_rep and executive), both "down" (A is the
    # enterprise: the influence runs P1 → A).
    a, p1 = snapshot.index_of(A), snapshot.index_of("P1")
    row = list(snapshot.indices[snapshot.indptr[a] : snapshot.indptr[a + 1]])
    q = snapshot.indptr[a] + row.index(p1)
    contribs = range(snapshot.pair_ptr[q], snapshot.pair_ptr[q + 1])
    assert {ROLE_CODES[snapshot.contrib_code[c] % 4] for c in contribs} == {
        Role.legal_rep,
        Role.executive,
    }
    assert len(contribs) == 2
    assert all(snapshot.contrib_code[c] < 4 for c in contribs)
    assert snapshot.pair_ptr[-1] == 2 * snapshot.n_edges
    # transpose maps the position of (i, j) to that of (j, i), and back.
    rows = np.repeat(np.arange(8), np.diff(snapshot.indptr))
    t = snapshot.transpose
    assert (rows[t] == snapshot.indices).all() and (snapshot.indices[t] == rows).all()
    assert (t[t] == np.arange(t.size)).all()
    assert not snapshot.indptr.flags.writeable
    # A's pair with P1 holds legal_rep (bit 0) and executive (bit 2), both down.
    assert snapshot.pair_mask[q] == 0b101 and snapshot.pair_share[q] == 0.0


def test_neighborhood_and_edges_within(snapshot: GraphSnapshot) -> None:
    b = snapshot.index_of(B)
    nodes, distance = snapshot.neighborhood([b], 2)
    got = dict(zip(snapshot.node_ids[nodes], distance.tolist(), strict=True))
    assert got == {B: 0, "P1": 1, "P2": 1, A: 2, C: 2}
    assert snapshot.neighborhood([b], 0)[0].tolist() == [b]
    within = snapshot.edges.iloc[snapshot.edges_within(nodes)]
    assert set(zip(within["holder_id"], within["target_id"], strict=True)) == {
        ("P1", A), ("P1", B), ("P2", B), ("P2", C),
    }  # fmt: skip
    with pytest.raises(ValueError, match="radius must be a non-negative integer; got -1"):
        snapshot.neighborhood([b], -1)
    with pytest.raises(ValueError, match=r"sources must be node indices in \[0, 8\)"):
        snapshot.neighborhood([8], 1)


# --------------------------------------------------------------------------- ego graph


def test_ego_graph_masks_persons_and_keeps_parallel_edges(snapshot: GraphSnapshot) -> None:
    graph = snapshot.ego_graph(A, depth=1)
    assert isinstance(graph, nx.MultiDiGraph)
    assert set(graph.nodes) == {A, "P1"}
    assert graph.nodes["P1"] == {"node_type": "person", "name": "张*", "known": True, "hops": 1}
    assert graph.nodes[A]["name"] == "甲公司"
    assert graph.nodes[A]["kind"] == "company" and graph.nodes[A]["hops"] == 0
    roles = sorted((d["role"], d["role_label"]) for _, _, d in graph.edges(data=True))
    assert roles == [("executive", "高管"), ("legal_rep", "法定代表人")]
    assert all(u == "P1" and v == A for u, v in graph.edges())
    assert graph.graph["center"] == A and graph.graph["truncated"] is False
    assert snapshot.ego_graph(A, 1, unmasked=True).nodes["P1"]["name"] == "张三"


def test_ego_graph_depth_two_with_share_label_and_unknown_holder(
    snapshot: GraphSnapshot,
) -> None:
    graph = snapshot.ego_graph(B, depth=2)
    assert set(graph.nodes) == {B, "P1", "P2", A, C}
    data = graph.get_edge_data("P2", B)
    (attrs,) = data.values()
    assert attrs["role"] == "shareholder" and attrs["label"] == "股东 60%"
    assert attrs["share"] == 0.6 and attrs["start"] == date(2021, 3, 1) and attrs["end"] is None
    around_d = snapshot.ego_graph(D, depth=1)
    assert around_d.nodes["P9"]["name"] == "未登记自然人"
    assert around_d.nodes["P9"]["known"] is False
    branch = around_d.get_edge_data(D, E)
    assert [a["role_label"] for a in branch.values()] == ["分支机构"]
    # Depth 1 around D includes the edge P9 → E between two depth-1 nodes.
    assert around_d.has_edge("P9", E)


def test_ego_graph_truncates_and_validates(snapshot: GraphSnapshot) -> None:
    graph = snapshot.ego_graph(B, depth=2, max_nodes=3)
    assert graph.number_of_nodes() == 3 and graph.graph["truncated"] is True
    assert B in graph
    with pytest.raises(UnknownEntityError):
        snapshot.ego_graph("nobody")
    with pytest.raises(ValueError, match="max_nodes must be a positive integer or None; got 0"):
        snapshot.ego_graph(B, max_nodes=0)


def test_role_text() -> None:
    assert role_text(Role.shareholder, 0.6) == "股东 60%"
    assert role_text("shareholder", 0.125) == "股东 12.5%"
    assert role_text(Role.shareholder, float("nan")) == "股东"
    assert role_text(Role.branch_of) == "分支机构"


# --------------------------------------------------------------------------- constructors


def test_from_arrays_and_dates() -> None:
    snap = GraphSnapshot.from_arrays(
        ["e0", "e1", "p0"],
        [False, False, True],
        holder=[2, 0, 1],
        target=[0, 1, 1],  # the last one is a self-loop: dropped
        role=["legal_rep", "shareholder", "branch_of"],
        share=[np.nan, 0.3, np.nan],
        as_of="2025-01-01",
    )
    assert snap.n_edges == 2 and snap.dropped_self_loops == 1
    assert snap.edges["role"].tolist() == ["legal_rep", "shareholder"]
    assert snap.display_name(2) == "未登记自然人" and snap.display_name(0) == "e0"
    coded = GraphSnapshot.from_arrays(
        ["e0", "p0"],
        [False, True],
        holder=np.array([1, 1]),
        target=np.array([0, 0]),
        role=np.array([0, 2], dtype=np.int8),
        start=["2020-01-01", "2026-01-01"],
        end=[None, None],
        as_of=date(2025, 1, 1),
        names=["某公司", "王五"],
    )
    assert coded.edges["role"].tolist() == ["legal_rep"]
    assert coded.display_name(1) == "王*" and coded.display_name(1, unmasked=True) == "王五"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"node_ids": ["x", "x"]}, ValueError, "node_ids must be unique; got 'x' twice"),
        ({"is_person": [True]}, ValueError, "is_person must have one value per node"),
        ({"holder": [5]}, ValueError, r"holder must be node indices in \[0, 2\)"),
        ({"role": ["boss"]}, ValueError, "role must be one of legal_rep, shareholder"),
        ({"role": [7]}, ValueError, r"role codes must be in \[0, 4\)"),
        ({"share": [1.5]}, ValueError, r"share must be in \[0, 1\] for shareholders; got 1.5"),
        ({"as_of": 20250101}, TypeError, "as_of must be a date; got int"),
        ({"as_of": "not a date"}, ValueError, "as_of must be a date like .*; got 'not a date'"),
    ],
)
def test_from_arrays_validation(kwargs: dict, error: type[Exception], message: str) -> None:
    arguments: dict = {
        "node_ids": ["e0", "p0"],
        "is_person": [False, True],
        "holder": [1],
        "target": [0],
        "role": ["shareholder"],
        "share": [0.5],
        "as_of": "2025-01-01",
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        GraphSnapshot.from_arrays(**arguments)


def _mutate(table: str, change) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    enterprises, persons, roles, _ = hand_frames()
    frames = {"enterprises": enterprises, "persons": persons, "roles": roles}
    frames[table] = change(frames[table])
    return frames["enterprises"], frames["persons"], frames["roles"]


@pytest.mark.parametrize(
    ("table", "change", "error", "message"),
    [
        ("roles", lambda f: f.drop(columns="holder_type"), InvalidFrameError,
         "roles must have column"),
        ("enterprises", lambda f: pd.concat([f, f.head(1)]), ValueError,
         "enterprises.uscc must be unique"),
        ("persons", lambda f: pd.concat([f, pd.DataFrame({"person_id": [A], "name": ["x"]})]),
         ValueError, "node ids must not be both an enterprise and a person"),
        ("roles", lambda f: f.assign(role=f["role"].replace("executive", "boss")), ValueError,
         "role must be one of"),
        ("roles", lambda f: f.assign(share=f["share"].replace(0.6, -0.1)), ValueError,
         r"share must be in \[0, 1\] for shareholders; got -0.1"),
        ("roles", lambda f: f.assign(holder_type=f["holder_type"].replace("person", "robot")),
         ValueError, "roles.holder_type must be person or enterprise; got 'robot'"),
        ("roles", lambda f: f.assign(holder_type="person"), ValueError,
         "roles.holder_type must match the holder's node type"),
    ],
)  # fmt: skip
def test_from_frames_validation(table, change, error, message) -> None:
    enterprises, persons, roles = _mutate(table, change)
    with pytest.raises(error, match=message):
        GraphSnapshot.from_frames(enterprises, persons, roles, AS_OF)
    assert issubclass(error, Exception)


def test_from_frames_requires_frames() -> None:
    enterprises, persons, _, _ = hand_frames()
    with pytest.raises(TypeError, match="roles must be a pandas DataFrame; got list"):
        GraphSnapshot.from_frames(enterprises, persons, [], AS_OF)  # type: ignore[arg-type]


def test_missing_columns_error_is_a_risk_error() -> None:
    enterprises, persons, roles, _ = hand_frames()
    with pytest.raises(RiskError):
        GraphSnapshot.from_frames(enterprises.drop(columns="name"), persons, roles, AS_OF)


def test_from_store_matches_from_frames(engine: Engine) -> None:
    enterprises, persons, roles, _ = hand_frames()
    people = persons.assign(id_hash=["h1", "h2"], id_masked=["3403**", "3403**"])

    def rows(frame: pd.DataFrame) -> list[dict]:
        out = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return [
            {k: (v.date() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()} for r in out
        ]

    with engine.begin() as conn:
        conn.execute(insert(contract_table("enterprises")), rows(enterprises))
        conn.execute(insert(contract_table("persons")), rows(people))
        conn.execute(insert(contract_table("roles")), rows(roles))
    from_store = GraphSnapshot.from_store(engine, AS_OF)
    expected = GraphSnapshot.from_frames(enterprises, persons, roles, AS_OF)
    assert list(from_store.node_ids) == list(expected.node_ids)
    assert _edge_set(from_store) == PRESENT
    assert from_store.nodes["known"].tolist() == expected.nodes["known"].tolist()
    assert from_store.ego_graph(B, 1).nodes["P2"]["name"] == "李*"


def test_snapshot_arrays_are_read_only_copies() -> None:
    is_person = np.array([False, True])
    snap = GraphSnapshot.from_arrays(["e0", "p0"], is_person, [1], [0], ["legal_rep"], as_of=AS_OF)
    assert is_person.flags.writeable  # the caller's array is left alone
    with pytest.raises(ValueError, match="read-only"):
        snap.is_person[0] = True
