"""Suggested credit limit (建议授信额度): capacity × PD-grade multiplier, within policy caps.

The limit of an enterprise with grade g (from the calibrated PD) is

.. math::

    L = \\operatorname{round}_{s}\\bigl(\\min(\\mathrm{cap}_{kind},\\;
        C \\cdot d \\cdot m_g)\\bigr), \\qquad
    C = F + \\min\\bigl(w_K K,\\; \\tfrac{s_K}{1 - s_K} F\\bigr) \\cdot [\\bar T > 0 \\lor E > 0],
    \\qquad F = w_T \\bar T + w_E E + w_G G

where T̄ is the average annual tax paid over the last two years (万元), E the insured
employees, G the annual government procurement, K the registered capital (注册资本, 万元)
— counted only for a firm that pays tax or insures employees, and at most a share s_K of the
capacity (``LimitPolicy.capital_cap_share``, default 0.8: the capital term is at most four
times the flows F) —
``d = clip(u / u_ref, d_min, 1)`` a haircut for utility bills paid late (u: on-time rate;
missing → 1), ``m_g`` the policy multiplier of grade g (1.0 at grade 4, 0 for grades that get
no offer), ``cap_kind`` the product cap per enterprise kind and ``round_s`` rounding down to a
multiple of the step s (5 万元); limits below the minimum become 0 (no offer). The range is
the same formula with the multipliers of the neighbouring grades: ``low`` uses ``m_{g+1}``
(one grade worse), ``high`` uses ``m_{g−1}``.

:class:`LimitModel` learns the capacity weights w = (w_T, w_E, w_G, w_K) ≥ 0 from the loans
that performed (label 0) in the training period: it fits ``C · d · m_g`` to the amounts the banks
approved by non-negative least squares on *relative* errors (each loan weighted by 1/amount),
so small and large loans count alike. Without enough performing loans it keeps the policy's
weights (7 × tax, the midpoint of the 银税互动 rule of thumb; nothing on capital).

Registered capital is a capacity column because banks lend on it when the tax paid is small:
the approved amount is often a share of the capital rather than a multiple of the tax (so the
synthetic county's banks: 5–9 × tax *or* about 0.2 × capital, whichever is larger). Without
it, three in four performing test loans of a small synthetic county were capital-driven and
missed by both the model and the rule of thumb (mean absolute error about 26 万元 each, on
amounts averaging 42), and whether the model beat the rule was decided by the PD bands'
multipliers alone. The weight is learned (zero when the banks' amounts do not follow the
capital) and the product caps bound what a large registration can earn.

Registered capital is subscribed (认缴), not paid in: since 2014 a founder may register any
amount and pay it over decades. A shell with no tax, no insured employees and 1 亿 of
subscribed capital must not reach the 白名单 on it, so the capital counts only for a firm
that pays tax or insures employees, and its term is at most ``capital_cap_share`` of the
capacity (0.8 by default: the flows carry at least a fifth of it). A cap of one half failed
the limit's quality floor on the demo county, whose banks lend about 0.2 × capital to firms
paying little tax (the capital-driven loans above); 0.8 passes it. Both are applied
when limits are computed; the weights are learned on the gated capital, not the capped one.
Limits stay non-decreasing in the capital (the cap is a ``min``) and in tax and employees.

The baseline it must beat (DESIGN.md §5) is the 银税互动 rule of thumb: 5–9 × the average
annual tax, 7 × as the point; :func:`backtest_limits` compares both on the same loans.

References
----------
.. [1] 国家税务总局、中国银保监会《关于进一步深化“银税互动”助力民营企业发展的通知》
   (税总发〔2019〕113号): lending on tax-payment records; in practice county banks offer
   5–9 times the annual tax paid to A/B-grade taxpayers.
.. [2] Lawson, C. L., Hanson, R. J. (1974). *Solving Least Squares Problems*. Prentice-Hall
   (the NNLS algorithm of :func:`scipy.optimize.nnls`).

About 700 lines, in one module on purpose: the policy, the model that learns its weights and
the backtest against the rule of thumb apply the one formula above, and read together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import pairwise
from math import nan
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import nnls

from models.artifacts import built_from, read_json
from models.booster import LABEL
from models.exceptions import NotFittedError
from models.metrics import PSIReference, monotonicity_violations
from models.pd import GradeScale
from risk.contract import EnterpriseKind
from risk.frames import require_frame
from risk.validation import check_bool, check_int, check_real

__all__ = [
    "CAPACITY_FEATURES",
    "DEFAULT_KIND_CAPS",
    "RULE_OF_THUMB",
    "LimitModel",
    "LimitPolicy",
    "backtest_limits",
    "rule_of_thumb_limits",
]

CAPACITY_FEATURES = (
    "tax_paid_12m",
    "tax_paid_prev_12m",
    "employees",
    "procurement_12m",
    "utility_on_time",
    "registered_capital",
    "kind",
)
"""Feature columns the limit reads (besides the ``pd`` column)."""

DEFAULT_KIND_CAPS: Mapping[str, float] = MappingProxyType(
    {
        EnterpriseKind.company.value: 1000.0,
        EnterpriseKind.partnership.value: 500.0,
        EnterpriseKind.individual_business.value: 50.0,
        EnterpriseKind.branch.value: 0.0,  # borrows through its parent
        EnterpriseKind.social_org.value: 0.0,
    }
)
"""Product caps per enterprise kind (万元); 0 means the product is not offered."""

RULE_OF_THUMB = (5.0, 7.0, 9.0)
"""银税互动: low, point and high multiples of the average annual tax."""

_WEIGHT_NAMES = ("tax", "employees", "procurement", "capital")


@dataclass(frozen=True)
class LimitPolicy:
    """The limit formula's policy parameters (frozen, validated).

    Parameters
    ----------
    tax_multiple, per_employee, procurement_share, capital_share
        Capacity weights used before learning and when learning is off or impossible: 万元
        per 万元 of average annual tax (default 7), per insured employee (default 2), per
        万元 of annual procurement (default 0.3) and per 万元 of registered capital (default
        0: the policy lends on flows, a registration alone earns nothing); each ≥ 0.
    capital_cap_share
        Most of the capacity the registered capital may make up, in [0, 1) (default 0.8:
        at most four times what tax, employees and procurement give); the capital counts at all
        only for a firm with tax paid or insured employees (module docstring).
    learn_weights
        Learn the weights from performing loans (default on).
    min_fit_loans
        Fewest performing loans to learn from, ≥ 1 (default 30).
    utility_reference, utility_floor
        The haircut ``clip(u / utility_reference, utility_floor, 1)``; reference in (0, 1],
        floor in [0, 1] (defaults 0.95 and 0.5).
    grade_multipliers
        One multiplier ≥ 0 per grade of ``grades``, non-increasing (worse grade, lower
        multiplier); default 1.3, 1.2, 1.1, 1.0, 0.8, 0.6, 0.3, 0.
    grades
        The master scale the PD is banded on (default :class:`models.pd.GradeScale`).
    kind_caps
        Cap per enterprise kind (万元, ≥ 0); kinds left out keep :data:`DEFAULT_KIND_CAPS`.
    min_limit
        Limits below this become 0 (no offer), ≥ 0 (default 5 万元).
    step
        Limits are rounded down to a multiple of it, > 0 (default 5 万元).

    Raises
    ------
    TypeError, ValueError
        On a wrong type or a value out of range.
    """

    tax_multiple: float = 7.0
    per_employee: float = 2.0
    procurement_share: float = 0.3
    capital_share: float = 0.0
    capital_cap_share: float = 0.8
    learn_weights: bool = True
    min_fit_loans: int = 30
    utility_reference: float = 0.95
    utility_floor: float = 0.5
    grade_multipliers: tuple[float, ...] = (1.3, 1.2, 1.1, 1.0, 0.8, 0.6, 0.3, 0.0)
    grades: GradeScale = field(default_factory=GradeScale)
    kind_caps: Mapping[str, float] = field(default_factory=lambda: DEFAULT_KIND_CAPS)
    min_limit: float = 5.0
    step: float = 5.0

    def __post_init__(self) -> None:
        put = object.__setattr__
        for name in ("tax_multiple", "per_employee", "procurement_share", "capital_share"):
            put(self, name, check_real(name, getattr(self, name), 0.0))
        put(
            self,
            "capital_cap_share",
            check_real("capital_cap_share", self.capital_cap_share, 0.0, 1.0, open_high=True),
        )
        check_bool("learn_weights", self.learn_weights)
        put(self, "min_fit_loans", check_int("min_fit_loans", self.min_fit_loans, 1))
        put(
            self,
            "utility_reference",
            check_real("utility_reference", self.utility_reference, 0.0, 1.0, open_low=True),
        )
        put(self, "utility_floor", check_real("utility_floor", self.utility_floor, 0.0, 1.0))
        if not isinstance(self.grades, GradeScale):
            raise TypeError(f"grades must be a GradeScale; got {type(self.grades).__name__}")
        multipliers = self.grade_multipliers
        if isinstance(multipliers, str) or not isinstance(multipliers, Sequence):
            raise TypeError(
                f"grade_multipliers must be a sequence of floats; got {type(multipliers).__name__}"
            )
        values = tuple(check_real("grade_multipliers[]", m, 0.0) for m in multipliers)
        if len(values) != self.grades.n_grades:
            raise ValueError(
                f"grade_multipliers must have one value per grade ({self.grades.n_grades}); "
                f"got {len(values)}"
            )
        if any(b > a for a, b in pairwise(values)):
            raise ValueError(f"grade_multipliers must be non-increasing; got {multipliers!r}")
        put(self, "grade_multipliers", values)
        if not isinstance(self.kind_caps, Mapping):
            raise TypeError(f"kind_caps must be a mapping; got {type(self.kind_caps).__name__}")
        caps = dict(DEFAULT_KIND_CAPS)
        for kind, cap in self.kind_caps.items():
            try:
                code = EnterpriseKind(kind).value
            except ValueError:
                raise ValueError(
                    f"kind_caps keys must be one of {', '.join(EnterpriseKind)}; got {kind!r}"
                ) from None
            caps[code] = check_real(f"kind_caps[{code}]", cap, 0.0)
        put(self, "kind_caps", MappingProxyType(caps))
        put(self, "min_limit", check_real("min_limit", self.min_limit, 0.0))
        put(self, "step", check_real("step", self.step, 0.0, open_low=True))

    def default_weights(self) -> dict[str, float]:
        """The policy's capacity weights (tax, employees, procurement, capital)."""
        return dict(
            zip(
                _WEIGHT_NAMES,
                (self.tax_multiple, self.per_employee, self.procurement_share, self.capital_share),
                strict=True,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["grades"] = list(self.grades.bounds)
        data["grade_multipliers"] = list(self.grade_multipliers)
        data["kind_caps"] = dict(self.kind_caps)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LimitPolicy:
        """Rebuild from :meth:`to_dict` output."""
        values = dict(data)
        values["grades"] = GradeScale(tuple(values["grades"]))
        values["grade_multipliers"] = tuple(values["grade_multipliers"])
        return cls(**values)


def _column(X: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    return pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _average_tax(X: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Average annual tax over the last two years (one year when only one is known; 0 if none)."""
    both = np.column_stack([_column(X, "tax_paid_12m"), _column(X, "tax_paid_prev_12m")])
    known = ~np.isnan(both)
    total = np.where(known, both, 0.0).sum(axis=1)
    count = known.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def _capacity_matrix(X: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Columns T̄, E, G, K (missing → 0; K is 0 for a firm with neither tax paid nor insured
    employees: its subscribed capital alone earns nothing)."""
    tax = _average_tax(X)
    employees = np.nan_to_num(_column(X, "employees"))
    operating = (tax > 0) | (employees > 0)
    capital = np.where(operating, np.nan_to_num(_column(X, "registered_capital")), 0.0)
    return np.column_stack([tax, employees, np.nan_to_num(_column(X, "procurement_12m")), capital])


def _round_limits(
    raw: npt.NDArray[np.float64], cap: npt.NDArray[np.float64], policy: LimitPolicy
) -> npt.NDArray[np.float64]:
    # Down to a multiple of the step (never above capacity or cap); 1e-9 absorbs float error.
    rounded = np.floor(np.minimum(raw, cap) / policy.step + 1e-9) * policy.step
    return np.where(rounded < max(policy.min_limit, 1e-9), 0.0, rounded)


def _caps(X: pd.DataFrame, policy: LimitPolicy) -> npt.NDArray[np.float64]:
    kinds = X["kind"].astype(object).to_numpy()
    return pd.Series(kinds).map(dict(policy.kind_caps)).fillna(0.0).to_numpy(dtype=np.float64)


def rule_of_thumb_limits(
    X: pd.DataFrame, policy: LimitPolicy | None = None, multiples: Sequence[float] = RULE_OF_THUMB
) -> pd.DataFrame:
    """The 银税互动 baseline: low, point and high multiples of the average annual tax.

    The same caps, minimum and rounding as the limit model apply, so the two are compared on
    the policy alone.

    Returns
    -------
    pandas.DataFrame
        ``rule_low``, ``rule_limit``, ``rule_high`` (万元), same index as ``X``.
    """
    policy = LimitPolicy() if policy is None else policy
    tax = _average_tax(X)
    cap = _caps(X, policy)
    low, point, high = (float(m) for m in multiples)
    return pd.DataFrame(
        {
            "rule_low": _round_limits(low * tax, cap, policy),
            "rule_limit": _round_limits(point * tax, cap, policy),
            "rule_high": _round_limits(high * tax, cap, policy),
        },
        index=X.index,
    )


class LimitModel:
    r"""Suggested limits from capacity and PD grade (scikit-learn style).

    Parameters
    ----------
    policy
        Default ``LimitPolicy()``.

    Attributes
    ----------
    policy_ : LimitPolicy
    weights_ : dict of str to float
        Capacity weights: ``tax``, ``employees``, ``procurement``, ``capital``.
    weights_learned_ : bool
        Whether :attr:`weights_` were fitted (else the policy's).
    n_fit_ : int
        Performing loans the weights were fitted on.
    limit_reference_ : models.metrics.PSIReference
        Distribution of the suggested limits on ``fit``'s ``reference`` loans (held out of the
        fit), for stability checks; on the training loans only when ``fit`` had none.

    Notes
    -----
    ``L = round_s(min(cap_kind, C · d · m_g))``, ``C = F + min(w_K·K, s_K/(1 − s_K)·F)`` with
    ``F = w_T·T̄ + w_E·E + w_G·G`` (K zero without tax or insured employees), and the range
    from the multipliers of the neighbouring grades (see the module docstring). :meth:`fit` solves

    .. math:: \min_{w \ge 0} \sum_i \Bigl(\frac{x_i^\top w \, d_i m_{g_i} - A_i}{A_i}\Bigr)^2

    over the performing loans i with approved amount A_i (NNLS on rows scaled by 1/A_i), so
    the weights reproduce what banks lent to enterprises that repaid, in relative terms.
    """

    kind: ClassVar[str] = "limit"
    meta_file: ClassVar[str] = "limit_model.json"

    def __init__(self, policy: LimitPolicy | None = None) -> None:
        self.policy = policy

    def fit(
        self,
        X: pd.DataFrame,
        approved_amount: npt.ArrayLike,
        label: npt.ArrayLike,
        pd_values: npt.ArrayLike,
        *,
        reference: pd.DataFrame | None = None,
    ) -> LimitModel:
        """Learn the capacity weights from the loans that performed.

        Parameters
        ----------
        X
            Feature frame with :data:`CAPACITY_FEATURES`.
        approved_amount
            The banks' approved amounts (万元).
        label
            Outcomes (0 performed, 1 bad); only performed loans teach the weights.
        pd_values
            Calibrated PDs of the same rows.
        reference
            Held-out loans (:data:`CAPACITY_FEATURES` and ``pd``, their out-of-sample PDs)
            whose suggested limits are :attr:`limit_reference_`, the stability (PSI)
            reference; ``None``: the training loans' own limits, whose in-sample PDs are
            sharper than any new sample's.

        Returns
        -------
        LimitModel
            ``self``.
        """
        policy = LimitPolicy() if self.policy is None else self.policy
        if not isinstance(policy, LimitPolicy):
            raise TypeError(f"policy must be a LimitPolicy; got {type(policy).__name__}")
        _check_columns(X)
        amount = np.asarray(approved_amount, dtype=np.float64)
        outcome = np.asarray(label, dtype=np.float64)
        probability = np.asarray(pd_values, dtype=np.float64)
        if not (amount.shape == outcome.shape == probability.shape == (len(X),)):
            raise ValueError(
                f"approved_amount, label and pd_values must have one value per row ({len(X)})"
            )
        self.policy_ = policy
        scale = self._haircut(X) * self._multiplier(policy.grades.grade(probability))
        fit_rows = (outcome == 0) & (amount > 0) & (scale > 0) & np.isfinite(amount)
        weights = policy.default_weights()
        learned = False
        if policy.learn_weights and fit_rows.sum() >= policy.min_fit_loans:
            design = _capacity_matrix(X)[fit_rows] * scale[fit_rows, None]
            target = amount[fit_rows]
            solution, _ = nnls(design / target[:, None], np.ones(target.size))
            if solution.any():
                weights = dict(zip(_WEIGHT_NAMES, (float(w) for w in solution), strict=True))
                learned = True
        self.weights_ = weights
        self.weights_learned_ = learned
        self.n_fit_ = int(fit_rows.sum())
        reference = X.assign(pd=probability) if reference is None else reference
        limits = self.predict_frame(reference)["suggested_limit"]
        self.limit_reference_ = PSIReference.from_sample(limits.to_numpy())
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError("LimitModel is not fitted; call fit first")

    def _haircut(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        policy = self.policy_
        utility = _column(X, "utility_on_time")
        factor = np.clip(utility / policy.utility_reference, policy.utility_floor, 1.0)
        return np.where(np.isnan(utility), 1.0, factor)

    def _multiplier(self, grade: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        table = np.asarray(self.policy_.grade_multipliers)
        return table[np.clip(grade, 1, table.size) - 1]

    def capacity(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """``C · d``: the capacity proxy with the utility haircut, before grade and caps.

        The capital term is at most ``capital_cap_share`` of ``C`` (module docstring).
        """
        self._check_fitted()
        weights = np.array([self.weights_[name] for name in _WEIGHT_NAMES])
        columns = _capacity_matrix(X)
        flows = columns[:, :3] @ weights[:3]
        share = self.policy_.capital_cap_share
        capital = np.minimum(columns[:, 3] * weights[3], flows * share / (1.0 - share))
        return (flows + capital) * self._haircut(X)

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Suggested limit and range of each row.

        Parameters
        ----------
        X
            :data:`CAPACITY_FEATURES` and ``pd`` (calibrated PD).

        Returns
        -------
        pandas.DataFrame
            ``grade``, ``capacity``, ``suggested_limit``, ``limit_low``, ``limit_high``
            (万元; 0 = no offer), same index as ``X``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        _check_columns(X, with_pd=True)
        policy = self.policy_
        grade = policy.grades.grade(_column(X, "pd"))
        capacity = self.capacity(X)
        cap = _caps(X, policy)
        worse = np.minimum(grade + 1, policy.grades.n_grades)
        better = np.maximum(grade - 1, 1)
        return pd.DataFrame(
            {
                "grade": grade,
                "capacity": capacity,
                "suggested_limit": _round_limits(capacity * self._multiplier(grade), cap, policy),
                "limit_low": _round_limits(capacity * self._multiplier(worse), cap, policy),
                "limit_high": _round_limits(capacity * self._multiplier(better), cap, policy),
            },
            index=X.index,
        )

    # ------------------------------------------------------------------ promotion gate

    def holdout_score(self, holdout: pd.DataFrame) -> float:
        """Minus the median relative error against the amounts of loans that performed.

        Higher is better; the holdout needs ``pd``, :data:`LABEL` and ``approved_amount``.
        """
        frame = self.predict_frame(holdout)
        amount = holdout["approved_amount"].to_numpy(dtype=np.float64)
        performed = (holdout[LABEL].to_numpy() == 0) & (amount > 0)
        if not performed.any():
            return float("nan")
        error = np.abs(frame["suggested_limit"].to_numpy() - amount) / amount
        return -float(np.median(error[performed]))

    def holdout_quality(self, holdout: pd.DataFrame) -> dict[str, float]:
        """What the quality floor reads, on the holdout's performed loans (label 0, approved
        amount > 0): ``performed``, ``mae`` and ``rule_mae`` (mean absolute error of the
        suggested limits and of the 银税互动 rule of thumb against the approved amounts, 万元)
        and ``rank_correlation`` (Spearman, suggested limits against approved amounts).

        The holdout needs the capacity features, ``pd``, :data:`LABEL` and
        ``approved_amount``.
        """
        limits = self.predict_frame(holdout)["suggested_limit"].to_numpy(dtype=np.float64)
        rule = rule_of_thumb_limits(holdout, self.policy_)["rule_limit"].to_numpy(np.float64)
        amount = holdout["approved_amount"].to_numpy(dtype=np.float64)
        performed = (holdout[LABEL].to_numpy(dtype=np.float64) == 0) & (amount > 0)
        quality = {"performed": float(performed.sum())}
        if performed.sum() < 2:
            return quality | {"mae": nan, "rule_mae": nan, "rank_correlation": nan}
        quality["mae"] = float(np.abs(limits - amount)[performed].mean())
        quality["rule_mae"] = float(np.abs(rule - amount)[performed].mean())
        ranks = pd.DataFrame({"limit": limits[performed], "amount": amount[performed]}).rank()
        quality["rank_correlation"] = float(ranks["limit"].corr(ranks["amount"]))
        return quality

    def monotonicity_report(self, holdout: pd.DataFrame, *, sample: int = 200) -> pd.DataFrame:
        """Limits must not rise with the PD nor fall with tax paid, employees or capital."""
        self._check_fitted()
        constraints = {
            "pd": -1,
            "tax_paid_12m": 1,
            "tax_paid_prev_12m": 1,
            "employees": 1,
            "registered_capital": 1,
        }
        return monotonicity_violations(
            lambda X: self.predict_frame(X)["suggested_limit"].to_numpy(),
            holdout,
            constraints,
            sample=sample,
        )

    def holdout_psi(self, holdout: pd.DataFrame) -> float:
        """PSI of the suggested limits on the holdout against :attr:`limit_reference_`."""
        return self.limit_reference_.psi(self.predict_frame(holdout)["suggested_limit"])

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | Path) -> Path:
        """Write ``limit_model.json`` into ``directory`` (created)."""
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "kind": self.kind,
            "policy": self.policy_.to_dict(),
            "weights": self.weights_,
            "weights_learned": self.weights_learned_,
            "n_fit": self.n_fit_,
            "limit_reference": self.limit_reference_.to_dict(),
        }
        (path / self.meta_file).write_text(json.dumps(meta, indent=1), "utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> LimitModel:
        """Read a model written by :meth:`save`, as data (:mod:`models.artifacts`).

        Raises
        ------
        ArtifactError
            If ``limit_model.json`` is missing or malformed.
        """
        meta = read_json(Path(directory) / cls.meta_file)
        with built_from(cls.meta_file):
            if meta["kind"] != cls.kind:
                raise ValueError(f"kind must be {cls.kind!r}; got {meta['kind']!r}")
            policy = LimitPolicy.from_dict(meta["policy"])
            model = cls(policy)
            model.policy_ = policy
            weights = {str(k): float(v) for k, v in meta["weights"].items()}
            # Saved before registered capital was a capacity column: it lent nothing on it.
            weights.setdefault("capital", 0.0)
            if sorted(weights) != sorted(_WEIGHT_NAMES) or not all(
                np.isfinite(w) and w >= 0 for w in weights.values()
            ):
                raise ValueError(
                    f"weights must be finite and ≥ 0 for {', '.join(_WEIGHT_NAMES)}; got "
                    f"{sorted(weights)}"
                )
            model.weights_ = weights
            model.weights_learned_ = bool(meta["weights_learned"])
            model.n_fit_ = int(meta["n_fit"])
            model.limit_reference_ = PSIReference.from_dict(meta["limit_reference"])
        return model


def _check_columns(X: pd.DataFrame, *, with_pd: bool = False) -> None:
    require_frame(X, "X", [*CAPACITY_FEATURES, "pd"] if with_pd else CAPACITY_FEATURES)


def backtest_limits(
    loans: pd.DataFrame,
    limits: pd.DataFrame,
    rule: pd.DataFrame,
    *,
    segment: str | None = None,
) -> pd.DataFrame:
    """Compare the limit model with the 银税互动 rule of thumb on the same loans.

    Parameters
    ----------
    loans
        ``approved_amount`` and :data:`LABEL` (1 = bad) per loan, plus ``segment`` if given.
    limits
        :meth:`LimitModel.predict_frame` of the same rows.
    rule
        :func:`rule_of_thumb_limits` of the same rows.
    segment
        Optional column of ``loans`` to break the table down by (e.g. ``kind``).

    Returns
    -------
    pandas.DataFrame
        One row per method (and segment): ``offers`` (loans with a limit > 0),
        ``volume`` (Σ limits, 万元), ``bad_volume`` (Σ limits on loans that went bad),
        ``loss_rate`` (bad_volume / volume: exposure-weighted bad rate, LGD = 1),
        ``performed`` (loans that performed with an approved amount), ``median_error`` and
        ``mean_abs_error`` (|limit − approved| / approved and |limit − approved| in 万元 on
        the performed loans), ``under_offer`` (share of performed loans offered less than
        approved) and ``in_range`` (share of performed loans whose approved amount lies in the
        method's low–high range).
    """
    label = loans[LABEL].to_numpy(dtype=np.float64)
    amount = loans["approved_amount"].to_numpy(dtype=np.float64)
    groups = (
        np.full(len(loans), "all", dtype=object)
        if segment is None
        else loans[segment].astype(object).fillna("unknown").to_numpy()
    )
    methods = {
        "limit model": (limits["suggested_limit"], limits["limit_low"], limits["limit_high"]),
        "银税互动 7× tax": (rule["rule_limit"], rule["rule_low"], rule["rule_high"]),
    }
    rows = []
    for group in sorted(set(groups.tolist()), key=str):
        member = groups == group
        for method, (point, low, high) in methods.items():
            offer = point.to_numpy(dtype=np.float64)[member]
            lo = low.to_numpy(dtype=np.float64)[member]
            hi = high.to_numpy(dtype=np.float64)[member]
            bad = label[member] == 1
            approved = amount[member]
            performed = (~bad) & (approved > 0)
            volume = float(offer.sum())
            error = np.abs(offer - approved)[performed]
            rows.append(
                {
                    "segment": group,
                    "method": method,
                    "loans": int(member.sum()),
                    "offers": int((offer > 0).sum()),
                    "volume": volume,
                    "bad_volume": float(offer[bad].sum()),
                    "loss_rate": float(offer[bad].sum()) / volume if volume > 0 else float("nan"),
                    "performed": int(performed.sum()),
                    "median_error": float(np.median(error / approved[performed]))
                    if performed.any()
                    else float("nan"),
                    "mean_abs_error": float(error.mean()) if performed.any() else float("nan"),
                    "under_offer": float((offer[performed] < approved[performed]).mean())
                    if performed.any()
                    else float("nan"),
                    "in_range": float(((lo <= approved) & (approved <= hi))[performed].mean())
                    if performed.any()
                    else float("nan"),
                }
            )
    frame = pd.DataFrame(rows)
    return frame if segment is not None else frame.drop(columns="segment")
