"""The local recompute of a live update: linked risk, rules and grades of the enterprises a
change can move, computed on the region around it (:func:`recompute`) and graded with the
open warnings after the scoped upsert (:func:`grade_rows`).

Which enterprises a change at the nodes C can move (K = the propagation's hops)
    ``linked risk``
        The nodes within K hops of C over present roles (R): a walk of at most K hops that
        carries a changed signal, or crosses a changed edge, ends there.
    ``same_domain_frequent``, ``multi_domain_repeat``, ``after_commitment``, ``after_repair``
        The enterprises of C: they read the enterprise's own records only.
    ``linked_risk`` rule
        The enterprises of R: their linked risk and its explanation.
    ``suspected_shell``
        The enterprises within two hops of C over begun roles (S): a young enterprise's
        current holder (one hop) and that holder's roles, ended or not, in a listed
        enterprise (two hops).
    grades
        The enterprises of C, R or S (G): own signal, linked risk, the list and the most
        urgent open warning.

Why the region makes it exact
    The region is the 2K-ball of C over present roles and its 4-ball over begun ones
    (:func:`risk.live.region.load_region`). ``P``'s entries are per edge — a role's weight in
    its direction × the share, never normalised over a node's degree
    (:mod:`risk.propagation.transmission`) — so the region's ``P`` holds the county's numbers
    on every edge it has. A walk of at most K hops that ends in R stays
    within 2K hops of C, and each of its edges touches a node less than 2K hops away, which
    the region expanded: every such walk is in the region's graph, and the region's graph has
    only real edges, so the linked risk of R — with and without its echo, and every
    contribution of its explanation — is the county's. A 换壳 tie of an enterprise of S
    (holder, then the listed enterprise) lies within 4 begun hops of C, its records read.
    Enterprises of G outside R keep their linked risk, so their grade reads it from the
    score set instead of recomputing it on a ball that would have to be larger.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import pandas as pd

from risk.batch import grades_frame, risk_rows
from risk.config import RiskConfig
from risk.grades import assign_grades, grade_scored
from risk.live.region import Region
from risk.rule_checks import evaluate_rules
from risk.rules import Rule, RuleHit, existing_on
from risk.snapshot import score_frames

__all__ = ["BEGUN_RADIUS", "SHELL_HOPS", "LocalScores", "grade_rows", "recompute"]

SHELL_HOPS = 2
"""Begun hops from a change to the young enterprises whose 换壳 tie it can move."""
BEGUN_RADIUS = 2 * SHELL_HOPS
"""Begun hops the region reads: the tie of an enterprise ``SHELL_HOPS`` away, two more."""

_OWN_RULES = (
    Rule.same_domain_frequent,
    Rule.multi_domain_repeat,
    Rule.after_commitment,
    Rule.after_repair,
)

StoredRisk = Callable[[list[str]], pd.DataFrame]
"""The score set's ``risk`` rows of some nodes, indexed by node id."""


@dataclass(frozen=True)
class LocalScores:
    """What a change moves, recomputed on its region.

    Attributes
    ----------
    risk : pandas.DataFrame
        The ``risk`` rows of the nodes within K hops of the change (R).
    hits : list of RuleHit
        The hits of the (rule, enterprise) pairs of ``scope``.
    scope : dict
        Rule → the enterprises whose hit of that rule the change can move.
    signals : pandas.DataFrame
        The grade signals of the enterprises of G existing on the date: ``own_signal``,
        ``linked_risk`` (without the echo), ``serious_listed``, indexed by USCC.
    enterprises : set of str
        G: the enterprises whose grade or open warnings the change can move.
    gone : set of str
        The changed enterprises that do not exist on the date (not founded yet, or closed):
        they have no grade.
    """

    risk: pd.DataFrame = field(repr=False)
    hits: list[RuleHit] = field(repr=False)
    scope: dict[Rule, set[str]] = field(repr=False)
    signals: pd.DataFrame = field(repr=False)
    enterprises: set[str] = field(repr=False)
    gone: set[str] = field(default_factory=set, repr=False)


def recompute(
    region: Region,
    changed: Collection[str],
    config: RiskConfig,
    linked_threshold: float,
    stored_risk: StoredRisk,
) -> LocalScores:
    """Linked risk, rule hits and grade signals of what ``changed`` can move (module docstring).

    Parameters
    ----------
    region
        The region of ``changed`` (2K present hops, :data:`BEGUN_RADIUS` begun hops).
    changed
        The nodes whose signal, edges or existence changed (C).
    config
        The score set's risk settings.
    linked_threshold
        The linked-risk rule's threshold the score set froze.
    stored_risk
        Reads the score set's ``risk`` rows of nodes (for the enterprises of G outside R).
    """
    t = region.as_of
    inputs = region.inputs
    scored = score_frames(
        inputs.enterprises, inputs.persons, inputs.roles, inputs.records, t, config
    )
    nodes = pd.Index(scored.snapshot.node_ids)
    within = region.within(config.propagation.hops)
    reach = sorted(n for n in within if n in nodes)
    enterprises = inputs.enterprises
    existing = set(enterprises.loc[existing_on(enterprises, t), "uscc"].astype(str))
    registered = region.enterprise_ids
    risk = risk_rows(scored, existing, config.grades, reach)

    own = set(changed) & registered
    linked = set(reach) & registered
    shell = region.within(SHELL_HOPS, begun=True) & registered
    scope: dict[Rule, set[str]] = {rule: own for rule in _OWN_RULES}
    scope[Rule.linked_risk] = linked
    scope[Rule.suspected_shell] = shell
    scope = {rule: usccs for rule, usccs in scope.items() if rule in config.rules.rules}
    hits = [
        h
        for h in evaluate_rules(inputs, t, config, scored=scored, linked_threshold=linked_threshold)
        if h.uscc in scope.get(h.rule, ())
    ]

    moved = own | linked | shell
    graded = sorted(moved & existing)
    signals = grade_scored(inputs, scored.propagator, scored.scores, t, config.grades)
    signals = signals.loc[graded, ["own_signal", "linked_risk", "serious_listed"]].copy()
    outside = sorted(set(graded) - linked)
    if outside:
        kept = stored_risk(outside)
        known = [u for u in outside if u in kept.index]
        signals.loc[known, "own_signal"] = kept.loc[known, "own_signal"].to_numpy(dtype=float)
        signals.loc[known, "linked_risk"] = kept.loc[known, "linked_risk_excluding_self"].to_numpy(
            dtype=float
        )
    return LocalScores(
        risk=risk,
        hits=hits,
        scope=scope,
        signals=signals,
        enterprises=moved,
        gone=own - existing,
    )


def grade_rows(
    signals: pd.DataFrame, warning_levels: Mapping[str, str | None], config: RiskConfig
) -> pd.DataFrame:
    """The ``grades`` rows of the enterprises of ``signals``: the credit office's grade with
    their most urgent open warning level, the banks' without (as a batch run grades them)."""
    levels = pd.Series(
        [warning_levels.get(str(u)) for u in signals.index], index=signals.index, dtype=object
    )
    office = assign_grades(signals.assign(warning_level=levels), config.grades)
    bank = assign_grades(signals.assign(warning_level=None), config.grades)
    return grades_frame(office, bank)
