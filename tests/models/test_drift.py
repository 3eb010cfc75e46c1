"""models.drift: PSI per feature and of the score, on distributions worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.drift import DriftMonitor, FeatureReference, binned_psi, recorded_drift
from models.exceptions import NotFittedError
from risk.config import DriftConfig

FLOOR = 1e-4


def test_binned_psi_by_hand() -> None:
    # (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5)
    assert binned_psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.25 * math.log(2) + 0.25 * math.log(1.5)
    )
    assert binned_psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    # An empty bin counts at the floor, never infinite.
    assert binned_psi([1.0, 0.0], [0.0, 1.0]) == pytest.approx(
        2 * (1 - FLOOR) * math.log(1 / FLOOR)
    )
    with pytest.raises(ValueError, match="shares must be two equal, non-empty vectors"):
        binned_psi([0.5, 0.5], [1.0])


def test_numeric_feature_two_bins_and_a_missing_bin() -> None:
    # Reference 0, 0, 1, 1 in two bins: the median 0.5 is the edge; shares ½, ½, missing 0.
    ref = FeatureReference.from_sample("x", pd.Series([0.0, 0.0, 1.0, 1.0]), bins=2)
    assert ref.edges == (0.5,) and ref.shares == (0.5, 0.5, 0.0)
    assert ref.bin_labels() == ["< 0.5", "≥ 0.5", "<missing>"]
    assert ref.psi(pd.Series([0.0, 1.0, 1.0, 1.0])) == pytest.approx(
        0.25 * math.log(2) + 0.25 * math.log(1.5)
    )
    # Half of today missing: ¼, ¼, ½ against ½, ½, 0 (floored).
    today = pd.Series([0.0, 1.0, np.nan, np.nan])
    expected = 2 * 0.25 * math.log(2) + (0.5 - FLOOR) * math.log(0.5 / FLOOR)
    assert ref.psi(today) == pytest.approx(expected)
    assert ref.psi(pd.Series([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])) == 0.0  # same shares


def test_categorical_feature_with_a_new_category() -> None:
    ref = FeatureReference.from_sample("industry", pd.Series(["C", "C", "F", "F"]))
    assert ref.categories == ("C", "F") and ref.shares == (0.5, 0.5, 0.0, 0.0)
    # Today: C ¼, F 0, other (a category never seen) ¾.
    expected = (
        (0.25 - 0.5) * math.log(0.25 / 0.5)
        + (FLOOR - 0.5) * math.log(FLOOR / 0.5)
        + (0.75 - FLOOR) * math.log(0.75 / FLOOR)
    )
    assert ref.psi(pd.Series(["C", "K", "K", "L"])) == pytest.approx(expected)


def test_monitor_reports_each_feature_and_the_score_with_status() -> None:
    reference = pd.DataFrame({"same": [0.0, 0.0, 1.0, 1.0], "moved": [0.0, 0.0, 1.0, 1.0]})
    monitor = DriftMonitor(DriftConfig(bins=2)).fit(reference, [0.1, 0.1, 0.9, 0.9])
    today = pd.DataFrame({"same": [1.0, 0.0], "moved": [1.0, 1.0], "extra": [5.0, 6.0]})
    report = monitor.report(today, [0.1, 0.9], model="credlink-warning", version="3")
    assert report.table["feature"].tolist() == ["moved", "same", "score"]
    moved = (1 - 0.5) * math.log(1 / 0.5) + (FLOOR - 0.5) * math.log(FLOOR / 0.5)
    assert report.table["psi"].tolist() == pytest.approx([moved, 0.0, 0.0])
    assert report.table["status"].tolist() == ["act", "stable", "stable"]
    assert report.status == "act" and report.score_psi == 0.0
    metrics = report.to_metrics()
    assert metrics["psi.moved"] == pytest.approx(moved) and metrics["psi_score"] == 0.0
    assert metrics["psi_max_feature"] == pytest.approx(moved)
    recorded = {"drift_report.credlink-warning": report.to_dict(), "drift.act": 0.25}
    assert recorded_drift(recorded)["credlink-warning"]["status"] == "act"
    assert list(recorded_drift(recorded)) == ["credlink-warning"]


def _population(bottom: int, top: int) -> np.ndarray:
    """10,000 scores: ``bottom`` in the first decile of (0, 1), ``top`` in the last, 1,000 in
    each of the eight between."""
    middle = [np.full(1000, (d + 0.5) / 10) for d in range(1, 9)]
    return np.concatenate([np.full(bottom, 0.05), *middle, np.full(top, 0.95)])


def test_moving_score_mass_between_deciles_grades_stable_watch_act() -> None:
    reference = (np.arange(10_000) + 0.5) / 10_000  # deciles of exactly 1,000 each
    monitor = DriftMonitor().fit(pd.DataFrame({"x": reference}), reference)

    def psi(scores: np.ndarray) -> tuple[float, str]:
        report = monitor.report(pd.DataFrame({"x": scores}), scores)
        return report.score_psi, str(report.table["status"].iloc[-1])

    # Shares 0.15 / 0.1 × 8 / 0.05: 0.05·ln 1.5 + 0.05·ln 2.
    assert psi(_population(1500, 500)) == pytest.approx(
        (0.05 * math.log(1.5) + 0.05 * math.log(2), "stable")
    )
    # 0.18 / … / 0.02: 0.08·ln 1.8 + 0.08·ln 5.
    assert psi(_population(1800, 200)) == pytest.approx(
        (0.08 * math.log(1.8) + 0.08 * math.log(5), "watch")
    )
    # 0.2 / … / 0 (floored): 0.1·ln 2 + (0.1 − 10⁻⁴)·ln(0.1 / 10⁻⁴).
    assert psi(_population(2000, 0)) == pytest.approx(
        (0.1 * math.log(2) + (0.1 - FLOOR) * math.log(0.1 / FLOOR), "act")
    )


def test_monitor_refuses_bad_input() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        DriftMonitor().report(pd.DataFrame({"x": [1.0]}), [0.5])
    with pytest.raises(TypeError, match="config must be a DriftConfig"):
        DriftMonitor({"watch": 0.1}).fit(pd.DataFrame({"x": [1.0]}), [0.5])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reference must hold rows"):
        DriftMonitor().fit(pd.DataFrame({"x": []}), [])
    with pytest.raises(ValueError, match=r"scores must be one per reference row \(2\); got 1"):
        DriftMonitor().fit(pd.DataFrame({"x": [1.0, 2.0]}), [0.5])
    monitor = DriftMonitor().fit(pd.DataFrame({"x": [1.0, 2.0]}), [0.1, 0.2])
    with pytest.raises(ValueError, match=r"missing \['x'\]"):
        monitor.report(pd.DataFrame({"y": [1.0]}), [0.5])
    with pytest.raises(ValueError, match="scores must be one per row of today"):
        monitor.report(pd.DataFrame({"x": [1.0]}), [0.5, 0.6])


def test_a_hand_built_pair_gives_its_hand_worked_psi_through_the_monitor() -> None:
    """What the pipeline's drift step calls (``DriftMonitor(config).fit(...).report(...)``)
    on a pair worked out by hand: reference 0..9 at 2 bins cuts at the median 4.5 (shares
    0.5, 0.5, missing 0); today 8 values below and 2 above (0.8, 0.2, 0), so
    PSI = 0.3 ln(0.8/0.5) + (−0.3) ln(0.2/0.5) = 0.141001 + 0.274887 = 0.415888 (act)."""
    reference = pd.DataFrame({"x": np.arange(10, dtype=float)})
    today = pd.DataFrame({"x": [0.0, 1, 1, 2, 3, 3, 4, 4, 7, 9]})
    monitor = DriftMonitor(DriftConfig(bins=2)).fit(reference, np.arange(10) / 10)
    report = monitor.report(today, np.full(10, 0.05), model="m", version="1", population="p")
    row = report.table.set_index("feature").loc["x"]
    assert row["psi"] == pytest.approx(0.415888, abs=1e-6) and row["status"] == "act"
    # The score: reference 0.0..0.9 cut at 0.45; today all 0.05 → (1, 0, 0) against
    # (0.5, 0.5, 0): 0.5 ln 2 + (1e-4 − 0.5) ln(1e-4 / 0.5), the empty bin floored.
    floor = 1e-4  # models.metrics.PSI_FLOOR
    expected = 0.5 * math.log(2) + (floor - 0.5) * math.log(floor / 0.5)
    assert report.score_psi == pytest.approx(expected, rel=1e-3)
    assert report.to_dict()["population"] == "p"
