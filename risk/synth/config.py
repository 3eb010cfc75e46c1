"""A synthetic county's parameters (:class:`SynthConfig`) and what it generates (:class:`County`).

The parameters are listed, with their defaults, ranges and meaning, in :mod:`risk.synth`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from risk.identifiers import PROVINCE_CODES
from risk.synth.vocabulary import KINDS
from risk.validation import check_int, check_real

__all__ = [
    "County",
    "SynthConfig",
]


# field → (low, high, open_low, open_high)
_FLOAT_RULES: dict[str, tuple[float, float, bool, bool]] = {
    "closed_rate": (0.0, 0.9, False, False),
    "revoked_share": (0.0, 1.0, False, False),
    "serial_holder_share": (0.0, 0.9, False, False),
    "serial_degree_alpha": (1.0, 10.0, True, False),
    "controller_risk_share": (0.0, 1.0, False, False),
    "group_share": (0.0, 0.5, False, False),
    "minority_stake_share": (0.0, 0.5, False, False),
    "cycle_rate": (0.0, 0.1, False, False),
    "legal_rep_change_rate": (0.0, 1.0, False, False),
    "risk_sigma": (0.0, 3.0, False, False),
    "penalty_rate": (0.0, 5.0, False, False),
    "court_rate": (0.0, 2.0, False, False),
    "abnormal_rate": (0.0, 2.0, False, False),
    "positive_rate": (0.0, 5.0, False, False),
    "person_record_rate": (0.0, 1.0, False, False),
    "serious_list_rate": (0.0, 0.01, False, True),
    "explicit_publicity_share": (0.0, 1.0, False, False),
    "repair_share": (0.0, 1.0, False, False),
    "shell_share": (0.0, 0.05, False, False),
    "loan_rate": (0.0, 1.0, False, False),
    "loan_bad_rate": (0.0, 0.5, True, False),
    "linked_effect": (0.0, 5.0, False, False),
    "missing_rate": (0.0, 0.5, False, False),
}


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of a synthetic county; see :mod:`risk.synth` for each field.

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, e.g. ``"years must be an int in [1, 30]; got 0"``.
    """

    enterprises: int = 20_000
    years: int = 4
    seed: int = 0
    end: date = date(2026, 6, 30)
    region: str = "341100"
    id_salt: bytes = b"credlink-synthetic-salt"
    county_name: str = "清源县"
    kind_mix: tuple[float, float, float, float, float] = (0.56, 0.36, 0.04, 0.02, 0.02)
    closed_rate: float = 0.15
    revoked_share: float = 0.30
    serial_holder_share: float = 0.12
    serial_degree_alpha: float = 1.6
    controller_risk_share: float = 0.5
    group_share: float = 0.06
    minority_stake_share: float = 0.04
    cycle_rate: float = 0.002
    legal_rep_change_rate: float = 0.12
    risk_sigma: float = 1.0
    penalty_rate: float = 0.10
    court_rate: float = 0.04
    abnormal_rate: float = 0.03
    positive_rate: float = 0.10
    person_record_rate: float = 0.003
    serious_list_rate: float = 0.004
    explicit_publicity_share: float = 0.30
    repair_share: float = 0.30
    shell_share: float = 0.003
    loan_rate: float = 0.5
    loan_bad_rate: float = 0.07
    linked_effect: float = 1.5
    missing_rate: float = 0.03

    def __post_init__(self) -> None:
        for field_name, minimum, maximum in (
            ("enterprises", 10, 10**7),
            ("years", 1, 30),
            ("seed", 0, 2**63 - 1),
        ):
            number = check_int(field_name, getattr(self, field_name), minimum, maximum)
            object.__setattr__(self, field_name, number)
        if isinstance(self.end, datetime) or not isinstance(self.end, date):
            raise TypeError(f"end must be a datetime.date; got {type(self.end).__name__}")
        if not date(2000, 1, 1) <= self.end <= date(2100, 12, 31):
            raise ValueError(f"end must be a date in [2000-01-01, 2100-12-31]; got {self.end}")
        if not isinstance(self.region, str):
            raise TypeError(f"region must be a str; got {type(self.region).__name__}")
        if not (
            len(self.region) == 6
            and self.region.isascii()
            and self.region.isdigit()
            and int(self.region[:2]) in PROVINCE_CODES
        ):
            raise ValueError(
                f"region must be a 6-digit GB/T 2260 code with a province prefix; "
                f"got {self.region!r}"
            )
        if not isinstance(self.id_salt, bytes):
            raise TypeError(f"id_salt must be bytes; got {type(self.id_salt).__name__}")
        if len(self.id_salt) < 16:
            raise ValueError(f"id_salt must be at least 16 bytes; got {len(self.id_salt)}")
        if not isinstance(self.county_name, str):
            raise TypeError(f"county_name must be a str; got {type(self.county_name).__name__}")
        if not 2 <= len(self.county_name.strip()) <= 12:
            raise ValueError(f"county_name must be 2-12 characters; got {self.county_name!r}")
        self._check_kind_mix()
        for name, (low, high, open_low, open_high) in _FLOAT_RULES.items():
            value = check_real(
                name, getattr(self, name), low, high, open_low=open_low, open_high=open_high
            )
            object.__setattr__(self, name, value)

    def _check_kind_mix(self) -> None:
        mix = self.kind_mix
        if not isinstance(mix, tuple | list):
            raise TypeError(f"kind_mix must be a tuple of 5 floats; got {type(mix).__name__}")
        values = tuple(check_real(f"kind_mix[{i}]", v, 0.0, 1.0) for i, v in enumerate(mix))
        if len(values) != len(KINDS) or abs(sum(values) - 1.0) > 1e-6 or values[0] <= 0:
            raise ValueError(
                "kind_mix must be 5 shares (company, individual_business, branch, partnership, "
                f"social_org) summing to 1 with company > 0; got {mix!r}"
            )
        object.__setattr__(self, "kind_mix", values)


@dataclass(frozen=True, eq=False)
class County:
    """A generated county: the six contract tables plus the ground truth behind them.

    Attributes
    ----------
    tables
        Keyed by :data:`risk.contract.TABLES` names; each frame has exactly the contract's
        columns in order (enums as English codes, dates as ``datetime64``, NaN/NaT missing).
    hidden_risk
        Latent risk ``z`` per USCC (index ``uscc``): the ground truth that drives records and
        loan outcomes. Not part of the contract; for evaluation only.
    config
        The configuration that produced the county.
    """

    tables: dict[str, pd.DataFrame]
    hidden_risk: pd.Series
    config: SynthConfig
