"""Readiness follows the configured champions; the assessments come from the current score
set, which says when it was assessed by other versions than the loaded champions; a reload
that meets a broken version changes nothing and says which file is broken.

One county of 3,000 enterprises with the pre-credit models trained into its work directory
(version 1 of each, not yet champion: a copy of the session's ``trained_county``); other tests
use work directories of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from models.pd import PDModel
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.tracking import CHAMPION, ModelRun, log_model_run, mlflow_session, tracking_uris
from risk.config import RiskConfig
from risk.store import read_table
from serving import precredit
from serving.app import create_app
from serving.pipeline import run_pipeline
from serving.roles import KeyRole
from serving.settings import SERVED_MODELS, Settings
from tests.serving.conftest import AUTHORIZATION_EXPIRES, ApiCounty

RELOAD = "/v1/admin/models/reload"
ASSESS = "/v1/precredit/assessments"
AUTH = {
    "id": "SQ-2026-000778",
    "purpose": "pre_credit",
    "granted_at": "2026-01-01",
    "expires_at": AUTHORIZATION_EXPIRES.isoformat(),
}


@dataclass(frozen=True)
class Trained:
    """What the training left: version 1 of each model, the PD model and its holdout."""

    versions: dict[str, str]
    pd_model: PDModel
    holdout: pd.DataFrame


@pytest.fixture(scope="module")
def county(trained_county: ApiCounty, trained_template: Path) -> tuple[ApiCounty, Trained]:
    """The county and its trained, registered, not yet promoted pre-credit models."""
    uri = tracking_uris(trained_county.settings.work_dir)[0]
    pd_model = ModelRegistry(uri).load(PD_MODEL_NAME, "1")
    assert isinstance(pd_model, PDModel)
    holdout = pd.read_parquet(trained_template / "holdout.parquet")
    versions = {PD_MODEL_NAME: "1", LIMIT_MODEL_NAME: "1"}
    return trained_county, Trained(versions, pd_model, holdout)


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def _serving(client: TestClient) -> set[tuple[str, str]]:
    return {(m.name, m.version) for m in client.app.state.credlink.models.values()}  # type: ignore[attr-defined]


def _assess(client: TestClient, county: ApiCounty, uscc: str) -> Any:
    bank = county.headers(KeyRole.bank, bank_authorization=False)
    return client.post(ASSESS, json={"uscc": uscc, "authorization": AUTH}, headers=bank)


def _ready_within(client: TestClient, seconds: float, check: Any) -> Any:
    """``/readyz`` once ``check(response)`` holds (a new score set shows within a second)."""
    deadline = time.monotonic() + seconds
    while True:
        ready = client.get("/readyz")
        if check(ready) or time.monotonic() > deadline:
            return ready
        time.sleep(0.1)


def test_readyz_waits_for_champions_and_a_broken_reload_changes_nothing(
    county: tuple[ApiCounty, Trained],
) -> None:
    built, trained = county
    uri, artifacts = tracking_uris(built.settings.work_dir)
    with mlflow_session(uri) as mlflow_client:  # as someone would in the MLflow UI
        for name, version in trained.versions.items():
            mlflow_client.set_registered_model_alias(name, CHAMPION, version)
    admin = built.headers(KeyRole.admin)
    uscc = str(read_table(built.engine, "enterprises", columns=["uscc"])["uscc"].iloc[0])
    with TestClient(create_app(built.settings)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        error = _error(ready)
        assert error["code"] == "unavailable"
        assert PD_MODEL_NAME in error["message"] and LIMIT_MODEL_NAME in error["message"]
        assert "promoted through credlink's gate" in error["message"]
        assert ready.headers["X-Request-Id"] == error["request_id"]

        registry = ModelRegistry(uri)
        for name, version in trained.versions.items():
            assert registry.promote(name, version).promoted
        assert client.post(RELOAD, headers=admin).status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert {(m["name"], m["version"]) for m in ready.json()["models"]} == {
            (PD_MODEL_NAME, "1"),
            (LIMIT_MODEL_NAME, "1"),
        }
        # The current score set was computed before there were champions: no assessments
        # to answer from until the pipeline assesses with them.
        assert "holds no pre-credit assessments" in ready.json()["score_set"]["problems"][0]
        refused = _assess(client, built, uscc)
        assert refused.status_code == 503 and "credlink pipeline run" in refused.text
        run_pipeline(built.engine, built.as_of, RiskConfig(), mlflow_uri=uri)
        ready = _ready_within(client, 3, lambda r: not r.json()["score_set"]["problems"])
        assert ready.json()["score_set"]["problems"] == []
        assessed = _assess(client, built, uscc)
        assert assessed.status_code == 200, assessed.text
        assert {(m["name"], m["version"]) for m in assessed.json()["models"]} == {
            (PD_MODEL_NAME, "1"),
            (LIMIT_MODEL_NAME, "1"),
        }

        # Version 2: its own files, forced past "not better". Once loaded, answers still come
        # from the set (assessed by version 1), and the service says so.
        again = log_model_run(
            ModelRun(
                experiment=PD_MODEL_NAME,
                registered_name=PD_MODEL_NAME,
                estimator=trained.pd_model,
                input_example=trained.holdout[trained.pd_model.feature_names_].head(5),
                holdout=trained.holdout,
            ),
            uri,
            artifacts,
        )
        assert again.version == "2"
        registry.promote(
            PD_MODEL_NAME, "2", force=True, actor="王五", reason="reload test: broken later"
        )
        assert client.post(RELOAD, headers=admin).status_code == 200
        assert _serving(client) == {(PD_MODEL_NAME, "2"), (LIMIT_MODEL_NAME, "1")}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        (problem,) = ready.json()["score_set"]["problems"]
        assert f"{PD_MODEL_NAME}: score set" in problem and "version 1" in problem
        assert "the loaded champion is version 2" in problem
        listed = client.get("/v1/models", headers=admin).json()
        assert listed["problems"] == [problem]
        assert {(m["name"], m["version"]) for m in listed["answering"]} == {
            (PD_MODEL_NAME, "1"),
            (LIMIT_MODEL_NAME, "1"),
        }
        answered = _assess(client, built, uscc)
        assert answered.status_code == 200
        assert answered.json() == assessed.json()  # from the set, not from version 2

        # Then version 2's booster breaks: a reload fails and changes nothing.
        with mlflow_session(uri) as mlflow_client:
            location = mlflow_client.get_model_version_download_uri(PD_MODEL_NAME, "2")
        booster = Path(unquote(urlparse(location).path)) / "artifacts/estimator/booster.txt"
        booster.write_bytes(booster.read_bytes()[:5000])
        failed = client.post(RELOAD, headers=admin)
        assert failed.status_code == 503, failed.text
        error = _error(failed)
        assert error["code"] == "model_unavailable" and "still serving" in error["message"]
        assert f"{PD_MODEL_NAME} version 2: artifact booster.txt" in error["message"]
        assert "Traceback" not in failed.text
        assert _serving(client) == {(PD_MODEL_NAME, "2"), (LIMIT_MODEL_NAME, "1")}
        assert client.get("/readyz").status_code == 200  # the loaded champions keep serving
        assert _assess(client, built, uscc).status_code == 200

    # A fresh start meets the broken champion: not ready, saying why; liveness still fine.
    with TestClient(create_app(built.settings)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "booster.txt" in _error(ready)["message"]


def test_readiness_follows_the_setting(county: tuple[ApiCounty, Trained], tmp_path: Path) -> None:
    built, _ = county
    bare = built.settings.model_copy(update={"work_dir": tmp_path})  # no MLflow store
    with TestClient(create_app(bare)) as client:  # auto: nothing to wait for
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["models"] == []
    required = Settings(
        work_dir=tmp_path,
        database_url=built.settings.database_url,
        as_of=built.as_of,
        required_models="credlink-pd,credlink-limit",
    )
    with TestClient(create_app(required)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "no MLflow store" in _error(ready)["message"]
    ModelRegistry(tracking_uris(tmp_path)[0]).list_models()  # an MLflow store, no champions
    with TestClient(create_app(bare)) as client:  # auto: a store means champions are expected
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert f"{PD_MODEL_NAME}@champion must exist" in _error(ready)["message"]
    none = bare.model_copy(update={"required_models": ()})
    with TestClient(create_app(none)) as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("auto", None),
        (" AUTO ", None),
        ("none", ()),
        ("credlink-pd, credlink-limit", (PD_MODEL_NAME, LIMIT_MODEL_NAME)),
        ("credlink-limit", (LIMIT_MODEL_NAME,)),
    ],
)
def test_the_required_models_setting(
    value: str, expected: tuple[str, ...] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDLINK_REQUIRED_MODELS", value)
    assert Settings().required_models == expected
    assert Settings(required_models=value).required_models == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "must be auto, none or a comma-separated list"),
        ("credlink-warning", "got 'credlink-warning'"),
        ("credlink-pd,,credlink-limit", "got ''"),
        ("credlink-pd,credlink-pd", "must not repeat"),
    ],
)
def test_the_required_models_setting_refuses_what_the_api_cannot_load(
    value: str, match: str
) -> None:
    with pytest.raises(ValidationError, match=match):
        Settings(required_models=value)


def test_the_setting_knows_the_champions_the_api_loads() -> None:
    assert precredit.MODEL_NAMES == SERVED_MODELS
