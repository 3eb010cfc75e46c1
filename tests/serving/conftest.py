"""Fixtures of the API tests: synthetic counties in SQLite stores, keys, a client.

Every response any test client of this folder receives is scanned for resident ID numbers
(:func:`no_id_number_in_any_response`); a test whose calls got one back fails, whatever it
asserted itself. Every module's county store is scanned the same way when the module ends.

Counties are built once per test session and copied, never rebuilt per module:

``api_county`` (1,000 enterprises, seed 0)
    Ingested, warnings run on the county's end date (17 warnings: every rule, six regulators
    including 税务局), the batch pipeline run (a current score set, no models: the service
    answers from it), one key per role. Built once per session into a template shared by the
    xdist workers (:func:`built_once`); each worker serves one copy of it to every module that
    only reads (calls are audited, nothing else changes). A module that changes the county —
    moves warnings, creates or revokes keys, reports outcomes — asks for ``own_county`` (a copy
    of its own) and names it ``api_county`` in the module.
``precredit_template`` (3,000 enterprises, most companies borrowing)
    The same, with enough funded loans to train the pre-credit models; the command-line
    training tests copy it. ``champions_county`` has the pre-credit models trained into its
    work directory and promoted (forced) to champion, and the pipeline run again with them (the
    current score set holds every enterprise's assessment); ``trained_county`` is the same
    before the promotion (its score set holds no assessments). Each module gets its own copy:
    they report outcomes and reload models.

``learned_template`` (the 3,000-enterprise county again)
    With the learned warning trained on it (out of time, logged to its work directory's
    MLflow store), version 1 promoted (forced: the fixture must not depend on the floor) to
    champion, and the pipeline run with it: the current score set holds every existing
    enterprise's learned probability and the warning's drift report. ``learned_county`` is a
    copy for one module. Not the 1,000-enterprise county: there the held-out enterprises'
    AUC never rises above 0.5 (61 new violations), early stopping keeps one or two trees and
    the county gets a dozen distinct probabilities, too few to test an order by; on 3,000 the
    warning keeps about 20 trees (AUC 0.62 on the held-out year) and about 50 warnings.

Besides these two sizes, the command-line tests synthesise 300 enterprises where ``synth``
or ``demo`` is what they test, the learned-warning commands train on the
county of the feature tests (:func:`tests.features.county.small_county`, 2,500), and
``test_api_privacy`` plants ID numbers in a 600-enterprise county of its own (its top linked
enterprise has a controller and a second role holder to plant on; the 1,000-enterprise
county's has one holder).

:func:`running_server` serves a county from a real uvicorn process.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from features.data import PlatformData
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, WARNING_MODEL_NAME, ModelRegistry
from models.tracking import tracking_uris
from models.training import train_precredit
from models.warning_training import train_warning
from risk.config import RiskConfig
from risk.ingest import ingest_paths
from risk.snapshot import score_snapshot
from risk.store import audit_log, migrate, open_engine, read_table
from risk.synth import SynthConfig, generate_county, write_county
from risk.warnings import list_warnings, run_warnings
from serving.app import create_app
from serving.cli.serve import settings_environment
from serving.keys import create_key
from serving.pipeline import run_pipeline
from serving.precredit import mlflow_uri
from serving.roles import KeyRole
from serving.scores import ScoreReader
from serving.settings import Settings
from tests.serving.privacy import scan_response, scan_store

SALT = b"credlink-api-tests-salt"
AUTHORIZATION_EXPIRES = date.today() + timedelta(days=180)
"""A valid authorization's expiry: within the policy's cap (CREDLINK_AUTHORIZATION_MAX_DAYS)."""
VALID_AUTHORIZATION = {
    "X-Authorization-Id": "SQ-2026-000123",
    "X-Authorization-Purpose": "pre_credit",
    "X-Authorization-Expires": AUTHORIZATION_EXPIRES.isoformat(),
}


@dataclass
class ApiCounty:
    """The store and what the tests need to know about it."""

    settings: Settings
    engine: Engine
    as_of: date
    tokens: dict[KeyRole, str]
    persons: pd.DataFrame
    enterprise_names: tuple[str, ...]
    warned_uscc: str
    linked_uscc: str

    def headers(self, role: KeyRole, *, bank_authorization: bool = True) -> dict[str, str]:
        """The API key header of ``role`` (with a valid authorization for banks)."""
        headers = {"X-API-Key": self.tokens[role]}
        if role == KeyRole.bank and bank_authorization:
            headers.update(VALID_AUTHORIZATION)
        return headers

    def audit_count(self) -> int:
        """Rows in audit_log."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    def secrets_of_persons(self) -> list[str]:
        """What a bank must never see: full names, person ids, masked IDs and ID hashes.

        Names that also occur inside an enterprise name are left out (they would show up in
        the enterprise's own name, not as a person).
        """
        names = [
            n
            for n in self.persons["name"].dropna().astype(str)
            if len(n) >= 2 and not any(n in e for e in self.enterprise_names)
        ]
        return [
            *names,
            *self.persons["person_id"].astype(str),
            *self.persons["id_masked"].dropna().astype(str),
            *self.persons["id_hash"].dropna().astype(str),
        ]


