"""Importing the command line loads none of the heavy packages (``credlink --help`` stays
fast: ``bench/cli.py`` times it).

Each check runs in a fresh interpreter, so that what this test session imported already does
not hide what the command line imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "networkx",
    "sqlalchemy",
    "lightgbm",
    "sklearn",
    "mlflow",
    "matplotlib",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic_settings",
    "risk",
    "features",
    "models",
)
"""What ``credlink --help`` must not import (the commands import them when they run). Not
pydantic itself: typer builds its parameters with it."""


def _loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    return {name.split(".")[0] for name in modules}


def test_importing_the_command_line_loads_no_heavy_package() -> None:
    loaded = _loaded_after("import serving.cli")
    assert "typer" in loaded
    assert sorted(loaded & set(HEAVY)) == []


@pytest.mark.parametrize(
    "command", [[], ["demo"], ["graph", "build"], ["warn", "train"], ["serve"], ["keys", "create"]]
)
def test_help_loads_no_heavy_package(command: list[str]) -> None:
    """Typer builds each command's help from its signature: no annotation may need them."""
    code = (
        "import sys\nfrom serving.cli import app\n"
        f"sys.argv = ['credlink', *{command!r}, '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
    )
    loaded = _loaded_after(code)
    assert sorted(loaded & set(HEAVY)) == []
