"""Credit-risk grades (企业信用风险分类 A/B/C/D) and the watchlist (重点关注对象名单).

Grades drive 双随机、一公开 inspection ratios (DESIGN.md §4; county plans 000 and 004:
分级分类监管 — fewer inspections for good credit, more for bad). Each enterprise existing on
the date gets one grade from three signals:

* **own signal** s and **linked risk** r of :mod:`risk.propagation` (active records only, by
  :func:`risk.publicity.active_mask`); r is taken *without* the walks that return to the
  enterprise, so an enterprise's own records are not counted twice;
* the **serious-dishonesty list**: an active record of a kind in
  :data:`risk.rules.SERIOUS_LIST_KINDS` (严重失信主体名单, 严重违法失信名单, 失信被执行人,
  重大税收违法);
* its **open warnings** in the store (:mod:`risk.warnings`; run them for the same date first).

Grade mapping
-------------
The first grade whose condition holds (defaults of :class:`GradeConfig`):

=====  ===============  ======================================================  ==============
grade  label            condition                                               双随机 ratio
=====  ===============  ======================================================  ==============
D      信用风险高        on the serious-dishonesty list, or an open red warning   80 % (61–100 %)
C      信用风险较高      an open orange warning, or s ≥ 0.6, or r ≥ 0.6           40 % (21–60 %)
B      信用风险一般      any active negative record (s > 0), an open yellow       10 % (5–20 %)
                         warning, or r ≥ 0.1
A      信用风险低        none of the above                                         3 % (≤ 5 %)
=====  ===============  ======================================================  ==============

The learned warning is a fourth input of the credit office's grade (not the banks'): once the
batch pipeline has scored it, an enterprise whose probability of a new violation within 12
months (再犯概率) is at least ``learned_b`` (default 0.3) is lifted one grade
(:func:`lift_by_learned`).

With the default weights of :class:`~risk.propagation.PropagationConfig`, s ≥ 0.6 means, for
example, one fresh serious 行政处罚 (0.3 × 2), two fresh general ones, or a 失信被执行人
younger than about five months (0.8 × 0.5^(age/365)). The recommended ratios sit low in the
bands for A and B (most enterprises: inspections stay few) and let each grade up be inspected
three to four times as often; D stays below 100 % so that 双随机 keeps its random draw (set
1.0 for 全覆盖).

Watchlist
---------
重点关注对象名单: the enterprises with at least one **open red or orange warning**, with their
rules, regulators and warning ids. An enterprise leaves the list when those warnings are closed
(or, on a later run, downgraded to yellow). Enterprises on the serious-dishonesty list without
such a warning are graded D but not added: they are on a national list already, under its own
惩戒 measures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from risk.contract import NEGATIVE_KINDS, RecordKind, SubjectType
from risk.dates import as_of_timestamp
from risk.graph import GraphSnapshot
from risk.propagation import RiskPropagator, RiskScores
from risk.publicity import active_mask
from risk.rules import (
    LEVEL_RANK,
    RULE_LABELS,
    SERIOUS_LIST_KINDS,
    Level,
    Rule,
    RuleInputs,
    existing_on,
)
from risk.store import contract_table, warnings_table
from risk.validation import check_real
from risk.warnings import OPEN_STATUSES

if TYPE_CHECKING:
    from risk.config import RiskConfig

__all__ = [
    "DEFAULT_INSPECTION_RATIOS",
    "GRADE_LABELS",
    "INSPECTION_BANDS",
    "Grade",
    "GradeConfig",
    "assign_grades",
    "grade_enterprises",
    "grade_scored",
    "grade_summary",
    "lift_by_learned",
    "open_warning_levels",
    "watchlist",
]


class Grade(StrEnum):
    """企业信用风险分类, from low risk (A) to high risk (D)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


GRADE_LABELS: Mapping[Grade, str] = MappingProxyType(
    {Grade.A: "信用风险低", Grade.B: "信用风险一般", Grade.C: "信用风险较高", Grade.D: "信用风险高"}
)
"""Chinese label of each grade."""

INSPECTION_BANDS: Mapping[Grade, tuple[float, float]] = MappingProxyType(
    {Grade.A: (0.0, 0.05), Grade.B: (0.05, 0.20), Grade.C: (0.21, 0.60), Grade.D: (0.61, 1.0)}
)
"""双随机 inspection-ratio band of each grade (DESIGN.md §4), inclusive."""

