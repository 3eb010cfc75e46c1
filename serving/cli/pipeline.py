"""``credlink pipeline run | list | diff``: the score sets (:mod:`serving.pipeline`,
:mod:`risk.scoresets`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from serving.cli.common import (
    AsOfOpt,
    DatabaseOpt,
    JsonOpt,
    WorkDirOpt,
    err,
    out,
    parse_date,
    print_json,
    scoring_store,
    settings_for,
)
from serving.display import display_time

if TYPE_CHECKING:
    from serving.pipeline import PipelineResult

__all__ = ["pipeline_app", "run_and_print"]

pipeline_app = typer.Typer(
    help="The batch pipeline: every score computed once, written as a versioned score set.",
    no_args_is_help=True,
)

KeepOpt = Annotated[
    int, typer.Option("--keep", min=2, help="Complete score sets kept (older ones are pruned).")
]


def run_and_print(
    work_dir: Path | None,
    database_url: str | None,
    day: date,
    keep: int,
    as_json: bool,
    *,
    keep_batch: bool = False,
) -> PipelineResult:
    """Run the pipeline with progress on standard error; print its summary; the result."""
    from risk.scoresets import ScoreSetError
    from serving.pipeline import run_pipeline
    from serving.precredit import mlflow_uri

    settings = settings_for(work_dir, database_url)
    engine, risk = scoring_store(work_dir, database_url)

    def progress(name: str, seconds: float, rows: int) -> None:
        err.print(f"  {name:<16} {seconds:7.1f} s  {rows:>10,} rows")

    err.print(f"pipeline as of {day} (risk config {risk.digest()[:12]}) …")
    try:
        result = run_pipeline(
            engine,
            day,
            risk,
            mlflow_uri=mlflow_uri(settings),
            progress=progress,
            keep=keep,
            keep_batch=keep_batch,
            registry_uri=settings.mlflow_registry_uri,
        )
    except ScoreSetError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        print_json(result.to_dict())
        return result
    table = Table(title=f"score set {result.score_set.id} as of {result.score_set.as_of}")
    for column in ("step", "seconds", "rows", "note"):
        table.add_column(column, justify="right" if column in ("seconds", "rows") else "left")
    for step in result.steps:
        table.add_row(step.name, f"{step.seconds:.1f}", f"{step.rows:,}", step.skipped or "")
    out.print(table)
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(result.score_set.counts.items()))
    versions = ", ".join(f"{k} v{v}" for k, v in sorted(result.score_set.model_versions.items()))
    out.print(
        f"current score set → {result.score_set.id} ({counts}); models: {versions or 'none'}; "
        f"{result.events:,} events; warnings: {result.warnings.created} new, "
        f"{result.warnings.updated} updated; {result.seconds:.1f} s"
    )
    return result


@pipeline_app.command("run")
def run(
    as_of: AsOfOpt = None,
    keep: KeepOpt = 3,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Score, rule, grade and assess the county as of a date; publish it as the current set."""
    run_and_print(work_dir, database_url, parse_date("--as-of", as_of), keep, as_json)


@pipeline_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many sets.")] = 20,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """The score sets, newest first, and which one is current."""
    from risk.scoresets import current, list_sets

    engine, _ = scoring_store(work_dir, database_url)
    sets = list_sets(engine, limit)
    pointer = current(engine)
    rows = [
        {
            "id": s.id,
            "current": pointer is not None and pointer.set_id == s.id,
            "as_of": s.as_of.isoformat(),
            "status": s.status,
            "created_at": s.created_at.isoformat(),
            "deltas": s.seq,
            "config_digest": s.config_digest,
            "model_versions": s.model_versions,
            "counts": s.counts,
            "rows": ", ".join(f"{k} {v:,}" for k, v in sorted(s.counts.items())),
            "note": s.note,
        }
        for s in sets
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="score sets")
    for column in ("id", "", "as of", "status", "created", "deltas", "config", "rows"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            "current" if r["current"] else "",
            str(r["as_of"]),
            str(r["status"]),
            display_time(r["created_at"]),
            str(r["deltas"]),
            str(r["config_digest"])[:12],
            str(r["rows"]),
        )
    out.print(table)


@pipeline_app.command("diff")
def diff(
    old: Annotated[int, typer.Argument(help="The older score set id.")],
    new: Annotated[int, typer.Argument(help="The newer score set id.")],
    limit: Annotated[int, typer.Option(min=0, help="Changes listed per kind.")] = 20,
    as_json: JsonOpt = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Who moved grade, band or assessment, and who entered the watchlist, between two sets."""
    from risk.scoresets import ScoreSetError, diff_sets
    from serving.redaction import without_id_numbers

    engine, _ = scoring_store(work_dir, database_url)
    try:
        result = diff_sets(engine, old, new)
    except ScoreSetError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    changes = result.changes
    entered = result.entered_watchlist()
    if as_json:
        print_json(
            {
                "old": old,
                "new": new,
                "counts": result.counts(),
                "entered_watchlist": entered["subject_id"].tolist(),
                "changes": [
                    without_id_numbers([str(v) for v in row])
                    for row in changes[["subject_id", "kind", "before", "after"]].itertuples(
                        index=False
                    )
                ][: max(limit, 0) * max(len(result.counts()), 1)],
            }
        )
        return
    counts = result.counts()
    out.print(
        f"score set {old} ({result.old.as_of}) → {new} ({result.new.as_of}): "
        + (", ".join(f"{k} {v:,}" for k, v in counts.items()) or "no changes")
        + f"; {len(entered):,} entered the watchlist (red/orange warnings)"
    )
    for kind in counts:
        part = changes[changes["kind"] == kind].head(limit)
        table = Table(title=f"{kind}: {counts[kind]:,} changed")
        for column in ("subject", "before", "after"):
            table.add_column(column)
        for row in part.itertuples(index=False):
            table.add_row(
                *without_id_numbers([str(row.subject_id), str(row.before), str(row.after)])
            )
        out.print(table)


def _shown(value: object) -> str:
    """A before/after cell: ``—`` where the enterprise had no row (not scored, or none)."""
    return "—" if value is None else str(value)
