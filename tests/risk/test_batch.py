"""risk.batch: one read and one propagation give what graph build, warn run and warn grades gave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from risk.batch import linked_risk_band, open_warnings_frame, run_risk_batch
from risk.config import RiskConfig
from risk.grades import GradeConfig, grade_enterprises
from risk.ingest import ingest_paths
from risk.snapshot import score_snapshot
from risk.synth import SynthConfig, generate_county, write_county
from risk.warnings import list_warnings, run_warnings


@pytest.fixture(scope="module")
def county_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.Timestamp]:
    county = generate_county(SynthConfig(enterprises=1200, seed=11, id_salt=b"1" * 16))
    directory = tmp_path_factory.mktemp("county")
    write_county(county, directory)
    return directory, pd.Timestamp(county.config.end)


def test_linked_risk_bands_follow_the_grades_thresholds() -> None:
    config = GradeConfig()
    values = [0.0, config.linked_risk_b - 1e-9, config.linked_risk_b, config.linked_risk_c]
    assert list(linked_risk_band(values, config)) == ["none", "none", "elevated", "high"]


def test_one_pass_equals_the_three_commands(
    engine: Engine, county_files: tuple[Path, pd.Timestamp]
) -> None:
    directory, end = county_files
    ingest_paths(engine, [directory], id_salt=b"1" * 16)
    as_of = end.date()
    config = RiskConfig()
    # The three commands, one after the other, each reading and propagating on its own.
    scored = score_snapshot(engine, as_of, config)
    bank = grade_enterprises(engine, as_of, config, use_warnings=False)
    run = run_warnings(engine, as_of, config)
    office = grade_enterprises(engine, as_of, config, use_warnings=True)
    assert run.created > 0

    batch = run_risk_batch(engine, as_of, config)
    # Same hits: the upsert finds every warning as it is.
    assert (batch.warnings.hits, batch.warnings.created, batch.warnings.unchanged) == (
        run.hits,
        0,
        run.hits,
    )
    risk = batch.risk_frame().set_index("subject_id")
    expected = scored.scores.to_frame()
    assert sorted(risk.index) == sorted(expected.index)
    np.testing.assert_allclose(
        risk.loc[expected.index, "linked_risk"], expected["linked_risk"], rtol=1e-12
    )
    np.testing.assert_allclose(
        risk.loc[expected.index, "own_signal"], expected["own_signal"], rtol=1e-12
    )
    pd.testing.assert_frame_equal(batch.grades_bank, bank)
    pd.testing.assert_frame_equal(batch.grades, office)
    # The band is the grades' linked risk (without echo) against their thresholds.
    bands = risk.loc[office.index, "band"]
    assert list(bands) == list(linked_risk_band(office["linked_risk"], config.grades))
    assert risk.loc[~risk.index.isin(office.index), "band"].isna().all()
    np.testing.assert_allclose(
        risk.loc[office.index, "linked_risk_excluding_self"], office["linked_risk"], rtol=1e-12
    )

    frames = batch.frames(engine)
    grades = frames["grades"].set_index("subject_id")
    assert list(grades["grade"]) == list(office["grade"])
    assert list(grades["grade_bank"]) == list(bank.reindex(office.index)["grade"])
    opened = list_warnings(engine, limit=1000).items
    assert len(opened) < 1000
    warned = frames["warnings"].set_index("subject_id")
    assert set(warned.index) == {w.uscc for w in opened}
    for w in opened:
        assert w.id in warned.loc[w.uscc, "warning_ids"] and w.rule in warned.loc[w.uscc, "rules"]


def test_no_open_warning_gives_empty_rows(engine: Engine) -> None:
    frame = open_warnings_frame(engine)
    assert frame.empty and list(frame.columns) == ["subject_id", "level", "rules", "warning_ids"]