def build_county(
    root: Path,
    *,
    n_enterprises: int = 1000,
    loan_rate: float = 0.15,
    database_url: str | None = None,
) -> ApiCounty:
    """Synthesise, ingest and warn a county under ``root``; create one key per role.

    The store is ``root/credlink.db`` (SQLite) unless ``database_url`` names an empty one.
    """
    config = SynthConfig(enterprises=n_enterprises, seed=0, id_salt=SALT, loan_rate=loan_rate)
    county = generate_county(config)
    write_county(county, root / "county")
    url = database_url or f"sqlite:///{root / 'credlink.db'}"
    engine = open_engine(url)
    migrate(engine)
    summary = ingest_paths(engine, [root / "county"], id_salt=SALT)
    assert summary.ok
    run_warnings(engine, config.end)
    run_pipeline(engine, config.end, RiskConfig(), mlflow_uri=None)  # what the API answers from
    tokens = {
        KeyRole.bank: create_key(engine, KeyRole.bank, "清源农商银行", "信贷部").token,
        KeyRole.credit_office: create_key(
            engine, KeyRole.credit_office, "清源县信用办", "李四"
        ).token,
        KeyRole.analyst: create_key(engine, KeyRole.analyst, "清源县大数据中心").token,
        KeyRole.admin: create_key(engine, KeyRole.admin, "清源县信用办", "管理员").token,
    }
    warnings = list_warnings(engine, rule="suspected_shell", limit=1).items
    settings = Settings(work_dir=root, database_url=url, as_of=config.end)
    enterprises = read_table(engine, "enterprises", columns=["uscc", "name"])
    return ApiCounty(
        settings=settings,
        engine=engine,
        as_of=config.end,
        tokens=tokens,
        persons=read_table(engine, "persons"),
        enterprise_names=tuple(enterprises["name"].astype(str)),
        warned_uscc=warnings[0].uscc,
        linked_uscc=_linked_enterprise(engine, config.end),
    )


def _linked_enterprise(engine: Engine, as_of: date) -> str:
    """The enterprise with the highest linked risk from others (persons on its paths)."""
    run = score_snapshot(engine, as_of)
    return str(run.propagator.top_linked(run.scores, 1).index[0])


_LEAKS: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _scan_every_response() -> Iterator[None]:
    """Wrap ``TestClient.request`` once per session: every answer is scanned for ID numbers."""
    original = TestClient.request

    def scanned(self: TestClient, *args: Any, **kwargs: Any) -> Any:
        response = original(self, *args, **kwargs)
        _LEAKS.extend(str(leak) for leak in scan_response(response))
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TestClient, "request", scanned)
        yield


