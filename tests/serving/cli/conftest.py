"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory as the work directory of the environment's settings (the default
    SQLite store in it, a fresh ID salt)."""
    monkeypatch.setenv("CREDLINK_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.delenv("CREDLINK_DATABASE_URL", raising=False)
    monkeypatch.delenv("CREDLINK_ID_SALT", raising=False)
    return tmp_path
