"""The pre-credit champions the API serves, and how they are (re)loaded.

:func:`load_champions` resolves ``credlink-pd@champion`` and ``credlink-limit@champion`` to
their versions in the deployment's MLflow registry (the server ``MLFLOW_TRACKING_URI`` and
``MLFLOW_REGISTRY_URI`` name, else the work directory's store: :func:`mlflow_uri`,
:func:`model_registry`), loads exactly those versions and builds the
:class:`models.scoring.PrecreditScorer` — one :class:`Champions` bundle shared by the two
:class:`serving.state.LoadedModel` entries it returns. The scorer's linked-risk features use
the service's one risk configuration (:func:`risk_scorer`); a PD model trained with another
propagation is refused (retrain it).

Assessments come from the score set
    Every enterprise's assessment is computed once by the batch pipeline with the champions
    of the day (:func:`assessment_frames`, :func:`serving.pipeline.run_pipeline`) and stored in the
    score set; a call reads its row (:mod:`serving.assessments`) and adds its authorization
    id. Loading the champions reads no platform data and assesses nobody, so a worker's
    start time and memory do not grow with the county. The champions are still loaded: for
    ``/v1/models``, for readiness, and to say when the set was assessed by other versions
    than the champions (:func:`set_problems`) — after a promotion, answers keep coming from
    the set until the next ``credlink pipeline run`` assesses with the new champion.

Atomicity
    The service swaps ``ServiceState.models`` for the new dict in a single assignment, after
    the whole bundle loaded; a request reads the dict once, so it sees either the old pair or
    the new pair, never a mix. A load that fails changes nothing: the current champions keep
    serving.

Several workers
    Each worker process holds its own champions. ``POST /v1/admin/models/reload`` reloads the
    worker that received it and re-reads the score pointer, then writes a new token into
    ``<work_dir>/champions-reload``; every worker checks that file every
    :data:`FOLLOW_SECONDS` seconds and reloads when the token changed (:func:`follow_reloads`),
    so all workers serve the new champions within a few seconds. ``credlink models promote``
    is followed the same way once someone asks for a reload.

What the routes do
    :func:`models_list` and :func:`reload` answer :mod:`serving.routes.models`; the
    assessments' checks, batch and audit are :mod:`serving.assessments`.

Models as data, readiness
    Champions are read through :meth:`models.registry.ModelRegistry.load_champion`: booster
    text and JSON checked against the digests recorded at registration, never code from the
    artifact store, and only versions credlink's gate promoted. ``/readyz`` is not ready
    while a required champion (:func:`required_models`, ``CREDLINK_REQUIRED_MODELS``) is not
    loaded (:func:`readiness_problem`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import anyio
import pandas as pd

from features.data import PlatformData
from features.precredit import validate_applications
from models.exceptions import ModelError, RegistryError
from models.gate import QualityFloor
from models.limit import LimitModel
from models.pd import PDModel
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.scoring import PrecreditScorer
from models.tracking import CHAMPION
from risk.config import RiskConfig
from serving.schemas_precredit import (
    LimitOffer,
    ModelRef,
    ModelsList,
    ModelVersionOut,
    ReloadResult,
)
from serving.scores import ServedSet
from serving.settings import Settings
from serving.state import LoadedModel, ServiceState, freeze_heap

__all__ = [
    "ASSESSMENT_COLUMNS",
    "FOLLOW_SECONDS",
    "MODEL_NAMES",
    "RELOAD_MARKER",
    "Champions",
    "announce_reload",
    "assessment_body",
    "assessment_frames",
    "assessment_rows",
    "follow_reloads",
    "load_champions",
    "mlflow_uri",
    "model_registry",
    "models_list",
    "no_store_message",
    "readiness_problem",
    "reload",
    "reload_champions",
    "required_models",
    "risk_scorer",
    "set_problems",
    "start_champions",
]

logger = logging.getLogger("credlink.serving")

MODEL_NAMES = (PD_MODEL_NAME, LIMIT_MODEL_NAME)
_RELOAD_LOCK = threading.Lock()
RELOAD_MARKER = "champions-reload"
"""File in the work directory whose token changes when the champions were reloaded."""
FOLLOW_SECONDS = 2.0
"""How often a worker looks at :data:`RELOAD_MARKER`."""
_TABLE_CHUNK = 50_000
ASSESSMENT_COLUMNS = ("subject_id", "decision", "pd", "pd_band", "limit_amount", "body")
"""The columns of the score sets' ``assessments`` kind (:func:`assessment_rows`)."""


