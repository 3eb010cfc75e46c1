#!/usr/bin/env bash
# The README's main command: install credlink into .venv, make sure the pages' Chinese font is
# there (scripts/fonts.sh), then run `credlink demo` (extra arguments are passed on, e.g.
# `bash scripts/demo.sh --enterprises 5000 --no-serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q -e .
bash scripts/fonts.sh
exec .venv/bin/credlink demo "$@"
