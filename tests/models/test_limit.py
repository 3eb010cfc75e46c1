"""LimitModel: the formula by hand, caps, range, learned weights, the backtest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.exceptions import NotFittedError
from models.limit import LimitModel, LimitPolicy, backtest_limits, rule_of_thumb_limits
from models.metrics import PSIReference
from models.pd import GradeScale
from risk.exceptions import InvalidFrameError


def rows(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "tax_paid_12m": [10.0],
        "tax_paid_prev_12m": [10.0],
        "employees": [0.0],
        "procurement_12m": [0.0],
        "utility_on_time": [1.0],
        "registered_capital": [np.nan],
        "kind": ["company"],
        "pd": [0.03],  # grade 4: multiplier 1.0
    }
    base.update(columns)
    n = max(len(v) for v in base.values())
    return pd.DataFrame({k: v * n if len(v) == 1 else v for k, v in base.items()})


def fixed(**policy: object) -> LimitModel:
    """A limit model with the policy's weights (no learning)."""
    X = rows()
    return LimitModel(LimitPolicy(learn_weights=False, **policy)).fit(  # type: ignore[arg-type]
        X, [50.0], [0], X["pd"]
    )


def test_the_formula_by_hand() -> None:
    model = fixed()
    out = model.predict_frame(rows(employees=[5.0], procurement_12m=[20.0]))
    # C = 7 × 10 + 2 × 5 + 0.3 × 20 = 86 → grade 4 (×1.0) → 85 (down to 5 万元);
    # low: grade 5 (×0.8) 68.8 → 65; high: grade 3 (×1.1) 94.6 → 90.
    assert out.loc[0, "capacity"] == pytest.approx(86.0)
    assert (out.loc[0, "limit_low"], out.loc[0, "suggested_limit"], out.loc[0, "limit_high"]) == (
        65.0,
        85.0,
        90.0,
    )


def test_the_limit_reference_is_the_held_out_loans_when_given() -> None:
    """The PSI reference is the held-out loans' limits (out-of-sample PDs), not the fitted
    loans' own; without held-out loans, the fitted ones'."""
    X = rows(tax_paid_12m=[10.0, 20.0, 40.0, 80.0], tax_paid_prev_12m=[np.nan])
    held_out = rows(tax_paid_12m=[5.0, 10.0, 15.0, 30.0], tax_paid_prev_12m=[np.nan])
    policy = LimitPolicy(learn_weights=False)
    model = LimitModel(policy).fit(X, [50.0] * 4, [0] * 4, X["pd"], reference=held_out)
    # limits 35, 70, 105, 210 (7 × tax, down to 5 万元) are the reference's
    assert model.predict_frame(held_out)["suggested_limit"].tolist() == [35.0, 70.0, 105.0, 210.0]
    assert model.limit_reference_ == PSIReference.from_sample([35.0, 70.0, 105.0, 210.0])
    assert model.holdout_psi(held_out) == pytest.approx(0.0, abs=1e-12)
    assert model.holdout_psi(X) > 0.1
    in_sample = LimitModel(policy).fit(X, [50.0] * 4, [0] * 4, X["pd"])
    assert in_sample.holdout_psi(X) == pytest.approx(0.0, abs=1e-12)


def test_caps_grades_minimum_and_haircut() -> None:
    model = fixed()
    out = model.predict_frame(
        rows(
            tax_paid_12m=[1000.0, 1000.0, 1000.0, 10.0, 10.0, 0.4, 10.0, 10.0],
            tax_paid_prev_12m=[1000.0, 1000.0, 1000.0, 10.0, 10.0, 0.4, 10.0, np.nan],
            kind=["company", "individual_business", "branch", "company", "company", "company",
                  "company", "company"],
            pd=[0.03, 0.03, 0.03, 0.5, 0.2, 0.03, 0.03, 0.03],
            utility_on_time=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.57, 1.0],
        )
    )  # fmt: skip
    limits = out["suggested_limit"].tolist()
    assert limits[0] == 1000.0  # company cap
    assert limits[1] == 50.0  # individual-business cap
    assert limits[2] == 0.0  # branches borrow through their parent
    assert limits[3] == 0.0  # grade 8: no offer
    assert limits[4] == 20.0  # grade 7: 70 × 0.3 = 21 → 20
    assert limits[5] == 0.0  # 2.8 万元 rounds down below the 5 万元 minimum
    assert limits[6] == 40.0  # 0.57 / 0.95 = 0.6 haircut: 42 → 40
    assert limits[7] == 70.0  # one year of tax known: its average is that year
    assert (out["limit_low"] <= out["suggested_limit"]).all()
    assert (out["suggested_limit"] <= out["limit_high"]).all()


