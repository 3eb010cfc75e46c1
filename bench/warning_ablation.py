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
(e) the planted-truth ceiling: the same LightGBM, same cutoffs, same held-out enterprises,
    given the self + graph features *and* the county's planted ``hidden_risk`` (the latent z
    every record of the synthetic county is drawn from, :attr:`risk.synth.County.hidden_risk`;
    no real platform has it). The gap between (b) and (e) is what better features could still
    gain; the gap between (a) and (b) what the graph gains.

Every feature is built as of its cutoff (nothing decided after it: the out-of-time design of
:mod:`models.warning_training`), and the graph features include the repeat-offender
neighbourhood (``rep_enterprises``, ``rep_negative_rate``, :mod:`features.graph`): the
synthetic county plants risk on a founder's whole portfolio, which the neighbours' repeated
records reveal before the enterprise has a record of its own.

with AUC, precision@k and recall@k (k = 50, 100, 200; blank for the rules beyond their
flagged set) and the precision and recall at the rules' workload (the whole flagged set for
the rules, the top-|flagged| for the models). No MLflow.

    PYTHONPATH=. .venv/bin/python bench/warning_ablation.py [--enterprises 20000] [--seeds 0 1 2]

With several seeds it ends with the mean and standard deviation of each column over the
counties, and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from features.data import PlatformData
from features.warning import (
    build_warning_features,
    warning_feature_specs,
    warning_labels,
    warning_population,
)
from models.metrics import precision_at_k, ranking_metrics, recall_at_k
from models.report import markdown_table
from models.warning import WarningModel
from models.warning_training import (
    WarningResult,
    WarningTrainConfig,
    _held_out_enterprises,
    train_warning,
)
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


def ceiling_row(
    data: PlatformData,
    hidden_risk: pd.Series,
    result: WarningResult,
    config: WarningTrainConfig,
    risk: RiskConfig,
) -> dict[str, object]:
    """(e): the registered model's features plus the planted ``hidden_risk``, trained on the
    same cutoffs and held-out enterprises as :func:`train_warning` (no negatives sampled: the
    bench's counties stay under ``max_negatives``)."""
    split = result.split
    population = warning_population(data, [*split.train, split.test])
    y = warning_labels(
        data, population, kinds=config.label_kinds, horizon_months=config.horizon_months
    )
    X = build_warning_features(data, population, config.features, propagation=risk.propagation)
    X["hidden_risk"] = hidden_risk.reindex(population["uscc"].astype(str)).to_numpy()
    test = (population["as_of"] == split.test).to_numpy()
    held = _held_out_enterprises(
        population["uscc"].to_numpy()[~test], config.valid_fraction, config.sample_seed
    )
    specs = warning_feature_specs(config.features)
    X_fit, y_fit = X[~test], y[~test]
    model = WarningModel(
        config.model,
        categorical=specs.categorical,
        monotone={**specs.monotone, "hidden_risk": 1},
    ).fit(X_fit[~held], y_fit[~held], eval_set=(X_fit[held], y_fit[held]))
    y_test = y[test]
    p = model.predict_violation(X[test])
    flagged = int(result.metrics["rules_flagged"])
    ks = config.top_k
    m = ranking_metrics(y_test, p, ks)
    row: dict[str, object] = {"method": "LightGBM (ceiling)", "features": "self + graph + planted"}
    kept = ("auc", "precision_", "recall_")
    row.update({k: v for k, v in m.items() if k.startswith(kept)})
    row["flagged"] = float(flagged)
    row["precision_flagged"] = precision_at_k(y_test, p, flagged) if flagged else np.nan
    row["recall_flagged"] = recall_at_k(y_test, p, flagged) if flagged else np.nan
    return row


def run(enterprises: int, seed: int) -> tuple[pd.DataFrame, dict[str, float], str]:
    """Ablation table, timings and a one-line header for one county."""
    started = time.perf_counter()
    config = SynthConfig(enterprises=enterprises, seed=seed)
    county = generate_county(config)
    data = PlatformData.from_frames(county.tables)
    generated = time.perf_counter() - started
    risk = RiskConfig()
    train_config = WarningTrainConfig()
    result = train_warning(data, config.end, config=train_config, risk_config=risk)
    clock = time.perf_counter()
    ceiling = ceiling_row(data, county.hidden_risk, result, train_config, risk)
    timings = {"county": generated, **result.timings, "ceiling": time.perf_counter() - clock}
    m = result.metrics
    header = (
        f"county {enterprises:,} enterprises, seed {seed}, end {config.end}: test cutoff "
        f"{result.split.test.date()}, {m['test_n']:,.0f} enterprises, {m['test_positives']:,.0f} "
        f"with a new violation (base rate {m['test_base_rate']:.1%}); training cutoffs "
        + ", ".join(str(c.date()) for c in result.split.train)
        + f" ({m['train_n'] + m['valid_n']:,.0f} rows, {m['valid_n']:,.0f} held out for early "
        f"stopping); best iteration {m['best_iteration']:.0f}"
    )
    table = pd.concat([result.ablation, pd.DataFrame([ceiling])], ignore_index=True)
    return table.assign(seed=seed), timings, header


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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"peak memory (max RSS): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
