"""The batch pipeline: every kind of score computed once and written as one score set.

``credlink pipeline run [--as-of DATE]`` (and ``credlink demo``) runs, in order:

1. **risk** — the county read once, scored once, the warning rules upserted into the
   warnings store, the banks' and the credit office's grades (:func:`risk.batch.run_risk_batch`);
   **write risk** writes its linked-risk and warning rows;
2. **learned warning** — the probability of a new violation (再犯概率) of every existing
   enterprise from ``credlink-warning@champion`` (skipped, and said so, when there is no
   champion);
3. **write grades** — the grades, the credit office's lifted one step where the learned
   probability reaches ``grades.learned_b`` (:func:`risk.grades.lift_by_learned`; the banks'
   grade never reads it);
4. **assessments** — the pre-credit assessment of every enterprise from
   ``credlink-pd@champion`` and ``credlink-limit@champion`` (skipped likewise);
5. **drift** — per-feature and score PSI of today's population against each champion's
   out-of-time holdout (:mod:`models.drift`, thresholds ``drift.watch`` / ``drift.act``),
   recorded in the set's ``config`` as ``drift_report.<model>`` and logged to MLflow as a
   ``drift-<as_of>`` run of the model's experiment (rows: the models monitored). The PD's
   "today" is today's applicants (:func:`drift_population`), the warning's every existing
   enterprise; each report names its population. The step is a monitor and never blocks
   publication: a model whose drift fails (MLflow or the artifact store down, a holdout
   without a column) is recorded as ``status: skipped`` with the reason, and logged;
6. **publish** — the rows are written into a new score set (:mod:`risk.scoresets`) as they
   come; when all are written the set is completed and made current in one transaction, its
   differences from the set it replaces appended to the event log, and the sets beyond the
   newest :data:`risk.scoresets.KEEP_SETS` pruned.

A failure at any other step discards the set being built; the current set keeps answering.
Serving reads the current set and never recomputes the county (:mod:`serving.state`).

Each step reports its name, wall time and rows to ``progress``; :class:`PipelineResult` is what
``--json`` prints.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from risk.batch import RiskBatch, run_risk_batch
from risk.config import RiskConfig
from risk.contract import NEGATIVE_KINDS
from risk.grades import lift_by_learned
from risk.scoresets import (
    KEEP_SETS,
    ScoreSet,
    annotate,
    begin_set,
    discard,
    get_set,
    publish,
    write_kind,
)
from risk.store import ingest_batches
from risk.warnings import RunSummary

__all__ = [
    "DRIFT_APPLICANT_MONTHS",
    "DRIFT_MIN_APPLICANTS",
    "DRIFT_SAMPLE",
    "DriftSkip",
    "LearnedScores",
    "PipelineResult",
    "Progress",
    "StepResult",
    "drift_population",
    "graph_counts",
    "learned_scores",
    "run_pipeline",
]

logger = logging.getLogger("credlink.pipeline")

Progress = Callable[[str, float, int], None]
"""Called after each step: name, seconds, rows written."""


@dataclass(frozen=True)
class StepResult:
    """One step of a run: its name, wall time and the rows it wrote (or why it was skipped)."""

    name: str
    seconds: float
    rows: int
    skipped: str | None = None


@dataclass(frozen=True)
class PipelineResult:
    """What a pipeline run did.

    Attributes
    ----------
    score_set : ScoreSet
        The published set (now current).
    steps : list of StepResult
    warnings : RunSummary
        The rules' upsert into the warnings store.
    events : int
        Events appended by publishing (changes from the replaced set).
    seconds : float
        Wall time of the whole run.
    batch : RiskBatch or None
        The risk step's scored county, with ``keep_batch`` only (for printing, e.g.
        ``credlink demo``'s top linked risks and explanations); not part of :meth:`to_dict`.
    """

    score_set: ScoreSet
    steps: list[StepResult]
    warnings: RunSummary
    events: int
    seconds: float = field(default=0.0)
    batch: RiskBatch | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``credlink pipeline run --json``)."""
        s = self.score_set
        return {
            "score_set": {
                "id": s.id,
                "as_of": s.as_of.isoformat(),
                "config_digest": s.config_digest,
                "model_versions": s.model_versions,
                "counts": s.counts,
                "status": s.status,
            },
            "steps": [
                {"name": st.name, "seconds": round(st.seconds, 3), "rows": st.rows}
                | ({"skipped": st.skipped} if st.skipped else {})
                for st in self.steps
            ],
            "warnings": self.warnings.to_dict(),
            "events": self.events,
            "seconds": round(self.seconds, 3),
        }


