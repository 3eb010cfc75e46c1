"""Tests for risk.explain: the source records and hop paths behind a node's linked risk.

The hand-made county and its scores worked by hand are those of test_propagation.py (see its
docstring): 乙公司 B's 失信被执行人 (s_B = 0.4) is the one record that counts on 2025-06-30.
"""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from risk.contract import RecordKind, Role, Severity
from risk.exceptions import InconsistentScoresError, UnknownEntityError
from risk.explain import Direction, explain
from risk.propagation import PropagationConfig, RiskPropagator, RiskScores, record_signal
from tests.risk.test_graph import AS_OF, A, B, D, E
from tests.risk.test_propagation import hand_county, random_county, reference_walk_weights


@pytest.fixture
def fitted() -> tuple[RiskPropagator, RiskScores, pd.DataFrame]:
    snapshot, records = hand_county()
    propagator = RiskPropagator().fit(snapshot)
    return propagator, propagator.score(records), records


def test_explain_hand_enterprise(fitted) -> None:
    propagator, scores, records = fitted
    explanation = explain(propagator.snapshot_, scores, records, A)
    assert explanation.linked_risk == pytest.approx(0.064)
    assert explanation.own_signal == 0.0 and explanation.from_self == 0.0
    assert explanation.n_sources == 1
    (source,) = explanation.sources
    assert source.record_id == "(2024)皖0321执1号"
    assert source.kind == RecordKind.dishonest_debtor and source.kind_label == "失信被执行人"
    assert source.domain_label == "司法" and source.regulator == "法院"
    assert source.decided == date(2024, 6, 30)
    assert source.publicity_status == "公示中至2026-06-30"
    assert source.subject_name == "乙公司" and source.record_signal == pytest.approx(0.4)
    # The only walk: B → P1 → A, α² · P[P1, B] · P[A, P1] = 0.25 · 0.8 · 0.8 = 0.16.
    assert source.contribution == pytest.approx(0.4 * 0.16)
    assert source.share_of_linked_risk == pytest.approx(1.0)
    assert source.n_walks == 1 and not source.walks_truncated
    (walk,) = source.walks
    assert walk.weight == pytest.approx(0.16)
    first, second = walk.hops
    assert (first.from_id, first.to_id, first.role, first.direction) == (
        B, "P1", Role.legal_rep, Direction.up,
    )  # fmt: skip
    assert first.direction_label == "企业→法定代表人" and first.to_name == "张*"
    assert (second.from_id, second.to_id, second.direction) == ("P1", A, Direction.down)
    assert second.role_label == "法定代表人" and second.weight == 0.8  # max over the two roles
    assert walk.sentence == (
        "法定代表人 张* 同时担任 乙公司 法定代表人，乙公司 失信被执行人（2024-06-30 起）"
    )
    assert source.sentence == walk.sentence
    assert "张三" not in explanation.text()
    unmasked = explain(propagator.snapshot_, scores, records, A, unmasked=True)
    assert unmasked.sources[0].sentence.startswith("法定代表人 张三 同时担任 乙公司")


def test_explain_shareholder_path_and_person(fitted) -> None:
    propagator, scores, records = fitted
    snapshot = propagator.snapshot_
    d = explain(snapshot, scores, records, D).sources[0]
    # B → P2 → C → D: α³ · 0.3 · 0.4 · 0.5 = 0.0075; × 0.4 = 0.003.
    assert d.contribution == pytest.approx(0.003)
    assert [h.role_label for h in d.walks[0].hops] == ["股东 60%", "高管", "股东 50%"]
    assert d.sentence == (
        "股东 丙公司（持股 50%），其高管 李* 同时持有 乙公司 60% 股权，"
        "乙公司 失信被执行人（2024-06-30 起）"
    )
    person = explain(snapshot, scores, records, "P1", walks_per_source=10)
    (source,) = person.sources
    assert person.name == "张*"
    # Walks B→P1 (0.4), B→P1→A→P1 (0.064), B→P1→B→P1 (0.064), B→P2→B→P1 (0.018).
    assert source.n_walks == 4
    assert sorted(w.weight for w in source.walks) == pytest.approx([0.018, 0.064, 0.064, 0.4])
    assert (
        source.walks[0].sentence
        == "本人担任 乙公司 法定代表人，乙公司 失信被执行人（2024-06-30 起）"
    )
    assert source.contribution == pytest.approx(0.2184)


