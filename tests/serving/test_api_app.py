"""The app as operations see it: health, readiness, metrics, the one error shape, 500s and a
failing audit store, the OpenAPI document, settings and ``credlink serve``."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr, ValidationError
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

import serving.audit
import serving.crud
from risk.store import audit_log
from risk.warnings import list_warnings
from serving.cli.serve import APP_FACTORY, serve, serve_command, settings_environment
from serving.limits import GuardedHttpToolsProtocol
from serving.roles import KeyRole
from serving.settings import Settings
from tests.serving.conftest import ApiCounty, body_digest

runner = CliRunner()
ERROR_KEYS = {"code", "message", "field", "check", "details", "request_id"}


def _metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when absent)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


# --------------------------------------------------------------------------- operations


def test_healthz_and_readyz(client: TestClient, api_county: ApiCounty) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    graph = body["graph"]
    assert graph["as_of"] == api_county.as_of.isoformat()
    assert graph["enterprises"] == 1000
    assert graph["persons"] == len(api_county.persons)
    assert graph["nodes"] >= graph["enterprises"] + graph["persons"]
    assert graph["edges"] > 0 and graph["signal_records"] > 0
    assert body["models"] == []


def test_not_ready_is_503_in_the_error_shape(
    client: TestClient, api_county: ApiCounty, no_score_set: None
) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "unavailable"
    assert "credlink pipeline run" in ready.json()["error"]["message"]
    risk = client.get(
        f"/v1/entities/{api_county.linked_uscc}/risk",
        headers=api_county.headers(KeyRole.analyst),
    )
    assert risk.status_code == 503


def test_metrics_count_requests_by_route_template_and_status(
    client: TestClient, api_county: ApiCounty
) -> None:
    office = api_county.headers(KeyRole.credit_office)
    route = "/v1/entities/{uscc}/risk"
    admin = api_county.headers(KeyRole.admin)
    before = client.get("/metrics", headers=admin).text
    client.get(f"/v1/entities/{api_county.linked_uscc}/risk", headers=office)
    client.get("/v1/entities/91110000600037341L/risk", headers=office)
    client.get(
        f"/v1/entities/{api_county.linked_uscc}/risk", headers=api_county.headers(KeyRole.bank)
    )
    client.get("/no/such/route")
    response = client.get("/metrics", headers=admin)
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    def delta(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert delta("credlink_http_requests_total", method="GET", route=route, status="200") == 2
    assert delta("credlink_http_requests_total", method="GET", route=route, status="404") == 1
    assert delta("credlink_http_requests_total", route="<unmatched>", status="404") == 1
    assert delta("credlink_http_request_duration_seconds_count", route=route, status="200") == 2
    assert delta("credlink_audit_writes_total", outcome="ok") == 1
    assert api_county.linked_uscc not in after  # templates only, never raw paths
    for status in ("new", "dispatched", "acknowledged", "closed"):
        expected = list_warnings(api_county.engine, status=status, limit=1).total
        assert _metric(after, "credlink_warnings", status=status) == expected
    assert _metric(after, "credlink_graph_nodes", node_type="enterprise") == 1000


# --------------------------------------------------------------------------- errors


def test_routing_errors_have_the_one_shape(client: TestClient, api_county: ApiCounty) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == ERROR_KEYS
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.post("/v1/warnings", headers=api_county.headers(KeyRole.admin))
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.json()["error"]["request_id"] == wrong.headers["x-request-id"]
    bad_json = client.patch(
        "/v1/warnings/1",
        content=b"{not json",
        headers={**api_county.headers(KeyRole.admin), "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 422
    assert bad_json.json()["error"]["check"] == "json_invalid"


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("secret internals")


def test_a_crash_is_a_500_in_the_one_shape_and_still_audited(
    client: TestClient, api_county: ApiCounty, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving.crud, "entity_risk", _boom)
    url = f"/v1/entities/{api_county.linked_uscc}/risk"
    office = client.get(url, headers=api_county.headers(KeyRole.credit_office))
    assert office.status_code == 500
    assert office.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in office.text

    before = api_county.audit_count()
    bank = client.get(url, headers=api_county.headers(KeyRole.bank))
    assert bank.status_code == 500 and set(bank.json()["error"]) == ERROR_KEYS
    assert api_county.audit_count() == before + 1
    assert "x-audit-id" in bank.headers
    with api_county.engine.connect() as conn:
        row = conn.execute(
            select(audit_log).where(audit_log.c.id == int(bank.headers["x-audit-id"]))
        ).one()
    assert row.status == 500 and row.response_sha256 == body_digest(bank)


def _audit_store_down(*args: Any, **kwargs: Any) -> int:
    raise OperationalError("INSERT INTO audit_log", {}, Exception("database is locked"))


def test_no_audit_row_no_data(
    client: TestClient, api_county: ApiCounty, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving.audit, "insert_audit_rows", _audit_store_down)
    before = api_county.audit_count()
    url = f"/v1/entities/{api_county.linked_uscc}/risk"
    bank = client.get(url, headers=api_county.headers(KeyRole.bank))
    assert bank.status_code == 503
    assert bank.json()["error"]["code"] == "audit_unavailable"
    assert "top_sources" not in bank.text and "x-audit-id" not in bank.headers
    assert api_county.audit_count() == before
    # Other roles are not audited, so they are not affected.
    assert client.get(url, headers=api_county.headers(KeyRole.analyst)).status_code == 200
    metrics = client.get("/metrics", headers=api_county.headers(KeyRole.admin)).text
    assert _metric(metrics, "credlink_audit_writes_total", outcome="failed") >= 1
    assert (
        _metric(
            metrics, "credlink_http_requests_total", route="/v1/entities/{uscc}/risk", status="503"
        )
        >= 1
    )


# --------------------------------------------------------------------------- OpenAPI


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def test_openapi_has_an_example_and_the_error_shape_for_every_endpoint(
    client: TestClient, api_county: ApiCounty
) -> None:
    document = client.get("/openapi.json", headers=api_county.headers(KeyRole.analyst)).json()
    assert {"ApiKey", "Bearer"} <= set(document["components"]["securitySchemes"])
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    assert len(operations) == 15  # POST /v1/records included
    for path, method, op in operations:
        ok = op["responses"]["200"]["content"]
        media, content = next(iter(ok.items()))
        example = content.get("example") or content.get("examples")
        if not example:
            example = _resolve(document, content["schema"]).get("examples")
        assert example, (method, path, media)
        if path.startswith("/v1/"):
            assert op["security"], (method, path)
            for status in ("401", "403", "422"):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorResponse"), (method, path, status)
        for parameter in op.get("parameters", []):
            assert parameter["schema"].get("examples"), (method, path, parameter["name"])
        if "requestBody" in op:
            body = op["requestBody"]["content"]["application/json"]
            assert body.get("examples"), (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


# --------------------------------------------------------------------------- settings, serve


def test_settings_for_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINK_PORT", "9001")
    monkeypatch.setenv("CREDLINK_WORKERS", "3")
    monkeypatch.setenv("CREDLINK_AS_OF", "2026-06-30")
    settings = Settings()
    assert (settings.port, settings.workers, settings.snapshot_date) == (9001, 3, date(2026, 6, 30))
    assert settings.host == "127.0.0.1"
    monkeypatch.delenv("CREDLINK_AS_OF")
    assert Settings().snapshot_date == date.today()
    for name, value in (("CREDLINK_PORT", "0"), ("CREDLINK_WORKERS", "0"), ("CREDLINK_AS_OF", "x")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError):
            Settings()
        monkeypatch.delenv(name)


@pytest.fixture
def captured_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {}

    def fake_run(app: str, **kwargs: Any) -> None:
        calls["app"] = app
        calls.update(kwargs)
        calls["environ"] = dict(os.environ)

    def fake_workers(config: dict[str, Any], workers: int) -> int:
        fake_run(**config)
        calls["workers"] = workers
        return 0

    monkeypatch.setattr("uvicorn.run", fake_run)
    monkeypatch.setattr("serving.workers.run_workers", fake_workers)
    monkeypatch.setattr(os, "environ", dict(os.environ))
    return calls


def test_serve_migrates_pins_the_date_and_runs_uvicorn_in_factory_mode(
    tmp_path: Path, captured_run: dict[str, Any]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(database_url=url, work_dir=tmp_path, host="0.0.0.0", port=8123, workers=2)
    serve(settings)
    assert captured_run["app"] == APP_FACTORY == "serving.app:create_app"
    assert captured_run["factory"] is True
    assert captured_run["loop"] == "uvloop"
    assert captured_run["http"].func is GuardedHttpToolsProtocol  # httptools, header limits
    assert (captured_run["host"], captured_run["port"], captured_run["workers"]) == (
        "0.0.0.0",
        8123,
        2,
    )
    environ = captured_run["environ"]
    assert environ["CREDLINK_DATABASE_URL"] == url
    assert environ["CREDLINK_AS_OF"] == date.today().isoformat()
    assert environ["CREDLINK_WORKERS"] == "2"
    assert {"api_keys", "audit_log"} <= set(inspect(create_engine(url)).get_table_names())
    # The workers rebuild exactly these settings from the environment.
    rebuilt = Settings()  # reads the patched environment
    assert rebuilt.store_url == url and rebuilt.port == 8123


def test_settings_environment_passes_the_salt_and_the_date() -> None:
    env = settings_environment(Settings(id_salt=SecretStr("s" * 20), as_of=date(2026, 1, 2)))
    assert env["CREDLINK_ID_SALT"] == "s" * 20
    assert env["CREDLINK_AS_OF"] == "2026-01-02"
    assert "CREDLINK_DATABASE_URL" not in env


def test_serve_command_options(tmp_path: Path, captured_run: dict[str, Any]) -> None:
    app = typer.Typer()
    app.command("serve")(serve_command)

    @app.callback()
    def main() -> None:
        """credlink (test)"""

    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = runner.invoke(
        app,
        [
            "serve",
            "--port",
            "8124",
            "--workers",
            "1",
            "--as-of",
            "2026-06-30",
            "--database-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert captured_run["port"] == 8124
    assert captured_run["environ"]["CREDLINK_AS_OF"] == "2026-06-30"
    bad = runner.invoke(app, ["serve", "--as-of", "June", "--database-url", url])
    assert bad.exit_code == 2
    assert runner.invoke(app, ["serve", "--port", "0"]).exit_code == 2
