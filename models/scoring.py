"""Batch and online pre-credit scoring: features → eligibility → PD → limit → reasons.

:class:`PrecreditScorer` is the one pipeline the service, the batch job and the benchmark
run. It computes the point-in-time features with the configuration the PD model was trained
on (stored in the model), applies the eligibility policy, predicts the calibrated PD and its
grade, the suggested limit and range, and the reasons.

Declined enterprises keep their PD, grade and reasons (for reject-inference experiments) but
get no limit; :func:`score_enterprises` scores every enterprise active on a date and marks
the 信易贷白名单 (eligible, offered a limit, PD band at most ``whitelist_max_grade``).

The ``grade`` is the PD model's fitted grade (:meth:`models.pd.PDModel.grade_of`: few grades,
each populated, bad rates rising); the ``pd_band`` is the PD's band on the fixed master scale,
which the limit's multipliers and the 白名单 cut read. Every enterprise not on the 白名单 is
told why (:func:`not_whitelisted_reasons`): ``declined`` by the eligibility rules, ``no_limit``
(the suggested limit is zero) or ``grade_above_whitelist`` (its PD band is above the cut).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import CONCEPTS
from features.data import PlatformData
from features.eligibility import EligibilityPolicy, assess_eligibility
from features.precredit import (
    FeatureConfig,
    applications_on,
    build_features,
    feature_specs,
    validate_applications,
)
from models.limit import LimitModel
from models.pd import PDModel
from models.reasons import Reasons, feature_concepts
from models.registry import LIMIT_MODEL_NAME, PD_MODEL_NAME, ModelRegistry
from models.tracking import CHAMPION
from risk.config import RiskConfig
from risk.propagation import PropagationConfig
from risk.validation import check_choice, check_int

__all__ = [
    "NOT_WHITELISTED_CODES",
    "REASON_MODES",
    "SCORE_COLUMNS",
    "PrecreditScorer",
    "not_whitelisted_reasons",
    "score_enterprises",
]

REASON_MODES = ("text", "codes", "none")
SCORE_COLUMNS = (
    "uscc",
    "as_of",
    "eligible",
    "whitelisted",
    "pd",
    "grade",
    "pd_band",
    "expected_bad_rate",
    "suggested_limit",
    "limit_low",
    "limit_high",
    "decline_codes",
    "decline_reasons_zh",
    "decline_reasons_en",
    "not_whitelisted_codes",
    "not_whitelisted_reasons_zh",
    "not_whitelisted_reasons_en",
)
"""The leading columns of :meth:`PrecreditScorer.score` (reason columns follow)."""

NOT_WHITELISTED_CODES = ("declined", "no_limit", "grade_above_whitelist")
"""Why an enterprise is not on the 白名单 (:func:`not_whitelisted_reasons`)."""


def not_whitelisted_reasons(
    eligible: np.ndarray,
    suggested_limit: np.ndarray,
    pd_band: np.ndarray,
    probability: np.ndarray,
    whitelist_max_band: int,
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Why each enterprise is not on the 白名单: codes, Chinese and English texts (empty lists
    for those on it).

    Parameters
    ----------
    eligible, suggested_limit, pd_band, probability
        Per enterprise: passed the eligibility rules, the limit offered (0 for none), the PD's
        band on the master scale and the PD.
    whitelist_max_band
        The worst band on the 白名单.

    Returns
    -------
    codes, zh, en : list of list of str
        ``declined`` (the eligibility rules; their own reasons say which), ``no_limit`` (an
        eligible enterprise whose suggested limit is zero) and ``grade_above_whitelist``
        (PD band above the cut), each with its text.
    """
    codes: list[list[str]] = []
    zh: list[list[str]] = []
    en: list[list[str]] = []
    for ok, limit, band, p in zip(eligible, suggested_limit, pd_band, probability, strict=True):
        row_codes, row_zh, row_en = [], [], []
        if not ok:
            row_codes.append("declined")
            row_zh.append("未通过信易贷准入规则（原因见拒绝原因）")
            row_en.append("Declined by the eligibility rules (see the decline reasons)")
        elif not limit > 0:
            row_codes.append("no_limit")
            row_zh.append(
                "建议授信额度为零：缺少纳税、注册资本等还款能力依据，或违约概率档位不予授信"
            )
            row_en.append(
                "The suggested limit is zero: no repayment capacity on record (tax paid, "
                "registered capital) or a PD band that gets no offer"
            )
        if band > whitelist_max_band:
            row_codes.append("grade_above_whitelist")
            row_zh.append(
                f"违约概率 {p:.1%} 处于第 {band} 档，白名单只收第 {whitelist_max_band} 档及以内"
            )
            row_en.append(
                f"PD {p:.1%} is in band {band}; the whitelist takes bands up to "
                f"{whitelist_max_band}"
            )
        codes.append(row_codes)
        zh.append(row_zh)
        en.append(row_en)
    return codes, zh, en