def graph_counts(batch: RiskBatch) -> dict[str, int]:
    """The size of the scored graph, recorded in the set's ``config`` as ``graph.*`` (what
    ``/readyz`` reports without reading the graph): nodes, enterprises, persons, edges, and
    the negative records decided by the date."""
    snapshot = batch.scored.snapshot
    persons = int(snapshot.is_person.sum())
    records = batch.scored.records
    negative = records["kind"].isin([k.value for k in NEGATIVE_KINDS])
    return {
        "graph.nodes": snapshot.n_nodes,
        "graph.enterprises": snapshot.n_nodes - persons,
        "graph.persons": persons,
        "graph.edges": snapshot.n_edges,
        "graph.signal_records": int(negative.sum()),
    }


def _newest_batch(engine: Engine) -> int | None:
    with engine.connect() as conn:
        value = conn.execute(select(func.max(ingest_batches.c.id))).scalar()
    return None if value is None else int(value)


def run_pipeline(
    engine: Engine,
    as_of: date,
    risk_config: RiskConfig,
    *,
    mlflow_uri: str | None,
    progress: Progress | None = None,
    keep: int = KEEP_SETS,
    keep_batch: bool = False,
    registry_uri: str | None = None,
) -> PipelineResult:
    """Compute every kind of score as of ``as_of`` and publish them as the current score set.

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The date of the scores.
    risk_config
        The deployment's risk settings (their digest names the set).
    mlflow_uri
        The MLflow store of the champions (None: no models, their steps are skipped).
    progress
        Called after each step.
    keep
        Complete sets kept.
    keep_batch
        Return the risk batch (:attr:`PipelineResult.batch`, e.g. to print the top linked
        risks); otherwise it is let go once its rows are written, before the models' steps
        load the county again (gigabytes at a million enterprises).
    registry_uri
        The champions' model registry when it is not ``mlflow_uri`` (``MLFLOW_REGISTRY_URI``).

    Raises
    ------
    Exception
        Whatever a step raised, after the set being built was discarded.
    """
    # The models are imported when the pipeline runs: `credlink --help` loads none of them.
    from serving.precredit import assessment_frames

    started = time.perf_counter()
    steps: list[StepResult] = []

    def done(name: str, clock: float, rows: int, skipped: str | None = None) -> None:
        steps.append(StepResult(name, time.perf_counter() - clock, rows, skipped))
        if progress is not None:
            progress(name, steps[-1].seconds, rows)

    clock = time.perf_counter()
    batch = run_risk_batch(engine, as_of, risk_config)
    done("risk", clock, len(batch.scored.snapshot.node_ids))

    champions = _champions(mlflow_uri, risk_config, registry_uri)
    versions = {name: version for name, (version, _) in champions.models.items()}
    set_id = begin_set(
        engine,
        as_of,
        config_digest=risk_config.digest(),
        config={
            **risk_config.flat_params(),
            "linked_threshold_value": batch.linked_threshold,
            **graph_counts(batch),
        },
        model_versions=versions,
        source_batch=_newest_batch(engine),
    )
    try:
        clock = time.perf_counter()
        frames = batch.frames(engine)
        grades = frames.pop("grades")
        rows = sum(write_kind(engine, set_id, k, f) for k, f in frames.items())
        done("write risk", clock, rows)
        summary = batch.warnings
        kept = batch if keep_batch else None
        del batch, frames

        data = None
        learned: LearnedScores | None = None
        clock = time.perf_counter()
        if champions.warning is None:
            done("learned warning", clock, 0, champions.why_not_warning)
        else:
            from features.data import PlatformData

            data = PlatformData.from_store(engine)
            learned = learned_scores(data, champions.warning, as_of, risk_config)
            done("learned warning", clock, write_kind(engine, set_id, "learned", learned.rows))

        clock = time.perf_counter()
        if learned is not None:
            probability = learned.rows.set_index("subject_id")["probability"]
            grades = lift_by_learned(grades, probability, risk_config.grades)
        done("write grades", clock, write_kind(engine, set_id, "grades", grades))

        clock = time.perf_counter()
        pd_today: tuple[Any, list[str]] | None = None
        if champions.scorer is None:
            done("assessments", clock, 0, champions.why_not_precredit)
        else:
            from features.data import PlatformData

            data = PlatformData.from_store(engine) if data is None else data
            usccs = sorted(data.enterprises["uscc"].astype(str).unique())
            pre_versions = {n: versions[n] for n in champions.precredit_names}
            assessed = assessment_frames(champions.scorer, data, usccs, pre_versions, as_of)
            written = sum(write_kind(engine, set_id, "assessments", f) for f in assessed)
            pd_today = (data, usccs)
            done("assessments", clock, written)

        # The drift step is a monitor: whatever fails in it (MLflow or the artifact store
        # down, a holdout without a column) is recorded and logged, and the set is published.
        clock = time.perf_counter()
        reports, skips = _drift_reports(champions, versions, learned, pd_today, as_of, risk_config)
        unlogged: dict[str, str] = {}
        if mlflow_uri is not None:
            from models.drift import log_drift

            for report in reports:
                try:
                    log_drift(
                        report,
                        mlflow_uri,
                        registry_uri=registry_uri,
                        set_id=set_id,
                        as_of=as_of.isoformat(),
                    )
                except Exception as error:
                    unlogged[report.model] = _reason(report.model, "logging to MLflow", error)
        if reports or skips:
            from models.drift import SET_KEY

            records = {
                f"{SET_KEY}.{r.model}": r.to_dict()
                | ({"not_logged": unlogged[r.model]} if r.model in unlogged else {})
                for r in reports
            }
            records.update({f"{SET_KEY}.{s.model}": s.to_dict() for s in skips})
            annotate(engine, set_id, records)
            why = "; ".join(
                [f"{s.model}: {s.reason}" for s in skips]
                + [f"{m}: not logged, {r}" for m, r in unlogged.items()]
            )
            done("drift", clock, len(reports), why or None)
        else:
            done("drift", clock, 0, "no champion to monitor")

        clock = time.perf_counter()
        before = _event_count(engine)
        published = publish(engine, set_id, keep=keep)
        events = _event_count(engine) - before
        done("publish", clock, events)
    except BaseException as error:
        discard(engine, set_id, f"{type(error).__name__}: {error}")
        raise
    return PipelineResult(
        score_set=get_set(engine, published.id),
        steps=steps,
        warnings=summary,
        events=events,
        seconds=time.perf_counter() - started,
        batch=kept,
    )


