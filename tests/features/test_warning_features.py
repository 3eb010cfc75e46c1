"""Warning features and labels: hand-checked values, label boundaries, leakage, config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.data import PlatformData
from features.history import DOMAIN_GROUPS, KIND_GROUPS
from features.warning import (
    INDUSTRY_CODES,
    KIND_CODES,
    WarningFeatureConfig,
    build_warning_features,
    check_label_kinds,
    warning_feature_specs,
    warning_labels,
    warning_population,
)
from risk.config import RiskConfig
from risk.contract import NEGATIVE_KINDS
from risk.propagation import record_signal
from risk.rules import PENALTY_KINDS
from tests.features.builders import USCC, enterprise, platform, record, role, roles_rewritten_after
from tests.features.county import small_county

T = "2025-06-30"
PROPAGATION = RiskConfig().propagation


def rows_of(data: PlatformData, *letters: str, t: str = T) -> pd.DataFrame:
    """Features of the given enterprises on ``t``, indexed by letter."""
    population = pd.DataFrame({"uscc": [USCC[x] for x in letters], "as_of": t})
    frame = build_warning_features(data, population, propagation=PROPAGATION)
    frame.index = list(letters)
    return frame


# --------------------------------------------------------------------------- own records


def own_platform() -> PlatformData:
    return platform(
        [enterprise("A", industry="F", kind="individual_business"), enterprise("B", industry=None)],
        records=[
            record("on-t", "A", "administrative_penalty", T),
            record("12m-before", "A", "administrative_penalty", "2024-06-30"),
            record("13m-before", "A", "wage_arrears", "2024-05-30", domain="human_resources"),
            record(
                "repaired", "A", "tax_violation", "2024-12-01", domain="taxation",
                severity="serious", repaired="2025-05-31",
            ),
            record("repaired-later", "A", "administrative_penalty", "2025-01-01",
                   repaired="2025-07-01"),
            record("after-t", "A", "administrative_penalty", "2025-07-01"),
            record("court", "A", "dishonest_debtor", "2025-03-30"),
            record("commitment", "A", "commitment", "2025-04-30"),
            record("old-commitment", "A", "commitment", "2020-01-01", removed="2021-01-01"),
        ],
    )  # fmt: skip


def test_own_windows_are_half_open_and_count_active_records_only() -> None:
    X = rows_of(own_platform(), "A", "B")
    a = X.loc["A"]
    # on-t and repaired-later (not yet repaired on t) in 12 months; 12m-before has just left
    # the 12-month window and is in 24 months, as is 13m-before (wage arrears: a penalty).
    assert (a["own_violation_12m"], a["own_violation_24m"], a["own_violation_all"]) == (2, 4, 4)
    assert (a["own_penalty_12m"], a["own_penalty_24m"]) == (2, 3)
    assert a["own_negative_court_finance_12m"] == 1 and a["own_dishonest_12m"] == 1
    assert a["own_negative_labour_24m"] == 1 and a["own_negative_labour_12m"] == 0
    assert a["own_negative_taxation_all"] == 0  # repaired before t: not active
    assert a["days_since_violation"] == 0 and a["days_since_negative"] == 0
    assert a["repairs_24m"] == 1 and a["days_since_repair"] == 30
    assert a["commitments_active"] == 1
    assert (a["kind"], a["industry"]) == (KIND_CODES["individual_business"], INDUSTRY_CODES["F"])
    assert a["age_years"] == pytest.approx(10.49, abs=0.01)
    b = X.loc["B"]
    assert b["own_violation_all"] == 0 and np.isnan(b["days_since_violation"])
    assert np.isnan(b["days_since_repair"]) and np.isnan(b["industry"])
    assert b["kind"] == KIND_CODES["company"]


def test_own_signal_is_the_sum_of_the_record_signals() -> None:
    data = own_platform()
    expected = record_signal(
        data.records[data.records["subject_id"] == USCC["A"]],
        T,
        PROPAGATION,
    ).sum()
    assert rows_of(data, "A").loc["A", "own_signal"] == pytest.approx(expected)
    assert expected > 0


def test_inactive_history_flag_widens_the_repairs_and_the_days_since() -> None:
    data = platform(
        [enterprise("A")],
        records=[
            record("old", "A", "administrative_penalty", "2021-01-01", repaired="2022-01-01"),
        ],
    )
    population = pd.DataFrame({"uscc": [USCC["A"]], "as_of": [T]})
    off = build_warning_features(data, population, propagation=PROPAGATION).iloc[0]
    on = build_warning_features(
        data,
        population,
        WarningFeatureConfig(include_inactive_history=True),
        propagation=PROPAGATION,
    ).iloc[0]
    assert off["repairs_24m"] == 0 and np.isnan(off["days_since_violation"])
    assert on["repairs_24m"] == 1 and on["own_negative_hist_all"] == 1
    assert on["days_since_violation"] == (pd.Timestamp(T) - pd.Timestamp("2021-01-01")).days


# --------------------------------------------------------------------------- graph


def graph_platform() -> PlatformData:
    return platform(
        [enterprise(x) for x in "ABCDE"],
        persons=["P1", "P2", "P3"],
        roles=[
            role("A", "P1"),
            role("B", "P1"),
            role("C", "P1", "shareholder", share=0.5),
            role("A", "P2", "shareholder", share=1.0),
            role("D", "A", "shareholder", share=1.0),
            role("C", "P3"),
            role("B", "P2", "executive", start="2025-07-01"),  # after t: not present
        ],
        records=[
            record("b-dd", "B", "dishonest_debtor", "2025-01-01"),
            record("p3-dd", "P3", "dishonest_debtor", "2025-02-01"),
        ],
    )


def test_graph_roles_degrees_and_linked_parties_by_hand() -> None:
    X = rows_of(graph_platform(), "A", "B", "C", "D", "E")
    a = X.loc["A"]
    assert (a["person_holders"], a["enterprise_holders"], a["held_enterprises"]) == (2, 0, 1)
    assert a["rep_ties"] == 2  # P1 also holds B (legal rep) and C (shareholder); P2 nothing
    assert a["linked_enterprises"] == 3  # B, C through P1; D held
    assert a["linked_negative_enterprises"] == 1 and a["linked_negative_persons"] == 0
    assert (a["group_size"], a["group_negative"], a["group_dishonest"]) == (4, 1, 1)
    b = X.loc["B"]
    assert b["person_holders"] == 1  # P2's executive role starts after t
    assert b["rep_ties"] == 2  # P1 also holds A and C
    assert b["linked_negative_enterprises"] == 0  # its own record is not a linked party's
    assert (b["group_negative"], b["group_dishonest"]) == (0, 0)
    assert X.loc["C", "linked_negative_persons"] == 1  # P3, a 失信被执行人 legal rep
    assert X.loc["D", "enterprise_holders"] == 1
    e = X.loc["E"]
    assert (e["linked_enterprises"], e["group_size"], e["linked_risk"]) == (0, 1, 0)


def test_repeat_offender_neighbourhood_by_hand() -> None:
    # A, B, C share the legal rep P1; A holds D. Window: the 24 months to T = 2025-06-30.
    data = platform(
        [enterprise(x) for x in "ABCDE"],
        persons=["P1"],
        roles=[
            role("A", "P1"),
            role("B", "P1"),
            role("C", "P1"),
            role("D", "A", "shareholder", share=1.0),
        ],
        records=[
            # B: two in the window, one repaired since (still happened) → repeat offender.
            record("b1", "B", "administrative_penalty", "2024-01-10"),
            record("b2", "B", "administrative_penalty", "2025-03-01", repaired="2025-05-01"),
            # C: one in the window, one before it → not a repeat offender.
            record("c1", "C", "administrative_penalty", "2023-05-01"),
            record("c2", "C", "administrative_penalty", "2025-01-05"),
            # D: two in the window and one after T (not seen) → repeat offender.
            record("d1", "D", "administrative_penalty", "2024-09-01"),
            record("d2", "D", "abnormal_operation", "2025-06-30"),
            record("d3", "D", "administrative_penalty", "2025-08-01"),
        ],
    )
    X = rows_of(data, "A", "B", "C", "D", "E")
    # A reaches B, C (through P1) and D (held): B and D repeat; 2 + 1 + 2 records over 3.
    assert X.loc["A", "rep_enterprises"] == 2
    assert X.loc["A", "rep_negative_rate"] == pytest.approx(5 / 3)
    # B reaches A and C (D is three hops away); its own records are not its neighbours'.
    assert X.loc["B", "rep_enterprises"] == 0
    assert X.loc["B", "rep_negative_rate"] == pytest.approx(1 / 2)
    # D reaches only A (D–A–P1 ends at a person): no repeat offender, no records.
    assert (X.loc["D", "rep_enterprises"], X.loc["D", "rep_negative_rate"]) == (0, 0)
    assert (X.loc["E", "rep_enterprises"], X.loc["E", "rep_negative_rate"]) == (0, 0)
    # Out of time: on 2024-06-30 only b1 and c1 are in the window → no repeat offender yet.
    earlier = rows_of(data, "A", t="2024-06-30")
    assert earlier.loc["A", "rep_enterprises"] == 0
    assert earlier.loc["A", "rep_negative_rate"] == pytest.approx(2 / 3)  # b1 and c1


def test_self_only_config_has_no_graph_columns() -> None:
    config = WarningFeatureConfig(graph=False)
    specs = warning_feature_specs(config)
    X = build_warning_features(
        graph_platform(),
        pd.DataFrame({"uscc": [USCC["A"]], "as_of": [T]}),
        config,
        propagation=PROPAGATION,
    )
    assert list(X.columns) == [s.name for s in specs]
    assert {s.source for s in specs} == {"self"} and "linked_risk" not in X
    assert warning_feature_specs().categorical == ["kind", "industry"]
    assert {s.source for s in warning_feature_specs()} == {"self", "graph"}
    full = [s.name for s in warning_feature_specs()]
    assert len(full) == len(set(full))
    assert {f"own_{g}_24m" for g in KIND_GROUPS} | {
        f"own_negative_{g}_12m" for g in DOMAIN_GROUPS
    } <= (set(full))
    assert all(X.dtypes == np.float64)


# --------------------------------------------------------------------------- population, labels


def test_population_is_the_enterprises_existing_on_each_cutoff() -> None:
    data = platform(
        [
            enterprise("A"),
            enterprise("B", founded="2025-07-01"),
            enterprise("C", status="deregistered", closed="2025-06-30"),
            enterprise("D", status="revoked", closed="2025-07-01"),
        ]
    )
    population = warning_population(data, [T, "2025-07-01"])
    on_t = population[population["as_of"] == pd.Timestamp(T)]
    assert set(on_t["uscc"]) == {USCC["A"], USCC["D"]}
    later = population[population["as_of"] == pd.Timestamp("2025-07-01")]
    assert set(later["uscc"]) == {USCC["A"], USCC["B"]}
    assert list(warning_population(data, T)["uscc"]) == [USCC["A"], USCC["D"]]


def test_label_window_is_after_t_up_to_twelve_months_inclusive() -> None:
    data = platform(
        [enterprise(x) for x in "ABCDE"],
        records=[
            record("at-t", "A", "administrative_penalty", T),
            record("at-12m", "B", "administrative_penalty", "2026-06-30"),
            record("a-day-after", "C", "administrative_penalty", "2026-07-01"),
            record("not-a-penalty", "D", "dishonest_debtor", "2025-12-01"),
            record("tax", "E", "tax_violation", "2025-07-01"),
        ],
    )
    population = pd.DataFrame({"uscc": [USCC[x] for x in "ABCDE"], "as_of": T})
    assert list(warning_labels(data, population)) == [0, 1, 0, 0, 1]
    every_negative = warning_labels(data, population, kinds=NEGATIVE_KINDS)
    assert list(every_negative) == [0, 1, 0, 1, 1]
    assert list(warning_labels(data, population, horizon_months=6)) == [0, 0, 0, 0, 1]


# --------------------------------------------------------------------------- leakage


T0 = pd.Timestamp("2025-01-15")


def after_t0_rewritten(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every fact dated after T0 rewritten or added; nothing known on T0 changed."""
    day = pd.Timedelta(days=1)
    ents = tables["enterprises"].copy()
    later_close = np.flatnonzero((ents["closed"] > T0).to_numpy())
    ents.loc[ents.index[later_close[::2]], "closed"] = T0 + day
    ents.loc[ents.index[later_close[::2]], "status"] = "revoked"
    ents.loc[ents.index[later_close[1::2]], "closed"] = pd.NaT  # the closing never happened
    ents.loc[ents.index[later_close[1::2]], "status"] = "active"
    still_open = np.flatnonzero(ents["closed"].isna().to_numpy())[::7]
    ents.loc[ents.index[still_open], "closed"] = T0 + 3 * day  # closes after all
    ents.loc[ents.index[still_open], "status"] = "deregistered"
    newcomer = ents.iloc[[0]].assign(
        uscc="91341100MA00ZZZZ9X", name="后来公司", founded=T0 + day, closed=pd.NaT
    )
    ents = pd.concat([ents, newcomer], ignore_index=True)

    recs = tables["records"].copy()
    later = recs["decided"] > T0
    recs.loc[later, "kind"] = "serious_dishonesty_list"
    recs.loc[later, "severity"] = "serious"
    recs.loc[later, "publicity_end"] = pd.NaT
    repaired_later = np.flatnonzero((recs["repaired"] > T0).to_numpy())
    recs.loc[recs.index[repaired_later[::2]], "repaired"] = pd.NaT
    recs.loc[recs.index[repaired_later[1::2]], "repaired"] = T0 + day
    recs.loc[recs["removed"] > T0, "removed"] = pd.NaT
    untouched = np.flatnonzero(
        (~later & recs["repaired"].isna() & recs["removed"].isna()).to_numpy()
    )
    recs.loc[recs.index[untouched[::3]], "repaired"] = T0 + 5 * day
    recs.loc[recs.index[untouched[1::3]], "removed"] = T0 + 6 * day
    recs.loc[recs["publicity_end"] > T0, "publicity_end"] = T0 + day
    bad_person = tables["persons"]["person_id"].iloc[0]
    subjects = ents["uscc"].iloc[:200].tolist()
    extra = pd.DataFrame(
        {
            "record_id": [f"LATE-{i}" for i in range(len(subjects))] + ["LATE-P"],
            "subject_type": ["enterprise"] * len(subjects) + ["person"],
            "subject_id": [*subjects, bad_person],
            "kind": "administrative_penalty",
            "domain": "market_regulation",
            "severity": "serious",
            "decided": T0 + 10 * day,
            "repaired": T0 + 20 * day,
        }
    )
    recs = pd.concat([recs, extra], ignore_index=True)

    roles = roles_rewritten_after(tables["roles"], T0, bad_person, subjects, "legal_rep")
    return {**tables, "enterprises": ents, "records": recs, "roles": roles}