class PrecreditScorer:
    """The pre-credit pipeline around a fitted PD model and limit model.

    Parameters
    ----------
    pd_model, limit_model
        Fitted models (e.g. the registry's champions: :meth:`from_registry`).
    feature_config, eligibility
        Default: the configuration stored with the PD model at training.
    risk_config
        The deployment's :class:`risk.config.RiskConfig` (the one the served linked risk and
        the rules use): its propagation computes the graph features. It must be the
        propagation the PD model was trained with, when the model records one (models
        trained since the risk config exists do): a PD fed features of other settings would
        be miscalibrated, so that is refused — retrain instead. Default: the settings stored
        with the model (``RiskConfig()``'s for a model that stores none).
    max_reasons
        Reasons each way, in [1, 10] (default 4).
    whitelist_max_grade
        Worst PD band (master scale, :class:`models.pd.GradeScale`) on the 白名单, in
        [1, number of bands] (default 6: PD below 15 %).

    Raises
    ------
    TypeError, ValueError
        On a model of the wrong type, a bad parameter, or a ``risk_config`` whose propagation
        is not the one the PD model was trained with.
    """

    def __init__(
        self,
        pd_model: PDModel,
        limit_model: LimitModel,
        *,
        feature_config: FeatureConfig | None = None,
        eligibility: EligibilityPolicy | None = None,
        risk_config: RiskConfig | None = None,
        max_reasons: int = 4,
        whitelist_max_grade: int = 6,
    ) -> None:
        if not isinstance(pd_model, PDModel):
            raise TypeError(f"pd_model must be a PDModel; got {type(pd_model).__name__}")
        if not isinstance(limit_model, LimitModel):
            raise TypeError(f"limit_model must be a LimitModel; got {type(limit_model).__name__}")
        context = dict(pd_model.context or {})
        self.pd_model = pd_model
        self.limit_model = limit_model
        self.feature_config = (
            feature_config
            if feature_config is not None
            else FeatureConfig.from_dict(context["feature_config"])
            if "feature_config" in context
            else FeatureConfig()
        )
        self.eligibility_policy = (
            eligibility
            if eligibility is not None
            else EligibilityPolicy.from_dict(context["eligibility"])
            if "eligibility" in context
            else EligibilityPolicy()
        )
        self.propagation = _propagation(context, risk_config)
        n_grades = pd_model.config_.grades.n_grades
        self.whitelist_max_grade = check_int(
            "whitelist_max_grade", whitelist_max_grade, 1, n_grades
        )
        specs = feature_specs(self.feature_config)
        if set(specs.names) == set(pd_model.feature_names_):
            self.reasons = Reasons(
                CONCEPTS, specs.concept_of, max_reasons=max_reasons, monotone=pd_model.monotone_
            )
        else:  # a model trained on other features: one reason per feature
            self.reasons = Reasons(
                feature_concepts(pd_model.feature_names_), {}, max_reasons=max_reasons
            )

    @classmethod
    def from_registry(
        cls,
        registry: ModelRegistry | str,
        alias: str = CHAMPION,
        *,
        pd_name: str = PD_MODEL_NAME,
        limit_name: str = LIMIT_MODEL_NAME,
        **kwargs: Any,
    ) -> PrecreditScorer:
        """The scorer of the registered models under ``alias`` (default the champions)."""
        registry = ModelRegistry(registry) if isinstance(registry, str) else registry
        pd_model = registry.load(pd_name, alias)
        limit_model = registry.load(limit_name, alias)
        if not isinstance(pd_model, PDModel) or not isinstance(limit_model, LimitModel):
            raise TypeError(f"{pd_name} and {limit_name} must be a PD and a limit model")
        return cls(pd_model, limit_model, **kwargs)

    # ------------------------------------------------------------------ the steps

    def features(self, data: PlatformData, applications: pd.DataFrame) -> pd.DataFrame:
        """Step 1: point-in-time features (:func:`features.precredit.build_features`)."""
        return build_features(data, applications, self.feature_config, propagation=self.propagation)

    def eligibility(self, data: PlatformData, applications: pd.DataFrame) -> pd.DataFrame:
        """Step 2: the decline rules (:func:`features.eligibility.assess_eligibility`)."""
        return assess_eligibility(data, applications, self.eligibility_policy)

    def score_features(
        self, X: pd.DataFrame, eligibility: pd.DataFrame, *, reasons: str = "text"
    ) -> pd.DataFrame:
        """Steps 3–5 on computed features: PD and grade, limit, reasons.

        Parameters
        ----------
        X
            Features (:meth:`features`).
        eligibility
            Eligibility of the same rows (:meth:`eligibility`).
        reasons
            ``text`` (codes, contributions and Chinese / English texts), ``codes`` (no
            texts; fastest with reasons) or ``none``.

        Returns
        -------
        pandas.DataFrame
            Same index as ``X``: the :data:`SCORE_COLUMNS` except ``uscc`` and ``as_of``,
            then the reason columns.
        """
        check_choice("reasons", reasons, REASON_MODES)
        model = self.pd_model
        matrix = model.matrix(X)
        probability = model.calibrator_.transform(model.predict_matrix(matrix))
        grade = model.grade_of(probability)
        band = model.config_.grades.grade(probability)
        expected = model.fitted_grades_.set_index("grade")["expected_bad_rate"]
        limits = self.limit_model.predict_frame(X.assign(pd=probability))
        eligible = eligibility["eligible"].to_numpy(dtype=bool)
        offered = {
            column: np.where(eligible, limits[column].to_numpy(), 0.0)
            for column in ("suggested_limit", "limit_low", "limit_high")
        }
        whitelisted = (
            eligible & (offered["suggested_limit"] > 0) & (band <= self.whitelist_max_grade)
        )
        why_codes, why_zh, why_en = not_whitelisted_reasons(
            eligible, offered["suggested_limit"], band, probability, self.whitelist_max_grade
        )
        out = pd.DataFrame(
            {
                "eligible": eligible,
                "whitelisted": whitelisted,
                "pd": probability,
                "grade": grade,
                "pd_band": band,
                "expected_bad_rate": expected.reindex(grade).to_numpy(dtype=np.float64),
                **offered,
                "decline_codes": eligibility["decline_codes"].to_numpy(),
                "decline_reasons_zh": eligibility["decline_reasons_zh"].to_numpy(),
                "decline_reasons_en": eligibility["decline_reasons_en"].to_numpy(),
                "not_whitelisted_codes": why_codes,
                "not_whitelisted_reasons_zh": why_zh,
                "not_whitelisted_reasons_en": why_en,
            },
            index=X.index,
        )
        if reasons == "none":
            return out
        contributions = pd.DataFrame(
            model.predict_matrix(matrix, contributions=True)[:, :-1],
            columns=model.feature_names_,
            index=X.index,
        )
        explained = self.reasons.explain(contributions, X, text=reasons == "text")
        return pd.concat([out, explained], axis=1)

    def score(
        self, data: PlatformData, applications: pd.DataFrame, *, reasons: str = "text"
    ) -> pd.DataFrame:
        """The whole pipeline for applications (``uscc``, ``as_of``).

        Returns
        -------
        pandas.DataFrame
            :data:`SCORE_COLUMNS` and the reason columns, same index as ``applications``.
        """
        apps = validate_applications(applications)
        X = self.features(data, apps)
        scored = self.score_features(X, self.eligibility(data, apps), reasons=reasons)
        return pd.concat([apps[["uscc", "as_of"]], scored], axis=1)