def _event_count(engine: Engine) -> int:
    from risk.store import score_events

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(score_events)).scalar_one())


@dataclass
class _Champions:
    models: dict[str, tuple[str, Any]] = field(default_factory=dict)
    scorer: Any = None
    warning: Any = None
    precredit_names: tuple[str, ...] = ()
    registry: Any = None
    why_not_warning: str | None = None
    why_not_precredit: str | None = None


def _champions(
    mlflow_uri: str | None, risk_config: RiskConfig, registry_uri: str | None = None
) -> _Champions:
    """The champions the pipeline scores with, and why a kind is skipped."""
    out = _Champions()
    if mlflow_uri is None:
        out.why_not_warning = out.why_not_precredit = (
            "no MLflow store (MLFLOW_TRACKING_URI unset, none in the work directory)"
        )
        return out
    from models.exceptions import ModelError, RegistryError
    from models.registry import (
        LIMIT_MODEL_NAME,
        PD_MODEL_NAME,
        WARNING_MODEL_NAME,
        ModelRegistry,
    )
    from models.tracking import CHAMPION
    from serving.precredit import risk_scorer

    registry = ModelRegistry(mlflow_uri, registry_uri=registry_uri)
    out.registry = registry
    if registry.alias_version(WARNING_MODEL_NAME, CHAMPION) is None:
        out.why_not_warning = f"no {WARNING_MODEL_NAME}@{CHAMPION}"
    else:
        try:
            version, model = registry.load_champion(WARNING_MODEL_NAME)
            out.models[WARNING_MODEL_NAME] = (version, model)
            out.warning = model
        except (RegistryError, ModelError) as error:
            out.why_not_warning = str(error)
    names = (PD_MODEL_NAME, LIMIT_MODEL_NAME)
    missing = [n for n in names if registry.alias_version(n, CHAMPION) is None]
    if missing:
        out.why_not_precredit = f"no {', '.join(f'{n}@{CHAMPION}' for n in missing)}"
        return out
    try:
        loaded = {n: registry.load_champion(n) for n in names}
    except (RegistryError, ModelError) as error:
        out.why_not_precredit = str(error)
        return out
    out.models.update(loaded)
    from models.limit import LimitModel
    from models.pd import PDModel

    pd_model, limit_model = loaded[PD_MODEL_NAME][1], loaded[LIMIT_MODEL_NAME][1]
    if not isinstance(pd_model, PDModel) or not isinstance(limit_model, LimitModel):
        out.why_not_precredit = (
            f"{PD_MODEL_NAME} and {LIMIT_MODEL_NAME} must be a PD and a limit model"
        )
        return out
    try:
        out.scorer = risk_scorer(pd_model, limit_model, risk_config)
    except ValueError as error:  # trained with another propagation
        out.why_not_precredit = str(error)
        return out
    out.precredit_names = names
    return out