DEFAULT_INSPECTION_RATIOS: Mapping[Grade, float] = MappingProxyType(
    {Grade.A: 0.03, Grade.B: 0.10, Grade.C: 0.40, Grade.D: 0.80}
)
"""The recommended point ratio of each grade (module docstring)."""

_WARNING_GRADE: Mapping[str, Grade] = MappingProxyType(
    {Level.red.value: Grade.D, Level.orange.value: Grade.C, Level.yellow.value: Grade.B}
)


@dataclass(frozen=True)
class GradeConfig:
    """How grades are assigned (frozen, validated on construction).

    Parameters
    ----------
    own_signal_c
        Own signal at or above which an enterprise is at least C, > 0 (default 0.6).
    linked_risk_c
        Linked risk (returning walks excluded) at or above which it is at least C, > 0
        (default 0.6).
    linked_risk_b
        Linked risk at or above which it is at least B, in (0, ``linked_risk_c``]
        (default 0.1).
    list_kinds
        The serious-dishonesty list (default :data:`risk.rules.SERIOUS_LIST_KINDS`).
    inspection_ratios
        Point ratio per grade, each inside its :data:`INSPECTION_BANDS` band; a partial
        mapping keeps the other defaults (:data:`DEFAULT_INSPECTION_RATIOS`).
    learned_b
        Learned-warning probability (再犯概率, P(new violation within 12 months)) at or
        above which the credit office's grade is lifted one grade (A→B, B→C, C→D), in
        (0, 1] (default 0.3; :func:`lift_by_learned`). The banks' grade never reads it.

    Raises
    ------
    TypeError
        If a field has the wrong type.
    ValueError
        If a field is out of range, as ``"<field> must be <rule>; got <value>"``.
    """

    own_signal_c: float = 0.6
    linked_risk_c: float = 0.6
    linked_risk_b: float = 0.1
    list_kinds: frozenset[RecordKind] = SERIOUS_LIST_KINDS
    inspection_ratios: Mapping[Grade, float] = field(
        default_factory=lambda: DEFAULT_INSPECTION_RATIOS
    )
    learned_b: float = 0.3

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "learned_b", check_real("learned_b", self.learned_b, 0, 1, open_low=True))
        for name in ("own_signal_c", "linked_risk_c"):
            put(self, name, check_real(name, getattr(self, name), 0, open_low=True))
        linked_b = check_real("linked_risk_b", self.linked_risk_b, 0, open_low=True)
        if linked_b > self.linked_risk_c:
            raise ValueError(
                f"linked_risk_b must be ≤ linked_risk_c ({self.linked_risk_c:g}); "
                f"got {self.linked_risk_b!r}"
            )
        put(self, "linked_risk_b", linked_b)
        if isinstance(self.list_kinds, str) or not isinstance(self.list_kinds, Iterable):
            raise TypeError(
                f"list_kinds must be a set of record kinds; got {type(self.list_kinds).__name__}"
            )
        kinds = set()
        for kind in self.list_kinds:
            try:
                member = RecordKind(kind)
            except ValueError:
                member = None
            if member is None or member not in NEGATIVE_KINDS:
                names = ", ".join(sorted(k.value for k in NEGATIVE_KINDS))
                raise ValueError(f"list_kinds entries must be one of {names}; got {kind!r}")
            kinds.add(member)
        if not kinds:
            raise ValueError("list_kinds must name at least one record kind; got an empty set")
        put(self, "list_kinds", frozenset(kinds))
        if not isinstance(self.inspection_ratios, Mapping):
            raise TypeError(
                f"inspection_ratios must be a mapping; got {type(self.inspection_ratios).__name__}"
            )
        ratios = dict(DEFAULT_INSPECTION_RATIOS)
        for key, value in self.inspection_ratios.items():
            try:
                grade = Grade(key)
            except ValueError:
                raise ValueError(
                    f"inspection_ratios keys must be A, B, C or D; got {key!r}"
                ) from None
            low, high = INSPECTION_BANDS[grade]
            ratios[grade] = check_real(f"inspection_ratios[{grade.value}]", value, low, high)
        put(self, "inspection_ratios", MappingProxyType({g: ratios[g] for g in Grade}))


