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
     "grades": {"linked_risk_c": 0.6, "learned_b": 0.3},
     "drift": {"watch": 0.1, "act": 0.25}}

The ``drift`` section holds the PSI thresholds the batch pipeline grades the learned warning's
and the PD's population drift by (:class:`DriftConfig`, :mod:`models.drift`).
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
from risk.validation import check_int, check_real

__all__ = ["DriftConfig", "RiskConfig"]

_SECTIONS = ("propagation", "rules", "grades", "drift")


@dataclass(frozen=True)
class DriftConfig:
    """PSI thresholds of the drift monitor (漂移监测) of the learned warning and the PD.

    Parameters
    ----------
    watch
        PSI at or above which a feature or the score is marked ``watch`` (关注), > 0
        (default 0.1, the usual "some shift" line).
    act
        PSI at or above which it is marked ``act`` (处置: investigate, retrain), ≥ ``watch``
        (default 0.25, the usual "significant shift" line).
    bins
        Quantile bins of the reference sample, in [2, 100] (default 10); missing values are
        a bin of their own.

    Raises
    ------
    TypeError, ValueError
        On a wrong type or a value out of range.
    """

    watch: float = 0.1
    act: float = 0.25
    bins: int = 10

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "watch", check_real("watch", self.watch, 0, open_low=True))
        act = check_real("act", self.act, 0, open_low=True)
        if act < self.watch:
            raise ValueError(f"act must be ≥ watch ({self.watch:g}); got {self.act!r}")
        put(self, "act", act)
        put(self, "bins", check_int("bins", self.bins, 2, 100))

    def status(self, psi: float) -> str:
        """``stable`` (稳定), ``watch`` (关注) or ``act`` (处置) for one PSI."""
        if psi >= self.act:
            return "act"
        return "watch" if psi >= self.watch else "stable"


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
    drift
        PSI thresholds of the models' drift monitor.
    """

    propagation: PropagationConfig = field(default_factory=PropagationConfig)
    rules: RuleConfig = field(default_factory=RuleConfig)
    grades: GradeConfig = field(default_factory=GradeConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)

    def __post_init__(self) -> None:
        for name, kind in (
            ("propagation", PropagationConfig),
            ("rules", RuleConfig),
            ("grades", GradeConfig),
            ("drift", DriftConfig),
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
            "drift": {name: getattr(self.drift, name) for name in self.drift.__dataclass_fields__},
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
        drift = DriftConfig(**dict(data.get("drift", {})))
        return cls(propagation=propagation, rules=rules, grades=grades, drift=drift)

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
