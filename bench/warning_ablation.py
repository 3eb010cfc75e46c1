"""Learned repeat-violator warning against the rules, with the self-only ablation.

On a synthetic county (:func:`risk.synth.generate_county`, default ``SynthConfig()``: 20,000
enterprises, four years to 2026-06-30), read as :class:`features.data.PlatformData` (which
derives the missing 公示截止期 with :func:`risk.publicity.resolve_publicity`, as ingest does;
the store is skipped), :func:`models.warning_training.train_warning` trains on quarterly cutoffs and
tests on the held-out year (cutoff 2025-06-30, labels to 2026-06-30). It prints, for that
year:

(a) LightGBM on the self features (own records and profile);
(b) LightGBM on self + graph features (the registered model, i.e. (d));
(c) the rules of :mod:`risk.rules` on the test cutoff: enterprises flagged by any rule,
    ranked by most urgent level, then number of rules, then records cited;

with AUC, precision@k and recall@k (k = 50, 100, 200; blank for the rules beyond their
flagged set) and the precision and recall at the rules' workload (the whole flagged set for
the rules, the top-|flagged| for the models). No MLflow.

    PYTHONPATH=. .venv/bin/python bench/warning_ablation.py [--enterprises 20000] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from features.data import PlatformData
from models.report import markdown_table
from models.warning_training import train_warning
from risk.config import RiskConfig
from risk.synth import SynthConfig, generate_county

COLUMNS = {
    "method": "method",
    "features": "features",
    "auc": "AUC",
    "precision_at_50": "P@50",
    "precision_at_100": "P@100",
    "precision_at_200": "P@200",
    "recall_at_100": "R@100",
    "flagged": "workload",
    "precision_flagged": "P@workload",
    "recall_flagged": "R@workload",
}


def run(enterprises: int, seed: int) -> tuple[pd.DataFrame, dict[str, float], str]:
    """Ablation table, timings and a one-line header for one county."""
    started = time.perf_counter()
    config = SynthConfig(enterprises=enterprises, seed=seed)
    county = generate_county(config)
    data = PlatformData.from_frames(county.tables)
    generated = time.perf_counter() - started
    result = train_warning(data, config.end, risk_config=RiskConfig())
    timings = {"county": generated, **result.timings}
    m = result.metrics
    header = (
        f"county {enterprises:,} enterprises, seed {seed}, end {config.end}: test cutoff "
        f"{result.split.test.date()}, {m['test_n']:,.0f} enterprises, {m['test_positives']:,.0f} "
        f"with a new violation (base rate {m['test_base_rate']:.1%}); training cutoffs "
        + ", ".join(str(c.date()) for c in result.split.train)
        + f" ({m['train_n'] + m['valid_n']:,.0f} rows, {m['valid_n']:,.0f} held out for early "
        f"stopping); best iteration {m['best_iteration']:.0f}"
    )
    table = result.ablation.assign(seed=seed)
    return table, timings, header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print("$ PYTHONPATH=. .venv/bin/python bench/warning_ablation.py " + " ".join(sys.argv[1:]))
    tables = []
    for seed in args.seeds:
        table, timings, header = run(args.enterprises, seed)
        print()
        print(header)
        print()
        print(markdown_table(table[list(COLUMNS)].rename(columns=COLUMNS)))
        print()
        print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
        tables.append(table)
    if len(tables) > 1:
        both = pd.concat(tables, ignore_index=True)
        numeric = [c for c in COLUMNS if c not in ("method", "features")]
        summary = both.groupby(["method", "features"], sort=False)[numeric].agg(["mean", "std"])
        summary.columns = [f"{COLUMNS[c]} {stat}" for c, stat in summary.columns]
        print()
        print(f"mean and standard deviation over seeds {', '.join(map(str, args.seeds))}:")
        print()
        print(markdown_table(summary.reset_index()))


if __name__ == "__main__":
    main()
