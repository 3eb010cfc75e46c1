"""Point-in-time pre-credit features: hand-checked values, the leakage test, the config."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.catalog import CONCEPTS
from features.data import PlatformData
from features.eligibility import assess_eligibility
from features.history import DOMAIN_GROUPS, KIND_GROUPS
from features.precredit import (
    FeatureConfig,
    applications_on,
    build_features,
    feature_specs,
    month_start,
    validate_applications,
)
from risk.config import RiskConfig
from risk.contract import NEGATIVE_KINDS, Domain
from risk.exceptions import InvalidFrameError
from tests.features.builders import (
    USCC,
    apps,
    enterprise,
    platform,
    record,
    role,
    roles_rewritten_after,
)
from tests.features.county import small_county

T = "2025-06-15"
PROPAGATION = RiskConfig().propagation


def own_platform() -> PlatformData:
    return platform(
        [enterprise("A")],
        records=[
            record("r1", "A", "administrative_penalty", "2025-03-01", amount=2.0),
            record(
                "r2",
                "A",
                "administrative_penalty",
                "2023-01-01",
                domain="work_safety",
                severity="serious",
            ),
            record("r3", "A", "administrative_penalty", "2024-10-01", repaired="2025-01-01"),
            record("r4", "A", "dishonest_debtor", "2025-07-01"),
            record("r5", "A", "red_list", "2020-01-01", domain="taxation"),
        ],
        financials=[
            {"uscc": USCC["A"], "period": "2023", "tax_paid": 10.0, "tax_grade": "B",
             "insured_employees": 5, "utility_on_time": 0.9, "procurement_amount": 0.0},
            {"uscc": USCC["A"], "period": "2024", "tax_paid": 20.0, "tax_grade": "A",
             "insured_employees": 8, "utility_on_time": 1.0, "procurement_amount": 4.0},
            {"uscc": USCC["A"], "period": "2025Q1", "tax_paid": 6.0, "tax_grade": None,
             "insured_employees": None, "utility_on_time": 0.8, "procurement_amount": 0.0},
            {"uscc": USCC["A"], "period": "2025", "tax_paid": 999.0, "tax_grade": "D",
             "insured_employees": 99, "utility_on_time": 0.1, "procurement_amount": 999.0},
        ],
        loans=[
            {"loan_id": "L1", "uscc": USCC["A"], "bank": "b", "applied": "2024-01-01",
             "approved_amount": 10.0, "term_months": 12, "status": "default",
             "status_date": "2024-09-01"},
            {"loan_id": "L2", "uscc": USCC["A"], "bank": "b", "applied": "2024-06-01",
             "approved_amount": 10.0, "term_months": 24, "status": "performing",
             "status_date": "2026-06-30"},
            {"loan_id": "L3", "uscc": USCC["A"], "bank": "b", "applied": T,
             "approved_amount": 10.0, "term_months": 12, "status": "default",
             "status_date": "2025-10-01"},
        ],
    )  # fmt: skip


def test_own_records_financials_loans_by_hand() -> None:
    X = build_features(own_platform(), apps(("A", T)), FeatureConfig(graph=False)).iloc[0]
    # r1 (2025-03) in every window; r2 (2023-01, still public: 36 months) only in "all";
    # r3 repaired before t and r4 decided after t never count.
    assert (X["own_penalty_12m"], X["own_penalty_24m"], X["own_penalty_all"]) == (1, 1, 2)
    assert X["own_dishonest_all"] == 0
    assert X["own_serious_24m"] == 0  # r2 is serious but older than 24 months
    assert X["own_penalty_amount_24m"] == 2.0
    assert X["penalty_market_24m"] == 1 and X["penalty_safety_environment_24m"] == 0
    assert X["penalty_domains_24m"] == 1 and X["penalty_max_domain_24m"] == 1
    assert X["own_red_list_all"] == 1
    # Periods ended before t: 2023, 2024, 2025Q1 (2025 ends 2025-12-31). The latest 12 months
    # before the newest end (2025-03-31) hold 2024 and 2025Q1: (20 + 6) · 12 / 15 = 20.8.
    assert X["tax_paid_12m"] == pytest.approx(20.8)
    assert X["tax_paid_prev_12m"] == pytest.approx(10.0)
    assert X["tax_trend"] == pytest.approx(math.log1p(20.8) - math.log1p(10.0))
    assert X["tax_grade_score"] == 5.0  # A, the newest grade given
    assert X["employees"] == 8 and X["employees_trend"] == pytest.approx(
        math.log1p(8) - math.log1p(5)
    )
    assert X["utility_on_time"] == pytest.approx(0.9)
    assert X["procurement_12m"] == pytest.approx(3.2)
    assert X["financials_age_months"] == pytest.approx(76 / (365.25 / 12))
    assert X["prior_loans"] == 2 and X["prior_bad_loans"] == 1  # L3 is this application
    assert X["age_years"] == pytest.approx(
        (pd.Timestamp(T) - pd.Timestamp("2015-01-01")).days / 365.25
    )
    assert (X["kind"], X["industry"], X["region"]) == ("company", "C", "341100")


def test_inactive_history_is_a_policy_flag() -> None:
    off = build_features(own_platform(), apps(("A", T)), FeatureConfig(graph=False))
    on = build_features(
        own_platform(), apps(("A", T)), FeatureConfig(graph=False, include_inactive_history=True)
    )
    assert "own_negative_hist_all" not in off.columns
    row = on.iloc[0]
    assert row["own_negative_hist_12m"] == 1  # r3, repaired
    assert row["own_negative_hist_all"] == 1
    assert row["own_dishonest_hist_all"] == 0
    assert row["own_penalty_all"] == 2  # active counts are unchanged by the flag


def graph_platform() -> PlatformData:
    # P1 is legal representative of A and B; B is a 失信被执行人; P1 becomes one on 2025-06-10.
    return platform(
        [enterprise("A"), enterprise("B"), enterprise("C")],
        persons=["P1", "P2"],
        roles=[role("A", "P1"), role("B", "P1"), role("C", "P2")],
        records=[
            record("b1", "B", "dishonest_debtor", "2025-02-01"),
            record("p1", "P1", "dishonest_debtor", "2025-06-10"),
        ],
    )


def test_graph_features_by_hand_at_the_month_start_cutoff() -> None:
    frame = build_features(
        graph_platform(),
        apps(("A", T), ("A", "2025-07-01"), ("B", T), ("C", T)),
        propagation=PROPAGATION,
    )
    a_june, a_july, b_june, c_june = (frame.iloc[i] for i in range(4))
    # Cutoff 2025-06-01: P1's record (2025-06-10) is not there yet.
    assert a_june["neighbours"] == 1 and a_june["paths_2hop"] == 1
    assert a_june["linked_dishonest_1hop"] == 0
    assert a_june["linked_dishonest_2hop"] == 1  # A – P1 – B
    assert a_june["group_size"] == 2 and a_june["group_dishonest"] == 1
    assert a_june["linked_risk"] > 0 and a_june["own_signal"] == 0
    # Cutoff 2025-07-01: P1 now counts directly.
    assert a_july["linked_dishonest_1hop"] == 1
    assert b_june["own_signal"] > 0 and b_june["linked_dishonest_2hop"] == 0
    assert c_june["neighbours"] == 1 and c_june["linked_risk"] == 0
    assert c_june["group_size"] == 1 and c_june["group_dishonest"] == 0


def test_unknown_enterprise_gets_missing_values() -> None:
    frame = build_features(
        graph_platform(),
        pd.DataFrame({"uscc": ["91341100MA0000099X"], "as_of": [T]}),
        propagation=PROPAGATION,
    )
    row = frame.iloc[0]
    assert np.isnan(row["age_years"]) and row["kind"] is None
    assert np.isnan(row["linked_risk"])


# --------------------------------------------------------------------------- leakage


T0 = pd.Timestamp("2025-01-15")


def after_t0_rewritten(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every fact dated after T0 rewritten or added; nothing on or before T0 touched."""
    day = pd.Timedelta(days=1)
    ents = tables["enterprises"].copy()
    later_close = ents["closed"] > T0
    ents.loc[later_close, "closed"] = T0 + day
    ents.loc[later_close, "status"] = "revoked"

    recs = tables["records"].copy()
    later = recs["decided"] > T0
    recs.loc[later, "kind"] = "serious_dishonesty_list"
    recs.loc[later, "severity"] = "serious"
    recs.loc[later, "publicity_end"] = pd.NaT
    recs.loc[recs["repaired"] > T0, "repaired"] = T0 + day
    recs.loc[recs["removed"] > T0, "removed"] = pd.NaT
    borrowers = tables["loans"]["uscc"].unique()
    bad_person = tables["persons"]["person_id"].iloc[0]
    extra = pd.DataFrame(
        {
            "record_id": [f"LATE-{i}" for i in range(len(borrowers))] + ["LATE-P"],
            "subject_type": ["enterprise"] * len(borrowers) + ["person"],
            "subject_id": [*borrowers, bad_person],
            "kind": "dishonest_debtor",
            "domain": "court",
            "severity": "serious",
            "decided": T0 + 10 * day,
        }
    )
    recs = pd.concat([recs, extra], ignore_index=True)

    roles = roles_rewritten_after(tables["roles"], T0, bad_person, borrowers, "executive")

    fin = tables["financials"].copy()
    later_period = fin["period"].astype(str).str.slice(0, 4).astype(int) >= T0.year
    fin.loc[later_period, "tax_paid"] = 1e6
    fin.loc[later_period, "tax_grade"] = "D"
    fin.loc[later_period, "utility_on_time"] = 0.0

    loans = tables["loans"].copy()
    loans.loc[loans["status_date"] > T0, "status"] = "default"
    new_loans = pd.DataFrame(
        {
            "loan_id": [f"LATE-{i}" for i in range(len(borrowers))],
            "uscc": borrowers,
            "bank": "x",
            "applied": T0 + 3 * day,
            "approved_amount": 100.0,
            "term_months": 12,
            "status": "default",
            "status_date": T0 + 4 * day,
        }
    )
    loans = pd.concat([loans, new_loans], ignore_index=True)
    return {
        **tables,
        "enterprises": ents,
        "records": recs,
        "roles": roles,
        "financials": fin,
        "loans": loans,
    }


