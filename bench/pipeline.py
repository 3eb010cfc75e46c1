"""The whole product at scale, as a user runs it: ingest, training, the pipeline, serving.

For each size N (``--enterprises``, enterprises of a synthetic county), in a fresh work
directory with its own SQLite store (or ``--database-url``, an empty PostgreSQL database), every
step runs as the user runs it, ``credlink …`` in its own process, timed as a whole process with
its peak RSS (``/usr/bin/time``):

``synth``       ``credlink synth`` (not a target; the county the rest reads)
``ingest``      ``credlink ingest`` of the county's files; baseline: ``read_csv`` + ``to_sql``
                (SQLite) or ``read_csv`` + COPY (PostgreSQL) of the same files in a fresh process
``warn train``  ``credlink warn train`` (learned warning, promoted); ``train precredit`` and
                the promotion of the PD and the limit. Their ratios to a bare ``lightgbm.train``
                are ``bench/training.py``'s
``pipeline``    ``credlink pipeline run --json`` and each of its steps (risk, write risk,
                learned warning, assessments, publish) from its own report; baselines, in one
                fresh process on the same store: the bare kernel (the Katz sum ``Σ α^k P^k s``
                by K scipy CSR products on credlink's transmission matrix) for ``risk``, and a
                bare ``Booster.predict`` of the champions' boosters on as many rows of random
                features for ``learned warning`` and ``assessments``
``serve``       ``credlink serve`` with ``--workers`` workers: seconds until every worker
                answers ``/readyz`` and each worker's RSS then
``assessment``  wrk, ``--connections`` connections for ``--duration`` s: ``POST
                /v1/precredit/assessments`` with a bank key (audit on), against ``GET /healthz``

    PYTHONPATH=. .venv/bin/python bench/pipeline.py --enterprises 100000 1000000
        [--workers 2] [--connections 32] [--duration 10] [--keep-work DIR]

Targets at 1,000,000 enterprises on the 2-core machine (issue 13): the pipeline ≤ 10 min and
≤ 8 GB peak; ingest ≥ 100,000 rows/s; serve ready ≤ 10 s and ≤ 400 MB per worker; bank
assessment p99 < 25 ms at 32 connections with the audit on. Needs ``wrk`` and
``/usr/bin/time``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest import baseline_postgresql, baseline_sqlite, in_fresh_process  # bench/ingest.py
from measure import measure  # bench/measure.py
from wrk import assessment_script, wrk  # bench/wrk.py

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One line of the table."""

    size: int
    step: str
    seconds: float
    peak_mb: float | None = None
    rows: int | None = None
    baseline_s: float | None = None
    note: str = ""


def credlink(work: Path, *args: str, env: dict[str, str]) -> tuple[str, float, float]:
    """Run ``credlink ARGS`` in its own process: its stdout, wall seconds and peak RSS (MB)."""
    timing = work / "time.txt"
    command = ["/usr/bin/time", "-o", str(timing), "-f", "%e %M"]
    command += [sys.executable, "-m", "serving.cli", *args]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"credlink {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    wall, peak_kb = timing.read_text().split()[-2:]
    return done.stdout, float(wall), int(peak_kb) / 1024


def bare_baselines(url: str, as_of: str, mlflow: str) -> dict[str, Any]:
    """In this (fresh) process: the bare kernel on the store's graph and bare predicts."""
    import numpy as np

    from models.registry import PD_MODEL_NAME, WARNING_MODEL_NAME, ModelRegistry
    from risk.snapshot import score_snapshot
    from risk.store import open_engine
    from serving.settings import Settings

    engine = open_engine(url)
    config = Settings(database_url=url).risk_config()
    run = score_snapshot(engine, as_of, config)
    snapshot, propagation = run.snapshot, config.propagation
    signal = np.asarray(run.scores.own_signal, dtype=np.float64)
    matrix = run.propagator.transmission_  # credlink's P, built once by the fit

    def kernel() -> np.ndarray:
        total, term = np.zeros_like(signal), signal
        for _ in range(propagation.hops):
            term = propagation.alpha * (matrix @ term)
            total += term
        return total

    _, kernel_s, _ = measure(kernel)
    out: dict[str, Any] = {"kernel_s": kernel_s, "nodes": snapshot.n_nodes}
    registry = ModelRegistry(mlflow)
    rng = np.random.default_rng(0)
    n = int((snapshot.nodes["node_type"] == "enterprise").sum())
    for name, key in ((PD_MODEL_NAME, "pd_predict_s"), (WARNING_MODEL_NAME, "warning_predict_s")):
        _, model = registry.load_champion(name)
        booster = model.booster_  # type: ignore[attr-defined]
        X = rng.normal(size=(n, booster.num_feature()))
        _, out[key], _ = measure(lambda b=booster, m=X: b.predict(m))
    engine.dispose()
    return out