@pytest.fixture(autouse=True)
def no_id_number_in_any_response() -> Iterator[None]:
    """Fail the test if any response its clients received held a resident ID number."""
    _LEAKS.clear()
    yield
    found, _LEAKS[:] = list(_LEAKS), []
    assert found == [], f"responses carried resident ID numbers: {found[:5]}"


# --------------------------------------------------------------------------- counties, once

_COUNTY_FILE = "county.json"
_STORE = "credlink.db"
_MLFLOW_STORE = "mlflow.db"
_PRECREDIT_ENTERPRISES = 3000


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """``build(directory)`` run once per test session, whatever the number of xdist workers.

    The directory is shared by the workers (the parent of each worker's base temporary
    directory); the first worker to ask builds it under a file lock, the others wait and
    reuse it. Treat it as read-only: copy it (:func:`copy_county`) to use it.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    directory = shared / f"once-{name}"
    with (shared / f"once-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (directory / ".built").exists():
                shutil.rmtree(directory, ignore_errors=True)
                directory.mkdir(parents=True)
                build(directory)
                (directory / ".built").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return directory


def _save_county(county: ApiCounty, root: Path) -> None:
    """What a copy of ``root`` needs besides the store: the tokens, the date, two USCCs."""
    facts = {
        "as_of": county.as_of.isoformat(),
        "tokens": {role.value: token for role, token in county.tokens.items()},
        "warned_uscc": county.warned_uscc,
        "linked_uscc": county.linked_uscc,
    }
    (root / _COUNTY_FILE).write_text(json.dumps(facts), encoding="utf-8")
    county.engine.dispose()


def _backup(source: Path, target: Path) -> None:
    """Copy a SQLite database consistently (its write-ahead log included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def copy_county(template: Path, root: Path) -> ApiCounty:
    """A county of its own at ``root``: ``template``'s store (and MLflow store) copied.

    The secret files (ID salt, session key) come along, so persons are pseudonymised alike;
    MLflow artifacts stay in the template (the copied registry points at them, read-only).
    """
    root.mkdir(parents=True, exist_ok=True)
    for path in template.iterdir():
        # The secrets and facts: not the stores (copied below), their journals, nor markers.
        if path.is_file() and not path.name.startswith((_STORE, _MLFLOW_STORE, ".")):
            shutil.copy2(path, root / path.name)
    for store in (_STORE, _MLFLOW_STORE):
        if (template / store).exists():
            _backup(template / store, root / store)
    facts = json.loads((template / _COUNTY_FILE).read_text(encoding="utf-8"))
    url = f"sqlite:///{root / _STORE}"
    engine = open_engine(url)
    as_of = date.fromisoformat(facts["as_of"])
    enterprises = read_table(engine, "enterprises", columns=["uscc", "name"])
    return ApiCounty(
        settings=Settings(work_dir=root, database_url=url, as_of=as_of),
        engine=engine,
        as_of=as_of,
        tokens={KeyRole(role): token for role, token in facts["tokens"].items()},
        persons=read_table(engine, "persons"),
        enterprise_names=tuple(enterprises["name"].astype(str)),
        warned_uscc=facts["warned_uscc"],
        linked_uscc=facts["linked_uscc"],
    )


def _build_api_county(root: Path) -> None:
    _save_county(build_county(root), root)


def _build_precredit_county(root: Path) -> None:
    _save_county(build_county(root, n_enterprises=_PRECREDIT_ENTERPRISES, loan_rate=0.8), root)


def _train(county: ApiCounty, root: Path) -> None:
    """Train the pre-credit models (version 1 of each) into ``root``; keep the holdout."""
    uri, artifacts = tracking_uris(root)
    result = train_precredit(
        PlatformData.from_store(county.engine), county.as_of, uri, artifact_location=artifacts
    )
    assert result.pd_run is not None and result.pd_run.version == "1"
    assert result.limit_run is not None and result.limit_run.version == "1"
    result.holdout.to_parquet(root / "holdout.parquet")
    county.engine.dispose()


def _promote(root: Path) -> None:
    registry = ModelRegistry(tracking_uris(root)[0])
    for name in (PD_MODEL_NAME, LIMIT_MODEL_NAME):
        registry.promote(
            name, "1", force=True, actor="tests", reason="fixture champions for the API tests"
        )


@contextmanager
def scanned(county: ApiCounty) -> Iterator[ApiCounty]:
    """Yield ``county``; afterwards, no text in its store may hold a resident ID number."""
    yield county
    leaks = [str(leak) for leak in scan_store(county.engine)]
    assert leaks == [], f"the store holds resident ID numbers: {leaks[:5]}"


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1,000-enterprise county, built once per session (module docstring)."""
    return built_once(tmp_path_factory, "api", _build_api_county)


@pytest.fixture(scope="session")
def precredit_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3,000-enterprise county (most companies borrowing), no models yet (module
    docstring)."""
    return built_once(tmp_path_factory, "precredit", _build_precredit_county)


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory, precredit_template: Path) -> Path:
    """:func:`precredit_template` with pre-credit models version 1 registered, not promoted."""

    def build(root: Path) -> None:
        _train(copy_county(precredit_template, root), root)

    return built_once(tmp_path_factory, "trained", build)


