"""MLflow where the user keeps it: ``MLFLOW_TRACKING_URI`` (and ``MLFLOW_REGISTRY_URI``) are
honoured, the work directory's SQLite store is only the default.

A real ``mlflow server`` on 127.0.0.1 (its own SQLite store and proxied artifacts in a
temporary directory): the pre-credit models are trained, registered and promoted through it
with the ``credlink`` commands, the pipeline assesses with its champions, and the API serves
them — and nothing MLflow is written into the work directory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME
from serving.app import create_app
from serving.cli import app as cli
from serving.precredit import mlflow_uri, model_registry
from serving.roles import KeyRole
from serving.settings import Settings
from tests.serving.conftest import copy_county

pytestmark = pytest.mark.slow

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running ``mlflow server`` (its URL), stopped after the module."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()}")
        time.sleep(0.5)
    try:
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _cli(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_train_promote_assess_and_serve_through_a_tracking_server(
    server: str,
    tmp_path_factory: pytest.TempPathFactory,
    precredit_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    county = copy_county(precredit_template, tmp_path_factory.mktemp("work"))
    work = county.settings.work_dir
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    common = ["--work-dir", str(work)]
    trained = _cli("train", "precredit", "--as-of", "2026-06-30", "--json", *common)
    runs = json.loads(trained[trained.index("{") :])
    assert runs["pd_run"]["version"] == "1" and runs["limit_run"]["version"] == "1"
    for name in (PD_MODEL_NAME, LIMIT_MODEL_NAME):
        _cli(
            "models", "promote", name, "1", "--force", "--actor", "tests",
            "--reason", "champions through the team's MLflow server", *common,
        )  # fmt: skip
    listed = json.loads(_cli("models", "list", "--json", *common))
    assert {(m["name"], m["aliases"]) for m in listed} == {
        (PD_MODEL_NAME, "champion"),
        (LIMIT_MODEL_NAME, "champion"),
    }
    report = _cli("pipeline", "run", "--as-of", "2026-06-30", "--json", *common)
    steps = {s["name"]: s for s in json.loads(report[report.index("{") :])["steps"]}
    assert "skipped" not in steps["assessments"] and steps["assessments"]["rows"] > 0
    # Everything MLflow went to the server, nothing to the work directory's default store.
    assert not (work / "mlflow.db").exists() and not (work / "mlartifacts").exists()

    settings = Settings(work_dir=work, database_url=county.settings.database_url)
    assert settings.mlflow_uris() == (server, None) and mlflow_uri(settings) == server
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        models = client.get("/v1/models", headers=county.headers(KeyRole.analyst))
        assert models.status_code == 200, models.text
        serving = {(m["name"], m["version"]) for m in models.json()["serving"]}
        assert serving == {(PD_MODEL_NAME, "1"), (LIMIT_MODEL_NAME, "1")}
        uscc = county.linked_uscc
        authorization = {
            "id": "SQ-2026-000901",
            "purpose": "pre_credit",
            "granted_at": "2026-01-01",
            "expires_at": (date.today() + timedelta(days=90)).isoformat(),
        }
        answer = client.post(
            "/v1/precredit/assessments",
            json={"uscc": uscc, "authorization": authorization},
            headers=county.headers(KeyRole.bank, bank_authorization=False),
        )
        assert answer.status_code == 200, answer.text
        assert {m["version"] for m in answer.json()["models"]} == {"1"}
        page = client.get("/ui/models", headers=county.headers(KeyRole.credit_office))
        assert page.status_code in (200, 303, 401)  # the pages need a session; no 500
    county.engine.dispose()


def test_the_environment_names_the_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    default = Settings(work_dir=tmp_path)
    tracking, artifacts = default.mlflow_uris()
    assert tracking == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert artifacts == (tmp_path.resolve() / "mlartifacts").as_uri()
    assert not default.has_mlflow_store() and mlflow_uri(default) is None
    (tmp_path / "mlflow.db").touch()
    assert default.has_mlflow_store()

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "postgresql://registry.internal/models")
    configured = Settings(work_dir=tmp_path)
    assert configured.mlflow_uris() == ("http://mlflow.internal:5000", None)
    registry = model_registry(configured)
    assert registry.tracking_uri == "http://mlflow.internal:5000"
    assert registry.registry_uri == "postgresql://registry.internal/models"

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "  ")  # empty, as MLflow reads it: unset
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    blank = Settings(work_dir=tmp_path)
    assert blank.mlflow_uris()[0].startswith("sqlite:///") and blank.mlflow_registry_uri is None
