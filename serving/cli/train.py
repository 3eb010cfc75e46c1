"""``credlink train`` and ``credlink models``: train, register, promote; the pre-credit demo.

Registered in :mod:`serving.cli` as the ``train`` and ``models`` groups. MLflow lives in the
work directory (``sqlite:///<work_dir>/mlflow.db``, artifacts in ``<work_dir>/mlartifacts``);
open its UI with ``mlflow ui --backend-store-uri sqlite:///<work_dir>/mlflow.db``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from serving.cli.common import (
    AsOfOpt,
    DatabaseOpt,
    JsonOpt,
    WorkDirOpt,
    cannot_train,
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

if TYPE_CHECKING:
    import pandas as pd

    from models.gate import PromotionResult, QualityFloor
    from models.table import TableResult
    from models.training import TrainResult
    from risk.config import RiskConfig
    from serving.settings import Settings

__all__ = [
    "ActorOpt",
    "ReasonOpt",
    "checked_accountability",
    "demo_precredit",
    "fail",
    "models_app",
    "promotion_line",
    "train_app",
]

train_app = typer.Typer(help="Train models; every run is tracked and registered in MLflow.")
models_app = typer.Typer(
    help="Registered models: list versions and aliases, promote a challenger.",
    no_args_is_help=True,
)

_READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".xlsx": "read_excel"}
"""The pandas reader of each file type ``--table`` accepts."""


def _metrics_table(result: TrainResult, title: str) -> Table:
    table = Table(title=title)
    for column in ("sample", "n", "bads", "AUC", "KS", "Gini", "Brier"):
        table.add_column(column, justify="left" if column == "sample" else "right")
    for split in ("train", "valid", "calibration", "test"):
        m = result.metrics
        if f"{split}_n" not in m:
            continue
        table.add_row(
            split,
            f"{m[f'{split}_n']:,.0f}",
            f"{m[f'{split}_bads']:,.0f}",
            f"{m[f'{split}_auc']:.3f}",
            f"{m[f'{split}_ks']:.3f}",
            f"{m[f'{split}_gini']:.3f}",
            f"{m[f'{split}_brier']:.4f}",
        )
    return table


def _frame_table(frame: pd.DataFrame, title: str) -> Table:
    from models.report import format_number

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(format_number(v) if isinstance(v, float) else str(v) for v in row))
    return table


def _print_training(result: TrainResult, settings: Settings) -> None:
    out.print(_metrics_table(result, "PD model, out-of-time evaluation"))
    m = result.metrics
    out.print(
        f"score PSI held-out → test {m['psi_score_valid_test']:.3f}; monotonicity violations "
        f"{m['monotonicity_violations']:.0f}; best iteration {m['best_iteration']:.0f}"
        + (f"; {m['cv_auc_mean']:.3f} ± {m['cv_auc_std']:.3f} CV AUC" if "cv_auc_mean" in m else "")
    )
    if "backtest" in result.tables:
        out.print(_frame_table(result.tables["backtest"], "limit backtest (test loans)"))
    for label, run in (("PD", result.pd_run), ("limit", result.limit_run)):
        if run is not None:
            version = (
                f"version {run.version} (alias challenger)" if run.version else "not registered"
            )
            out.print(f"{label}: run {run.run_id}, {version}")
    out.print(mlflow_hint(settings))


def _print_table(result: TableResult, settings: Settings) -> None:
    table = Table(title=f"candidates: {result.evaluation} on the development rows")
    columns = ("candidate", "selection AUC", "± std", "test AUC", "trees", "")
    for column in columns:
        table.add_column(column, justify="left" if column in ("candidate", "") else "right")
    for row in result.candidates.itertuples(index=False):
        table.add_row(
            row.candidate,
            f"{row.auc:.3f}",
            f"{row.auc_std:.3f}",
            f"{row.test_auc:.3f}",
            f"{row.n_trees:,}" if row.n_trees else "—",
            "chosen" if row.chosen else "",
        )
    out.print(table)
    m = result.metrics
    test = "the newest period" if result.evaluation == "out-of-time" else "a random test share"
    out.print(
        f"chosen: {result.chosen} ({result.evaluation} AUC {m['evaluation_auc']:.3f}, used for "
        f"selection: selection-biased); on "
        f"{test} ({m['test_n']:,.0f} loans, {m['test_bads']:,.0f} bads): AUC "
        f"{m['test_auc']:.3f}, KS {m['test_ks']:.3f}, Brier {m['test_brier']:.4f}; score PSI "
        f"out-of-sample → test {m['psi_score_oos_test']:.3f}"
    )
    grades = result.tables["grades"]
    out.print(
        f"{len(grades)} fitted grades (cut on the out-of-fold PDs), test bad rate by grade: "
        + " · ".join(
            f"{row.grade} {row.test_bad_rate:.1%} ({row.test_n:,} loans)"
            if row.test_n
            else f"{row.grade} — (no loans)"
            for row in grades.itertuples(index=False)
        )
    )
    if result.run is not None:
        version = (
            f"version {result.run.version} (alias challenger)"
            if result.run.version
            else "not registered"
        )
        out.print(f"model: run {result.run.run_id}, {version}")
    out.print(mlflow_hint(settings))


@train_app.command("precredit")
def train_precredit_command(
    table: Annotated[
        Path | None,
        typer.Option(help="A bank's own table (CSV, Parquet or XLSX) instead of the store."),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Outcome column of --table (0/1, 1 = bad).")
    ] = None,
    id_col: Annotated[
        str | None, typer.Option("--id", help="Identifier column of --table.")
    ] = None,
    date_col: Annotated[
        str | None,
        typer.Option("--date", help="Date column of --table: out-of-time validation."),
    ] = None,
    name: Annotated[
        str, typer.Option(help="Experiment / registered model name for --table.")
    ] = "credlink-table",
    trials: Annotated[
        int,
        typer.Option(
            help="Optuna trials of the tuned LightGBM for --table (trial 0: LightGBM's defaults).",
            min=1,
            max=1000,
        ),
    ] = 30,
    folds: Annotated[
        int,
        typer.Option(help="Cross-validation folds for --table without --date.", min=2, max=20),
    ] = 5,
    refit_all: Annotated[
        bool,
        typer.Option(
            "--refit-all",
            help="For --table: register the chosen model refitted on every row, the test "
            "period included (production); the figures shown stay those without it.",
        ),
    ] = False,
    as_of: AsOfOpt = None,
    register: Annotated[bool, typer.Option(help="Register as the challenger version.")] = True,
    as_json: JsonOpt = False,
    work_dir: WorkDirOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Train the pre-credit PD and limit models on the store, or on --table a scorecard, a
    default and a tuned LightGBM on the same folds, registering the best."""
    import pandas as pd

    from models.table import TableConfig, train_table
    from models.training import TrainConfig, train_precredit

    settings = settings_for(work_dir, database_url)
    uri, artifacts = settings.mlflow_uris()
    registry_uri = settings.mlflow_registry_uri
    if table is not None:
        if target is None:
            raise typer.BadParameter("--target is required with --table")
        reader_name = _READERS.get(table.suffix.lower())
        if reader_name is None:
            raise typer.BadParameter(
                f"--table must be a .csv, .parquet or .xlsx file; got {str(table)!r}"
            )
        if not table.exists():
            raise typer.BadParameter(f"--table must exist; got {str(table)!r}")
        frame = getattr(pd, reader_name)(table)
        missing = [
            f"{option} {column}"
            for option, column in (("--target", target), ("--id", id_col), ("--date", date_col))
            if column is not None and column not in frame.columns
        ]
        if missing:
            columns = ", ".join(map(str, frame.columns[:20]))
            cannot_train(f"{'; '.join(missing)}: not a column of {table.name} ({columns})")
        config = TableConfig(train=TrainConfig(cv_folds=folds), trials=trials, refit_all=refit_all)
        with err.status(f"training {name} on {len(frame):,} rows ({trials} trials) …"):
            fitted = or_exit(
                train_table,
                frame,
                target,
                id_col,
                date_col,
                tracking_uri=uri,
                artifact_location=artifacts,
                registry_uri=registry_uri,
                model_name=name,
                config=config,
                register=register,
            )
        if as_json:
            print_json(
                {
                    "chosen": fitted.chosen,
                    "evaluation": fitted.evaluation,
                    "candidates": json.loads(fitted.candidates.to_json(orient="records")),
                    "metrics": fitted.metrics,
                    "run": None if fitted.run is None else asdict(fitted.run),
                    "candidate_runs": fitted.candidate_runs,
                }
            )
            return
        _print_table(fitted, settings)
        return
    else:
        day = parse_date("--as-of", as_of)
        risk = risk_config_of(settings)
        with err.status(f"training the pre-credit models as of {day} …"):
            result = or_exit(
                train_precredit,
                open_store(settings),
                day,
                uri,
                artifact_location=artifacts,
                registry_uri=registry_uri,
                risk_config=risk,
                register=register,
            )
    if as_json:
        print_json(
            {
                "metrics": result.metrics,
                "pd_run": None if result.pd_run is None else asdict(result.pd_run),
                "limit_run": None if result.limit_run is None else asdict(result.limit_run),
            }
        )
        return
    _print_training(result, settings)


