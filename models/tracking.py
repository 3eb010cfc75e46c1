"""MLflow tracking: where runs go, and what every training run logs.

The tracking and registry URIs always come from the caller (the service passes
``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` when set, else
``sqlite:///<work_dir>/mlflow.db`` with artifacts under ``<work_dir>/mlartifacts``:
:meth:`serving.settings.Settings.mlflow_uris`, :func:`tracking_uris`); nothing here reads the
environment or sets a URI at import.
:func:`mlflow_session` points MLflow at a URI for the duration of a block and restores the
previous one afterwards. Inside it MLflow's own progress lines ("Creating initial MLflow
database tables…", "Validating input example…", "Successfully registered model…") are
quieted: its logger answers from WARNING up, unless the user set ``MLFLOW_LOGGING_LEVEL``,
and the registry's two printed lines become one DEBUG line of ``credlink.models``.

One experiment per model (``credlink-pd``, ``credlink-limit``, ``credlink-warning``, or a bank
table's model name), and one path for every training run of every model
(:func:`log_model_run`): parameters (with the :class:`risk.config.RiskConfig` the features used,
flattened, and its digest), metrics, tables (CSV), plots (PNG, drawn with matplotlib's Agg
canvas, no pyplot state), the model card (markdown), the feature catalog and category
vocabulary (JSON), the holdout sample the promotion gate re-scores (parquet), and the
estimator as the one pyfunc model (:class:`models.pyfunc.CredlinkModel`) with signature and
input example, registered as a new version under the alias ``challenger`` with the SHA-256 of
each estimator file as the version tag :data:`models.artifacts.DIGEST_TAG` (credlink loads only
those exact files back).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import mlflow
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.models import infer_signature
from mlflow.utils import logging_utils
from sklearn.metrics import roc_curve

from models.artifacts import DIGEST_TAG, file_digests
from models.pyfunc import ENTRY_POINT
from risk.config import RiskConfig

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "RISK_CONFIG_TAG",
    "LoggableEstimator",
    "LoggedRun",
    "ModelRun",
    "calibration_figure",
    "ensure_experiment",
    "flat_params",
    "importance_figure",
    "limit_figure",
    "log_model_run",
    "log_summary_run",
    "mlflow_session",
    "precision_figure",
    "roc_figure",
    "tracking_uris",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
RISK_CONFIG_TAG = "credlink.risk_config_digest"
"""Run tag: :meth:`risk.config.RiskConfig.digest` of the settings the run's features used."""
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
_PARENT_TAG = "mlflow.parentRunId"  # MLflow's own tag of a nested run: the UI nests by it
_SESSION_LOCK = threading.RLock()
_MLFLOW_LOGGER = logging.getLogger("mlflow")
logger = logging.getLogger("credlink.models")
_REQUIREMENTS = ("mlflow", "lightgbm", "pandas", "numpy", "scipy", "scikit-learn", "pyarrow")