def test_weights_are_learned_from_performing_loans() -> None:
    rng = np.random.default_rng(0)
    n = 400
    X = rows(
        tax_paid_12m=list(rng.uniform(1, 20, n)),
        tax_paid_prev_12m=[np.nan],
        employees=list(rng.integers(0, 30, n).astype(float)),
        pd=list(rng.choice([0.03, 0.06], n)),
    )
    multiplier = np.where(X["pd"] < 0.04, 1.0, 0.8)
    approved = (6 * X["tax_paid_12m"] + 1.5 * X["employees"]) * multiplier
    label = np.zeros(n)
    label[:50] = 1  # bad loans teach nothing
    approved[:50] = 999.0
    model = LimitModel(LimitPolicy(kind_caps={"company": 10_000})).fit(X, approved, label, X["pd"])
    assert model.weights_learned_ and model.n_fit_ == n - 50
    assert model.weights_["tax"] == pytest.approx(6.0, rel=1e-6)
    assert model.weights_["employees"] == pytest.approx(1.5, rel=1e-6)
    assert model.weights_["procurement"] == pytest.approx(0.0, abs=1e-9)
    assert model.weights_["capital"] == pytest.approx(0.0, abs=1e-9)
    few = LimitModel(LimitPolicy(min_fit_loans=1000)).fit(X, approved, label, X["pd"])
    assert not few.weights_learned_ and few.weights_["tax"] == 7.0


def test_a_share_of_registered_capital_is_learned_when_banks_lend_on_it() -> None:
    """Amounts of 5 × tax + 0.2 × capital: both weights come back; the policy alone lends
    nothing on capital, and more capital never lowers a limit."""
    rng = np.random.default_rng(1)
    n = 200
    X = rows(
        tax_paid_12m=list(rng.uniform(0, 10, n)),
        tax_paid_prev_12m=[np.nan],
        registered_capital=list(rng.uniform(10, 500, n)),
    )
    approved = 5 * X["tax_paid_12m"] + 0.2 * X["registered_capital"]
    model = LimitModel().fit(X, approved, np.zeros(n), X["pd"])
    assert model.weights_["tax"] == pytest.approx(5.0, rel=1e-6)
    assert model.weights_["capital"] == pytest.approx(0.2, rel=1e-6)
    assert fixed().weights_["capital"] == 0.0
    # C = 7 × 10 + 0.2 × 100 = 90 with a policy share of 0.2.
    out = fixed(capital_share=0.2).predict_frame(rows(registered_capital=[100.0]))
    assert out.loc[0, "capacity"] == pytest.approx(90.0)
    report = model.monotonicity_report(X, sample=20)
    assert report.set_index("feature").loc["registered_capital", "violations"] == 0