def assign_grades(signals: pd.DataFrame, config: GradeConfig | None = None) -> pd.DataFrame:
    """Grade enterprises from their signals (the mapping of the module docstring).

    Parameters
    ----------
    signals
        Indexed by USCC, columns ``own_signal`` (s), ``linked_risk`` (r, returning walks
        excluded), ``serious_listed`` (bool) and ``warning_level`` (the most urgent open
        warning level: ``red``, ``orange``, ``yellow`` or missing).
    config
        Thresholds and ratios; ``None`` means ``GradeConfig()``.

    Returns
    -------
    pandas.DataFrame
        ``signals`` with ``grade``, ``grade_label``, ``reason`` (the first condition that set
        the grade, in Chinese) and ``inspection_ratio``.

    Raises
    ------
    ValueError
        If a column is missing or a warning level is unknown.
    """
    config = GradeConfig() if config is None else config
    missing = [
        c
        for c in ("own_signal", "linked_risk", "serious_listed", "warning_level")
        if c not in signals.columns
    ]
    if missing:
        raise ValueError(f"signals must have columns {', '.join(missing)}; got {list(signals)}")
    own = signals["own_signal"].to_numpy(dtype=np.float64)
    linked = signals["linked_risk"].to_numpy(dtype=np.float64)
    listed = signals["serious_listed"].to_numpy(dtype=bool)
    levels = signals["warning_level"].astype(object).where(signals["warning_level"].notna(), None)
    unknown = sorted({str(v) for v in levels.dropna()} - set(_WARNING_GRADE))
    if unknown:
        raise ValueError(
            f"warning_level must be red, orange, yellow or missing; got {unknown[0]!r}"
        )
    level = levels.to_numpy(dtype=object)
    choices = [
        (listed, Grade.D, "列入严重失信主体名单"),
        (level == Level.red.value, Grade.D, "存在未办结的红色预警"),
        (level == Level.orange.value, Grade.C, "存在未办结的橙色预警"),
        (own >= config.own_signal_c, Grade.C, f"自身失信信号 ≥ {config.own_signal_c:g}"),
        (linked >= config.linked_risk_c, Grade.C, f"关联风险 ≥ {config.linked_risk_c:g}"),
        (own > 0, Grade.B, "有在公示期内的失信记录"),
        (level == Level.yellow.value, Grade.B, "存在未办结的黄色预警"),
        (linked >= config.linked_risk_b, Grade.B, f"关联风险 ≥ {config.linked_risk_b:g}"),
    ]
    conditions = [np.asarray(c, dtype=bool) for c, _, _ in choices]
    grade = np.select(conditions, [g.value for _, g, _ in choices], default=Grade.A.value)
    reason = np.select(conditions, [r for _, _, r in choices], default="无失信记录和显著关联风险")
    out = signals.copy()
    out["grade"] = grade.astype(object)
    out["grade_label"] = [GRADE_LABELS[Grade(g)] for g in grade]
    out["reason"] = reason.astype(object)
    out["inspection_ratio"] = [config.inspection_ratios[Grade(g)] for g in grade]
    return out


_LIFTED: Mapping[str, str] = MappingProxyType(
    {Grade.A.value: Grade.B.value, Grade.B.value: Grade.C.value, Grade.C.value: Grade.D.value}
)


def lift_by_learned(
    grades: pd.DataFrame, learned: pd.Series, config: GradeConfig | None = None
) -> pd.DataFrame:
    """The credit office's grades with the learned warning as an input: one grade up where
    the learned probability of a new violation (再犯概率) is at least ``config.learned_b``.

    The rules grade on what happened; the learned warning (:mod:`models.warning`) on what
    the enterprise's history and neighbourhood make likely within 12 months. An enterprise
    the model ranks at or above ``learned_b`` is inspected as the next grade up (A→B, B→C,
    C→D; D stays D), and its reason says so. The banks' grade (``grade_bank``) is left as it
    is: banks never see the learned warning.

    Parameters
    ----------
    grades
        The ``grades`` kind's rows (``subject_id``, ``grade``, ``reason``, …).
    learned
        Probability by USCC; enterprises without one keep their grade.
    config
        ``learned_b``; ``None`` means ``GradeConfig()``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``grades`` with ``grade`` and ``reason`` lifted where due.

    Raises
    ------
    ValueError
        If ``grades`` lacks ``subject_id``, ``grade`` or ``reason``, or a probability is
        outside [0, 1].
    """
    config = GradeConfig() if config is None else config
    missing = [c for c in ("subject_id", "grade", "reason") if c not in grades.columns]
    if missing:
        raise ValueError(f"grades must have columns {', '.join(missing)}; got {list(grades)}")
    values = pd.to_numeric(learned, errors="coerce").astype(np.float64)
    wrong = values[(values < 0) | (values > 1)]
    if len(wrong):
        raise ValueError(f"learned probabilities must be in [0, 1]; got {float(wrong.iloc[0])!r}")
    probability = values.reindex(grades["subject_id"].astype(str).to_numpy()).to_numpy()
    lift = (probability >= config.learned_b) & grades["grade"].isin(list(_LIFTED)).to_numpy()
    out = grades.copy()
    if lift.any():
        out.loc[lift, "grade"] = out.loc[lift, "grade"].map(_LIFTED)
        out.loc[lift, "reason"] = (
            out.loc[lift, "reason"].astype(str) + f"；再犯概率 ≥ {config.learned_b:g}，上调一级"
        )
    return out


