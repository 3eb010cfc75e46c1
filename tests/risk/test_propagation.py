"""Tests for risk.propagation: own signal, linked risk and incremental updates.

The hand-made county of test_graph.py (see its docstring) has one record that counts on
2025-06-30: 失信被执行人 of 乙公司 B, decided 2024-06-30, exactly one half-life (365 days) old:

    s_B = weight(dishonest_debtor) 0.8 × mult(general) 1.0 × 0.5^(365/365) = 0.4

Every other record is repaired, expired, positive, decided later or removed on that day.

With the default transmission weights (down: legal_rep 0.8, shareholder 1.0 × share,
executive 0.4, branch_of 0.9; up: legal_rep 0.8, shareholder 0.5 × share, executive 0.3,
branch_of 0.9) the entries of P that matter are (P[i, j] = influence of j on i)::

    P[A, P1] = max(legal_rep 0.8, executive 0.4) = 0.8     P[P1, A] = max(0.8, 0.3) = 0.8
    P[B, P1] = 0.8    P[P1, B] = 0.8
    P[B, P2] = 1.0 × 0.6 = 0.6                              P[P2, B] = 0.5 × 0.6 = 0.3
    P[C, P2] = 0.4    P[P2, C] = 0.3
    P[D, C]  = 1.0 × 0.5 = 0.5                              P[C, D]  = 0.5 × 0.5 = 0.25

α = 0.5, K = 3, s = 0.4 at B:

    v1 = αPs:   P1 = 0.5·0.8·0.4 = 0.16          P2 = 0.5·0.3·0.4 = 0.06
    v2 = αPv1:  A  = 0.5·0.8·0.16 = 0.064        B  = 0.5·0.8·0.16 + 0.5·0.6·0.06 = 0.082
                C  = 0.5·0.4·0.06 = 0.012
    v3 = αPv2:  P1 = 0.5·0.8·0.064 + 0.5·0.8·0.082 = 0.0584
                P2 = 0.5·0.3·0.082 + 0.5·0.3·0.012 = 0.0141
                D  = 0.5·0.5·0.012 = 0.003
    r = v1 + v2 + v3:
        P1 0.2184, P2 0.0741, A 0.064, B 0.082, C 0.012, D 0.003, E 0 (4 hops away), P9 0

B's 0.082 comes only from walks that leave B and return (B→P1→B, B→P2→B): Katz semantics.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

import risk.propagation.kernel
import risk.propagation.transmission
from risk.contract import NEGATIVE_KINDS, POSITIVE_KINDS, RecordKind, Role, Severity
from risk.exceptions import InconsistentScoresError, NotFittedError, UnknownEntityError
from risk.explain import explain
from risk.graph import ROLE_CODES, GraphSnapshot
from risk.propagation import (
    DEFAULT_DOWN_WEIGHTS,
    DEFAULT_KIND_WEIGHTS,
    DEFAULT_UP_WEIGHTS,
    PropagationConfig,
    RiskPropagator,
    RiskScores,
    record_signal,
    transmission_matrix,
)
from risk.publicity import is_active
from tests.risk.test_graph import AS_OF, A, B, C, D, E, hand_frames

EXPECTED_LINKED = {
    "P1": 0.2184,
    "P2": 0.0741,
    A: 0.064,
    B: 0.082,
    C: 0.012,
    D: 0.003,
    E: 0.0,
    "P9": 0.0,
}


def hand_county() -> tuple[GraphSnapshot, pd.DataFrame]:
    """The hand-made county of test_graph.py: its snapshot on AS_OF and its records."""
    enterprises, persons, roles, records = hand_frames()
    return GraphSnapshot.from_frames(enterprises, persons, roles, AS_OF), records


@pytest.fixture
def county() -> tuple[GraphSnapshot, pd.DataFrame]:
    return hand_county()


@pytest.fixture
def fitted(county) -> tuple[RiskPropagator, RiskScores, pd.DataFrame]:
    snapshot, records = county
    propagator = RiskPropagator().fit(snapshot)
    return propagator, propagator.score(records), records


# --------------------------------------------------------------------------- config


def test_default_config() -> None:
    config = PropagationConfig()
    assert config.alpha == 0.5 and config.hops == 3 and config.half_life_days == 365.0
    assert set(config.kind_weights) == set(NEGATIVE_KINDS)
    ranked = sorted(config.kind_weights, key=config.kind_weights.__getitem__, reverse=True)
    assert ranked[0] == RecordKind.serious_dishonesty_list
    assert (
        config.kind_weights[RecordKind.dishonest_debtor]
        > config.kind_weights[RecordKind.administrative_penalty]
    )
    assert config.severity_multipliers[Severity.serious] > config.severity_multipliers[
        Severity.general
    ] > config.severity_multipliers[Severity.minor]  # fmt: skip
    assert config.down_weights[Role.legal_rep] > config.down_weights[Role.executive]
    assert config.to_dict()["kind_weights.dishonest_debtor"] == 0.8
    assert hash(config) == hash(PropagationConfig())


def test_partial_mappings_merge_over_defaults() -> None:
    config = PropagationConfig(kind_weights={"dishonest_debtor": 0.5}, up_weights={"executive": 0})
    assert config.kind_weights[RecordKind.dishonest_debtor] == 0.5
    assert (
        config.kind_weights[RecordKind.tax_violation]
        == DEFAULT_KIND_WEIGHTS[RecordKind.tax_violation]
    )
    assert config.up_weights[Role.executive] == 0.0
    assert config.up_weights[Role.legal_rep] == DEFAULT_UP_WEIGHTS[Role.legal_rep]
    assert config != PropagationConfig()
    with pytest.raises(TypeError):
        config.kind_weights[RecordKind.tax_violation] = 1.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"kind_weights": [1]}, TypeError, "kind_weights must be a mapping; got list"),
        ({"kind_weights": {"red_list": 1.0}}, ValueError,
         "kind_weights keys must be one of .*; got 'red_list'"),
        ({"kind_weights": {"nonsense": 1.0}}, ValueError, "kind_weights keys must be one of"),
        ({"kind_weights": {"dishonest_debtor": -1}}, ValueError,
         r"kind_weights\[dishonest_debtor\] must be in \[0, inf\); got -1"),
        ({"kind_weights": {"dishonest_debtor": "high"}}, TypeError,
         r"kind_weights\[dishonest_debtor\] must be a real number; got str"),
        ({"severity_multipliers": {"serious": math.inf}}, ValueError,
         r"severity_multipliers\[serious\] must be finite; got inf"),
        ({"down_weights": {"legal_rep": 1.5}}, ValueError,
         r"down_weights\[legal_rep\] must be in \[0, 1\]; got 1.5"),
        ({"up_weights": {"boss": 0.5}}, ValueError, "up_weights keys must be one of"),
        ({"half_life_days": 0}, ValueError, r"half_life_days must be in \(0, inf\); got 0"),
        ({"half_life_days": True}, TypeError, "half_life_days must be a real number; got bool"),
        ({"alpha": 0.0}, ValueError, r"alpha must be in \(0, 1\]; got 0.0"),
        ({"alpha": 1.5}, ValueError, r"alpha must be in \(0, 1\]; got 1.5"),
        ({"hops": 0}, ValueError, r"hops must be an int in \[1, 10\]; got 0"),
        ({"hops": 11}, ValueError, r"hops must be an int in \[1, 10\]; got 11"),
        ({"hops": 2.0}, TypeError, "hops must be an int; got float"),
        ({"missing_share": 2}, ValueError, r"missing_share must be in \[0, 1\]; got 2"),
    ],
)  # fmt: skip
def test_config_validation(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        PropagationConfig(**kwargs)


# --------------------------------------------------------------------------- own signal


def test_record_signal_by_hand(county) -> None:
    _, records = county
    signal = record_signal(records, AS_OF, PropagationConfig())
    # Only B's dishonest-debtor record counts: 0.8 · 1.0 · 0.5^(365/365) = 0.4. The others are
    # repaired, expired, positive, decided after as_of and removed on as_of.
    np.testing.assert_allclose(signal, [0.4, 0, 0, 0, 0, 0], rtol=0, atol=1e-15)


def test_half_life_decay_and_severity() -> None:
    records = pd.DataFrame(
        {
            "kind": ["serious_dishonesty_list"] * 3,
            "severity": ["serious", "minor", "general"],
            "decided": pd.to_datetime(["2025-06-30", "2023-07-01", "2024-06-30"]),
            "publicity_end": pd.to_datetime(["2028-06-30"] * 3),
        }
    )
    got = record_signal(records, AS_OF, PropagationConfig())
    # 1.0·2.0·1 ; 1.0·0.5·0.5^(730/365) = 0.125 ; 1.0·1.0·0.5
    np.testing.assert_allclose(got, [2.0, 0.125, 0.5], rtol=1e-12)
    quick = record_signal(records, AS_OF, PropagationConfig(half_life_days=182.5))
    np.testing.assert_allclose(quick, [2.0, 0.5 * 0.5**4, 0.25], rtol=1e-12)


def test_repaired_or_expired_records_contribute_nothing(fitted) -> None:
    propagator, scores, records = fitted
    live = records.iloc[[0]]
    baseline = propagator.score(live)
    np.testing.assert_array_equal(scores.own_signal, baseline.own_signal)
    np.testing.assert_array_equal(scores.linked_risk, baseline.linked_risk)
    # Un-repair A's penalty: now it counts (serious 0.3·2.0, decided 537 days before as_of,
    # 2024 being a leap year).
    unrepaired = records.assign(repaired=pd.NaT)
    changed = propagator.score(unrepaired)
    a = propagator.snapshot_.index_of(A)
    assert changed.own_signal[a] == pytest.approx(0.6 * 0.5 ** (537 / 365), rel=1e-12)
    # Expire B's record: the whole county goes quiet.
    expired = records.assign(publicity_end=pd.Timestamp("2025-06-30"))
    quiet = propagator.score(expired)
    assert not quiet.own_signal.any() and not quiet.linked_risk.any()


@pytest.mark.parametrize("kind", sorted(POSITIVE_KINDS))
def test_positive_kinds_contribute_nothing(kind: RecordKind) -> None:
    records = pd.DataFrame(
        {"kind": [kind.value], "severity": ["serious"], "decided": [pd.Timestamp("2025-01-01")]}
    )
    assert record_signal(records, AS_OF, PropagationConfig()).tolist() == [0.0]


def test_record_signal_validation() -> None:
    base = {"kind": ["dishonest_debtor"], "severity": ["general"], "decided": [pd.Timestamp(AS_OF)]}
    with pytest.raises(ValueError, match=r"records.kind must be one of .*; got 'bribery'"):
        record_signal(pd.DataFrame({**base, "kind": ["bribery"]}), AS_OF, PropagationConfig())
    with pytest.raises(ValueError, match=r"records.severity must be one of .*; got 'huge'"):
        record_signal(pd.DataFrame({**base, "severity": ["huge"]}), AS_OF, PropagationConfig())
    with pytest.raises(ValueError, match="requires column"):
        record_signal(pd.DataFrame({"kind": ["x"]}), AS_OF, PropagationConfig())
    assert record_signal(pd.DataFrame(base).iloc[:0], AS_OF, PropagationConfig()).size == 0


# --------------------------------------------------------------------------- hand-made graph


def test_transmission_matrix_by_hand(county) -> None:
    snapshot, _ = county
    P = transmission_matrix(snapshot, PropagationConfig()).toarray()
    ix = snapshot.index_of
    assert P[ix(A), ix("P1")] == 0.8  # max(legal_rep 0.8, executive 0.4), not the sum
    assert P[ix("P1"), ix(A)] == 0.8
    assert P[ix(B), ix("P2")] == pytest.approx(0.6)
    assert P[ix("P2"), ix(B)] == pytest.approx(0.3)
    assert P[ix(C), ix("P2")] == 0.4 and P[ix("P2"), ix(C)] == 0.3
    assert P[ix(D), ix(C)] == 0.5 and P[ix(C), ix(D)] == 0.25
    assert P[ix(E), ix(D)] == 0.9 and P[ix(D), ix(E)] == 0.9  # branch ↔ parent
    assert P[ix(D), ix("P9")] == 0.4 and P[ix("P9"), ix(D)] == 0.3
    assert np.count_nonzero(P) == 2 * 8  # 9 edges over 8 distinct pairs, both directions
    assert P.dtype == np.float64


def test_hand_scores_exact(fitted) -> None:
    _, scores, _ = fitted
    frame = scores.to_frame()
    assert frame.loc[B, "own_signal"] == pytest.approx(0.4, rel=1e-12)
    assert frame["own_signal"].drop(B).eq(0).all()
    got = frame["linked_risk"].to_dict()
    for node, value in EXPECTED_LINKED.items():
        assert got[node] == pytest.approx(value, rel=1e-12, abs=1e-15), node
    assert frame.loc["P9", "node_type"] == "person"
    assert scores.lookup(C) == (0.0, pytest.approx(0.012))


def test_more_hops_reach_the_branch(county) -> None:
    snapshot, records = county
    scores = RiskPropagator(PropagationConfig(hops=4)).fit(snapshot).score(records)
    # v4 at E = 0.5 · P[E, D] 0.9 · v3(D) 0.003
    assert scores.lookup(E)[1] == pytest.approx(0.5 * 0.9 * 0.003, rel=1e-12)


def test_missing_share_uses_the_configured_share() -> None:
    snap = GraphSnapshot.from_arrays(
        ["e", "p"], [False, True], [1], [0], ["shareholder"], [np.nan], as_of=AS_OF
    )
    P = transmission_matrix(snap, PropagationConfig(missing_share=0.2)).toarray()
    assert P[0, 1] == pytest.approx(1.0 * 0.2) and P[1, 0] == pytest.approx(0.5 * 0.2)


def test_top_and_frame(fitted) -> None:
    _, scores, _ = fitted
    top = scores.top(3)
    assert list(top.index) == [B, A, C]  # enterprises only, by linked risk
    assert scores.top(1, node_type=None).index.tolist() == ["P1"]
    assert scores.top(5, by="own_signal").index.tolist() == [B]
    with pytest.raises(ValueError, match="n must be a positive integer; got 0"):
        scores.top(0)
    with pytest.raises(ValueError, match="by must be linked_risk or own_signal; got 'x'"):
        scores.top(1, by="x")
    with pytest.raises(ValueError, match="node_type must be enterprise, person or None"):
        scores.top(1, node_type="bank")
    with pytest.raises(UnknownEntityError):
        scores.lookup("nobody")
    assert not scores.linked_risk.flags.writeable


# --------------------------------------------------------------------------- estimator API


def test_unfitted_and_bad_inputs(county) -> None:
    snapshot, records = county
    propagator = RiskPropagator()
    with pytest.raises(NotFittedError, match="not fitted"):
        propagator.score(records)
    with pytest.raises(AttributeError):  # NotFittedError is also an AttributeError
        propagator.propagate(np.zeros(8))
    with pytest.raises(TypeError, match="snapshot must be a GraphSnapshot; got DataFrame"):
        propagator.fit(records)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a PropagationConfig; got dict"):
        RiskPropagator({"alpha": 0.5}).fit(snapshot)  # type: ignore[arg-type]
    fitted = propagator.fit(snapshot)
    assert fitted is propagator and propagator.config is None
    with pytest.raises(ValueError, match=r"own_signal must have one value per node \(8\)"):
        propagator.propagate(np.zeros(3))
    with pytest.raises(ValueError, match="own_signal must be finite and ≥ 0"):
        propagator.propagate(-np.ones(8))


# --------------------------------------------------------------------------- reference


def reference_linked_risk(
    n: int,
    edges: list[tuple[int, int, str, float]],
    signal: list[float],
    config: PropagationConfig,
) -> list[float]:
    """Slow, obviously correct: dict-of-lists P, then r = Σ_k α^k P^k s term by term."""
    weight: dict[tuple[int, int], float] = {}
    for holder, target, role, share in edges:
        if holder == target:
            continue
        factor = 1.0
        if role == "shareholder":
            factor = config.missing_share if math.isnan(share) else share
        down = config.down_weights[Role(role)] * factor  # influence of holder on target
        up = config.up_weights[Role(role)] * factor  # influence of target on holder
        weight[(target, holder)] = max(weight.get((target, holder), 0.0), down)
        weight[(holder, target)] = max(weight.get((holder, target), 0.0), up)
    influences: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (i, j), w in weight.items():
        influences[i].append((j, w))
    linked = [0.0] * n
    term = list(signal)
    for _ in range(config.hops):
        term = [config.alpha * sum(w * term[j] for j, w in influences[i]) for i in range(n)]
        linked = [r + t for r, t in zip(linked, term, strict=True)]
    return linked


def reference_walk_weights(
    n: int, edges: list[tuple[int, int, str, float]], config: PropagationConfig, target: int
) -> dict[int, float]:
    """Σ over every walk j → target of 1..K hops of α^len Π P, by explicit enumeration."""
    weight: dict[tuple[int, int], float] = {}
    for holder, tgt, role, share in edges:
        if holder == tgt:  # self-loops are dropped from the snapshot
            continue
        factor = 1.0
        if role == "shareholder":
            factor = config.missing_share if math.isnan(share) else share
        down = config.down_weights[Role(role)] * factor
        up = config.up_weights[Role(role)] * factor
        weight[(tgt, holder)] = max(weight.get((tgt, holder), 0.0), down)
        weight[(holder, tgt)] = max(weight.get((holder, tgt), 0.0), up)
    goes_to: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (i, j), w in weight.items():
        goes_to[j].append((i, w))
    totals: dict[int, float] = defaultdict(float)

    def walk(start: int, node: int, length: int, product: float) -> None:
        if length and node == target:
            totals[start] += product
        if length == config.hops:
            return
        for nxt, w in goes_to[node]:
            walk(start, nxt, length + 1, product * config.alpha * w)

    for j in range(n):
        walk(j, j, 0, 1.0)
    return dict(totals)


def random_county(seed: int, n_ent: int = 25, n_per: int = 15, n_edges: int = 60):
    rng = np.random.default_rng(seed)
    n = n_ent + n_per
    holders = rng.integers(0, n, n_edges)
    targets = rng.integers(0, n_ent, n_edges)  # enterprises hold the roles' uscc side
    roles = rng.choice([r.value for r in ROLE_CODES], n_edges)
    shares = np.where(rng.random(n_edges) < 0.2, np.nan, rng.random(n_edges).round(2))
    # Duplicate some edges with another role, as a legal rep who is also a shareholder.
    dup = rng.choice(n_edges, 10)
    holders = np.concatenate([holders, holders[dup]])
    targets = np.concatenate([targets, targets[dup]])
    roles = np.concatenate([roles, rng.choice([r.value for r in ROLE_CODES], 10)])
    shares = np.concatenate([shares, rng.random(10).round(2)])
    node_ids = [f"E{i:03d}" for i in range(n_ent)] + [f"P{i:03d}" for i in range(n_per)]
    snap = GraphSnapshot.from_arrays(
        node_ids, [i >= n_ent for i in range(n)], holders, targets, roles, shares, as_of=AS_OF
    )
    signal = np.where(rng.random(n) < 0.25, rng.gamma(2.0, 0.3, n), 0.0)
    edges = [
        (int(h), int(t), str(r), float(s))
        for h, t, r, s in zip(holders, targets, roles, shares, strict=True)
    ]
    return snap, signal, edges


CONFIGS = [
    PropagationConfig(),
    PropagationConfig(alpha=0.9, hops=5, missing_share=0.3),
    PropagationConfig(alpha=0.3, hops=1, up_weights={"legal_rep": 0.0}),
]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("config", CONFIGS, ids=["default", "deep", "one-hop"])
@pytest.mark.parametrize("push", [None, 0.0, 1e9], ids=["auto", "pull", "push"])
def test_fast_matches_reference_on_random_graphs(
    seed: int, config: PropagationConfig, push: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sparse products either pull every row or push from the vector's support: both exact.
    if push is not None:
        monkeypatch.setattr(risk.propagation.kernel, "PUSH_WORK_FRACTION", push)
    snap, signal, edges = random_county(seed)
    if seed % 2:  # a sparse signal, as in a real county: a few nodes only
        signal = np.where(np.arange(snap.n_nodes) % 13 == 0, signal + 0.1, 0.0)
    fast = RiskPropagator(config).fit(snap).propagate(signal)
    slow = reference_linked_risk(snap.n_nodes, edges, signal.tolist(), config)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15)


def test_fast_matches_reference_from_records(county) -> None:
    snapshot, records = county
    config = PropagationConfig()
    own = [0.0] * snapshot.n_nodes
    for row in records.to_dict("records"):
        if RecordKind(row["kind"]) in POSITIVE_KINDS or not is_active(row, AS_OF):
            continue
        age = (pd.Timestamp(AS_OF) - row["decided"]).days
        own[snapshot.index_of(row["subject_id"])] += (
            config.kind_weights[RecordKind(row["kind"])]
            * config.severity_multipliers[Severity(row["severity"])]
            * 0.5 ** (age / config.half_life_days)
        )
    edges = [
        (int(h), int(t), r, float(s))
        for h, t, r, s in snapshot.edges[["holder", "target", "role", "share"]].itertuples(
            index=False
        )
    ]
    scores = RiskPropagator(config).fit(snapshot).score(records)
    np.testing.assert_allclose(scores.own_signal, own, rtol=1e-12)
    np.testing.assert_allclose(
        scores.linked_risk, reference_linked_risk(snapshot.n_nodes, edges, own, config), rtol=1e-12
    )


# --------------------------------------------------------------------------- incremental


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("config", CONFIGS, ids=["default", "deep", "one-hop"])
def test_update_equals_full_recompute(seed: int, config: PropagationConfig) -> None:
    snap, signal, _ = random_county(seed)
    propagator = RiskPropagator(config).fit(snap)
    scores = propagator.score_signal(signal)
    rng = np.random.default_rng(100 + seed)
    changed_nodes = rng.choice(snap.n_nodes, 3, replace=False)
    new_values = [0.0, float(rng.gamma(2.0, 0.5)), float(signal[changed_nodes[2]])]
    changed = {str(snap.node_ids[i]): v for i, v in zip(changed_nodes, new_values, strict=True)}
    updated = propagator.update(scores, changed)
    expected_signal = signal.copy()
    expected_signal[changed_nodes] = new_values
    full = propagator.score_signal(expected_signal)
    np.testing.assert_allclose(updated.own_signal, full.own_signal, rtol=0, atol=0)
    np.testing.assert_allclose(updated.linked_risk, full.linked_risk, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(scores.own_signal, signal)  # the input is left alone


def test_update_from_new_records(fitted) -> None:
    propagator, scores, records = fitted
    new = pd.DataFrame(
        {
            "record_id": ["(2025)皖0321执9号"],
            "subject_type": ["person"],
            "subject_id": ["P9"],
            "kind": ["dishonest_debtor"],
            "domain": ["court"],
            "severity": ["serious"],
            "decided": [pd.Timestamp("2025-06-30")],
            "publicity_end": [pd.Timestamp("2027-06-30")],
            "repaired": [pd.NaT],
            "removed": [pd.NaT],
        }
    )
    all_records = pd.concat([records, new], ignore_index=True)
    changed = propagator.signal_of(all_records, ["P9", A])
    assert changed == {"P9": pytest.approx(1.6), A: 0.0}
    updated = propagator.update(scores, changed)
    full = propagator.score(all_records)
    np.testing.assert_allclose(updated.linked_risk, full.linked_risk, rtol=1e-12, atol=1e-15)
    # D is one hop from P9: 0.003 + α · P[D, P9] 0.4 · 1.6 + …; the explanation cites it.
    explanation = explain(propagator.snapshot_, updated, all_records, D)
    assert explanation.sources[0].record_id == "(2025)皖0321执9号"
    assert explanation.sources[0].subject_name == "未登记自然人"


def test_update_validation(fitted) -> None:
    propagator, scores, _ = fitted
    with pytest.raises(UnknownEntityError):
        propagator.update(scores, {"nobody": 1.0})
    with pytest.raises(ValueError, match=r"changed_signal values must be ≥ 0; got -1\.0"):
        propagator.update(scores, {A: -1.0})
    with pytest.raises(ValueError, match="changed_signal value must be finite"):
        propagator.update(scores, {A: math.nan})
    with pytest.raises(TypeError, match="changed_signal must be a mapping; got list"):
        propagator.update(scores, [(A, 1.0)])  # type: ignore[arg-type]
    other_snapshot, records = hand_county()
    other = RiskPropagator().fit(other_snapshot).score(records)
    with pytest.raises(InconsistentScoresError, match="scores must come from this propagator"):
        propagator.update(other, {A: 1.0})
    deeper = RiskPropagator(PropagationConfig(hops=2)).fit(propagator.snapshot_)
    with pytest.raises(InconsistentScoresError):
        deeper.update(scores, {A: 1.0})
    assert propagator.update(scores, {}).linked_risk.tolist() == scores.linked_risk.tolist()


def test_default_weights_are_documented_constants() -> None:
    assert PropagationConfig().down_weights == DEFAULT_DOWN_WEIGHTS
    assert set(DEFAULT_KIND_WEIGHTS) == set(NEGATIVE_KINDS)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("chunk", [1 << 16, 7])
def test_summary_and_edge_by_edge_weights_agree(
    seed: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast per-pair summary gives the same P as weighting every edge and taking the max."""
    from risk.propagation.transmission import _all_pair_weights, pair_weights

    monkeypatch.setattr(risk.propagation.transmission, "_CHUNK", chunk)  # chunk boundaries hit too

    snap, _, _ = random_county(seed)
    assert snap.missing_share_pairs.size  # the random county has shareholders without share
    # Add pairs the summary cannot describe: two shareholder edges between the same pair
    # (bought more later) and cross-holdings (e0 holds e1 and e1 holds e0).
    edges = snap.edges
    snap = GraphSnapshot.from_arrays(
        snap.node_ids,
        snap.is_person,
        np.concatenate([edges["holder"], [0, 0, 1, 2]]),
        np.concatenate([edges["target"], [1, 1, 0, 3]]),
        np.concatenate([edges["role"], ["shareholder"] * 4]),
        np.concatenate([edges["share"], [0.2, 0.3, 0.4, np.nan]]),
        as_of=AS_OF,
    )
    assert snap.irregular_pairs.size >= 2
    for config in CONFIGS:
        every_pair = np.arange(snap.indices.size)
        np.testing.assert_array_equal(
            _all_pair_weights(snap, config), pair_weights(snap, config, every_pair)
        )


