"""Training the learned warning: out of time, against the rules, logged and gated."""

from __future__ import annotations

import json
from dataclasses import replace

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.data import PlatformData
from features.warning import build_warning_features, warning_labels, warning_population
from models.exceptions import PromotionRefusedError
from models.gate import QualityFloor
from models.metrics import PSIReference
from models.registry import WARNING_MODEL_NAME, ModelRegistry
from models.tracking import CHALLENGER, CHAMPION, mlflow_session, tracking_uris
from models.warning import PROBABILITY, RULES_FLAGGED, WarningModel
from models.warning_training import (
    WarningResult,
    WarningTrainConfig,
    _held_out_enterprises,
    sample_negatives,
    train_warning,
)
from risk.config import RiskConfig
from risk.rules import Rule
from tests.features.county import AS_OF, small_platform


@pytest.fixture(scope="session")
def warning_data() -> PlatformData:
    """3,000 enterprises (the county the pre-credit model tests use)."""
    return small_platform(3000, 0)


@pytest.fixture(scope="session")
def warning_tracking(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A fresh SQLite tracking store and artifact root for the warning tests."""
    return tracking_uris(tmp_path_factory.mktemp("warning-mlflow"))


@pytest.fixture(scope="session")
def trained_warning(warning_data: PlatformData, warning_tracking: tuple[str, str]) -> WarningResult:
    """The learned warning, logged, registered (version 1) and promoted to champion."""
    uri, artifacts = warning_tracking
    result = train_warning(warning_data, AS_OF, uri, artifact_location=artifacts)
    assert result.run is not None and result.run.version == "1"
    ModelRegistry(uri).promote(WARNING_MODEL_NAME, result.run.version)
    return result


def test_training_rows_never_overlap_the_test_rows(
    trained_warning: WarningResult, warning_data: PlatformData
) -> None:
    split = trained_warning.split
    assert set(trained_warning.holdout["as_of"]) == {split.test}
    cutoffs = trained_warning.tables["cutoffs"]
    train = cutoffs[cutoffs["split"] == "train"]
    assert (pd.to_datetime(train["labels_until"]) <= split.test).all()
    # The training labels are the same whether or not the test year's records exist.
    records = warning_data.records
    truncated = PlatformData.from_frames(
        {
            "enterprises": warning_data.enterprises,
            "persons": warning_data.persons,
            "roles": warning_data.roles,
            "records": records[records["decided"] <= split.test],
        }
    )
    population = warning_population(warning_data, list(split.train))
    np.testing.assert_array_equal(
        warning_labels(truncated, population), warning_labels(warning_data, population)
    )


# --------------------------------------------------------------------------- the trained model


def test_the_model_beats_random_and_the_ablation_has_every_method(
    trained_warning: WarningResult,
) -> None:
    m = trained_warning.metrics
    assert m["test_auc"] > 0.6
    assert m["test_precision_at_100"] > 2 * m["test_base_rate"]
    assert {"test_recall_at_50", "test_recall_at_200", "rules_flagged_precision"} <= set(m)
    ablation = trained_warning.ablation
    assert list(ablation["features"]) == ["rules", "self only", "self + graph"]
    assert ablation.loc[2, "auc"] == pytest.approx(m["test_auc"])
    assert ablation.loc[0, "flagged"] == m["rules_flagged"] > 0
    # The rules rank only their flagged enterprises: no precision beyond them.
    assert np.isnan(ablation.loc[0, "precision_at_200"]) == (m["rules_flagged"] < 200)
    assert m["monotonicity_violations"] == 0
    by_rule = trained_warning.tables["rules_by_rule"]
    assert list(by_rule["rule"]) == [r.value for r in Rule]
    assert by_rule["flagged"].sum() >= m["rules_flagged"]
    assert trained_warning.self_only_model is not None
    assert "linked_risk" not in trained_warning.self_only_model.feature_names_


def test_the_run_logs_metrics_plots_tables_and_card(
    trained_warning: WarningResult, warning_tracking: tuple[str, str]
) -> None:
    uri, artifacts = warning_tracking
    assert trained_warning.run is not None
    client = MlflowClient(uri)
    run = client.get_run(trained_warning.run.run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == WARNING_MODEL_NAME
    assert experiment.artifact_location == f"{artifacts}/{WARNING_MODEL_NAME}"
    wanted = {f"test_{m}_at_{k}" for m in ("precision", "recall") for k in (50, 100, 200)}
    assert wanted | {"test_auc", "rules_auc", "rules_flagged_precision", "self_only_auc"} <= set(
        run.data.metrics
    )
    assert run.data.params["label_kinds"] == "administrative_penalty,tax_violation,wage_arrears"
    assert run.data.params["cutoff_test"] == "2025-06-30"
    plots = {f.path for f in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/precision_at_k.png", "plots/importance.png"} <= plots
    tables = {f.path for f in client.list_artifacts(run.info.run_id, "tables")}
    assert {"tables/ablation.csv", "tables/cutoffs.csv"} <= tables
    card = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/model_card.md")
    assert "held out of training" in card and "precision_flagged" in card


def test_the_champion_alias_loads_identical_predictions(
    trained_warning: WarningResult, warning_tracking: tuple[str, str]
) -> None:
    registry = ModelRegistry(warning_tracking[0])
    assert registry.alias_version(WARNING_MODEL_NAME, CHAMPION) == "1"
    assert registry.alias_version(WARNING_MODEL_NAME, CHALLENGER) is None
    X = trained_warning.holdout[trained_warning.model.feature_names_]
    expected = trained_warning.model.predict_violation(X)
    champion = registry.load(WARNING_MODEL_NAME, CHAMPION)
    assert isinstance(champion, WarningModel)
    np.testing.assert_array_equal(champion.predict_violation(X), expected)
    with mlflow_session(warning_tracking[0]):  # the pyfunc flavour, for MLflow's own tools
        pyfunc = mlflow.pyfunc.load_model(registry.model_uri(WARNING_MODEL_NAME))
    np.testing.assert_array_equal(pyfunc.predict(X)[PROBABILITY].to_numpy(), expected)


def test_the_first_champion_passed_the_floor_and_beats_the_rules(
    trained_warning: WarningResult, warning_tracking: tuple[str, str]
) -> None:
    registry = ModelRegistry(warning_tracking[0])
    verdict = json.loads(registry.tags(WARNING_MODEL_NAME, "1")["promotion"])
    assert verdict["promoted"] and not verdict["forced"] and not verdict["failures"]
    quality = verdict["quality"]
    assert quality["auc"] >= verdict["floor"]["min_warning_auc"]
    assert quality["flagged"] == trained_warning.metrics["rules_flagged"]
    assert quality["precision_at_flagged"] >= quality["rules_precision"]
    assert trained_warning.holdout[RULES_FLAGGED].sum() == quality["flagged"]


def test_a_warning_below_the_floor_is_not_promoted(
    trained_warning: WarningResult, warning_tracking: tuple[str, str]
) -> None:
    strict = ModelRegistry(warning_tracking[0], floor=QualityFloor(min_warning_auc=0.99))
    verdict = strict.evaluate(WARNING_MODEL_NAME, "1")
    assert [f for f in verdict.failures if "below the floor 0.99" in f]


def test_the_gate_refuses_a_challenger_that_is_not_better(
    trained_warning: WarningResult,
    warning_data: PlatformData,
    warning_tracking: tuple[str, str],
) -> None:
    uri, artifacts = warning_tracking
    again = train_warning(
        warning_data,
        AS_OF,
        uri,
        artifact_location=artifacts,
        config=WarningTrainConfig(ablation=False),
    )
    assert again.run is not None and again.run.version == "2"
    assert again.self_only_model is None and "self_only_auc" not in again.metrics
    registry = ModelRegistry(uri)
    with pytest.raises(PromotionRefusedError, match="does not beat champion"):
        registry.promote(WARNING_MODEL_NAME, again.run.version)
    assert registry.alias_version(WARNING_MODEL_NAME, CHALLENGER) == "2"
    forced = registry.promote(
        WARNING_MODEL_NAME,
        again.run.version,
        force=True,
        actor="李四",
        reason="ablation-free version for the pilot",
    )
    assert forced.promoted and forced.forced
    assert registry.tags(WARNING_MODEL_NAME, again.run.version)["forced_by"] == "李四"


def test_train_config_validates() -> None:
    with pytest.raises(ValueError, match=r"valid_fraction must be in \(0, 0.5\]; got 0.6"):
        WarningTrainConfig(valid_fraction=0.6)
    with pytest.raises(ValueError, match="top_k must be distinct and non-empty"):
        WarningTrainConfig(top_k=(100, 100))
    with pytest.raises(ValueError, match="label_kinds must be negative record kinds"):
        WarningTrainConfig(label_kinds=frozenset({"license"}))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model must be a WarningConfig; got dict"):
        WarningTrainConfig(model={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a WarningTrainConfig; got dict"):
        train_warning({}, AS_OF, config={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="risk_config must be a RiskConfig; got dict"):
        train_warning({}, AS_OF, risk_config={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"max_negatives must be an int in \[1000, inf\); got 10"):
        WarningTrainConfig(max_negatives=10)
    with pytest.raises(ValueError, match=r"sample_seed must be an int in \[0, inf\); got -1"):
        WarningTrainConfig(sample_seed=-1)


# --------------------------------------------------------------------------- sampling


def test_sample_negatives_keeps_positives_and_each_cutoffs_weighted_count() -> None:
    rng = np.random.default_rng(5)
    strata = np.repeat(np.array(["2024-03-31", "2024-06-30", "2025-06-30"]), [4000, 3000, 3000])
    labels = (rng.random(strata.size) < 0.1).astype(float)
    sampled = strata != "2025-06-30"  # the test cutoff is never sampled
    sample = sample_negatives(labels, strata, sampled, 2000, seed=3)
    negatives = sampled & (labels == 0)
    assert sample.fraction == pytest.approx(2000 / negatives.sum())
    assert sample.keep[labels == 1].all() and sample.keep[~sampled].all()
    assert (sample.weight[~sampled] == 1).all() and (sample.weight[labels == 1] == 1).all()
    for cutoff in ("2024-03-31", "2024-06-30"):
        mine = negatives & (strata == cutoff)
        kept = mine & sample.keep
        assert kept.sum() == round(sample.fraction * mine.sum())
        # The kept negatives stand for all of their cutoff's, exactly.
        assert sample.weight[kept].sum() == pytest.approx(mine.sum())
    assert sample.counts == {
        "rows": 7000,
        "positives": int((sampled & (labels == 1)).sum()),
        "negatives": int(negatives.sum()),
        "rows_kept": int((sampled & sample.keep).sum()),
        "negatives_kept": int((negatives & sample.keep).sum()),
    }
    again = sample_negatives(labels, strata, sampled, 2000, seed=3)
    other = sample_negatives(labels, strata, sampled, 2000, seed=4)
    np.testing.assert_array_equal(again.keep, sample.keep)
    assert (other.keep != sample.keep).any() and other.keep.sum() == sample.keep.sum()
    everything = sample_negatives(labels, strata, sampled, None, seed=3)
    assert everything.keep.all() and (everything.weight == 1).all() and everything.fraction == 1


@pytest.fixture(scope="module")
def sampled_warning(
    warning_data: PlatformData, tmp_path_factory: pytest.TempPathFactory
) -> tuple[WarningResult, tuple[str, str]]:
    """The warning trained on every positive and about a quarter of the negatives, logged."""
    uri, artifacts = tracking_uris(tmp_path_factory.mktemp("sampled-mlflow"))
    config = WarningTrainConfig(max_negatives=2000, sample_seed=1, ablation=False)
    result = train_warning(
        warning_data, AS_OF, uri, artifact_location=artifacts, config=config, register=False
    )
    return result, (uri, artifacts)


def test_sampled_training_keeps_the_probabilities_calibrated(
    sampled_warning: tuple[WarningResult, tuple[str, str]], trained_warning: WarningResult
) -> None:
    sampled, _ = sampled_warning
    m = sampled.metrics
    assert 0.2 < m["sample_negative_fraction"] < 0.3  # 2,000 of about 8,000 negatives
    assert m["sample_negatives_kept"] == pytest.approx(2000, abs=5)
    # Every metric is on the whole test cutoff, as in the unsampled run.
    assert m["test_n"] == trained_warning.metrics["test_n"]
    assert len(sampled.holdout) == len(trained_warning.holdout)
    observed = sampled.holdout["label"].mean()
    mean_sampled = sampled.scores[PROBABILITY].mean()
    mean_full = trained_warning.scores[PROBABILITY].mean()
    # Weighted negatives keep the mean probability where the unsampled model has it, and
    # near the held-out year's rate; unweighted, the odds would be about 1 / f ≈ 4 × higher.
    assert mean_sampled == pytest.approx(mean_full, rel=0.15)
    assert mean_sampled == pytest.approx(observed, rel=0.25)
    assert m["test_auc"] > 0.6
    assert m["test_auc"] == pytest.approx(trained_warning.metrics["test_auc"], abs=0.04)
    # the gate's PSI, against the weighted held-out enterprises, is the logged one
    assert sampled.model.holdout_psi(sampled.holdout) == pytest.approx(m["psi_valid_test"])
    cutoffs = sampled.tables["cutoffs"]
    train = cutoffs[cutoffs["split"] == "train"]
    assert (train["sampled"] < train["enterprises"]).all()
    assert (train["negative_weight"] > 2.5).all()
    test = cutoffs[cutoffs["split"] == "test"].iloc[0]
    assert test["sampled"] == test["enterprises"] and test["negative_weight"] == 1


def test_sampling_is_reproducible_by_seed_and_logged(
    sampled_warning: tuple[WarningResult, tuple[str, str]], warning_data: PlatformData
) -> None:
    sampled, (uri, _) = sampled_warning
    config = WarningTrainConfig(max_negatives=2000, sample_seed=1, ablation=False)
    again = train_warning(warning_data, AS_OF, config=config)
    np.testing.assert_array_equal(again.scores[PROBABILITY], sampled.scores[PROBABILITY])
    pd.testing.assert_frame_equal(again.tables["cutoffs"], sampled.tables["cutoffs"])
    other = train_warning(warning_data, AS_OF, config=replace(config, sample_seed=2))
    assert not np.array_equal(other.scores[PROBABILITY], sampled.scores[PROBABILITY])
    assert sampled.run is not None
    run = MlflowClient(uri).get_run(sampled.run.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["max_negatives"] == "2000" and params["sample_seed"] == "1"
    assert float(params["sample_negative_fraction"]) == sampled.metrics["sample_negative_fraction"]
    for key in ("rows", "positives", "negatives", "rows_kept", "negatives_kept"):
        assert metrics[f"sample_{key}"] == sampled.metrics[f"sample_{key}"]
    assert metrics["sample_negatives_kept"] < metrics["sample_negatives"]
    card = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/model_card.md")
    assert "of their negatives" in card and "seed 1" in card


def test_the_logged_score_psi_compares_out_of_sample_scores(
    trained_warning: WarningResult, warning_data: PlatformData
) -> None:
    """psi_valid_test: the held-out enterprises' scores on the training cutoffs against the
    test year's, rebuilt here from the split (not the training rows' in-sample scores)."""
    config = WarningTrainConfig()
    split = trained_warning.split
    population = warning_population(warning_data, list(split.train))
    X = build_warning_features(
        warning_data, population, config.features, propagation=RiskConfig().propagation
    )
    held = _held_out_enterprises(
        population["uscc"].to_numpy(), config.valid_fraction, config.sample_seed
    )
    model = trained_warning.model
    p_valid = model.predict_violation(X[held])
    p_train = model.predict_violation(X[~held])
    p_test = trained_warning.scores[PROBABILITY].to_numpy()
    m = trained_warning.metrics
    assert "psi_train_test" not in m
    assert m["psi_valid_test"] == pytest.approx(PSIReference.from_sample(p_valid).psi(p_test))
    in_sample = PSIReference.from_sample(np.concatenate([p_train, p_valid])).psi(p_test)
    assert m["psi_valid_test"] != pytest.approx(in_sample)
    assert f"{m['psi_valid_test']:.3f}" in trained_warning.model_card
    # The gate's reference is those held-out scores, not the training rows' in-sample ones,
    # so the PSI the promotion gate computes on the logged held-out year is the logged PSI.
    reference = model.score_reference_
    held_out = PSIReference.from_sample(p_valid)
    np.testing.assert_allclose(reference.edges, held_out.edges)
    np.testing.assert_allclose(reference.shares, held_out.shares)
    assert reference != PSIReference.from_sample(p_train)
    assert model.holdout_psi(trained_warning.holdout) == pytest.approx(m["psi_valid_test"])
    assert model.holdout_psi(trained_warning.holdout) != pytest.approx(
        PSIReference.from_sample(p_train).psi(p_test)
    )
