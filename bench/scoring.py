"""Batch pre-credit scoring and training: credlink's pipeline against bare LightGBM.

For each size N (enterprises of a synthetic county, :func:`risk.synth.generate_county`; the
store is skipped):

Scoring, every enterprise active on the county's end date (the 信易贷白名单 batch):
``features`` (:func:`features.precredit.build_features`, linked risk on one month-start
cutoff), ``eligibility`` (:func:`features.eligibility.assess_eligibility`), then
:meth:`models.scoring.PrecreditScorer.score_features` — PD and grade, limit, and reasons —
with ``reasons="none"``, ``"codes"`` (exact contributions grouped into at most 4 + 4 concept
codes) and ``"text"`` (plus the Chinese and English texts). The baseline, in the same run, is
a bare ``Booster.predict`` of the same booster on the same, already encoded feature matrix
(``× raw`` = seconds / its seconds). The whole pipeline is features → … → reasons (text).

Training, on N rows: a training matrix resampled from the scored features, with outcomes drawn
from the scoring model's PDs, cut 70 / 15 / 15 into train / validation / calibration.
:meth:`models.pd.PDModel.fit` (encoding, monotone constraints, early stopping, calibration,
grade table, PSI reference) against ``lightgbm.train`` with the same parameters, matrix and
early stopping.

The PD and limit models are trained once, on the loans of the smallest county
(:func:`models.training.train_precredit`, no MLflow), and score every size. LightGBM runs on
``--threads`` threads in both arms. Each step's peak RSS is the kernel's high-water mark
since the mark was reset just before the step (``/proc/self/clear_refs``): it includes the
county held in memory.

    PYTHONPATH=. .venv/bin/python bench/scoring.py [--sizes 100000 1000000] [--threads 1]
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from dataclasses import replace
from functools import partial
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from measure import measure  # bench/measure.py

from features.data import PlatformData
from features.precredit import applications_on
from models.limit import LimitModel
from models.pd import PDConfig, PDModel
from models.scoring import PrecreditScorer
from models.training import TrainConfig, train_precredit
from risk.config import RiskConfig
from risk.synth import SynthConfig, generate_county

AS_OF = "2026-06-30"


def county(size: int, seed: int) -> tuple[PlatformData, float]:
    started = time.perf_counter()
    tables = generate_county(SynthConfig(enterprises=size, seed=seed)).tables
    data = PlatformData.from_frames(tables)
    return data, time.perf_counter() - started


def training_matrix(
    X: pd.DataFrame, probability: np.ndarray, rows: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """``rows`` rows resampled from ``X`` with outcomes drawn from their PDs."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(X), rows)
    y = (rng.random(rows) < np.clip(probability[pick] * 1.5, 0, 1)).astype(float)
    return X.iloc[pick].reset_index(drop=True), y


def bench_training(
    X: pd.DataFrame, y: np.ndarray, model: PDModel, config: PDConfig
) -> list[dict[str, Any]]:
    n = len(X)
    a, b = int(0.7 * n), int(0.85 * n)
    parts = {"train": slice(0, a), "valid": slice(a, b), "calibration": slice(b, n)}
    frames = {k: X.iloc[s] for k, s in parts.items()}
    labels = {k: y[s] for k, s in parts.items()}
    ours = PDModel(config, monotone=model.monotone_, categorical=model.categorical_)
    fitted, seconds, peak = measure(
        lambda: ours.fit(
            frames["train"],
            labels["train"],
            eval_set=(frames["valid"], labels["valid"]),
            calibration_set=(frames["calibration"], labels["calibration"]),
        )
    )
    # The raw arm gets the matrices ready-made (encoded with the fitted vocabulary).
    matrices = {k: fitted.matrix(f) for k, f in frames.items()}
    features = fitted.feature_names_
    params = config.lightgbm_params([fitted.monotone_.get(f, 0) for f in features])
    categorical = [features.index(c) for c in fitted.categorical_]

    def raw_train() -> lgb.Booster:
        train = lgb.Dataset(
            matrices["train"],
            labels["train"],
            feature_name=features,
            categorical_feature=categorical,
        )
        valid = lgb.Dataset(matrices["valid"], labels["valid"], reference=train)
        return lgb.train(
            params,
            train,
            num_boost_round=config.max_rounds,
            valid_sets=[valid],
            callbacks=[
                lgb.early_stopping(
                    config.early_stopping_rounds, first_metric_only=True, verbose=False
                )
            ],
        )

    booster, raw_seconds, raw_peak = measure(raw_train)
    return [
        {
            "step": f"train: PDModel.fit ({fitted.best_iteration_} trees)",
            "rows": a,
            "seconds": seconds,
            "ratio": seconds / raw_seconds,
            "peak_mb": peak,
        },
        {
            "step": f"train: raw lightgbm.train ({booster.best_iteration} trees)",
            "rows": a,
            "seconds": raw_seconds,
            "ratio": 1.0,
            "peak_mb": raw_peak,
        },
    ]


