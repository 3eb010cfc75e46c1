"""The county rules as a ranked warning list: the baseline the learned warning must beat.

:func:`rule_hits` evaluates the rules of :mod:`risk.rules` on the platform's frames as of a
date; :func:`rule_ranking` orders the flagged enterprises by their most urgent level (red,
orange, yellow), then by the number of rules that hit, then by the number of records cited,
then by USCC, so that precision@k of the rules is reproducible; :func:`rules_by_rule` says, per
rule, how many of the enterprises it flags get a new violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.data import PlatformData
from risk.config import RiskConfig
from risk.dates import as_of_timestamp
from risk.rule_checks import evaluate_rules
from risk.rules import LEVEL_RANK, Rule, RuleHit, RuleInputs

__all__ = ["rule_hits", "rule_ranking", "rules_by_rule"]


def rule_hits(
    data: PlatformData, as_of: date | pd.Timestamp | str, risk_config: RiskConfig
) -> list[RuleHit]:
    """Run :func:`risk.rule_checks.evaluate_rules` on the platform's frames as of a date.

    Only roles begun and records decided on or before ``as_of`` are handed over, as
    :meth:`risk.rules.RuleInputs.from_store` reads them; the rules' thresholds and linked
    risk are those of ``risk_config``.
    """
    t = as_of_timestamp(as_of)
    roles = data.roles[(data.roles["start"] <= t).to_numpy()]
    records = data.records[(data.records["decided"] <= t).to_numpy()]
    inputs = RuleInputs(data.enterprises, data.persons, roles, records)
    return evaluate_rules(inputs, t, risk_config)


def rule_ranking(hits: Iterable[RuleHit], uscc: Sequence[str] | npt.ArrayLike) -> pd.DataFrame:
    """Rank enterprises by the rules: flagged first, by level, rules hit, records cited.

    Parameters
    ----------
    hits
        Rule hits of one date.
    uscc
        The population to rank (e.g. the enterprises existing on that date).

    Returns
    -------
    pandas.DataFrame
        One row per ``uscc`` in the given order: ``uscc``, ``flagged``, ``level`` (most
        urgent level, ``None`` when not flagged), ``n_rules``, ``n_records`` (distinct
        records cited), ``rank`` (1 = most urgent; 0 when not flagged) and ``rules_score``
        (``n_flagged − rank + 1`` when flagged, else 0: higher is more urgent, no ties among
        the flagged).

    Notes
    -----
    Order of the flagged: level (red, orange, yellow), then more rules, then more records,
    then USCC. The rules themselves only say *who* is flagged and how urgently; the later
    keys make the ranking total so that precision@k is reproducible.
    """
    ids = np.asarray(uscc, dtype=object).astype(str)
    per: dict[str, dict[str, Any]] = {}
    for hit in hits:
        entry = per.setdefault(hit.uscc, {"level": hit.level, "rules": set(), "records": set()})
        if LEVEL_RANK[hit.level] < LEVEL_RANK[entry["level"]]:
            entry["level"] = hit.level
        entry["rules"].add(hit.rule)
        entry["records"].update(hit.record_ids)
    population = set(ids.tolist())
    flagged = sorted(
        (
            (LEVEL_RANK[e["level"]], -len(e["rules"]), -len(e["records"]), u)
            for u, e in per.items()
            if u in population
        ),
    )
    rank = {key[3]: i + 1 for i, key in enumerate(flagged)}
    n_flagged = len(flagged)
    level = [per[u]["level"].value if u in rank else None for u in ids]
    ranks = np.array([rank.get(u, 0) for u in ids], dtype=np.int64)
    return pd.DataFrame(
        {
            "uscc": ids,
            "flagged": ranks > 0,
            "level": pd.Series(level, dtype=object),
            "n_rules": [len(per[u]["rules"]) if u in rank else 0 for u in ids],
            "n_records": [len(per[u]["records"]) if u in rank else 0 for u in ids],
            "rank": ranks,
            "rules_score": np.where(ranks > 0, n_flagged - ranks + 1, 0).astype(np.float64),
        }
    )


def rules_by_rule(
    hits: Sequence[RuleHit], uscc: npt.NDArray[np.object_], y: np.ndarray
) -> pd.DataFrame:
    """Per rule: enterprises of the population it flags, and how many get a new violation."""
    index = pd.Index(uscc.astype(str))
    total = float(y.sum())
    rows = []
    for rule in Rule:
        flagged = {h.uscc for h in hits if h.rule == rule}
        member = index.isin(list(flagged))
        n = int(member.sum())
        positives = float(y[member].sum())
        rows.append(
            {
                "rule": rule.value,
                "flagged": n,
                "positives": positives,
                "precision": positives / n if n else float("nan"),
                "recall": positives / total if total else float("nan"),
            }
        )
    return pd.DataFrame(rows)
