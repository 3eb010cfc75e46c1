"""Training at scale: ``warn train`` and ``train precredit`` against bare LightGBM.

For each size N (enterprises of a synthetic county, :func:`risk.synth.generate_county`; the
store is skipped, the county is held in memory as :class:`features.data.PlatformData`):

Learned warning (:func:`models.warning_training.train_warning`, logging to a fresh MLflow
store in a temporary directory, as the CLI does)
    ``warn: train_warning`` end to end with its own step times (``features``: population,
    labels, the negative sample and the features; ``fit``: both boosters, the ablation's
    included; ``rules``: the county rules on the test cutoff; ``log``: MLflow), then, in the
    same command, the baseline ``warn: bare lightgbm.train``: one ``lightgbm.train`` with the
    registered model's parameters and early stopping on the same rows (the training sample
    rebuilt with the public functions: :func:`features.warning.warning_population`,
    :func:`features.warning.warning_labels`,
    :func:`models.warning_training.sample_negatives`,
    :func:`features.warning.build_warning_features`, 80 / 20 by enterprise), its matrix
    ready-made.
Pre-credit PD (:func:`models.training.train_precredit`, PD and limit, logged to MLflow)
    ``pd: train_precredit`` with its step times, then ``pd: bare lightgbm.train`` on the
    same loans' feature matrix (:func:`models.training.precredit_sample`,
    :func:`features.precredit.build_features`), cut by application date like the PD
    (:func:`models.splits.time_split`), the categorical columns as integer codes.

``× bare`` is a step's seconds over the bare ``lightgbm.train`` of its model. Peak RSS is the
kernel's high-water mark since it was reset just before the step (``/proc/self/clear_refs``);
it includes the county held in memory. LightGBM runs with the models' ``num_threads``.

    PYTHONPATH=. .venv/bin/python bench/training.py [--sizes 100000 1000000] [--seed 0]
        [--max-negatives 600000]
"""

from __future__ import annotations

import argparse
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from measure import measure  # bench/measure.py

from features.data import PlatformData
from features.precredit import build_features, feature_specs
from features.warning import (
    build_warning_features,
    warning_feature_specs,
    warning_labels,
    warning_population,
)
from models.pd import PDModel
from models.sampling import sample_negatives
from models.splits import time_split
from models.tracking import tracking_uris
from models.training import TrainConfig, precredit_sample, train_precredit
from models.warning import WarningModel
from models.warning_training import WarningTrainConfig, train_warning
from risk.config import RiskConfig
from risk.synth import SynthConfig, generate_county

AS_OF = "2026-06-30"


def bare_train(
    params: dict[str, Any],
    train: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    valid: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    categorical: list[int],
    rounds: int,
    patience: int,
) -> lgb.Booster:
    """``lightgbm.train`` with early stopping on ``valid`` (matrix, labels, weights)."""
    matrix, labels, weights = train
    data = lgb.Dataset(matrix, labels, weight=weights, categorical_feature=categorical)
    check = lgb.Dataset(valid[0], valid[1], weight=valid[2], reference=data)
    return lgb.train(
        params,
        data,
        num_boost_round=rounds,
        valid_sets=[check],
        callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)],
    )


