"""wrk, driven from Python: one endpoint for a while, its rate and latency percentiles.

Shared by ``bench/api.py`` and ``bench/pipeline.py``; needs ``wrk`` on the PATH.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

_LUA = """\
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "{token}"
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class Run:
    """What wrk measured for one endpoint."""

    label: str
    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int


def ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"wrk latency must look like 1.23ms; got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    label: str,
    url: str,
    *,
    threads: int,
    connections: int,
    duration: int,
    script: Path | None = None,
) -> Run:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s"]
    command += ["--latency", *(["-s", str(script)] if script else []), url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def find(pattern: str) -> str:
        match = re.search(pattern, output)
        if match is None:
            raise RuntimeError(f"wrk output must contain {pattern!r}; got:\n{output}")
        return match.group(1)

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Run(
        label=label,
        rate=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=ms(find(r"\s50%\s+(\S+)")),
        p99_ms=ms(find(r"\s99%\s+(\S+)")),
        requests=int(find(r"(\d+) requests in")),
        non_2xx=int(errors.group(1)) if errors else 0,
    )


def workers_peak_rss_mb(port: int) -> float:
    """Summed peak RSS (VmHWM) of the server's processes, found by their CREDLINK_PORT."""
    marker = f"CREDLINK_PORT={port}".encode()
    total_kb = 0
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or marker not in (proc / "environ").read_bytes().split(
                b"\0"
            ):
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        cmdline = (proc / "cmdline").read_bytes()
        if match and b"multiprocessing" in cmdline:  # the workers, not the supervisor
            total_kb += int(match.group(1))
    return total_kb / 1024


def assessment_script(root: Path, name: str, uscc: str, token: str) -> Path:
    """A wrk script posting one bank assessment of ``uscc`` with a valid authorization."""
    body = {
        "uscc": uscc,
        "authorization": {
            "id": "SQ-BENCH-1",
            "purpose": "pre_credit",
            "granted_at": "2026-01-01",
            "expires_at": (date.today() + timedelta(days=180)).isoformat(),
        },
    }
    path = root / f"{name}.lua"
    path.write_text(_LUA.format(body=json.dumps(body), token=token))
    return path
