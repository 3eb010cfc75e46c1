"""``credlink pipeline``: every score once, written as a score set the service reads.

On a copy of the 1,000-enterprise API county (no models: their steps say why they are
skipped) and of the 3,000-enterprise county with champions (the assessments of the set are
what the champions give).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

import serving.pipeline
import serving.precredit
from features.data import PlatformData
from models.drift import recorded_drift
from models.exceptions import ArtifactError
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, WARNING_MODEL_NAME, ModelRegistry
from risk.batch import run_risk_batch
from risk.config import RiskConfig
from risk.grades import GradeConfig
from risk.scoresets import current, get_set, list_sets, read_kind
from risk.store import read_table
from serving.cli import app as cli
from serving.pipeline import run_pipeline
from serving.precredit import Champions, assessment_frames, load_champions, mlflow_uri
from serving.schemas_precredit import Assessment
from tests.serving.conftest import ApiCounty, copy_county
from tests.serving.reference import assess_all

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory, api_template: Path) -> Iterator[ApiCounty]:
    built = copy_county(api_template, tmp_path_factory.mktemp("pipeline"))
    yield built
    built.engine.dispose()


def _cli(county: ApiCounty, *args: str) -> tuple[int, str]:
    settings = county.settings
    common = ["--work-dir", str(settings.work_dir), "--database-url", settings.store_url]
    result = runner.invoke(cli, ["pipeline", *args, *common])
    return result.exit_code, result.output


def test_run_publishes_a_set_list_names_it_and_diff_compares(county: ApiCounty) -> None:
    first_day = county.as_of - timedelta(days=90)
    code, output = _cli(county, "run", "--as-of", first_day.isoformat(), "--json")
    assert code == 0, output
    first = json.loads(output[output.index("{") :])
    steps = {s["name"]: s for s in first["steps"]}
    assert list(steps) == [
        "risk",
        "write risk",
        "learned warning",
        "write grades",
        "assessments",
        "drift",
        "publish",
    ]
    assert steps["drift"]["skipped"] == "no champion to monitor"
    assert steps["assessments"]["skipped"] == (
        "no MLflow store (MLFLOW_TRACKING_URI unset, none in the work directory)"
    )
    counts = first["score_set"]["counts"]
    assert counts["grades"] == len(read_kind(county.engine, "grades"))
    assert counts["risk"] > counts["grades"]  # persons too

    code, output = _cli(county, "run", "--as-of", county.as_of.isoformat(), "--json")
    assert code == 0, output
    second = json.loads(output[output.index("{") :])
    assert second["score_set"]["id"] == first["score_set"]["id"] + 1
    pointer = current(county.engine)
    assert pointer is not None and pointer.set_id == second["score_set"]["id"]
    assert second["events"] > 0  # 90 days later, grades and warnings moved

    code, output = _cli(county, "list", "--json")
    assert code == 0, output
    listed = json.loads(output)
    assert [r["id"] for r in listed[:2]] == [second["score_set"]["id"], first["score_set"]["id"]]
    assert [r["current"] for r in listed[:2]] == [True, False]

    old, new = str(first["score_set"]["id"]), str(second["score_set"]["id"])
    code, output = _cli(county, "diff", old, new, "--json")
    assert code == 0, output
    diff = json.loads(output)
    assert sum(diff["counts"].values()) == second["events"]
    code, output = _cli(county, "diff", old, new, "--limit", "2")
    assert code == 0 and "entered the watchlist" in output and "grade" in output
    code, output = _cli(county, "diff", old, "999")
    assert code == 2 and "score set 999 does not exist" in output


def test_the_set_holds_what_the_risk_batch_computes(county: ApiCounty) -> None:
    if current(county.engine) is None:  # this test alone
        run_pipeline(county.engine, county.as_of, county.settings.risk_config(), mlflow_uri=None)
    pointer = current(county.engine)
    assert pointer is not None
    described = get_set(county.engine, pointer.set_id)
    batch = run_risk_batch(county.engine, described.as_of, county.settings.risk_config())
    grades = read_kind(county.engine, "grades")
    assert grades["grade"].to_dict() == batch.grades["grade"].to_dict()
    assert grades["grade_bank"].to_dict() == batch.grades_bank["grade"].to_dict()
    risk = read_kind(county.engine, "risk")
    expected = batch.risk_frame().set_index("subject_id")
    assert risk["linked_risk"].to_dict() == pytest.approx(expected["linked_risk"].to_dict())
    assert described.config_digest == county.settings.risk_config().digest()
    assert described.config["linked_threshold_value"] == pytest.approx(batch.linked_threshold)


def test_a_failing_step_discards_its_set_and_the_current_one_stays(
    county: ApiCounty, monkeypatch: pytest.MonkeyPatch
) -> None:
    if current(county.engine) is None:  # this test alone
        run_pipeline(county.engine, county.as_of, county.settings.risk_config(), mlflow_uri=None)
    before = current(county.engine)
    assert before is not None

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(serving.precredit, "assessment_frames", broken)
    monkeypatch.setattr(serving.pipeline, "_champions", _fake_precredit)
    with pytest.raises(RuntimeError, match="磁盘已满"):
        run_pipeline(county.engine, county.as_of, county.settings.risk_config(), mlflow_uri=None)
    failed = list_sets(county.engine, 1)[0]
    assert failed.status == "failed" and failed.note == "RuntimeError: 磁盘已满"
    assert current(county.engine) == before


def _fake_precredit(
    uri: str | None, risk: object, registry_uri: str | None = None
) -> serving.pipeline._Champions:
    """Champions whose scoring breaks later (assessment_frames is patched to fail)."""
    out = serving.pipeline._Champions()
    out.scorer = object()
    return out


def test_assessments_are_the_ones_the_champions_give(champions_county: ApiCounty) -> None:
    settings = champions_county.settings
    risk = settings.risk_config()
    result = run_pipeline(
        champions_county.engine, settings.snapshot_date, risk, mlflow_uri=mlflow_uri(settings)
    )
    steps = {s.name: s for s in result.steps}
    assert steps["assessments"].skipped is None and steps["assessments"].rows > 0
    assert set(result.score_set.model_versions) >= {PD_MODEL_NAME, LIMIT_MODEL_NAME}
    stored = read_kind(champions_county.engine, "assessments")
    loaded = load_champions(settings, risk)
    bundle = loaded[PD_MODEL_NAME].model
    assert isinstance(bundle, Champions)
    enterprises = read_table(champions_county.engine, "enterprises", columns=["uscc"])["uscc"]
    assert set(stored.index) == set(enterprises)
    sample = sorted(enterprises)[:50]
    data = PlatformData.from_store(champions_county.engine)
    expected = assess_all(bundle.scorer, data, sample, bundle.versions, settings.snapshot_date)
    for uscc in sample:
        served = expected[uscc].model_dump(mode="json", exclude={"authorization_id"})
        assert stored.loc[uscc, "body"] == served
        assert stored.loc[uscc, "pd"] == pytest.approx(served["pd"])
    # The PD's drift against its own out-of-time holdout: each feature, then the score.
    drift = recorded_drift(get_set(champions_county.engine, result.score_set.id).config)
    assert steps["drift"].rows == 1 and list(drift) == [PD_MODEL_NAME]
    report = drift[PD_MODEL_NAME]
    assert [f["feature"] for f in report["features"]][-1] == "score"
    assert {f["feature"] for f in report["features"]} == {
        *bundle.scorer.pd_model.feature_names_,
        "score",
    }
    # Today's population is today's applicants (the holdout is of applications), worked out
    # here from the loans table: a loan applied in the 12 months before the as-of date.
    loans = read_table(champions_county.engine, "loans", columns=["uscc", "applied"])
    day = pd.Timestamp(settings.snapshot_date)
    applied = pd.to_datetime(loans["applied"])
    window = (applied >= day - pd.DateOffset(months=12)) & (applied < day)
    applicants = set(loans.loc[window, "uscc"]) & set(enterprises)
    assert 50 <= len(applicants) < len(enterprises)
    assert report["rows_today"] == len(applicants)  # below DRIFT_SAMPLE: every applicant
    assert report["population"].startswith("applicants: enterprises that applied for a loan")
    assert f"(n={len(applicants)})" in report["population"]
    assert all(f["psi"] >= 0 for f in report["features"])


def test_a_drift_step_that_fails_is_recorded_and_the_set_is_published(
    champions_county: ApiCounty, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holdout cannot be read (the artifact store down): the set is published anyway,
    recording that the PD's drift was skipped and why, with no raw data in the reason."""
    settings = champions_county.settings

    def unreadable(self: ModelRegistry, name: str, version: str) -> pd.DataFrame:
        raise ArtifactError("holdout/holdout.parquet", "must be readable; got 91341100MAJCREWXGG")

    monkeypatch.setattr(ModelRegistry, "holdout", unreadable)
    result = run_pipeline(
        champions_county.engine,
        settings.snapshot_date,
        settings.risk_config(),
        mlflow_uri=mlflow_uri(settings),
    )
    pointer = current(champions_county.engine)
    assert pointer is not None and pointer.set_id == result.score_set.id
    assert result.score_set.status == "complete"
    steps = {s.name: s for s in result.steps}
    reason = "reading the holdout failed (ArtifactError)"
    assert steps["drift"].rows == 0 and steps["drift"].skipped == f"{PD_MODEL_NAME}: {reason}"
    assert steps["assessments"].rows > 0
    recorded = recorded_drift(get_set(champions_county.engine, result.score_set.id).config)
    assert recorded[PD_MODEL_NAME] == {
        "model": PD_MODEL_NAME,
        "version": result.score_set.model_versions[PD_MODEL_NAME],
        "status": "skipped",
        "skipped": reason,
    }