def test_subscribed_capital_alone_earns_no_limit_and_at_most_half_the_capacity() -> None:
    """认缴 capital is not money: a shell with no tax and no insured employees gets nothing
    however large its registration; a firm that pays tax gets at most as much from capital
    as four times its flows (the capital term is at most 0.8 of the capacity by default)."""
    model = fixed(capital_share=0.2)
    shell = rows(tax_paid_12m=[0.0], tax_paid_prev_12m=[np.nan], registered_capital=[10_000.0])
    out = model.predict_frame(shell)
    assert out.loc[0, "capacity"] == 0.0 and out.loc[0, "suggested_limit"] == 0.0
    # One insured employee: F = 2, the capital term min(0.2 × 10 000, 4 × 2) = 8.
    hiring = model.predict_frame(shell.assign(employees=1.0))
    assert hiring.loc[0, "capacity"] == pytest.approx(10.0)
    # Tax 10: F = 70; 0.2 × 5000 = 1000 is capped at 280 (0.8 of 350); 0.2 × 1000 = 200 is
    # not; at a quarter, 200 is capped at 70 / 3.
    assert model.predict_frame(rows(registered_capital=[5000.0])).loc[0, "capacity"] == (
        pytest.approx(350.0)
    )
    taxed = rows(registered_capital=[1000.0])
    assert model.predict_frame(taxed).loc[0, "capacity"] == pytest.approx(270.0)
    quarter = fixed(capital_share=0.2, capital_cap_share=0.25).predict_frame(taxed)
    assert quarter.loc[0, "capacity"] == pytest.approx(70.0 + 70.0 / 3)
    no_capital = fixed(capital_share=0.2, capital_cap_share=0.0).predict_frame(taxed)
    assert no_capital.loc[0, "capacity"] == pytest.approx(70.0)
    with pytest.raises(ValueError, match=r"capital_cap_share must be .*; got 1"):
        LimitPolicy(capital_cap_share=1.0)


def test_limits_never_fall_as_registered_capital_rises() -> None:
    """Shells, employers and taxpayers, capital 0 … 5000: each firm's limit is
    non-decreasing in its capital, below and above the cap."""
    model = fixed(capital_share=0.2)
    capital = np.linspace(0.0, 5000.0, 51)
    for tax, employees in ((0.0, 0.0), (0.0, 3.0), (2.0, 0.0), (10.0, 5.0), (80.0, 0.0)):
        frame = rows(
            tax_paid_12m=[tax],
            tax_paid_prev_12m=[tax],
            employees=[employees],
            registered_capital=list(capital),
        )
        limits = model.predict_frame(frame)["suggested_limit"].to_numpy()
        assert (np.diff(limits) >= 0).all(), (tax, employees, limits)
    frame = rows(
        tax_paid_12m=[0.0, 0.0, 5.0, 20.0] * 5,
        employees=[0.0, 2.0, 0.0, 4.0] * 5,
        registered_capital=list(np.repeat([0.0, 50.0, 200.0, 1000.0, 5000.0], 4)),
    )
    report = model.monotonicity_report(frame, sample=20).set_index("feature")
    assert report["violations"].sum() == 0


def test_limits_fall_with_the_pd_and_rise_with_tax() -> None:
    model = fixed()
    X = rows(tax_paid_12m=list(np.linspace(0, 50, 20)), pd=list(np.linspace(0.001, 0.5, 20)))
    report = model.monotonicity_report(X, sample=20)
    assert report["violations"].sum() == 0


def test_rule_of_thumb_and_backtest_by_hand() -> None:
    X = rows(tax_paid_12m=[10.0, 10.0, 0.0, 4.0], tax_paid_prev_12m=[10.0, 10.0, 0.0, 6.0])
    rule = rule_of_thumb_limits(X)
    assert rule["rule_limit"].tolist() == [70.0, 70.0, 0.0, 35.0]
    assert rule["rule_low"].tolist() == [50.0, 50.0, 0.0, 25.0]
    assert rule["rule_high"].tolist() == [90.0, 90.0, 0.0, 45.0]
    loans = pd.DataFrame({"approved_amount": [70.0, 100.0, 20.0, 35.0], "label": [0, 1, 0, 0]})
    limits = pd.DataFrame(
        {
            "suggested_limit": [60.0, 0.0, 10.0, 40.0],
            "limit_low": [50.0, 0.0, 5.0, 30.0],
            "limit_high": [80.0, 0.0, 15.0, 50.0],
        }
    )
    table = backtest_limits(loans, limits, rule).set_index("method")
    model, baseline = table.loc["limit model"], table.loc["银税互动 7× tax"]
    assert (model["offers"], model["volume"], model["bad_volume"]) == (3, 110.0, 0.0)
    assert model["loss_rate"] == 0.0
    assert (baseline["volume"], baseline["bad_volume"]) == (175.0, 70.0)
    assert baseline["loss_rate"] == pytest.approx(0.4)
    # Performed: 70, 20, 35. Model errors 10/70, 10/20, 5/35; rule 0, 20/20, 0.
    assert model["median_error"] == pytest.approx(1 / 7)
    assert baseline["median_error"] == 0.0
    assert model["in_range"] == pytest.approx(2 / 3) and baseline["in_range"] == pytest.approx(
        2 / 3
    )
    by_kind = backtest_limits(loans.assign(kind="company"), limits, rule, segment="kind")
    assert by_kind["segment"].unique().tolist() == ["company"]