@models_app.command("list")
def list_command(
    as_json: JsonOpt = False, work_dir: WorkDirOpt = None, database_url: DatabaseOpt = None
) -> None:
    """Every registered model version with its aliases (champion / challenger)."""
    from serving.precredit import model_registry

    settings = settings_for(work_dir, database_url)
    frame = model_registry(settings).list_models()
    if as_json:
        print_json(frame.to_dict(orient="records"))
        return
    if frame.empty:
        out.print("no registered models yet: run `credlink train precredit`")
        return
    frame = frame.assign(created=frame["created"].dt.strftime("%Y-%m-%d %H:%M"))
    out.print(_frame_table(frame, "registered models"))


ActorOpt = Annotated[
    str | None,
    typer.Option(
        help="Who forces the promotion (a name or staff id, 1–100 characters); required with "
        "--force, recorded as the model-version tag forced_by."
    ),
]
ReasonOpt = Annotated[
    str | None,
    typer.Option(
        help="Why (10–500 characters); required with --force, recorded as the tag forced_reason."
    ),
]


def checked_accountability(
    force: bool, actor: str | None, reason: str | None
) -> tuple[str | None, str | None]:
    """``--actor`` and ``--reason``, checked before any work (required with ``--force``).

    Raises
    ------
    typer.BadParameter
        If ``--force`` lacks one of them or a value breaks
        :func:`models.registry.check_accountability`'s rules (exit 2).
    """
    from models.registry import check_accountability

    if force and (actor is None or reason is None):
        raise typer.BadParameter("--actor and --reason are required with --force")
    try:
        return check_accountability(actor, reason)
    except (TypeError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one red line on standard error; the ``Exit(1)`` to raise."""
    err.print(Text(message, style="red"), soft_wrap=True)
    return typer.Exit(1)


def _quality(result: PromotionResult) -> str:
    q, floor = result.quality, result.floor
    if "mae" in q:
        return (
            f"mean absolute error {q['mae']:.1f} 万元 vs the 银税互动 rule of thumb's "
            f"{q.get('rule_mae', float('nan')):.1f} on {q.get('performed', 0):.0f} performed "
            f"loans, rank correlation {q.get('rank_correlation', float('nan')):.2f}"
        )
    if "flagged" in q:  # the learned warning
        line = (
            f"holdout AUC {q.get('auc', float('nan')):.3f} on {q.get('bads', 0):.0f} new "
            f"violations (floor {floor.get('min_warning_auc', float('nan')):.2f})"
        )
        if q["flagged"] > 0:
            line += (
                f", precision at the rules' workload ({q['flagged']:.0f}) "
                f"{q.get('precision_at_flagged', float('nan')):.2f} vs the rules' "
                f"{q.get('rules_precision', float('nan')):.2f}"
            )
        return line
    return (
        f"holdout AUC {q.get('auc', float('nan')):.3f} on {q.get('bads', 0):.0f} bads "
        f"(floor {floor.get('min_auc', float('nan')):.2f})"
    )


def _comparison(result: PromotionResult) -> str:
    if result.champion_version is None:
        return "the first champion"
    if result.champion_version == result.version:
        return "already the champion"
    if "mae" in result.quality:  # the limit gate's score is minus the median relative error
        return (
            f"median relative error {-result.challenger_score:.3f} vs "
            f"{-result.champion_score:.3f} of champion version {result.champion_version}"
        )
    return (
        f"AUC {result.challenger_score:.4f} vs {result.champion_score:.4f} of champion version "
        f"{result.champion_version} on the same holdout"
    )


def promotion_line(result: PromotionResult) -> str:
    """One paragraph on a promotion: quality, comparison, and who forced it, when and why."""
    line = (
        f"{result.name} version {result.version} is now champion: {_quality(result)}; "
        f"{_comparison(result)}; PSI {result.psi:.3f}; monotonicity violations "
        f"{result.monotonicity_violations}."
    )
    if result.forced:
        line += (
            f" FORCED by {result.actor} at {result.promoted_at}, reason: {result.reason!r}; "
            "failed checks: " + "; ".join(result.failures)
        )
    return line


@models_app.command("promote")
def promote_command(
    name: Annotated[str, typer.Argument(help="Registered model, e.g. credlink-pd.")],
    version: Annotated[int, typer.Argument(help="The version to make champion.", min=1)],
    force: Annotated[
        bool,
        typer.Option(help="Promote even if the gate fails (needs --actor and --reason)."),
    ] = False,
    actor: ActorOpt = None,
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
    work_dir: WorkDirOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Make VERSION the champion if it passes the gate: the quality floor, beating the
    champion on its holdout, monotone, stable (or --force, with --actor and --reason).

    Exits 1 when the gate refuses or the version cannot be loaded (never promoted, not even
    with --force); 2 on bad options or an unknown model or version.
    """
    from models.exceptions import ArtifactError, PromotionRefusedError, RegistryError
    from serving.precredit import model_registry

    actor, reason = checked_accountability(force, actor, reason)
    settings = settings_for(work_dir, database_url)
    registry = model_registry(settings)
    try:
        result = registry.promote(name, str(version), force=force, actor=actor, reason=reason)
    except PromotionRefusedError as refused:
        if as_json:
            print_json(asdict(refused.result))
        else:
            out.print(Text(str(refused), style="red"))
        raise typer.Exit(1) from None
    except ArtifactError as error:
        raise fail(f"{error} (cannot be loaded: not promoted, not even with --force)") from None
    except RegistryError as error:
        raise typer.BadParameter(str(error)) from None
    if as_json:
        print_json(asdict(result))
        return
    out.print(Text(promotion_line(result), style="yellow" if result.forced else ""))


def demo_precredit(
    settings: Settings,
    as_of: date,
    floor: QualityFloor | None = None,
    *,
    risk: RiskConfig | None = None,
) -> dict[str, Any]:
    """Demo step: train, register, promote the champions, score the 信易贷白名单.

    When the gate refuses a model (its quality floor, say), the step says so, explains what
    the API will do (not ready, assessments 503) and shows the challengers' whitelist as a
    preview instead of stopping.

    Parameters
    ----------
    settings
        The demo's settings (store and work directory).
    as_of
        Training and scoring date (the synthetic county's end).
    floor
        The quality floor (default ``QualityFloor()``).
    risk
        The risk settings of the features (default: the settings' own,
        ``CREDLINK_RISK_CONFIG_FILE``).

    Returns
    -------
    dict
        ``metrics`` of the training run, the ``whitelist`` frame and the promotion results.
    """
    from features.data import PlatformData
    from models.exceptions import PromotionRefusedError
    from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME
    from models.scoring import PrecreditScorer, score_enterprises
    from models.training import train_precredit
    from serving.precredit import model_registry, risk_scorer

    risk = risk_config_of(settings) if risk is None else risk
    uri, artifacts = settings.mlflow_uris()
    data = PlatformData.from_store(open_store(settings))
    with err.status(f"training the pre-credit models as of {as_of} …"):
        result = train_precredit(
            data,
            as_of,
            uri,
            artifact_location=artifacts,
            registry_uri=settings.mlflow_registry_uri,
            risk_config=risk,
        )
    _print_training(result, settings)
    registry = model_registry(settings, floor)
    promotions = {}
    for name, run in ((PD_MODEL_NAME, result.pd_run), (LIMIT_MODEL_NAME, result.limit_run)):
        if run is None or run.version is None:
            continue
        try:
            promotions[name] = registry.promote(name, run.version)
            out.print(Text(promotion_line(promotions[name]), style="green"))
        except PromotionRefusedError as refused:
            promotions[name] = refused.result
            out.print(
                Text(
                    f"{name} version {run.version} stays challenger: "
                    + "; ".join(refused.result.failures),
                    style="yellow",
                )
            )
    preview = any(registry.alias_version(n) is None for n in (PD_MODEL_NAME, LIMIT_MODEL_NAME))
    if preview:
        out.print(
            Text(
                "There is no pre-credit champion pair: the gate refused a new version above and "
                "none was promoted before, so the API serves no assessments (/readyz answers "
                "503, assessments 503) until a version passes `credlink models promote` — or "
                "is forced with --actor and --reason. The whitelist below is a challenger "
                "preview, for review only.",
                style="yellow",
            )
        )
        assert result.limit_model is not None  # pre-credit training fits both
        scorer = risk_scorer(result.pd_model, result.limit_model, risk)
    else:
        champions = PrecreditScorer.from_registry(registry)
        scorer = risk_scorer(champions.pd_model, champions.limit_model, risk)
    with err.status("scoring every active enterprise …"):
        scored = score_enterprises(data, as_of, scorer)
    _print_whitelist(scored, data.enterprises, as_of, preview=preview)
    out.print(mlflow_hint(settings))
    return {"metrics": result.metrics, "whitelist": scored, "promotions": promotions}


def _print_whitelist(
    scored: pd.DataFrame, enterprises: pd.DataFrame, as_of: date, *, preview: bool = False
) -> None:
    names = dict(zip(enterprises["uscc"].astype(str), enterprises["name"], strict=True))
    white = scored[scored["whitelisted"]]
    declined = scored[~scored["eligible"]]
    label = "信易贷白名单 (challenger preview, not served)" if preview else "信易贷白名单"
    out.print(
        f"{label} as of {as_of}: {len(white):,} of {len(scored):,} active enterprises, "
        f"suggested volume {white['suggested_limit'].sum():,.0f} 万元; declined by policy "
        f"(失信联合惩戒) {len(declined):,}"
    )
    if white.empty:
        out.print(
            "no enterprise qualifies for the whitelist (eligible, a positive suggested limit "
            "and a grade within the whitelist's)"
        )
    table = Table(title="信易贷白名单: the 10 lowest PDs")
    for column in ("企业", "USCC", "grade", "PD", "limit (万元)", "主要风险因素", "主要优势"):
        table.add_column(column)
    for row in white.head(10).itertuples(index=False):
        table.add_row(
            str(names.get(row.uscc, row.uscc)),
            row.uscc,
            str(row.grade),
            f"{row.pd:.2%}",
            f"{row.suggested_limit:,.0f} ({row.limit_low:,.0f}–{row.limit_high:,.0f})",
            (row.risk_reasons_zh or ["—"])[0],
            (row.strength_reasons_zh or ["—"])[0],
        )
    if not white.empty:
        out.print(table)
    if len(declined):
        example = declined.iloc[0]
        out.print(
            f"e.g. declined {names.get(example['uscc'], example['uscc'])}: "
            + "; ".join(example["decline_reasons_zh"])
        )