def _propagation(context: Mapping[str, Any], risk_config: RiskConfig | None) -> PropagationConfig:
    """The propagation the scorer computes features with (see :class:`PrecreditScorer`)."""
    # Versions registered before the RiskConfig kept the propagation in the feature config.
    stored = context.get("risk_config", context.get("feature_config", {}))
    trained = (
        RiskConfig.from_dict({"propagation": stored["propagation"]}).propagation
        if "propagation" in stored
        else None
    )
    if risk_config is None:
        return RiskConfig().propagation if trained is None else trained
    if not isinstance(risk_config, RiskConfig):
        raise TypeError(f"risk_config must be a RiskConfig; got {type(risk_config).__name__}")
    if trained is not None and risk_config.propagation.to_dict() != trained.to_dict():
        raise ValueError(
            "risk_config.propagation must be the one the PD model was trained with "
            f"({json.dumps(trained.to_dict(), sort_keys=True)}); got "
            f"{json.dumps(risk_config.propagation.to_dict(), sort_keys=True)}: retrain the "
            "models with this risk config"
        )
    return risk_config.propagation


def score_enterprises(
    source: PlatformData | Any,
    as_of: date | pd.Timestamp | str,
    scorer: PrecreditScorer,
    *,
    reasons: str = "text",
) -> pd.DataFrame:
    """Score every enterprise active on ``as_of``: the 信易贷白名单 with limits and reasons.

    Parameters
    ----------
    source
        A store engine, a mapping of contract frames, or a :class:`PlatformData`.
    as_of
        The scoring date.
    scorer
        The pipeline (e.g. ``PrecreditScorer.from_registry(tracking_uri)``).
    reasons
        ``text``, ``codes`` or ``none``.

    Returns
    -------
    pandas.DataFrame
        One row per active enterprise (:meth:`PrecreditScorer.score`), whitelisted first,
        then by PD.
    """
    if not isinstance(scorer, PrecreditScorer):
        raise TypeError(f"scorer must be a PrecreditScorer; got {type(scorer).__name__}")
    data = PlatformData.from_source(source)
    scored = scorer.score(data, applications_on(data, as_of), reasons=reasons)
    return scored.sort_values(
        ["whitelisted", "pd", "uscc"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
