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
``live``        ``--live`` records posted one after the other to ``POST /v1/records`` (credit
                office key; a serious 行政处罚 on an enterprise with linked parties and a new
                shareholder role, in turn), each followed by ``GET /v1/entities/{uscc}/risk``
                of the enterprise every 20 ms, on new connections (so on any worker), until
                the answer comes from the delta (``X-Score-Set``): p50 / p99 of the POST (ingest,
                recompute, commit), of commit → changed answer, and of the whole
``assessment``  wrk, ``--connections`` connections for ``--duration`` s: ``POST
                /v1/precredit/assessments`` with a bank key (audit on), against ``GET /healthz``

    PYTHONPATH=. .venv/bin/python bench/pipeline.py --enterprises 100000 1000000
        [--workers 2] [--connections 32] [--duration 10] [--live 20] [--keep-work DIR]
        [--reuse DIR]

``--reuse DIR`` takes the work directories ``DIR/n<N>`` a run with ``--keep-work DIR`` left
(county ingested, models trained and promoted) and runs from the pipeline on.

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
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from ingest import baseline_postgresql, baseline_sqlite, in_fresh_process  # bench/ingest.py
from live import live_updates  # bench/live.py
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
    rows: list[Row] = []

    def say(row: Row) -> None:
        rows.append(row)
        peak = "" if row.peak_mb is None else f"{row.peak_mb:8.0f} MB"
        print(f"  {row.step:<28} {row.seconds:8.1f} s  {peak}", flush=True)

    print(f"N = {n:,} enterprises (as of {as_of}) in {work}", flush=True)
    if not args.reuse:
        setup(n, args, work, as_of, env, say)
    pipeline_and_serving(n, args, work, as_of, env, say)
    return rows


def setup(
    n: int, args: argparse.Namespace, work: Path, as_of: str, env: dict[str, str], say: Any
) -> None:
    """The county synthesised and ingested, both models trained and promoted."""
    common = ["--work-dir", str(work)]
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


def pipeline_and_serving(
    n: int, args: argparse.Namespace, work: Path, as_of: str, env: dict[str, str], say: Any
) -> None:
    """The pipeline run and its steps, then the server: ready time, RSS, live, wrk."""
    common = ["--work-dir", str(work)]
    url = args.database_url or f"sqlite:///{work / 'credlink.db'}"
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

    bank = new_key(work, "bank", env)
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
        updates = live_updates(engine, date.fromisoformat(as_of), args.live * 3 // 2, seed=n)
        engine.dispose()
        if args.live:
            office = new_key(work, "credit_office", env)
            posted = [(table, row) for what, table, row in updates if what != "dishonest person"]
            for label, values in live_over_http(base_url, office, posted[: args.live]).items():
                say(
                    Row(n, f"live {label}", float(np.percentile(values, 99)), note=_p50_p99(values))
                )
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
            say(
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


def new_key(work: Path, role: str, env: dict[str, str]) -> str:
    """A new API key of ``role`` (its token)."""
    created = credlink(
        work,
        "keys",
        "create",
        "--role",
        role,
        "--institution",
        "bench",
        "--json",
        "--work-dir",
        str(work),
        env=env,
    )[0]
    return str(json.loads(created)["token"])


def _p50_p99(values: list[float]) -> str:
    ms = np.asarray(values) * 1e3
    return f"p50 {np.percentile(ms, 50):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms, n {len(ms)}"


def live_over_http(
    base_url: str, token: str, posted: list[tuple[str, dict[str, Any]]]
) -> dict[str, list[float]]:
    """Post each row alone to ``/v1/records`` and wait until the enterprise's risk answer
    comes from the delta; the seconds of the POST, of commit → changed answer, and of both."""
    headers = {"X-API-Key": token, "Content-Type": "application/json"}
    out: dict[str, list[float]] = {"POST /v1/records": [], "commit → answer": [], "total": []}
    for table, row in posted:
        uscc = row["subject_id"] if table == "records" else row["uscc"]
        body = json.dumps({"table": table, "rows": [row]}).encode()
        started = time.perf_counter()
        request = urllib.request.Request(
            f"{base_url}/v1/records", data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        committed = time.perf_counter()
        if answer["status"] != "ok" or answer["inserted"] != 1:
            raise SystemExit(f"POST /v1/records did not store the row: {answer}")
        wanted = (int(answer["set_id"]), int(answer["seq"]))
        while True:
            get = urllib.request.Request(
                f"{base_url}/v1/entities/{uscc}/risk", headers={"X-API-Key": token}
            )
            with urllib.request.urlopen(get, timeout=60) as response:
                served = tuple(int(x) for x in response.headers["X-Score-Set"].split("."))
            if served >= wanted:
                break
            if time.perf_counter() - committed > 30:
                raise SystemExit(f"{uscc}: the answer still comes from {served} after 30 s")
            time.sleep(0.02)
        seen = time.perf_counter()
        out["POST /v1/records"].append(committed - started)
        out["commit → answer"].append(seen - committed)
        out["total"].append(seen - started)
    return out


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
    parser.add_argument("--live", type=int, default=20, help="records posted live (0: none)")
    parser.add_argument("--keep-work", type=Path, help="keep the work directories here")
    parser.add_argument(
        "--reuse", type=Path, help="run from the pipeline on in DIR/n<N> (a --keep-work DIR)"
    )
    args = parser.parse_args()
    for tool in ("wrk", "/usr/bin/time"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} must be installed")
    rows: list[Row] = []
    for n in args.enterprises:
        if args.reuse is not None:
            rows += bench_size(n, args, args.reuse / f"n{n}")
        elif args.keep_work is not None:
            work = args.keep_work / f"n{n}"
            work.mkdir(parents=True, exist_ok=False)
            rows += bench_size(n, args, work)
        else:
            with tempfile.TemporaryDirectory(prefix=f"credlink-bench-pipeline-{n}-") as tmp:
                rows += bench_size(n, args, Path(tmp))
    print_table(rows)


if __name__ == "__main__":
    main()
