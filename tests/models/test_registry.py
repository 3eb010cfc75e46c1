"""MLflow: what a run logs, registry aliases, loading the champion, the promotion gate."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

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
    assert {"test_auc", "test_ks", "test_gini", "test_brier", "psi_score_valid_test"} <= set(
        run.data.metrics
    )
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == PD_MODEL_NAME
    assert experiment.artifact_location == f"{artifacts}/{PD_MODEL_NAME}"
    files = {f.path for f in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/calibration.png", "plots/importance.png"} <= files
    card = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/model_card.md")
    assert "Selective labels" in card and "reject-inference" in card
    # The concepts' shares of the gain are shares of the total: every concept listed, 100 %.
    listed = card.split("Every concept by share of the total gain")[1].split("\n")[0]
    shares = [float(p) for p in re.findall(r"\((\d+\.\d)%\)", listed)]
    assert shares and all(0 <= p <= 100 for p in shares)
    assert sum(shares) == pytest.approx(100, abs=0.05 * len(shares))
    assert re.search(r"public-credit records .*\d+\.\d%, graph of linked parties", card)
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
    result = registry.promote(PD_MODEL_NAME, version)  # the first champion passes the floor
    assert result.promoted and not result.forced
    assert registry.alias_version(PD_MODEL_NAME) == version
    assert result.quality["auc"] >= result.floor["min_auc"] and result.quality["bads"] >= 10
    assert registry.promote(LIMIT_MODEL_NAME, trained.limit_run.version).promoted
    X = trained.holdout[trained.pd_model.feature_names_]
    served = registry.load(PD_MODEL_NAME, CHAMPION)
    assert np.array_equal(served.predict_pd(X), trained.pd_model.predict_pd(X))
    assert np.array_equal(served.predict_grade(X), trained.pd_model.predict_grade(X))
    with mlflow_session(tracking[0]):  # the pyfunc flavour still serves MLflow's own tools
        pyfunc = mlflow.pyfunc.load_model(registry.model_uri(PD_MODEL_NAME))
    assert np.array_equal(pyfunc.predict(X)["pd"].to_numpy(), trained.pd_model.predict_pd(X))
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
    registry.promote(PD_MODEL_NAME, trained.pd_run.version)
    with mlflow_session(uri) as client:  # the same model again: equal, not better
        again = mlflow.register_model(trained.pd_run.model_uri, PD_MODEL_NAME)
        client.set_registered_model_alias(PD_MODEL_NAME, CHALLENGER, again.version)
    with pytest.raises(PromotionRefusedError, match="does not beat champion") as refused:
        registry.promote(PD_MODEL_NAME, str(again.version))
    verdict = refused.value.result
    assert verdict.challenger_score == verdict.champion_score and not verdict.promoted
    assert registry.alias_version(PD_MODEL_NAME, CHAMPION) == trained.pd_run.version
    with pytest.raises(ValueError, match="actor and reason must be given to force"):
        registry.promote(PD_MODEL_NAME, str(again.version), force=True)
    with pytest.raises(ValueError, match="reason must be given to force"):
        registry.promote(PD_MODEL_NAME, str(again.version), force=True, actor="张三")
    assert registry.alias_version(PD_MODEL_NAME, CHAMPION) == trained.pd_run.version
    forced = registry.promote(
        PD_MODEL_NAME,
        str(again.version),
        force=True,
        actor=" 张三 ",
        reason="信用办要求：以同一模型重新登记后上线",
    )
    assert forced.forced and forced.promoted and forced.failures
    assert forced.actor == "张三" and forced.promoted_at is not None
    assert registry.alias_version(PD_MODEL_NAME, CHAMPION) == str(again.version)
    assert registry.alias_version(PD_MODEL_NAME, CHALLENGER) is None
    tags = registry.tags(PD_MODEL_NAME, str(again.version))
    assert '"forced": true' in tags["promotion"]
    assert tags["forced_by"] == "张三"
    assert tags["forced_reason"] == "信用办要求：以同一模型重新登记后上线"
    assert tags["forced_at"] == forced.promoted_at
    assert json.loads(tags["forced_failures"]) == list(forced.failures)


PASSING = {"n": 300.0, "bads": 30.0, "auc": 0.8, "auc_se": 0.04}


@dataclass
class Stub:
    score: float
    violations: int = 0
    stability: float = 0.05
    needs: str | None = None  # a column the holdout lacks
    quality: dict[str, float] = field(default_factory=lambda: dict(PASSING))
    kind: str = "pd"

    def holdout_score(self, holdout: pd.DataFrame) -> float:
        if self.needs is not None and self.needs not in holdout.columns:
            raise KeyError(f"feature {self.needs!r}")
        return self.score

    def holdout_quality(self, holdout: pd.DataFrame) -> dict[str, float]:
        return self.quality

    def monotonicity_report(self, holdout: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"violations": [self.violations]})

    def holdout_psi(self, holdout: pd.DataFrame) -> float:
        return self.stability


REVIEWED = {"n": 280.0, "bads": 22.0, "auc": 0.505, "auc_se": 0.06}  # became champion once


@pytest.mark.parametrize(
    ("challenger", "champion", "holdout", "failures"),
    [
        (Stub(0.80), Stub(0.75), {}, []),
        (Stub(0.80), None, {}, []),
        (Stub(0.70), Stub(0.75), {}, ["does not beat champion"]),
        (Stub(0.80, violations=3), Stub(0.75), {}, ["monotonicity check failed on 3 rows"]),
        (Stub(0.80, stability=0.3), None, {}, ["score PSI 0.300 is not below 0.25"]),
        (Stub(0.80), Stub(0.75, needs="x"), {}, ["cannot score the challenger's holdout"]),
        (Stub(0.505, quality=REVIEWED), None, {}, ["below the floor 0.60", "not above chance"]),
        (
            Stub(0.80),
            RegistryError("credlink-pd version 1: artifact booster.txt must exist; got none"),
            {},
            ["the champion (version 1) cannot be loaded: credlink-pd version 1: artifact"],
        ),
    ],
)
def test_gate_checks(
    monkeypatch: pytest.MonkeyPatch,
    challenger: Stub,
    champion: Stub | Exception | None,
    holdout: dict[str, list[int]],  # the challenger's holdout columns
    failures: list[str],
) -> None:
    registry = ModelRegistry("sqlite:///unused.db")
    versions = {"2": challenger, "1": champion}

    def load(name: str, version: str) -> Stub | None:
        found = versions[version]
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(registry, "load", load)
    monkeypatch.setattr(registry, "resolve", lambda name, version: version)
    monkeypatch.setattr(registry, "holdout", lambda name, version: pd.DataFrame(holdout))
    monkeypatch.setattr(
        registry, "alias_version", lambda name, alias: None if champion is None else "1"
    )
    result = registry.evaluate("credlink-pd", "2")
    assert len(result.failures) == len(failures), result.failures
    for failure, expected in zip(result.failures, failures, strict=True):
        assert expected in failure
    assert result.passed == (not failures)
    assert result.quality == challenger.quality and result.floor["min_auc"] == 0.6


def test_a_champion_set_around_the_gate_is_not_served(
    trained: TrainResult, tracking: tuple[str, str]
) -> None:
    uri = tracking[0]
    registry = ModelRegistry(uri)
    assert trained.limit_run is not None
    name = "credlink-limit-by-hand"
    with mlflow_session(uri) as client:
        version = str(mlflow.register_model(trained.limit_run.model_uri, name).version)
        client.set_registered_model_alias(name, CHAMPION, version)  # as the MLflow UI would
    with pytest.raises(RegistryError, match="must be promoted through credlink's gate"):
        registry.load_champion(name)
    assert registry.promote(name, version).promoted
    served, estimator = registry.load_champion(name)
    assert served == version and estimator.weights_ == trained.limit_model.weights_


def test_unknown_models_and_bad_uris(tracking: tuple[str, str]) -> None:
    registry = ModelRegistry(tracking[0])
    with pytest.raises(RegistryError, match="model must exist in the registry"):
        registry.load("no-such-model", CHAMPION)
    assert registry.alias_version("no-such-model") is None
    assert registry.model_uri("m", "3") == "models:/m/3"
    assert registry.model_uri("m") == "models:/m@champion"
    with pytest.raises(ValueError, match="tracking_uri must be a non-empty URI"):
        ModelRegistry(" ")
