"""The one exception family of credlink's models.

Every error subclasses :class:`ModelError` *and* the builtin it specialises, so callers that
only know Python's builtins still catch them; ``serving`` maps the family to HTTP status codes
in one place.
"""

from __future__ import annotations

from typing import Any

__all__ = [
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
