"""The model registry: versions, aliases ``champion`` / ``challenger``, gated promotion.

Registered models (``credlink-pd``, ``credlink-limit``, bank table models) use aliases, never
stages (deprecated since MLflow 2.9). Training registers each new version as ``challenger``
(:func:`models.tracking.log_model_run`); :meth:`ModelRegistry.promote` moves ``champion`` to
a version only when the gate passes, unless forced:

1. **better**: on the challenger's own out-of-time holdout (logged with its run), the
   challenger's score beats the current champion's *on the same rows* — AUC for PD models,
   minus the median relative error against performed loan amounts for limit models. No
   champion yet: passes. (A champion trained on later data than the holdout would be
   favoured: the gate errs towards keeping it.)
2. **monotone**: sweeping each constrained feature over a grid (others fixed) never
   reverses the prediction (:func:`models.metrics.monotonicity_violations`).
3. **stable**: the PSI of the challenger's predictions on the holdout against its training
   sample is below :data:`PSI_THRESHOLD` (0.25).

Serving loads ``models:/<name>@champion`` (:meth:`ModelRegistry.load`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from models.exceptions import PromotionRefusedError, RegistryError
from models.pyfunc import CredlinkModel, Estimator
from models.tracking import CHALLENGER, CHAMPION, mlflow_session

__all__ = [
    "LIMIT_MODEL_NAME",
    "PD_MODEL_NAME",
    "PSI_THRESHOLD",
    "ModelRegistry",
    "PromotionResult",
]

PD_MODEL_NAME = "credlink-pd"
LIMIT_MODEL_NAME = "credlink-limit"
PSI_THRESHOLD = 0.25


@dataclass(frozen=True)
class PromotionResult:
    """The promotion gate's verdict on one version.

    Attributes
    ----------
    name, version : str
        The registered model and the candidate version.
    champion_version : str or None
        The champion before the decision.
    challenger_score, champion_score : float
        The gate metric on the candidate's holdout (NaN when there is no champion).
    monotonicity_violations : int
        Rows whose predictions reversed in the sweep.
    psi : float
        PSI of the candidate's predictions, holdout against training.
    failures : tuple of str
        The checks that failed (empty when the gate passed).
    forced : bool
        Promoted despite failures.
    promoted : bool
        Whether ``champion`` now points at ``version``.
    """

    name: str
    version: str
    champion_version: str | None
    challenger_score: float
    champion_score: float
    monotonicity_violations: int
    psi: float
    failures: tuple[str, ...]
    forced: bool
    promoted: bool

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return not self.failures


class ModelRegistry:
    """Registered credlink models on one tracking server.

    Parameters
    ----------
    tracking_uri
        Tracking and registry URI (e.g. from :func:`models.tracking.tracking_uris`).
    """

    def __init__(self, tracking_uri: str) -> None:
        if not isinstance(tracking_uri, str) or not tracking_uri.strip():
            raise ValueError(f"tracking_uri must be a non-empty URI; got {tracking_uri!r}")
        self.tracking_uri = tracking_uri

    # ------------------------------------------------------------------ queries

    def list_models(self) -> pd.DataFrame:
        """Every version of every registered model with its aliases and run.

        Returns
        -------
        pandas.DataFrame
            ``name``, ``version``, ``aliases``, ``run_id``, ``created`` (UTC), newest first
            per model.
        """
        rows = []
        with mlflow_session(self.tracking_uri) as client:
            for model in client.search_registered_models():
                aliases: dict[str, list[str]] = {}
                for alias, version in model.aliases.items():
                    aliases.setdefault(str(version), []).append(alias)
                for v in client.search_model_versions(f"name = '{model.name}'"):
                    rows.append(
                        {
                            "name": v.name,
                            "version": str(v.version),
                            "aliases": ", ".join(sorted(aliases.get(str(v.version), []))),
                            "run_id": v.run_id,
                            "created": datetime.fromtimestamp(v.creation_timestamp / 1000, UTC),
                        }
                    )
        frame = pd.DataFrame(rows, columns=["name", "version", "aliases", "run_id", "created"])
        if frame.empty:
            return frame
        frame["_v"] = frame["version"].astype(int)
        return frame.sort_values(["name", "_v"], ascending=[True, False]).drop(columns="_v")

    def alias_version(self, name: str, alias: str = CHAMPION) -> str | None:
        """The version an alias points at, or ``None``."""
        with mlflow_session(self.tracking_uri) as client:
            try:
                return str(client.get_model_version_by_alias(name, alias).version)
            except MlflowException:
                return None

    def model_uri(self, name: str, alias_or_version: str = CHAMPION) -> str:
        """``models:/<name>@<alias>`` or ``models:/<name>/<version>``."""
        ref = str(alias_or_version)
        return f"models:/{name}/{ref}" if ref.isdigit() else f"models:/{name}@{ref}"

    def load_pyfunc(self, name: str, alias_or_version: str = CHAMPION) -> Any:
        """The MLflow pyfunc model of a version or alias.

        Raises
        ------
        RegistryError
            If the model, version or alias does not exist.
        """
        uri = self.model_uri(name, alias_or_version)
        with mlflow_session(self.tracking_uri):
            try:
                return mlflow.pyfunc.load_model(uri)
            except MlflowException as error:
                raise RegistryError(
                    f"model must exist in the registry; got {uri}: {error}"
                ) from None

    def load(self, name: str, alias_or_version: str = CHAMPION) -> Estimator:
        """The estimator (:class:`~models.pd.PDModel` or :class:`~models.limit.LimitModel`)."""
        wrapper = self.load_pyfunc(name, alias_or_version).unwrap_python_model()
        if not isinstance(wrapper, CredlinkModel):
            raise RegistryError(f"{name} must be a credlink model; got {type(wrapper).__name__}")
        return wrapper.estimator

    def holdout(self, name: str, version: str) -> pd.DataFrame:
        """The holdout sample logged with a version's training run."""
        with mlflow_session(self.tracking_uri) as client, tempfile.TemporaryDirectory() as tmp:
            try:
                run_id = client.get_model_version(name, str(version)).run_id
            except MlflowException as error:
                raise RegistryError(
                    f"version must exist; got {name} version {version}: {error}"
                ) from None
            if run_id is None:
                raise RegistryError(f"{name} version {version} must come from a run; got none")
            path = client.download_artifacts(run_id, "holdout/holdout.parquet", tmp)
            return pd.read_parquet(path)

    # ------------------------------------------------------------------ promotion

    def evaluate(self, name: str, version: str) -> PromotionResult:
        """Run the gate for ``version`` against the current champion, changing nothing."""
        version = str(version)
        challenger = self.load(name, version)
        holdout = self.holdout(name, version)
        champion_version = self.alias_version(name, CHAMPION)
        failures: list[str] = []
        challenger_score = float(challenger.holdout_score(holdout))
        champion_score = float("nan")
        if champion_version is not None and champion_version != version:
            try:
                champion_score = float(self.load(name, champion_version).holdout_score(holdout))
            except (KeyError, ValueError) as error:
                failures.append(f"the champion cannot score the challenger's holdout ({error})")
            else:
                if not challenger_score > champion_score:
                    failures.append(
                        f"challenger score {challenger_score:.4f} does not beat champion "
                        f"{champion_score:.4f} on the same holdout"
                    )
        violations = int(challenger.monotonicity_report(holdout)["violations"].sum())
        if violations:
            failures.append(f"monotonicity check failed on {violations} rows")
        psi = float(challenger.holdout_psi(holdout))
        if not psi < PSI_THRESHOLD:
            failures.append(f"score PSI {psi:.3f} is not below {PSI_THRESHOLD}")
        return PromotionResult(
            name=name,
            version=version,
            champion_version=champion_version,
            challenger_score=challenger_score,
            champion_score=champion_score,
            monotonicity_violations=violations,
            psi=psi,
            failures=tuple(failures),
            forced=False,
            promoted=False,
        )

    def promote(self, name: str, version: str | int, force: bool = False) -> PromotionResult:
        """Point ``champion`` at ``version`` if the gate passes (or ``force``).

        The version loses the ``challenger`` alias when promoted; the gate's verdict is kept
        as the version tag ``promotion``.

        Parameters
        ----------
        name
            Registered model name.
        version
            The candidate version.
        force
            Promote even if checks fail (the failures are still recorded).

        Returns
        -------
        PromotionResult

        Raises
        ------
        PromotionRefusedError
            If a check failed and ``force`` is false (``error.result`` has the verdict).
        RegistryError
            If the model or version does not exist.
        """
        result = self.evaluate(name, str(version))
        if result.failures and not force:
            raise PromotionRefusedError(
                f"{name} version {result.version} not promoted: " + "; ".join(result.failures),
                result,
            )
        result = PromotionResult(
            **{**asdict(result), "forced": bool(result.failures), "promoted": True}
        )
        with mlflow_session(self.tracking_uri) as client:
            client.set_registered_model_alias(name, CHAMPION, result.version)
            try:
                if (
                    str(client.get_model_version_by_alias(name, CHALLENGER).version)
                    == result.version
                ):
                    client.delete_registered_model_alias(name, CHALLENGER)
            except MlflowException:
                pass
            verdict = {
                **asdict(result),
                "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            client.set_model_version_tag(
                name, result.version, "promotion", json.dumps(verdict, default=str)
            )
        return result