def test_changing_data_after_t_leaves_the_features_unchanged() -> None:
    tables = {name: frame.copy() for name, frame in small_county(1500, 3).tables.items()}
    before = PlatformData.from_frames(tables)
    after = PlatformData.from_frames(after_t0_rewritten(tables))
    population = warning_population(before, T0)
    pd.testing.assert_frame_equal(population, warning_population(after, T0))
    expected = build_warning_features(before, population, propagation=PROPAGATION)
    got = build_warning_features(after, population, propagation=PROPAGATION)
    pd.testing.assert_frame_equal(got, expected)
    # The rewrite does change what is known later (so the test can see a leak).
    later = pd.DataFrame({"uscc": population["uscc"], "as_of": T0 + pd.Timedelta(days=30)})
    assert not build_warning_features(after, later, propagation=PROPAGATION).equals(
        build_warning_features(before, later, propagation=PROPAGATION)
    )
    assert (expected["linked_risk"] > 0).any() and (expected["own_violation_all"] > 0).any()


# --------------------------------------------------------------------------- validation


def test_config_and_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match=r"repair_window_months must be an int in \[1, 120\]"):
        WarningFeatureConfig(repair_window_months=0)
    with pytest.raises(TypeError, match="graph must be a bool; got str"):
        WarningFeatureConfig(graph="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="windows_months must be distinct and non-empty"):
        WarningFeatureConfig(windows_months=(12, 12))
    config = WarningFeatureConfig(windows_months=(24, 6), repair_window_months=12)
    assert config.windows_months == (6, 24) and config.precredit().graph is False
    assert WarningFeatureConfig.from_dict(config.to_dict()) == config
    assert config.to_dict()["group_rule"] == "control"
    saved_before = {k: v for k, v in config.to_dict().items() if k != "group_rule"}
    assert WarningFeatureConfig.from_dict(saved_before).group_rule == "shared_persons"
    with pytest.raises(ValueError, match="group_rule must be one of control, shared_persons"):
        WarningFeatureConfig(group_rule="ownership")
    with pytest.raises(TypeError, match="label_kinds must be a set of record kinds; got str"):
        check_label_kinds("administrative_penalty")
    with pytest.raises(ValueError, match="label_kinds must name at least one record kind"):
        check_label_kinds([])
    with pytest.raises(
        ValueError, match="label_kinds must be negative record kinds; got 'license'"
    ):
        check_label_kinds(["license", "administrative_penalty"])
    with pytest.raises(ValueError, match=r"label_kinds must be record kinds .*; got 'fine'"):
        check_label_kinds(["fine"])
    assert check_label_kinds(["tax_violation"]) < PENALTY_KINDS
    data = own_platform()
    population = pd.DataFrame({"uscc": [USCC["A"]], "as_of": [T]})
    with pytest.raises(ValueError, match=r"horizon_months must be an int in \[1, 60\]; got 0"):
        warning_labels(data, population, horizon_months=0)
    with pytest.raises(TypeError, match="data must be a PlatformData; got dict"):
        build_warning_features({}, population, propagation=PROPAGATION)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a WarningFeatureConfig; got str"):
        build_warning_features(data, population, "graph", propagation=PROPAGATION)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="propagation must be a PropagationConfig; got dict"):
        build_warning_features(data, population, propagation={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"applications\.as_of must be dates"):
        build_warning_features(data, population.assign(as_of=None), propagation=PROPAGATION)
