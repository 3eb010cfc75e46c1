"""MLflow: what a run logs, registry aliases, loading the champion, the promotion gate."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from models.exceptions import PromotionRefusedError, RegistryError
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.tracking import CHALLENGER, CHAMPION, mlflow_session, tracking_uris
from models.training import TrainResult


def test_tracking_uris(tmp_path) -> None:
    uri, artifacts = tracking_uris(tmp_path / "work")
    assert uri == f"sqlite:///{(tmp_path / 'work').resolve()}/mlflow.db"
    assert artifacts == (tmp_path / "work" / "mlartifacts").resolve().as_uri()


def test_the_run_logs_plots_card_vocabulary_and_signature(
    trained: TrainResult, tracking: tuple[str, str]
) -> None:
    uri, artifacts = tracking
    assert trained.pd_run is not None and trained.limit_run is not None
    client = MlflowClient(uri)
    run = client.get_run(trained.pd_run.run_id)
    assert run.data.params["pd.num_leaves"] == "15" and run.data.params["features.graph"] == "True"
    assert {"test_auc", "test_ks", "test_gini", "test_brier", "psi_score_train_test"} <= set(
        run.data.metrics
    )
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == PD_MODEL_NAME
    assert experiment.artifact_location == f"{artifacts}/{PD_MODEL_NAME}"
    files = {f.path for f in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/calibration.png", "plots/importance.png"} <= files
    card = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/model_card.md")
    assert "Selective labels" in card and "reject-inference" in card
    vocabulary = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/vocabulary.json")
    assert "kind" in vocabulary["vocabulary"] and "company" in vocabulary["vocabulary"]["kind"]
    with mlflow_session(uri):
        info = mlflow.models.get_model_info(trained.pd_run.model_uri)
    inputs = {c.name: c.type.name for c in info.signature.inputs.inputs}
    assert inputs["kind"] == "string" and inputs["tax_paid_12m"] == "double"
    limit_run = client.get_run(trained.limit_run.run_id)
    assert client.get_experiment(limit_run.info.experiment_id).name == LIMIT_MODEL_NAME
    assert "limit_model_loss_rate" not in limit_run.data.metrics
    assert {"model_loss_rate", "rule_loss_rate", "model_median_error"} <= set(
        limit_run.data.metrics
    )


def test_promote_then_load_the_champion_identically(
    trained: TrainResult, tracking: tuple[str, str]
) -> None:
    registry = ModelRegistry(tracking[0])
    assert trained.pd_run is not None and trained.limit_run is not None
    version = trained.pd_run.version
    result = registry.promote(PD_MODEL_NAME, version, force=True)
    assert result.promoted and registry.alias_version(PD_MODEL_NAME, CHAMPION) == version
    registry.promote(LIMIT_MODEL_NAME, trained.limit_run.version, force=True)
    X = trained.holdout[trained.pd_model.feature_names_]
    loaded = registry.load_pyfunc(PD_MODEL_NAME, CHAMPION).predict(X)
    assert np.array_equal(loaded["pd"].to_numpy(), trained.pd_model.predict_pd(X))
    assert np.array_equal(loaded["grade"].to_numpy(), trained.pd_model.predict_grade(X))
    limits = registry.load(LIMIT_MODEL_NAME, CHAMPION).predict_frame(trained.holdout)
    assert limits["suggested_limit"].tolist() == trained.holdout["suggested_limit"].tolist()
    listed = registry.list_models()
    champion_row = listed[(listed["name"] == PD_MODEL_NAME) & (listed["version"] == version)]
    assert champion_row["aliases"].iloc[0] == CHAMPION


def test_gate_refuses_a_challenger_that_is_no_better_unless_forced(
    trained: TrainResult, tracking: tuple[str, str]
) -> None:
    uri = tracking[0]
    registry = ModelRegistry(uri)
    assert trained.pd_run is not None
    registry.promote(PD_MODEL_NAME, trained.pd_run.version, force=True)
    with mlflow_session(uri) as client:  # the same model again: equal, not better
        again = mlflow.register_model(trained.pd_run.model_uri, PD_MODEL_NAME)
        client.set_registered_model_alias(PD_MODEL_NAME, CHALLENGER, again.version)
    with pytest.raises(PromotionRefusedError, match="does not beat champion") as refused:
        registry.promote(PD_MODEL_NAME, str(again.version))
    verdict = refused.value.result
    assert verdict.challenger_score == verdict.champion_score and not verdict.promoted
    assert registry.alias_version(PD_MODEL_NAME, CHAMPION) == trained.pd_run.version
    forced = registry.promote(PD_MODEL_NAME, str(again.version), force=True)
    assert forced.forced and forced.promoted and forced.failures
    assert registry.alias_version(PD_MODEL_NAME, CHAMPION) == str(again.version)
    assert registry.alias_version(PD_MODEL_NAME, CHALLENGER) is None
    with mlflow_session(uri) as client:
        tags = client.get_model_version(PD_MODEL_NAME, str(again.version)).tags
    assert '"forced": true' in tags["promotion"]


@dataclass
class Stub:
    score: float
    violations: int = 0
    stability: float = 0.05
    needs: str | None = None  # a column the holdout lacks

    def holdout_score(self, holdout: pd.DataFrame) -> float:
        if self.needs is not None and self.needs not in holdout.columns:
            raise KeyError(f"feature {self.needs!r}")
        return self.score

    def monotonicity_report(self, holdout: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"violations": [self.violations]})

    def holdout_psi(self, holdout: pd.DataFrame) -> float:
        return self.stability


@pytest.mark.parametrize(
    ("challenger", "champion", "holdout", "failures"),
    [
        (Stub(0.80), Stub(0.75), {}, []),
        (Stub(0.80), None, {}, []),
        (Stub(0.70), Stub(0.75), {}, ["does not beat champion"]),
        (Stub(0.80, violations=3), Stub(0.75), {}, ["monotonicity check failed on 3 rows"]),
        (Stub(0.80, stability=0.3), None, {}, ["score PSI 0.300 is not below 0.25"]),
        (Stub(0.80), Stub(0.75, needs="x"), {}, ["cannot score the challenger's holdout"]),
    ],
)
def test_gate_checks(
    monkeypatch: pytest.MonkeyPatch,
    challenger: Stub,
    champion: Stub | None,
    holdout: dict[str, list[int]],  # the challenger's holdout columns
    failures: list[str],
) -> None:
    registry = ModelRegistry("sqlite:///unused.db")
    versions = {"2": challenger, "1": champion}
    monkeypatch.setattr(registry, "load", lambda name, version: versions[version])
    monkeypatch.setattr(registry, "holdout", lambda name, version: pd.DataFrame(holdout))
    monkeypatch.setattr(
        registry, "alias_version", lambda name, alias: None if champion is None else "1"
    )
    result = registry.evaluate("credlink-pd", "2")
    assert len(result.failures) == len(failures)
    for failure, expected in zip(result.failures, failures, strict=True):
        assert expected in failure
    assert result.passed == (not failures)


def test_unknown_models_and_bad_uris(tracking: tuple[str, str]) -> None:
    registry = ModelRegistry(tracking[0])
    with pytest.raises(RegistryError, match="model must exist in the registry"):
        registry.load("no-such-model", CHAMPION)
    assert registry.alias_version("no-such-model") is None
    assert registry.model_uri("m", "3") == "models:/m/3"
    assert registry.model_uri("m") == "models:/m@champion"
    with pytest.raises(ValueError, match="tracking_uri must be a non-empty URI"):
        ModelRegistry(" ")