def test_the_pipeline_s_fast_rows_are_the_validated_assessments(
    champions_county: ApiCounty,
) -> None:
    """The pipeline builds the bodies without pydantic (minutes saved at a million
    enterprises): on every enterprise of the county they are what the validated
    :class:`Assessment` gives, chunk boundaries change nothing, and each decision follows
    its body."""
    settings = champions_county.settings
    bundle = load_champions(settings, settings.risk_config())[PD_MODEL_NAME].model
    assert isinstance(bundle, Champions)
    data = PlatformData.from_store(champions_county.engine)
    usccs = sorted(read_table(champions_county.engine, "enterprises", columns=["uscc"])["uscc"])
    as_of = settings.snapshot_date
    frames = list(assessment_frames(bundle.scorer, data, usccs, bundle.versions, as_of, chunk=701))
    assert [len(f) for f in frames] == [701, 701, 701, 701, len(usccs) - 4 * 701]
    rows = pd.concat(frames).set_index("subject_id")
    assert list(rows.index) == usccs
    expected = assess_all(bundle.scorer, data, usccs, bundle.versions, as_of)
    decisions = set()
    for uscc, row in rows.iterrows():
        validated = expected[str(uscc)].model_dump(mode="json", exclude={"authorization_id"})
        assert row["body"] == validated
        assert (
            Assessment.model_validate(row["body"]).model_dump(
                mode="json", exclude={"authorization_id"}
            )
            == row["body"]
        )
        decision = (
            "declined"
            if not validated["eligible"]
            else "no_offer"
            if validated["limit"] is None
            else "offered"
        )
        assert row["decision"] == decision
        assert row["pd"] == validated["pd"] and row["pd_band"] == str(validated["pd_band"])
        decisions.add(decision)
    assert decisions == {"declined", "offered", "no_offer"}  # every branch checked
    with pytest.raises(ValueError, match="chunk must be"):
        next(assessment_frames(bundle.scorer, data, usccs, bundle.versions, as_of, chunk=0))


