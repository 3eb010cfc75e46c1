"""The learned warning: out-of-time split, the estimator, MLflow registry, rules ranking."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.data import PlatformData
from features.warning import warning_feature_specs, warning_labels, warning_population
from models.booster import LABEL
from models.exceptions import (
    ArtifactError,
    NotFittedError,
    PromotionRefusedError,
    TrainingDataError,
)
from models.metrics import precision_at_k, ranking_metrics, recall_at_k
from models.registry import WARNING_MODEL_NAME, ModelRegistry, QualityFloor
from models.rule_baseline import rule_ranking
from models.splits import warning_split
from models.tracking import CHALLENGER, CHAMPION, mlflow_session, tracking_uris
from models.warning import PROBABILITY, RULES_FLAGGED, WarningConfig, WarningModel
from models.warning_training import WarningResult, WarningTrainConfig, train_warning
from risk.rules import Level, Rule, RuleHit
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


# --------------------------------------------------------------------------- out-of-time split


def test_split_is_quarterly_and_no_training_label_reaches_the_test_year() -> None:
    split = warning_split("2026-06-30")
    assert split.test == pd.Timestamp("2025-06-30")
    assert [c.date() for c in split.train] == [
        date(2023, 6, 30),
        date(2023, 9, 30),
        date(2023, 12, 31),
        date(2024, 3, 31),
        date(2024, 6, 30),
    ]
    assert all(split.label_end(c) <= split.test for c in split.train)
    assert split.label_end(split.test) == split.end
    frame = split.to_frame()
    assert list(frame["split"]) == ["train"] * 5 + ["test"]
    assert warning_split("2026-06-30", earliest="2024-01-01").train[0] == pd.Timestamp("2024-03-31")
    with pytest.raises(TrainingDataError, match="must allow a training cutoff"):
        warning_split("2026-06-30", earliest="2025-01-01")
    with pytest.raises(ValueError, match=r"step_months must be an int in \[1, 24\]; got 0"):
        warning_split("2026-06-30", step_months=0)


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


# --------------------------------------------------------------------------- the estimator


def tiny_sample(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "count": rng.poisson(1.0, n).astype(float),
            "noise": rng.normal(size=n),
            "code": rng.integers(0, 3, n).astype(float),
        }
    )
    y = (rng.random(n) < 0.1 + 0.2 * (X["count"] > 1)).astype(float)
    return X, y


def test_estimator_is_scikit_learn_style_and_round_trips(tmp_path: Path) -> None:
    X, y = tiny_sample()
    model = WarningModel(
        WarningConfig(max_rounds=20, min_child_samples=10),
        categorical=["code"],
        monotone={"count": 1},
    )
    with pytest.raises(NotFittedError, match="WarningModel is not fitted; call fit first"):
        model.predict_proba(X)
    assert model.fit(X, y) is model
    learned = {name for name in vars(model) if name.endswith("_")}
    assert {"booster_", "feature_names_", "monotone_", "categorical_"} <= learned
    assert model.best_iteration_ == 20 and model.n_features_in_ == 3
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    holdout = X.assign(**{LABEL: y})
    assert model.monotonicity_report(holdout)["violations"].sum() == 0
    loaded = WarningModel.load(model.save(tmp_path / "estimator"))
    np.testing.assert_array_equal(loaded.predict_violation(X), model.predict_violation(X))
    assert loaded.holdout_psi(holdout) == pytest.approx(model.holdout_psi(holdout))


def test_a_broken_warning_model_is_refused_naming_the_file(tmp_path: Path) -> None:
    X, y = tiny_sample()
    model = WarningModel(WarningConfig(max_rounds=20, min_child_samples=10)).fit(X, y)
    directory = model.save(tmp_path / "estimator")
    meta_path, booster = directory / "warning_model.json", directory / "booster.txt"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta_path.write_text(json.dumps({**meta, "kind": "pd"}), "utf-8")
    with pytest.raises(ArtifactError, match=r"warning_model\.json .* kind must be 'warning'"):
        WarningModel.load(directory)
    meta_path.write_text(json.dumps(meta), "utf-8")
    text = booster.read_text("utf-8")
    booster.write_text(text[: len(text) // 2], "utf-8")
    with pytest.raises(ArtifactError, match=r"booster\.txt .*\(truncated\)"):
        WarningModel.load(directory)
    booster.unlink()
    with pytest.raises(ArtifactError, match=r"booster\.txt must exist"):
        WarningModel.load(directory)


def test_estimator_and_configs_validate_their_inputs() -> None:
    X, y = tiny_sample()
    with pytest.raises(ValueError, match=r"num_leaves must be an int in \[2, 1024\]; got 1"):
        WarningConfig(num_leaves=1)
    with pytest.raises(ValueError, match=r"learning_rate must be in \(0, 1\]; got 0"):
        WarningConfig(learning_rate=0)
    with pytest.raises(ValueError, match="monotone_method must be one of basic"):
        WarningConfig(monotone_method="strict")
    with pytest.raises(ValueError, match=r"valid_fraction must be in \(0, 0.5\]; got 0.6"):
        WarningTrainConfig(valid_fraction=0.6)
    with pytest.raises(ValueError, match="top_k must be distinct and non-empty"):
        WarningTrainConfig(top_k=(100, 100))
    with pytest.raises(ValueError, match="label_kinds must be negative record kinds"):
        WarningTrainConfig(label_kinds=frozenset({"license"}))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model must be a WarningConfig; got dict"):
        WarningTrainConfig(model={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a WarningConfig; got str"):
        WarningModel("fast").fit(X, y)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"X columns must be numeric; got .* column 'kind'"):
        WarningModel().fit(X.assign(kind="company"), y)
    with pytest.raises(TrainingDataError, match="must hold positives and negatives"):
        WarningModel().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"y must have one outcome per row \(400\); got 3"):
        WarningModel().fit(X, [0, 1, 0])
    with pytest.raises(ValueError, match="categorical column 'noise' must hold integer codes"):
        WarningModel(categorical=["noise"]).fit(X, y)
    with pytest.raises(ValueError, match="categorical must name columns of X; got 'kind'"):
        WarningModel(categorical=["kind"]).fit(X, y)
    with pytest.raises(ValueError, match=r"monotone\['count'\] must be -1, 0 or 1; got 2"):
        WarningModel(monotone={"count": 2}).fit(X, y)
    with pytest.raises(ValueError, match=r"monotone\['code'\] must be 0 for a categorical"):
        WarningModel(categorical=["code"], monotone={"code": 1}).fit(X, y)
    with pytest.raises(TypeError, match="config must be a WarningTrainConfig; got dict"):
        train_warning({}, AS_OF, config={})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- ranking


def test_precision_and_recall_at_k_by_hand() -> None:
    y = [1, 0, 1, 0, 0, 1]
    score = [0.9, 0.8, 0.7, 0.1, 0.1, 0.05]
    assert precision_at_k(y, score, 2) == 0.5 and recall_at_k(y, score, 3) == pytest.approx(2 / 3)
    assert precision_at_k(y, score, 100) == 0.5  # k beyond the rows: all of them
    metrics = ranking_metrics(y, score, (1, 4), ranked=3)
    assert metrics["precision_at_1"] == 1.0 and np.isnan(metrics["precision_at_4"])
    assert metrics["positives"] == 3 and metrics["base_rate"] == 0.5
    with pytest.raises(ValueError, match=r"k must be an int in \[1, inf\); got 0"):
        precision_at_k(y, score, 0)
    with pytest.raises(ValueError, match="y and score must have the same length"):
        recall_at_k(y, score[:2], 1)
    assert np.isnan(recall_at_k([0, 0], [1, 2], 1))


def hit(uscc: str, rule: Rule, level: Level, records: tuple[str, ...]) -> RuleHit:
    return RuleHit(
        uscc=uscc,
        rule=rule,
        level=level,
        domains=(),
        regulators=(),
        evidence={"record_ids": list(records), "records": []},
        as_of=date(2025, 6, 30),
    )


def test_rules_rank_by_level_then_rules_then_records() -> None:
    hits = [
        hit("A", Rule.linked_risk, Level.yellow, ("r1",)),
        hit("B", Rule.same_domain_frequent, Level.orange, ("r2", "r3", "r4")),
        hit("C", Rule.after_repair, Level.orange, ("r5",)),
        hit("C", Rule.multi_domain_repeat, Level.red, ("r5", "r6")),
        hit("D", Rule.same_domain_frequent, Level.orange, ("r7", "r8")),
        hit("D", Rule.after_commitment, Level.yellow, ("r9",)),
        hit("Z", Rule.linked_risk, Level.red, ("r0",)),  # not in the population
    ]
    ranking = rule_ranking(hits, ["A", "B", "C", "D", "E"]).set_index("uscc")
    assert ranking["rank"].to_dict() == {"A": 4, "B": 3, "C": 1, "D": 2, "E": 0}
    assert ranking.loc["C", "level"] == "red" and ranking.loc["C", "n_records"] == 2
    assert ranking.loc["E", "level"] is None and not ranking.loc["E", "flagged"]
    assert ranking["rules_score"].to_dict() == {"A": 1.0, "B": 2.0, "C": 4.0, "D": 3.0, "E": 0.0}


def test_feature_specs_mark_the_ablation_sources() -> None:
    specs = warning_feature_specs()
    assert {s.source for s in specs} == {"self", "graph"}
    assert [s.name for s in specs if s.categorical] == ["kind", "industry"]
