"""The ``credlink`` command line: one module per command group, assembled here.

==================  ==========================================================================
module              commands
==================  ==========================================================================
``data``            ``synth``, ``ingest``, ``db upgrade``, ``quarantine list``
``demo``            ``demo``
``graph``           ``graph build | explain | controller | export-bods | import-bods``
``warn``            ``warn run | list | show | export | transition | grades | watchlist``
``warn_model``      ``warn train`` (the learned warning)
``train``           ``train precredit``, ``models list | promote``
``pipeline``        ``pipeline run | list | diff`` (score sets)
``keys``            ``keys create | list | revoke``
``serve``           ``serve``
``audit``           ``audit verify``
``common``          what they share: consoles, options, settings, the store
==================  ==========================================================================

Importing this package is cheap (``credlink --help`` in well under a second): the command
modules import pandas, SQLAlchemy, the risk and model packages, MLflow, LightGBM, FastAPI and
uvicorn only inside the commands that use them (:mod:`serving.cli.common`). Each command that
scores builds the one :class:`~risk.config.RiskConfig` of its settings once
(:func:`serving.cli.common.risk_config_of`) and hands it to every step.
"""

from __future__ import annotations

import typer

from serving.cli.audit import audit_app
from serving.cli.data import db_app, ingest, quarantine_app, synth
from serving.cli.demo import demo
from serving.cli.graph import graph_app
from serving.cli.keys import keys_app
from serving.cli.pipeline import pipeline_app
from serving.cli.serve import serve_command
from serving.cli.train import models_app, train_app
from serving.cli.warn import warn_app
from serving.cli.warn_model import train_warning_command

__all__ = ["app"]

app = typer.Typer(
    name="credlink",
    help="Linked-entity risk warning and 信易贷 pre-credit for public-credit platforms.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("serve")(serve_command)
app.command()(synth)
app.command()(ingest)
app.command()(demo)
app.add_typer(db_app, name="db")
app.add_typer(graph_app, name="graph")
warn_app.command("train")(train_warning_command)
app.add_typer(warn_app, name="warn")
app.add_typer(keys_app, name="keys")
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(audit_app, name="audit")
app.add_typer(pipeline_app, name="pipeline")
