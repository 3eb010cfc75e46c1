"""Executed by MLflow when a credlink model is logged or loaded (models from code).

Never import this module: it registers the pyfunc model with :func:`mlflow.models.set_model`
as a side effect, which is its only purpose.
"""

from mlflow.models import set_model

from models.pyfunc import CredlinkModel

set_model(CredlinkModel())
