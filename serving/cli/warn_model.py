"""``credlink warn train``: the learned repeat-violator warning, and its ``credlink demo`` step.

Registered in :mod:`serving.cli` as ``credlink warn train``. The command trains the learned warning
(:func:`models.warning.train_warning`) on the store as of ``--as-of``, logs it to MLflow in the
work directory (experiment ``credlink-warning``), registers it and promotes it to
``champion`` through the registry's gate and quality floor (:class:`models.warning.
WarningRegistry`); it prints the out-of-time metrics and the comparison with the rules. Exit 1
when the gate refuses (the new version stays ``challenger``; ``--force --actor NAME --reason
TEXT`` promotes anyway and records who and why as model-version tags).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from serving.cli.common import (
    AsOfOpt,
    DatabaseOpt,
    JsonOpt,
    WorkDirOpt,
    err,
    mlflow_hint,
    open_store,
    or_exit,
    out,
    parse_date,
    print_json,
    risk_config_of,
    settings_for,
)
from serving.cli.train import ActorOpt, ReasonOpt, checked_accountability, promotion_line

if TYPE_CHECKING:
    from models.gate import PromotionResult
    from models.warning_training import WarningResult
    from risk.config import RiskConfig
    from serving.settings import Settings

__all__ = [
    "ablation_table",
    "demo_warning_model",
    "train_warning_command",
]


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def ablation_table(result: WarningResult) -> Table:
    """The held-out year: AUC, precision@k / recall@k of the rules and the models."""
    frame = result.ablation
    ks = [int(c.removeprefix("precision_at_")) for c in frame if c.startswith("precision_at_")]
    table = Table(
        title=f"new violation within 12 months of {result.split.test.date()} "
        f"(held-out year; base rate {result.metrics['test_base_rate']:.1%})"
    )
    table.add_column("method")
    table.add_column("features")
    for column in ("AUC", *(f"P@{k}" for k in ks), *(f"R@{k}" for k in ks)):
        table.add_column(column, justify="right")
    flagged = int(result.metrics["rules_flagged"])
    table.add_column(f"P / R at the rules' {flagged:,} flagged", justify="right")
    for row in frame.itertuples(index=False):
        values = row._asdict()
        table.add_row(
            str(values["method"]),
            str(values["features"]),
            _number(values["auc"]),
            *(_number(values[f"precision_at_{k}"], 2) for k in ks),
            *(_number(values[f"recall_at_{k}"]) for k in ks),
            f"{_number(values['precision_flagged'], 2)} / {_number(values['recall_flagged'])}",
        )
    return table


def _summary(result: WarningResult) -> str:
    m = result.metrics
    flagged = int(m["rules_flagged"])
    line = (
        f"learned warning: AUC {_number(m['test_auc'])}, precision@100 "
        f"{_number(m['test_precision_at_100'], 2)} vs rules "
        f"{_number(m.get('rules_precision_at_100'), 2)}"
    )
    if flagged:
        line += (
            f"; at the rules' workload ({flagged:,} flagged) precision "
            f"{_number(m['model_precision_at_flagged'], 2)} vs "
            f"{_number(m['rules_flagged_precision'], 2)}, recall "
            f"{_number(m['model_recall_at_flagged'])} vs {_number(m['rules_flagged_recall'])}"
        )
    return line


def _cutoffs_table(result: WarningResult) -> Table:
    table = Table(title="cutoffs (out of time)")
    for column in ("split", "cutoff", "labels in", "enterprises", "positives"):
        table.add_column(column, justify="left" if column in ("split", "labels in") else "right")
    for row in result.tables["cutoffs"].itertuples(index=False):
        table.add_row(
            row.split,
            str(row.cutoff),
            f"({row.labels_after}, {row.labels_until}]",
            f"{row.enterprises:,.0f}",
            f"{row.positives:,.0f}",
        )
    return table


def _train_and_promote(
    settings: Settings,
    as_of: date,
    risk: RiskConfig,
    force: bool,
    actor: str | None = None,
    reason: str | None = None,
) -> tuple[WarningResult, PromotionResult | None, str | None]:
    """Train on the store, log, register and promote; the gate's failures if it refused."""
    from features.data import PlatformData
    from models.exceptions import PromotionRefusedError
    from models.registry import WARNING_MODEL_NAME
    from models.registry import ModelRegistry as WarningRegistry
    from models.warning_training import train_warning

    uri, artifacts = settings.mlflow_uris()
    registry_uri = settings.mlflow_registry_uri
    data = PlatformData.from_store(open_store(settings))
    result = train_warning(
        data,
        as_of,
        uri,
        artifact_location=artifacts,
        registry_uri=registry_uri,
        risk_config=risk,
    )
    if result.run is None or result.run.version is None:  # pragma: no cover - always registered
        return result, None, "the model was not registered"
    try:
        promotion = WarningRegistry(uri, registry_uri=registry_uri).promote(
            WARNING_MODEL_NAME, result.run.version, force, actor=actor, reason=reason
        )
    except PromotionRefusedError as refused:
        return result, refused.result, "; ".join(refused.result.failures)
    return result, promotion, None


