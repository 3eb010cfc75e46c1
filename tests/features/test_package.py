"""The features package: its public names, loaded on first use; importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import features


def test_every_public_name_has_one_home_and_resolves() -> None:
    homes = features._HOME
    assert sorted(features.__all__) == sorted(homes)
    for name in features.__all__:
        value = getattr(features, name)
        assert getattr(sys.modules[homes[name]], name) is value
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = features.nothing


def test_importing_the_package_loads_no_heavy_library() -> None:
    heavy = ("lightgbm", "mlflow", "matplotlib", "sklearn", "risk")
    code = f"import sys, features; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
