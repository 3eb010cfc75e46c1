"""One risk configuration (:class:`risk.config.RiskConfig`) for every score of a deployment.

With a non-default ``CREDLINK_RISK_CONFIG_FILE``, the linked risk a caller is served
(``/v1/entities/{uscc}/risk``, from the score set the pipeline computed with that file), the
linked risk the warning rules fired on (``credlink warn run``, kept in the warning's evidence)
and the PD model's linked-risk feature (without the enterprise's own echo) of the loaded
champions, trained with that file, all equal what a
:class:`risk.propagation.RiskPropagator` with that file's settings computes — and differ
from what the defaults give. The service reads the file once
(:attr:`serving.state.ServiceState.risk_config`); the command line reads it in each command.

The snapshot date is the first of a month, the pre-credit features' linked-risk cutoff, so
that the three are computed on the same day.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from typer.testing import CliRunner

from features.data import PlatformData
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.tracking import tracking_uris
from models.training import train_precredit
from risk import GraphSnapshot, PropagationConfig, RiskPropagator
from risk.config import RiskConfig
from risk.propagation import read_signal_records
from risk.store import warning_events_table, warnings_table
from risk.warnings import list_warnings
from serving.app import create_app
from serving.cli import app as cli
from serving.pipeline import run_pipeline
from serving.precredit import Champions
from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty, copy_county

DAY = date(2026, 6, 1)
"""The snapshot date: a month's first day (module docstring)."""

SETTINGS = {
    "propagation": {"alpha": 0.3, "hops": 2, "kind_weights.dishonest_debtor": 0.6},
    "rules": {"linked_threshold": 0.95},
}


def _linked(engine: object, config: PropagationConfig, uscc: str) -> tuple[float, float]:
    """Linked risk of ``uscc`` on :data:`DAY` with ``config``: with and without the walks
    that return to it."""
    snapshot = GraphSnapshot.from_store(engine, DAY)  # type: ignore[arg-type]
    propagator = RiskPropagator(config).fit(snapshot)
    scores = propagator.score(read_signal_records(engine, DAY))  # type: ignore[arg-type]
    linked = float(scores.linked_risk[snapshot.index_of(uscc)])
    return linked, float(propagator.linked_risk_excluding_self(scores, [uscc]).iloc[0])


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory, precredit_template: Path) -> ApiCounty:
    """The pre-credit county with the settings file, and champions trained with it (a PD
    model is scored only with the propagation it was trained with)."""
    built = copy_county(precredit_template, tmp_path_factory.mktemp("state"))
    with built.engine.begin() as conn:  # the template's warnings were run with the defaults
        conn.execute(delete(warning_events_table))
        conn.execute(delete(warnings_table))
    path = built.settings.work_dir / "risk.json"
    path.write_text(json.dumps(SETTINGS), encoding="utf-8")
    uri, artifacts = tracking_uris(built.settings.work_dir)
    result = train_precredit(
        PlatformData.from_store(built.engine),
        built.as_of,
        uri,
        artifact_location=artifacts,
        risk_config=RiskConfig.from_file(path),
    )
    registry = ModelRegistry(uri)
    for name, run in ((PD_MODEL_NAME, result.pd_run), (LIMIT_MODEL_NAME, result.limit_run)):
        assert run is not None and run.version is not None
        registry.promote(name, run.version, force=True, actor="tests", reason="one risk config")
    built.settings = built.settings.model_copy(update={"as_of": DAY, "risk_config_file": path})
    # The score set the service answers from, computed with the file's settings.
    run_pipeline(built.engine, DAY, RiskConfig.from_file(path), mlflow_uri=uri)
    return built


def test_served_rules_and_pd_feature_share_the_one_risk_config(
    county: ApiCounty, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = county.settings
    assert settings.risk_config_file is not None
    config = RiskConfig.from_file(settings.risk_config_file)
    assert config.propagation != PropagationConfig()

    # The rules, through the command line, with the file in the environment.
    monkeypatch.setenv("CREDLINK_RISK_CONFIG_FILE", str(settings.risk_config_file))
    args = ["warn", "run", "--as-of", DAY.isoformat(), "--work-dir", str(settings.work_dir)]
    ran = CliRunner().invoke(cli, [*args, "--database-url", settings.store_url])
    assert ran.exit_code == 0, ran.output
    warnings = list_warnings(county.engine, rule="linked_risk", limit=1000).items
    assert warnings, "the rules found no linked risk to warn about"

    office = county.headers(KeyRole.credit_office)
    with TestClient(create_app(settings)) as client:
        state = client.app.state.credlink  # type: ignore[attr-defined]
        assert state.risk_config == config
        served = state.scores.require()
        assert served.as_of == DAY and served.config == config and served.config_matches
        assert client.get("/readyz").json()["score_set"]["config_matches"] is True
        champions = state.models[PD_MODEL_NAME].model
        assert isinstance(champions, Champions)
        data = PlatformData.from_store(county.engine)
        checked = 0
        for warning in warnings[:5]:
            uscc = warning.uscc
            linked, excluding_self = _linked(county.engine, config.propagation, uscc)
            default, default_excluding_self = _linked(county.engine, PropagationConfig(), uscc)
            assert (linked, excluding_self) != pytest.approx((default, default_excluding_self))

            answer = client.get(f"/v1/entities/{uscc}/risk", headers=office)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["linked_risk"] == pytest.approx(linked, rel=1e-9, abs=1e-12)
            assert body["linked_risk_excluding_self"] == pytest.approx(
                excluding_self, rel=1e-9, abs=1e-12
            )

            assert warning.evidence["linked_risk"] == pytest.approx(excluding_self, abs=1e-6)

            applications = pd.DataFrame({"uscc": [uscc], "as_of": [DAY]})
            feature = champions.scorer.features(data, applications)["linked_risk"].iloc[0]
            # The PD feature leaves the enterprise's own echo out (features.graph).
            assert float(feature) == pytest.approx(excluding_self, rel=1e-9, abs=1e-12)
            checked += 1
        assert checked > 0
