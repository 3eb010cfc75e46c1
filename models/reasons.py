"""Reasons (原因说明): exact contributions grouped by concept, at most four each way.

LightGBM's ``pred_contrib`` gives each feature's exact additive contribution to a row's raw
log-odds (TreeSHAP: the contributions and the bias sum to the raw score). :class:`Reasons`
sums them per concept (:class:`features.catalog.Concept`: all the 失信名单 counts, the tax
features, …) and returns, per row, the concepts that raise the PD most (risk reasons, largest
positive sums) and those that lower it most (strengths, most negative sums), each at most
``max_reasons`` and only beyond ``min_contribution`` in absolute value, with their Chinese
and English texts. A concept whose values are all missing in a row may be a risk reason
("no financial data") but is never shown as a strength. The PD calibration is monotone in
the raw score, so the ranking of reasons is the ranking of their effect on the PD.

A reason's direction follows its feature's monotone sign. TreeSHAP measures a value against
the sample's average, so a tax growth of +5 % in a county where the average firm grew 10 %
contributes a little risk — and a reason list reading "纳税额同比增长 5 %" as a risk is
nonsense to a borrower. A feature with a sign and a neutral value (a change, a log ratio: 0 is
no change) therefore counts only in its own direction: on the safe side of neutral (growth of a
feature whose growth lowers the PD) its contribution is at most 0 — never a risk — and on the
risky side at least 0 — never a strength. Such a reason may understate a contribution, never
invert it; the PD itself is untouched.

References
----------
.. [1] Lundberg, S. M., Erion, G., Chen, H., et al. (2020). From local explanations to global
   understanding with explainable AI for trees. *Nature Machine Intelligence* 2, 56–67.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Concept
from risk.validation import check_int, check_real

__all__ = ["REASON_COLUMNS", "Reasons", "feature_concepts"]

REASON_COLUMNS = (
    "risk_reasons",
    "risk_contributions",
    "risk_reasons_zh",
    "risk_reasons_en",
    "strength_reasons",
    "strength_contributions",
    "strength_reasons_zh",
    "strength_reasons_en",
)
"""Columns :meth:`Reasons.explain` returns (the text columns only with ``text=True``)."""


def feature_concepts(features: Iterable[str]) -> dict[str, Concept]:
    """One concept per feature, for tables without a catalog (e.g. a bank's own table)."""
    return {
        name: Concept(name, f"{name}：{{{name}}}", f"{name}: {{{name}}}", {name: "value"})
        for name in features
    }


class Reasons:
    """Turn per-feature contributions into at most ``max_reasons`` reasons each way.

    Parameters
    ----------
    concepts
        Concept code → :class:`~features.catalog.Concept` (the texts).
    concept_of
        Feature → concept code; features left out are their own concept when ``concepts``
        has their name, else ignored.
    max_reasons
        At most this many reasons each way, in [1, 10] (default 4).
    min_contribution
        Concepts whose summed contribution is below this in absolute value (log-odds) are
        not reasons, ≥ 0 (default 0.01).
    monotone
        Feature → its monotone sign (+1: more is riskier, −1: less is riskier); a signed
        feature whose concept formats it as a ``change`` counts in its own direction only
        (module docstring). Default none.

    Raises
    ------
    TypeError, ValueError
        On invalid parameters.
    """

    def __init__(
        self,
        concepts: Mapping[str, Concept],
        concept_of: Mapping[str, str],
        *,
        max_reasons: int = 4,
        min_contribution: float = 0.01,
        monotone: Mapping[str, int] | None = None,
    ) -> None:
        if not isinstance(concepts, Mapping) or not isinstance(concept_of, Mapping):
            raise TypeError("concepts and concept_of must be mappings")
        unknown = sorted({c for c in concept_of.values() if c not in concepts})
        if unknown:
            raise ValueError(f"concept_of values must be codes of concepts; got {unknown[0]!r}")
        self.concepts = dict(concepts)
        self.concept_of = dict(concept_of)
        self.max_reasons = check_int("max_reasons", max_reasons, 1, 10)
        self.min_contribution = check_real("min_contribution", min_contribution, 0.0)
        self.monotone = {f: int(v) for f, v in (monotone or {}).items() if v}
        # Features with a neutral value: a change (log ratio) of 0.
        self.neutral = {
            field: 0.0
            for concept in self.concepts.values()
            for field, kind in concept.fields.items()
            if kind == "change" and field in self.monotone
        }

    def directed(self, contributions: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
        """Contributions with each signed feature that has a neutral value counted in its own
        direction only (module docstring); other features unchanged."""
        out = contributions.copy()
        for feature, neutral in self.neutral.items():
            if feature not in out.columns or feature not in X.columns:
                continue
            value = pd.to_numeric(X[feature], errors="coerce").to_numpy(dtype=np.float64)
            side = self.monotone[feature] * (value - neutral)  # > 0: the risky side
            c = out[feature].to_numpy(dtype=np.float64)
            out[feature] = np.where(
                side < 0, np.minimum(c, 0.0), np.where(side > 0, np.maximum(c, 0.0), c)
            )
            out.loc[side == 0, feature] = 0.0  # no change: neither a risk nor a strength
        return out

    def concept_sums(self, contributions: pd.DataFrame) -> pd.DataFrame:
        """Contributions summed per concept (one column per concept used)."""
        features = [f for f in contributions.columns if self.concept_of.get(f, f) in self.concepts]
        codes = list(dict.fromkeys(self.concept_of.get(f, f) for f in features))
        membership = np.zeros((len(features), len(codes)))
        for i, feature in enumerate(features):
            membership[i, codes.index(self.concept_of.get(feature, feature))] = 1.0
        sums = contributions[features].to_numpy(dtype=np.float64) @ membership
        return pd.DataFrame(sums, columns=codes, index=contributions.index)

    def explain(
        self, contributions: pd.DataFrame, X: pd.DataFrame, *, text: bool = True
    ) -> pd.DataFrame:
        """Reasons of each row.

        Parameters
        ----------
        contributions
            :meth:`models.pd.PDModel.contributions` of ``X`` (a ``bias`` column is ignored).
        X
            The features of the same rows (their values fill the texts).
        text
            Also render the Chinese and English texts (the codes and contributions alone
            are much faster for millions of rows).

        Returns
        -------
        pandas.DataFrame
            Same index; lists per row: ``risk_reasons`` (concept codes, strongest first),
            ``risk_contributions`` (log-odds), ``strength_reasons``,
            ``strength_contributions`` and, with ``text``, ``risk_reasons_zh``,
            ``risk_reasons_en``, ``strength_reasons_zh``, ``strength_reasons_en``.
        """
        sums = self.concept_sums(self.directed(contributions, X))
        codes = np.asarray(sums.columns, dtype=object)
        values = sums.to_numpy()
        unknown = self._all_missing(codes, X)
        out: dict[str, list[list[object]]] = {}
        for side, sign in (("risk", 1.0), ("strength", -1.0)):
            # Missing data can raise the PD (a risk reason) but is never shown as a strength.
            ranked = sign * values if side == "risk" else np.where(unknown, -np.inf, -values)
            top, strength = self._top(ranked)
            chosen = np.where(strength > self.min_contribution, top, -1)
            # Strengths are sorted, so each row's reasons are a prefix of its slots.
            counts = (chosen >= 0).sum(axis=1)
            out[f"{side}_reasons"] = _prefixes(codes[np.maximum(chosen, 0)], counts)
            out[f"{side}_contributions"] = _prefixes(sign * strength, counts)
            if text:
                zh, en = self._texts(chosen, codes, X)
                out[f"{side}_reasons_zh"] = _prefixes(zh, counts)
                out[f"{side}_reasons_en"] = _prefixes(en, counts)
        columns = [c for c in REASON_COLUMNS if c in out]
        return pd.DataFrame({c: out[c] for c in columns}, index=contributions.index)

    def _all_missing(self, codes: np.ndarray, X: pd.DataFrame) -> npt.NDArray[np.bool_]:
        """Per row and concept: every field of the concept is missing."""
        missing = np.zeros((len(X), codes.size), dtype=bool)
        for k, code in enumerate(codes):
            fields = [f for f in self.concepts[code].fields if f in X.columns]
            if fields:
                missing[:, k] = X[fields].isna().all(axis=1).to_numpy()
        return missing

    def _top(self, values: npt.NDArray[np.float64]) -> tuple[np.ndarray, np.ndarray]:
        k = min(self.max_reasons, values.shape[1])
        if values.shape[1] > k:
            part = np.argpartition(-values, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(values.shape[1]), (values.shape[0], 1))
        picked = np.take_along_axis(values, part, axis=1)
        order = np.argsort(-picked, axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1), np.take_along_axis(picked, order, axis=1)

    def _texts(
        self, chosen: np.ndarray, codes: np.ndarray, X: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        zh = np.full(chosen.shape, None, dtype=object)
        en = np.full(chosen.shape, None, dtype=object)
        for k, code in enumerate(codes):
            rows, slots = np.nonzero(chosen == k)
            if not rows.size:
                continue
            concept = self.concepts[code]
            fields = [f for f in concept.fields if f in X.columns]
            # Many rows share their values (counts of 0, the same grade): render each once.
            keys = list(X[fields].iloc[rows].itertuples(index=False, name=None))
            texts: dict[tuple[Any, ...], tuple[str, str]] = {}
            for key in set(keys):
                values = dict(zip(fields, key, strict=True))
                texts[key] = (concept.render(values, "zh"), concept.render(values, "en"))
            zh[rows, slots] = [texts[key][0] for key in keys]
            en[rows, slots] = [texts[key][1] for key in keys]
        return zh, en


def _prefixes(matrix: np.ndarray, counts: np.ndarray) -> list[list[Any]]:
    """The first ``counts[i]`` entries of each row, as Python lists."""
    return [row[:k] for row, k in zip(matrix.tolist(), counts.tolist(), strict=True)]
