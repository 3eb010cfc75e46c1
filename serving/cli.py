"""The ``credlink`` command line: synth, ingest, db, quarantine, demo."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine, select

from models.exceptions import RegistryError, TrainingDataError
from risk.identifiers import mask_id_numbers
from risk.ingest import IngestSummary, ingest_paths
from risk.store import open_engine, quarantine, read_table
from risk.synth import SynthConfig, generate_county, write_county
from serving.cli_audit import audit_app
from serving.cli_graph import graph_app, print_top_linked, run_graph
from serving.cli_keys import keys_app
from serving.cli_models import demo_precredit, models_app, train_app
from serving.cli_serve import serve, serve_command
from serving.cli_warn import demo_warnings, warn_app
from serving.cli_warn_model import demo_warning_model, train_warning_command
from serving.clicommon import (
    DatabaseOpt,
    WorkDirOpt,
    err,
    open_store,
    out,
    print_json,
    settings_for,
)
from serving.keys import create_key
from serving.settings import Settings, load_allowlist

app = typer.Typer(
    name="credlink",
    help="Linked-entity risk warning and 信易贷 pre-credit for public-credit platforms.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Store schema (Alembic migrations).", no_args_is_help=True)
quarantine_app = typer.Typer(help="Rows refused at ingest.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(graph_app, name="graph")
warn_app.command("train")(train_warning_command)
app.add_typer(warn_app, name="warn")
app.add_typer(keys_app, name="keys")
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")
app.command("serve")(serve_command)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(audit_app, name="audit")


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the CSV files.")],
    enterprises: Annotated[int, typer.Option(help="Number of enterprises.", min=10)] = 20_000,
    years: Annotated[int, typer.Option(help="Years of history.", min=1, max=20)] = 4,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same county).")] = 0,
    headers: Annotated[str, typer.Option(help="Header language: en or zh (双公示).")] = "en",
) -> None:
    """Generate a synthetic county (deterministic per seed) as CSV files."""
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


def _progress_ingest(
    settings: Settings,
    paths: list[Path],
    table: str | None,
    allowlist: Path | None,
    quiet: bool,
) -> IngestSummary:
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


def _masked(value: Any) -> Any:
    """Mask resident ID numbers in what the store returns before printing it: rows written
    before ingest masked everything must not leak through the command line either."""
    if isinstance(value, str):
        return mask_id_numbers(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _print_summary(summary: IngestSummary) -> None:
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
            escape(_masked(Path(f.source).name)),
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
        name = escape(_masked(Path(f.source).name))
        if f.message and f.status != "ok":
            out.print(f"[red]{name}: {escape(_masked(f.message))}[/red]")
        if f.orphans:
            examples = ", ".join(_masked(f.orphan_examples[:3]))
            out.print(
                f"{name}: {f.orphans:,} rows kept whose enterprise/person "
                f"is not in the store yet (e.g. {escape(examples)})"
            )
        if f.ignored_columns:
            shown = ", ".join(_masked(f.ignored_columns[:10]))
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


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to ingest.")],
    table: Annotated[str | None, typer.Option(help="Contract table (default: detect).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    allowlist: Annotated[
        Path | None, typer.Option(help="File of allow-listed pilot USCCs, one a line.")
    ] = None,
    database_url: DatabaseOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """Validate and upsert CSV / Parquet / XLSX files; bad rows go to quarantine.

    Exits 1 when a file was refused or failed (the others are still ingested).
    """
    for path in paths:
        if not path.exists():
            raise typer.BadParameter(f"path must exist; got {str(path)!r}")
    settings = settings_for(work_dir, database_url)
    summary = _progress_ingest(settings, paths, table, allowlist, quiet=as_json)
    if as_json:
        sys.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_summary(summary)
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
    settings = settings_for(work_dir, database_url)
    engine = open_store(settings)
    query = select(quarantine).order_by(quarantine.c.id).limit(limit)
    if batch is not None:
        query = query.where(quarantine.c.batch_id == batch)
    with engine.connect() as conn:
        rows = [_masked(dict(r._mapping)) for r in conn.execute(query)]
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


def _demo_serve(settings: Settings, engine: Engine) -> None:
    """Demo step 7: a key per role, the URLs and a ready-to-paste bank request; then serve."""
    out.rule("[bold]7 · serving the API")
    tokens = {
        role: create_key(engine, role, f"demo {role}", name="credlink demo").token
        for role in ("bank", "credit_office", "analyst", "admin")
    }
    base = f"http://{settings.host}:{settings.port}"
    for role, token in tokens.items():
        out.print(f"API key ({role}): {token}")
    out.print(f"OpenAPI docs: {base}/docs · credit-office pages: {base}/ui (credit_office key)")
    out.print(
        f"MLflow UI: .venv/bin/mlflow ui --backend-store-uri "
        f"sqlite:///{(settings.work_dir / 'mlflow.db').resolve()}"
    )
    example = _example_enterprise(engine)
    out.print("A bank assessment, ready to paste:")
    out.print(
        f"curl -s -X POST -H 'X-API-Key: {tokens['bank']}' -H 'Content-Type: application/json' "
        f'-d \'{{"uscc": "{example}", "authorization": {{"id": "AUTH-DEMO-1", '
        f'"purpose": "pre_credit", "granted_at": "{settings.as_of}", '
        f'"expires_at": "2099-12-31"}}}}\' {base}/v1/precredit/assessments',
        soft_wrap=True,
    )
    out.print("Serving until Ctrl-C (`credlink demo --no-serve` stops before this step).")
    serve(settings)


def _example_enterprise(engine: Engine) -> str:
    """An active enterprise of the store, for the example request."""
    frame = read_table(engine, "enterprises", columns=["uscc", "status"])
    active = frame.loc[frame["status"] == "active", "uscc"]
    return str(active.iloc[0]) if len(active) else "91110000600037341L"


@app.command()
def demo(
    enterprises: Annotated[
        int, typer.Option(help="Size of the synthetic county.", min=100)
    ] = 20_000,
    years: Annotated[int, typer.Option(min=1, max=20)] = 4,
    seed: Annotated[int, typer.Option()] = 0,
    work_dir: WorkDirOpt = None,
    database_url: DatabaseOpt = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after the batch steps; don't start the API.")
    ] = False,
) -> None:
    """Run everything on embedded defaults: synthesise a county, ingest it, report.

    Running it again re-ingests the same county and reports only unchanged rows.
    """
    settings = settings_for(work_dir, database_url)
    county_dir = settings.work_dir / "county"
    out.rule("[bold]1 · synthetic county")
    started = time.perf_counter()
    config = SynthConfig(enterprises=enterprises, years=years, seed=seed, id_salt=settings.salt())
    with err.status(f"generating {enterprises:,} enterprises …"):
        county = generate_county(config)
        write_county(county, county_dir)
    out.print(
        f"{enterprises:,} enterprises over {years} years (seed {seed}) → {county_dir} "
        f"in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{name} {len(frame):,}" for name, frame in county.tables.items())
    )
    out.rule("[bold]2 · ingest")
    out.print(f"store: {open_engine(settings.store_url).url!r}")
    started = time.perf_counter()
    summary = _progress_ingest(settings, [county_dir], None, None, quiet=False)
    _print_summary(summary)
    rows = summary.total("read")
    seconds = time.perf_counter() - started
    out.print(f"ingested {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    if not summary.ok:
        raise typer.Exit(1)

    as_of = config.end
    out.rule(f"[bold]3 · linked-entity graph as of {as_of}")
    engine = open_engine(settings.store_url)
    with err.status("building the graph and propagating …"):
        run = run_graph(engine, as_of)
    snap = run.snapshot
    out.print(
        f"{snap.n_nodes:,} nodes, {snap.n_edges:,} edges; built and scored in {run.seconds:.2f} s"
    )
    print_top_linked(run, 10)

    out.rule(f"[bold]4 · repeat-violator warnings as of {as_of}")
    with err.status("evaluating the warning rules …"):
        warnings_report = demo_warnings(settings, as_of)
    out.print(warnings_report)

    out.rule(f"[bold]5 · learned warning (LightGBM, out of time) as of {as_of}")
    with err.status("training the learned warning …"):
        out.print(demo_warning_model(settings, as_of))

    out.rule(f"[bold]6 · 信易贷 pre-credit models as of {as_of}")
    try:
        demo_precredit(settings, as_of)
    except (TrainingDataError, RegistryError) as exc:  # a county too small for the models
        out.print(
            f"[yellow]pre-credit step incomplete: {exc}. The demo county has too few funded "
            "loans; rerun with more enterprises (the default 20,000 is enough).[/yellow]"
        )
    if not no_serve:
        _demo_serve(settings.model_copy(update={"as_of": as_of}), engine)
        return
    out.rule("[bold]done")
    out.print(
        "Next: `credlink ingest FILE` to load your own files (CSV/Parquet/XLSX, English or "
        "双公示 headers); `credlink quarantine list` shows refused rows; "
        f"`credlink graph explain USCC --as-of {as_of}` explains one enterprise; "
        "`credlink warn list` shows the warnings, `credlink warn export --regulator 税务局 "
        "--out notice.xlsx` writes a 通报 list."
    )
