"""Shared fixtures: a migrated store on SQLite and, when available, on PostgreSQL.

``CREDLINK_TEST_POSTGRES_URL`` (set by ``scripts/test.sh``) points at a server where the
tests may create databases; each test using ``engine`` on PostgreSQL gets a fresh database.
On CI (``CI=true``) a missing server fails the postgres tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from risk.store import migrate, open_engine

POSTGRES_URL = os.environ.get("CREDLINK_TEST_POSTGRES_URL")


@pytest.fixture(scope="session", autouse=True)
def _no_mlflow_server_of_the_shell() -> Iterator[None]:
    """A developer's ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` must not send the
    tests' runs to their server: each test names the store it means."""
    saved = {
        k: os.environ.pop(k)
        for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
        if k in os.environ
    }
    try:
        yield
    finally:
        os.environ.update(saved)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CREDLINK_TEST_POSTGRES_URL is not set on CI")
        pytest.skip("CREDLINK_TEST_POSTGRES_URL not set")
    name = f"credlink_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A migrated store (SQLite and PostgreSQL)."""
    eng = open_engine(store_url)
    migrate(eng)
    yield eng
    eng.dispose()
