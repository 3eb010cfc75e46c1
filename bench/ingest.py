"""Ingest throughput: the demo county into a fresh SQLite or PostgreSQL store.

Prints one table per run: credlink's validated ingest (first load, then a re-ingest that finds
every row unchanged) against a bare baseline in the same command — ``pandas.read_csv`` of the
same files, then ``DataFrame.to_sql`` into another SQLite file or ``COPY`` into PostgreSQL
tables of text columns, with no validation, no quarantine and no upsert — with rows/s, the
ratio to the baseline's rows/s and the peak RSS of each step (each runs in a fresh process).

    PYTHONPATH=. .venv/bin/python bench/ingest.py [--backend sqlite|postgresql] [--url URL]
        [--enterprises 20000 100000] [--seed 0]

PostgreSQL: ``--url`` or ``CREDLINK_TEST_POSTGRES_URL`` names a server where the bench may
create (and then drops) a database of its own.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import resource
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from risk.ingest import ingest_paths
from risk.store import migrate, open_engine
from risk.synth import SynthConfig, generate_county, write_county

SALT = b"bench-salt-0123456789"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _files(county: Path) -> list[Path]:
    return [p for p in sorted(county.glob("*.csv")) if p.stem != "hidden_risk"]


def baseline_sqlite(county: Path, url: str) -> dict[str, Any]:
    """read_csv + to_sql of every file into a fresh SQLite file (WAL, as the store)."""
    started = time.perf_counter()
    rows = 0
    with sqlite3.connect(make_url(url).database or "") as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for path in _files(county):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame.to_sql(path.stem, conn, index=False, if_exists="replace", chunksize=50_000)
            rows += len(frame)
    return {"rows": rows, "seconds": time.perf_counter() - started}


def baseline_postgresql(county: Path, url: str) -> dict[str, Any]:
    """read_csv + COPY of every file into PostgreSQL tables of text columns."""
    started = time.perf_counter()
    rows = 0
    engine = create_engine(url)
    with engine.begin() as conn:
        dbapi: Any = conn.connection.driver_connection
        for path in _files(county):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            name = f"baseline_{path.stem}"
            columns = ", ".join(f'"{c}" text' for c in frame.columns)
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE TABLE "{name}" ({columns})'))
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            with (
                dbapi.cursor() as cursor,
                cursor.copy(f'COPY "{name}" FROM STDIN WITH (FORMAT csv)') as copy,
            ):
                copy.write(buffer.getvalue())
            rows += len(frame)
    engine.dispose()
    return {"rows": rows, "seconds": time.perf_counter() - started}


def credlink_ingest(county: Path, url: str) -> dict[str, Any]:
    engine = open_engine(url)
    started = time.perf_counter()
    summary = ingest_paths(engine, [county], id_salt=SALT)
    seconds = time.perf_counter() - started
    engine.dispose()
    if not (summary.ok and all(f.reconciled for f in summary.files)):
        raise SystemExit(f"ingest failed: {[f.message for f in summary.files]}")
    return {
        "rows": summary.total("read"),
        "seconds": seconds,
        "outcome": {k: summary.total(k) for k in ("inserted", "updated", "unchanged")}
        | {"quarantined": summary.total("quarantined")},
    }


def _child(step: Callable[[Path, str], dict[str, Any]], county: Path, url: str, out: Any) -> None:
    result = step(county, url)
    result["rss_mb"] = _peak_rss_mb()
    out.send(result)


def in_fresh_process(step: Callable[[Path, str], dict[str, Any]], county: Path, url: str) -> Any:
    """Run ``step`` in a fresh interpreter, so that its peak RSS is its own."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(step, county, url, send))
    process.start()
    result = receive.recv()
    process.join()
    return result


@contextmanager
def stores(backend: str, work: Path, server: str | None) -> Iterator[tuple[str, str]]:
    """URLs of a fresh credlink store and a fresh baseline database."""
    if backend == "sqlite":
        yield f"sqlite:///{work / 'credlink.db'}", f"sqlite:///{work / 'baseline.db'}"
        return
    if not server:
        raise SystemExit("--backend postgresql needs --url or CREDLINK_TEST_POSTGRES_URL")
    name = f"credlink_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url, url  # the baseline's tables are named baseline_*
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", default=os.environ.get("CREDLINK_TEST_POSTGRES_URL"))
    parser.add_argument("--enterprises", type=int, nargs="+", default=[20_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    baseline = baseline_sqlite if args.backend == "sqlite" else baseline_postgresql
    bare = "read_csv + to_sql" if args.backend == "sqlite" else "read_csv + COPY"

    header = (
        f"{'enterprises':>11}  {'run':<36}{'rows':>11}{'seconds':>9}{'rows/s':>10}"
        f"{'× baseline':>12}{'peak RSS MB':>13}"
    )
    lines = []
    for size in args.enterprises:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            county = work / "county"
            started = time.perf_counter()
            write_county(generate_county(SynthConfig(enterprises=size, seed=args.seed)), county)
            print(f"{size:,} enterprises generated in {time.perf_counter() - started:.0f} s")
            with stores(args.backend, work, args.url) as (store_url, baseline_url):
                migrate(open_engine(store_url))
                base = in_fresh_process(baseline, county, baseline_url)
                first = in_fresh_process(credlink_ingest, county, store_url)
                again = in_fresh_process(credlink_ingest, county, store_url)
        base_rate = base["rows"] / base["seconds"]
        for label, run in (
            (f"baseline: {bare}", base),
            ("credlink ingest (first load)", first),
            ("credlink re-ingest (all unchanged)", again),
        ):
            rate = run["rows"] / run["seconds"]
            lines.append(
                f"{size:>11,}  {label:<36}{run['rows']:>11,}{run['seconds']:>9.2f}{rate:>10,.0f}"
                f"{rate / base_rate:>12.2f}{run['rss_mb']:>13,.0f}"
            )
        lines.append(f"{'':>13}first load {first['outcome']}; re-ingest {again['outcome']}")
    print()
    print(f"backend: {args.backend}; × baseline = rows/s ÷ the baseline's rows/s")
    print(header)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