@dataclass(frozen=True, eq=False)
class Champions:
    """The pre-credit champions.

    Attributes
    ----------
    scorer : PrecreditScorer
    versions : dict
        Model name → registry version.
    """

    scorer: PrecreditScorer
    versions: dict[str, str]


def _reason_bodies(codes: Any, zh: Any, en: Any, contributions: Any) -> list[dict[str, Any]]:
    return [
        {"code": str(c), "zh": str(z), "en": str(e), "contribution": round(float(v), 6)}
        for c, z, e, v in zip(codes, zh, en, contributions, strict=True)
    ]


def _policy_reason_bodies(row: Mapping[str, Any], codes: str, reasons: str) -> list[dict[str, Any]]:
    """The reasons of a policy (eligibility, whitelist) in ``row``'s ``codes`` column and its
    ``<reasons>_zh`` and ``<reasons>_en`` columns."""
    return [
        {"code": str(c), "zh": str(z), "en": str(e)}
        for c, z, e in zip(row[codes], row[f"{reasons}_zh"], row[f"{reasons}_en"], strict=True)
    ]


def assessment_body(
    row: Mapping[str, Any], versions: Mapping[str, str], as_of: date
) -> dict[str, Any]:
    """An assessment's JSON, as :class:`serving.schemas_precredit.Assessment` gives it
    (``model_dump(mode="json")`` without the authorization id), from one row of
    :meth:`PrecreditScorer.score_features` with its ``uscc``: the ``body`` of the score set's
    assessment rows.

    Pydantic's validation of ten objects a row costs minutes at a million enterprises; the
    values here are the scorer's own, so the fast path builds the same JSON without it (the
    tests compare the two on every enterprise of a county).
    """
    eligible = bool(row["eligible"])
    offered = eligible and float(row["suggested_limit"]) > 0
    return {
        "uscc": str(row["uscc"]),
        "as_of": as_of.isoformat(),
        "eligible": eligible,
        "whitelisted": bool(row["whitelisted"]),
        "decline_reasons": _policy_reason_bodies(row, "decline_codes", "decline_reasons"),
        "not_whitelisted_reasons": _policy_reason_bodies(
            row, "not_whitelisted_codes", "not_whitelisted_reasons"
        ),
        "pd": float(row["pd"]),
        "grade": int(row["grade"]),
        "pd_band": int(row["pd_band"]),
        "expected_bad_rate": float(row["expected_bad_rate"]),
        "limit": {
            "suggested": round(float(row["suggested_limit"]), 2),
            "low": round(float(row["limit_low"]), 2),
            "high": round(float(row["limit_high"]), 2),
            "unit": LimitOffer.model_fields["unit"].default,
        }
        if offered
        else None,
        "risk_reasons": _reason_bodies(
            row["risk_reasons"],
            row["risk_reasons_zh"],
            row["risk_reasons_en"],
            row["risk_contributions"],
        ),
        "strength_reasons": _reason_bodies(
            row["strength_reasons"],
            row["strength_reasons_zh"],
            row["strength_reasons_en"],
            row["strength_contributions"],
        ),
        "models": [{"name": str(n), "version": str(v)} for n, v in versions.items()],
    }


