"""Command-line start-up: ``credlink … --help`` for every command, against bare Python.

Prints one table: the median wall time (over ``--repeat`` runs, each a fresh interpreter) of
``python -m serving.cli <command> --help`` for the root and every sub-command, next to the
baselines ``python -c pass`` and ``python -c "import typer"`` in the same run, and what the
command costs above bare Python. The target is under 1 s for each (issue 12); the unit tests
check the cause instead of the clock (``tests/serving/cli/test_imports.py``: importing the
command line loads no pandas, SQLAlchemy, MLflow, LightGBM, FastAPI or uvicorn).

    .venv/bin/python bench/cli.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (
    (),
    ("synth",),
    ("ingest",),
    ("demo",),
    ("serve",),
    ("db", "upgrade"),
    ("quarantine", "list"),
    ("graph", "build"),
    ("graph", "explain"),
    ("graph", "import-bods"),
    ("warn", "run"),
    ("warn", "list"),
    ("warn", "train"),
    ("train", "precredit"),
    ("models", "promote"),
    ("keys", "create"),
    ("audit", "verify"),
)


def seconds(argv: list[str], repeat: int) -> float:
    """Median wall time of running ``argv`` ``repeat`` times (output discarded)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    python = sys.executable
    bare = seconds([python, "-c", "pass"], args.repeat)
    typer = seconds([python, "-c", "import typer"], args.repeat)
    rows = [("python -c pass", bare), ("python -c 'import typer'", typer)]
    for command in COMMANDS:
        argv = [python, "-m", "serving.cli", *command, "--help"]
        rows.append((" ".join(["credlink", *command, "--help"]), seconds(argv, args.repeat)))

    width = max(len(name) for name, _ in rows)
    print(f"{'command':<{width}}  {'median s':>8}  {'over bare s':>11}  {'< 1 s':>5}")
    for name, took in rows:
        verdict = "yes" if took < 1.0 else "NO"
        print(f"{name:<{width}}  {took:8.3f}  {took - bare:11.3f}  {verdict:>5}")


if __name__ == "__main__":
    main()