def flat_params(sections: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """MLflow parameters from nested config dicts: ``{"pd": {"num_leaves": 15}}`` →
    ``{"pd.num_leaves": 15}``, one level of nesting more as ``pd.grades.low``."""
    params: dict[str, Any] = {}
    for prefix, data in sections.items():
        for key, value in data.items():
            if isinstance(value, Mapping):
                for sub, item in value.items():
                    params[f"{prefix}.{key}.{sub}"] = item
            else:
                params[f"{prefix}.{key}"] = value
    return params


def tracking_uris(work_dir: str | Path) -> tuple[str, str]:
    """The tracking URI and artifact location of a work directory.

    Parameters
    ----------
    work_dir
        The service's work directory.

    Returns
    -------
    tuple of str
        ``sqlite:///<work_dir>/mlflow.db`` and ``file://<work_dir>/mlartifacts`` (absolute).
        Open the UI with ``mlflow ui --backend-store-uri sqlite:///<work_dir>/mlflow.db``.
    """
    root = Path(work_dir).resolve()
    return f"sqlite:///{root / 'mlflow.db'}", (root / "mlartifacts").as_uri()


@contextmanager
def mlflow_session(tracking_uri: str, registry_uri: str | None = None) -> Iterator[MlflowClient]:
    """Point MLflow at ``tracking_uri`` and ``registry_uri`` (None: the tracking URI) inside
    the block.

    A SQLite database's directory is created if missing. The previous URIs are restored on
    exit. MLflow's artifact progress bars are off inside the block (unless the user set
    ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``): with tqdm installed they would draw on a
    command's standard error, among its one-line messages.

    Yields
    ------
    mlflow.MlflowClient
        A client on ``tracking_uri``.
    """
    if not isinstance(tracking_uri, str) or not tracking_uri.strip():
        raise ValueError(f"tracking_uri must be a non-empty URI; got {tracking_uri!r}")
    if tracking_uri.startswith("sqlite:///"):
        database = tracking_uri.removeprefix("sqlite:///")
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    registry = registry_uri or tracking_uri
    with _SESSION_LOCK:  # MLflow's URIs are process-wide: one session at a time
        previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
        environment = {name: os.environ.get(name) for name in (*_URI_VARIABLES, _PROGRESS_BAR)}
        os.environ.setdefault(_PROGRESS_BAR, "false")
        level = _MLFLOW_LOGGER.level
        if not os.environ.get("MLFLOW_LOGGING_LEVEL"):
            _MLFLOW_LOGGER.setLevel(max(level, logging.WARNING))
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(registry)
        _restore({name: environment[name] for name in _URI_VARIABLES})
        try:
            yield MlflowClient(tracking_uri=tracking_uri, registry_uri=registry)
        finally:
            mlflow.set_tracking_uri(previous[0])
            mlflow.set_registry_uri(previous[1])
            _restore(environment)
            _MLFLOW_LOGGER.setLevel(level)


@contextmanager
def _registry_lines_logged() -> Iterator[None]:
    """Silence MLflow's stream while registering: it prints "Successfully registered model …" /
    "Created version …" there directly, not through a logger (the caller logs the version at
    DEBUG instead). ``MLFLOW_LOGGING_LEVEL`` set by the user keeps MLflow's lines."""
    if os.environ.get("MLFLOW_LOGGING_LEVEL"):
        yield
        return
    stream = logging_utils.MLFLOW_LOGGING_STREAM
    enabled = stream.enabled
    stream.enabled = False
    try:
        yield
    finally:
        stream.enabled = enabled


def _restore(environment: Mapping[str, str | None]) -> None:
    """Put the user's ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` (and progress-bar
    setting) back.

    MLflow's setters also write the URIs into the environment (for subprocesses); left there,
    a session's URI would pass for the user's server in the next
    :class:`serving.settings.Settings`. In-process MLflow calls use the URIs set, not the
    environment.
    """
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def ensure_experiment(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    """The id of experiment ``name``, created (artifacts in ``<artifact_location>/<name>``)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None if artifact_location is None else f"{artifact_location.rstrip('/')}/{name}"
    return str(client.create_experiment(name, artifact_location=location))


# --------------------------------------------------------------------------- plots


def _figure(width: float = 5.5, height: float = 4.5) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """ROC curves, one per sample name → (outcomes, scores)."""
    figure = _figure()
    axes = figure.add_subplot()
    for name, (y, score) in curves.items():
        if 0 < np.sum(y) < len(y):
            fpr, tpr, _ = roc_curve(y, score)
            axes.plot(fpr, tpr, label=name)
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title("ROC")
    axes.legend(loc="lower right")
    figure.tight_layout()
    return figure


def calibration_figure(table: pd.DataFrame) -> Figure:
    """Observed against predicted bad rate per bin (:func:`models.metrics.calibration_table`)."""
    figure = _figure()
    axes = figure.add_subplot()
    top = float(max(table["predicted"].max(), table["observed"].max(), 0.01)) * 1.1
    axes.plot([0, top], [0, top], linestyle=":", color="grey")
    axes.plot(table["predicted"], table["observed"], marker="o")
    axes.set_xlabel("mean predicted PD")
    axes.set_ylabel("observed bad rate")
    axes.set_title("calibration (out of time)")
    figure.tight_layout()
    return figure


def importance_figure(
    importance: pd.DataFrame, top: int = 20, title: str = "importance (gain)"
) -> Figure:
    """Horizontal bars of the ``gain`` column by ``feature`` (largest ``top``)."""
    shown = importance.nlargest(top, "gain").iloc[::-1]
    figure = _figure(6.5, max(3.0, 0.28 * len(shown) + 1))
    axes = figure.add_subplot()
    axes.barh(shown["feature"].astype(str), shown["gain"])
    axes.set_xlabel("total gain")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def precision_figure(
    y: np.ndarray, scores: Mapping[str, tuple[np.ndarray, int | None]], top: int
) -> Figure:
    """Precision@k for k = 1 … top, one line per score name → (scores, how many it ranks:
    the rules stop at their flagged set; ``None``: all)."""
    figure = _figure()
    axes = figure.add_subplot()
    for name, (score, ranked) in scores.items():
        order = np.argsort(-score, kind="stable")
        limit = min(top, y.size if ranked is None else ranked)
        if limit < 1:
            continue
        k = np.arange(1, limit + 1)
        axes.plot(k, np.cumsum(y[order[:limit]]) / k, label=name)
    axes.axhline(float(y.mean()), linestyle=":", color="grey", label="base rate")
    axes.set_xlabel("k (enterprises looked at, most urgent first)")
    axes.set_ylabel("precision@k")
    axes.set_title("new violation within 12 months (test cutoff)")
    axes.legend(loc="upper right")
    figure.tight_layout()
    return figure


def limit_figure(approved: np.ndarray, suggested: np.ndarray, rule: np.ndarray) -> Figure:
    """Suggested limits and the rule of thumb against the amounts of loans that performed.

    Plot texts are ASCII: the default font has no CJK glyphs.
    """
    figure = _figure()
    axes = figure.add_subplot()
    axes.scatter(approved, rule, s=8, alpha=0.5, label="rule of thumb: 7x annual tax")
    axes.scatter(approved, suggested, s=8, alpha=0.5, label="limit model")
    top = float(max(np.max(approved, initial=1.0), 1.0))
    axes.plot([0, top], [0, top], linestyle=":", color="grey")
    axes.set_xlabel("approved amount of loans that performed (10k CNY)")
    axes.set_ylabel("limit (10k CNY)")
    axes.set_title("limits vs approved amounts (out of time)")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------- runs


class LoggableEstimator(Protocol):
    """What :func:`log_model_run` needs of an estimator (PD, limit and warning models)."""

    def save(self, directory: str | Path) -> Path: ...

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame: ...


@dataclass
class ModelRun:
    """Everything one training run logs (see the module docstring).

    Attributes
    ----------
    experiment : str
        Experiment name (one per model).
    registered_name : str or None
        Register the model under this name (alias ``challenger``); ``None``: log only.
    estimator : PDModel, LimitModel or WarningModel
        The fitted estimator; logged as its directory (:meth:`save`) and as the one pyfunc
        model (:class:`models.pyfunc.CredlinkModel`, for MLflow's own tools; credlink never
        executes it when loading).
    input_example : pandas.DataFrame
        A few rows of the model's input (for the signature and the example).
    holdout : pandas.DataFrame
        The out-of-time sample, features and outcomes, that the promotion gate re-scores.
    risk_config : risk.config.RiskConfig or None
        The propagation, rule and grade settings the features were computed with: logged as
        parameters (:meth:`~risk.config.RiskConfig.flat_params`), its digest as the parameter
        and tag ``risk_config_digest`` / :data:`RISK_CONFIG_TAG`, and the whole as
        ``risk_config.json``.
    """

    experiment: str
    registered_name: str | None
    estimator: LoggableEstimator
    input_example: pd.DataFrame
    holdout: pd.DataFrame
    run_name: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    dicts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    risk_config: RiskConfig | None = None


@dataclass(frozen=True)
class LoggedRun:
    """Where a run went: run id, logged model URI and registered version (if any)."""

    experiment_id: str
    run_id: str
    model_uri: str
    version: str | None


def _requirements() -> list[str]:
    pins = []
    for package in _REQUIREMENTS:
        try:
            pins.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            pins.append(package)
    return pins


def _finite(metrics: Mapping[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)}


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    return {str(k)[:250]: str(v)[:6000] for k, v in params.items()}


def log_model_run(
    run: ModelRun,
    tracking_uri: str,
    artifact_location: str | None = None,
    *,
    registry_uri: str | None = None,
) -> LoggedRun:
    """Log one training run and register its model (see :class:`ModelRun`).

    Parameters
    ----------
    run
        What to log.
    tracking_uri
        The tracking URI.
    artifact_location
        Root for new experiments' artifacts (``<root>/<experiment>``); ``None``: MLflow's
        default (a tracking server's own artifact store).
    registry_uri
        Where the model is registered (None: the tracking URI).

    Returns
    -------
    LoggedRun
    """
    with mlflow_session(tracking_uri, registry_uri) as client, tempfile.TemporaryDirectory() as tmp:
        experiment_id = ensure_experiment(client, run.experiment, artifact_location)
        folder = Path(tmp)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run.run_name) as active:
            run_id = active.info.run_id
            tags, params = dict(run.tags), dict(run.params)
            if run.risk_config is not None:
                digest = run.risk_config.digest()
                tags[RISK_CONFIG_TAG] = digest
                params |= {**run.risk_config.flat_params(), "risk_config_digest": digest}
                mlflow.log_dict(run.risk_config.to_dict(), "risk_config.json")
            mlflow.set_tags(tags)
            mlflow.log_params(_params(params))
            mlflow.log_metrics(_finite(run.metrics))
            for name, table in run.tables.items():
                path = folder / f"{name}.csv"
                table.to_csv(path, index=False)
                mlflow.log_artifact(str(path), "tables")
            for name, figure in run.figures.items():
                mlflow.log_figure(figure, f"plots/{name}.png")
            for name, text in run.texts.items():
                mlflow.log_text(text, name)
            for name, data in run.dicts.items():
                mlflow.log_dict(dict(data), name)
            holdout_path = folder / "holdout.parquet"
            run.holdout.to_parquet(holdout_path, index=False)
            mlflow.log_artifact(str(holdout_path), "holdout")
            estimator_dir = run.estimator.save(folder / "estimator")
            example = run.input_example.reset_index(drop=True)
            with warnings.catch_warnings():  # the integer ``grade`` output is never missing
                warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
                signature = infer_signature(example, run.estimator.predict_frame(example))
            digests = file_digests(estimator_dir)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(ENTRY_POINT),
                artifacts={"estimator": str(estimator_dir)},
                signature=signature,
                input_example=example,
                pip_requirements=_requirements(),
            )
        version = None
        if run.registered_name is not None:
            with _registry_lines_logged():
                registered = mlflow.register_model(
                    info.model_uri,
                    run.registered_name,
                    tags={"run_id": run_id, DIGEST_TAG: json.dumps(digests, sort_keys=True)},
                )
            version = str(registered.version)
            logger.debug("registered %s version %s", run.registered_name, version)
            client.set_registered_model_alias(run.registered_name, CHALLENGER, version)
        return LoggedRun(experiment_id, run_id, info.model_uri, version)


def log_summary_run(
    experiment: str,
    tracking_uri: str,
    artifact_location: str | None = None,
    *,
    run_name: str | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    registry_uri: str | None = None,
) -> str:
    """Log a run without a model (a candidate compared, a search's summary); its run id.

    Parameters
    ----------
    experiment
        Experiment name (created under ``artifact_location`` if missing).
    tracking_uri, artifact_location, registry_uri
        As for :func:`log_model_run`.
    run_name, params, metrics, tags
        What the run records.
    parent_run_id
        Log the run as a child of this run (shown under it in the MLflow UI).
    """
    with mlflow_session(tracking_uri, registry_uri) as client:
        experiment_id = ensure_experiment(client, experiment, artifact_location)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as active:
            parent = {} if parent_run_id is None else {_PARENT_TAG: parent_run_id}
            mlflow.set_tags({**(tags or {}), **parent})
            mlflow.log_params(_params(params or {}))
            mlflow.log_metrics(_finite(metrics or {}))
            return str(active.info.run_id)
