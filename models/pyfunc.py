"""The MLflow pyfunc wrapper of credlink's estimators, and their on-disk form.

A registered model version holds one estimator directory (``artifacts/estimator``: a
:class:`models.pd.PDModel` as ``booster.txt`` + ``pd_model.json``, or a
:class:`models.limit.LimitModel` as ``limit_model.json``) — plain text and JSON, no pickle.
MLflow loads it through :class:`CredlinkModel`, logged "from code" (:mod:`models._mlflow_entry`),
so loading needs the credlink packages importable, as in the service itself.

``mlflow.pyfunc.load_model("models:/credlink-pd@champion").predict(features)`` returns the
estimator's :meth:`predict_frame`; ``.unwrap_python_model().estimator`` is the estimator
itself (contributions, grades, limits).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from models.exceptions import RegistryError
from models.limit import LimitModel
from models.pd import PDModel

__all__ = ["ENTRY_POINT", "CredlinkModel", "Estimator", "load_estimator"]

Estimator = PDModel | LimitModel
ENTRY_POINT = Path(__file__).with_name("_mlflow_entry.py")
"""The file MLflow executes to build the pyfunc model (models from code)."""

_FILES: dict[str, type[PDModel] | type[LimitModel]] = {
    "pd_model.json": PDModel,
    "limit_model.json": LimitModel,
}


def load_estimator(directory: str | Path) -> Estimator:
    """Load the estimator saved in ``directory`` (by its ``save`` method).

    Raises
    ------
    RegistryError
        If the directory holds no credlink estimator.
    """
    path = Path(directory)
    for name, cls in _FILES.items():
        if (path / name).exists():
            kind = json.loads((path / name).read_text("utf-8")).get("kind")
            if kind != cls.kind:
                raise RegistryError(f"estimator kind must be {cls.kind!r}; got {kind!r}")
            return cls.load(path)
    raise RegistryError(f"directory must hold a credlink estimator; got {str(path)!r}")


class CredlinkModel(PythonModel):
    """Pyfunc model: loads the estimator from its artifacts and predicts frames."""

    estimator: Estimator

    def load_context(self, context: Any) -> None:
        """Load the estimator from the ``estimator`` artifact directory."""
        self.estimator = load_estimator(context.artifacts["estimator"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """The estimator's ``predict_frame`` of ``model_input``."""
        return self.estimator.predict_frame(model_input)
