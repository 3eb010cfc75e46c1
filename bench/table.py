"""A bank's own table: the old single LightGBM against the scorecard, default, tuned and chosen.

On synthetic loan tables (no date: a stratified 20 % test share), for several seeds:

- **old**: the path before issue 15 — one LightGBM with credlink's PD defaults (15 leaves,
  learning rate 0.02, 50 rows per leaf), early stopping and Platt calibration on a random
  validation slice (:func:`models.splits.fit_on_slices`); its PSI compares in-sample training
  scores with test scores, as it did;
- **scorecard**, **default**, **tuned**: each candidate of :func:`models.table.train_table`
  refitted on the development rows (LightGBM with its carried tree count) and scored on the
  test rows;
- **chosen**: the model :func:`~models.table.train_table` registers (selected by 5-fold CV
  AUC); its PSI compares out-of-fold scores with test scores.

Printed: test AUC mean ± std over the seeds (and the old path's training AUC, to show the
overfit), train time as a ratio of the old path's in the same run, PSI, peak RSS.

    PYTHONPATH=$PWD python bench/table.py --rows 1000 20000 --seeds 5 --trials 30
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
import pandas as pd
from measure import measure

from models.metrics import psi, roc_auc
from models.pd import PDConfig, PDModel
from models.scorecard import Scorecard
from models.splits import fit_on_slices
from models.table import TableConfig, train_table
from models.training import TrainConfig
from models.tuning import CrossFittedPD

os.environ.setdefault("OMP_NUM_THREADS", "1")


def loan_table(n: int, seed: int) -> pd.DataFrame:
    """A bank's loan table: skewed amounts, counts, a ratio, categories, missing values, a
    threshold effect and an interaction (what trees find and a WOE scorecard partly does)."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(3.0, 0.8, n)
    debt_ratio = rng.beta(2, 5, n)
    arrears = rng.poisson(0.4, n)
    tenure = rng.integers(0, 240, n)
    inquiries = rng.poisson(1.2, n)
    sector = rng.choice(["manufacturing", "retail", "services", "farming", "transport"], n)
    region = rng.choice([f"R{i:02d}" for i in range(12)], n)
    collateral = rng.choice(["none", "property", "guarantee"], n, p=[0.5, 0.3, 0.2])
    logit = (
        -3.0
        + 0.9 * arrears
        + 2.5 * (debt_ratio > 0.45)
        - 0.35 * np.log1p(income)
        - 0.004 * tenure
        + 0.25 * inquiries
        + np.where(sector == "farming", 0.6, 0.0)
        + np.where(collateral == "none", 0.5, 0.0)
        + 1.2 * (arrears > 0) * (debt_ratio > 0.35)
        + rng.normal(0, 0.5, n)
    )
    frame = pd.DataFrame(
        {
            "loan_no": np.arange(n),
            "income": income,
            "debt_ratio": debt_ratio,
            "arrears": arrears,
            "tenure_months": tenure,
            "inquiries": inquiries,
            "sector": sector,
            "region": region,
            "collateral": collateral,
        }
    )
    frame.loc[rng.random(n) < 0.08, "income"] = np.nan
    frame.loc[rng.random(n) < 0.05, "sector"] = None
    frame["bad"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def old_path(frame: pd.DataFrame, test: np.ndarray) -> dict[str, float]:
    """The pre-issue-15 fit on the same test rows: train / valid by a random split."""
    X = frame.drop(columns=["loan_no", "bad"])
    X = X.assign(**{c: X[c].astype(object) for c in ("sector", "region", "collateral")})
    y = frame["bad"].to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    labels = np.where(test, "test", np.where(rng.random(len(y)) < 0.15 / 0.8, "valid", "train"))
    model = PDModel(PDConfig(), categorical=["sector", "region", "collateral"])
    probability, metrics = fit_on_slices(model, X, y, labels.astype(object))
    return {
        "test_auc": metrics["test_auc"],
        "train_auc": metrics["train_auc"],
        "psi": psi(probability[labels == "train"], probability[test]),
    }


def candidates_on_test(frame: pd.DataFrame, result: Any, test: np.ndarray) -> dict[str, float]:
    """Each candidate refitted on the development rows, scored on the test rows."""
    features = [c for c in frame.columns if c not in ("loan_no", "bad")]
    X = frame[features].assign(
        **{c: frame[c].astype(object) for c in ("sector", "region", "collateral")}
    )
    y = frame["bad"].to_numpy(dtype=float)
    X_dev, y_dev, X_test, y_test = X[~test], y[~test], X[test], y[test]
    aucs = {"scorecard": roc_auc(y_test, Scorecard().fit(X_dev, y_dev).predict_pd(X_test))}
    for name in ("default LightGBM", "tuned LightGBM"):
        scores = result.fold_scores[name]
        model = CrossFittedPD(result.configs[name]).fit(
            X_dev, y_dev, n_trees=scores.n_trees, out_of_fold=(scores.raw, y_dev)
        )
        aucs[name] = roc_auc(y_test, model.predict_pd(X_test))
    return aucs


def run(rows: int, seed: int, trials: int) -> dict[str, Any]:
    frame = loan_table(rows, seed)
    config = TableConfig(train=TrainConfig(seed=seed), trials=trials)
    result, seconds, peak = measure(lambda: train_table(frame, "bad", "loan_no", config=config))
    test = frame["loan_no"].isin(result.holdout["loan_no"]).to_numpy()
    started = time.perf_counter()
    old = old_path(frame, test)
    old_seconds = time.perf_counter() - started
    refits = candidates_on_test(frame, result, test)
    return {
        "rows": rows,
        "seed": seed,
        "old": old["test_auc"],
        "old_train": old["train_auc"],
        "scorecard": refits["scorecard"],
        "default": refits["default LightGBM"],
        "tuned": refits["tuned LightGBM"],
        "chosen": result.metrics["test_auc"],
        "chosen_is": result.chosen,
        "cv_auc": result.metrics["evaluation_auc"],
        "time_ratio": seconds / old_seconds,
        "seconds": seconds,
        "psi_old": old["psi"],
        "psi_chosen": result.metrics["psi_score_oos_test"],
        "peak_mb": peak,
    }


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    def spread(values: pd.Series) -> str:
        return f"{values.mean():.3f}±{values.std(ddof=0):.3f}"

    rows = []
    for rows_n, group in frame.groupby("rows"):
        rows.append(
            {
                "rows": rows_n,
                "old (train)": f"{spread(group['old'])} ({group['old_train'].mean():.3f})",
                "scorecard": spread(group["scorecard"]),
                "default": spread(group["default"]),
                "tuned": spread(group["tuned"]),
                "chosen": spread(group["chosen"]),
                "chosen CV": spread(group["cv_auc"]),
                "choices": ", ".join(
                    f"{k} {v}" for k, v in group["chosen_is"].value_counts().items()
                ),
                "time × old": f"{group['time_ratio'].mean():.0f}",
                "new s": f"{group['seconds'].mean():.1f}",
                "PSI old/chosen": f"{group['psi_old'].mean():.3f}/{group['psi_chosen'].mean():.3f}",
                "peak MB": f"{group['peak_mb'].max():.0f}",
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    results = []
    for rows in args.rows:
        for seed in range(args.seeds):
            results.append(run(rows, seed, args.trials))
            print(pd.DataFrame(results[-1:]).round(3).to_string(index=False), flush=True)
    print()
    print("test AUC mean±std over seeds (20 % stratified test share; old = pre-issue-15 path)")
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(summary(pd.DataFrame(results)).to_string(index=False))


if __name__ == "__main__":
    main()