def test_the_learned_warning_is_scored_lifts_office_grades_and_drift_is_logged(
    learned_county: ApiCounty,
) -> None:
    engine = learned_county.engine
    learned = read_kind(engine, "learned")["probability"]
    assert len(learned) == len(read_kind(engine, "grades")) > 800  # every existing enterprise
    assert learned.between(0, 1).all() and learned.nunique() > 20

    # A threshold inside the county's range, so that some grades move: exactly those at or
    # above it go one step up, the banks' grades never.
    threshold = float(learned.quantile(0.8))
    config = RiskConfig(grades=GradeConfig(learned_b=threshold))
    uri = mlflow_uri(learned_county.settings)
    result = run_pipeline(engine, learned_county.as_of, config, mlflow_uri=uri)
    steps = {s.name: s for s in result.steps}
    assert steps["learned warning"].rows == len(learned) and steps["drift"].rows == 1
    grades = read_kind(engine, "grades")
    plain = run_risk_batch(engine, learned_county.as_of, config).grades
    up = {"A": "B", "B": "C", "C": "D", "D": "D"}
    lifted = learned.reindex(grades.index) >= threshold
    expected = plain["grade"].where(~lifted, plain["grade"].map(up))
    assert grades["grade"].to_dict() == expected.to_dict()
    assert (grades["grade"] != plain["grade"]).sum() > 0
    assert grades.loc[lifted & (plain["grade"] != "D"), "reason"].str.contains("再犯概率").all()
    bank = run_risk_batch(engine, learned_county.as_of, config).grades_bank["grade"]
    assert grades["grade_bank"].to_dict() == bank.to_dict()

    # Drift against the champion's out-of-time holdout: one row per feature and the score.
    recorded = recorded_drift(get_set(engine, result.score_set.id).config)
    report = recorded[WARNING_MODEL_NAME]
    champion = ModelRegistry(uri).load(WARNING_MODEL_NAME)
    assert [f["feature"] for f in report["features"]][-1] == "score"
    assert {f["feature"] for f in report["features"]} == {*champion.feature_names_, "score"}
    assert report["rows_today"] == len(learned)
    assert report["rows_reference"] == len(ModelRegistry(uri).holdout(WARNING_MODEL_NAME, "1"))
    for row in report["features"]:
        assert row["psi"] >= 0 and row["status"] == config.drift.status(row["psi"])
    runs = mlflow.MlflowClient(uri).search_runs(
        [mlflow.MlflowClient(uri).get_experiment_by_name(WARNING_MODEL_NAME).experiment_id],
        filter_string="tags.`credlink.kind` = 'drift'",
    )
    logged = [r for r in runs if r.data.tags["credlink.score_set"] == str(result.score_set.id)]
    assert len(logged) == 1
    assert logged[0].data.metrics["psi_score"] == pytest.approx(report["score_psi"])