@pytest.fixture(scope="session")
def champions_template(tmp_path_factory: pytest.TempPathFactory, trained_template: Path) -> Path:
    """:func:`trained_template` with version 1 of both models promoted (forced) to champion and
    the pipeline run with them (every enterprise assessed in the current score set)."""

    def build(root: Path) -> None:
        county = copy_county(trained_template, root)
        _promote(root)
        settings = county.settings
        run_pipeline(county.engine, county.as_of, RiskConfig(), mlflow_uri=mlflow_uri(settings))
        county.engine.dispose()

    return built_once(tmp_path_factory, "champions", build)


def _build_learned_county(root: Path, base: Path) -> None:
    county = copy_county(base, root)
    uri, artifacts = tracking_uris(root)
    result = train_warning(county.engine, county.as_of, uri, artifact_location=artifacts)
    assert result.run is not None and result.run.version == "1"
    ModelRegistry(uri).promote(
        WARNING_MODEL_NAME, "1", force=True, actor="tests", reason="fixture learned warning"
    )
    run_pipeline(county.engine, county.as_of, RiskConfig(), mlflow_uri=uri)
    county.engine.dispose()


@pytest.fixture(scope="session")
def learned_template(tmp_path_factory: pytest.TempPathFactory, precredit_template: Path) -> Path:
    """The 3,000-enterprise county with the learned warning as champion and the pipeline run
    with it (module docstring)."""
    return built_once(
        tmp_path_factory, "learned", lambda root: _build_learned_county(root, precredit_template)
    )


@pytest.fixture(scope="module")
def learned_county(
    tmp_path_factory: pytest.TempPathFactory, learned_template: Path
) -> Iterator[ApiCounty]:
    """A copy of :func:`learned_template` for one module."""
    county = copy_county(learned_template, tmp_path_factory.mktemp("learned"))
    with scanned(county):
        yield county
    county.engine.dispose()


@pytest.fixture(scope="session")
def session_county(
    tmp_path_factory: pytest.TempPathFactory, api_template: Path
) -> Iterator[ApiCounty]:
    """This worker's copy of the 1,000-enterprise county, shared by the modules that only
    read it."""
    county = copy_county(api_template, tmp_path_factory.mktemp("api-session"))
    yield county
    county.engine.dispose()


@pytest.fixture(scope="module")
def api_county(session_county: ApiCounty) -> Iterator[ApiCounty]:
    """The session's county, for a module that only reads it (module docstring); when the
    module's tests are done, no text in its store holds a resident ID number."""
    with scanned(session_county) as county:
        yield county


@pytest.fixture(scope="module")
def champions_county(
    tmp_path_factory: pytest.TempPathFactory, champions_template: Path
) -> Iterator[ApiCounty]:
    """A copy of the 3,000-enterprise county with its champions, for one module."""
    county = copy_county(champions_template, tmp_path_factory.mktemp("champions"))
    yield county
    county.engine.dispose()


