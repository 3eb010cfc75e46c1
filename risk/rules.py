"""Repeat-violator warning rules (屡禁不止、屡罚不改 预警): DESIGN.md §4, county plan 002 §16.

Six rules run over every enterprise at once (vectorised pandas on the contract frames) and
return one :class:`RuleHit` per enterprise and rule. A record takes part only if it is
**active** on the run date ``as_of`` by :func:`risk.publicity.active_mask`, the one rule of
DESIGN.md §2: repaired (信用修复), removed and expired records never trigger a rule. Only
records about enterprises (``subject_type = enterprise``) trigger; enterprises closed
(注销 / 吊销) or not yet founded on ``as_of`` get no warning.

Which records count
-------------------
``penalty`` (the frequency rules, :data:`PENALTY_KINDS`)
    A regulator's decision punishing a violation of administrative law: 行政处罚
    (``administrative_penalty``), 重大税收违法 (``tax_violation``) and 拖欠农民工工资
    (``wage_arrears``), of any severity (``penalty_min_severity`` raises the floor, e.g. to
    leave out 轻微 penalties under 包容审慎监管). Not penalties: list inclusions
    (严重失信主体名单, 严重违法失信名单 — consequences of violations already counted, so counting
    them would count one violation twice), court execution (被执行人, 失信被执行人, 限制高消费 —
    civil debts, not regulatory violations, and 法院 is not a 行业主管部门 to notify),
    经营异常名录 (a registration listing, removed on filing), 欠税公告 (a debt notice) and
    违背信用承诺 (the subject of its own rule).
``reoffence`` (违诺 / 修复后再犯, :data:`REOFFENCE_KINDS`)
    A new 失信行为: a penalty, 违背信用承诺, 失信被执行人, 严重违法失信名单 or 严重失信主体名单.
``serious-dishonesty list`` (疑似换壳, :data:`SERIOUS_LIST_KINDS`)
    The national 严重失信主体名单 in the wide sense of the 全国失信惩戒措施基础清单: an active
    ``serious_dishonesty_list``, ``serious_violation`` (市场监管 严重违法失信名单),
    ``dishonest_debtor`` (法院 失信被执行人名单) or ``tax_violation`` (重大税收违法失信主体) record.

The rules
---------
=========================  ============================================================
rule                       triggers when, on ``as_of`` = t (defaults of :class:`RuleConfig`)
=========================  ============================================================
``same_domain_frequent``   同一领域频繁违法: ≥ 3 active penalties in one domain decided in the
                           window (t − 24 months, t]
``multi_domain_repeat``    多个领域多次违法: active penalties in ≥ 2 domains and ≥ 3 in total,
                           decided in the same window
``after_commitment``       违诺再犯: an active reoffence record decided after a 信用承诺 record
                           of the same enterprise, within 24 months of it, while the
                           commitment was in force (active on the reoffence's decision date)
``after_repair``           修复后再犯: an active reoffence record decided after another record
                           of the enterprise was repaired (信用修复), within 24 months of
                           the repair (the repair itself on or before t)
``linked_risk``            关联风险: an own active negative record, and linked risk without
                           the walks that return to the enterprise
                           (:meth:`~risk.propagation.RiskPropagator.linked_risk_excluding_self`)
                           ≥ the threshold: by default the 0.99 quantile of the scored linked
                           risk (returning walks included, so the bar errs high) of the
                           enterprises existing on t; or an absolute value
``suspected_shell``        疑似换壳: an enterprise founded in (t − 24 months, t] whose current
                           法定代表人 or major shareholder (share ≥ 0.3) is, or once was, the
                           法定代表人 or a major shareholder of another enterprise on the
                           serious-dishonesty list on t, or is itself such an enterprise
                           (a listed enterprise as major shareholder), *and* that enterprise
                           was listed strictly before the founding day (a list record decided
                           before it; only those records are cited). Founded the day of the
                           listing or earlier: no warning (the tie predates the listing)
=========================  ============================================================

A window of W months is half-open like a publicity term: a record decided on d is in the
window of t when ``t − W months < d ≤ t``; the record decided exactly W months before t has
just left it.

Levels (预警等级)
-----------------
=====================  ==================================  ===================  ================
rule                   red 红色                             orange 橙色          yellow 黄色
=====================  ==================================  ===================  ================
frequency rules        a counted penalty is serious, or    one is general       otherwise: all
                       ≥ 6 counted (``escalate_count``)                         minor
违诺 / 修复后再犯        a reoffence record is serious       one is general       otherwise: all
                                                                                minor
``linked_risk``        never: the evidence is indirect     an own active        otherwise
                                                           serious record
``suspected_shell``    the young enterprise has its own    otherwise            founded on or
                       active negative record                                   before the
                                                                                listing: only
                                                                                with the old
                                                                                rule (RuleConfig)
=====================  ==================================  ===================  ================

Checked left to right: the first column that applies gives the level. Records with a
missing or unknown severity rank as general.

Domains and regulators
----------------------
A hit names the domains of its triggering records (for ``suspected_shell``: 市场监管, the
registration authority that checks a 换壳, plus the domains of the listed enterprise's list
records), and each domain's regulator from :func:`risk.contract.regulator_for`, the one
domain → regulator map.

Evidence
--------
JSON-ready: ``record_ids`` (every record the hit cites, sorted: the key of "new evidence"),
``records`` (id, kind, domain, severity, decided of each triggering record) and per rule the
window and counts, commitment / repair pairs, the linked-risk value, threshold and top source
records with their hop paths, or the 换壳 paths. Persons appear masked (``张*``), never by id.

Over 600 lines because its first ninety lines are the rules' specification, and the rest is what the
checks (:mod:`risk.rule_checks`), the warnings and the grades share about a rule: its
vocabulary, settings (:class:`RuleConfig`), hit (:class:`RuleHit`) and inputs
(:class:`RuleInputs`).

About 620 lines, over half of them this docstring and :class:`RuleConfig`'s: the rules'
legal basis is written once, here; the checks themselves live in :mod:`risk.rule_checks`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from risk.contract import (
    NEGATIVE_KINDS,
    Domain,
    RecordKind,
    Severity,
    regulator_for,
)
from risk.dates import as_of_timestamp
from risk.frames import require_frame
from risk.store import contract_table, read_table
from risk.validation import check_bool, check_int, check_real

__all__ = [
    "DOMAIN_ORDER",
    "LEVEL_LABELS",
    "LEVEL_RANK",
    "PENALTY_KINDS",
    "REOFFENCE_KINDS",
    "RULE_LABELS",
    "SERIOUS_LIST_KINDS",
    "Level",
    "Rule",
    "RuleConfig",
    "RuleHit",
    "RuleInputs",
    "ThresholdMode",
    "date_column",
    "evidence_fingerprint",
    "existing_on",
    "hits_frame",
    "make_hit",
]


class Rule(StrEnum):
    """The warning rules (DESIGN.md §4); see the module docstring for each."""

    same_domain_frequent = "same_domain_frequent"
    multi_domain_repeat = "multi_domain_repeat"
    after_commitment = "after_commitment"
    after_repair = "after_repair"
    linked_risk = "linked_risk"
    suspected_shell = "suspected_shell"


class Level(StrEnum):
    """预警等级, most to least urgent."""

    red = "red"
    orange = "orange"
    yellow = "yellow"


class ThresholdMode(StrEnum):
    """How :attr:`RuleConfig.linked_threshold` is read."""

    quantile = "quantile"  # a quantile of the linked risk of the existing enterprises
    absolute = "absolute"  # a linked-risk value


RULE_LABELS: Mapping[Rule, str] = MappingProxyType(
    {
        Rule.same_domain_frequent: "同一领域频繁违法",
        Rule.multi_domain_repeat: "多个领域多次违法",
        Rule.after_commitment: "违诺再犯",
        Rule.after_repair: "修复后再犯",
        Rule.linked_risk: "关联风险",
        Rule.suspected_shell: "疑似换壳",
    }
)
"""Chinese name of each rule (预警规则), as printed in the 通报 list."""

LEVEL_LABELS: Mapping[Level, str] = MappingProxyType(
    {Level.red: "红色", Level.orange: "橙色", Level.yellow: "黄色"}
)
"""Chinese name of each level."""

LEVEL_RANK: Mapping[Level, int] = MappingProxyType({Level.red: 0, Level.orange: 1, Level.yellow: 2})
"""Sort key of the levels: red first."""

PENALTY_KINDS: frozenset[RecordKind] = frozenset(
    {RecordKind.administrative_penalty, RecordKind.tax_violation, RecordKind.wage_arrears}
)
"""Record kinds that count as penalties for the frequency rules (module docstring)."""

REOFFENCE_KINDS: frozenset[RecordKind] = PENALTY_KINDS | {
    RecordKind.commitment_breach,
    RecordKind.dishonest_debtor,
    RecordKind.serious_violation,
    RecordKind.serious_dishonesty_list,
}
"""Record kinds that count as a new violation after a commitment or a repair."""

SERIOUS_LIST_KINDS: frozenset[RecordKind] = frozenset(
    {
        RecordKind.serious_dishonesty_list,
        RecordKind.serious_violation,
        RecordKind.dishonest_debtor,
        RecordKind.tax_violation,
    }
)
"""Record kinds that put an enterprise on the serious-dishonesty list (疑似换壳 sources)."""

_E = TypeVar("_E", bound=StrEnum)
Entry = dict[str, Any]
DOMAIN_ORDER: Mapping[str, int] = MappingProxyType({d.value: i for i, d in enumerate(Domain)})
"""Sort key of domain codes: the order of :class:`~risk.contract.Domain`."""
_RECORD_COLUMNS = (
    "record_id",
    "subject_type",
    "subject_id",
    "kind",
    "domain",
    "severity",
    "decided",
    "publicity_end",
    "repaired",
    "removed",
)
_ENTERPRISE_COLUMNS = ("uscc", "name", "founded")
_PERSON_COLUMNS = ("person_id", "name")
_ROLE_COLUMNS = ("uscc", "holder_type", "holder_id", "role", "start")


# --------------------------------------------------------------------------- configuration


def _member(name: str, value: Any, enum: type[_E]) -> _E:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a {enum.__name__} code; got {type(value).__name__}")
    try:
        return enum(value)
    except ValueError:
        raise ValueError(
            f"{name} must be one of {', '.join(m.value for m in enum)}; got {value!r}"
        ) from None


def _kinds(name: str, value: Any) -> frozenset[RecordKind]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a set of record kinds; got {type(value).__name__}")
    kinds = frozenset(_member(f"{name} entries", v, RecordKind) for v in value)
    if not kinds:
        raise ValueError(f"{name} must name at least one record kind; got an empty set")
    positive = sorted(k.value for k in kinds - NEGATIVE_KINDS)
    if positive:
        raise ValueError(f"{name} must hold negative record kinds only; got {positive[0]!r}")
    return kinds


@dataclass(frozen=True)
class RuleConfig:
    """Thresholds of the warning rules (frozen, validated on construction).

    Enum-valued fields accept their codes (``"quantile"``, ``"serious"``); kind sets accept any
    iterable of kinds or codes and are stored as frozensets.

    Parameters
    ----------
    window_months
        W of the frequency rules, in [1, 120] (default 24).
    same_domain_min_count
        Penalties in one domain that make 同一领域频繁违法, in [2, 100] (default 3).
    multi_domain_min_domains
        Domains that make 多个领域多次违法, in [2, 14] (default 2).
    multi_domain_min_total
        Penalties in total for 多个领域多次违法, ≥ ``multi_domain_min_domains`` and ≤ 100
        (default 3).
    escalate_count
        Counted penalties that make a frequency hit red whatever their severity,
        ≥ both counts above and ≤ 1000 (default 6).
    penalty_kinds
        What counts as a penalty (default :data:`PENALTY_KINDS`); negative kinds only.
    penalty_min_severity
        The least severity a penalty must have to count (default ``minor``: all count).
    reoffence_kinds
        What counts as a new violation after a commitment or a repair (default
        :data:`REOFFENCE_KINDS`); negative kinds only.
    reoffence_window_months
        How long after a commitment or a repair a new violation counts, in [1, 120]
        (default 24).
    linked_threshold
        The linked-risk bar of the ``linked_risk`` rule: a quantile in (0, 1) (default 0.99)
        or, with ``linked_threshold_mode = "absolute"``, a value > 0.
    linked_threshold_mode
        ``quantile`` (default) or ``absolute``.
    linked_top_sources
        Linked source records cited per hit, in [1, 20] (default 3).
    shell_age_months
        An enterprise founded within this many months of ``as_of`` is young, in [1, 120]
        (default 24).
    shell_min_share
        A shareholder at or above this share is major, in (0, 1] (default 0.3).
    shell_list_kinds
        The serious-dishonesty list (default :data:`SERIOUS_LIST_KINDS`); negative kinds only.
    shell_max_paths
        换壳 paths kept in the evidence per hit, in [1, 100] (default 10; the record ids of
        every path are kept).
    shell_founded_after_listing
        True (default): warn only of an enterprise founded strictly after its associate's
        listing (a list record decided before the founding day; the 换壳 pattern). False also
        warns, at yellow, of one founded on or before the listing: the rule before issue 15,
        which filled the first page with firms whose tie predates any listing.
    rules
        The rules to run (default: all).

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, as ``"<field> must be <rule>; got <value>"``.
    """

    window_months: int = 24
    same_domain_min_count: int = 3
    multi_domain_min_domains: int = 2
    multi_domain_min_total: int = 3
    escalate_count: int = 6
    penalty_kinds: frozenset[RecordKind] = PENALTY_KINDS
    penalty_min_severity: Severity = Severity.minor
    reoffence_kinds: frozenset[RecordKind] = REOFFENCE_KINDS
    reoffence_window_months: int = 24
    linked_threshold: float = 0.99
    linked_threshold_mode: ThresholdMode = ThresholdMode.quantile
    linked_top_sources: int = 3
    shell_age_months: int = 24
    shell_min_share: float = 0.3
    shell_list_kinds: frozenset[RecordKind] = SERIOUS_LIST_KINDS
    shell_max_paths: int = 10
    shell_founded_after_listing: bool = True
    rules: frozenset[Rule] = frozenset(Rule)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "window_months", check_int("window_months", self.window_months, 1, 120))
        put(
            self,
            "same_domain_min_count",
            check_int("same_domain_min_count", self.same_domain_min_count, 2, 100),
        )
        domains = check_int(
            "multi_domain_min_domains", self.multi_domain_min_domains, 2, len(Domain)
        )
        put(self, "multi_domain_min_domains", domains)
        put(
            self,
            "multi_domain_min_total",
            check_int("multi_domain_min_total", self.multi_domain_min_total, domains, 100),
        )
        floor = max(self.same_domain_min_count, self.multi_domain_min_total)
        put(self, "escalate_count", check_int("escalate_count", self.escalate_count, floor, 1000))
        put(self, "penalty_kinds", _kinds("penalty_kinds", self.penalty_kinds))
        put(
            self,
            "penalty_min_severity",
            _member("penalty_min_severity", self.penalty_min_severity, Severity),
        )
        put(self, "reoffence_kinds", _kinds("reoffence_kinds", self.reoffence_kinds))
        put(
            self,
            "reoffence_window_months",
            check_int("reoffence_window_months", self.reoffence_window_months, 1, 120),
        )
        mode = _member("linked_threshold_mode", self.linked_threshold_mode, ThresholdMode)
        put(self, "linked_threshold_mode", mode)
        threshold = check_real("linked_threshold", self.linked_threshold)
        if mode == ThresholdMode.quantile and not 0 < threshold < 1:
            raise ValueError(
                f"linked_threshold must be in (0, 1) as a quantile; got {self.linked_threshold!r}"
            )
        if mode == ThresholdMode.absolute and threshold <= 0:
            raise ValueError(
                f"linked_threshold must be > 0 as an absolute value; got {self.linked_threshold!r}"
            )
        put(self, "linked_threshold", threshold)
        put(
            self,
            "linked_top_sources",
            check_int("linked_top_sources", self.linked_top_sources, 1, 20),
        )
        put(self, "shell_age_months", check_int("shell_age_months", self.shell_age_months, 1, 120))
        share = check_real("shell_min_share", self.shell_min_share, 0, 1, open_low=True)
        put(self, "shell_min_share", share)
        put(self, "shell_list_kinds", _kinds("shell_list_kinds", self.shell_list_kinds))
        put(self, "shell_max_paths", check_int("shell_max_paths", self.shell_max_paths, 1, 100))
        after = check_bool("shell_founded_after_listing", self.shell_founded_after_listing)
        put(self, "shell_founded_after_listing", after)
        if isinstance(self.rules, str) or not isinstance(self.rules, Iterable):
            raise TypeError(f"rules must be a set of rules; got {type(self.rules).__name__}")
        rules = frozenset(_member("rules entries", r, Rule) for r in self.rules)
        if not rules:
            raise ValueError("rules must name at least one rule; got an empty set")
        put(self, "rules", rules)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (kind sets as sorted code lists), e.g. for a run's log."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, frozenset):
                out[name] = sorted(str(v) for v in value)
            elif isinstance(value, StrEnum):
                out[name] = value.value
            else:
                out[name] = value
        return out


# --------------------------------------------------------------------------- hits


@dataclass(frozen=True)
class RuleHit:
    """One enterprise caught by one rule on one date.

    Attributes
    ----------
    uscc : str
        The enterprise.
    rule : Rule
    level : Level
    domains : tuple of Domain
        In :class:`~risk.contract.Domain` order.
    regulators : tuple of str
        The regulator of each domain (same order), from :func:`risk.contract.regulator_for`.
    evidence : dict
        JSON-ready; always has ``record_ids`` (sorted) and ``records``.
    as_of : datetime.date
        The run date.
    """

    uscc: str
    rule: Rule
    level: Level
    domains: tuple[Domain, ...]
    regulators: tuple[str, ...]
    evidence: dict[str, Any]
    as_of: date

    @property
    def record_ids(self) -> tuple[str, ...]:
        """Every record id the evidence cites (the key of "new evidence")."""
        return tuple(self.evidence["record_ids"])

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the cited record ids and related enterprises (not of decaying scores)."""
        return evidence_fingerprint(self.evidence)


