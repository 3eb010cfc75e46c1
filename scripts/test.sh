#!/usr/bin/env bash
# The README's test command: install credlink with its dev tools, start PostgreSQL, then run
# ruff (lint + format check), mypy and the whole pytest suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
bash scripts/browser.sh >/dev/null || echo "Chromium unavailable: the browser test will be skipped (it fails on CI)" >&2

if pg=$(bash scripts/postgres.sh); then
  eval "$pg"
elif [ "${CI:-}" = true ]; then
  echo "CI needs PostgreSQL for the store tests and could not start it" >&2
  exit 1
else
  echo "PostgreSQL unavailable: the postgres tests will be skipped" >&2
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -n 2 --dist loadfile --durations=15 "$@"
