"""risk.config: one object for the propagation, rule and grade settings."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from risk.config import DriftConfig, RiskConfig
from risk.grades import GradeConfig
from risk.propagation import PropagationConfig
from risk.rules import RuleConfig


def test_the_propagation_has_one_owner() -> None:
    propagation = PropagationConfig(alpha=0.3)
    config = RiskConfig(
        propagation=propagation,
        rules=RuleConfig(window_months=12),
        grades=GradeConfig(linked_risk_c=0.5),
    )
    assert config.propagation is propagation
    assert config.rules.window_months == 12 and config.grades.linked_risk_c == 0.5
    for section in (RuleConfig, GradeConfig):  # the sections keep no copy of their own
        assert not any(
            f.type in ("PropagationConfig", PropagationConfig) for f in dataclasses.fields(section)
        )
    assert set(config.to_dict()) == {"propagation", "rules", "grades", "drift"}
    assert "propagation" not in config.to_dict()["rules"]


def test_digest_is_stable() -> None:
    # The digest of the default settings, as recorded with score sets and MLflow runs: a
    # change here means the settings (or their JSON form) changed.
    assert RiskConfig().digest() == (
        "b0ca5f077341a29e69abf73b7ab99a7e82353c50df8e13bb38138ae5f3da1528"
    )


def test_round_trip_and_digest() -> None:
    config = RiskConfig.from_dict(
        {
            "propagation": {"alpha": 0.4, "kind_weights.dishonest_debtor": 0.9},
            "rules": {"window_months": 12, "penalty_kinds": ["administrative_penalty"]},
            "grades": {"linked_risk_c": 0.5},
        }
    )
    again = RiskConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again.digest() == config.digest() != RiskConfig().digest()
    assert config.propagation.alpha == 0.4
    assert config.flat_params()["rules.window_months"] == "12"
    assert config.flat_params()["propagation.alpha"] == "0.4"


def test_flat_params_read_back() -> None:
    config = RiskConfig.from_dict(
        {
            "propagation": {"alpha": 0.3, "hops": 2, "kind_weights.dishonest_debtor": 0.6},
            "rules": {"linked_threshold": 0.95, "penalty_min_severity": "general"},
            "grades": {"linked_risk_c": 0.7, "inspection_ratios": {"D": 0.9}},
        }
    )
    # As a score set stores them: JSON, with its own keys beside the settings.
    stored = json.loads(
        json.dumps({**config.flat_params(), "linked_threshold_value": 0.4, "graph.nodes": 9})
    )
    again = RiskConfig.from_flat_params(stored)
    assert again == config and again.digest() == config.digest()
    assert RiskConfig.from_flat_params({}) == RiskConfig()
    with pytest.raises(ValueError, match="alpha"):
        RiskConfig.from_flat_params({"propagation.alpha": "2"})


def test_files(tmp_path: Path) -> None:
    toml = tmp_path / "risk.toml"
    toml.write_text("[propagation]\nalpha = 0.25\n[rules]\nlinked_threshold = 0.95\n")
    assert RiskConfig.from_file(toml).propagation.alpha == 0.25
    js = tmp_path / "risk.json"
    js.write_text(json.dumps({"grades": {"linked_risk_b": 0.05}}))
    assert RiskConfig.from_file(js).grades.linked_risk_b == 0.05


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ({"weights": {}}, ValueError, "sections must be among"),
        ({"rules": [1]}, TypeError, "section rules must be a mapping"),
        ({"propagation": {"alpha": 2}}, ValueError, "alpha"),
        ({"rules": {"window_months": 0}}, ValueError, "window_months"),
    ],
)
def test_bad_settings_are_refused(data: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        RiskConfig.from_dict(data)


def test_bad_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "risk.yaml"
    bad.write_text("alpha: 1")
    with pytest.raises(ValueError, match=r"must be \.json or \.toml"):
        RiskConfig.from_file(bad)
    broken = tmp_path / "risk.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="does not parse"):
        RiskConfig.from_file(broken)


def test_sections_must_have_their_type() -> None:
    with pytest.raises(TypeError, match="rules must be a RuleConfig"):
        RiskConfig(rules=GradeConfig())  # type: ignore[arg-type]


def test_drift_section_thresholds_and_status() -> None:
    config = RiskConfig.from_dict({"drift": {"watch": 0.05, "act": 0.2}})
    assert (config.drift.watch, config.drift.act, config.drift.bins) == (0.05, 0.2, 10)
    assert config.flat_params()["drift.act"] == "0.2"
    assert RiskConfig.from_flat_params(config.flat_params()) == config
    default = DriftConfig()
    assert [default.status(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "act",
        "act",
    ]
    with pytest.raises(ValueError, match="act must be ≥ watch"):
        DriftConfig(watch=0.3, act=0.2)
    with pytest.raises(ValueError, match="watch must be"):
        DriftConfig(watch=0)
    with pytest.raises(ValueError, match="bins must be"):
        DriftConfig(bins=1)
    with pytest.raises(TypeError, match="drift must be a DriftConfig"):
        RiskConfig(drift={"watch": 0.1})  # type: ignore[arg-type]
