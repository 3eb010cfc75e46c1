"""The risk half of a batch run: the county read once, scored once, ruled and graded on it.

:func:`run_risk_batch` reads the contract frames of a date once (:class:`risk.rules.RuleInputs`),
scores the graph once (:func:`risk.snapshot.score_frames`), evaluates the warning rules on that
scored graph and upserts their hits into the warnings store (:func:`risk.warnings.upsert_hits`:
the lifecycle of ``credlink warn run``), then grades every enterprise twice on the same
propagation — the banks' view on signals and lists only, the credit office's with the open
warnings (:func:`risk.grades.grade_scored`). :meth:`RiskBatch.frames` turns the result into the
rows of a score set's ``risk``, ``grades`` and ``warnings`` kinds (:mod:`risk.scoresets`).

Before, each of ``graph build``, ``warn run`` and ``warn grades`` read the store and propagated
on its own; the results are the same (a test compares them), computed once.

Linked-risk bands
    Every enterprise's linked risk without its echo, against the grades' thresholds:
    ``high`` (≥ ``linked_risk_c``), ``elevated`` (≥ ``linked_risk_b``) or ``none``
    (:func:`linked_risk_band`). A change of band is an event of the score-set log. Persons
    have no band.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine, select

from risk.config import RiskConfig
from risk.dates import as_of_timestamp
from risk.grades import GradeConfig, grade_scored, open_warning_levels
from risk.rule_checks import evaluate_rules
from risk.rule_checks import linked_threshold as quantile_threshold
from risk.rules import LEVEL_RANK, Rule, RuleInputs, existing_on
from risk.snapshot import ScoredSnapshot, score_frames
from risk.store import rows_frame, warnings_table
from risk.warnings import OPEN_STATUSES, SYSTEM_ACTOR, RunSummary, upsert_hits

__all__ = [
    "BANDS",
    "RiskBatch",
    "grades_frame",
    "linked_risk_band",
    "open_warnings_frame",
    "risk_rows",
    "run_risk_batch",
]

BANDS = ("none", "elevated", "high")
"""Linked-risk bands, lowest first (module docstring)."""

Progress = Callable[[str, float], None]
"""Called after each step with its name and seconds."""


def linked_risk_band(linked: npt.ArrayLike, config: GradeConfig) -> npt.NDArray[np.object_]:
    """The band of each linked risk (without echo) under the grades' thresholds."""
    values = np.asarray(linked, dtype=np.float64)
    return np.select(
        [values >= config.linked_risk_c, values >= config.linked_risk_b],
        ["high", "elevated"],
        default="none",
    ).astype(object)


@dataclass(frozen=True)
class RiskBatch:
    """One date's risk results, computed once.

    Attributes
    ----------
    as_of : datetime.date
    config : RiskConfig
    inputs : RuleInputs
        The contract frames read.
    scored : ScoredSnapshot
        The graph and every node's own signal and linked risk.
    linked_threshold : float
        The linked-risk rule's threshold value on this date (live updates keep it).
    warnings : RunSummary
        What the rules' upsert did to the warnings store.
    grades : pandas.DataFrame
        The credit office's grades (open warnings count), indexed by USCC.
    grades_bank : pandas.DataFrame
        The banks' grades (signals and lists only).
    seconds : dict
        Step → wall time.
    """

    as_of: date
    config: RiskConfig
    inputs: RuleInputs = field(repr=False)
    scored: ScoredSnapshot = field(repr=False)
    linked_threshold: float
    warnings: RunSummary
    grades: pd.DataFrame = field(repr=False)
    grades_bank: pd.DataFrame = field(repr=False)
    seconds: dict[str, float]

    def frames(self, engine: Engine) -> dict[str, pd.DataFrame]:
        """The score-set rows of the ``risk``, ``grades`` and ``warnings`` kinds."""
        return {
            "risk": self.risk_frame(),
            "grades": grades_frame(self.grades, self.grades_bank),
            "warnings": open_warnings_frame(engine),
        }

    def risk_frame(self) -> pd.DataFrame:
        """Every node: own signal, linked risk with and without its echo, band (enterprises
        existing on the date)."""
        return risk_rows(self.scored, self.grades.index, self.config.grades)