def assessment_rows(bodies: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``assessments`` kind's rows (:data:`ASSESSMENT_COLUMNS`) from assessment bodies
    (:func:`assessment_body`).

    ``decision`` is ``declined`` (the eligibility policy), ``offered`` (a limit) or
    ``no_offer``; ``pd_band`` the PD's master-scale band; ``body`` the whole assessment as the
    API answers it, without an authorization id (each call adds its own).
    """
    rows = []
    for body in bodies:
        limit = body["limit"]
        decision = (
            "declined" if not body["eligible"] else "offered" if limit is not None else "no_offer"
        )
        rows.append(
            (
                body["uscc"],
                decision,
                float(body["pd"]),
                str(body["pd_band"]),
                None if limit is None else float(limit["suggested"]),
                body,
            )
        )
    return pd.DataFrame(rows, columns=list(ASSESSMENT_COLUMNS))


def assessment_frames(
    scorer: PrecreditScorer,
    data: PlatformData,
    usccs: list[str],
    versions: Mapping[str, str],
    as_of: date,
    *,
    chunk: int = _TABLE_CHUNK,
) -> Iterator[pd.DataFrame]:
    """Assess ``usccs`` as of ``as_of``: the ``assessments`` kind's rows
    (:func:`assessment_rows`), ``chunk`` enterprises a frame (progress in the log).

    The features and the eligibility are computed once for all of them — their county-wide
    work (linked risk, the legal representatives' records, the financial history) is done
    once, not once a chunk — then each chunk is scored, explained and turned into bodies
    (:func:`assessment_body`), so only one chunk's bodies are held at a time. The answers are
    the validated :class:`~serving.schemas_precredit.Assessment`'s (tested).
    """
    if chunk < 1:
        raise ValueError(f"chunk must be ≥ 1; got {chunk}")
    started = time.perf_counter()
    apps = validate_applications(pd.DataFrame({"uscc": usccs, "as_of": [as_of] * len(usccs)}))
    features = scorer.features(data, apps)
    eligibility = scorer.eligibility(data, apps)
    logger.info(
        "features of %d enterprises as of %s (%.1f s)",
        len(usccs),
        as_of,
        time.perf_counter() - started,
    )
    done = 0
    for first in range(0, len(usccs), chunk):
        part = slice(first, first + chunk)
        scored = scorer.score_features(features.iloc[part], eligibility.iloc[part])
        scored.insert(0, "uscc", usccs[part])
        columns = {name: scored[name].tolist() for name in scored.columns}
        names = list(columns)
        bodies = (
            assessment_body(dict(zip(names, values, strict=True)), versions, as_of)
            for values in zip(*columns.values(), strict=True)
        )
        yield assessment_rows(bodies)
        done += len(scored)
        logger.info(
            "assessed %d of %d enterprises as of %s (%.1f s)",
            done,
            len(usccs),
            as_of,
            time.perf_counter() - started,
        )


def mlflow_uri(settings: Settings) -> str | None:
    """The deployment's MLflow tracking URI (:meth:`Settings.mlflow_uris`: a server from
    ``MLFLOW_TRACKING_URI``, else the work directory's store), or None when neither is there."""
    return settings.mlflow_uris()[0] if settings.has_mlflow_store() else None


def model_registry(settings: Settings, floor: QualityFloor | None = None) -> ModelRegistry:
    """The registry of the deployment's MLflow store (``MLFLOW_REGISTRY_URI`` when set)."""
    return ModelRegistry(
        settings.mlflow_uris()[0], floor, registry_uri=settings.mlflow_registry_uri
    )


def no_store_message(settings: Settings) -> str:
    """Why there are no models: no MLflow server configured and no store in the work dir."""
    return (
        f"no MLflow store: MLFLOW_TRACKING_URI is unset and {settings.work_dir / 'mlflow.db'} "
        "does not exist; train and promote the pre-credit models first (credlink train "
        "precredit, credlink models promote) or point MLFLOW_TRACKING_URI at your server"
    )


def risk_scorer(pd_model: PDModel, limit_model: LimitModel, risk: RiskConfig) -> PrecreditScorer:
    """The pre-credit scorer of two models, its linked-risk features computed with ``risk``'s
    propagation (the rest of the feature and eligibility settings as stored at training).

    Raises
    ------
    ValueError
        If the PD model was trained with another propagation (its linked-risk feature would
        not mean what it meant at training): retrain it with the deployment's settings.
    """
    return PrecreditScorer(pd_model, limit_model, risk_config=risk)


def load_champions(settings: Settings, risk: RiskConfig) -> dict[str, LoadedModel]:
    """Load the current champions (module docstring); the models dict to install.

    ``risk`` is the service's one risk configuration (:func:`risk_scorer`).

    Raises
    ------
    RegistryError
        No MLflow store, a missing ``champion`` alias, a champion the gate did not promote,
        or (:class:`~models.exceptions.ArtifactError`) a version whose files cannot be used.
    """
    if mlflow_uri(settings) is None:
        raise RegistryError(no_store_message(settings))
    registry = model_registry(settings)
    for name in MODEL_NAMES:
        if registry.alias_version(name, CHAMPION) is None:
            raise RegistryError(f"{name}@{CHAMPION} must exist in the registry; got no alias")
    loaded = {name: registry.load_champion(name) for name in MODEL_NAMES}
    versions = {name: version for name, (version, _) in loaded.items()}
    pd_model, limit_model = loaded[PD_MODEL_NAME][1], loaded[LIMIT_MODEL_NAME][1]
    if not isinstance(pd_model, PDModel) or not isinstance(limit_model, LimitModel):
        raise RegistryError(
            f"{PD_MODEL_NAME} and {LIMIT_MODEL_NAME} must be a PD and a limit model"
        )
    bundle = Champions(scorer=risk_scorer(pd_model, limit_model, risk), versions=versions)
    loaded_at = datetime.now(UTC)
    return {
        name: LoadedModel(
            name=name, version=versions[name], alias=CHAMPION, loaded_at=loaded_at, model=bundle
        )
        for name in MODEL_NAMES
    }


def required_models(settings: Settings) -> tuple[str, ...]:
    """The champions ``/readyz`` waits for (``CREDLINK_REQUIRED_MODELS``).

    ``auto`` (the default) is the pre-credit pair when ``MLFLOW_TRACKING_URI`` names a server
    or the work directory has an MLflow store — a deployment that trains models means to
    serve them — and none otherwise (a warnings service). The lifespan decides it once, at
    start-up (:func:`start_champions`): models trained into the work directory later do not
    take a running service out of rotation.
    """
    if settings.required_models is not None:
        return settings.required_models
    return MODEL_NAMES if mlflow_uri(settings) is not None else ()


def readiness_problem(state: ServiceState) -> str | None:
    """Why the service is not ready to serve its required champions, or None if it is."""
    loaded = state.models  # read once: a reload swaps the whole dict
    missing = [name for name in state.required_models if name not in loaded]
    if not missing:
        return None
    why = state.models_error or "they are still loading"
    return f"required champions not loaded: {', '.join(missing)}; {why}"


def start_champions(state: ServiceState) -> None:
    """Lifespan step: load the champions if the MLflow store exists; log why not otherwise.

    Also fixes :attr:`ServiceState.required_models` for the life of the process.
    """
    state.reload_token = reload_token(state.settings)  # what is loaded now is the latest
    state.required_models = required_models(state.settings)
    if mlflow_uri(state.settings) is None:
        state.models_error = (
            f"{no_store_message(state.settings)}, then restart or POST /v1/admin/models/reload"
        )
        logger.info("pre-credit models not loaded: %s", state.models_error)
        return
    try:
        state.models = load_champions(state.settings, state.risk_config)
        state.models_error = None
    except Exception as error:  # serve the rest of the API; assessments answer 503
        state.models_error = f"the champions could not be loaded: {error}"
        # A model error says what is wrong in one line; anything else keeps its traceback.
        traceback = None if isinstance(error, ModelError) else error
        logger.warning("pre-credit models not loaded: %s", error, exc_info=traceback)
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
            loaded = load_champions(state.settings, state.risk_config)
        except Exception as error:
            serving = ", ".join(f"{m.name} v{m.version}" for m in previous.values()) or "none"
            traceback = None if isinstance(error, ModelError) else error
            logger.warning(
                "model reload failed; still serving %s: %s", serving, error, exc_info=traceback
            )
            raise RegistryError(
                f"the champions must load to be swapped in; still serving {serving}: {error}"
            ) from None
        state.models = loaded
        state.models_error = None
        return previous, loaded


def reload_token(settings: Settings) -> str | None:
    """The current token of :data:`RELOAD_MARKER` (None before the first reload)."""
    try:
        return (settings.work_dir / RELOAD_MARKER).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def announce_reload(settings: Settings) -> str:
    """Write a new token into :data:`RELOAD_MARKER` (atomically) and return it."""
    token = uuid.uuid4().hex
    marker = settings.work_dir / RELOAD_MARKER
    partial = marker.with_name(f".{RELOAD_MARKER}.{token}")
    partial.write_text(token, encoding="utf-8")
    partial.replace(marker)
    return token


async def follow_reloads(state: ServiceState, interval: float = FOLLOW_SECONDS) -> None:
    """Reload this worker's champions whenever another worker announced a reload (forever).

    A failed reload is logged and leaves the current champions serving, as the API's reload
    does; the next announcement tries again.
    """
    while True:
        await anyio.sleep(interval)
        try:
            token = await anyio.to_thread.run_sync(reload_token, state.settings)
            if token is None or token == state.reload_token:
                continue
            state.reload_token = token
            _, current = await anyio.to_thread.run_sync(reload_champions, state)
        except Exception as error:  # keep following: the API must not die with this task
            logger.warning("announced reload failed in this worker: %s", error)
            continue
        freeze_heap()
        logger.info(
            "followed an announced reload: %s",
            ", ".join(f"{m.name} v{m.version}" for m in current.values()),
        )


# --------------------------------------------------------------------------- models routes


def set_problems(served: ServedSet | None, models: Mapping[str, LoadedModel]) -> list[str]:
    """Where the current score set's assessments and the loaded champions disagree.

    Answers come from the set regardless (module docstring); these say why they may not be
    the loaded champions', and that the next ``credlink pipeline run`` fixes it.
    """
    if served is None or not models:
        return []
    if not served.has("assessments"):
        return [
            f"score set {served.set_id} holds no pre-credit assessments: run `credlink "
            "pipeline run` to assess with the loaded champions"
        ]
    problems = []
    for name, model in models.items():
        version = served.model_versions.get(name)
        if version != model.version:
            problems.append(
                f"{name}: score set {served.set_id} was assessed with version {version or 'none'}"
                f", the loaded champion is version {model.version}; assessments answer from "
                "the set until `credlink pipeline run` assesses with the champion"
            )
    return problems


def models_list(state: ServiceState, served: ServedSet | None) -> ModelsList:
    """Every registered version (newest first per model), the champions this process loaded
    (``serving`` marks them), the versions the current score set's assessments come from
    (``answering``) and where the two disagree."""
    models = state.models  # read once: a reload swaps the whole dict
    serving = {(m.name, m.version) for m in models.values()}
    uri = mlflow_uri(state.settings)
    frame = model_registry(state.settings).list_models() if uri is not None else None
    registered = (
        []
        if frame is None
        else [
            ModelVersionOut(
                name=str(r.name),
                version=str(r.version),
                aliases=[a for a in str(r.aliases).split(", ") if a],
                run_id=None if r.run_id is None else str(r.run_id),
                created=r.created,
                serving=(str(r.name), str(r.version)) in serving,
            )
            for r in frame.itertuples(index=False)
        ]
    )
    answering = (
        []
        if served is None or not served.has("assessments")
        else [
            ModelRef(name=name, version=version)
            for name, version in sorted(served.model_versions.items())
            if name in MODEL_NAMES
        ]
    )
    return ModelsList(
        registered=registered,
        serving=[
            {"name": m.name, "version": m.version, "alias": m.alias, "loaded_at": m.loaded_at}
            for m in models.values()
        ],
        error=state.models_error,
        answering=answering,
        problems=set_problems(served, models),
    )


def reload(state: ServiceState) -> ReloadResult:
    """``POST /v1/admin/models/reload``: re-read the score pointer, reload this worker's
    champions, announce the reload to the other workers (:func:`follow_reloads`), and say
    what changed. Nothing is recomputed: the assessments are the score set's.

    Raises
    ------
    RegistryError
        If the load failed (:func:`reload_champions`): the previous champions keep serving.
    """
    state.scores.refresh()
    previous, current = reload_champions(state)
    state.reload_token = announce_reload(state.settings)
    before = [ModelRef(name=m.name, version=m.version) for m in previous.values()]
    after = [ModelRef(name=m.name, version=m.version) for m in current.values()]
    del previous, current  # let the replaced champions go before the heap is frozen again
    freeze_heap()
    return ReloadResult(previous=before, current=after, changed=before != after)
