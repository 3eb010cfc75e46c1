"""The propagation settings: record-kind and severity weights, half-life, role weights per
direction, damping α and hops K (:class:`PropagationConfig`), with their defaults.

A deployment holds one inside its :class:`risk.config.RiskConfig`; nothing else keeps a copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from risk.contract import NEGATIVE_KINDS, RecordKind, Role, Severity
from risk.validation import check_int, check_real

__all__ = [
    "DEFAULT_DOWN_WEIGHTS",
    "DEFAULT_KIND_WEIGHTS",
    "DEFAULT_SEVERITY_MULTIPLIERS",
    "DEFAULT_UP_WEIGHTS",
    "PropagationConfig",
]

DEFAULT_KIND_WEIGHTS: Mapping[RecordKind, float] = MappingProxyType(
    {
        RecordKind.serious_dishonesty_list: 1.0,  # 严重失信主体名单
        RecordKind.serious_violation: 0.9,  # 严重违法失信名单
        RecordKind.dishonest_debtor: 0.8,  # 失信被执行人
        RecordKind.tax_violation: 0.7,  # 重大税收违法
        RecordKind.consumption_restriction: 0.6,  # 限制高消费
        RecordKind.wage_arrears: 0.6,  # 拖欠农民工工资
        RecordKind.commitment_breach: 0.5,  # 违背信用承诺
        RecordKind.judgment_debtor: 0.4,  # 被执行人
        RecordKind.administrative_penalty: 0.3,  # 行政处罚
        RecordKind.tax_arrears: 0.3,  # 欠税公告
        RecordKind.abnormal_operation: 0.2,  # 经营异常名录
    }
)
"""Weight per negative record kind: the national 失信 lists highest, scans lowest."""

DEFAULT_SEVERITY_MULTIPLIERS: Mapping[Severity, float] = MappingProxyType(
    {Severity.minor: 0.5, Severity.general: 1.0, Severity.serious: 2.0}
)
"""Multiplier per severity (轻微 / 一般 / 严重)."""

DEFAULT_DOWN_WEIGHTS: Mapping[Role, float] = MappingProxyType(
    {
        Role.legal_rep: 0.8,  # a dishonest 法定代表人 taints the enterprise strongly
        Role.shareholder: 1.0,  # × share: a 60% shareholder transmits 0.6
        Role.executive: 0.4,
        Role.branch_of: 0.9,  # parent → branch: a branch has no legal personality of its own
    }
)
"""Holder → enterprise transmission weight per role (for branch_of: parent → branch)."""

DEFAULT_UP_WEIGHTS: Mapping[Role, float] = MappingProxyType(
    {
        Role.legal_rep: 0.8,  # 失信联合惩戒 reaches the 法定代表人 of a dishonest enterprise
        Role.shareholder: 0.5,  # × share
        Role.executive: 0.3,
        Role.branch_of: 0.9,  # branch → parent: the parent answers for its branch's debts
    }
)
"""Enterprise → holder transmission weight per role (for branch_of: branch → parent)."""

MAX_HOPS = 10
_E = TypeVar("_E", bound=StrEnum)


def _weights(
    name: str,
    value: Any,
    enum: type[_E],
    allowed: Iterable[_E],
    defaults: Mapping[_E, float],
    upper: float | None,
) -> Mapping[_E, float]:
    """Validate a weight mapping and merge it over the defaults (enum keys, fixed order)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping; got {type(value).__name__}")
    allowed = tuple(allowed)
    merged = dict(defaults)
    for key, weight in value.items():
        try:
            member = enum(key)
        except ValueError:
            member = None
        if member is None or member not in allowed:
            names = ", ".join(m.value for m in allowed)
            raise ValueError(f"{name} keys must be one of {names}; got {key!r}")
        merged[member] = check_real(f"{name}[{member.value}]", weight, 0, upper)
    return MappingProxyType({m: merged[m] for m in allowed})


