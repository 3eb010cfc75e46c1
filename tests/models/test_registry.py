"""MLflow: what a run logs, registry aliases, loading the champion, the promotion gate."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from models.exceptions import PromotionRefusedError, RegistryError
from models.registry import (
    LIMIT_MODEL_NAME,
    PD_MODEL_NAME,
    ModelRegistry,
    QualityFloor,
    check_accountability,
)
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


@pytest.mark.parametrize(
    ("kind", "quality", "failures"),
    [
        ("pd", PASSING, []),
        ("pd", {**PASSING, "auc": 0.59}, ["holdout AUC 0.590 is below the floor 0.60"]),
        ("pd", {**PASSING, "bads": 9.0}, ["holdout has 9 bads, fewer than the floor's 10"]),
        # 0.65 ± 1.96 × 0.08: the lower bound 0.493 is not above chance.
        ("pd", {**PASSING, "auc": 0.65, "auc_se": 0.08}, ["lower bound 0.493 on 30 bads"]),
        ("pd", {}, ["fewer than", "below the floor", "not above chance"]),
        (
            "warning",
            {**PASSING, "auc": 0.57, "auc_se": 0.01, "flagged": 40.0, "precision_at_flagged": 0.3}
            | {"rules_precision": 0.2},
            [],
        ),
        (
            "warning",
            {**PASSING, "auc": 0.54, "auc_se": 0.01, "flagged": 0.0},
            ["holdout AUC 0.540 is below the floor 0.55"],
        ),
        (
            "warning",
            {**PASSING, "flagged": 40.0, "precision_at_flagged": 0.15, "rules_precision": 0.2},
            ["at the rules' workload (40 flagged) precision 0.150 is below the rules' 0.200"],
        ),
        ("warning", PASSING, ["no rule flags"]),
        ("limit", {"performed": 40.0, "mae": 20.0, "rule_mae": 21.0, "rank_correlation": 0.7}, []),
        (
            "limit",
            {"performed": 29.0, "mae": 22.0, "rule_mae": 21.0, "rank_correlation": 0.4},
            [
                "29 performed loans, fewer than the floor's 30",
                "22.0 万元 does not beat the 银税互动 rule of thumb's 21.0",
                "rank correlation with approved amounts 0.400 is below the floor 0.50",
            ],
        ),
    ],
)
def test_the_quality_floor(kind: str, quality: dict[str, float], failures: list[str]) -> None:
    found = QualityFloor().failures(kind, quality)
    assert len(found) == len(failures), found
    for failure, expected in zip(found, failures, strict=True):
        assert expected in failure


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        ({"min_auc": 0.4}, ValueError, "min_auc must be in"),
        ({"min_warning_auc": 1.2}, ValueError, "min_warning_auc must be in"),
        ({"min_bads": 0}, ValueError, "min_bads must be"),
        ({"min_bads": 2.5}, TypeError, "min_bads must be an int"),
        ({"confidence": 1.0}, ValueError, "confidence must be in"),
        ({"min_performed": 0}, ValueError, "min_performed must be"),
        ({"min_rank_correlation": -2}, ValueError, "min_rank_correlation must be in"),
        ({"max_psi": 0}, ValueError, "max_psi must be in"),
    ],
)
def test_the_floor_validates_its_thresholds(
    settings: dict[str, float], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        QualityFloor(**settings)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floor must be a QualityFloor"):
        ModelRegistry("sqlite:///unused.db", floor=0.6)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("actor", "reason", "error", "match"),
    [
        ("", "a reason long enough", ValueError, "actor must have 1–100 characters; got 0"),
        ("x" * 101, "a reason long enough", ValueError, "actor must have 1–100 characters"),
        (7, "a reason long enough", TypeError, "actor must be a str; got int"),
        ("张三", "too short", ValueError, "reason must have 10–500 characters; got 9"),
        ("张三", "r" * 501, ValueError, "reason must have 10–500 characters; got 501"),
        ("张三\x1b[2J", "a reason long enough", ValueError, "actor must not hold control"),
        ("张三", "line one\nline two", ValueError, "reason must not hold control"),
        ("张三 11010519491231002X", "a reason long enough", ValueError, "resident ID number"),
        ("张三", "for 11010519491231002X, urgent", ValueError, "reason must not hold a resident"),
    ],
)
def test_who_and_why_are_checked(
    actor: object, reason: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as raised:
        check_accountability(actor, reason)
    assert "11010519491231002X" not in str(raised.value)


def test_who_and_why_are_stripped_and_optional_without_force() -> None:
    checked = check_accountability(" 张三 ", " 模型月度复核通过后上线 \t")
    assert checked == ("张三", "模型月度复核通过后上线")
    assert check_accountability(None, None) == (None, None)


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
