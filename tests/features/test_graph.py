"""The one graph-feature builder: hand-checked values, the echo, both models alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.data import PlatformData
from features.graph import GRAPH_FEATURES, GROUP_RULE, LEGACY_GROUP_RULE, graph_features
from features.precredit import FeatureConfig, build_features
from features.warning import WarningFeatureConfig, build_warning_features
from risk.config import RiskConfig
from risk.contract import NEGATIVE_KINDS, UNKNOWN_HOLDER
from risk.graph import GraphSnapshot
from risk.groups import related_groups
from risk.propagation import RiskPropagator
from risk.publicity import active_mask
from tests.features.builders import USCC, enterprise, platform, record, role
from tests.features.county import small_platform

T = "2025-07-01"  # a month start: the PD's cutoff is t itself
PROPAGATION = RiskConfig().propagation


def graph_platform() -> PlatformData:
    # P1 is legal rep of A and B and shareholder of C; P2 holds A, A holds D; P3 is C's legal
    # rep and a 失信被执行人; B is one too; E stands alone. F's record is repaired before T.
    return platform(
        [enterprise(x) for x in "ABCDEF"],
        persons=["P1", "P2", "P3", "P4"],
        roles=[
            role("A", "P1"),
            role("B", "P1"),
            role("C", "P1", "shareholder", share=0.5),
            role("A", "P2", "shareholder", share=1.0),
            role("D", "A", "shareholder", share=1.0),
            role("C", "P3"),
            role("F", "P4"),
            role("E", "P4", "executive"),
        ],
        records=[
            record("b-dd", "B", "dishonest_debtor", "2025-01-01"),
            record("p3-dd", "P3", "dishonest_debtor", "2025-02-01"),
            record("f-dd", "F", "dishonest_debtor", "2024-01-01", repaired="2024-06-01"),
        ],
    )


def features_of(
    data: PlatformData,
    *letters: str,
    names: tuple[str, ...] = GRAPH_FEATURES,
    **kwargs: bool | str,
) -> pd.DataFrame:
    uscc = [USCC[x] for x in letters]
    values = graph_features(
        data, uscc, np.full(len(uscc), np.datetime64(T)), names, PROPAGATION, **kwargs
    )
    return pd.DataFrame(values, index=list(letters))


def test_counts_and_groups_by_hand() -> None:
    X = features_of(graph_platform(), "A", "B", "C", "D", "E")
    a = X.loc["A"]
    assert (a["neighbours"], a["person_holders"], a["enterprise_holders"]) == (3, 2, 0)
    assert a["held_enterprises"] == 1 and a["rep_ties"] == 2
    assert a["linked_dishonest_1hop"] == 0 and a["linked_dishonest_2hop"] == 1  # A – P1 – B
    assert a["paths_2hop"] == 2  # A – P1 – B, A – P1 – C (A – P2 and A – D lead nowhere)
    assert (a["linked_enterprises"], a["linked_negative_enterprises"]) == (3, 1)
    assert (a["group_size"], a["group_negative"], a["group_dishonest"]) == (4, 1, 1)
    b = X.loc["B"]
    assert b["own_signal"] > 0 and b["linked_dishonest_2hop"] == 0  # its own record
    assert (b["group_negative"], b["group_dishonest"]) == (0, 0)
    c = X.loc["C"]
    assert c["linked_dishonest_1hop"] == 1 and c["linked_negative_persons"] == 1  # P3
    e = X.loc["E"]
    assert (e["neighbours"], e["linked_enterprises"], e["group_size"]) == (1, 1, 1)
    assert e["linked_negative_enterprises"] == 0  # F's record was repaired


def minority_platform() -> PlatformData:
    # P1 is A's legal rep and holds 10 % of B, whose record is active; B has no other holder.
    return platform(
        [enterprise(x) for x in "AB"],
        persons=["P1"],
        roles=[role("A", "P1"), role("B", "P1", "shareholder", share=0.1)],
        records=[record("b-dd", "B", "dishonest_debtor", "2025-01-01")],
    )


def test_each_group_rule_forms_its_own_groups_by_hand() -> None:
    # The control rule: P1's 10 % of B joins nothing, A and B stand alone. The rule before
    # issue 15 (shared persons): A and B are one group through P1, B's record is A's too.
    data = minority_platform()
    names = ("group_size", "group_negative", "group_dishonest")
    control = features_of(data, "A", "B", names=names)
    assert control.to_numpy().tolist() == [[1, 0, 0], [1, 0, 0]]
    assert features_of(data, "A", "B", names=names, group_rule=GROUP_RULE).equals(control)
    shared = features_of(data, "A", "B", names=names, group_rule=LEGACY_GROUP_RULE)
    assert shared.to_numpy().tolist() == [[2, 1, 1], [2, 0, 0]]
    with pytest.raises(ValueError, match="group_rule must be one of control, shared_persons"):
        features_of(data, "A", names=names, group_rule="persons")
    with pytest.raises(TypeError, match="group_rule must be a str; got bool"):
        features_of(data, "A", names=names, group_rule=False)


def test_both_models_build_their_groups_with_their_saved_rule() -> None:
    # A model saved without a rule was trained before issue 15: its features are the old
    # groups; a model saved today carries the control rule and gets the new ones.
    data = minority_platform()
    rows = pd.DataFrame({"uscc": [USCC["A"]], "as_of": T})
    old_pd = FeatureConfig.from_dict(
        {k: v for k, v in FeatureConfig().to_dict().items() if k != "group_rule"}
    )
    old_warning = WarningFeatureConfig.from_dict(
        {k: v for k, v in WarningFeatureConfig().to_dict().items() if k != "group_rule"}
    )
    assert old_pd.group_rule == old_warning.group_rule == LEGACY_GROUP_RULE
    new_pd = FeatureConfig.from_dict(FeatureConfig().to_dict())
    new_warning = WarningFeatureConfig.from_dict(WarningFeatureConfig().to_dict())
    assert new_pd.group_rule == new_warning.group_rule == GROUP_RULE
    for config, build in ((old_pd, build_features), (old_warning, build_warning_features)):
        X = build(data, rows, config, propagation=PROPAGATION)  # type: ignore[operator]
        assert (X.loc[0, "group_size"], X.loc[0, "group_dishonest"]) == (2, 1)
    for config, build in ((new_pd, build_features), (new_warning, build_warning_features)):
        X = build(data, rows, config, propagation=PROPAGATION)  # type: ignore[operator]
        assert (X.loc[0, "group_size"], X.loc[0, "group_dishonest"]) == (1, 0)
    old = build_warning_features(data, rows, old_warning, propagation=PROPAGATION)
    assert old.loc[0, "group_negative"] == 1


def test_linked_risk_leaves_out_the_echo_of_the_enterprise_itself() -> None:
    data = graph_platform()
    X = features_of(data, "A", "B", names=("linked_risk",))
    snapshot = GraphSnapshot.from_frames(data.enterprises, data.persons, data.roles, T)
    propagator = RiskPropagator(PROPAGATION).fit(snapshot)
    scores = propagator.score(data.records)
    with_echo = scores.to_frame()["linked_risk"]
    excluded = propagator.linked_risk_excluding_self(scores, [USCC["B"]])
    assert X.loc["A", "linked_risk"] == pytest.approx(with_echo[USCC["A"]])  # no own signal
    assert X.loc["B", "linked_risk"] == pytest.approx(excluded[USCC["B"]])
    assert X.loc["B", "linked_risk"] < with_echo[USCC["B"]]


def test_an_echo_alone_is_no_linked_risk() -> None:
    # B's only linked signal is its own, echoed back through P1: linked risk 0, not the
    # Katz sum's α²·P_B,P1·P_P1,B·s_B.
    data = platform(
        [enterprise("B")],
        persons=["P1"],
        roles=[role("B", "P1")],
        records=[record("b-dd", "B", "dishonest_debtor", "2025-01-01")],
    )
    X = features_of(data, "B", "B", names=("own_signal", "linked_risk"))  # a row twice
    assert (X["own_signal"] > 0).all() and (X["linked_risk"] == 0).all()


def test_the_feature_is_the_propagators_linked_risk_excluding_self() -> None:
    # Every enterprise of the county, with its echo left out by the risk routine in bulk.
    data = small_platform()
    uscc = data.enterprises["uscc"].astype(str).to_numpy()
    cutoff = "2026-06-01"
    linked = graph_features(
        data, uscc, np.full(uscc.size, np.datetime64(cutoff)), ("linked_risk",), PROPAGATION
    )["linked_risk"]
    snapshot = GraphSnapshot.from_frames(data.enterprises, data.persons, data.roles, cutoff)
    propagator = RiskPropagator(PROPAGATION).fit(snapshot)
    scores = propagator.score(data.records)
    excluded = propagator.linked_risk_excluding_self(scores, uscc).to_numpy()
    echoed = scores.to_frame()["linked_risk"].reindex(uscc).to_numpy()
    assert (excluded < echoed).sum() > 50  # many enterprises have an echo
    np.testing.assert_allclose(linked, excluded, rtol=1e-12, atol=1e-15)


def test_both_models_read_the_same_graph_features() -> None:
    data = graph_platform()
    rows = pd.DataFrame({"uscc": [USCC[x] for x in "ABCDE"], "as_of": T})
    precredit = build_features(data, rows, propagation=PROPAGATION)
    warning = build_warning_features(data, rows, propagation=PROPAGATION)
    shared = ["linked_risk", "group_size", "group_dishonest"]
    pd.testing.assert_frame_equal(precredit[shared], warning[shared])
    assert (precredit["linked_risk"] > 0).any()


def test_history_flag_counts_inactive_dishonest_linked_parties() -> None:
    data = graph_platform()
    off = features_of(data, "E", names=("group_dishonest", "linked_dishonest_2hop"))
    on = features_of(
        data, "E", names=("group_dishonest", "linked_dishonest_2hop"), dishonest_history=True
    )
    assert off.loc["E", "linked_dishonest_2hop"] == 0
    assert on.loc["E", "linked_dishonest_2hop"] == 1  # E – P4 – F, repaired


def test_unknown_enterprises_names_and_settings() -> None:
    data = graph_platform()
    values = graph_features(
        data, ["91341100MA0000099X"], [np.datetime64(T)], ("linked_risk",), PROPAGATION
    )
    assert np.isnan(values["linked_risk"]).all()
    with pytest.raises(ValueError, match=r"names must be graph features .*; got 'pagerank'"):
        graph_features(data, [USCC["A"]], [np.datetime64(T)], ("pagerank",), PROPAGATION)
    with pytest.raises(TypeError, match="propagation must be a PropagationConfig; got dict"):
        graph_features(data, [USCC["A"]], [np.datetime64(T)], ("linked_risk",), {})  # type: ignore[arg-type]


@pytest.mark.parametrize("group_rule", [GROUP_RULE, LEGACY_GROUP_RULE])
def test_groups_are_the_related_groups_of_risk(group_rule: str) -> None:
    # The features find the components on the snapshot's integer edges; risk.groups on the
    # roles' ids. On a county with executives, closed roles and (added here) shareholders
    # declared but unknown, both agree for every enterprise on several cutoffs.
    county = small_platform()
    roles = county.roles.copy()
    unknown = roles.index[roles["role"] == "shareholder"][:40]
    roles.loc[unknown, ["holder_type", "holder_id"]] = ["person", UNKNOWN_HOLDER]
    data = PlatformData.from_frames(
        {
            "enterprises": county.enterprises,
            "persons": county.persons,
            "roles": roles,
            "records": county.records,
        }
    )
    uscc = data.enterprises["uscc"].astype(str).to_numpy()
    negative = data.records["kind"].isin([k.value for k in NEGATIVE_KINDS])
    for cutoff in ("2024-01-01", "2025-07-01", "2026-06-30"):
        values = graph_features(
            data,
            uscc,
            np.full(uscc.size, np.datetime64(cutoff)),
            ("group_size", "group_negative"),
            PROPAGATION,
            group_rule=group_rule,
        )
        groups = related_groups(
            data.roles,
            cutoff,
            enterprises=data.enterprises[["uscc"]],
            control_only=group_rule == GROUP_RULE,
        )
        groups = groups.set_index("uscc").reindex(uscc)
        np.testing.assert_array_equal(values["group_size"], groups["group_size"])
        active = active_mask(
            data.records["decided"],
            data.records["publicity_end"],
            data.records["repaired"],
            data.records["removed"],
            pd.Timestamp(cutoff),
        )
        flagged = set(data.records.loc[negative.to_numpy() & active, "subject_id"])
        is_flagged = groups.index.isin(list(flagged))
        per_group = pd.Series(is_flagged, index=groups.index).groupby(groups["group_id"]).sum()
        expected = per_group.reindex(groups["group_id"]).to_numpy() - is_flagged
        np.testing.assert_array_equal(values["group_negative"], expected)
        assert (groups["group_size"] > 1).sum() > 100