def risk_rows(
    scored: ScoredSnapshot,
    existing: Iterable[str],
    config: GradeConfig,
    node_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The ``risk`` kind's rows of some nodes of a scored graph (default: every node).

    Parameters
    ----------
    scored
        The graph and its scores.
    existing
        The enterprises existing on the date: they get a band, the other nodes ``None``.
    config
        The grades' thresholds of the bands.
    node_ids
        The nodes to give rows to (a live update gives them to the nodes whose linked risk its
        change can move, :mod:`risk.live`).

    Returns
    -------
    pandas.DataFrame
        ``subject_id``, ``own_signal``, ``linked_risk``, ``linked_risk_excluding_self``,
        ``band``.
    """
    snapshot, scores = scored.snapshot, scored.scores
    positions = np.arange(snapshot.n_nodes) if node_ids is None else snapshot.indices_of(node_ids)
    ids = snapshot.node_ids.to_numpy(dtype=object)[positions]
    own, linked = scores.own_signal[positions], scores.linked_risk[positions]
    others = linked.copy()
    echoing = np.flatnonzero((own > 0) & (linked > 0))
    if echoing.size:
        others[echoing] = scored.propagator.linked_risk_excluding_self(
            scores, ids[echoing]
        ).to_numpy()
    band = np.full(ids.size, None, dtype=object)
    at = np.flatnonzero(pd.Index(ids).isin(pd.Index(list(existing), dtype=object)))
    band[at] = linked_risk_band(others[at], config)
    return pd.DataFrame(
        {
            "subject_id": ids,
            "own_signal": own,
            "linked_risk": linked,
            "linked_risk_excluding_self": others,
            "band": band,
        }
    )


def grades_frame(grades: pd.DataFrame, grades_bank: pd.DataFrame) -> pd.DataFrame:
    """The ``grades`` kind's rows: the office's grade and reason beside the banks'."""
    bank = grades_bank.reindex(grades.index)
    level = grades["warning_level"].astype(object)
    return pd.DataFrame(
        {
            "subject_id": grades.index.to_numpy(dtype=object),
            "grade": grades["grade"].to_numpy(dtype=object),
            "reason": grades["reason"].to_numpy(dtype=object),
            "grade_bank": bank["grade"].to_numpy(dtype=object),
            "reason_bank": bank["reason"].to_numpy(dtype=object),
            "serious_listed": grades["serious_listed"].to_numpy(dtype=bool),
            "warning_level": level.where(level.notna(), None).to_numpy(dtype=object),
        }
    )


def open_warnings_frame(engine: Engine, usccs: list[str] | None = None) -> pd.DataFrame:
    """The ``warnings`` kind's rows: per enterprise with an open warning, the most urgent
    level, the rules (sorted, comma-separated) and the warning ids."""
    t = warnings_table
    query = select(t.c.id, t.c.uscc, t.c.rule, t.c.level).where(
        t.c.status.in_(sorted(OPEN_STATUSES))
    )
    if usccs is not None:
        query = query.where(t.c.uscc.in_(usccs))
    with engine.connect() as conn:
        rows = rows_frame(conn.execute(query).all(), ["id", "uscc", "rule", "level"])
    columns = ["subject_id", "level", "rules", "warning_ids"]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    rank = {level.value: r for level, r in LEVEL_RANK.items()}
    rows["rank"] = rows["level"].map(rank)
    rows = rows.sort_values(["uscc", "rank", "id"])
    out = []
    for uscc, part in rows.groupby("uscc", sort=True):
        out.append(
            {
                "subject_id": str(uscc),
                "level": str(part["level"].iloc[0]),
                "rules": ",".join(sorted(set(part["rule"].astype(str)))),
                "warning_ids": sorted(int(i) for i in part["id"]),
            }
        )
    return pd.DataFrame(out, columns=columns)


def run_risk_batch(
    engine: Engine,
    as_of: date | pd.Timestamp | str,
    config: RiskConfig | None = None,
    *,
    actor: str = SYSTEM_ACTOR,
    progress: Progress | None = None,
    linked_threshold: float | None = None,
) -> RiskBatch:
    """Score, rule and grade the county of ``as_of`` in one pass (module docstring).

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The date.
    config
        The risk settings; ``None`` means ``RiskConfig()``.
    actor
        Written on the warning events of the rules' upsert.
    progress
        Called after each step (name, seconds).
    linked_threshold
        The linked-risk rule's threshold value, fixed (e.g. the one a score set froze, to
        compare a live update with a full recompute); None computes it over the county
        (:func:`risk.rule_checks.linked_threshold`).
    """
    config = RiskConfig() if config is None else config
    if not isinstance(config, RiskConfig):
        raise TypeError(f"config must be a RiskConfig; got {type(config).__name__}")
    t = as_of_timestamp(as_of)
    seconds: dict[str, float] = {}

    def step(name: str, started: float) -> None:
        seconds[name] = time.perf_counter() - started
        if progress is not None:
            progress(name, seconds[name])

    started = time.perf_counter()
    inputs = RuleInputs.from_store(engine, t)
    step("read", started)

    started = time.perf_counter()
    scored = score_frames(
        inputs.enterprises, inputs.persons, inputs.roles, inputs.records, t, config
    )
    step("propagate", started)

    started = time.perf_counter()
    existing = inputs.enterprises.loc[existing_on(inputs.enterprises, t), "uscc"].astype(str)
    threshold = (
        quantile_threshold(
            config.rules, scored.scores.linked_risk[scored.snapshot.indices_of(existing)]
        )
        if linked_threshold is None
        else float(linked_threshold)
    )
    hits = evaluate_rules(inputs, t, config, scored=scored, linked_threshold=threshold)
    rules = frozenset(Rule(r) for r in config.rules.rules)
    summary = upsert_hits(engine, hits, actor=actor, as_of=t.date(), rules=rules)
    step("rules", started)

    started = time.perf_counter()
    grades_bank = grade_scored(inputs, scored.propagator, scored.scores, t, config.grades)
    grades = grade_scored(
        inputs, scored.propagator, scored.scores, t, config.grades, open_warning_levels(engine)
    )
    step("grades", started)
    return RiskBatch(
        as_of=t.date(),
        config=config,
        inputs=inputs,
        scored=scored,
        linked_threshold=threshold,
        warnings=summary,
        grades=grades,
        grades_bank=grades_bank,
        seconds=seconds,
    )