@dataclass(frozen=True)
class PropagationConfig:
    """How own signals are weighted and spread (frozen, validated on construction).

    Weight mappings may be partial: keys left out keep their defaults. Keys may be enum
    members or their codes (``"dishonest_debtor"``).

    Parameters
    ----------
    kind_weights
        Weight of each negative :class:`~risk.contract.RecordKind`, ≥ 0
        (default :data:`DEFAULT_KIND_WEIGHTS`). Positive kinds are not accepted: they never
        contribute.
    severity_multipliers
        Multiplier of each :class:`~risk.contract.Severity`, ≥ 0
        (default :data:`DEFAULT_SEVERITY_MULTIPLIERS`).
    half_life_days
        Age in days at which a record's signal has halved, > 0 (default 365).
    down_weights
        Transmission holder → enterprise per :class:`~risk.contract.Role`, in [0, 1]
        (default :data:`DEFAULT_DOWN_WEIGHTS`). Multiplied by the share for shareholders.
    up_weights
        Transmission enterprise → holder per role, in [0, 1] (default
        :data:`DEFAULT_UP_WEIGHTS`). Multiplied by the share for shareholders.
    alpha
        Damping per hop, in (0, 1] (default 0.5).
    hops
        K, the number of hops, an integer in [1, 10] (default 3).
    missing_share
        Share assumed for a shareholder edge without one, in [0, 1] (default 0.1).

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, as ``"<field> must be <rule>; got <value>"``.
    """

    kind_weights: Mapping[RecordKind, float] = field(default_factory=lambda: DEFAULT_KIND_WEIGHTS)
    severity_multipliers: Mapping[Severity, float] = field(
        default_factory=lambda: DEFAULT_SEVERITY_MULTIPLIERS
    )
    half_life_days: float = 365.0
    down_weights: Mapping[Role, float] = field(default_factory=lambda: DEFAULT_DOWN_WEIGHTS)
    up_weights: Mapping[Role, float] = field(default_factory=lambda: DEFAULT_UP_WEIGHTS)
    alpha: float = 0.5
    hops: int = 3
    missing_share: float = 0.1

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(
            self,
            "kind_weights",
            _weights(
                "kind_weights",
                self.kind_weights,
                RecordKind,
                [k for k in RecordKind if k in NEGATIVE_KINDS],
                DEFAULT_KIND_WEIGHTS,
                None,
            ),
        )
        put(
            self,
            "severity_multipliers",
            _weights(
                "severity_multipliers",
                self.severity_multipliers,
                Severity,
                Severity,
                DEFAULT_SEVERITY_MULTIPLIERS,
                None,
            ),
        )
        for name, defaults in (
            ("down_weights", DEFAULT_DOWN_WEIGHTS),
            ("up_weights", DEFAULT_UP_WEIGHTS),
        ):
            put(self, name, _weights(name, getattr(self, name), Role, Role, defaults, 1.0))
        put(
            self,
            "half_life_days",
            check_real("half_life_days", self.half_life_days, 0, open_low=True),
        )
        put(self, "alpha", check_real("alpha", self.alpha, 0, 1, open_low=True))
        put(self, "hops", check_int("hops", self.hops, 1, MAX_HOPS))
        put(self, "missing_share", check_real("missing_share", self.missing_share, 0, 1))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.to_dict().items())))

    @classmethod
    def from_dict(cls, flat: Mapping[str, Any]) -> PropagationConfig:
        """The config of flat parameters (the inverse of :meth:`to_dict`; keys may be partial).

        Raises
        ------
        TypeError, ValueError
            As the constructor.
        """
        nested: dict[str, Any] = {}
        for key, value in flat.items():
            if "." in key:
                group, member = key.split(".", 1)
                nested.setdefault(group, {})[member] = value
            else:
                nested[key] = value
        return cls(**nested)

    def to_dict(self) -> dict[str, float | int]:
        """Flat parameters (``kind_weights.dishonest_debtor`` → 0.8), e.g. for MLflow."""
        flat: dict[str, float | int] = {}
        for name in ("kind_weights", "severity_multipliers", "down_weights", "up_weights"):
            for key, weight in getattr(self, name).items():
                flat[f"{name}.{key.value}"] = weight
        for name in ("half_life_days", "alpha", "hops", "missing_share"):
            flat[name] = getattr(self, name)
        return flat
