"""``credlink synth``, ``ingest``, ``db`` and ``quarantine``: the data in the store.

Registered in :mod:`serving.cli`: ``synth`` and ``ingest`` as commands, ``db_app`` and
``quarantine_app`` as groups. What the commands print never holds a raw resident ID number,
whatever the store holds (:func:`serving.redaction.without_id_numbers`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from serving.cli.common import (
    DatabaseOpt,
    WorkDirOpt,
    err,
    open_store,
    out,
    print_json,
    settings_for,
)

if TYPE_CHECKING:
    from risk.ingest import IngestSummary
    from serving.settings import Settings

__all__ = [
    "db_app",
    "ingest",
    "ingest_live",
    "print_ingest_summary",
    "progress_ingest",
    "quarantine_app",
    "synth",
]

db_app = typer.Typer(help="Store schema (Alembic migrations).", no_args_is_help=True)
quarantine_app = typer.Typer(help="Rows refused at ingest.", no_args_is_help=True)


def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the CSV files.")],
    enterprises: Annotated[int, typer.Option(help="Number of enterprises.", min=10)] = 20_000,
    years: Annotated[int, typer.Option(help="Years of history.", min=1, max=20)] = 4,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same county).")] = 0,
    headers: Annotated[str, typer.Option(help="Header language: en or zh (双公示).")] = "en",
) -> None:
    """Generate a synthetic county (deterministic per seed) as CSV files."""
    from risk.synth import SynthConfig, generate_county, write_county

    if headers not in ("en", "zh"):
        raise typer.BadParameter(f"headers must be en or zh; got {headers!r}")
    settings = settings_for()
    started = time.perf_counter()
    config = SynthConfig(enterprises=enterprises, years=years, seed=seed, id_salt=settings.salt())
    with err.status(f"generating {enterprises:,} enterprises …"):
        county = generate_county(config)
        paths = write_county(county, out_dir, headers=headers)  # type: ignore[arg-type]
    table = Table(title=f"synthetic county → {out_dir}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("file")
    for name, path in paths.items():
        table.add_row(name, f"{len(county.tables[name]):,}", str(path))
    out.print(table)
    err.print(f"done in {time.perf_counter() - started:.1f} s")


def progress_ingest(
    settings: Settings,
    paths: list[Path],
    table: str | None,
    allowlist: Path | None,
    quiet: bool,
) -> IngestSummary:
    """Ingest ``paths`` into the store of ``settings``, with a progress bar on a terminal."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from risk.ingest import ingest_paths
    from serving.settings import load_allowlist

    engine = open_store(settings)
    allow = load_allowlist(allowlist or settings.uscc_allowlist)
    if quiet or not err.is_terminal:
        return ingest_paths(
            engine, paths, table=table, id_salt=settings.salt(), uscc_allowlist=allow
        )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def report(source: str, done: int, total: int) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(escape(Path(source).name), total=total)
            bar.update(tasks[source], completed=done, total=total)

        return ingest_paths(
            engine,
            paths,
            table=table,
            id_salt=settings.salt(),
            uscc_allowlist=allow,
            progress=report,
        )


