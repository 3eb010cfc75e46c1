"""The one home of the risk settings: propagation, warning rules and grades.

The linked risk a bank is served, the one the rules fire on, the grades and the graph features
of the models must agree: they are computed with **one** :class:`RiskConfig`, built once at
the edge (the service's settings, a CLI command's options, a notebook's first cell) and handed
down. The propagation settings live here only: the rule and grade settings hold none, and the
routines that compute linked risk (:func:`risk.rule_checks.evaluate_rules`,
:func:`risk.warnings.run_warnings`, :func:`risk.grades.grade_enterprises`,
:func:`risk.snapshot.score_snapshot`) take the :class:`RiskConfig` (``None`` meaning
``RiskConfig()``, once, at that entry point). Every score set and MLflow run records
:meth:`RiskConfig.digest` and :meth:`RiskConfig.flat_params`, so a score can be traced to the
exact settings that made it.

A deployment changes settings with a JSON or TOML file (``CREDLINK_RISK_CONFIG_FILE``) holding any
subset of::

    {"propagation": {"alpha": 0.4, "kind_weights.dishonest_debtor": 0.9},
     "rules": {"window_months": 24, "linked_threshold": 0.99},
     "grades": {"linked_risk_c": 0.6}}
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from risk.grades import GradeConfig
from risk.propagation import PropagationConfig
from risk.rules import RuleConfig

__all__ = ["RiskConfig"]

_SECTIONS = ("propagation", "rules", "grades")


@dataclass(frozen=True)
class RiskConfig:
    """Propagation, rule and grade settings, one object for every score (frozen).

    Parameters
    ----------
    propagation
        Weights, half-life, damping α and hops K of own signals and linked risk.
    rules
        Thresholds of the repeat-violator and linked warning rules.
    grades
        Thresholds and 双随机 inspection ratios of the A/B/C/D grades.
    """

    propagation: PropagationConfig = field(default_factory=PropagationConfig)
    rules: RuleConfig = field(default_factory=RuleConfig)
    grades: GradeConfig = field(default_factory=GradeConfig)

    def __post_init__(self) -> None:
        for name, kind in (
            ("propagation", PropagationConfig),
            ("rules", RuleConfig),
            ("grades", GradeConfig),
        ):
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}; got {type(value).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings, one section each."""
        grades = {
            name: _plain(getattr(self.grades, name)) for name in self.grades.__dataclass_fields__
        }
        return {
            "propagation": self.propagation.to_dict(),
            "rules": self.rules.to_dict(),
            "grades": grades,
        }

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`: equal settings, equal digest."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def flat_params(self) -> dict[str, str]:
        """``section.name`` → value as text, e.g. for MLflow run parameters."""
        flat: dict[str, str] = {}
        for section, values in self.to_dict().items():
            for name, value in values.items():
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                flat[f"{section}.{name}"] = text
        return flat

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskConfig:
        """Settings from :meth:`to_dict`'s shape; any section or key may be left out.

        Raises
        ------
        ValueError
            For an unknown section, or a value a section's own checks refuse.
        TypeError
            If a section is not a mapping.
        """
        unknown = sorted(set(data) - set(_SECTIONS))
        if unknown:
            raise ValueError(
                f"risk config sections must be among {', '.join(_SECTIONS)}; got {unknown}"
            )
        for section in _SECTIONS:
            if not isinstance(data.get(section, {}), Mapping):
                raise TypeError(
                    f"risk config section {section} must be a mapping; "
                    f"got {type(data[section]).__name__}"
                )
        propagation = PropagationConfig.from_dict(data.get("propagation", {}))
        rules = RuleConfig(**dict(data.get("rules", {})))
        grades = GradeConfig(**dict(data.get("grades", {})))
        return cls(propagation=propagation, rules=rules, grades=grades)

    @classmethod
    def from_flat_params(cls, flat: Mapping[str, Any]) -> RiskConfig:
        """The settings back from :meth:`flat_params` (what a score set or an MLflow run
        recorded); keys of other sections (``graph.nodes``) or none (``linked_threshold_value``)
        are ignored.

        Raises
        ------
        ValueError, TypeError
            As :meth:`from_dict`.
        """
        data: dict[str, dict[str, Any]] = {}
        for key, text in flat.items():
            section, _, name = str(key).partition(".")
            if section not in _SECTIONS or not name:
                continue
            try:
                value = json.loads(text) if isinstance(text, str) else text
            except json.JSONDecodeError:
                value = text  # a plain string parameter (``minor``, ``quantile``)
            data.setdefault(section, {})[name] = value
        return cls.from_dict(data)

    @classmethod
    def from_file(cls, path: Path) -> RiskConfig:
        """Settings from a ``.json`` or ``.toml`` file of :meth:`from_dict`'s shape.

        Raises
        ------
        ValueError
            For another suffix, a file that does not parse, or settings refused.
        """
        suffix = path.suffix.lower()
        text = path.read_text("utf-8")
        try:
            if suffix == ".json":
                data = json.loads(text)
            elif suffix == ".toml":
                data = tomllib.loads(text)
            else:
                raise ValueError(f"risk config file must be .json or .toml; got {path.name}")
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"risk config file {path} does not parse: {exc}") from None
        if not isinstance(data, Mapping):
            raise ValueError(f"risk config file {path} must hold an object of sections")
        return cls.from_dict(data)


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(str(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)