@pytest.fixture(scope="module")
def leakage_pair() -> tuple[PlatformData, PlatformData, pd.DataFrame]:
    tables = small_county(1500, 3).tables
    before = PlatformData.from_frames(tables)
    after = PlatformData.from_frames(after_t0_rewritten(tables))
    loans = tables["loans"]
    early = loans[loans["applied"] <= T0]
    applications = pd.concat(
        [
            pd.DataFrame({"uscc": early["uscc"], "as_of": early["applied"]}),
            applications_on(before, T0),
        ],
        ignore_index=True,
    )
    return before, after, applications


def test_nothing_dated_after_the_application_changes_its_features(
    leakage_pair: tuple[PlatformData, PlatformData, pd.DataFrame],
) -> None:
    before, after, applications = leakage_pair
    config = FeatureConfig(include_inactive_history=True)
    expected = build_features(before, applications, config, propagation=PROPAGATION)
    got = build_features(after, applications, config, propagation=PROPAGATION)
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(
        assess_eligibility(after, applications), assess_eligibility(before, applications)
    )


def test_the_rewrite_does_change_later_features(
    leakage_pair: tuple[PlatformData, PlatformData, pd.DataFrame],
) -> None:
    before, after, applications = leakage_pair
    later = applications.assign(as_of=pd.Timestamp("2026-06-30"))
    changed = build_features(after, later, propagation=PROPAGATION).compare(
        build_features(before, later, propagation=PROPAGATION)
    )
    assert {"own_dishonest_all", "tax_paid_12m", "prior_bad_loans", "linked_risk"} <= set(
        changed.columns.get_level_values(0)
    )