@pytest.mark.parametrize(
    ("values", "error", "match"),
    [
        ({"tax_multiple": -1.0}, ValueError, r"tax_multiple must be in \[0, inf\)"),
        ({"learn_weights": 1}, TypeError, "learn_weights must be a bool; got int"),
        ({"min_fit_loans": 0}, ValueError, r"min_fit_loans must be an int in \[1, inf\)"),
        ({"utility_reference": 0.0}, ValueError, r"utility_reference must be in \(0, 1\]"),
        ({"utility_floor": 2.0}, ValueError, r"utility_floor must be in \[0, 1\]"),
        ({"grades": (0.1,)}, TypeError, "grades must be a GradeScale; got tuple"),
        ({"grade_multipliers": 1.0}, TypeError, "grade_multipliers must be a sequence"),
        ({"grade_multipliers": (1.0, 0.5)}, ValueError, "one value per grade \\(8\\); got 2"),
        ({"grade_multipliers": (1, 1, 1, 1, 1, 1, 0.5, 0.8)}, ValueError, "non-increasing"),
        ({"kind_caps": [1]}, TypeError, "kind_caps must be a mapping; got list"),
        ({"kind_caps": {"bank": 1.0}}, ValueError, "kind_caps keys must be one of company"),
        ({"kind_caps": {"company": -1.0}}, ValueError, r"kind_caps\[company\] must be in"),
        ({"min_limit": -5.0}, ValueError, r"min_limit must be in \[0, inf\)"),
        ({"step": 0.0}, ValueError, r"step must be in \(0, inf\)"),
    ],
)
def test_policy_validation(values: dict[str, object], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        LimitPolicy(**values)  # type: ignore[arg-type]


def test_policy_round_trip_and_model_errors(tmp_path) -> None:
    policy = LimitPolicy(grades=GradeScale((0.05, 0.2)), grade_multipliers=(1.0, 0.5, 0.0))
    assert LimitPolicy.from_dict(policy.to_dict()) == policy
    with pytest.raises(NotFittedError, match="LimitModel is not fitted"):
        LimitModel().predict_frame(rows())
    with pytest.raises(InvalidFrameError, match="X must have column"):
        fixed().predict_frame(rows().drop(columns="pd"))
    with pytest.raises(ValueError, match="must have one value per row"):
        LimitModel().fit(rows(), [1.0, 2.0], [0], [0.1])
    model = fixed()
    again = LimitModel.load(model.save(tmp_path / "limit"))
    pd.testing.assert_frame_equal(again.predict_frame(rows()), model.predict_frame(rows()))
    # A model saved before registered capital was a capacity column lent nothing on it.
    path = model.save(tmp_path / "old") / LimitModel.meta_file
    meta = json.loads(path.read_text("utf-8"))
    del meta["weights"]["capital"], meta["policy"]["capital_share"]
    path.write_text(json.dumps(meta), "utf-8")
    old = LimitModel.load(path.parent)
    assert old.weights_["capital"] == 0.0 and old.policy_ == model.policy_
