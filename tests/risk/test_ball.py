"""Tests for risk.graph.ball and risk.snapshot.score_ball: a neighbourhood read from the store.

On the hand-made county of test_graph.py (module docstring there), stored on SQLite and
PostgreSQL, with a few more active records so that signals reach every hop: every ball equals
the full graph's neighbourhood with the edges among its nodes; the centre's linked risk and
explanation on its K-ball equal the full graph's, for every node and K; the ownership above an
enterprise is read up every chain; and every query a ball issues is answered through an index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, event, insert, text

from risk.config import RiskConfig
from risk.explain import explain
from risk.graph import GraphSnapshot
from risk.graph.ball import CHUNK, read_ball, read_owners
from risk.propagation import PropagationConfig, RiskPropagator, read_signal_records
from risk.snapshot import score_ball
from risk.store import contract_table
from tests.risk.test_graph import AS_OF, A, B, C, D, E, _edge_set, hand_frames

MORE_RECORDS = [
    # subject, kind, severity, decided: active on AS_OF, one on each side of the graph.
    ("P1", "person", "dishonest_debtor", "serious", "2025-01-01"),
    (D, "enterprise", "tax_violation", "general", "2024-10-01"),
    ("P9", "person", "consumption_restriction", "general", "2025-05-01"),
    (E, "enterprise", "administrative_penalty", "minor", "2025-06-01"),
]


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [
        {k: (v.date() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()} for r in out
    ]


def _records() -> pd.DataFrame:
    _, _, _, records = hand_frames()
    more = pd.DataFrame(
        [
            {
                "record_id": f"R-{i}",
                "subject_type": kind,
                "subject_id": subject,
                "kind": record_kind,
                "domain": "court",
                "severity": severity,
                "decided": pd.Timestamp(decided),
                "publicity_end": pd.Timestamp("2027-01-01"),
            }
            for i, (subject, kind, record_kind, severity, decided) in enumerate(MORE_RECORDS)
        ]
    )
    return pd.concat([records, more], ignore_index=True)


@pytest.fixture
def store(engine: Engine) -> Engine:
    """The hand-made county in a migrated store (SQLite and PostgreSQL)."""
    enterprises, persons, roles, _ = hand_frames()
    people = persons.assign(id_hash=["h1", "h2"], id_masked=["3403**", "3403**"])
    with engine.begin() as conn:
        conn.execute(insert(contract_table("enterprises")), _rows(enterprises))
        conn.execute(insert(contract_table("persons")), _rows(people))
        conn.execute(insert(contract_table("roles")), _rows(roles))
        records = _records().assign(authority="清源县人民法院")  # half of the records' key
        conn.execute(insert(contract_table("records")), _rows(records))
    return engine


@pytest.fixture
def full() -> GraphSnapshot:
    enterprises, persons, roles, _ = hand_frames()
    return GraphSnapshot.from_frames(enterprises, persons, roles, AS_OF)


NODES = [A, B, C, D, E, "P1", "P2", "P9"]


def test_every_ball_is_the_neighbourhood_with_its_edges(store: Engine, full: GraphSnapshot) -> None:
    for centre in NODES:
        for radius in range(5):
            ball = read_ball(store, AS_OF, [centre], radius)
            nodes, hops = full.neighborhood([full.index_of(centre)], radius)
            if radius == 0 and not full.known[full.index_of(centre)]:
                nodes, hops = nodes[:0], hops[:0]  # known from roles only: no role was read
            expected = dict(zip(full.node_ids[nodes], hops.tolist(), strict=True))
            got = dict(zip(ball.node_ids, ball.hops.tolist(), strict=True))
            assert got == expected, (centre, radius)
            inside = full.edges.iloc[full.edges_within(nodes)]
            assert _edge_set(ball.snapshot) == {
                (h, t, r, None if np.isnan(s) else s)
                for h, t, r, s in zip(
                    inside["holder_id"], inside["target_id"], inside["role"], inside["share"],
                    strict=True,
                )
            }, (centre, radius)  # fmt: skip
            assert ball.sources == tuple(full.node_ids[nodes[:1]])


def test_a_ball_names_its_nodes_and_orders_them_by_type_then_id(store: Engine) -> None:
    ball = read_ball(store, AS_OF, [D], 2)
    assert ball.node_ids == [C, D, E, "P2", "P9"]  # P9 is known only from roles: last
    snapshot = ball.snapshot
    assert snapshot.known.tolist() == [True] * 4 + [False]
    assert snapshot.display_name(snapshot.index_of(C)) == "丙公司"
    assert snapshot.display_name(snapshot.index_of("P2")) == "李*"
    assert snapshot.nodes.set_index("node_id").loc[E, "kind"] == "branch"


def test_unknown_sources_and_bad_radii(store: Engine) -> None:
    ball = read_ball(store, AS_OF, ["91110000600037341L", A], 1)
    assert ball.sources == (A,) and set(ball.node_ids) == {A, "P1"}
    assert read_ball(store, AS_OF, ["91110000600037341L"], 2).snapshot.n_nodes == 0
    with pytest.raises(ValueError, match="radius must be a non-negative integer; got -1"):
        read_ball(store, AS_OF, [A], -1)
    with pytest.raises(ValueError, match=r"radius must be an integer ≥ K = 3; got 2"):
        score_ball(store, AS_OF, [A], RiskConfig(), radius=2)


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_linked_risk_and_explanations_on_the_ball_equal_the_full_graph(
    store: Engine, full: GraphSnapshot, hops: int
) -> None:
    config = RiskConfig(propagation=PropagationConfig(hops=hops))
    propagator = RiskPropagator(config.propagation).fit(full)
    records = read_signal_records(store, AS_OF)
    scores = propagator.score(records)
    reached = 0
    for centre in NODES:
        scored, ball = score_ball(store, AS_OF, [centre], config)
        assert ball.radius == hops
        here, there = scored.snapshot.index_of(centre), full.index_of(centre)
        assert scored.scores.own_signal[here] == scores.own_signal[there]
        assert scored.scores.linked_risk[here] == pytest.approx(
            scores.linked_risk[there], rel=1e-12, abs=1e-15
        )
        excluding = scored.propagator.linked_risk_excluding_self(scored.scores, [centre])
        assert excluding.iloc[0] == pytest.approx(
            propagator.linked_risk_excluding_self(scores, [centre]).iloc[0], rel=1e-12, abs=1e-15
        )
        local = explain(scored.snapshot, scored.scores, scored.records, centre, top=10)
        whole = explain(full, scores, records, centre, top=10)
        assert local.to_dict() == whole.to_dict()  # the same walks: the same sums
        reached += local.n_sources > 0
    assert reached >= 5  # the signals reach most nodes: the comparison is not vacuous


def test_owners_are_read_up_every_chain(store: Engine) -> None:
    roles, enterprises, persons = read_owners(store, AS_OF, E)
    chain = {
        (h, t, r) for h, t, r in zip(roles["holder_id"], roles["uscc"], roles["role"], strict=True)
    }
    assert chain == {(D, E, "branch_of"), (C, D, "shareholder")}  # P2 is C's executive only
    assert set(enterprises["uscc"]) == {C, D, E} and persons.empty
    roles, _, persons = read_owners(store, AS_OF, B)
    assert set(roles["holder_id"]) == {"P2"} and list(persons["name"]) == ["李四"]


def test_signal_records_of_many_subjects_are_read_in_chunks(store: Engine) -> None:
    many = [f"X{i:05d}" for i in range(2 * CHUNK + 7)] + ["P1", D]
    records = read_signal_records(store, AS_OF, many)
    assert sorted(records["subject_id"]) == sorted(["P1", D])  # not D's red list: positive


@pytest.fixture
def statements(store: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements sent while the fixture is in use."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(store, "before_cursor_execute", record)
    yield sent
    event.remove(store, "before_cursor_execute", record)


def test_every_query_of_a_ball_is_answered_through_an_index(
    store: Engine, statements: list[tuple[str, Any]]
) -> None:
    score_ball(store, AS_OF, [D], RiskConfig())
    read_owners(store, AS_OF, E)
    queries = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) >= 10
    sqlite = store.dialect.name == "sqlite"
    with store.connect() as conn:
        if not sqlite:  # a table this small is scanned unless told not to: is there an index?
            conn.execute(text("SET enable_seqscan = off"))
        for statement, parameters in queries:
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql(prefix + statement, parameters)
            )
            if sqlite:
                assert "USING INDEX" in plan and "SCAN" not in plan, (statement, plan)
            else:
                assert "Seq Scan" not in plan, (statement, plan)
