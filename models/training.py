"""Training the pre-credit PD and limit models on the platform's data.

:func:`train_precredit` trains on the platform's data as of a date: every loan outcome known
by then (the banks' 实际授信放款结果, ingested as the ``loans`` table) labels the point-in-time
features of its application (:func:`features.precredit.build_features`). The sample is cut by
application date into train / validation (early stopping) / calibration / test (out of time);
the PD and limit models are evaluated on the test period, logged to MLflow (one experiment per
model) and registered as ``challenger`` versions of ``credlink-pd`` and ``credlink-limit``.

Which loans train the model (:func:`precredit_sample`)
------------------------------------------------------
- applied on or before ``as_of``;
- labelled (:func:`features.outcomes.loan_outcomes`): loans younger than the horizon whose
  status is still good have no outcome yet and are **excluded**;
- with a complete horizon: loans already bad within a horizon that is not over are labelled
  but left out of this run's splits too — keeping only the bad half of a censored cohort
  would inflate the bad rate of the latest (test) period; they enter a later retraining;
- applied at least ``warmup_months`` after the platform's data begins (the first financial
  period or record): before that, missing history reflects the platform's start, not the
  enterprise, and would teach the model a pattern that cannot recur.

No sampling
-----------
Every loan of the sample trains the PD: outcomes exist only for funded loans, so even a
province gives 10⁴–10⁵ rows (69 000 at 10⁶ enterprises), which LightGBM fits in seconds. The
cost is the point-in-time graph features, one snapshot and propagation per month of
applications (:mod:`features.graph`), not the rows; ``bench/training.py`` measures it.

The model card's text is :func:`models.cards.precredit_card`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.data import PlatformData
from features.eligibility import EligibilityPolicy, assess_eligibility
from features.outcomes import loan_outcomes
from features.precredit import FeatureConfig, build_features, feature_specs
from models.booster import LABEL
from models.cards import precredit_card
from models.exceptions import TrainingDataError
from models.limit import (
    CAPACITY_FEATURES,
    LimitModel,
    LimitPolicy,
    backtest_limits,
    rule_of_thumb_limits,
)
from models.metrics import (
    calibration_table,
    segment_metrics,
)
from models.pd import PDConfig, PDModel
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME
from models.splits import SPLITS, check_slices, fit_on_slices, splits_table, time_split
from models.tracking import (
    LoggedRun,
    ModelRun,
    calibration_figure,
    flat_params,
    importance_figure,
    limit_figure,
    log_model_run,
    roc_figure,
)
from risk.config import RiskConfig
from risk.dates import as_of_timestamp
from risk.validation import check_int, check_real, check_str

__all__ = [
    "TrainConfig",
    "TrainResult",
    "precredit_sample",
    "size_band",
    "train_precredit",
]


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained (frozen, validated on construction).

    Parameters
    ----------
    features
        The pre-credit features (:class:`features.precredit.FeatureConfig`).
    eligibility
        The decline rules recorded with the model and applied when scoring.
    pd
        LightGBM, calibration and grade parameters (:class:`models.pd.PDConfig`).
    limit
        The limit policy (:class:`models.limit.LimitPolicy`); its grades must be the PD's.
    horizon_months
        Bad within this many months of the application, in [1, 60] (default 12).
    warmup_months
        Leave out loans applied within this many months of the platform's first data, in
        [0, 120] (default 12; pre-credit only).
    valid_fraction, calibration_fraction, test_fraction
        Shares of the sample, by time, for early stopping, calibration and the out-of-time
        test (defaults 0.15, 0.10, 0.20; train gets the rest, at least 0.3).
        ``calibration_fraction = 0`` calibrates on the validation slice.
    cv_folds
        Folds of the cross-validation that compares and selects the candidates of a bank's
        table without a date (:func:`models.table.train_table`, ``TableConfig.train``; the
        one setting of the fold count), in [2, 20] (default 5).
    seed
        Seed of random splits (tables without a date).
    pd_model_name, limit_model_name
        Registered model names (defaults ``credlink-pd``, ``credlink-limit``).

    Raises
    ------
    TypeError, ValueError
        On a wrong type or a value out of range.
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    eligibility: EligibilityPolicy = field(default_factory=EligibilityPolicy)
    pd: PDConfig = field(default_factory=PDConfig)
    limit: LimitPolicy = field(default_factory=LimitPolicy)
    horizon_months: int = 12
    warmup_months: int = 12
    valid_fraction: float = 0.15
    calibration_fraction: float = 0.10
    test_fraction: float = 0.20
    cv_folds: int = 5
    seed: int = 0
    pd_model_name: str = PD_MODEL_NAME
    limit_model_name: str = LIMIT_MODEL_NAME

    def __post_init__(self) -> None:
        for name, cls in (
            ("features", FeatureConfig),
            ("eligibility", EligibilityPolicy),
            ("pd", PDConfig),
            ("limit", LimitPolicy),
        ):
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise TypeError(f"{name} must be a {cls.__name__}; got {type(value).__name__}")
        if self.limit.grades != self.pd.grades:
            raise ValueError(
                "limit.grades must equal pd.grades; got "
                f"{self.limit.grades.bounds} and {self.pd.grades.bounds}"
            )
        put = object.__setattr__
        put(self, "horizon_months", check_int("horizon_months", self.horizon_months, 1, 60))
        put(self, "warmup_months", check_int("warmup_months", self.warmup_months, 0, 120))
        put(
            self,
            "valid_fraction",
            check_real("valid_fraction", self.valid_fraction, 0.0, 0.5, open_low=True),
        )
        put(
            self,
            "calibration_fraction",
            check_real("calibration_fraction", self.calibration_fraction, 0.0, 0.5),
        )
        put(
            self,
            "test_fraction",
            check_real("test_fraction", self.test_fraction, 0.0, 0.5, open_low=True),
        )
        held_out = self.valid_fraction + self.calibration_fraction + self.test_fraction
        if held_out > 0.7:
            raise ValueError(
                "valid_fraction + calibration_fraction + test_fraction must be ≤ 0.7; "
                f"got {held_out:.2f}"
            )
        put(self, "cv_folds", check_int("cv_folds", self.cv_folds, 2, 20))
        put(self, "seed", check_int("seed", self.seed, 0))
        check_str("pd_model_name", self.pd_model_name)
        check_str("limit_model_name", self.limit_model_name)

    def to_params(self) -> dict[str, Any]:
        """Flat parameters for MLflow (``pd.num_leaves``, ``features.graph``, …)."""
        params = flat_params(
            {
                "pd": self.pd.to_dict(),
                "limit": self.limit.to_dict(),
                "features": self.features.to_dict(),
                "eligibility": self.eligibility.to_dict(),
            }
        )
        for name in (
            "horizon_months",
            "warmup_months",
            "valid_fraction",
            "calibration_fraction",
            "test_fraction",
            "cv_folds",
            "seed",
        ):
            params[name] = getattr(self, name)
        return params


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What a training run produced.

    Attributes
    ----------
    pd_model : PDModel
        The fitted, calibrated classifier.
    limit_model : LimitModel or None
        The fitted limit model (pre-credit only).
    metrics : dict
        Flat metrics (``test_auc``, ``test_ks``, ``psi_score_valid_test``, ``cv_auc_mean``, …).
    tables : dict of str to DataFrame
        ``splits``, ``calibration``, ``segments``, ``grades``, ``importance``,
        ``monotonicity`` and, for pre-credit, ``backtest`` and ``backtest_by_kind``.
    model_card : str
        The markdown model card.
    holdout : DataFrame
        The out-of-time sample with features, :data:`models.pd.LABEL` and predictions.
    pd_run, limit_run : LoggedRun or None
        Where MLflow logged and registered the models (``None`` without a tracking URI).
    timings : dict of str to float
        Seconds per step (``sample``, ``features``, ``fit``, ``evaluate`` (tables, limit
        model, backtest), ``log``, ``total``).
    """

    pd_model: PDModel
    limit_model: LimitModel | None
    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame]
    model_card: str
    holdout: pd.DataFrame
    pd_run: LoggedRun | None = None
    limit_run: LoggedRun | None = None
    timings: dict[str, float] = field(default_factory=dict)