def bench_warning(
    data: PlatformData, config: WarningTrainConfig, uri: tuple[str, str]
) -> list[dict[str, Any]]:
    risk_config = RiskConfig()
    result, seconds, peak = measure(
        lambda: train_warning(data, AS_OF, uri[0], artifact_location=uri[1], config=config)
    )
    split = result.split

    def training_sample() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        everyone = warning_population(data, list(split.train))
        y = warning_labels(data, everyone, kinds=config.label_kinds)
        sample = sample_negatives(
            y, everyone["as_of"].to_numpy(), np.ones(len(y), bool), config.max_negatives, 0
        )
        rows = everyone[sample.keep].reset_index(drop=True)
        X = build_warning_features(data, rows, config.features, propagation=risk_config.propagation)
        return X, y[sample.keep], sample.weight[sample.keep], rows["uscc"].to_numpy()

    (X, y, w, uscc), features_s, features_peak = measure(training_sample)
    model: WarningModel = result.model
    matrix = model.matrix(X)
    ids = np.unique(uscc)
    held = np.isin(uscc, np.random.default_rng(0).choice(ids, len(ids) // 5, replace=False))
    weighted = result.metrics["sample_negative_fraction"] < 1
    specs = warning_feature_specs(config.features)
    params = model.config_.lightgbm_params([model.monotone_.get(f, 0) for f in specs.names])
    booster, raw_s, raw_peak = measure(
        lambda: bare_train(
            params,
            (matrix[~held], y[~held], w[~held] if weighted else None),
            (matrix[held], y[held], w[held] if weighted else None),
            [specs.names.index(c) for c in specs.categorical],
            model.config_.max_rounds,
            model.config_.early_stopping_rounds,
        )
    )
    rows = int(result.metrics["train_n"])
    timing = result.timings
    out = [
        {
            "step": f"warn: train_warning ({model.best_iteration_} trees, "
            f"f={result.metrics['sample_negative_fraction']:.2f})",
            "rows": rows,
            "seconds": seconds,
            "ratio": seconds / raw_s,
            "peak_mb": peak,
        }
    ]
    out += [
        {
            "step": f"  … {name}",
            "rows": rows,
            "seconds": timing[name],
            "ratio": timing[name] / raw_s,
        }
        for name in ("features", "fit", "rules", "log")
        if name in timing
    ]
    out += [
        {
            "step": "warn: features of the training sample (bench)",
            "rows": len(X),
            "seconds": features_s,
            "ratio": features_s / raw_s,
            "peak_mb": features_peak,
        },
        {
            "step": f"warn: bare lightgbm.train ({booster.best_iteration} trees)",
            "rows": int((~held).sum()),
            "seconds": raw_s,
            "ratio": 1.0,
            "peak_mb": raw_peak,
        },
    ]
    return out


def bench_precredit(data: PlatformData, uri: tuple[str, str]) -> list[dict[str, Any]]:
    config = TrainConfig()
    risk_config = RiskConfig()
    result, seconds, peak = measure(
        lambda: train_precredit(data, AS_OF, uri[0], artifact_location=uri[1], config=config)
    )

    def features() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        loans, _ = precredit_sample(data, AS_OF, config)
        apps = pd.DataFrame(
            {"uscc": loans["uscc"].to_numpy(), "as_of": loans["applied"].to_numpy()}
        )
        X = build_features(data, apps, config.features, propagation=risk_config.propagation)
        labels = time_split(
            loans["applied"],
            config.valid_fraction,
            config.calibration_fraction,
            config.test_fraction,
        )
        return X, loans["label"].to_numpy(dtype=np.float64), labels

    (X, y, labels), features_s, features_peak = measure(features)
    model: PDModel = result.pd_model
    matrix = model.matrix(X)
    specs = feature_specs(config.features)
    names = model.feature_names_
    params = model.config_.lightgbm_params([model.monotone_.get(f, 0) for f in names])
    train, valid = labels == "train", labels == "valid"
    booster, raw_s, raw_peak = measure(
        lambda: bare_train(
            params,
            (matrix[train], y[train], None),
            (matrix[valid], y[valid], None),
            [names.index(c) for c in specs.categorical if c in names],
            model.config_.max_rounds,
            model.config_.early_stopping_rounds,
        )
    )
    rows = int(train.sum())
    timing = result.timings
    out = [
        {
            "step": f"pd: train_precredit ({model.best_iteration_} trees)",
            "rows": rows,
            "seconds": seconds,
            "ratio": seconds / raw_s,
            "peak_mb": peak,
        }
    ]
    out += [
        {
            "step": f"  … {name}",
            "rows": rows,
            "seconds": timing[name],
            "ratio": timing[name] / raw_s,
        }
        for name in ("sample", "features", "fit", "evaluate", "log")
        if name in timing
    ]
    out += [
        {
            "step": "pd: features of the loans (bench)",
            "rows": len(X),
            "seconds": features_s,
            "ratio": features_s / raw_s,
            "peak_mb": features_peak,
        },
        {
            "step": f"pd: bare lightgbm.train ({booster.best_iteration} trees)",
            "rows": rows,
            "seconds": raw_s,
            "ratio": 1.0,
            "peak_mb": raw_peak,
        },
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-negatives",
        type=int,
        default=WarningTrainConfig().max_negatives,
        help="the warning's negative budget (0: keep every row)",
    )
    parser.add_argument("--models", nargs="+", default=["warning", "pd"])
    args = parser.parse_args()
    config = WarningTrainConfig(max_negatives=args.max_negatives or None)
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        tables, synth_s, synth_peak = measure(
            partial(generate_county, SynthConfig(enterprises=size, seed=args.seed))
        )
        tables = tables.tables
        data = PlatformData.from_frames(tables)
        del tables
        rows.append(
            {
                "size": size,
                "step": "synth county",
                "rows": size,
                "seconds": synth_s,
                "peak_mb": synth_peak,
            }
        )
        with tempfile.TemporaryDirectory() as work:
            uri = tracking_uris(Path(work))
            if "warning" in args.models:
                rows += [{"size": size, **r} for r in bench_warning(data, config, uri)]
                print(pd.DataFrame(rows).to_string(index=False), flush=True)
            if "pd" in args.models:
                rows += [{"size": size, **r} for r in bench_precredit(data, uri)]
        del data
    frame = pd.DataFrame(rows)
    print()
    print(
        frame.to_string(
            index=False,
            formatters={
                "rows": "{:,.0f}".format,
                "seconds": "{:.1f}".format,
                "ratio": "{:.1f}".format,
                "peak_mb": "{:,.0f}".format,
            },
            na_rep="",
        )
    )


if __name__ == "__main__":
    main()
