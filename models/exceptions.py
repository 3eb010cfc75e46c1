"""The one exception family of credlink's models.

Every error subclasses :class:`ModelError` *and* the builtin it specialises, so callers that
only know Python's builtins still catch them; ``serving`` maps the family to HTTP status codes
in one place.
"""

from __future__ import annotations

from typing import Any

from risk.identifiers import mask_id_numbers

__all__ = [
    "ArtifactError",
    "ModelError",
    "NotFittedError",
    "PromotionRefusedError",
    "RegistryError",
    "TrainingDataError",
]


class ModelError(Exception):
    """Base class of every credlink model error."""


class NotFittedError(ModelError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (as scikit-learn's ``NotFittedError``)."""


class TrainingDataError(ModelError, ValueError):
    """The training data cannot support a model (too few rows or outcomes, one class only)."""


class RegistryError(ModelError, LookupError):
    """A registered model, version or alias does not exist, or its artifacts are unusable."""


class ArtifactError(RegistryError, ValueError):
    """A registered version's files cannot be used: missing, truncated, malformed, inconsistent
    with each other, or changed after registration.

    Parameters
    ----------
    artifact : str
        The file at fault (``booster.txt``, ``pd_model.json``, ``holdout/holdout.parquet``, …).
    reason : str
        What is wrong with it, as ``"<rule>; got <value>"``.
    name, version : str or None
        The registered model and version, once the registry knows which one it was reading
        (:meth:`located`).
    """

    def __init__(
        self, artifact: str, reason: str, name: str | None = None, version: str | None = None
    ) -> None:
        # A reason may quote a file's content: no raw resident ID number reaches the message.
        self.artifact = mask_id_numbers(artifact)
        self.reason = mask_id_numbers(reason)
        self.name = name
        self.version = version
        where = f"{name} version {version}: " if name is not None else ""
        super().__init__(f"{where}artifact {self.artifact} {self.reason}")

    def located(self, name: str, version: str) -> ArtifactError:
        """The same error naming the registered model and version it was read for."""
        return ArtifactError(self.artifact, self.reason, name, str(version))


class PromotionRefusedError(ModelError, RuntimeError):
    """The promotion gate refused a challenger; ``result`` says which checks failed.

    Parameters
    ----------
    message : str
        A sentence naming the failed checks.
    result : object
        The :class:`models.registry.PromotionResult` with every check's value.
    """

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result
