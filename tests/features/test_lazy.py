"""Lazy package exports: one home per public name; importing a package stays cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from features.lazy import LazyExports


def test_a_name_loads_from_its_module_once() -> None:
    exports = LazyExports("pkg", {"features.history": ("window_name",)})
    namespace: dict[str, object] = {}
    value = exports.load("window_name", namespace)
    assert value is sys.modules["features.history"].window_name
    assert namespace == {"window_name": value}
    assert exports.names({"x": 1}) == ["window_name", "x"]
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'nothing'"):
        exports.load("nothing", namespace)
    with pytest.raises(ValueError, match="pkg names must have one home; got 'a' in m1 and m2"):
        LazyExports("pkg", {"m1": ("a",), "m2": ("a",)})


@pytest.mark.parametrize("package", ["features", "models"])
def test_every_public_name_has_one_home_and_resolves(package: str) -> None:
    module = importlib.import_module(package)
    homes = module._EXPORTS.home
    assert sorted(module.__all__) == sorted(homes)
    for name in module.__all__:
        value = getattr(module, name)  # imports its home
        assert getattr(sys.modules[homes[name]], name) is value
    assert set(module.__all__) <= set(dir(module))


@pytest.mark.parametrize(
    ("package", "heavy"),
    [
        ("features", ("risk", "lightgbm", "mlflow", "matplotlib", "sklearn")),
        ("models", ("risk", "lightgbm", "mlflow", "matplotlib", "sklearn")),
    ],
)
def test_importing_the_package_loads_no_heavy_library(package: str, heavy: tuple[str]) -> None:
    code = f"import sys, {package}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