def _registration_line(
    result: WarningResult, promotion: PromotionResult | None, refused: str | None
) -> Text:
    version = result.run.version if result.run is not None else None
    if refused is not None:
        return Text(
            f"credlink-warning version {version} stays challenger, the promotion gate refused "
            f"it: {refused} (`credlink warn train --force --actor NAME --reason TEXT` promotes "
            "anyway, recording who and why)",
            style="yellow",
        )
    if promotion is None:  # pragma: no cover - refused or promoted, always one of them
        return Text(f"credlink-warning version {version} is registered", style="yellow")
    return Text(promotion_line(promotion), style="yellow" if promotion.forced else "green")


def train_warning_command(
    as_of: AsOfOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Make the new version champion even if the gate refuses (needs --actor and "
            "--reason)."
        ),
    ] = False,
    actor: ActorOpt = None,
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
    work_dir: WorkDirOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Train the learned warning (P(new violation in 12 months)), register it, make it champion.

    Test cutoff: --as-of minus 12 months; training cutoffs: quarterly before that. Exits 1
    when the promotion gate refuses the new version; 2 on bad options (checked before
    training).
    """

    actor, reason = checked_accountability(force, actor, reason)
    settings = settings_for(work_dir, database_url)
    risk = risk_config_of(settings)
    day = parse_date("--as-of", as_of)
    with err.status(f"training the learned warning as of {day} …"):
        result, promotion, refused = or_exit(
            _train_and_promote, settings, day, risk, force, actor, reason
        )
    if as_json:
        print_json(
            {
                "as_of": day.isoformat(),
                "metrics": result.metrics,
                "ablation": result.ablation.to_dict(orient="records"),
                "cutoffs": result.tables["cutoffs"].to_dict(orient="records"),
                "run": None if result.run is None else asdict(result.run),
                "promotion": None if promotion is None else asdict(promotion),
                "refused": refused,
                "timings": result.timings,
            }
        )
    else:
        out.print(_cutoffs_table(result))
        out.print(ablation_table(result))
        out.print(_summary(result))
        out.print(_registration_line(result, promotion, refused))
        out.print(mlflow_hint(settings))
    if refused is not None:
        raise typer.Exit(1)


def demo_warning_model(
    settings: Settings, as_of: date, risk: RiskConfig | None = None
) -> RenderableType:
    """Demo step: train the learned warning, register and promote it, compare with the rules.

    Parameters
    ----------
    settings
        The demo's settings (store and work directory; MLflow lives in the work directory).
    as_of
        The data's as-of date (the synthetic county's end); the held-out year ends there.
    risk
        The demo's risk settings: the features' propagation, the rules compared with
        (default: the settings' own, ``CREDLINK_RISK_CONFIG_FILE``).

    Returns
    -------
    rich.console.RenderableType
        The comparison table with the rules, a one-line summary (AUC, precision@100 vs the
        rules) and the registration line.
    """
    risk = risk_config_of(settings) if risk is None else risk
    result, promotion, refused = _train_and_promote(settings, as_of, risk, force=False)
    timing = Text(
        f"cutoffs {', '.join(str(c.date()) for c in result.split.train)} → test "
        f"{result.split.test.date()}; trained, evaluated and logged in "
        f"{result.timings['total']:.1f} s",
        style="dim",
    )
    return Group(
        ablation_table(result),
        Text(_summary(result)),
        _registration_line(result, promotion, refused),
        timing,
    )
