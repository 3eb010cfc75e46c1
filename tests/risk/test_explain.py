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
from risk.explain import MAX_PATHS_PER_SOURCE, Direction, explain
from risk.graph import GraphSnapshot
from risk.identifiers import make_uscc
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
    person = explain(snapshot, scores, records, "P1")
    (source,) = person.sources
    assert person.name == "张*"
    # Walks B→P1 (0.4), B→P1→A→P1 (0.064), B→P1→B→P1 (0.064), B→P2→B→P1 (0.018): all
    # count in the contribution, but only B→P1 is a path (the others pass P1 or B twice).
    assert source.contribution == pytest.approx(0.4 * (0.4 + 0.064 + 0.064 + 0.018))
    assert source.n_walks == 1
    (walk,) = source.walks
    assert walk.weight == pytest.approx(0.4) and walk.similar_paths == 0
    assert walk.sentence == "本人担任 乙公司 法定代表人，乙公司 失信被执行人（2024-06-30 起）"
    # The explanations before issue 15 showed the walks that come back, as they came.
    old = explain(snapshot, scores, records, "P1", simple_paths=False).sources[0]
    assert old.n_walks == 4
    assert [w.weight for w in old.walks] == pytest.approx([0.4, 0.064, 0.064])
    assert any(len({h.from_id for h in w.hops}) < len(w.hops) for w in old.walks)


