"""Groups, 疑似换壳 and explained paths on a synthetic county: the rules before issue 15
against the rules after it, in the same run.

On one synthetic county (:func:`risk.synth.generate_county`, default 20,000 enterprises, as of
its end date) the script computes, each with the old and the new rule through the same code
(a parameter of the library, not a copy here):

- 关联企业群 (:func:`risk.groups.related_groups`): old = every shared person, minority stakes
  included (``control_only=False``); new = control and ownership (``control_only=True``).
  Reported: groups of two or more, the largest, how many exceed 100, p50 and p99 of their
  sizes. Beside the new groups, the shared-person links (:func:`risk.groups.shared_person_links`,
  弱关联): firm pairs and the persons behind them.
- 疑似换壳 (:func:`risk.rule_checks.evaluate_rules`): old = founded on or before the listing
  too (``RuleConfig(shell_founded_after_listing=False)``); new = the listing strictly before
  the founding day. Reported: warnings of the rule, and all warnings.
- The paths shown for the 50 warned enterprises of highest linked risk, five source records
  each as the entity page shows them (:func:`risk.explain.explain`, ``top=5``): old =
  ``simple_paths=False``; new = simple, merged, three at most. Reported: paths shown, paths
  that pass a node twice, repeated chains (a path with the same relations hop by hop and the
  same kinds of node as another path of the same source: a near-duplicate a reader sees
  twice), and the near-duplicates merged into the paths shown.

Each step's wall time and peak RSS (:mod:`measure`) are printed after the table; the ratio
column is new / old.

    PYTHONPATH=. .venv/bin/python bench/groups.py [--enterprises 20000] [--seed 0] [--top 50]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from measure import measure  # bench/measure.py

from risk.config import RiskConfig
from risk.explain import Explanation, explain
from risk.graph import GraphSnapshot
from risk.groups import related_groups, shared_person_links
from risk.rule_checks import evaluate_rules
from risk.rules import Rule, RuleConfig, RuleInputs
from risk.snapshot import score_frames
from risk.synth import SynthConfig, generate_county

ENTITY_SOURCES = 5  # the entity page's top sources (serving.web.entity_pages)


def group_sizes(groups: pd.DataFrame) -> dict[str, float]:
    """The size distribution of the groups of two or more enterprises."""
    sizes = groups.drop_duplicates("group_id")["group_size"].to_numpy()
    sizes = sizes[sizes > 1]
    return {
        "groups (2+ enterprises)": sizes.size,
        "largest group": int(sizes.max()) if sizes.size else 0,
        "groups > 100": int((sizes > 100).sum()),
        "group size p50": float(np.percentile(sizes, 50)) if sizes.size else 0.0,
        "group size p99": float(np.percentile(sizes, 99)) if sizes.size else 0.0,
    }


def path_counts(explanations: Iterable[Explanation], snapshot: GraphSnapshot) -> dict[str, int]:
    """Paths shown, those passing a node twice, repeated chains, near-duplicates merged."""
    shown = twice = repeated = merged = 0
    for explanation in explanations:
        for source in explanation.sources:
            chains: set[tuple[Any, ...]] = set()
            for walk in source.walks:
                shown += 1
                merged += walk.similar_paths
                nodes = [walk.hops[0].from_id, *(h.to_id for h in walk.hops)]
                twice += len(set(nodes)) < len(nodes)
                kinds = tuple(bool(snapshot.is_person[snapshot.index_of(n)]) for n in nodes)
                chain = (tuple((h.role, h.direction) for h in walk.hops), kinds)
                repeated += chain in chains
                chains.add(chain)
    return {
        "paths shown": shown,
        "paths with a node twice": twice,
        "repeated chains": repeated,
        "near-duplicates merged": merged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=50, help="warned enterprises explained")
    args = parser.parse_args()

    steps: list[tuple[str, float, float]] = []

    def step(name: str, run: Any) -> Any:
        result, seconds, peak = measure(run)
        steps.append((name, seconds, peak))
        return result

    config = SynthConfig(enterprises=args.enterprises, seed=args.seed)
    county = step("generate county", lambda: generate_county(config))
    tables = county.tables
    as_of = pd.Timestamp(config.end)
    enterprises, persons, roles = tables["enterprises"], tables["persons"], tables["roles"]
    records = tables["records"]
    records = records[pd.to_datetime(records["decided"]) <= as_of]
    ids = enterprises[["uscc"]]

    rows: dict[str, tuple[float, float]] = {}
    old_groups = step(
        "groups, old", lambda: related_groups(roles, as_of, enterprises=ids, control_only=False)
    )
    new_groups = step("groups, new", lambda: related_groups(roles, as_of, enterprises=ids))
    old_sizes, new_sizes = group_sizes(old_groups), group_sizes(new_groups)
    for key in old_sizes:
        rows[key] = (old_sizes[key], new_sizes[key])

    links = step("shared-person links", lambda: shared_person_links(roles, as_of))
    pairs = links[links["uscc"] < links["other_uscc"]]
    weak = {
        "weak links (firm pairs)": len(pairs.drop_duplicates(["uscc", "other_uscc"])),
        "weak-link persons": pairs["person_id"].nunique(),
        "firms with a weak link": links["uscc"].nunique(),
    }

    inputs = RuleInputs(enterprises=enterprises, persons=persons, roles=roles, records=records)
    risk_new = RiskConfig()
    risk_old = dataclasses.replace(risk_new, rules=RuleConfig(shell_founded_after_listing=False))
    scored = step(
        "score the graph",
        lambda: score_frames(enterprises, persons, roles, records, as_of, risk_new),
    )
    old_hits = step("rules, old", lambda: evaluate_rules(inputs, as_of, risk_old, scored=scored))
    new_hits = step("rules, new", lambda: evaluate_rules(inputs, as_of, risk_new, scored=scored))

    def shells(hits: list[Any]) -> int:
        return sum(h.rule == Rule.suspected_shell for h in hits)

    rows["疑似换壳 warnings"] = (shells(old_hits), shells(new_hits))
    rows["warnings, all rules"] = (len(old_hits), len(new_hits))

    snapshot, scores = scored.snapshot, scored.scores
    warned = sorted({h.uscc for h in old_hits} | {h.uscc for h in new_hits})
    linked = scores.linked_risk[snapshot.indices_of(pd.Index(warned))]
    top = [warned[i] for i in np.argsort(-linked, kind="stable")[: args.top]]

    def explained(simple: bool) -> list[Explanation]:
        return [
            explain(snapshot, scores, scored.records, u, top=ENTITY_SOURCES, simple_paths=simple)
            for u in top
        ]

    old_paths = path_counts(step("explain top warnings, old", lambda: explained(False)), snapshot)
    new_paths = path_counts(step("explain top warnings, new", lambda: explained(True)), snapshot)
    for key in old_paths:
        rows[f"{key} (top {len(top)})"] = (old_paths[key], new_paths[key])

    print(
        f"synthetic county: {args.enterprises:,} enterprises, seed {args.seed}, "
        f"as of {as_of.date()}; {len(roles):,} roles, {len(records):,} records"
    )
    width = max(len(k) for k in [*rows, *weak])
    print(f"{'':{width}}  {'old':>9}  {'new':>9}  {'new/old':>8}")
    for key, (old, new) in rows.items():
        ratio = f"{new / old:8.2f}" if old else f"{'—':>8}"
        print(f"{key:{width}}  {old:9,.6g}  {new:9,.6g}  {ratio}")
    for key, value in weak.items():
        print(f"{key:{width}}  {'':>9}  {value:9,}")
    print()
    print(f"{'step':28}  {'seconds':>8}  {'peak RSS MB':>11}")
    for name, seconds, peak in steps:
        print(f"{name:28}  {seconds:8.2f}  {peak:11.0f}")
    print(f"{'peak RSS of any step':28}  {'':>8}  {max(p for _, _, p in steps):11.0f}")


if __name__ == "__main__":
    main()