def print_ingest_summary(summary: IngestSummary) -> None:
    """The ingest summary table, then each file's problems (ID numbers masked)."""
    from serving.redaction import without_id_numbers

    table = Table(title="ingest summary (read = inserted + updated + unchanged + quarantined)")
    for name in (
        "file",
        "table",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "quarantined",
        "orphans",
        "status",
    ):
        table.add_column(
            name, justify="right" if name not in ("file", "table", "status") else "left"
        )
    for f in summary.files:
        table.add_row(
            escape(without_id_numbers(Path(f.source).name)),
            f.table,
            f"{f.read:,}",
            f"{f.inserted:,}",
            f"{f.updated:,}",
            f"{f.unchanged:,}",
            f"{f.quarantined:,}",
            f"{f.orphans:,}",
            f.status if f.status == "ok" else f"[red]{f.status}[/red]",
        )
    table.add_row(
        "total",
        "",
        *(
            f"{summary.total(n):,}"
            for n in ("read", "inserted", "updated", "unchanged", "quarantined", "orphans")
        ),
        "",
    )
    out.print(table)
    for f in summary.files:
        name = escape(without_id_numbers(Path(f.source).name))
        if f.message and f.status != "ok":
            out.print(f"[red]{name}: {escape(without_id_numbers(f.message))}[/red]")
        if f.orphans:
            examples = ", ".join(without_id_numbers(f.orphan_examples[:3]))
            out.print(
                f"{name}: {f.orphans:,} rows kept whose enterprise/person "
                f"is not in the store yet (e.g. {escape(examples)})"
            )
        if f.ignored_columns:
            shown = ", ".join(without_id_numbers(f.ignored_columns[:10]))
            more = len(f.ignored_columns) - 10
            out.print(
                f"{name}: ignored columns {escape(shown)}"
                + (f" and {more:,} more" if more > 0 else "")
            )
    report = summary.to_dict()["uscc_report"]
    verdict = "[green]meets[/green]" if report["meets_target"] else "[red]misses[/red]"
    out.print(
        f"重错码 report: {report['read']:,} USCCs read, {report['invalid']:,} invalid, "
        f"{report['duplicate']:,} duplicate, {report['pilot_codes']:,} allow-listed pilot codes; "
        f"rate {report['error_rate']:.4%} {verdict} the {report['target']:.2%} target"
    )


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to ingest.")],
    table: Annotated[str | None, typer.Option(help="Contract table (default: detect).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    allowlist: Annotated[
        Path | None, typer.Option(help="File of allow-listed pilot USCCs, one a line.")
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Then rescore what the files changed on the current score set, as a delta "
            "with its events (files only, not directories).",
        ),
    ] = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Validate and upsert CSV / Parquet / XLSX files; bad rows go to quarantine.

    With ``--live`` the rows the files changed are rescored at once on the current score set
    (linked risk of their K-hop neighbourhood, the rules, grades and assessments of the
    enterprises they can move) and appended to it as a delta with its events, as
    ``POST /v1/records`` does. Exits 1 when a file was refused or failed (the others are
    still ingested), or when the live update could not be written.
    """
    for path in paths:
        if not path.exists():
            raise typer.BadParameter(f"path must exist; got {str(path)!r}")
        if live and path.is_dir():
            raise typer.BadParameter(
                f"--live takes files, not directories (a county is a batch run); got {path}"
            )
    settings = settings_for(work_dir, database_url)
    if live:
        ingest_live(settings, paths, table, allowlist, as_json)
        return
    summary = progress_ingest(settings, paths, table, allowlist, quiet=as_json)
    if as_json:
        sys.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        print_ingest_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def ingest_live(
    settings: Settings, paths: list[Path], table: str | None, allowlist: Path | None, as_json: bool
) -> None:
    """``credlink ingest --live``: the ingest, then one delta per table it changed."""
    from risk.live import apply_paths
    from risk.scoresets import ScoreSetError
    from serving.cli.common import risk_config_of
    from serving.live import pipeline_assessor
    from serving.redaction import without_id_numbers
    from serving.settings import load_allowlist

    risk = risk_config_of(settings)
    engine = open_store(settings)
    assess, why_not = pipeline_assessor(engine, settings, risk)
    try:
        summary, results = apply_paths(
            engine,
            paths,
            risk,
            table=table,
            assess=assess,
            id_salt=settings.salt(),
            uscc_allowlist=load_allowlist(allowlist or settings.uscc_allowlist),
        )
    except ScoreSetError as exc:
        err.print(f"[red]{escape(without_id_numbers(str(exc)))}[/red]")
        raise typer.Exit(1) from None
    notes = [why_not] if why_not is not None else []
    if as_json:
        print_json(
            without_id_numbers(
                {
                    **summary.to_dict(),
                    "live": [{**r.to_dict(), "table": r.summary.table} for r in results],
                    "notes": notes,
                }
            )
        )
    else:
        print_ingest_summary(summary)
        live = Table(title="live update (delta on the current score set)")
        for column in ("table", "changed", "set", "seq", "risk", "grades", "events", "ms"):
            live.add_column(column, justify="left" if column == "table" else "right")
        for r in results:
            live.add_row(
                r.summary.table,
                f"{len(r.changed):,}",
                str(r.set_id),
                str(r.seq),
                f"{r.recomputed.get('risk', 0):,}",
                f"{r.recomputed.get('grades', 0):,}",
                f"{len(r.events):,}",
                f"{sum(r.seconds.values()) * 1000:,.0f}",
            )
        out.print(live)
        for r in results:
            for event in r.events.head(20).itertuples(index=False):
                out.print(
                    escape(
                        without_id_numbers(
                            f"  {event.subject_id} {event.kind}: {event.before} → {event.after}"
                        )
                    )
                )
            for note in r.notes:
                out.print(escape(without_id_numbers(f"{r.summary.table}: {note}")))
        for note in notes:
            out.print(escape(note))
    if not summary.ok:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None, work_dir: WorkDirOpt = None) -> None:
    """Create or migrate the store's schema to the newest revision."""
    settings = settings_for(work_dir, database_url)
    engine = open_store(settings)
    out.print(f"schema is at the newest revision: {engine.url!r}")


@quarantine_app.command("list")
def quarantine_list(
    batch: Annotated[int | None, typer.Option(help="Only this ingest batch.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Show quarantined rows with their file, row number, column and reason."""
    from sqlalchemy import select

    from risk.store import quarantine
    from serving.redaction import without_id_numbers

    settings = settings_for(work_dir, database_url)
    engine = open_store(settings)
    query = select(quarantine).order_by(quarantine.c.id).limit(limit)
    if batch is not None:
        query = query.where(quarantine.c.batch_id == batch)
    with engine.connect() as conn:
        rows = [without_id_numbers(dict(r._mapping)) for r in conn.execute(query)]
    if as_json:
        print_json(rows)
        return
    table = Table(title="quarantine")
    for name in ("batch_id", "source", "row_number", "column_name", "reason"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r["batch_id"]),
            escape(Path(r["source"]).name),
            str(r["row_number"]),
            escape(str(r["column_name"] or "")),
            escape(r["reason"]),
        )
    out.print(table)