def test_explain_reports_returning_walks_as_from_self(fitted) -> None:
    propagator, scores, records = fitted
    explanation = explain(propagator.snapshot_, scores, records, B)
    # Katz semantics: B → P1 → B (0.16) and B → P2 → B (0.045) return 0.205 · 0.4 = 0.082.
    assert explanation.linked_risk == pytest.approx(0.082)
    assert explanation.from_self == pytest.approx(0.082)
    (source,) = explanation.sources
    # Every walk of B's own record comes back to B: none is a path a person can follow.
    assert source.from_self and source.n_walks == 0 and source.walks == ()
    assert source.sentence == "本企业自身的记录，经关联方回传计入关联风险"
    as_json = explanation.to_dict()
    assert as_json["sources"][0]["decided"] == "2024-06-30"
    assert as_json["sources"][0]["walks"] == []
    old = explain(propagator.snapshot_, scores, records, B, simple_paths=False).sources[0]
    assert old.n_walks == 2
    assert old.sentence == (
        "法定代表人 张* 同时担任 本企业 法定代表人，本企业 失信被执行人（2024-06-30 起）"
    )
    assert old.walks[0].hops[0].direction == Direction.up


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
        explanation = explain(snap, scores, records, node_id, top=100)
        total = sum(s.contribution for s in explanation.sources)
        assert total == pytest.approx(explanation.linked_risk, rel=1e-10)
        assert set(s.record_id for s in explanation.sources) <= set(records["record_id"])
        reference = reference_walk_weights(snap.n_nodes, edges, config, int(node))
        by_id = dict(zip(records["record_id"], signal, strict=True))
        for source in explanation.sources:
            j = snap.index_of(source.subject_id)
            assert source.contribution == pytest.approx(by_id[source.record_id] * reference[j])
            # At most three paths, each simple, heaviest first; the walks not shown (revisits,
            # lighter paths, near-duplicates) make up the rest of the contribution.
            assert not source.walks_truncated
            assert len(source.walks) <= MAX_PATHS_PER_SOURCE
            assert len(source.walks) <= source.n_walks
            for walk in source.walks:
                nodes = [walk.hops[0].from_id, *(h.to_id for h in walk.hops)]
                assert len(set(nodes)) == len(nodes)
                assert nodes[0] == source.subject_id and nodes[-1] == node_id
            weights = [w.weight for w in source.walks]
            assert weights == sorted(weights, reverse=True)
            shown = sum(w.contribution for w in source.walks)
            assert shown <= source.contribution * (1 + 1e-9)
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
    with pytest.raises(ValueError, match=r"walks_per_source must be at most 3 .*; got 4"):
        explain(snapshot, scores, records, A, walks_per_source=4)
    with pytest.raises(TypeError, match="simple_paths must be a bool; got str"):
        explain(snapshot, scores, records, A, simple_paths="yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- merged paths

S, T, M = (make_uscc("9", "1", "340321", f"MA00000{i}X") for i in range(3))
FAN_PERSONS = {"R": "王五", "Q1": "赵一", "Q2": "钱二", "Q3": "孙三", "Q4": "李四", "Q5": "周五"}


def fan_county(*, executive: bool = False) -> tuple[GraphSnapshot, RiskScores, pd.DataFrame]:
    """The listed 源公司 S reaches 目标公司 T, two hops each (α = 0.5, so α² = 0.25), through:

    - R, legal rep of both: 0.25 · 0.8 · 0.8 = 0.16;
    - M (an enterprise), 50 % of S and of T: 0.25 · (0.5 · 0.5) · (1 · 0.5) = 0.03125;
    - Q1 … Q5, each 10 % of S and of T: 0.25 · (0.5 · 0.1) · (1 · 0.1) = 0.00125 each, five
      near-duplicates (same relations, another person in the middle);
    - with ``executive``, X an executive of both: 0.25 · 0.3 · 0.4 = 0.03.
    No walk of at most three hops from S to T passes a node twice.
    """
    persons = dict(FAN_PERSONS, **({"X": "吴六"} if executive else {}))
    enterprises = pd.DataFrame(
        {
            "uscc": [S, T, M],
            "name": ["源公司", "目标公司", "控股公司"],
            "founded": pd.to_datetime(["2020-01-01"] * 3).astype("datetime64[s]"),
        }
    )
    rows = [(u, "person", "R", "legal_rep", None) for u in (S, T)]
    rows += [(u, "enterprise", M, "shareholder", 0.5) for u in (S, T)]
    rows += [(u, "person", q, "shareholder", 0.1) for q in FAN_PERSONS if q != "R" for u in (S, T)]
    if executive:
        rows += [(u, "person", "X", "executive", None) for u in (S, T)]
    roles = pd.DataFrame(rows, columns=["uscc", "holder_type", "holder_id", "role", "share"])
    roles["start"] = pd.Timestamp("2020-01-01")
    roles["end"] = pd.NaT
    person_frame = pd.DataFrame({"person_id": list(persons), "name": list(persons.values())})
    snapshot = GraphSnapshot.from_frames(enterprises, person_frame, roles, AS_OF)
    records = pd.DataFrame(
        {
            "record_id": ["(2025)执9号"],
            "subject_type": ["enterprise"],
            "subject_id": [S],
            "kind": ["dishonest_debtor"],
            "domain": ["court"],
            "severity": ["general"],
            "decided": pd.to_datetime(["2025-06-01"]).astype("datetime64[s]"),
            "publicity_end": pd.to_datetime(["2027-06-01"]).astype("datetime64[s]"),
            "repaired": pd.Series([pd.NaT], dtype="datetime64[s]"),
            "removed": pd.Series([pd.NaT], dtype="datetime64[s]"),
        }
    )
    propagator = RiskPropagator().fit(snapshot)
    return snapshot, propagator.score(records), records


def test_near_duplicate_paths_are_merged_into_one() -> None:
    snapshot, scores, records = fan_county()
    (source,) = explain(snapshot, scores, records, T).sources
    assert source.n_walks == 7  # R, M and the five Q
    via_r, via_m, via_q = source.walks
    assert [h.from_name for h in via_r.hops[1:]] == ["王*"]
    assert via_r.weight == pytest.approx(0.16) and via_r.similar_paths == 0
    # M holds the same stakes as the Q do, but it is an enterprise: not their near-duplicate.
    assert via_m.hops[0].to_name == "控股公司" and via_m.weight == pytest.approx(0.03125)
    assert via_m.similar_paths == 0 and via_m.similar_via == ()
    assert via_q.weight == pytest.approx(0.00125) and via_q.similar_paths == 4
    middle = via_q.hops[0].to_name
    assert sorted([middle, *via_q.similar_via]) == sorted(["赵*", "钱*", "孙*", "李*", "周*"])
    assert via_q.sentence.endswith(
        f"（另有 4 条相似路径，经 {'、'.join(via_q.similar_via[:3])}等）"
    )
    assert "赵一" not in str(source)
    # The contribution is still every walk's: the merged ones are counted, not dropped.
    signal = float(record_signal(records, AS_OF, scores.config)[0])
    assert source.contribution == pytest.approx(signal * (0.16 + 0.03125 + 5 * 0.00125))
    # Before issue 15 the five Q paths were five paths, the heaviest three of all shown.
    old = explain(snapshot, scores, records, T, simple_paths=False).sources[0]
    assert [w.similar_paths for w in old.walks] == [0, 0, 0]
    assert [w.weight for w in old.walks] == pytest.approx([0.16, 0.03125, 0.00125])


def test_at_most_three_paths_per_source() -> None:
    snapshot, scores, records = fan_county(executive=True)
    (source,) = explain(snapshot, scores, records, T).sources
    assert source.n_walks == 8
    # Four distinct paths (R, M, X, the merged Q): the three heaviest are shown.
    assert [w.weight for w in source.walks] == pytest.approx([0.16, 0.03125, 0.03])
    assert [w.hops[0].to_name for w in source.walks] == ["王*", "控股公司", "吴*"]
    (one,) = explain(snapshot, scores, records, T, walks_per_source=1).sources[0].walks
    assert one.weight == pytest.approx(0.16)