def open_warning_levels(engine: Engine) -> pd.Series:
    """The most urgent open warning level of each enterprise with one, by USCC."""
    t = warnings_table
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.uscc, t.c.level).where(t.c.status.in_(sorted(OPEN_STATUSES)))
        ).all()
    if not rows:
        return pd.Series(dtype=object)
    frame = pd.DataFrame(rows, columns=["uscc", "level"])
    frame["rank"] = frame["level"].map({lv.value: r for lv, r in LEVEL_RANK.items()})
    best = frame.sort_values(["uscc", "rank"]).drop_duplicates("uscc")
    return pd.Series(best["level"].to_numpy(dtype=object), index=best["uscc"].to_numpy())


def grade_enterprises(
    engine: Engine,
    as_of: date | pd.Timestamp | str,
    config: RiskConfig | None = None,
    *,
    use_warnings: bool = True,
) -> pd.DataFrame:
    """Grade every enterprise existing on ``as_of`` (founded, not closed).

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The date of the signals.
    config
        The risk settings: the grades' thresholds and ratios (``config.grades``) and the
        propagation of s and r (``config.propagation``); ``None`` means ``RiskConfig()``.
    use_warnings
        Read the open warnings from the store (run :func:`risk.warnings.run_warnings` for the
        same date first); ``False`` grades on signals and lists only.

    Returns
    -------
    pandas.DataFrame
        Indexed by USCC (sorted): ``name``, ``own_signal``, ``linked_risk``,
        ``serious_listed``, ``warning_level`` and the columns added by :func:`assign_grades`.

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`~risk.config.RiskConfig`.
    """
    # risk.config imports GradeConfig from here: RiskConfig is read when the function runs.
    from risk.config import RiskConfig

    config = RiskConfig() if config is None else config
    if not isinstance(config, RiskConfig):
        raise TypeError(f"config must be a RiskConfig; got {type(config).__name__}")
    t = as_of_timestamp(as_of)
    data = RuleInputs.from_store(engine, t)
    snapshot = GraphSnapshot.from_frames(data.enterprises, data.persons, data.roles, t)
    propagator = RiskPropagator(config.propagation).fit(snapshot)
    scores = propagator.score(data.records)
    levels = open_warning_levels(engine) if use_warnings else None
    return grade_scored(data, propagator, scores, t, config.grades, levels)


def grade_scored(
    data: RuleInputs,
    propagator: RiskPropagator,
    scores: RiskScores,
    as_of: date | pd.Timestamp | str,
    config: GradeConfig,
    warning_levels: pd.Series | None = None,
) -> pd.DataFrame:
    """:func:`grade_enterprises` on frames and a graph already scored (a batch run grades
    twice — the bank view without warnings and the credit office's with them — on one
    propagation).

    Parameters
    ----------
    data
        The contract frames of ``as_of``.
    propagator, scores
        Fitted on the graph of ``data`` on ``as_of``, and its scores.
    config
        The grades' thresholds and ratios.
    warning_levels
        The most urgent open warning level by USCC (:func:`open_warning_levels`); None grades
        on signals and lists only.
    """
    t = as_of_timestamp(as_of)
    ents = data.enterprises
    exists = existing_on(ents, t)
    usccs = ents.loc[exists, "uscc"].astype(str)
    snapshot = propagator.snapshot_
    positions = snapshot.indices_of(usccs)
    own = scores.own_signal[positions]
    linked = scores.linked_risk[positions].copy()
    # Walks that return to the enterprise exist only where it has a signal of its own.
    echo = (own > 0) & (linked > 0)
    if echo.any():
        exact = propagator.linked_risk_excluding_self(scores, usccs[echo])
        linked[echo] = exact.to_numpy()

    records = data.records
    active = active_mask(
        records["decided"],
        records["publicity_end"],
        records["repaired"],
        records["removed"],
        t,
    )
    listed_ids = records.loc[
        active
        & (records["subject_type"] == SubjectType.enterprise.value).to_numpy()
        & records["kind"].isin([k.value for k in config.list_kinds]).to_numpy(),
        "subject_id",
    ]
    levels = pd.Series(dtype=object) if warning_levels is None else warning_levels
    signals = pd.DataFrame(
        {
            "name": ents.loc[exists, "name"].to_numpy(dtype=object),
            "own_signal": own,
            "linked_risk": linked,
            "serious_listed": usccs.isin(set(listed_ids)).to_numpy(),
            "warning_level": levels.reindex(usccs.to_numpy()).to_numpy(dtype=object),
        },
        index=pd.Index(usccs.to_numpy(dtype=object), name="uscc"),
    )
    return assign_grades(signals.sort_index(), config)


