"""The model registry: versions, aliases ``champion`` / ``challenger``, gated promotion.

Registered models (``credlink-pd``, ``credlink-limit``, ``credlink-warning``, bank table
models) use aliases, never stages (deprecated since MLflow 2.9). Training registers each new
version as ``challenger`` (:func:`models.tracking.log_model_run`); :meth:`ModelRegistry.promote`
moves ``champion`` to a version only when the gate passes — or when a named person forces it
for a stated reason.

Loading: models are data
    :meth:`ModelRegistry.load` downloads only the version's ``estimator`` directory, checks
    its files against the SHA-256 digests recorded at registration, and reads the booster
    text and JSON through the installed credlink package (:mod:`models.artifacts`). It never
    calls :func:`mlflow.pyfunc.load_model`, which would execute the entry file stored with
    the model. A version whose files are missing, broken or changed raises
    :class:`~models.exceptions.ArtifactError` naming the model, version and file.

The gate (:meth:`ModelRegistry.evaluate`), on the challenger's own out-of-time holdout
(logged with its run):

0. **loads**: the version, its holdout, and its scores on the holdout must load and compute —
   otherwise nothing promotes it, not even ``force`` (:class:`ArtifactError`);
1. **floor** (:class:`models.gate.QualityFloor`): the least any champion must show, **the first one
   included** — AUC, its confidence and enough bads for PD and warning models, beating the
   银税互动 rule of thumb for limit models;
2. **better**: the challenger's score beats the current champion's *on the same rows* — AUC
   for PD and warning models, minus the median relative error against performed loan amounts
   for limit models. No champion yet: passes (the floor still applies). A champion that
   cannot be loaded fails this check: replacing it needs ``force``;
3. **monotone**: sweeping each constrained feature over a grid (others fixed) never reverses
   the prediction (:func:`models.metrics.monotonicity_violations`);
4. **stable**: the PSI of the challenger's predictions on the holdout against its score
   reference (out of sample: held-out scores) is below :attr:`models.gate.QualityFloor.max_psi`
   (0.25).

Forcing
    ``promote(name, version, force=True, actor=..., reason=...)`` promotes despite failed
    checks 1–4; who and why are required (:func:`models.gate.check_accountability`) and
    recorded as the version's tags ``forced_by``, ``forced_reason``, ``forced_at`` and
    ``forced_failures``, beside the full verdict in the tag ``promotion``.

Serving loads ``<name>@champion`` with :meth:`ModelRegistry.load_champion`, which also refuses
a champion alias set around the gate (by hand in the MLflow UI, say): its version carries no
``promotion`` verdict.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from models.artifacts import DIGEST_TAG, check_digests
from models.exceptions import ArtifactError, PromotionRefusedError, RegistryError
from models.gate import PromotionResult, QualityFloor, check_accountability
from models.pyfunc import Estimator, load_estimator
from models.tracking import CHALLENGER, CHAMPION, mlflow_session

__all__ = [
    "LIMIT_MODEL_NAME",
    "PD_MODEL_NAME",
    "PROMOTION_TAG",
    "WARNING_MODEL_NAME",
    "ModelRegistry",
]

PD_MODEL_NAME = "credlink-pd"
LIMIT_MODEL_NAME = "credlink-limit"
WARNING_MODEL_NAME = "credlink-warning"
"""Experiment and registered model name of the learned warning."""
PROMOTION_TAG = "promotion"
"""Model-version tag holding the gate's verdict (JSON) of the version's latest promotion."""

_ESTIMATOR_PATH = "artifacts/estimator"  # inside a logged model (models.tracking)
_HOLDOUT_PATH = "holdout/holdout.parquet"  # inside the training run's artifacts


class ModelRegistry:
    """Registered credlink models on one tracking server.

    Parameters
    ----------
    tracking_uri
        Tracking URI (e.g. :meth:`serving.settings.Settings.mlflow_uris`).
    floor
        The quality floor of every champion (default ``QualityFloor()``).
    registry_uri
        The model registry's URI (None: the tracking URI).
    """

    def __init__(
        self,
        tracking_uri: str,
        floor: QualityFloor | None = None,
        *,
        registry_uri: str | None = None,
    ) -> None:
        if not isinstance(tracking_uri, str) or not tracking_uri.strip():
            raise ValueError(f"tracking_uri must be a non-empty URI; got {tracking_uri!r}")
        floor = QualityFloor() if floor is None else floor
        if not isinstance(floor, QualityFloor):
            raise TypeError(f"floor must be a QualityFloor; got {type(floor).__name__}")
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self.floor = floor

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
        with mlflow_session(self.tracking_uri, self.registry_uri) as client:
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
        with mlflow_session(self.tracking_uri, self.registry_uri) as client:
            try:
                return str(client.get_model_version_by_alias(name, alias).version)
            except MlflowException:
                return None

    def model_uri(self, name: str, alias_or_version: str = CHAMPION) -> str:
        """``models:/<name>@<alias>`` or ``models:/<name>/<version>``."""
        ref = str(alias_or_version)
        return f"models:/{name}/{ref}" if ref.isdigit() else f"models:/{name}@{ref}"

    def resolve(self, name: str, alias_or_version: str = CHAMPION) -> str:
        """The version number an alias points at (a version number is checked to exist).

        Raises
        ------
        RegistryError
            If the model, version or alias does not exist.
        """
        ref = str(alias_or_version)
        with mlflow_session(self.tracking_uri, self.registry_uri) as client:
            try:
                if ref.isdigit():
                    return str(client.get_model_version(name, ref).version)
                return str(client.get_model_version_by_alias(name, ref).version)
            except MlflowException:
                raise RegistryError(
                    f"model must exist in the registry; got no {self.model_uri(name, ref)}"
                ) from None

    def tags(self, name: str, version: str) -> dict[str, str]:
        """The tags of a version.

        Raises
        ------
        RegistryError
            If the version does not exist.
        """
        with mlflow_session(self.tracking_uri, self.registry_uri) as client:
            try:
                return dict(client.get_model_version(name, str(version)).tags)
            except MlflowException:
                raise RegistryError(
                    f"version must exist; got no {name} version {version}"
                ) from None

    def load(self, name: str, alias_or_version: str = CHAMPION) -> Estimator:
        """The estimator of a version or alias, read as data (module docstring).

        Raises
        ------
        RegistryError
            If the model, version or alias does not exist.
        ArtifactError
            If the version's files are missing, broken, inconsistent or changed after
            registration (the message names the model, version and file).
        """
        version = self.resolve(name, alias_or_version)
        with (
            mlflow_session(self.tracking_uri, self.registry_uri) as client,
            tempfile.TemporaryDirectory() as tmp,
        ):
            try:
                tags = dict(client.get_model_version(name, version).tags)
                root = client.get_model_version_download_uri(name, version)
                directory = Path(
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{root.rstrip('/')}/{_ESTIMATOR_PATH}", dst_path=tmp
                    )
                )
            except (MlflowException, OSError) as error:
                raise ArtifactError(
                    _ESTIMATOR_PATH, f"must be downloadable; got {type(error).__name__}"
                ).located(name, version) from None
            try:
                if DIGEST_TAG in tags:  # versions registered before digests: files only
                    check_digests(directory, _digests(tags[DIGEST_TAG]))
                estimator: Estimator = load_estimator(directory)
            except ArtifactError as error:
                raise error.located(name, version) from None
            return estimator

    def load_champion(self, name: str) -> tuple[str, Estimator]:
        """The champion's version and estimator, if credlink's gate promoted it.

        Raises
        ------
        RegistryError
            If there is no champion, or its version carries no ``promotion`` verdict (the
            alias was set around the gate).
        ArtifactError
            If its files cannot be used.
        """
        version = self.resolve(name, CHAMPION)
        verdict = self.tags(name, version).get(PROMOTION_TAG)
        try:
            promoted = verdict is not None and bool(json.loads(verdict).get("promoted"))
        except (ValueError, AttributeError):
            promoted = False
        if not promoted:
            raise RegistryError(
                f"{name}@{CHAMPION} must be promoted through credlink's gate; got version "
                f"{version} without a promotion verdict (`credlink models promote {name} "
                f"{version}`)"
            )
        return version, self.load(name, version)

    def holdout(self, name: str, version: str) -> pd.DataFrame:
        """The holdout sample logged with a version's training run.

        Raises
        ------
        RegistryError
            If the version does not exist or has no run.
        ArtifactError
            If the holdout cannot be downloaded or read.
        """
        with (
            mlflow_session(self.tracking_uri, self.registry_uri) as client,
            tempfile.TemporaryDirectory() as tmp,
        ):
            try:
                run_id = client.get_model_version(name, str(version)).run_id
            except MlflowException:
                raise RegistryError(
                    f"version must exist; got no {name} version {version}"
                ) from None
            if run_id is None:
                raise RegistryError(f"{name} version {version} must come from a run; got none")
            try:
                path = client.download_artifacts(run_id, _HOLDOUT_PATH, tmp)
                return pd.read_parquet(path)
            except (MlflowException, OSError, ValueError) as error:
                raise ArtifactError(
                    _HOLDOUT_PATH, f"must be a readable Parquet file; got {type(error).__name__}"
                ).located(name, str(version)) from None

    # ------------------------------------------------------------------ promotion

    def evaluate(self, name: str, version: str) -> PromotionResult:
        """Run the gate for ``version`` against the current champion, changing nothing.

        Raises
        ------
        RegistryError
            If the version does not exist.
        ArtifactError
            If the version or its holdout cannot be loaded, or it cannot score its holdout.
        """
        version = self.resolve(name, str(version))
        challenger = self.load(name, version)
        holdout = self.holdout(name, version)
        try:
            quality = {k: float(v) for k, v in challenger.holdout_quality(holdout).items()}
            challenger_score = float(challenger.holdout_score(holdout))
            violations = int(challenger.monotonicity_report(holdout)["violations"].sum())
            psi = float(challenger.holdout_psi(holdout))
        except (KeyError, ValueError, TypeError) as error:
            raise ArtifactError(
                _HOLDOUT_PATH,
                f"must hold what the version scores; got {type(error).__name__}: "
                f"{str(error)[:200]}",
            ).located(name, version) from None
        failures = self.floor.failures(challenger.kind, quality)
        champion_version = self.alias_version(name, CHAMPION)
        champion_score = float("nan")
        if champion_version is not None and champion_version != version:
            try:
                champion_score = float(self.load(name, champion_version).holdout_score(holdout))
            except RegistryError as error:
                failures.append(
                    f"the champion (version {champion_version}) cannot be loaded: {error}"
                )
            except (KeyError, ValueError) as error:
                failures.append(f"the champion cannot score the challenger's holdout ({error})")
            else:
                if not challenger_score > champion_score:
                    failures.append(
                        f"challenger score {challenger_score:.4f} does not beat champion "
                        f"{champion_score:.4f} on the same holdout"
                    )
        if violations:
            failures.append(f"monotonicity check failed on {violations} rows")
        if not psi < self.floor.max_psi:
            failures.append(f"score PSI {psi:.3f} is not below {self.floor.max_psi}")
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
            quality=quality,
            floor=self.floor.to_dict(),
        )

    def promote(
        self,
        name: str,
        version: str | int,
        force: bool = False,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> PromotionResult:
        """Point ``champion`` at ``version`` if the gate passes — or, forced, if it loads.

        The version loses the ``challenger`` alias when promoted; the gate's verdict is kept
        as the version tag ``promotion`` and, when forced, who, why, when and past which
        checks as the tags ``forced_by``, ``forced_reason``, ``forced_at`` and
        ``forced_failures`` (written before the alias moves).

        Parameters
        ----------
        name
            Registered model name.
        version
            The candidate version.
        force
            Promote even if checks fail; needs ``actor`` and ``reason``. A version that
            cannot be loaded or score its holdout is never promoted.
        actor, reason
            Who promotes and why (:func:`models.gate.check_accountability`); required with
            ``force``, recorded in the verdict whenever given.

        Returns
        -------
        PromotionResult

        Raises
        ------
        ValueError, TypeError
            If ``force`` lacks a valid ``actor`` or ``reason``.
        PromotionRefusedError
            If a check failed and ``force`` is false (``error.result`` has the verdict).
        RegistryError
            If the model or version does not exist.
        ArtifactError
            If the version cannot be loaded (forced or not).
        """
        actor, reason = check_accountability(actor, reason)
        if force and (actor is None or reason is None):
            missing = " and ".join(
                n for n, v in (("actor", actor), ("reason", reason)) if v is None
            )
            raise ValueError(f"{missing} must be given to force a promotion; got none")
        result = self.evaluate(name, str(version))
        if result.failures and not force:
            raise PromotionRefusedError(
                f"{name} version {result.version} not promoted: " + "; ".join(result.failures),
                result,
            )
        now = datetime.now(UTC).isoformat(timespec="seconds")
        result = replace(
            result,
            forced=bool(result.failures),
            promoted=True,
            actor=actor,
            reason=reason,
            promoted_at=now,
        )
        tags = {PROMOTION_TAG: json.dumps(asdict(result), default=str, ensure_ascii=False)}
        if result.forced:
            tags |= {
                "forced_by": str(actor),
                "forced_reason": str(reason),
                "forced_at": now,
                "forced_failures": json.dumps(list(result.failures), ensure_ascii=False),
            }
        with mlflow_session(self.tracking_uri, self.registry_uri) as client:
            for key, value in tags.items():
                client.set_model_version_tag(name, result.version, key, value)
            client.set_registered_model_alias(name, CHAMPION, result.version)
            try:
                if (
                    str(client.get_model_version_by_alias(name, CHALLENGER).version)
                    == result.version
                ):
                    client.delete_registered_model_alias(name, CHALLENGER)
            except MlflowException:
                pass
        return result


def _digests(tag: str) -> dict[str, str]:
    try:
        value = json.loads(tag)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ArtifactError(f"tag {DIGEST_TAG}", "must be a JSON object of file → SHA-256")
    return value
