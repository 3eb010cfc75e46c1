"""What the API holds in memory: the store, the pointer to the current score set, the models.

:func:`serving.app.create_app`'s lifespan builds one :class:`ServiceState` and keeps it at
``app.state.credlink``; handlers reach it only through :mod:`serving.deps`. The service never
recomputes the county: the batch pipeline (``credlink pipeline run``) publishes every score as
a score set, and :attr:`ServiceState.scores` (:class:`serving.scores.ScoreReader`) reads the
current one by key — start-up reads a pointer and a description, so neither the start time
nor the memory of a worker grows with the county.

One risk configuration
----------------------
:attr:`ServiceState.risk_config` is the deployment's one :class:`~risk.config.RiskConfig`
(:meth:`serving.settings.Settings.risk_config`, read once by the lifespan): the pipeline
scores with it, the pre-credit champions' features use it (:func:`serving.precredit.
risk_scorer`), and ``/readyz`` says when the current set was scored with other settings
(explanations then use the set's own, :mod:`serving.scores`).

Slot for the pre-credit models
------------------------------
:attr:`ServiceState.models` maps a model name to a :class:`LoadedModel`; the lifespan fills it
with the pre-credit champions (``credlink-pd``, ``credlink-limit``, loaded by alias
``champion``: :mod:`serving.precredit`) when the work directory has an MLflow store.
``/readyz`` lists whatever is there, and is not ready while one of
:attr:`ServiceState.required_models` is missing. The assessments themselves are read from the
current score set.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from risk.config import RiskConfig
from serving.audit import AuditWriter
from serving.keys import KeyCache
from serving.scores import ScoreReader
from serving.settings import Settings

__all__ = ["LoadedModel", "ServiceState", "freeze_heap"]


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
    scores : ScoreReader
        The current score set, read by key (``/readyz`` answers 503 while there is none).
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
    models: dict[str, LoadedModel] = field(default_factory=dict)
    models_error: str | None = None
    required_models: tuple[str, ...] = ()
    reload_token: str | None = None
    audit: AuditWriter = field(init=False)
    keys: KeyCache = field(init=False)
    scores: ScoreReader = field(init=False)

    def __post_init__(self) -> None:
        self.audit = AuditWriter(self.engine)
        self.keys = KeyCache(self.settings.key_cache_seconds)
        self.scores = ScoreReader(self.engine, self.risk_config)


def freeze_heap() -> None:
    """Hide everything loaded so far from the garbage collector (``gc.freeze``).

    The models and the libraries are many long-lived objects; without this every full
    collection walks them all while requests wait (pauses seen as the API's p99 latency).
    Called after the lifespan loaded them and after each model reload: what an earlier call
    froze is unfrozen and collected first, so replaced champions do not stay behind. One full
    collection per call.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
