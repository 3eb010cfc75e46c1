"""The county rules as a ranked baseline: ranking order, per-rule precision."""

from __future__ import annotations

from datetime import date

import numpy as np

from models.rule_baseline import rule_ranking, rules_by_rule
from risk.rules import Level, Rule, RuleHit


def hit(uscc: str, rule: Rule, level: Level, records: tuple[str, ...]) -> RuleHit:
    return RuleHit(
        uscc=uscc,
        rule=rule,
        level=level,
        domains=(),
        regulators=(),
        evidence={"record_ids": list(records), "records": []},
        as_of=date(2025, 6, 30),
    )


def test_rules_rank_by_level_then_rules_then_records() -> None:
    hits = [
        hit("A", Rule.linked_risk, Level.yellow, ("r1",)),
        hit("B", Rule.same_domain_frequent, Level.orange, ("r2", "r3", "r4")),
        hit("C", Rule.after_repair, Level.orange, ("r5",)),
        hit("C", Rule.multi_domain_repeat, Level.red, ("r5", "r6")),
        hit("D", Rule.same_domain_frequent, Level.orange, ("r7", "r8")),
        hit("D", Rule.after_commitment, Level.yellow, ("r9",)),
        hit("Z", Rule.linked_risk, Level.red, ("r0",)),  # not in the population
    ]
    ranking = rule_ranking(hits, ["A", "B", "C", "D", "E"]).set_index("uscc")
    assert ranking["rank"].to_dict() == {"A": 4, "B": 3, "C": 1, "D": 2, "E": 0}
    assert ranking.loc["C", "level"] == "red" and ranking.loc["C", "n_records"] == 2
    assert ranking.loc["E", "level"] is None and not ranking.loc["E", "flagged"]
    assert ranking["rules_score"].to_dict() == {"A": 1.0, "B": 2.0, "C": 4.0, "D": 3.0, "E": 0.0}


def test_each_rule_has_its_precision_and_recall() -> None:
    hits = [
        hit("A", Rule.linked_risk, Level.yellow, ("r1",)),
        hit("B", Rule.linked_risk, Level.yellow, ("r2",)),
        hit("B", Rule.after_repair, Level.orange, ("r3",)),
    ]
    table = rules_by_rule(hits, np.array(["A", "B", "C"], dtype=object), np.array([0.0, 1.0, 1.0]))
    row = table.set_index("rule").loc[Rule.linked_risk.value]
    assert (row["flagged"], row["positives"], row["precision"], row["recall"]) == (2, 1, 0.5, 0.5)
    assert list(table["rule"]) == [r.value for r in Rule]
    assert np.isnan(table.set_index("rule").loc[Rule.same_domain_frequent.value, "precision"])
