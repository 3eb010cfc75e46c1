"""The pre-credit champions the API serves, and how they are (re)loaded.

:func:`load_champions` resolves ``credlink-pd@champion`` and ``credlink-limit@champion`` to
their versions in the MLflow registry of the work directory (:func:`models.tracking.
tracking_uris`), loads exactly those versions, builds the :class:`models.scoring.
PrecreditScorer` and reads the platform data it scores from (:class:`features.data.
PlatformData`, the store as of the load). The result is one :class:`Champions` bundle shared
by the two :class:`serving.state.LoadedModel` entries it returns.

Atomicity
    The service swaps ``ServiceState.models`` for the new dict in a single assignment, after
    the whole bundle loaded and scored a warm-up application; a request reads the dict once,
    so it sees either the old pair or the new pair, never a mix. A load that fails changes
    nothing: the current champions keep serving.

Data freshness
    Outcomes posted to ``/v1/outcomes`` and other store changes reach the features at the
    next reload (``POST /v1/admin/models/reload``) or restart, like the graph snapshot.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import Engine

from features.data import PlatformData
from models.exceptions import RegistryError
from models.limit import LimitModel
from models.pd import PDModel
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.scoring import PrecreditScorer
from models.tracking import CHAMPION, tracking_uris
from serving.settings import Settings
from serving.state import LoadedModel, ServiceState

__all__ = [
    "MODEL_NAMES",
    "Champions",
    "load_champions",
    "mlflow_uri",
    "reload_champions",
    "start_champions",
]

logger = logging.getLogger("credlink.serving")

MODEL_NAMES = (PD_MODEL_NAME, LIMIT_MODEL_NAME)
_RELOAD_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class Champions:
    """The pre-credit pipeline one request scores with.

    Attributes
    ----------
    scorer : PrecreditScorer
    data : PlatformData
        The store as read when the champions loaded.
    versions : dict
        Model name → registry version.
    as_of : datetime.date
        The assessment date (the service's snapshot date).
    """

    scorer: PrecreditScorer
    data: PlatformData
    versions: dict[str, str]
    as_of: date
    enterprises: frozenset[str] = field(default_factory=frozenset)


def mlflow_uri(settings: Settings) -> str | None:
    """The work directory's MLflow tracking URI, or None when it has no MLflow store."""
    if not (settings.work_dir / "mlflow.db").exists():
        return None
    return tracking_uris(settings.work_dir)[0]


def load_champions(settings: Settings, engine: Engine) -> dict[str, LoadedModel]:
    """Load the current champions (module docstring); the models dict to install.

    Raises
    ------
    RegistryError
        No MLflow store, a missing ``champion`` alias, or a version that cannot be loaded.
    """
    uri = mlflow_uri(settings)
    if uri is None:
        raise RegistryError(
            f"the MLflow store must exist at {settings.work_dir / 'mlflow.db'}; train and "
            "promote the pre-credit models first (credlink train, credlink models promote)"
        )
    registry = ModelRegistry(uri)
    versions: dict[str, str] = {}
    for name in MODEL_NAMES:
        version = registry.alias_version(name, CHAMPION)
        if version is None:
            raise RegistryError(f"{name}@{CHAMPION} must exist in the registry; got no alias")
        versions[name] = version
    pd_model = registry.load(PD_MODEL_NAME, versions[PD_MODEL_NAME])
    limit_model = registry.load(LIMIT_MODEL_NAME, versions[LIMIT_MODEL_NAME])
    if not isinstance(pd_model, PDModel) or not isinstance(limit_model, LimitModel):
        raise RegistryError(
            f"{PD_MODEL_NAME} and {LIMIT_MODEL_NAME} must be a PD and a limit model"
        )
    scorer = PrecreditScorer(pd_model, limit_model)
    data = PlatformData.from_store(engine)
    enterprises = frozenset(data.enterprises["uscc"].astype(str))
    as_of = settings.snapshot_date
    if enterprises:  # warm up the lazily built caches before requests share them
        first = min(enterprises)
        scorer.score(data, pd.DataFrame({"uscc": [first], "as_of": [as_of]}), reasons="text")
    bundle = Champions(
        scorer=scorer, data=data, versions=versions, as_of=as_of, enterprises=enterprises
    )
    loaded_at = datetime.now(UTC)
    return {
        name: LoadedModel(
            name=name, version=versions[name], alias=CHAMPION, loaded_at=loaded_at, model=bundle
        )
        for name in MODEL_NAMES
    }


def start_champions(state: ServiceState) -> None:
    """Lifespan step: load the champions if the MLflow store exists; log why not otherwise."""
    if mlflow_uri(state.settings) is None:
        state.models_error = (
            f"no MLflow store in {state.settings.work_dir}: train and promote the pre-credit "
            "models, then restart or POST /v1/admin/models/reload"
        )
        logger.info("pre-credit models not loaded: %s", state.models_error)
        return
    try:
        state.models = load_champions(state.settings, state.engine)
        state.models_error = None
    except Exception as error:  # serve the rest of the API; assessments answer 503
        state.models_error = f"the champions could not be loaded: {error}"
        logger.warning("pre-credit models not loaded: %s", error, exc_info=error)
        return
    logger.info(
        "pre-credit champions loaded: %s",
        ", ".join(f"{m.name} v{m.version}" for m in state.models.values()),
    )


def reload_champions(state: ServiceState) -> tuple[dict[str, LoadedModel], dict[str, LoadedModel]]:
    """Load the current champions and swap them in at once; return (previous, current).

    One reload at a time (a lock); requests keep scoring with the previous champions until
    the swap.

    Raises
    ------
    RegistryError
        If the load failed: nothing changed, the previous champions (if any) keep serving.
    """
    with _RELOAD_LOCK:
        previous = state.models
        try:
            loaded = load_champions(state.settings, state.engine)
        except Exception as error:
            serving = ", ".join(f"{m.name} v{m.version}" for m in previous.values()) or "none"
            logger.warning("model reload failed; still serving %s", serving, exc_info=error)
            raise RegistryError(
                f"the champions must load to be swapped in; still serving {serving}: {error}"
            ) from None
        state.models = loaded
        state.models_error = None
        return previous, loaded
