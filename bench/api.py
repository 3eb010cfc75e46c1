"""HTTP throughput and latency of the pre-credit assessment against ``/healthz``, with wrk.

Builds a synthetic county (``--enterprises``, most companies borrowing), trains and promotes
the champions into a temporary work directory, starts ``credlink serve`` (uvicorn with uvloop
and httptools, ``--workers`` processes) on 127.0.0.1 and drives, in the same run and one
after the other, for ``--duration`` seconds each at ``--connections`` connections:

1. ``GET /healthz``: the bare endpoint of the same app (the baseline);
2. ``POST /v1/precredit/assessments`` with a **bank** key and a valid authorization: every
   call writes its audit row and waits for its commit before answering (audit on);
3. the same with an **admin** key, which is not audited (audit off: what the audit costs);
4. ``GET /healthz`` again (the baseline drifts on a shared machine: the ratio uses the mean).

Prints a table (req/s, p50, p99, ratio to the baseline), checks that the audit log grew by at
least the number of bank requests wrk completed (requests still in flight when wrk stops are
answered, and audited, after it stopped counting) and reports the workers' peak RSS.

    PYTHONPATH=. .venv/bin/python bench/api.py [--duration 10] [--connections 32]
        [--workers 2] [--database-url postgresql+psycopg://…/empty_db]

Needs ``wrk`` on the PATH (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from wrk import Run, assessment_script, workers_peak_rss_mb, wrk  # bench/wrk.py

from features.data import PlatformData
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.tracking import tracking_uris
from models.training import train_precredit
from risk.store import read_table
from serving.roles import KeyRole
from tests.serving.conftest import ApiCounty, build_county, running_server


def _county(root: Path, enterprises: int, database_url: str | None) -> ApiCounty:
    county = build_county(root, n_enterprises=enterprises, loan_rate=0.8, database_url=database_url)
    uri, artifacts = tracking_uris(root)
    result = train_precredit(
        PlatformData.from_store(county.engine), county.as_of, uri, artifact_location=artifacts
    )
    registry = ModelRegistry(uri)
    for name, run in ((PD_MODEL_NAME, result.pd_run), (LIMIT_MODEL_NAME, result.limit_run)):
        assert run is not None and run.version is not None
        registry.promote(
            name,
            run.version,
            force=True,
            actor="bench/api.py",
            reason="benchmark champions, whatever the gate says",
        )
    return county


def _run(label: str, url: str, args: argparse.Namespace, script: Path | None = None) -> Run:
    return wrk(
        label,
        url,
        threads=args.threads,
        connections=args.connections,
        duration=args.duration,
        script=script,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument(
        "--database-url", help="an empty store to use instead of SQLite (e.g. PostgreSQL)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk must be installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="credlink-bench-api-") as tmp:
        root = Path(tmp)
        print("building the county and training the champions …", flush=True)
        county = _county(root, args.enterprises, args.database_url)
        uscc = str(read_table(county.engine, "enterprises", columns=["uscc"])["uscc"].iloc[0])
        bank = assessment_script(root, "bank", uscc, county.tokens[KeyRole.bank])
        admin = assessment_script(root, "admin", uscc, county.tokens[KeyRole.admin])
        with running_server(county, root / "server.log", workers=args.workers) as base:
            port = int(base.rsplit(":", 1)[1])
            audit_before = county.audit_count()
            runs = [_run("GET  /healthz", f"{base}/healthz", args)]
            runs.append(
                _run(
                    "POST assessment, bank (audit on)",
                    f"{base}/v1/precredit/assessments",
                    args,
                    bank,
                )
            )
            audited = county.audit_count() - audit_before
            runs.append(
                _run(
                    "POST assessment, admin (audit off)",
                    f"{base}/v1/precredit/assessments",
                    args,
                    admin,
                )
            )
            runs.append(_run("GET  /healthz (again)", f"{base}/healthz", args))
            rss = workers_peak_rss_mb(port)
        county.engine.dispose()
    baseline = (runs[0].rate + runs[-1].rate) / 2
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"\n{args.workers} uvicorn workers (uvloop, httptools), {backend} store, "
        f"{args.connections} connections, {args.duration} s each, wrk -t{args.threads}\n"
    )
    header = ("req/s", "p50 ms", "p99 ms", "÷ healthz", "non-2xx")
    print(f"{'endpoint':38s} " + " ".join(f"{h:>9s}" for h in header))
    for run in runs:
        print(
            f"{run.label:38s} {run.rate:9.1f} {run.p50_ms:9.2f} {run.p99_ms:9.2f} "
            f"{run.rate / baseline:9.3f} {run.non_2xx:9d}"
        )
    bank_run = runs[1]
    verdict = "ok" if audited >= bank_run.requests else "MISSING ROWS"
    print(
        f"\naudit rows written during the bank run: {audited} "
        f"(wrk completed {bank_run.requests}: {verdict})"
        f"\nworkers' peak RSS: {rss:.0f} MB"
        f"\ntargets: assessment ÷ healthz ≥ 0.3 → {bank_run.rate / baseline:.3f}; "
        f"p99 < 25 ms → {bank_run.p99_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
