"""Point-in-time features and labels of the learned repeat-violator warning (DESIGN.md §4).

The learned warning estimates, for every enterprise existing on a cutoff date t, the
probability of a **new violation within 12 months**. One row per (enterprise, t) is built from
what the platform knew on t and nothing later; :func:`build_warning_features` is the one
definition used for training (several cutoffs stacked), the out-of-time test and scoring.

Population (:func:`warning_population`)
    The enterprises existing on t by :func:`risk.rules.existing_on` (founded on or before t,
    not closed by t): the enterprises the rules can warn about on t. The stored ``status`` is
    not read, since it describes the registry's latest state, not t.
Own records, by kind and by domain
    Reused from :func:`features.precredit.build_features` (with ``graph=False``): active
    negative records per kind group (:data:`features.history.KIND_GROUPS`) decided in
    (t − 12 months, t], (t − 24 months, t] and ever; penalties per domain group in 24 months,
    serious records, fines, red-list and licence records. Added here: the rules' penalties
    (:data:`risk.rules.PENALTY_KINDS`) per window, active negative records per domain group
    (:data:`features.history.DOMAIN_GROUPS`) per window, the days since the latest
    negative record and since the latest penalty, active credit commitments (信用承诺) and
    the own signal on t (:func:`risk.propagation.record_signal`, summed). A record counts when
    :func:`risk.publicity.active_mask` says it is active on t, the one rule of DESIGN.md §2;
    windows are half-open like the rules' (``t − W months < decided ≤ t``).
Repairs (信用修复)
    Negative records repaired in (t − 24 months, t] and the days since the latest of them:
    the repair *events* the 修复后再犯 rule reads (a repaired record itself never counts as
    an active record). With :attr:`WarningFeatureConfig.include_inactive_history` (the policy
    flag of DESIGN.md §2, off by default) the repair features look back without limit, the
    "days since" features also see inactive records, and precredit's ``own_*_hist_*``
    history counts are added.
Graph, on the snapshot at t exactly (:attr:`WarningFeatureConfig.graph`)
    From :func:`features.graph.graph_features`, the builder the PD uses too: linked risk
    *excluding* the walks that return to the enterprise (see :mod:`features.graph`); the
    enterprise's person and enterprise holders and the enterprises it holds; ``rep_ties``,
    the legal-rep and shareholder roles its legal reps and shareholders (persons) hold in
    *other* enterprises (职业法人, serial founders); enterprises within two hops (a shared
    person, or a direct holding) and those of them with an active negative record on t;
    persons tied to it with an active negative record (e.g. a 失信被执行人 legal rep); its
    related-enterprise group on t: size, and the *other* members with an active negative
    record or an active 失信 record (:data:`features.history.LINKED_DISHONEST_KINDS`). The
    history flag covers the own-record features only: a linked party counts by its records
    active on t.
Profile
    Age on t, registered capital, and kind and industry as integer codes of fixed, contract
    vocabularies (:data:`KIND_CODES`, :data:`INDUSTRY_CODES`; ``NaN`` when missing): no
    learned vocabulary has to travel with the model.

Label (:func:`warning_labels`)
    1 when the enterprise is the subject of a record of the label kinds decided in
    (t, t + 12 months]: a record decided on t itself is a feature, not a label, and one decided
    on t + 12 months is a label. The default kinds are the rules' penalties
    (:data:`risk.rules.PENALTY_KINDS`: 行政处罚, 重大税收违法, 拖欠农民工工资), the *new
    violations* of 屡禁不止、屡罚不改: list inclusions and court records are consequences or
    civil debts, not violations (see :mod:`risk.rules`), and the learned warning is then
    compared with the frequency rules on the same outcome. Whether the new record is later
    repaired does not matter: the decision is the event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import FeatureCatalog, FeatureSpec
from features.data import PlatformData
from features.graph import graph_features
from features.history import (
    DOMAIN_GROUPS,
    days_since_latest,
    enterprise_records,
    row_counts,
    window_name,
)
from features.precredit import (
    FINANCIAL_FEATURES,
    LOAN_FEATURES,
    FeatureConfig,
    build_features,
    own_record_specs,
    validate_applications,
)
from risk.contract import NEGATIVE_KINDS, EnterpriseKind, RecordKind
from risk.dates import as_of_timestamp, months_after, months_before
from risk.propagation import PropagationConfig, record_signal
from risk.publicity import active_mask
from risk.rules import PENALTY_KINDS, existing_on
from risk.validation import check_int

__all__ = [
    "INDUSTRY_CODES",
    "KIND_CODES",
    "WarningFeatureConfig",
    "build_warning_features",
    "check_label_kinds",
    "warning_feature_specs",
    "warning_labels",
    "warning_population",
]

KIND_CODES: Mapping[str, int] = MappingProxyType({k.value: i for i, k in enumerate(EnterpriseKind)})
"""Integer code of each enterprise kind (:class:`risk.contract.EnterpriseKind` order)."""

INDUSTRY_CODES: Mapping[str, int] = MappingProxyType(
    {letter: i for i, letter in enumerate("ABCDEFGHIJKLMNOPQRST")}
)
"""Integer code of each GB/T 4754 industry section, A = 0 … T = 19."""

_NEGATIVE = frozenset(k.value for k in NEGATIVE_KINDS)
_PENALTY = frozenset(k.value for k in PENALTY_KINDS)
_PRECREDIT_DROPPED = frozenset(
    {
        # financial capacity, loans and region: not part of the warning's evidence
        *FINANCIAL_FEATURES,
        *LOAN_FEATURES,
        "region",
        # re-encoded below as fixed integer codes
        "kind",
        "industry",
    }
)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class WarningFeatureConfig(FeatureConfig):
    """What :func:`build_warning_features` computes (frozen, validated on construction).

    A :class:`features.precredit.FeatureConfig` (the own-record windows, the history policy
    flag and the graph switch, with its checks) plus the repair window.

    Parameters
    ----------
    windows_months, penalty_window_months, include_inactive_history
        As for the pre-credit features, whose own-record counts the warning reuses: windows
        of 12 and 24 months, per-domain penalties over 24 months, inactive history off (the
        DESIGN.md §2 policy flag).
    graph
        Compute the graph features (default on); off gives the self-only feature set. The
        own signal and the linked risk use the deployment's :class:`risk.config.RiskConfig`
        propagation settings, given to :func:`build_warning_features`.
    group_rule
        Which roles join the related groups of ``group_size``, ``group_negative`` and
        ``group_dishonest``, as for the pre-credit features (default control and ownership;
        a model saved without it reads back as trained on the rule before issue 15).
    repair_window_months
        How far back repairs (信用修复) count, in [1, 120] (default 24, the 修复后再犯 rule's
        window).

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, as ``"<field> must be <rule>; got <value>"``.
    """

    repair_window_months: int = 24

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(
            self,
            "repair_window_months",
            check_int("repair_window_months", self.repair_window_months, 1, 120),
        )

    def precredit(self) -> FeatureConfig:
        """The :class:`features.precredit.FeatureConfig` of the reused own-record features."""
        return FeatureConfig(
            windows_months=self.windows_months,
            penalty_window_months=self.penalty_window_months,
            include_inactive_history=self.include_inactive_history,
            graph=False,
            group_rule=self.group_rule,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters, e.g. for a run's log."""
        return {**super().to_dict(), "repair_window_months": self.repair_window_months}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WarningFeatureConfig:
        """Rebuild a config from :meth:`to_dict` output."""
        base = FeatureConfig.from_dict(data)
        return cls(
            windows_months=base.windows_months,
            penalty_window_months=base.penalty_window_months,
            include_inactive_history=base.include_inactive_history,
            graph=base.graph,
            group_rule=base.group_rule,
            repair_window_months=int(data["repair_window_months"]),
        )


