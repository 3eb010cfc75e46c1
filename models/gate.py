"""The promotion gate's standards: the quality floor every champion meets, the verdict, and
who may force a promotion.

:class:`models.registry.ModelRegistry` runs the gate (:meth:`~models.registry.ModelRegistry.
evaluate`, :meth:`~models.registry.ModelRegistry.promote`); this module holds what it judges
by: :class:`QualityFloor` (the least a PD, limit or warning model must show on its own
holdout, the first champion included), :class:`PromotionResult` (the verdict, kept as a
model-version tag) and :func:`check_accountability` (a forced promotion names a person and a
reason).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy.stats import norm

from risk.identifiers import contains_id_number
from risk.validation import check_int, check_real

__all__ = ["PSI_THRESHOLD", "PromotionResult", "QualityFloor", "check_accountability"]

PSI_THRESHOLD = 0.25
"""Score PSI from which a shift is significant: no champion may show one."""


@dataclass(frozen=True)
class QualityFloor:
    """The least a version must show on its own holdout to become champion — the first too.

    Parameters
    ----------
    min_auc
        PD and bank-table models: holdout AUC at least this, in [0.5, 1] (default 0.60).
        AUC 0.5 is chance; a PD that ranks barely better (0.505 once became the first
        champion) misprices every assessment it serves. 0.60 — a Gini of 0.20 — is the
        low end of the discrimination credit scorecards are used with; the pre-credit
        PD scores 0.73–0.77 on the synthetic demo and test counties.
    min_warning_auc
        The learned warning, in [0.5, 1] (default 0.55). It decides no credit: it orders the
        credit office's attention next to the county rules, which stay in force, so it is
        also held to the rules themselves (below). It scores 0.58–0.63 on the synthetic
        counties.
    min_bads
        Bads (PD) or new violations (warning) in the holdout, at least this, ≥ 1 (default
        10): an AUC on fewer is an anecdote.
    confidence
        Two-sided level in (0, 1) of the AUC's confidence interval (Hanley & McNeil,
        :func:`models.metrics.auc_standard_error`) whose lower bound must be above 0.5:
        the holdout must show the model beats chance, not just happen to (default 0.95).
        With 14 bads at AUC 0.77 the bound is 0.62; with 6 bads at 0.56 it is 0.43.
    min_performed
        Limit models: performed loans with an approved amount in the holdout, ≥ 1 (default
        30).
    min_rank_correlation
        Limit models: Spearman correlation of the suggested limits with the amounts banks
        lent to enterprises that repaid, in [-1, 1] (default 0.5; 0.72–0.83 on the synthetic
        counties). Besides, the limit model must beat the 银税互动 rule of thumb's mean
        absolute error on the same loans (DESIGN §5: the baseline it must beat).
    max_psi
        Score PSI, holdout against the model's score reference, below this, > 0 (default
        0.25, the usual "significant shift" threshold). The reference is out of sample for
        the PD (its pooled validation and calibration scores), a bank table's model (its
        out-of-fold scores) and the warning (its held-out enterprises' scores, the
        early-stopping set).

    Notes
    -----
    The warning must also be at least as precise as the rules at the rules' own workload:
    among its top-|flagged| enterprises of the held-out year, as many get a new violation as
    among those the rules flagged (when the rules flagged any).
    """

    min_auc: float = 0.60
    min_warning_auc: float = 0.55
    min_bads: int = 10
    confidence: float = 0.95
    min_performed: int = 30
    min_rank_correlation: float = 0.5
    max_psi: float = PSI_THRESHOLD

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "min_auc", check_real("min_auc", self.min_auc, 0.5, 1.0))
        put(self, "min_warning_auc", check_real("min_warning_auc", self.min_warning_auc, 0.5, 1.0))
        put(self, "min_bads", check_int("min_bads", self.min_bads, 1))
        put(
            self,
            "confidence",
            check_real("confidence", self.confidence, 0.0, 1.0, open_low=True, open_high=True),
        )
        put(self, "min_performed", check_int("min_performed", self.min_performed, 1))
        put(
            self,
            "min_rank_correlation",
            check_real("min_rank_correlation", self.min_rank_correlation, -1.0, 1.0),
        )
        put(self, "max_psi", check_real("max_psi", self.max_psi, 0.0, open_low=True))

    def failures(self, kind: str, quality: Mapping[str, float]) -> list[str]:
        """The floor's failed checks for an estimator of ``kind`` with this holdout quality.

        Parameters
        ----------
        kind
            ``pd`` (also bank tables), ``limit`` or ``warning`` (the estimator's ``kind``).
        quality
            The estimator's ``holdout_quality`` on its holdout.

        Returns
        -------
        list of str
            One sentence per failed check (empty: the floor holds). A missing or NaN measure
            fails its check.
        """
        if kind == "limit":
            return self._limit_failures(quality)
        warning = kind == "warning"
        return self._binary_failures(
            quality,
            self.min_warning_auc if warning else self.min_auc,
            "new violations" if warning else "bads",
        ) + (self._rules_failures(quality) if warning else [])

    def _binary_failures(
        self, quality: Mapping[str, float], min_auc: float, events: str
    ) -> list[str]:
        failures = []
        bads, auc = _value(quality, "bads"), _value(quality, "auc")
        if not bads >= self.min_bads:
            failures.append(
                f"holdout has {bads:.0f} {events}, fewer than the floor's {self.min_bads}"
            )
        if not auc >= min_auc:
            failures.append(f"holdout AUC {auc:.3f} is below the floor {min_auc:.2f}")
        z = float(norm.ppf(0.5 + self.confidence / 2))
        lower = auc - z * _value(quality, "auc_se")
        if not lower > 0.5:
            failures.append(
                f"holdout AUC {auc:.3f} is not above chance with {self.confidence:.0%} "
                f"confidence (lower bound {lower:.3f} on {bads:.0f} {events})"
            )
        return failures

    @staticmethod
    def _rules_failures(quality: Mapping[str, float]) -> list[str]:
        if "flagged" not in quality:
            return ["the holdout carries no rule flags to compare with (retrain the warning)"]
        model, rules = _value(quality, "precision_at_flagged"), _value(quality, "rules_precision")
        if _value(quality, "flagged") > 0 and not model >= rules:
            return [
                f"at the rules' workload ({quality['flagged']:.0f} flagged) precision "
                f"{model:.3f} is below the rules' {rules:.3f}"
            ]
        return []

    def _limit_failures(self, quality: Mapping[str, float]) -> list[str]:
        failures = []
        performed = _value(quality, "performed")
        if not performed >= self.min_performed:
            failures.append(
                f"holdout has {performed:.0f} performed loans, fewer than the floor's "
                f"{self.min_performed}"
            )
        mae, rule = _value(quality, "mae"), _value(quality, "rule_mae")
        if not mae <= rule:
            failures.append(
                f"mean absolute error {mae:.1f} 万元 does not beat the 银税互动 rule of thumb's "
                f"{rule:.1f} on the same loans"
            )
        correlation = _value(quality, "rank_correlation")
        if not correlation >= self.min_rank_correlation:
            failures.append(
                f"rank correlation with approved amounts {correlation:.3f} is below the floor "
                f"{self.min_rank_correlation:.2f}"
            )
        return failures

    def to_dict(self) -> dict[str, float]:
        """JSON-ready thresholds (kept with each promotion verdict)."""
        return asdict(self)


def _value(quality: Mapping[str, float], key: str) -> float:
    value = quality.get(key, math.nan)
    return float(value) if value is not None else math.nan


_ACTOR_LENGTH = (1, 100)
_REASON_LENGTH = (10, 500)


def check_accountability(actor: Any, reason: Any) -> tuple[str | None, str | None]:
    """Who promotes and why, checked; stripped of surrounding blanks.

    ``actor`` is a person's name or staff id, 1–100 characters; ``reason`` a sentence of
    10–500 characters (a word is not a reason). Neither may hold control characters or a
    resident ID number: both are stored as model-version tags and printed.

    Returns
    -------
    tuple
        ``(actor, reason)``; ``None`` stays ``None``.

    Raises
    ------
    TypeError
        If a value is not a string (or ``None``).
    ValueError
        If a value breaks a rule above.
    """
    checked: list[str | None] = []
    for name, value, (low, high) in (
        ("actor", actor, _ACTOR_LENGTH),
        ("reason", reason, _REASON_LENGTH),
    ):
        if value is None:
            checked.append(None)
            continue
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str; got {type(value).__name__}")
        text = value.strip()
        if contains_id_number(text):
            raise ValueError(f"{name} must not hold a resident ID number; got one")
        if any(unicodedata.category(c) == "Cc" for c in text):
            raise ValueError(f"{name} must not hold control characters; got {text[:40]!r}")
        if not low <= len(text) <= high:
            raise ValueError(f"{name} must have {low}–{high} characters; got {len(text)}")
        checked.append(text)
    return checked[0], checked[1]


@dataclass(frozen=True)
class PromotionResult:
    """The promotion gate's verdict on one version.

    Attributes
    ----------
    name, version : str
        The registered model and the candidate version.
    champion_version : str or None
        The champion before the decision.
    challenger_score, champion_score : float
        The gate metric on the candidate's holdout (NaN when there is no champion).
    monotonicity_violations : int
        Rows whose predictions reversed in the sweep.
    psi : float
        PSI of the candidate's predictions, holdout against training.
    failures : tuple of str
        The checks that failed (empty when the gate passed).
    forced : bool
        Promoted despite failures.
    promoted : bool
        Whether ``champion`` now points at ``version``.
    quality : dict
        What the floor read on the holdout (the estimator's ``holdout_quality``).
    floor : dict
        The floor's thresholds (:meth:`QualityFloor.to_dict`).
    actor, reason : str or None
        Who promoted and why (required when forced).
    promoted_at : str or None
        ISO UTC time of the promotion.
    """

    name: str
    version: str
    champion_version: str | None
    challenger_score: float
    champion_score: float
    monotonicity_violations: int
    psi: float
    failures: tuple[str, ...]
    forced: bool
    promoted: bool
    quality: dict[str, float] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)
    actor: str | None = None
    reason: str | None = None
    promoted_at: str | None = None

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return not self.failures
