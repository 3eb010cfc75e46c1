"""The on-disk form of credlink's estimators, and the MLflow pyfunc wrapper logged with them.

A registered model version holds one estimator directory (``artifacts/estimator``: a
:class:`models.pd.PDModel` as ``booster.txt`` + ``pd_model.json``, a
:class:`models.limit.LimitModel` as ``limit_model.json``, a
:class:`models.warning.WarningModel` as ``booster.txt`` + ``warning_model.json``, a bank
table's :class:`models.scorecard.Scorecard` as ``scorecard.json``) — plain text
and JSON, no pickle. credlink reads it with :func:`load_estimator`, as data
(:mod:`models.artifacts`).

The pyfunc flavour is logged too, "from code" (:mod:`models._mlflow_entry`), for the MLflow
UI and tools outside credlink: ``mlflow.pyfunc.load_model("models:/credlink-pd@champion")``
works in an environment with the credlink packages. One wrapper, :class:`CredlinkModel`,
serves every kind of estimator: it loads whichever the directory holds. It executes the entry
file stored with the model, so **credlink itself never loads a model that way**
(:mod:`models.registry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from mlflow.pyfunc import PythonModel

from models.exceptions import ArtifactError
from models.limit import LimitModel
from models.pd import PDModel
from models.scorecard import Scorecard
from models.warning import WarningModel

__all__ = ["ENTRY_POINT", "ESTIMATOR_FILES", "CredlinkModel", "Estimator", "load_estimator"]

Estimator = PDModel | LimitModel | WarningModel | Scorecard
ENTRY_POINT = Path(__file__).with_name("_mlflow_entry.py")
"""The file MLflow executes to build the pyfunc model (models from code; never by credlink)."""


class _Loadable(Protocol):
    @classmethod
    def load(cls, directory: str | Path) -> Any: ...


ESTIMATOR_FILES: Mapping[str, type[Estimator]] = {
    PDModel.meta_file: PDModel,
    LimitModel.meta_file: LimitModel,
    WarningModel.meta_file: WarningModel,
    Scorecard.meta_file: Scorecard,
}
"""The JSON file that marks each kind of estimator directory."""


def load_estimator(
    directory: str | Path, kinds: Mapping[str, type[_Loadable]] | None = None
) -> Any:
    """Load the estimator saved in ``directory`` (by its ``save`` method), as data.

    Parameters
    ----------
    directory
        An estimator directory.
    kinds
        Marker file → estimator class (default :data:`ESTIMATOR_FILES`).

    Raises
    ------
    ArtifactError
        If the directory holds none of ``kinds``' marker files, or the estimator's files are
        missing, malformed or inconsistent.
    """
    path = Path(directory)
    kinds = ESTIMATOR_FILES if kinds is None else kinds
    for name, cls in kinds.items():
        if (path / name).exists():
            return cls.load(path)
    raise ArtifactError("estimator", f"must hold {' or '.join(kinds)}; got none of them")


class CredlinkModel(PythonModel):
    """Pyfunc model for tools outside credlink: the estimator (any kind), predicting frames."""

    estimator: Estimator

    def load_context(self, context: Any) -> None:
        """Load the estimator from the ``estimator`` artifact directory."""
        self.estimator = load_estimator(context.artifacts["estimator"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """The estimator's ``predict_frame`` of ``model_input``."""
        return self.estimator.predict_frame(model_input)