# --------------------------------------------------------------------------- catalog, config


def test_catalog_matches_the_columns() -> None:
    frame = build_features(own_platform(), apps(("A", T)), propagation=PROPAGATION)
    specs = feature_specs()
    assert list(frame.columns) == specs.names
    assert {s.concept for s in specs} <= set(CONCEPTS)
    constrained = specs.monotone
    assert constrained["own_dishonest_all"] == 1 and constrained["tax_paid_12m"] == -1
    assert specs.categorical == ["kind", "industry", "region"]
    assert specs.of_source("graph").names == [
        "own_signal",
        "linked_risk",
        "linked_dishonest_1hop",
        "linked_dishonest_2hop",
        "group_dishonest",
        "neighbours",
        "paths_2hop",
        "group_size",
    ]
    assert "own_signal" not in feature_specs(FeatureConfig(graph=False)).names


def test_kind_and_domain_groups_cover_every_code_once() -> None:
    kinds = [k for group in KIND_GROUPS.values() for k in group]
    assert sorted(kinds) == sorted(NEGATIVE_KINDS)
    domains = [d for group in DOMAIN_GROUPS.values() for d in group]
    assert sorted(domains) == sorted(Domain)


def test_feature_config_round_trips_and_validates() -> None:
    config = FeatureConfig(windows_months=(24, 6), include_inactive_history=True)
    assert config.windows_months == (6, 24)
    assert FeatureConfig.from_dict(config.to_dict()) == config
    # A version registered before the RiskConfig stored the propagation here: ignored.
    older = {**config.to_dict(), "propagation": PROPAGATION.to_dict()}
    assert FeatureConfig.from_dict(older) == config
    with pytest.raises(TypeError, match="windows_months must be a sequence of ints; got int"):
        FeatureConfig(windows_months=12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"windows_months\[\] must be an int in \[1, 120\]"):
        FeatureConfig(windows_months=(0,))
    with pytest.raises(ValueError, match="windows_months must be distinct and non-empty"):
        FeatureConfig(windows_months=(12, 12))
    with pytest.raises(ValueError, match="windows_months must be distinct and non-empty"):
        FeatureConfig(windows_months=())
    with pytest.raises(ValueError, match=r"penalty_window_months must be an int in \[1, 120\]"):
        FeatureConfig(penalty_window_months=121)
    with pytest.raises(TypeError, match="include_inactive_history must be a bool; got int"):
        FeatureConfig(include_inactive_history=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="graph must be a bool; got str"):
        FeatureConfig(graph="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="group_rule must be one of control, shared_persons"):
        FeatureConfig(group_rule="ownership")


def test_the_group_rule_is_saved_and_an_unsaved_one_is_the_old_rule() -> None:
    # Saved with every model; a model saved before issue 15 has none and was trained on the
    # groups through shared persons, so it reads back with that rule, not today's default.
    assert FeatureConfig().to_dict()["group_rule"] == "control"
    legacy = FeatureConfig(group_rule="shared_persons")
    assert FeatureConfig.from_dict(legacy.to_dict()) == legacy
    saved_before = {k: v for k, v in FeatureConfig().to_dict().items() if k != "group_rule"}
    assert FeatureConfig.from_dict(saved_before) == legacy


def test_windows_follow_the_config() -> None:
    frame = build_features(
        own_platform(), apps(("A", T)), FeatureConfig(windows_months=(3,), graph=False)
    )
    assert "own_penalty_3m" in frame.columns and "own_penalty_12m" not in frame.columns
    assert frame.iloc[0]["own_penalty_3m"] == 0  # r1 was decided 3.5 months before t


def test_applications_are_validated() -> None:
    with pytest.raises(TypeError, match="applications must be a pandas DataFrame; got list"):
        validate_applications([])  # type: ignore[arg-type]
    with pytest.raises(InvalidFrameError, match="applications must have column"):
        validate_applications(pd.DataFrame({"uscc": ["x"]}))
    with pytest.raises(ValueError, match=r"applications\.as_of must be dates"):
        validate_applications(pd.DataFrame({"uscc": ["x"], "as_of": ["not a date"]}))
    with pytest.raises(ValueError, match=r"applications\.as_of must be dates; got a missing"):
        validate_applications(pd.DataFrame({"uscc": ["x"], "as_of": [None]}))
    with pytest.raises(TypeError, match="data must be a PlatformData; got dict"):
        build_features({}, apps(("A", T)), propagation=PROPAGATION)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a FeatureConfig; got dict"):
        build_features(own_platform(), apps(("A", T)), {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"propagation must be a PropagationConfig \(the Ri"):
        build_features(own_platform(), apps(("A", T)))


def test_month_start_and_applications_on() -> None:
    starts = month_start(pd.Series(pd.to_datetime(["2025-06-15", "2025-07-01"])))
    assert [str(d)[:10] for d in starts] == ["2025-06-01", "2025-07-01"]
    data = platform(
        [
            enterprise("A"),
            enterprise("B", founded="2026-01-01"),
            enterprise("C", status="deregistered", closed="2025-01-01"),
        ]
    )
    assert applications_on(data, T)["uscc"].tolist() == [USCC["A"]]