def evidence_fingerprint(evidence: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an evidence's ``record_ids`` and ``related`` enterprises."""
    payload = json.dumps(
        {
            "record_ids": sorted(evidence.get("record_ids", ())),
            "related": sorted(evidence.get("related", ())),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _ordered_domains(values: Iterable[str]) -> tuple[Domain, ...]:
    return tuple(Domain(d) for d in sorted(set(values), key=DOMAIN_ORDER.__getitem__))


def make_hit(
    uscc: str,
    rule: Rule,
    level: Level,
    domains: Iterable[str],
    evidence: dict[str, Any],
    as_of: pd.Timestamp,
) -> RuleHit:
    """A hit with its domains in :class:`~risk.contract.Domain` order, their regulators, and
    the evidence's ``record_ids`` sorted and unique (the key of "new evidence")."""
    ordered = _ordered_domains(domains)
    evidence["record_ids"] = sorted(set(evidence["record_ids"]))
    evidence.setdefault("related", [])
    return RuleHit(
        uscc=str(uscc),
        rule=rule,
        level=level,
        domains=ordered,
        regulators=tuple(regulator_for(d) for d in ordered),
        evidence=evidence,
        as_of=as_of.date(),
    )


def hits_frame(hits: Sequence[RuleHit]) -> pd.DataFrame:
    """One row per hit: uscc, rule, level, domains, regulators, n_records, fingerprint, as_of.

    ``domains`` and ``regulators`` are comma-joined; handy for counting and notebooks.
    """
    return pd.DataFrame(
        {
            "uscc": [h.uscc for h in hits],
            "rule": [h.rule.value for h in hits],
            "level": [h.level.value for h in hits],
            "domains": [",".join(d.value for d in h.domains) for h in hits],
            "regulators": [",".join(h.regulators) for h in hits],
            "n_records": [len(h.record_ids) for h in hits],
            "fingerprint": [h.fingerprint for h in hits],
            "as_of": [h.as_of for h in hits],
        },
        columns=[
            "uscc",
            "rule",
            "level",
            "domains",
            "regulators",
            "n_records",
            "fingerprint",
            "as_of",
        ],
    )


# --------------------------------------------------------------------------- inputs


def date_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """A frame's date column as ``datetime64[s]`` (all missing when the frame lacks it)."""
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
    return pd.to_datetime(frame[column]).astype("datetime64[s]")


def existing_on(enterprises: pd.DataFrame, as_of: date | pd.Timestamp | str) -> np.ndarray:
    """Which enterprises exist on ``as_of``: founded on or before it and not closed by then.

    Parameters
    ----------
    enterprises
        Columns ``founded`` and optionally ``closed`` (注销 / 吊销 date).
    as_of
        The date.

    Returns
    -------
    numpy.ndarray of bool
        One value per row.
    """
    t = as_of_timestamp(as_of)
    founded = date_column(enterprises, "founded")
    closed = date_column(enterprises, "closed")
    return np.asarray((founded <= t) & (closed.isna() | (closed > t)), dtype=bool)


@dataclass(frozen=True, eq=False)
class RuleInputs:
    """The contract frames the rules read (dates as datetime64).

    Parameters
    ----------
    enterprises
        ``uscc``, ``name``, ``founded`` and optionally ``closed`` and the other contract
        columns (the linked-risk graph carries them).
    persons
        ``person_id``, ``name``.
    roles
        ``uscc``, ``holder_type``, ``holder_id``, ``role``, ``start`` and optionally ``share``,
        ``end``: *all* roles begun by the run date, ended or not (疑似换壳 asks who *was* a
        legal representative).
    records
        Contract records: ``record_id``, ``subject_type``, ``subject_id``, ``kind``, ``domain``,
        ``severity``, ``decided``, ``publicity_end``, ``repaired``, ``removed`` and optionally
        ``subject_name``.

    Raises
    ------
    TypeError
        If a table is not a DataFrame.
    InvalidFrameError
        If a table lacks a required column.
    """

    enterprises: pd.DataFrame
    persons: pd.DataFrame
    roles: pd.DataFrame
    records: pd.DataFrame

    def __post_init__(self) -> None:
        require_frame(self.enterprises, "enterprises", _ENTERPRISE_COLUMNS)
        require_frame(self.persons, "persons", _PERSON_COLUMNS)
        require_frame(self.roles, "roles", _ROLE_COLUMNS)
        require_frame(self.records, "records", _RECORD_COLUMNS)

    @classmethod
    def from_store(cls, engine: Engine, as_of: date | pd.Timestamp | str) -> RuleInputs:
        """Read what the rules need on ``as_of``: nothing decided or begun after it.

        Parameters
        ----------
        engine
            A migrated store.
        as_of
            The run date.

        Returns
        -------
        RuleInputs
        """
        day = as_of_timestamp(as_of).date()
        roles = contract_table("roles")
        records = contract_table("records")
        return cls(
            enterprises=read_table(engine, "enterprises"),
            persons=read_table(engine, "persons", columns=list(_PERSON_COLUMNS)),
            roles=read_table(engine, "roles", where=[roles.c.start <= day]),
            records=read_table(engine, "records", where=[records.c.decided <= day]),
        )
