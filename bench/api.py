"""HTTP throughput of the pre-credit assessment against ``/healthz``, with wrk.

Builds a synthetic county (3,000 enterprises, most companies borrowing), trains and promotes
the champions into its work directory (or reuses ``--work-dir`` if it already has them),
starts ``credlink serve`` (uvicorn, ``--workers`` processes) on 127.0.0.1 and drives, in the
same run and one after the other, ``GET /healthz`` and ``POST /v1/precredit/assessments``
(a bank key, a valid authorization, one eligible enterprise; every call writes and commits
its audit row before answering) with ``wrk`` for ``--duration`` seconds at ``--connections``
connections. Prints req/s and p99 of each and the ratio assessment / healthz.

    PYTHONPATH=. .venv/bin/python bench/api.py [--duration 10] [--connections 32]

Needs ``wrk`` on the PATH (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from features.data import PlatformData
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.tracking import tracking_uris
from models.training import train_precredit
from risk.store import read_table
from serving.keys import KeyRole, create_key
from tests.serving.conftest import ApiCounty, build_county, running_server

_LUA = """\
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "{token}"
"""


def _county(root: Path) -> ApiCounty:
    county = build_county(root, n_enterprises=3000, loan_rate=0.8)
    uri, artifacts = tracking_uris(root)
    result = train_precredit(
        PlatformData.from_store(county.engine), county.as_of, uri, artifact_location=artifacts
    )
    registry = ModelRegistry(uri)
    for name, run in ((PD_MODEL_NAME, result.pd_run), (LIMIT_MODEL_NAME, result.limit_run)):
        assert run is not None and run.version is not None
        registry.promote(name, run.version, force=True)
    return county


def _wrk(url: str, args: argparse.Namespace, script: Path | None = None) -> tuple[float, str]:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+(\S+)", output).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        print(f"  warning: {errors.group(1)} non-2xx responses from {url}", file=sys.stderr)
    return rate, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk must be installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="credlink-bench-api-") as tmp:
        root = Path(tmp)
        print("building the county and training the champions …", flush=True)
        county = _county(root)
        uscc = str(read_table(county.engine, "enterprises", columns=["uscc"])["uscc"].iloc[0])
        token = create_key(county.engine, KeyRole.bank, "bench bank").token
        body = {
            "uscc": uscc,
            "authorization": {
                "id": "SQ-BENCH-1",
                "purpose": "pre_credit",
                "granted_at": "2026-01-01",
                "expires_at": "2099-12-31",
            },
        }
        script = root / "assess.lua"
        script.write_text(_LUA.format(body=json.dumps(body), token=token))
        with running_server(county, root / "server.log", workers=args.workers) as base:
            health = _wrk(f"{base}/healthz", args)
            assess = _wrk(f"{base}/v1/precredit/assessments", args, script)
        county.engine.dispose()
    print(
        f"{args.workers} workers, {args.connections} connections, {args.duration} s each:\n"
        f"  GET  /healthz                    {health[0]:10.1f} req/s  p99 {health[1]}\n"
        f"  POST /v1/precredit/assessments   {assess[0]:10.1f} req/s  p99 {assess[1]}\n"
        f"  assessment / healthz             {assess[0] / health[0]:10.4f}"
    )


if __name__ == "__main__":
    main()