def warning_feature_specs(config: WarningFeatureConfig | None = None) -> FeatureCatalog:
    """The catalog of features :func:`build_warning_features` returns, in column order.

    The monotone signs say what may never *lower* the probability of a new violation: more
    active negative records, penalties and linked negative parties. Fines, positive records,
    inactive history, repairs and the profile are left free.

    Parameters
    ----------
    config
        Default ``WarningFeatureConfig()``.

    Returns
    -------
    features.catalog.FeatureCatalog
        Each feature's ``source`` (``self`` or ``graph``) makes the ablation's feature sets.
    """
    config = WarningFeatureConfig() if config is None else config
    windows: list[int | None] = [*config.windows_months, None]
    rw = config.repair_window_months
    free = {f"own_penalty_amount_{config.penalty_window_months}m"}  # fines
    # The reused own-record counts (the PD's names), fines, positive records and inactive
    # history freed of the PD's signs.
    specs = [
        replace(spec, monotone=0)
        if spec.name in free or spec.concept in ("positive_records", "past_records")
        else spec
        for spec in own_record_specs(config.precredit())
    ]
    specs += [
        *(FeatureSpec(f"own_violation_{window_name(m)}", "violations", 1) for m in windows),
        *(
            FeatureSpec(f"own_negative_{g}_{window_name(m)}", "records_by_domain", 1)
            for g in DOMAIN_GROUPS
            for m in windows
        ),
        FeatureSpec("own_signal", "record_severity", 1),
        FeatureSpec("days_since_negative", "recency"),
        FeatureSpec("days_since_violation", "recency"),
        FeatureSpec(f"repairs_{rw}m", "repairs"),
        FeatureSpec("days_since_repair", "repairs"),
        FeatureSpec("commitments_active", "commitments"),
        FeatureSpec("age_years", "age"),
        FeatureSpec("registered_capital", "profile"),
        FeatureSpec("kind", "profile", categorical=True),
        FeatureSpec("industry", "profile", categorical=True),
    ]
    if config.graph:
        specs += [
            FeatureSpec("linked_risk", "linked_risk", 1, source="graph"),
            FeatureSpec("person_holders", "network", source="graph"),
            FeatureSpec("enterprise_holders", "network", source="graph"),
            FeatureSpec("held_enterprises", "network", source="graph"),
            FeatureSpec("rep_ties", "network", source="graph"),
            FeatureSpec("linked_enterprises", "network", source="graph"),
            FeatureSpec("linked_negative_enterprises", "linked_risk", 1, source="graph"),
            FeatureSpec("linked_negative_persons", "linked_risk", 1, source="graph"),
            FeatureSpec("group_size", "network", source="graph"),
            FeatureSpec("group_negative", "linked_risk", 1, source="graph"),
            FeatureSpec("group_dishonest", "linked_risk", 1, source="graph"),
            FeatureSpec("rep_enterprises", "linked_risk", 1, source="graph"),
            FeatureSpec("rep_negative_rate", "linked_risk", 1, source="graph"),
        ]
    return FeatureCatalog(specs)