def _baselines_child(url: str, as_of: str, mlflow: str, send: Any) -> None:
    send.send(bare_baselines(url, as_of, mlflow))


def in_child(url: str, as_of: str, mlflow: str) -> dict[str, Any]:
    """:func:`bare_baselines` in a fresh interpreter."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_baselines_child, args=(url, as_of, mlflow, send))
    process.start()
    result: dict[str, Any] = receive.recv()
    process.join()
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_rss_mb(port: int) -> list[float]:
    """Current RSS of each worker of the server on ``port`` (found by its CREDLINK_PORT)."""
    marker = f"CREDLINK_PORT={port}".encode()
    out = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit():
                continue
            if marker not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            if b"multiprocessing" not in (proc / "cmdline").read_bytes():
                continue  # the supervisor
            status = (proc / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                out.append(int(line.split()[1]) / 1024)
    return sorted(out)


def ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def bench_size(n: int, args: argparse.Namespace, work: Path) -> list[Row]:
    from risk.synth import SynthConfig

    as_of = SynthConfig(enterprises=n).end.isoformat()
    env = {**os.environ, "CREDLINK_WORK_DIR": str(work), "PYTHONPATH": str(ROOT)}
    if args.database_url:
        env["CREDLINK_DATABASE_URL"] = args.database_url
    url = args.database_url or f"sqlite:///{work / 'credlink.db'}"
    common = ["--work-dir", str(work)]
    rows: list[Row] = []

    def say(row: Row) -> None:
        rows.append(row)
        peak = "" if row.peak_mb is None else f"{row.peak_mb:8.0f} MB"
        print(f"  {row.step:<28} {row.seconds:8.1f} s  {peak}", flush=True)

    print(f"N = {n:,} enterprises (as of {as_of}) in {work}", flush=True)
    county = work / "county"
    _, wall, peak = credlink(work, "synth", "--enterprises", str(n), "--out", str(county), env=env)
    say(Row(n, "synth", wall, peak))

    baseline_store = work / "baseline.db"
    if args.database_url:
        base = in_fresh_process(baseline_postgresql, county, args.database_url)
    else:
        base = in_fresh_process(baseline_sqlite, county, f"sqlite:///{baseline_store}")
    baseline_store.unlink(missing_ok=True)
    _, wall, peak = credlink(work, "ingest", str(county), *common, env=env)
    say(Row(n, "ingest", wall, peak, rows=int(base["rows"]), baseline_s=base["seconds"]))

    reason = ["--force", "--actor", "bench", "--reason", "benchmark champion, any quality"]
    _, wall, peak = credlink(work, "warn", "train", "--as-of", as_of, *reason, *common, env=env)
    say(Row(n, "warn train (+ promote)", wall, peak))
    _, wall, peak = credlink(work, "train", "precredit", "--as-of", as_of, *common, env=env)
    for name in ("credlink-pd", "credlink-limit"):
        _, more, _ = credlink(work, "models", "promote", name, "1", *reason, *common, env=env)
        wall += more
    say(Row(n, "train precredit (+ promote)", wall, peak))

    output, wall, peak = credlink(
        work, "pipeline", "run", "--as-of", as_of, "--json", *common, env=env
    )
    report = json.loads(output[output.index("{") :])
    mlflow = f"sqlite:///{work / 'mlflow.db'}"
    bare = in_child(url, as_of, mlflow)
    say(Row(n, "pipeline run", wall, peak, rows=sum(report["score_set"]["counts"].values())))
    baselines = {
        "risk": bare["kernel_s"],
        "learned warning": bare["warning_predict_s"],
        "assessments": bare["pd_predict_s"],
    }
    for step in report["steps"]:
        say(
            Row(
                n,
                f"  … {step['name']}",
                step["seconds"],
                rows=step["rows"],
                baseline_s=baselines.get(step["name"]),
                note=step.get("skipped", ""),
            )
        )

    bank = json.loads(
        credlink(
            work,
            "keys",
            "create",
            "--role",
            "bank",
            "--institution",
            "bench",
            "--json",
            *common,
            env=env,
        )[0]
    )["token"]
    port = free_port()
    serve_env = env | {"CREDLINK_PORT": str(port), "CREDLINK_WORKERS": str(args.workers)}
    serve_env["CREDLINK_AS_OF"] = as_of
    base_url = f"http://127.0.0.1:{port}"
    with (work / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "serving.cli", "serve", *common],
            env=serve_env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = time.perf_counter()
    try:
        while not ready(base_url):
            if server.poll() is not None:
                raise SystemExit(f"credlink serve stopped: {(work / 'serve.log').read_text()}")
            time.sleep(0.1)
        ready_s = time.perf_counter() - started
        rss = worker_rss_mb(port)
        say(Row(n, f"serve ready ({args.workers} workers)", ready_s, max(rss, default=None)))
        from risk.store import open_engine, read_table

        engine = open_engine(url)
        frame = read_table(engine, "enterprises", columns=["uscc", "status"])
        engine.dispose()
        uscc = str(frame.loc[frame["status"] == "active", "uscc"].iloc[0])
        script = assessment_script(work, "bank", uscc, bank)
        runs = {
            "healthz": wrk(
                "GET /healthz",
                f"{base_url}/healthz",
                threads=2,
                connections=args.connections,
                duration=args.duration,
            ),
            "bank": wrk(
                "POST assessment (bank)",
                f"{base_url}/v1/precredit/assessments",
                threads=2,
                connections=args.connections,
                duration=args.duration,
                script=script,
            ),
        }
        rss_after = worker_rss_mb(port)
        for key, run in runs.items():
            rows.append(
                Row(
                    n,
                    f"wrk {run.label}",
                    run.p99_ms / 1e3,
                    note=f"{run.rate:,.0f} req/s, p50 {run.p50_ms:.1f} ms, "
                    f"p99 {run.p99_ms:.1f} ms, non-2xx {run.non_2xx}"
                    + (f"; worker RSS after {max(rss_after):,.0f} MB" if key == "bank" else ""),
                )
            )
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return rows


def print_table(rows: list[Row]) -> None:
    head = f"{'N':>9}  {'step':<30} {'seconds':>9} {'baseline s':>10} {'× base':>7} "
    head += f"{'peak MB':>8} {'rows':>11} {'rows/s':>10}  note"
    print("\n" + head)
    for r in rows:
        ratio = f"{r.seconds / r.baseline_s:7.1f}" if r.baseline_s else " " * 7
        base = f"{r.baseline_s:10.2f}" if r.baseline_s is not None else " " * 10
        peak = f"{r.peak_mb:8.0f}" if r.peak_mb is not None else " " * 8
        count = f"{r.rows:11,}" if r.rows is not None else " " * 11
        rate = f"{r.rows / r.seconds:10,.0f}" if r.rows and r.seconds > 0 else " " * 10
        print(
            f"{r.size:>9,}  {r.step:<30} {r.seconds:9.2f} {base} {ratio} {peak} {count} {rate}"
            f"  {r.note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, nargs="+", default=[100_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default SQLite)")
    parser.add_argument("--keep-work", type=Path, help="keep the work directories here")
    args = parser.parse_args()
    for tool in ("wrk", "/usr/bin/time"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} must be installed")
    rows: list[Row] = []
    for n in args.enterprises:
        if args.keep_work is not None:
            work = args.keep_work / f"n{n}"
            work.mkdir(parents=True, exist_ok=False)
            rows += bench_size(n, args, work)
        else:
            with tempfile.TemporaryDirectory(prefix=f"credlink-bench-pipeline-{n}-") as tmp:
                rows += bench_size(n, args, Path(tmp))
    print_table(rows)


if __name__ == "__main__":
    main()
