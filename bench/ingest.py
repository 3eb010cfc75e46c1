"""Ingest throughput: the demo county into a fresh SQLite store.

Prints one table: credlink's validated ingest (first load, then a re-ingest that finds every
row unchanged) against a bare baseline in the same run — ``pandas.read_csv`` +
``DataFrame.to_sql`` of the same files into another SQLite file, with no validation, no
quarantine and no upsert — with rows/s, the ratio to the baseline and peak RSS.

    .venv/bin/python bench/ingest.py [--enterprises 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

import pandas as pd

from risk.ingest import ingest_paths
from risk.store import migrate, open_engine
from risk.synth import SynthConfig, generate_county, write_county


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(county: Path, db: Path) -> tuple[int, float]:
    started = time.perf_counter()
    rows = 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for path in sorted(county.glob("*.csv")):
            if path.stem == "hidden_risk":
                continue
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame.to_sql(path.stem, conn, index=False, if_exists="replace", chunksize=20_000)
            rows += len(frame)
    return rows, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        county = work / "county"
        started = time.perf_counter()
        write_county(
            generate_county(SynthConfig(enterprises=args.enterprises, seed=args.seed)), county
        )
        synth_s = time.perf_counter() - started

        base_rows, base_s = baseline(county, work / "baseline.db")

        engine = open_engine(f"sqlite:///{work / 'credlink.db'}")
        migrate(engine)
        runs = []
        for label in ("credlink ingest (first load)", "credlink re-ingest (all unchanged)"):
            started = time.perf_counter()
            summary = ingest_paths(engine, [county], id_salt=b"bench-salt-0123456789")
            seconds = time.perf_counter() - started
            assert summary.ok and all(f.reconciled for f in summary.files)
            runs.append((label, summary.total("read"), seconds, summary))

    print(f"demo county: {args.enterprises:,} enterprises, generated in {synth_s:.1f} s")
    print()
    print(f"{'run':<38}{'rows':>10}{'seconds':>10}{'rows/s':>12}{'× baseline time':>17}")
    print(
        f"{'baseline: read_csv + to_sql':<38}{base_rows:>10,}{base_s:>10.2f}"
        f"{base_rows / base_s:>12,.0f}{1.0:>17.2f}"
    )
    for label, rows, seconds, _ in runs:
        print(
            f"{label:<38}{rows:>10,}{seconds:>10.2f}{rows / seconds:>12,.0f}"
            f"{seconds / base_s:>17.2f}"
        )
    first, second = runs[0][3], runs[1][3]
    print()
    print(
        f"first load: inserted {first.total('inserted'):,}, quarantined "
        f"{first.total('quarantined'):,}; re-ingest: unchanged {second.total('unchanged'):,}, "
        f"inserted {second.total('inserted')}, updated {second.total('updated')}"
    )
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