@pytest.fixture(scope="module")
def trained_county(
    tmp_path_factory: pytest.TempPathFactory, trained_template: Path
) -> Iterator[ApiCounty]:
    """A copy of the 3,000-enterprise county with models trained, not promoted."""
    county = copy_county(trained_template, tmp_path_factory.mktemp("trained"))
    yield county
    county.engine.dispose()


@pytest.fixture(scope="module")
def own_county(tmp_path_factory: pytest.TempPathFactory, api_template: Path) -> Iterator[ApiCounty]:
    """A copy of the 1,000-enterprise county for a module that changes it (scanned too)."""
    county = copy_county(api_template, tmp_path_factory.mktemp("api"))
    with scanned(county):
        yield county
    county.engine.dispose()


@pytest.fixture(scope="module")
def client(api_county: ApiCounty) -> Iterator[TestClient]:
    """A client of an app on the module's county, lifespan run."""
    with TestClient(create_app(api_county.settings)) as test_client:
        yield test_client


@pytest.fixture
def no_score_set(client: TestClient, tmp_path: Path) -> Iterator[None]:
    """The app reads its scores from a store where no score set was published (the warnings
    themselves still come from the module's store)."""
    state = client.app.state.credlink  # type: ignore[attr-defined]
    empty = open_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    migrate(empty)
    reader, state.scores = state.scores, ScoreReader(empty, state.risk_config)
    try:
        yield
    finally:
        state.scores = reader
        empty.dispose()


def body_digest(response: Any) -> str:
    """SHA-256 of a response's body bytes (what the audit stores)."""
    return hashlib.sha256(response.content).hexdigest()


def dumps(payload: Any) -> str:
    """JSON text with Chinese as is (for scanning responses)."""
    return json.dumps(payload, ensure_ascii=False)


STARTUP_SECONDS = 90


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    county: ApiCounty, log_path: Path, *, workers: int = 2, **overrides: Any
) -> Iterator[str]:
    """Serve ``county`` with ``serving.cli.serve.serve`` in a subprocess; yield its base URL.

    uvicorn (uvloop + httptools, factory mode, ``workers`` processes sharing the SQLite store)
    on a free port of 127.0.0.1; the block starts once every worker answers ``/readyz``, and
    the whole process group is stopped afterwards. ``overrides`` are further settings.
    """
    with server_process(county, log_path, workers=workers, **overrides) as (base, _):
        yield base


@contextmanager
def server_process(
    county: ApiCounty, log_path: Path, *, workers: int = 2, **overrides: Any
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`running_server`, yielding the base URL and the server's process (with one
    worker, the process that answers)."""
    port = free_port()
    settings = Settings(
        work_dir=county.settings.work_dir,
        database_url=county.settings.store_url,
        as_of=county.as_of,
        port=port,
        workers=workers,
        **overrides,
    )
    env = {**os.environ, **settings_environment(settings)}
    code = "from serving.cli.serve import serve; from serving.settings import Settings; "
    code += "serve(Settings())"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, log_path, workers)
        yield base, process
    finally:
        _stop(process)


def _wait_ready(base: str, process: subprocess.Popen[bytes], log_path: Path, workers: int) -> None:
    """Until every worker answers /readyz (a worker listens only once it has loaded).

    Each new connection goes to a worker chosen by the kernel; the workers are told apart by
    the per-process half of their request ids (:func:`serving.middleware.request_ids`).
    """
    deadline = time.monotonic() + STARTUP_SECONDS
    seen: set[str] = set()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            response = httpx.get(f"{base}/readyz", timeout=2)  # a new connection each time
            if response.status_code == 200:
                seen.add(response.headers["x-request-id"][:16])
                if len(seen) == workers:
                    return
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(
        f"{len(seen)} of {workers} workers ready after {STARTUP_SECONDS} s:\n"
        + log_path.read_text()
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)  # its own session: uvicorn and its workers
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
