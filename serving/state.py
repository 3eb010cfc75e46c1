"""What the API holds in memory: the store, the scored graph snapshot and (later) the models.

:func:`serving.app.create_app`'s lifespan builds one :class:`ServiceState` and keeps it at
``app.state.credlink``; handlers reach it only through :mod:`serving.deps`. The snapshot is
loaded **once** at startup, as of :attr:`serving.settings.Settings.snapshot_date`; a new
snapshot means a restart (rolling, with several workers).

One risk configuration
----------------------
:attr:`ServiceState.risk_config` is the deployment's one :class:`~risk.config.RiskConfig`
(:meth:`serving.settings.Settings.risk_config`, read once by the lifespan). The snapshot's
propagation and grades (:func:`load_snapshot`), the grade of each answer
(:attr:`LoadedSnapshot.config`) and the pre-credit features of the champions
(:func:`serving.precredit.load_champions`) are all computed with it, so the linked risk a bank
is served, the one the rules fire on (``credlink warn run`` reads the same settings) and the
PD model's linked-risk feature agree.

Slot for the pre-credit models
------------------------------
:attr:`ServiceState.models` maps a model name to a :class:`LoadedModel`; the lifespan fills it
with the pre-credit champions (``credlink-pd``, ``credlink-limit``, loaded by alias
``champion``: :mod:`serving.precredit`) when the work directory has an MLflow store.
``/readyz`` lists whatever is there, and is not ready while one of
:attr:`ServiceState.required_models` is missing.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from risk.config import RiskConfig
from risk.grades import grade_enterprises
from risk.snapshot import ScoredSnapshot, score_snapshot
from serving.audit import AuditWriter
from serving.keys import KeyCache
from serving.settings import Settings

__all__ = ["LoadedModel", "LoadedSnapshot", "ServiceState", "load_snapshot"]


@dataclass(frozen=True)
class LoadedModel:
    """A model the service has loaded (filled in by the pre-credit work).

    Attributes
    ----------
    name : str
        Registered model name.
    version : str
        Registry version.
    alias : str
        The alias it was loaded by (``champion``).
    loaded_at : datetime.datetime
        UTC.
    model : object
        The loaded model itself.
    """

    name: str
    version: str
    alias: str
    loaded_at: datetime
    model: Any = field(repr=False, compare=False)


@dataclass(frozen=True, eq=False)
class LoadedSnapshot:
    """The scored graph snapshot the API answers from.

    Attributes
    ----------
    run : ScoredSnapshot
        Snapshot, fitted propagator, scores and the signal records they came from.
    grades : pandas.DataFrame
        :func:`risk.grades.grade_enterprises` on signals and lists only (no warnings), indexed
        by USCC: the bank view of the grade, and the base the warning-aware grade starts from.
    records_by_subject : dict
        Subject id → row positions in ``run.records``.
    config : RiskConfig
        The settings the snapshot was scored and graded with (module docstring).
    loaded_at : datetime.datetime
        UTC.
    seconds : float
        How long loading took.
    """

    run: ScoredSnapshot
    grades: pd.DataFrame
    records_by_subject: dict[str, np.ndarray]
    config: RiskConfig
    loaded_at: datetime
    seconds: float

    @property
    def as_of(self) -> date:
        """The snapshot date."""
        return self.run.snapshot.as_of.date()

    def records_of(self, subject_ids: list[str]) -> pd.DataFrame:
        """The signal records of some subjects (rows of ``run.records``)."""
        parts = [self.records_by_subject[s] for s in subject_ids if s in self.records_by_subject]
        if not parts:
            return self.run.records.iloc[0:0]
        return self.run.records.iloc[np.sort(np.concatenate(parts))]


def load_snapshot(engine: Engine, as_of: date, config: RiskConfig) -> LoadedSnapshot:
    """Build and score the graph as of ``as_of`` and grade every enterprise (no warnings),
    with ``config``'s propagation and grades."""
    started = time.perf_counter()
    run = score_snapshot(engine, as_of, config)
    grades = grade_enterprises(engine, as_of, config, use_warnings=False)
    subjects = run.records["subject_id"].astype(str).to_numpy()
    by_subject = pd.Series(np.arange(len(subjects))).groupby(subjects).indices
    # Requests read the snapshot from many threads at once: build what pandas and the
    # snapshot would otherwise build lazily on first use (index hash tables, cached frames).
    run.snapshot.node_ids.get_indexer(run.snapshot.node_ids[:1])
    grades.index.get_indexer(grades.index[:1])
    _ = run.snapshot.nodes, run.snapshot.edges
    return LoadedSnapshot(
        run=run,
        grades=grades,
        records_by_subject={str(k): np.asarray(v) for k, v in by_subject.items()},
        config=config,
        loaded_at=datetime.now(UTC),
        seconds=time.perf_counter() - started,
    )


@dataclass
class ServiceState:
    """Everything a request may need, built once by the lifespan.

    Attributes
    ----------
    settings : Settings
    engine : sqlalchemy.Engine
        The migrated store.
    risk_config : RiskConfig
        The deployment's risk settings, read once (module docstring).
    allowlist : tuple of str
        Early-pilot USCCs accepted despite a failed check character.
    snapshot : LoadedSnapshot or None
        None until loaded (``/readyz`` answers 503 then).
    models : dict
        Name → :class:`LoadedModel` (module docstring). Replaced as a whole, never mutated
        in place (:mod:`serving.precredit`): read it once per request.
    models_error : str or None
        Why the models are not loaded (assessments answer 503 with it).
    required_models : tuple of str
        The champions ``/readyz`` waits for, fixed at start-up
        (:func:`serving.precredit.required_models`).
    audit : AuditWriter
        This process's group commit of audit rows (:mod:`serving.audit`).
    keys : KeyCache
        API keys this process verified recently (:mod:`serving.keys`).
    reload_token : str or None
        The announced reload the loaded champions follow (:mod:`serving.precredit`).
    """

    settings: Settings
    engine: Engine
    risk_config: RiskConfig
    allowlist: tuple[str, ...] = ()
    snapshot: LoadedSnapshot | None = None
    models: dict[str, LoadedModel] = field(default_factory=dict)
    models_error: str | None = None
    required_models: tuple[str, ...] = ()
    reload_token: str | None = None
    audit: AuditWriter = field(init=False)
    keys: KeyCache = field(init=False)

    def __post_init__(self) -> None:
        self.audit = AuditWriter(self.engine)
        self.keys = KeyCache(self.settings.key_cache_seconds)


def freeze_heap() -> None:
    """Hide everything loaded so far from the garbage collector (``gc.freeze``).

    The snapshot, the platform data and the precomputed assessments are millions of
    long-lived objects; without this every full collection walks them all while requests wait
    (pauses of tens of milliseconds, seen as the API's p99 latency). Called after the lifespan
    loaded them and after each model reload: what an earlier call froze is unfrozen and
    collected first, so replaced champions do not stay behind. One full collection per call.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