DRIFT_SAMPLE = 20_000
"""Most enterprises whose pre-credit features the drift step builds again as of the as-of
date (a seeded sample: PSI over deciles is exact to about ±0.005 at that size, and the
rebuild stays small beside the assessments' county-wide one)."""


@dataclass(frozen=True)
class LearnedScores:
    """The learned warning's scores of one run: the ``learned`` rows and the features they
    came from (what the drift step compares with the model's holdout)."""

    rows: pd.DataFrame
    features: pd.DataFrame = field(repr=False)


def learned_scores(data: Any, model: Any, as_of: date, risk_config: RiskConfig) -> LearnedScores:
    """The ``learned`` kind's rows: each enterprise existing on ``as_of`` and its probability
    of a new violation within the model's horizon, from the model's own feature settings;
    with the feature frame."""
    from features.warning import (
        WarningFeatureConfig,
        build_warning_features,
        warning_population,
    )

    context = dict(model.context or {})
    feature_config = WarningFeatureConfig.from_dict(context.get("feature_config", {}))
    population = warning_population(data, as_of)
    X = build_warning_features(
        data, population, feature_config, propagation=risk_config.propagation
    )[model.feature_names_]
    probability = model.predict_violation(X)
    rows = pd.DataFrame(
        {
            "subject_id": population["uscc"].astype(str).to_numpy(dtype=object),
            "probability": probability,
        }
    )
    return LearnedScores(rows=rows, features=X.reset_index(drop=True))


DRIFT_APPLICANT_MONTHS = 12
"""The PD's drift compares the enterprises that applied for a loan in this many months before
the as-of date (today's applicants) with its holdout of applications."""
DRIFT_MIN_APPLICANTS = 50
"""Fewer applicants than this, and the PD's drift falls back to every scored enterprise."""


def drift_population(data: Any, usccs: list[str], as_of: date) -> tuple[list[str], str]:
    """The enterprises the PD's drift compares with its holdout, and what they are.

    The holdout is of loan applications featured at their application dates, so today's
    comparable population is today's applicants — the scored enterprises with a loan applied
    in the :data:`DRIFT_APPLICANT_MONTHS` months before ``as_of`` — featured as of ``as_of``.
    Every enterprise of the county differs from applicants by design (loan history, age,
    size); it is used only when fewer than :data:`DRIFT_MIN_APPLICANTS` applied, and the
    description says so.
    """
    day = pd.Timestamp(as_of)
    applied = pd.to_datetime(data.loans["applied"])
    recent = (applied >= day - pd.DateOffset(months=DRIFT_APPLICANT_MONTHS)) & (applied < day)
    applicants = sorted(set(data.loans.loc[recent, "uscc"].astype(str)) & set(usccs))
    window = f"in the {DRIFT_APPLICANT_MONTHS} months before {as_of.isoformat()}"
    if len(applicants) >= DRIFT_MIN_APPLICANTS:
        return applicants, (
            f"applicants: enterprises that applied for a loan {window}, featured as of "
            f"{as_of.isoformat()} (n={len(applicants)})"
        )
    return list(usccs), (
        f"all scored enterprises (n={len(usccs)}): only {len(applicants)} applied for a loan "
        f"{window}, fewer than {DRIFT_MIN_APPLICANTS}"
    )