def test_explain_reports_returning_walks_as_from_self(fitted) -> None:
    propagator, scores, records = fitted
    explanation = explain(propagator.snapshot_, scores, records, B)
    # Katz semantics: B → P1 → B (0.16) and B → P2 → B (0.045) return 0.205 · 0.4 = 0.082.
    assert explanation.linked_risk == pytest.approx(0.082)
    assert explanation.from_self == pytest.approx(0.082)
    (source,) = explanation.sources
    assert source.from_self and source.n_walks == 2
    assert source.sentence == (
        "法定代表人 张* 同时担任 本企业 法定代表人，本企业 失信被执行人（2024-06-30 起）"
    )
    as_json = explanation.to_dict()
    assert as_json["sources"][0]["decided"] == "2024-06-30"
    assert as_json["sources"][0]["walks"][0]["hops"][0]["direction"] == "up"


def test_explain_without_linked_risk(fitted) -> None:
    propagator, scores, records = fitted
    explanation = explain(propagator.snapshot_, scores, records, E)
    assert explanation.linked_risk == 0 and explanation.sources == ()
    assert "关联风险 0.0000" in explanation.text()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_explain_contributions_sum_to_linked_risk_and_cite_records(seed: int) -> None:
    snap, _, edges = random_county(seed)
    rng = np.random.default_rng(seed)
    subjects = rng.choice(snap.node_ids.to_numpy(), 30)
    records = pd.DataFrame(
        {
            "record_id": [f"R{seed}-{i}" for i in range(30)],
            "subject_id": subjects,
            "kind": rng.choice([k.value for k in RecordKind], 30),
            "domain": "market_regulation",
            "severity": rng.choice([s.value for s in Severity], 30),
            "decided": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 900, 30), "D"),
            "publicity_end": pd.Timestamp("2027-01-01"),
        }
    )
    config = PropagationConfig(alpha=0.6, hops=3)
    propagator = RiskPropagator(config).fit(snap)
    scores = propagator.score(records)
    signal = record_signal(records, AS_OF, config)
    for node in np.flatnonzero(scores.linked_risk > 0)[:8]:
        node_id = str(snap.node_ids[node])
        explanation = explain(snap, scores, records, node_id, top=100, walks_per_source=10**6)
        total = sum(s.contribution for s in explanation.sources)
        assert total == pytest.approx(explanation.linked_risk, rel=1e-10)
        assert set(s.record_id for s in explanation.sources) <= set(records["record_id"])
        reference = reference_walk_weights(snap.n_nodes, edges, config, int(node))
        by_id = dict(zip(records["record_id"], signal, strict=True))
        for source in explanation.sources:
            j = snap.index_of(source.subject_id)
            assert source.contribution == pytest.approx(by_id[source.record_id] * reference[j])
            # The enumerated walks add up to the contribution.
            assert not source.walks_truncated
            assert sum(w.contribution for w in source.walks) == pytest.approx(source.contribution)
        expected_self = sum(s.contribution for s in explanation.sources if s.subject_id == node_id)
        assert explanation.from_self == pytest.approx(expected_self)


def test_explain_refuses_inconsistent_inputs(fitted) -> None:
    propagator, scores, records = fitted
    snapshot = propagator.snapshot_
    with pytest.raises(InconsistentScoresError, match="records must reproduce the scored"):
        explain(snapshot, scores, records.iloc[1:], A)
    other, _ = hand_county()  # the same data, but another snapshot
    with pytest.raises(InconsistentScoresError, match="scores must come from the given snapshot"):
        explain(other, scores, records, A)
    with pytest.raises(UnknownEntityError):
        explain(snapshot, scores, records, "nobody")
    with pytest.raises(ValueError, match="top must be a positive integer; got 0"):
        explain(snapshot, scores, records, A, top=0)
