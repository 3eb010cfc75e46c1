"""PlatformData: normalisation of frames and store, the active-on rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.data import PlatformData
from features.precredit import build_features
from risk.config import RiskConfig
from risk.exceptions import InvalidFrameError
from risk.ingest import ingest_paths
from risk.store import migrate, open_engine
from risk.synth import write_county
from tests.features.builders import USCC, enterprise, platform, record
from tests.features.county import small_county


def test_frames_get_publicity_ends_regimes_and_periods() -> None:
    data = platform(
        [enterprise("A")],
        records=[
            record("r1", "A", "dishonest_debtor", "2024-01-01"),
            record("r2", "A", "administrative_penalty", "2024-01-01", publicity_end="2024-06-01"),
        ],
        financials=[
            {"uscc": USCC["A"], "period": "2024"},
            {"uscc": USCC["A"], "period": "2024Q3"},
        ],
    )
    recs = data.records.set_index("record_id")
    assert recs.loc["r1", "publicity_end"] == pd.Timestamp("2026-01-01")  # 失信被执行人: 2 years
    assert recs.loc["r1", "regime"] == "dishonest_debtor"
    assert recs.loc["r2", "publicity_end"] == pd.Timestamp("2024-06-01")
    assert recs.loc["r2", "regime"] == "explicit"
    fin = data.financials
    assert fin["period_start"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-07-01"]
    assert fin["period_end"].dt.strftime("%Y-%m-%d").tolist() == ["2024-12-31", "2024-09-30"]
    assert fin["period_months"].tolist() == [12, 3]
    assert len(data.loans) == 0 and list(data.loans.columns)[:2] == ["loan_id", "uscc"]


def test_active_on_by_hand() -> None:
    data = platform(
        [
            enterprise("A"),
            enterprise("B", status="deregistered", closed="2024-03-01"),
            enterprise("C", founded="2025-01-01"),
            enterprise("D", status="revoked"),  # no closing date: counts as closed
        ]
    )
    ids = [USCC[x] for x in "ABCD"] + ["91341100MA0000099X"]
    assert data.active_on(ids, "2024-06-30").tolist() == [True, False, False, False, False]
    assert data.active_on(ids, "2024-01-01").tolist() == [True, True, False, False, False]
    per_row = data.active_on([USCC["C"], USCC["C"]], ["2024-12-31", "2025-01-01"])
    assert per_row.tolist() == [False, True]


def test_from_frames_validates() -> None:
    with pytest.raises(TypeError, match="tables must be a mapping of DataFrames; got list"):
        PlatformData.from_frames([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"tables keys must be among .*; got 'loan'"):
        PlatformData.from_frames({"enterprises": pd.DataFrame(), "loan": pd.DataFrame()})
    with pytest.raises(ValueError, match="tables must include 'enterprises'"):
        PlatformData.from_frames({"loans": pd.DataFrame()})
    with pytest.raises(TypeError, match=r"tables\['enterprises'\] must be a pandas DataFrame"):
        PlatformData.from_frames({"enterprises": [1]})  # type: ignore[dict-item]
    with pytest.raises(InvalidFrameError, match=r"tables\['enterprises'\] must have column"):
        PlatformData.from_frames({"enterprises": pd.DataFrame({"uscc": []})})
    with pytest.raises(TypeError, match="source must be a PlatformData, a SQLAlchemy Engine"):
        PlatformData.from_source("sqlite:///x.db")  # type: ignore[arg-type]


def test_store_and_frames_give_the_same_features(tmp_path: Path) -> None:
    county = small_county(300, 5)
    write_county(county, tmp_path / "county")
    engine = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    ingest_paths(engine, [tmp_path / "county"], id_salt=b"credlink-synthetic-salt")
    from_store = PlatformData.from_source(engine)
    from_frames = PlatformData.from_source(county.tables)
    assert PlatformData.from_source(from_store) is from_store
    applications = pd.DataFrame(
        {"uscc": county.tables["enterprises"]["uscc"], "as_of": pd.Timestamp("2026-06-30")}
    )
    propagation = RiskConfig().propagation
    expected = build_features(from_frames, applications, propagation=propagation)
    got = build_features(from_store, applications, propagation=propagation)
    pd.testing.assert_frame_equal(got, expected)
    assert np.isfinite(expected["age_years"]).all()