def bench_size(
    size: int, seed: int, scorer: PrecreditScorer, data: PlatformData | None
) -> tuple[list[dict[str, Any]], float]:
    if data is None:
        data, synth_seconds = county(size, seed)
    else:
        synth_seconds = float("nan")
    apps = applications_on(data, AS_OF)
    n = len(apps)
    rows: list[dict[str, Any]] = []
    X, features_s, features_peak = measure(lambda: scorer.features(data, apps))
    eligibility, eligibility_s, eligibility_peak = measure(lambda: scorer.eligibility(data, apps))
    model = scorer.pd_model
    matrix = model.matrix(X)
    threads = model.config_.num_threads
    _, raw_s, raw_peak = measure(
        lambda: model.booster_.predict(matrix, raw_score=True, num_threads=threads)
    )
    results = {
        mode: measure(partial(scorer.score_features, X, eligibility, reasons=mode))
        for mode in ("none", "codes", "text")
    }
    _, contrib_s, contrib_peak = measure(
        lambda: model.booster_.predict(matrix, pred_contrib=True, num_threads=threads)
    )
    scored = results["text"][0]
    rows += [
        {"step": "features", "rows": n, "seconds": features_s, "peak_mb": features_peak},
        {"step": "eligibility", "rows": n, "seconds": eligibility_s, "peak_mb": eligibility_peak},
        {
            "step": "PD + grade + limit",
            "rows": n,
            "seconds": results["none"][1],
            "peak_mb": results["none"][2],
        },
        {
            "step": "… + reasons (codes)",
            "rows": n,
            "seconds": results["codes"][1],
            "peak_mb": results["codes"][2],
        },
        {
            "step": "… + reasons (zh/en text)",
            "rows": n,
            "seconds": results["text"][1],
            "peak_mb": results["text"][2],
        },
        {
            "step": "whole pipeline (features → text reasons)",
            "rows": n,
            "seconds": features_s + eligibility_s + results["text"][1],
            "peak_mb": max(features_peak, eligibility_peak, results["text"][2]),
        },
        {
            "step": "raw Booster.predict (same matrix)",
            "rows": n,
            "seconds": raw_s,
            "peak_mb": raw_peak,
        },
        {
            "step": "raw Booster.predict(pred_contrib)",
            "rows": n,
            "seconds": contrib_s,
            "peak_mb": contrib_peak,
        },
    ]
    for row in rows:
        row["ratio"] = row["seconds"] / raw_s
    whitelisted = int(scored["whitelisted"].sum())
    print(
        f"# {size:,} enterprises: {n:,} active scored, {whitelisted:,} whitelisted, "
        f"{int((~scored['eligible']).sum()):,} declined by policy; county built in "
        f"{synth_seconds:.0f} s",
        flush=True,
    )
    X_train, y_train = training_matrix(X, scored["pd"].to_numpy(), n, seed)
    del scored, results
    rows += bench_training(X_train, y_train, model, replace(model.config_))
    return [{"size": size, **row} for row in rows], synth_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (both arms).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    first, _ = county(sizes[0], args.seed)
    config = TrainConfig(pd=PDConfig(num_threads=args.threads))
    risk_config = RiskConfig()
    started = time.perf_counter()
    trained = train_precredit(first, AS_OF, None, config=config, risk_config=risk_config)
    loans = int(trained.metrics["sample_sample"])
    print(
        f"# models trained on the {sizes[0]:,}-enterprise county's {loans:,} loans in "
        f"{time.perf_counter() - started:.1f} s (test AUC {trained.metrics['test_auc']:.3f}); "
        f"{os.cpu_count()} CPUs, LightGBM threads {args.threads}",
        flush=True,
    )
    assert isinstance(trained.limit_model, LimitModel)
    scorer = PrecreditScorer(trained.pd_model, trained.limit_model, risk_config=risk_config)
    rows: list[dict[str, Any]] = []
    for size in sizes:
        found, _ = bench_size(size, args.seed, scorer, first if size == sizes[0] else None)
        rows += found
        first = None  # type: ignore[assignment]
        gc.collect()
    table = pd.DataFrame(rows)
    table["rows/s"] = table["rows"] / table["seconds"]
    shown = table[["size", "step", "rows", "seconds", "rows/s", "ratio", "peak_mb"]].rename(
        columns={"ratio": "× raw", "peak_mb": "peak RSS MB"}
    )
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(
            shown.to_string(
                index=False,
                formatters={
                    "size": "{:,}".format,
                    "rows": "{:,}".format,
                    "seconds": "{:.2f}".format,
                    "rows/s": "{:,.0f}".format,
                    "× raw": "{:.1f}".format,
                    "peak RSS MB": "{:,.0f}".format,
                },
            )
        )


if __name__ == "__main__":
    main()
