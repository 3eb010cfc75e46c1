"""The pre-credit PD on the synthetic county: separation, calibration and grades.

For each seed, a default synthetic county (:func:`risk.synth.generate_county`, 20,000
enterprises, held in memory) trains the PD as the CLI does (:func:`models.training.
train_precredit`, no MLflow) as of the county's end. On the out-of-time test loans it prints

- the PD's AUC, KS and Brier score;
- the AUC of the planted ``hidden_risk`` (the latent risk that drives every outcome, never in
  the tables) on the same loans — the baseline of this run — and the PD's ratio to it
  (issue 15's target: ≥ 0.9);
- the calibration method chosen on held-out data and its sample;
- the gain share of the public-credit-record concepts (:data:`features.catalog.
  PUBLIC_CREDIT_CONCEPTS`) and of the graph concepts (:data:`features.catalog.GRAPH_CONCEPTS`);
- the fitted grades with their test loans, bads and observed bad rate;
- the training's seconds and peak RSS.

    PYTHONPATH=. .venv/bin/python bench/pd.py [--seeds 0 1] [--enterprises 20000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from measure import measure  # bench/measure.py

from features.data import PlatformData
from models.cards import gain_shares
from models.metrics import brier, ks_statistic, roc_auc
from models.training import train_precredit
from risk.synth import SynthConfig, generate_county


def run(seed: int, enterprises: int) -> tuple[dict[str, object], pd.DataFrame]:
    """One seed's figures and its test grade table."""
    config = SynthConfig(enterprises=enterprises, seed=seed)
    county = generate_county(config)
    data = PlatformData.from_source(county.tables)
    result, seconds, peak = measure(lambda: train_precredit(data, config.end, None))
    holdout = result.holdout
    y = holdout["label"].to_numpy(dtype=float)
    pd_test = holdout["pd"].to_numpy(dtype=float)
    hidden = county.hidden_risk.reindex(holdout["uscc"].astype(str)).to_numpy(dtype=float)
    auc, hidden_auc = roc_auc(y, pd_test), roc_auc(y, hidden)
    shares = gain_shares(result.tables["importance"])
    calibrator = result.pd_model.calibrator_
    row: dict[str, object] = {
        "seed": seed,
        "test loans": len(y),
        "test bads": int(y.sum()),
        "AUC": round(auc, 3),
        "KS": round(ks_statistic(y, pd_test), 3),
        "Brier": round(brier(y, pd_test), 4),
        "hidden_risk AUC": round(hidden_auc, 3),
        "ratio": round(auc / hidden_auc, 3),
        "calibration": f"{calibrator.method_} ({calibrator.n_bads_} bads)",
        "public-credit gain": f"{shares['public_credit']:.1%}",
        "graph gain": f"{shares['graph']:.1%}",
        "seconds": round(seconds, 1),
        "peak MB": round(peak),
    }
    grades = result.tables["grades"][["grade", "pd_low", "pd_high", "test_n", "test_bads"]]
    grades = grades.assign(
        seed=seed,
        test_bad_rate=(grades["test_bads"] / grades["test_n"].replace(0, np.nan)).round(3),
    )
    return row, grades


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--enterprises", type=int, default=20_000)
    args = parser.parse_args()
    rows, grade_tables = [], []
    for seed in args.seeds:
        row, grades = run(seed, args.enterprises)
        rows.append(row)
        grade_tables.append(grades)
        print(pd.DataFrame([row]).to_string(index=False), flush=True)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nPD on the out-of-time test loans (baseline: hidden_risk on the same loans)")
        print(pd.DataFrame(rows).to_string(index=False))
        print("\nFitted grades: test loans, bads and observed bad rate")
        print(pd.concat(grade_tables).to_string(index=False))


if __name__ == "__main__":
    main()
