"""Training the learned repeat-violator warning, out of time, against the county rules.

:func:`train_warning` trains :class:`models.warning.WarningModel` (P(new violation within 12
months), DESIGN.md §4) on the point-in-time features of :mod:`features.warning`:

Out-of-time design
------------------
The cutoffs are :func:`models.splits.warning_split`'s: the test cutoff ``t_test = end − 12
months`` with labels in (t_test, end], training cutoffs every quarter before
``t_test − 12 months`` (none within ``warmup_months`` of the platform's first record), so no
training row has seen a label event of the test year. **Early stopping** is on
**held-out enterprises** (``valid_fraction`` of the enterprises, all their training rows), not
on a later cutoff: quarterly cutoffs with a 12-month horizon overlap, so a later cutoff of the
*same* enterprises shares its label events with the training rows and rewards memorising
enterprises. On the default county a 2024-06-30 validation cutoff scored AUC 0.74 for a model
that scored 0.59 on the held-out year (it kept boosting); held-out enterprises score 0.62 for
0.61. The score PSI logged (``psi_valid_test``) compares those held-out enterprises' scores
with the test year's: both out of sample, as :mod:`models.drift` compares them (in-sample
training scores are sharper than any new population's, which PSI would read as drift). The
held-out enterprises' scores are also the model's score reference, so the promotion gate's
PSI on the held-out year is the same number.

Sampling the negatives
----------------------
When the training cutoffs hold more than :attr:`WarningTrainConfig.max_negatives` negatives,
the labels are computed for every row and the features only for a stratified, weighted sample
of the negatives (every positive kept; :func:`models.sampling.sample_negatives`, whose
docstring gives the design and why it is sound). The test cutoff is never sampled. The counts
before and after, the fraction and the seed are logged to MLflow (``sample_*`` metrics and
parameters) and printed in the cutoffs table.

Evaluation and the rules
------------------------
On the test cutoff the model ranks every existing enterprise; precision@k and recall@k
(k = 50, 100, 200; :func:`models.metrics.ranking_metrics`) say how many of the k enterprises
the credit office would look at get a new violation. The rules of :mod:`risk.rules` evaluated
on t_test, ranked by :func:`models.rule_baseline.rule_ranking`, give the same metrics (``NaN``
for k beyond the flagged set: the rules rank no one else), plus the precision and recall of
the whole flagged set, which the model's top-|flagged| is compared with at equal workload.
The ablation trains the same model on the self features only (the catalog's ``source``,
:class:`features.catalog.FeatureSpec`).

MLflow
------
One run in the experiment ``credlink-warning`` (:func:`models.tracking.log_model_run`:
parameters with the risk config, the metrics above, the ablation and cutoff tables, ROC and
precision@k plots, gain importance, a model card, the held-out year for the promotion gate),
the model registered as a version of ``credlink-warning`` under the alias ``challenger``.
:class:`models.registry.ModelRegistry` loads it like any credlink model, so promotion to
``champion`` goes through the same gate (better AUC than the champion on the same held-out
rows, monotone, PSI below 0.25) and the warning's floor (:class:`models.gate.QualityFloor`).

The model card's text is :func:`models.cards.warning_card`.

About 650 lines because it is one procedure, out-of-time training against the rules, whose
steps (cutoffs, sampling, fit, the rules' comparison, the ablation, the logging) share one
set of frames; the sampling and the model card live in :mod:`models.sampling` and
:mod:`models.cards`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.data import PlatformData
from features.warning import (
    INDUSTRY_CODES,
    KIND_CODES,
    WarningFeatureConfig,
    build_warning_features,
    check_label_kinds,
    warning_feature_specs,
    warning_labels,
    warning_population,
)
from models.booster import LABEL
from models.cards import warning_card
from models.exceptions import TrainingDataError
from models.metrics import (
    TOP_K,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    roc_auc,
)
from models.registry import WARNING_MODEL_NAME
from models.rule_baseline import rule_hits, rule_ranking, rules_by_rule
from models.sampling import sample_negatives
from models.splits import WarningSplit, cutoff_before, warning_split
from models.tracking import (
    LoggedRun,
    ModelRun,
    flat_params,
    importance_figure,
    log_model_run,
    precision_figure,
    roc_figure,
)
from models.warning import PROBABILITY, RULES_FLAGGED, WarningConfig, WarningModel
from risk.config import RiskConfig
from risk.contract import RecordKind
from risk.dates import as_of_timestamp
from risk.rules import PENALTY_KINDS
from risk.validation import check_bool, check_int, check_real, check_str

__all__ = [
    "WarningResult",
    "WarningTrainConfig",
    "train_warning",
]


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class WarningTrainConfig:
    """How the learned warning is trained (frozen, validated on construction).

    Parameters
    ----------
    features
        The point-in-time features (:class:`features.warning.WarningFeatureConfig`).
    model
        LightGBM parameters (:class:`WarningConfig`).
    label_kinds
        What counts as a new violation (default :data:`risk.rules.PENALTY_KINDS`).
    horizon_months
        Label horizon, in [1, 60] (default 12).
    step_months
        Months between training cutoffs, in [1, 24] (default 3).
    train_cutoffs
        Most training cutoffs, in [1, 40] (default 5).
    warmup_months
        No cutoff within this many months of the platform's first record, in [0, 120]
        (default 12).
    valid_fraction
        Share of enterprises held out of training for early stopping, in (0, 0.5]
        (default 0.2).
    top_k
        The k of precision@k and recall@k: distinct integers ≥ 1 (default 50, 100, 200).
    max_negatives
        Most negative training rows (all training cutoffs together) whose features are
        built; above it they are sampled, stratified by cutoff and weighted (module
        docstring, :func:`sample_negatives`). ≥ 1000, or ``None`` to keep every row
        (default 600 000: a county of 10⁵ enterprises keeps all).
    sample_seed
        Seed of the negative sample and of the held-out enterprises, ≥ 0 (default 0).
    monotone
        Constrain the probability to be non-decreasing in the counts of negative records,
        linked risk and linked negative parties (default on).
    ablation
        Also train the self-only model (default on); the rules are always evaluated, with
        the thresholds of the :class:`risk.config.RiskConfig` given to :func:`train_warning`.
    model_name
        Experiment and registered model name (default ``credlink-warning``).

    Raises
    ------
    TypeError, ValueError
        On a wrong type or a value out of range.
    """

    features: WarningFeatureConfig = field(default_factory=WarningFeatureConfig)
    model: WarningConfig = field(default_factory=WarningConfig)
    label_kinds: frozenset[RecordKind] = PENALTY_KINDS
    horizon_months: int = 12
    step_months: int = 3
    train_cutoffs: int = 5
    warmup_months: int = 12
    valid_fraction: float = 0.2
    max_negatives: int | None = 600_000
    sample_seed: int = 0
    top_k: tuple[int, ...] = TOP_K
    monotone: bool = True
    ablation: bool = True
    model_name: str = WARNING_MODEL_NAME

    def __post_init__(self) -> None:
        for name, cls in (("features", WarningFeatureConfig), ("model", WarningConfig)):
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise TypeError(f"{name} must be a {cls.__name__}; got {type(value).__name__}")
        put = object.__setattr__
        put(self, "label_kinds", check_label_kinds(self.label_kinds))
        put(self, "horizon_months", check_int("horizon_months", self.horizon_months, 1, 60))
        put(self, "step_months", check_int("step_months", self.step_months, 1, 24))
        put(self, "train_cutoffs", check_int("train_cutoffs", self.train_cutoffs, 1, 40))
        put(self, "warmup_months", check_int("warmup_months", self.warmup_months, 0, 120))
        put(
            self,
            "valid_fraction",
            check_real("valid_fraction", self.valid_fraction, 0.0, 0.5, open_low=True),
        )
        if self.max_negatives is not None:
            put(self, "max_negatives", check_int("max_negatives", self.max_negatives, 1000))
        put(self, "sample_seed", check_int("sample_seed", self.sample_seed, 0))
        top_k = self.top_k
        if isinstance(top_k, str) or not isinstance(top_k, Sequence):
            raise TypeError(f"top_k must be a sequence of ints; got {type(top_k).__name__}")
        ks = tuple(check_int("top_k[]", k, 1) for k in top_k)
        if not ks or len(set(ks)) != len(ks):
            raise ValueError(f"top_k must be distinct and non-empty; got {top_k!r}")
        put(self, "top_k", tuple(sorted(ks)))
        check_bool("monotone", self.monotone)
        check_bool("ablation", self.ablation)
        check_str("model_name", self.model_name)

    def to_params(self) -> dict[str, Any]:
        """Flat parameters for MLflow (``model.num_leaves``, ``features.graph``, …)."""
        params = flat_params(
            {
                "features": self.features.to_dict(),
                "model": self.model.to_dict(),
            }
        )
        params["label_kinds"] = ",".join(sorted(k.value for k in self.label_kinds))
        for name in (
            "horizon_months",
            "step_months",
            "train_cutoffs",
            "warmup_months",
            "valid_fraction",
            "sample_seed",
            "monotone",
            "ablation",
        ):
            params[name] = getattr(self, name)
        params["max_negatives"] = "all" if self.max_negatives is None else self.max_negatives
        params["top_k"] = ",".join(str(k) for k in self.top_k)
        return params


@dataclass(frozen=True, eq=False)
class WarningResult:
    """What a training run produced.

    Attributes
    ----------
    model : WarningModel
        The fitted model on every feature (self + graph).
    self_only_model : WarningModel or None
        The ablation's model on the self features (``None`` without ablation).
    split : WarningSplit
    metrics : dict
        Flat metrics: ``test_auc``, ``test_precision_at_100``, ``rules_precision_at_100``,
        ``self_only_auc``, ``rules_flagged_precision``, … (see :func:`train_warning`).
    ablation : pandas.DataFrame
        One row per method on the test cutoff: ``method``, ``features``, ``auc``,
        ``precision_at_<k>``, ``recall_at_<k>``, ``flagged``, ``precision_flagged``,
        ``recall_flagged`` (for the models: of their top-|flagged|).
    tables : dict of str to DataFrame
        ``cutoffs``, ``ablation``, ``importance``, ``monotonicity``, ``rules_by_rule``
        (flagged, positives, precision, recall per rule) and ``top_warnings``.
    holdout : pandas.DataFrame
        The test rows: features, :data:`models.pd.LABEL`, ``uscc``, ``as_of``.
    scores : pandas.DataFrame
        The test rows' ``uscc``, ``label``, :data:`PROBABILITY`, ``p_self_only`` and the
        rules' ranking columns.
    model_card : str
        The markdown model card.
    run : LoggedRun or None
        Where MLflow logged and registered the model (``None`` without a tracking URI).
    timings : dict of str to float
        Seconds per step (``features``, ``fit``, ``rules``, ``log``, ``total``).
    """

    model: WarningModel
    self_only_model: WarningModel | None
    split: WarningSplit
    metrics: dict[str, float]
    ablation: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    holdout: pd.DataFrame
    scores: pd.DataFrame
    model_card: str
    run: LoggedRun | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _held_out_enterprises(uscc: npt.NDArray[np.object_], fraction: float, seed: int) -> np.ndarray:
    """Rows whose enterprise is among ``fraction`` of the enterprises drawn with ``seed``."""
    ids = np.unique(uscc.astype(str))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(ids, size=max(1, round(fraction * ids.size)), replace=False)
    return np.asarray(pd.Index(chosen).get_indexer(uscc.astype(str)) >= 0, dtype=bool)


def _check_sample(name: str, y: np.ndarray) -> None:
    if not y.size or y.sum() == 0 or y.sum() == y.size:
        raise TrainingDataError(
            f"the {name} sample must hold positives and negatives; got {y.size} rows with "
            f"{y.sum():.0f} positives"
        )


def _method_row(
    method: str,
    features: str,
    y: np.ndarray,
    score: np.ndarray,
    ks: Sequence[int],
    flagged: int,
    *,
    ranked: int | None = None,
) -> dict[str, Any]:
    m = ranking_metrics(y, score, ks, ranked=ranked)
    row: dict[str, Any] = {"method": method, "features": features, "auc": m["auc"]}
    for k in ks:
        row[f"precision_at_{k}"] = m[f"precision_at_{k}"]
    for k in ks:
        row[f"recall_at_{k}"] = m[f"recall_at_{k}"]
    row["flagged"] = float(flagged)
    if flagged:
        row["precision_flagged"] = precision_at_k(y, score, flagged)
        row["recall_flagged"] = recall_at_k(y, score, flagged)
    else:
        row["precision_flagged"] = row["recall_flagged"] = float("nan")
    return row


def train_warning(
    source: PlatformData | Any,
    as_of: date | pd.Timestamp | str,
    tracking_uri: str | None = None,
    *,
    artifact_location: str | None = None,
    registry_uri: str | None = None,
    config: WarningTrainConfig | None = None,
    risk_config: RiskConfig | None = None,
    register: bool = True,
    run_name: str | None = None,
) -> WarningResult:
    """Train, evaluate against the rules, log and register the learned warning.

    Parameters
    ----------
    source
        A store engine, a mapping of contract frames, or a :class:`PlatformData`.
    as_of
        The data's as-of date *end*: the test cutoff is ``end − horizon``.
    tracking_uri
        MLflow tracking URI (e.g. from :func:`models.tracking.tracking_uris`); ``None``
        trains without logging.
    artifact_location
        Artifact root for a new experiment (``None``: MLflow's default).
    registry_uri
        Where the models are registered (``None``: the tracking URI).
    config
        Default ``WarningTrainConfig()``.
    risk_config
        The deployment's propagation and rule settings (the service's
        ``Settings.risk_config``): the own signal and linked risk of the features and the
        rules compared with. Default ``RiskConfig()``. Logged with the run.
    register
        Register the model as the ``challenger`` version (when logging).
    run_name
        MLflow run name (default ``warning-<as_of>``).

    Returns
    -------
    WarningResult
        Metrics (``test_*`` of the model, ``self_only_*``, ``rules_*``, ``valid_auc``,
        ``train_auc``, ``best_iteration``, ``psi_valid_test`` (score PSI of the held-out
        enterprises against the test year, both out of sample), ``monotonicity_violations``,
        ``rules_flagged``, ``rules_flagged_precision``, ``rules_flagged_recall``,
        ``model_precision_at_flagged``, ``model_recall_at_flagged``), the ablation table,
        the run.

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`WarningTrainConfig` or ``risk_config`` not a
        :class:`risk.config.RiskConfig`.
    TrainingDataError
        If there are no records, no training cutoff fits the history, or a sample lacks
        positives or negatives.
    """
    started = time.perf_counter()
    config = WarningTrainConfig() if config is None else config
    if not isinstance(config, WarningTrainConfig):
        raise TypeError(f"config must be a WarningTrainConfig; got {type(config).__name__}")
    risk_config = RiskConfig() if risk_config is None else risk_config
    if not isinstance(risk_config, RiskConfig):
        raise TypeError(f"risk_config must be a RiskConfig; got {type(risk_config).__name__}")
    data = PlatformData.from_source(source)
    t_end = as_of_timestamp(as_of)
    known = data.records["decided"][(data.records["decided"] <= t_end).to_numpy()]
    if known.empty:
        raise TrainingDataError(f"the platform must hold records decided by {t_end.date()}; got 0")
    earliest = cutoff_before(pd.Timestamp(known.min()), -config.warmup_months)
    split = warning_split(
        t_end,
        horizon_months=config.horizon_months,
        step_months=config.step_months,
        train_cutoffs=config.train_cutoffs,
        earliest=earliest,
    )
    timings: dict[str, float] = {}

    clock = time.perf_counter()
    everyone = warning_population(data, [*split.train, split.test])
    y_everyone = warning_labels(
        data, everyone, kinds=config.label_kinds, horizon_months=config.horizon_months
    )
    sample = sample_negatives(
        y_everyone,
        everyone["as_of"].to_numpy(),
        (everyone["as_of"] != split.test).to_numpy(),
        config.max_negatives,
        config.sample_seed,
    )
    population = everyone[sample.keep].reset_index(drop=True)
    y_all = y_everyone[sample.keep]
    w_all = sample.weight[sample.keep]
    X_all = build_warning_features(
        data, population, config.features, propagation=risk_config.propagation
    )
    timings["features"] = time.perf_counter() - clock
    is_test = (population["as_of"] == split.test).to_numpy()
    held = _held_out_enterprises(
        population["uscc"].to_numpy()[~is_test], config.valid_fraction, config.sample_seed
    )
    X_fit, y_fit, w_fit = X_all[~is_test], y_all[~is_test], w_all[~is_test]
    X_train, y_train, w_train = X_fit[~held], y_fit[~held], w_fit[~held]
    X_valid, y_valid, w_valid = X_fit[held], y_fit[held], w_fit[held]
    X_test, y_test = X_all[is_test], y_all[is_test]
    for name, labels in (("train", y_train), ("validation", y_valid), ("test", y_test)):
        _check_sample(name, labels)
    # Weights only when sampled: an unsampled run is exactly the unweighted one.
    weighted = sample.fraction < 1.0

    specs = warning_feature_specs(config.features)
    categorical = specs.categorical
    monotone = specs.monotone if config.monotone else None
    context = {
        "kind": "warning",
        "as_of": t_end.date().isoformat(),
        "feature_config": config.features.to_dict(),
        "risk_config": risk_config.to_dict(),
        "label_kinds": sorted(k.value for k in config.label_kinds),
        "horizon_months": config.horizon_months,
        "cutoffs_train": [c.date().isoformat() for c in split.train],
        "cutoff_test": split.test.date().isoformat(),
        "vocabulary": {"kind": dict(KIND_CODES), "industry": dict(INDUSTRY_CODES)},
    }
    clock = time.perf_counter()
    model = WarningModel(
        config.model, categorical=categorical, monotone=monotone, context=context
    ).fit(
        X_train,
        y_train,
        eval_set=(X_valid, y_valid),
        sample_weight=w_train if weighted else None,
        eval_sample_weight=w_valid if weighted else None,
    )
    p_test = model.predict_violation(X_test)
    self_only: WarningModel | None = None
    p_self = np.full(len(X_test), np.nan)
    if config.ablation:
        own = specs.of_source("self").names
        self_only = WarningModel(
            config.model,
            categorical=[c for c in categorical if c in own],
            monotone=None if monotone is None else {c: monotone[c] for c in own},
            context={**context, "features": "self"},
        ).fit(
            X_train[own],
            y_train,
            eval_set=(X_valid[own], y_valid),
            sample_weight=w_train if weighted else None,
            eval_sample_weight=w_valid if weighted else None,
        )
        p_self = self_only.predict_violation(X_test[own])
    timings["fit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    test_ids = population["uscc"].to_numpy()[is_test]
    hits = rule_hits(data, split.test, risk_config)
    ranking = rule_ranking(hits, test_ids)
    timings["rules"] = time.perf_counter() - clock
    flagged = int(ranking["flagged"].sum())
    rules_score = ranking["rules_score"].to_numpy()
    ks = config.top_k

    metrics: dict[str, float] = {}
    for key, value in ranking_metrics(y_test, p_test, ks).items():
        metrics[f"test_{key}"] = value
    p_fit = model.predict_violation(X_fit)
    metrics["train_auc"] = roc_auc(y_train, p_fit[~held])
    metrics["valid_auc"] = roc_auc(y_valid, p_fit[held])
    metrics["train_n"], metrics["train_positives"] = float(y_train.size), float(y_train.sum())
    metrics["valid_n"], metrics["valid_positives"] = float(y_valid.size), float(y_valid.sum())
    metrics["best_iteration"] = float(model.best_iteration_)
    # Out of sample on both sides (as models.drift): the held-out enterprises' scores on the
    # training cutoffs (the early-stopping set, the model's score reference) against the test
    # year's, the PSI the promotion gate computes. The trees never fit the held-out rows, while
    # the training rows' in-sample scores are sharper than any new population's, which PSI
    # would report as drift.
    metrics["psi_valid_test"] = model.score_reference_.psi(p_test)
    metrics["sample_negative_fraction"] = sample.fraction
    metrics.update({f"sample_{k}": float(v) for k, v in sample.counts.items()})
    for key, value in ranking_metrics(y_test, rules_score, ks, ranked=flagged).items():
        if key in ("auc",) or key.startswith(("precision_at_", "recall_at_")):
            metrics[f"rules_{key}"] = value
    metrics["rules_flagged"] = float(flagged)
    metrics["rules_flagged_precision"] = (
        float(y_test[ranking["flagged"].to_numpy()].mean()) if flagged else float("nan")
    )
    metrics["rules_flagged_recall"] = (
        float(y_test[ranking["flagged"].to_numpy()].sum() / y_test.sum())
        if flagged
        else float("nan")
    )
    if flagged:
        metrics["model_precision_at_flagged"] = precision_at_k(y_test, p_test, flagged)
        metrics["model_recall_at_flagged"] = recall_at_k(y_test, p_test, flagged)
    if self_only is not None:
        for key, value in ranking_metrics(y_test, p_self, ks).items():
            if key == "auc" or key.startswith(("precision_at_", "recall_at_")):
                metrics[f"self_only_{key}"] = value
        metrics["self_only_best_iteration"] = float(self_only.best_iteration_)

    rows = [
        _method_row(
            "rules (any hit; level, rules, records)",
            "rules",
            y_test,
            rules_score,
            ks,
            flagged,
            ranked=flagged,
        )
    ]
    if self_only is not None:
        rows.append(_method_row("LightGBM", "self only", y_test, p_self, ks, flagged))
    rows.append(_method_row("LightGBM (registered)", "self + graph", y_test, p_test, ks, flagged))
    ablation = pd.DataFrame(rows)

    holdout = X_test.assign(
        **{LABEL: y_test, RULES_FLAGGED: ranking["flagged"].to_numpy(dtype=bool)},
        uscc=test_ids,
        as_of=population["as_of"].to_numpy()[is_test],
    ).reset_index(drop=True)
    monotonicity = model.monotonicity_report(holdout)
    metrics["monotonicity_violations"] = float(monotonicity["violations"].sum())
    scores = pd.DataFrame(
        {
            "uscc": test_ids,
            "label": y_test,
            PROBABILITY: p_test,
            "p_self_only": p_self,
            "rules_level": ranking["level"].to_numpy(),
            "rules_rank": ranking["rank"].to_numpy(),
            "n_rules": ranking["n_rules"].to_numpy(),
        }
    )
    top = scores.sort_values(PROBABILITY, ascending=False, kind="stable").head(max(ks))
    cutoffs = split.to_frame()
    per_cutoff = pd.DataFrame(
        {
            "as_of": everyone["as_of"].dt.date,
            "label": y_everyone,
            "kept": sample.keep,
            "weight": np.where(sample.keep & (y_everyone == 0), sample.weight, np.nan),
        }
    )
    counts = per_cutoff.groupby("as_of").agg(
        size=("label", "size"),
        positives=("label", "sum"),
        kept=("kept", "sum"),
        weight=("weight", "max"),
    )
    cutoffs["enterprises"] = counts["size"].reindex(cutoffs["cutoff"]).to_numpy()
    cutoffs["positives"] = counts["positives"].reindex(cutoffs["cutoff"]).to_numpy()
    cutoffs["sampled"] = counts["kept"].reindex(cutoffs["cutoff"]).to_numpy()
    cutoffs["negative_weight"] = counts["weight"].reindex(cutoffs["cutoff"]).to_numpy()
    tables = {
        "cutoffs": cutoffs,
        "ablation": ablation,
        "importance": model.feature_importance().assign(
            source=lambda f: f["feature"].map({s.name: s.source for s in specs})
        ),
        "monotonicity": monotonicity,
        "rules_by_rule": rules_by_rule(hits, test_ids, y_test),
        "top_warnings": top.reset_index(drop=True),
    }
    card = warning_card(t_end, config, split, tables, metrics, model)

    run = None
    if tracking_uri is not None:
        clock = time.perf_counter()
        figures = {
            "roc": roc_figure(
                {
                    "model (self + graph)": (y_test, p_test),
                    **({"model (self only)": (y_test, p_self)} if self_only is not None else {}),
                    "rules": (y_test, rules_score),
                }
            ),
            "precision_at_k": precision_figure(
                y_test,
                {
                    "model (self + graph)": (p_test, None),
                    **({"model (self only)": (p_self, None)} if self_only is not None else {}),
                    "rules": (rules_score, flagged),
                },
                max(500, max(ks)),
            ),
            "importance": importance_figure(tables["importance"]),
        }
        params = {
            **config.to_params(),
            "sample_negative_fraction": sample.fraction,
            "as_of": t_end.date().isoformat(),
            "cutoffs_train": ",".join(c.date().isoformat() for c in split.train),
            "cutoff_test": split.test.date().isoformat(),
        }
        run = log_model_run(
            ModelRun(
                experiment=config.model_name,
                registered_name=config.model_name if register else None,
                estimator=model,
                risk_config=risk_config,
                input_example=holdout[model.feature_names_].head(5),
                holdout=holdout,
                run_name=run_name or f"warning-{t_end.date().isoformat()}",
                params=params,
                metrics=metrics,
                tables=tables,
                figures=figures,
                texts={"model_card.md": card},
                dicts={
                    "features.json": {
                        "config": config.features.to_dict(),
                        "features": specs.to_records(),
                        "vocabulary": context["vocabulary"],
                    }
                },
                tags={"credlink.kind": "warning", "credlink.as_of": t_end.date().isoformat()},
            ),
            tracking_uri,
            artifact_location,
            registry_uri=registry_uri,
        )
        timings["log"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - started
    return WarningResult(
        model=model,
        self_only_model=self_only,
        split=split,
        metrics=metrics,
        ablation=ablation,
        tables=tables,
        holdout=holdout,
        scores=scores,
        model_card=card,
        run=run,
        timings=timings,
    )