def _drift_sample(scorer: Any, data: Any, usccs: list[str], as_of: date) -> pd.DataFrame:
    """The PD's features of at most :data:`DRIFT_SAMPLE` enterprises (seeded sample)."""
    from features.precredit import validate_applications

    chosen = list(usccs)
    if len(chosen) > DRIFT_SAMPLE:
        rng = np.random.default_rng(0)
        chosen = sorted(rng.choice(np.asarray(chosen, dtype=object), DRIFT_SAMPLE, replace=False))
    apps = validate_applications(pd.DataFrame({"uscc": chosen, "as_of": [as_of] * len(chosen)}))
    features: pd.DataFrame = scorer.features(data, apps)
    return features.reset_index(drop=True)


@dataclass(frozen=True)
class DriftSkip:
    """A model whose drift the run could not measure, and why (recorded in the set as
    ``drift_report.<model>`` with ``status`` ``skipped``; the set is published anyway)."""

    model: str
    version: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what the set records)."""
        return {
            "model": self.model,
            "version": self.version,
            "status": "skipped",
            "skipped": self.reason,
        }


def _reason(model: str, stage: str, error: Exception) -> str:
    """The skip's reason: the stage and the exception's type, never its message (which may
    quote data); logged as a warning."""
    reason = f"{stage} failed ({type(error).__name__})"
    logger.warning("drift of %s skipped: %s; the score set is published without it", model, reason)
    return reason


def _drift_reports(
    champions: _Champions,
    versions: dict[str, str],
    learned: LearnedScores | None,
    pd_today: tuple[Any, list[str]] | None,
    as_of: date,
    risk_config: RiskConfig,
) -> tuple[list[Any], list[DriftSkip]]:
    """Each champion's drift against its out-of-time holdout (module docstring, step 5), and
    the champions whose drift failed, with why (never raises)."""
    from models.drift import DriftMonitor, feature_columns
    from models.registry import PD_MODEL_NAME, WARNING_MODEL_NAME

    reports: list[Any] = []
    skips: list[DriftSkip] = []
    # Each model's population of today: its features, its scores when the run already has
    # them (the learned warning's, scored on the same frame), and what it is.
    Today = tuple[pd.DataFrame, Any, str]
    todo: list[tuple[str, Any, Callable[[], Today]]] = []
    if learned is not None:
        features, scores = learned.features, learned.rows["probability"].to_numpy()
        everyone = f"all enterprises existing on {as_of.isoformat()} (n={len(features)})"
        todo.append((WARNING_MODEL_NAME, champions.warning, lambda: (features, scores, everyone)))
    if pd_today is not None:
        scorer, (data, usccs) = champions.scorer, pd_today

        def pd_population() -> Today:
            chosen, population = drift_population(data, usccs, as_of)
            return _drift_sample(scorer, data, chosen, as_of), None, population

        todo.append((PD_MODEL_NAME, scorer.pd_model, pd_population))
    for name, model, today_of in todo:
        stage = "building today's features"
        try:
            today, scores, population = today_of()
            stage = "reading the holdout"
            holdout = champions.registry.holdout(name, versions[name])
            stage = "fitting the holdout's reference"
            names = list(model.feature_names_)
            reference = feature_columns(holdout, names)
            monitor = DriftMonitor(risk_config.drift).fit(
                reference, model.predict_probability(reference)
            )
            stage = "comparing today's population"
            X = feature_columns(today, names)
            reports.append(
                monitor.report(
                    X,
                    model.predict_probability(X) if scores is None else scores,
                    model=name,
                    version=versions[name],
                    population=population,
                )
            )
        except Exception as error:
            skips.append(DriftSkip(name, versions[name], _reason(name, stage, error)))
    return reports, skips