def grade_summary(grades: pd.DataFrame, config: GradeConfig | None = None) -> pd.DataFrame:
    """Grade distribution with the 双随机 plan: how many enterprises to draw per grade.

    Parameters
    ----------
    grades
        From :func:`grade_enterprises` or :func:`assign_grades` (a ``grade`` column).
    config
        The ratios; ``None`` means ``GradeConfig()``.

    Returns
    -------
    pandas.DataFrame
        One row per grade A–D: ``grade``, ``label``, ``enterprises``, ``share``,
        ``inspection_ratio`` (the point), ``band`` (e.g. ``"21–60%"``) and ``to_inspect``
        (enterprises × ratio, rounded up).
    """
    config = GradeConfig() if config is None else config
    counts = grades["grade"].value_counts()
    total = int(counts.sum())
    rows = []
    for grade in Grade:
        n = int(counts.get(grade.value, 0))
        ratio = config.inspection_ratios[grade]
        low, high = INSPECTION_BANDS[grade]
        band = f"≤ {high:.0%}" if low == 0 else f"{low * 100:.0f}–{high:.0%}"
        rows.append(
            {
                "grade": grade.value,
                "label": GRADE_LABELS[grade],
                "enterprises": n,
                "share": n / total if total else 0.0,
                "inspection_ratio": ratio,
                "band": band,
                "to_inspect": math.ceil(n * ratio - 1e-9),
            }
        )
    return pd.DataFrame(rows)


def watchlist(engine: Engine) -> pd.DataFrame:
    """重点关注对象名单: enterprises with an open red or orange warning.

    Returns
    -------
    pandas.DataFrame
        One row per enterprise, most urgent first: ``uscc``, ``name``, ``level`` (the highest),
        ``rules`` and ``rule_labels`` (comma- and 、-joined), ``regulators``, ``warning_ids``
        (list) and ``since`` (the earliest as-of date of those warnings).
    """
    t = warnings_table
    ents = contract_table("enterprises")
    query = (
        select(t.c.id, t.c.uscc, t.c.rule, t.c.level, t.c.regulators, t.c.as_of, ents.c.name)
        .select_from(t.outerjoin(ents, ents.c.uscc == t.c.uscc))
        .where(
            t.c.status.in_(sorted(OPEN_STATUSES)),
            t.c.level.in_([Level.red.value, Level.orange.value]),
        )
        .order_by(t.c.uscc, t.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    columns = [
        "uscc",
        "name",
        "level",
        "rules",
        "rule_labels",
        "regulators",
        "warning_ids",
        "since",
    ]
    entries: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = entries.setdefault(
            row.uscc,
            {
                "uscc": row.uscc,
                "name": row.name or "",
                "level": row.level,
                "rules": [],
                "regulators": [],
                "warning_ids": [],
                "since": row.as_of,
            },
        )
        if LEVEL_RANK[Level(row.level)] < LEVEL_RANK[Level(entry["level"])]:
            entry["level"] = row.level
        entry["rules"].append(row.rule)
        entry["regulators"].extend(r for r in row.regulators.split(",") if r)
        entry["warning_ids"].append(int(row.id))
        entry["since"] = min(entry["since"], row.as_of)
    body = []
    for entry in entries.values():
        rules = [r.value for r in Rule if r.value in entry["rules"]]
        body.append(
            {
                **entry,
                "rules": ",".join(rules),
                "rule_labels": "、".join(RULE_LABELS[Rule(r)] for r in rules),
                "regulators": "、".join(dict.fromkeys(entry["regulators"])),
            }
        )
    frame = pd.DataFrame(body, columns=columns)
    if frame.empty:
        return frame
    frame["rank"] = frame["level"].map({lv.value: r for lv, r in LEVEL_RANK.items()})
    return (
        frame.sort_values(["rank", "uscc"], kind="stable")
        .drop(columns="rank")
        .reset_index(drop=True)
    )