def check_label_kinds(kinds: Any) -> frozenset[RecordKind]:
    """Return the label's record kinds as a frozenset of negative :class:`RecordKind`.

    Raises
    ------
    TypeError
        If ``kinds`` is a string or not iterable.
    ValueError
        If it is empty, or holds an unknown or positive kind.
    """
    if isinstance(kinds, str) or not isinstance(kinds, Iterable):
        raise TypeError(f"label_kinds must be a set of record kinds; got {type(kinds).__name__}")
    checked: set[RecordKind] = set()
    for kind in kinds:
        try:
            checked.add(RecordKind(kind))
        except ValueError:
            raise ValueError(
                f"label_kinds must be record kinds ({', '.join(RecordKind)}); got {kind!r}"
            ) from None
    if not checked:
        raise ValueError("label_kinds must name at least one record kind; got an empty set")
    positive = sorted(k.value for k in checked - NEGATIVE_KINDS)
    if positive:
        raise ValueError(f"label_kinds must be negative record kinds; got {positive[0]!r}")
    return frozenset(checked)


# --------------------------------------------------------------------------- population, labels


def _check_data(data: Any) -> PlatformData:
    if not isinstance(data, PlatformData):
        raise TypeError(f"data must be a PlatformData; got {type(data).__name__}")
    return data


