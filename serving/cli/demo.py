"""``credlink demo``: everything on embedded defaults, from a synthetic county to the API.

Registered in :mod:`serving.cli` as a command. Each step calls the command module that owns it
(:mod:`serving.cli.data`, :mod:`serving.cli.warn_model`, :mod:`serving.cli.train`,
:mod:`serving.cli.pipeline`, :mod:`serving.cli.serve`), all with the one
:class:`~risk.config.RiskConfig` of the settings: synthesise, ingest, train the learned warning
and the pre-credit models, then ``credlink pipeline run`` computes every score once and
publishes the score set the API answers from.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from serving.cli.common import (
    DatabaseOpt,
    WorkDirOpt,
    err,
    mlflow_hint,
    out,
    risk_config_of,
    settings_for,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from serving.settings import Settings

__all__ = ["demo"]


def _demo_serve(settings: Settings, engine: Engine) -> None:
    """Demo step 6: a key per role, the URLs and a ready-to-paste bank request; then serve."""
    from serving.cli.serve import serve
    from serving.keys import create_key

    out.rule("[bold]6 · serving the API")
    tokens = {
        role: create_key(engine, role, f"demo {role}", name="credlink demo").token
        for role in ("bank", "credit_office", "analyst", "admin")
    }
    base = f"http://{settings.host}:{settings.port}"
    for role, token in tokens.items():
        out.print(f"API key ({role}): {token}")
    out.print(f"OpenAPI docs: {base}/docs · credit-office pages: {base}/ui (credit_office key)")
    out.print(mlflow_hint(settings))
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
    from risk.store import read_table

    frame = read_table(engine, "enterprises", columns=["uscc", "status"])
    active = frame.loc[frame["status"] == "active", "uscc"]
    return str(active.iloc[0]) if len(active) else "91110000600037341L"


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
    """Run everything on embedded defaults, then serve.

    Synthesise a county and ingest it; train the learned warning and the pre-credit models.

    Run the batch pipeline: every score published as a score set, then serve the API.

    Running it again re-ingests the county (unchanged rows) and publishes a new set.
    """
    from rich.console import Group

    from models.exceptions import RegistryError, TrainingDataError
    from risk.store import open_engine
    from risk.synth import SynthConfig, generate_county, write_county
    from serving.cli.data import print_ingest_summary, progress_ingest
    from serving.cli.graph import print_top_linked
    from serving.cli.pipeline import run_and_print
    from serving.cli.train import demo_precredit
    from serving.cli.warn import summary_tables
    from serving.cli.warn_model import demo_warning_model

    settings = settings_for(work_dir, database_url)
    risk = risk_config_of(settings)
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
    summary = progress_ingest(settings, [county_dir], None, None, quiet=False)
    print_ingest_summary(summary)
    rows = summary.total("read")
    seconds = time.perf_counter() - started
    out.print(f"ingested {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    if not summary.ok:
        raise typer.Exit(1)

    as_of = config.end
    engine = open_engine(settings.store_url)
    out.rule(f"[bold]3 · learned warning (LightGBM, out of time) as of {as_of}")
    with err.status("training the learned warning …"):
        out.print(demo_warning_model(settings, as_of, risk))

    out.rule(f"[bold]4 · 信易贷 pre-credit models as of {as_of}")
    try:
        demo_precredit(settings, as_of, risk=risk)
    except (TrainingDataError, RegistryError) as exc:  # a county too small for the models
        out.print(
            f"[yellow]pre-credit step incomplete: {exc}. The demo county has too few funded "
            "loans; rerun with more enterprises (the default 20,000 is enough).[/yellow]"
        )

    out.rule(f"[bold]5 · the batch pipeline: every score as of {as_of}, one score set")
    result = run_and_print(work_dir, database_url, as_of, 3, False, keep_batch=True)
    if result.batch is not None:
        print_top_linked(result.batch.scored, 10)
    out.print(Group(*summary_tables(result.warnings)))
    if not no_serve:
        _demo_serve(settings.model_copy(update={"as_of": as_of}), engine)
        return
    out.rule("[bold]done")
    out.print(
        "Next: `credlink ingest FILE` to load your own files (CSV/Parquet/XLSX, English or "
        "双公示 headers); `credlink quarantine list` shows refused rows; "
        f"`credlink graph explain USCC --as-of {as_of}` explains one enterprise; "
        "`credlink warn list` shows the warnings, `credlink warn export --regulator 税务局 "
        "--out notice.xlsx` writes a 通报 list; `credlink pipeline list` and `credlink "
        "pipeline diff A B` compare score sets."
    )
