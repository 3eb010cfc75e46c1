"""Public names of a package, each loaded from its module on first use (PEP 562).

``features`` and ``models`` re-export their public names from their ``__init__`` without
importing the modules that define them, so importing either package costs milliseconds and
loads neither the ``risk`` layer nor LightGBM, MLflow or matplotlib: a command line imports
them only in the commands that use them. ``from models.pd import PDModel`` and
``models.PDModel`` are the same object.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from types import MappingProxyType
from typing import Any

__all__ = ["LazyExports"]


class LazyExports:
    """A package's public names and the modules that define them.

    Parameters
    ----------
    package
        The package's ``__name__``.
    modules
        Module → the public names the package re-exports from it.

    Raises
    ------
    ValueError
        If a name is exported from two modules.
    """

    def __init__(self, package: str, modules: Mapping[str, tuple[str, ...]]) -> None:
        home: dict[str, str] = {}
        for module, names in modules.items():
            for name in names:
                if name in home:
                    raise ValueError(
                        f"{package} names must have one home; got {name!r} in {home[name]} "
                        f"and {module}"
                    )
                home[name] = module
        self.package = package
        self.home: Mapping[str, str] = MappingProxyType(home)

    def load(self, name: str, namespace: MutableMapping[str, Any]) -> Any:
        """The package's attribute ``name``, imported from its module and kept in the
        package's ``namespace`` (its ``globals()``) so that the next access is a plain lookup.

        Raises
        ------
        AttributeError
            If the package exports no such name.
        """
        module = self.home.get(name)
        if module is None:
            raise AttributeError(f"module {self.package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def names(self, namespace: Mapping[str, Any]) -> list[str]:
        """What ``dir(package)`` lists: what is loaded and every public name."""
        return sorted({*namespace, *self.home})
