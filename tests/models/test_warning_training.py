"""Training the learned warning: out of time, against the rules, logged and gated."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.data import PlatformData
from features.warning import warning_labels, warning_population
from models.exceptions import PromotionRefusedError
from models.gate import QualityFloor
from models.registry import WARNING_MODEL_NAME, ModelRegistry
from models.tracking import CHALLENGER, CHAMPION, mlflow_session, tracking_uris
from models.warning import PROBABILITY, RULES_FLAGGED, WarningModel
from models.warning_training import WarningResult, WarningTrainConfig, train_warning
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