def warning_population(
    data: PlatformData,
    as_of: date | pd.Timestamp | str | Sequence[date | pd.Timestamp | str],
) -> pd.DataFrame:
    """The enterprises existing on each cutoff date (:func:`risk.rules.existing_on`).

    Parameters
    ----------
    data
        The platform's tables.
    as_of
        One cutoff date or a sequence of them (stacked in the given order).

    Returns
    -------
    pandas.DataFrame
        Columns ``uscc`` and ``as_of`` (midnight ``datetime64[s]``), one row per enterprise
        and cutoff, enterprises in table order within a cutoff.

    Raises
    ------
    TypeError
        If ``data`` is not a :class:`PlatformData` or a date is not a date.
    ValueError
        If a date cannot be read.
    """
    data = _check_data(data)
    dates = [as_of] if isinstance(as_of, date | pd.Timestamp | str) else list(as_of)
    ids = data.enterprises["uscc"].astype(str).to_numpy()
    frames = []
    for value in dates:
        t = as_of_timestamp(value)
        exists = existing_on(data.enterprises, t)
        frames.append(
            pd.DataFrame(
                {
                    "uscc": ids[exists],
                    "as_of": np.full(int(exists.sum()), t.to_datetime64(), dtype="datetime64[s]"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {"uscc": pd.Series([], dtype=object), "as_of": pd.Series([], dtype="datetime64[s]")}
        )
    return pd.concat(frames, ignore_index=True)


def warning_labels(
    data: PlatformData,
    population: pd.DataFrame,
    *,
    kinds: Iterable[RecordKind | str] = PENALTY_KINDS,
    horizon_months: int = 12,
) -> npt.NDArray[np.float64]:
    """1 when a record of ``kinds`` about the enterprise is decided in (t, t + horizon].

    Parameters
    ----------
    data
        The platform's tables.
    population
        Columns ``uscc`` and ``as_of`` (t), e.g. from :func:`warning_population`.
    kinds
        The label's record kinds (default :data:`risk.rules.PENALTY_KINDS`); negative kinds
        only.
    horizon_months
        The horizon in calendar months, in [1, 60] (default 12).

    Returns
    -------
    numpy.ndarray of float64
        0 or 1 per population row.

    Raises
    ------
    TypeError, ValueError
        On a bad ``kinds`` or ``horizon_months``; :func:`features.precredit.validate_applications`
        errors for ``population``.
    """
    data = _check_data(data)
    label_kinds = {k.value for k in check_label_kinds(kinds)}
    horizon = check_int("horizon_months", horizon_months, 1, 60)
    population = validate_applications(population)
    pairs, row, t = enterprise_records(
        data, population["uscc"].to_numpy(), population["as_of"].to_numpy(dtype="datetime64[s]")
    )
    decided = pairs["decided"].to_numpy(dtype="datetime64[s]")
    hit = (
        pairs["kind"].isin(label_kinds).to_numpy()
        & (decided > t)
        & (decided <= months_after(t, horizon))
    )
    labels = np.zeros(len(population), dtype=np.float64)
    labels[np.unique(row[hit])] = 1.0
    return labels


# --------------------------------------------------------------------------- builders


def _own_features(
    data: PlatformData,
    population: pd.DataFrame,
    config: WarningFeatureConfig,
    propagation: PropagationConfig,
) -> dict[str, npt.NDArray[np.float64]]:
    """Own-record features beyond :func:`features.precredit.build_features`."""
    n = len(population)
    t_rows = population["as_of"].to_numpy(dtype="datetime64[s]")
    pairs, row, on = enterprise_records(data, population["uscc"].to_numpy(), t_rows)
    decided = pairs["decided"].to_numpy(dtype="datetime64[s]")
    known = decided <= on
    pairs, row, on, decided = pairs[known], row[known], on[known], decided[known]
    active = active_mask(decided, pairs["publicity_end"], pairs["repaired"], pairs["removed"], on)
    kind = pairs["kind"].astype(str).to_numpy()
    domain = pairs["domain"].astype(str).to_numpy()
    negative = np.isin(kind, list(_NEGATIVE))
    penalty = np.isin(kind, list(_PENALTY))
    windows: list[int | None] = [*config.windows_months, None]
    in_window = {
        m: (np.ones(len(pairs), dtype=bool) if m is None else decided > months_before(on, m))
        for m in windows
    }
    out: dict[str, npt.NDArray[np.float64]] = {}
    for m in windows:
        out[f"own_violation_{window_name(m)}"] = row_counts(row[active & penalty & in_window[m]], n)
    for group, domains in DOMAIN_GROUPS.items():
        member = active & negative & np.isin(domain, [d.value for d in domains])
        for m in windows:
            out[f"own_negative_{group}_{window_name(m)}"] = row_counts(
                row[member & in_window[m]], n
            )
    seen = np.ones(len(pairs), dtype=bool) if config.include_inactive_history else active
    last_negative = seen & negative
    out["days_since_negative"] = days_since_latest(
        row[last_negative], decided[last_negative], t_rows, n
    )
    last_penalty = seen & penalty
    out["days_since_violation"] = days_since_latest(
        row[last_penalty], decided[last_penalty], t_rows, n
    )
    repaired = pairs["repaired"].to_numpy(dtype="datetime64[s]")
    with np.errstate(invalid="ignore"):
        repair_done = negative & ~np.isnat(repaired) & (repaired <= on)
    if not config.include_inactive_history:
        repair_done &= repaired > months_before(on, config.repair_window_months)
    out[f"repairs_{config.repair_window_months}m"] = row_counts(row[repair_done], n)
    out["days_since_repair"] = days_since_latest(row[repair_done], repaired[repair_done], t_rows, n)
    commitment = active & (kind == RecordKind.commitment.value)
    out["commitments_active"] = row_counts(row[commitment], n)

    signal = np.zeros(len(pairs))
    for day in np.unique(on):
        at = on == day
        signal[at] = record_signal(pairs[at], pd.Timestamp(day), propagation)
    out["own_signal"] = row_counts(row, n, signal)
    return out


def _codes(values: pd.Series, vocabulary: Mapping[str, int]) -> npt.NDArray[np.float64]:
    mapped = values.astype(object).map(lambda v: vocabulary.get(v) if isinstance(v, str) else None)
    return pd.to_numeric(mapped, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _profile_codes(
    data: PlatformData, population: pd.DataFrame
) -> dict[str, npt.NDArray[np.float64]]:
    ents = data.enterprises
    position = pd.Index(ents["uscc"].astype(str)).get_indexer(population["uscc"].to_numpy())
    found = position >= 0
    safe = np.where(found, position, 0)
    kind = _codes(ents["kind"], KIND_CODES)[safe]
    industry = _codes(ents["industry"], INDUSTRY_CODES)[safe]
    return {
        "kind": np.where(found, kind, np.nan),
        "industry": np.where(found, industry, np.nan),
    }


def build_warning_features(
    data: PlatformData,
    population: pd.DataFrame,
    config: WarningFeatureConfig | None = None,
    *,
    propagation: PropagationConfig,
) -> pd.DataFrame:
    """Compute the warning features of each (enterprise, cutoff) as of its cutoff.

    Parameters
    ----------
    data
        The platform's tables (:class:`features.data.PlatformData`).
    population
        Columns ``uscc`` and ``as_of`` (the cutoff t), e.g. :func:`warning_population`;
        other columns are ignored. Several cutoffs may be stacked.
    config
        Default ``WarningFeatureConfig()``.
    propagation
        The own-signal and linked-risk settings: the deployment's
        :class:`risk.config.RiskConfig` ``propagation``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``population``, the columns of :func:`warning_feature_specs` in order,
        all ``float64`` (``NaN`` when unknown: no record for a "days since", an enterprise
        that is not in ``data``, a missing kind or industry).

    Raises
    ------
    TypeError
        If ``data`` is not a :class:`PlatformData`, ``config`` not a
        :class:`WarningFeatureConfig` or ``propagation`` not a
        :class:`risk.propagation.PropagationConfig`.
    InvalidFrameError, ValueError
        From :func:`features.precredit.validate_applications`.

    Notes
    -----
    Nothing dated after a row's t can change it: records count only if decided ≤ t (and,
    for the active counts, active on t, so a repair or removal dated after t is not yet
    seen); repairs only if repaired ≤ t; the graph is the snapshot of roles present on t;
    the population is read from founding and closing dates. Kind, industry and registered
    capital are stored attributes without history. ``tests/features/test_warning_features.py``
    rewrites every later-dated fact of a county and checks that the rows do not move.
    """
    data = _check_data(data)
    config = WarningFeatureConfig() if config is None else config
    if not isinstance(config, WarningFeatureConfig):
        raise TypeError(f"config must be a WarningFeatureConfig; got {type(config).__name__}")
    if not isinstance(propagation, PropagationConfig):
        raise TypeError(
            f"propagation must be a PropagationConfig; got {type(propagation).__name__}"
        )
    population = validate_applications(population)
    columns: dict[str, npt.NDArray[np.float64]] = {}
    base = build_features(data, population, config.precredit())
    for name in base.columns:
        if name not in _PRECREDIT_DROPPED:
            columns[str(name)] = base[name].to_numpy(dtype=np.float64)
    columns.update(_own_features(data, population, config, propagation))
    columns.update(_profile_codes(data, population))
    specs = warning_feature_specs(config)
    if config.graph:
        columns.update(
            graph_features(
                data,
                population["uscc"].to_numpy(),
                population["as_of"].to_numpy(dtype="datetime64[s]"),
                specs.of_source("graph").names,
                propagation,
                group_rule=config.group_rule,
            )
        )
    frame = pd.DataFrame({s.name: np.asarray(columns[s.name], dtype=np.float64) for s in specs})
    frame.index = population.index
    return frame