def test_linked_risk_excluding_self_by_hand(fitted) -> None:
    propagator, scores, _ = fitted
    others = propagator.linked_risk_excluding_self(scores, [B, "P1", A])
    # B's 0.082 all came back from its own record; P1 and A have no own signal.
    assert others[B] == pytest.approx(0.0, abs=1e-15)
    assert others["P1"] == pytest.approx(0.2184) and others[A] == pytest.approx(0.064)


@pytest.mark.parametrize("batch", [4096, 2])  # risk.propagation.kernel.ECHO_BATCH, and tiny blocks
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("config", CONFIGS, ids=["default", "deep", "one-hop"])
def test_linked_risk_excluding_self_matches_walk_enumeration(
    seed: int, config: PropagationConfig, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The closed walks of all the nodes are pushed through P together, in blocks of `batch`.
    monkeypatch.setattr(risk.propagation.kernel, "ECHO_BATCH", batch)
    snap, signal, edges = random_county(seed)
    propagator = RiskPropagator(config).fit(snap)
    scores = propagator.score_signal(signal)
    nodes = [str(i) for i in snap.node_ids[np.flatnonzero(signal)][:6]]
    got = propagator.linked_risk_excluding_self(scores, nodes)
    for node_id in nodes:
        i = snap.index_of(node_id)
        weights = reference_walk_weights(snap.n_nodes, edges, config, i)
        expected = sum(w * signal[j] for j, w in weights.items() if j != i)
        assert got[node_id] == pytest.approx(expected, rel=1e-10, abs=1e-15)


def test_top_linked_by_hand(fitted) -> None:
    propagator, scores, _ = fitted
    top = propagator.top_linked(scores, 3)
    # B's 0.082 is all its own record coming back: it drops out; A and C remain, then D.
    assert list(top.index) == [A, C, D]
    assert top.loc[A, "linked_risk_excluding_self"] == pytest.approx(0.064)
    assert list(propagator.top_linked(scores, 1, node_type=None).index) == ["P1"]
    with pytest.raises(ValueError, match="n must be a positive integer; got 0"):
        propagator.top_linked(scores, 0)
    with pytest.raises(ValueError, match="node_type must be enterprise, person or None"):
        propagator.top_linked(scores, 1, node_type="bank")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_top_linked_equals_brute_force(seed: int) -> None:
    snap, signal, _ = random_county(seed, n_ent=120, n_per=60, n_edges=300)
    propagator = RiskPropagator(PropagationConfig(alpha=0.8)).fit(snap)
    scores = propagator.score_signal(signal)
    every = propagator.linked_risk_excluding_self(scores, snap.node_ids[~snap.is_person])
    expected = every[every > 0].sort_index().sort_values(ascending=False, kind="stable")
    top = propagator.top_linked(scores, 5)
    assert list(top.index) == list(expected.index[:5])
    np.testing.assert_allclose(top["linked_risk_excluding_self"], expected.iloc[:5], rtol=1e-12)