def size_band(employees: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Size segment by insured employees: micro < 10, small < 100, medium < 300, large."""
    values = np.asarray(employees, dtype=np.float64)
    bands = np.select(
        [np.isnan(values), values < 10, values < 100, values < 300],
        ["unknown", "micro", "small", "medium"],
        default="large",
    )
    return bands.astype(object)


# --------------------------------------------------------------------------- pre-credit


@dataclass(frozen=True, eq=False)
class _Sample:
    loans: pd.DataFrame  # the development sample, sorted by application date
    counts: dict[str, int]
    data_start: pd.Timestamp | None


def precredit_sample(
    data: PlatformData, as_of: date | pd.Timestamp | str, config: TrainConfig | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The loans that train the pre-credit models as of ``as_of`` (module docstring).

    Returns
    -------
    sample : pandas.DataFrame
        Loans with ``label``, sorted by application date.
    counts : dict
        ``applied`` (loans applied by ``as_of``), ``unlabelled`` (young, still good),
        ``immature_bad`` (bad, horizon not over), ``warmup`` (applied in the warm-up) and
        ``sample`` (the rest).
    """
    found = _sample(data, as_of_timestamp(as_of), TrainConfig() if config is None else config)
    return found.loans, found.counts


def _sample(data: PlatformData, t: pd.Timestamp, config: TrainConfig) -> _Sample:
    outcomes = loan_outcomes(data.loans, t, config.horizon_months)
    loans = data.loans.loc[outcomes.index].assign(
        label=outcomes["label"], matured=outcomes["matured"]
    )
    starts = [
        data.financials["period_start"].min() if len(data.financials) else pd.NaT,
        data.records["decided"].min() if len(data.records) else pd.NaT,
    ]
    known = [s for s in starts if pd.notna(s)]
    data_start = pd.Timestamp(min(known)) if known else None
    unlabelled = loans["label"].isna()
    immature_bad = (loans["label"] == 1) & ~loans["matured"]
    warm = np.zeros(len(loans), dtype=bool)
    if data_start is not None and config.warmup_months:
        warm = (
            loans["applied"] < data_start + pd.DateOffset(months=config.warmup_months)
        ).to_numpy()
    keep = loans["matured"].to_numpy() & ~warm
    # A loan is (bank, loan_id): two banks may use one loan id, so the bank breaks that tie.
    sample = loans[keep].sort_values(["applied", "loan_id", "bank"], kind="stable")
    counts = {
        "applied": len(loans),
        "unlabelled": int(unlabelled.sum()),
        "immature_bad": int(immature_bad.sum()),
        "warmup": int((warm & loans["matured"].to_numpy()).sum()),
        "sample": len(sample),
    }
    return _Sample(sample, counts, data_start)


def train_precredit(
    source: PlatformData | Any,
    as_of: date | pd.Timestamp | str,
    tracking_uri: str | None,
    *,
    artifact_location: str | None = None,
    registry_uri: str | None = None,
    config: TrainConfig | None = None,
    risk_config: RiskConfig | None = None,
    register: bool = True,
    run_name: str | None = None,
) -> TrainResult:
    """Train, evaluate, log and register the pre-credit PD and limit models as of a date.

    Parameters
    ----------
    source
        A store engine, a mapping of contract frames, or a :class:`PlatformData`.
    as_of
        Outcomes and data known on this date train the models.
    tracking_uri
        MLflow tracking URI (e.g. from :func:`models.tracking.tracking_uris`); ``None``
        trains without logging.
    artifact_location
        Artifact root for new experiments (``None``: MLflow's default).
    registry_uri
        Where the models are registered (``None``: the tracking URI).
    config
        Default ``TrainConfig()``.
    risk_config
        The deployment's propagation settings (the service's ``Settings.risk_config``): the
        own signal and linked risk of the graph features, stored with the model so that
        scoring computes them alike (:class:`models.scoring.PrecreditScorer`). Default
        ``RiskConfig()``. Logged with both runs.
    register
        Register the models as ``challenger`` versions (when logging).
    run_name
        MLflow run name (default ``precredit-<as_of>``).

    Returns
    -------
    TrainResult

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`TrainConfig` or ``risk_config`` not a
        :class:`risk.config.RiskConfig`.
    TrainingDataError
        If a slice of the sample lacks goods or bads.
    """
    started = clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = now - clock
        clock = now

    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    risk_config = RiskConfig() if risk_config is None else risk_config
    if not isinstance(risk_config, RiskConfig):
        raise TypeError(f"risk_config must be a RiskConfig; got {type(risk_config).__name__}")
    data = PlatformData.from_source(source)
    t = as_of_timestamp(as_of)
    sample = _sample(data, t, config)
    lap("sample")
    loans = sample.loans
    if len(loans) < 10:
        raise TrainingDataError(
            f"the sample must hold at least 10 labelled loans; got {len(loans)}"
        )
    apps = pd.DataFrame({"uscc": loans["uscc"].to_numpy(), "as_of": loans["applied"].to_numpy()})
    X = build_features(data, apps, config.features, propagation=risk_config.propagation)
    lap("features")
    y = loans["label"].to_numpy(dtype=np.float64)
    labels = time_split(
        loans["applied"], config.valid_fraction, config.calibration_fraction, config.test_fraction
    )
    held = ["train", "valid", "test"] + (["calibration"] if config.calibration_fraction else [])
    check_slices(labels, y, held)
    specs = feature_specs(config.features)
    concept_of = specs.concept_of
    context = {
        "kind": "precredit",
        "as_of": t.date().isoformat(),
        "feature_config": config.features.to_dict(),
        "risk_config": risk_config.to_dict(),
        "eligibility": config.eligibility.to_dict(),
        "horizon_months": config.horizon_months,
    }
    model = PDModel(
        config.pd,
        monotone=specs.monotone,
        categorical=specs.categorical,
        context=context,
    )
    probability, metrics = fit_on_slices(model, X, y, labels)
    lap("fit")
    part = {name: labels == name for name in SPLITS}
    test = part["test"]
    metrics.update({f"sample_{k}": float(v) for k, v in sample.counts.items()})
    eligibility = assess_eligibility(data, apps, config.eligibility)
    metrics["sample_declined_by_policy"] = float((~eligibility["eligible"]).sum())

    X_test = X[test]
    holdout = X_test.assign(
        **{LABEL: y[test]},
        uscc=loans["uscc"].to_numpy()[test],
        applied=loans["applied"].to_numpy()[test],
        approved_amount=loans["approved_amount"].to_numpy()[test],
    )
    monotonicity = model.monotonicity_report(holdout)
    metrics["monotonicity_violations"] = float(monotonicity["violations"].sum())
    tables = {
        "splits": splits_table(labels, loans["applied"], y),
        "calibration": calibration_table(y[test], probability[test]),
        "segments": segment_metrics(
            y[test],
            probability[test],
            {
                "industry": X_test["industry"],
                "size": size_band(X_test["employees"]),
                "region": X_test["region"],
            },
        ),
        "grades": model.grade_outcomes(y[test], probability[test]),
        "importance": model.feature_importance(concept_of),
        "monotonicity": monotonicity,
    }

    held_out = part["valid"] | part["calibration"]
    limit_model = LimitModel(config.limit).fit(
        X[part["train"]],
        loans["approved_amount"].to_numpy()[part["train"]],
        y[part["train"]],
        probability[part["train"]],
        # out of sample, as the PD's score reference: the training loans' PDs are in sample
        reference=X[held_out].assign(pd=probability[held_out]),
    )
    limit_holdout = holdout.assign(pd=probability[test])
    limits = limit_model.predict_frame(limit_holdout)
    rule = rule_of_thumb_limits(limit_holdout, config.limit)
    backtest_rows = limit_holdout[["approved_amount", LABEL, "kind"]]
    tables["backtest"] = backtest_limits(backtest_rows, limits, rule)
    tables["backtest_by_kind"] = backtest_limits(backtest_rows, limits, rule, segment="kind")
    limit_monotonicity = limit_model.monotonicity_report(limit_holdout)
    limit_metrics = _backtest_metrics(tables["backtest"])
    limit_metrics["psi_limit_valid_test"] = limit_model.holdout_psi(limit_holdout)
    limit_metrics["monotonicity_violations"] = float(limit_monotonicity["violations"].sum())
    limit_metrics.update({f"weight_{k}": v for k, v in limit_model.weights_.items()})
    metrics.update({f"limit_{k}": v for k, v in limit_metrics.items()})
    card = precredit_card(
        t,
        config,
        sample.counts,
        sample.data_start,
        tables,
        metrics,
        model,
        limit_model,
        eligibility,
        int(test.sum()),
    )
    result_holdout = limit_holdout.assign(
        grade=model.grade_of(probability[test]),
        pd_band=model.config_.grades.grade(probability[test]),
        suggested_limit=limits["suggested_limit"].to_numpy(),
        rule_limit=rule["rule_limit"].to_numpy(),
    )
    lap("evaluate")
    pd_run = limit_run = None
    if tracking_uri is not None:
        name = run_name or f"precredit-{t.date().isoformat()}"
        params = {**config.to_params(), "as_of": t.date().isoformat(), "kind": "precredit"}
        importance_by_concept = (
            tables["importance"].groupby("concept", as_index=False)["gain"].sum()
        ).rename(columns={"concept": "feature"})
        pd_run = log_model_run(
            ModelRun(
                experiment=config.pd_model_name,
                registered_name=config.pd_model_name if register else None,
                estimator=model,
                risk_config=risk_config,
                input_example=X_test.head(5),
                holdout=holdout,
                run_name=name,
                params=params,
                metrics=metrics,
                tables=tables,
                figures={
                    "roc": roc_figure(
                        {s: (y[part[s]], probability[part[s]]) for s in ("train", "valid", "test")}
                    ),
                    "calibration": calibration_figure(tables["calibration"]),
                    "importance": importance_figure(tables["importance"]),
                    "importance_by_concept": importance_figure(
                        importance_by_concept, title="importance by concept (gain)"
                    ),
                },
                texts={"model_card.md": card},
                dicts={
                    "vocabulary.json": model.encoder_.to_dict(),
                    "features.json": {
                        "config": config.features.to_dict(),
                        "features": specs.to_records(),
                    },
                },
                tags={"credlink.kind": "pd", "credlink.as_of": t.date().isoformat()},
            ),
            tracking_uri,
            artifact_location,
            registry_uri=registry_uri,
        )
        performed = (limit_holdout[LABEL] == 0).to_numpy()
        limit_run = log_model_run(
            ModelRun(
                experiment=config.limit_model_name,
                registered_name=config.limit_model_name if register else None,
                estimator=limit_model,
                risk_config=risk_config,
                input_example=limit_holdout[[*CAPACITY_FEATURES, "pd"]].head(5),
                holdout=limit_holdout,
                run_name=name,
                params={**params, "pd_run_id": pd_run.run_id},
                metrics=limit_metrics,
                tables={
                    "backtest": tables["backtest"],
                    "backtest_by_kind": tables["backtest_by_kind"],
                    "monotonicity": limit_monotonicity,
                },
                figures={
                    "limit_vs_approved": limit_figure(
                        limit_holdout["approved_amount"].to_numpy()[performed],
                        limits["suggested_limit"].to_numpy()[performed],
                        rule["rule_limit"].to_numpy()[performed],
                    )
                },
                texts={"model_card.md": card},
                tags={"credlink.kind": "limit", "credlink.as_of": t.date().isoformat()},
            ),
            tracking_uri,
            artifact_location,
            registry_uri=registry_uri,
        )
        lap("log")
    timings["total"] = time.perf_counter() - started
    return TrainResult(
        pd_model=model,
        limit_model=limit_model,
        metrics=metrics,
        tables=tables,
        model_card=card,
        holdout=result_holdout,
        pd_run=pd_run,
        limit_run=limit_run,
        timings=timings,
    )


def _backtest_metrics(backtest: pd.DataFrame) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for row in backtest.itertuples(index=False):
        prefix = "model" if row.method == "limit model" else "rule"
        for key in ("volume", "loss_rate", "median_error", "in_range", "under_offer"):
            metrics[f"{prefix}_{key}"] = float(getattr(row, key))
    return metrics
