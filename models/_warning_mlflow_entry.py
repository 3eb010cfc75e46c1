"""Executed by MLflow when a credlink-warning model is logged, or loaded by MLflow's own tools
(models from code).

Never import this module: it registers the pyfunc model with :func:`mlflow.models.set_model`
as a side effect, which is its only purpose. A copy is stored with every logged model, so
credlink itself never loads models this way: the registry reads the estimator's booster text
and JSON as data (:mod:`models.artifacts`).
"""

from mlflow.models import set_model

from models.warning import WarningPyfuncModel

set_model(WarningPyfuncModel())
