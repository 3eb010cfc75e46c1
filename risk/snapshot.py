"""The scored snapshot: the linked-entity graph of a date with every node's own signal and
linked risk, as the CLI, the service and the batch jobs start from it.

:func:`score_snapshot` reads the graph as of a date from the store
(:meth:`~risk.graph.GraphSnapshot.from_store`), fits a :class:`~risk.propagation.RiskPropagator`
with the propagation settings of the :class:`~risk.config.RiskConfig` it is given, and scores the
records that count on that date (:func:`~risk.propagation.read_signal_records`). The records are
kept beside the scores, so any node can be explained (:func:`risk.explain.explain`) without
reading the store again.

:func:`score_ball` does the same on the K-hop ball of a few nodes read from the store
(:func:`risk.graph.ball.read_ball`): their linked risk and explanations are exact (the ball's
module says why), in time and memory that do not grow with the county.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from risk.config import RiskConfig
from risk.graph import GraphSnapshot
from risk.graph.ball import Ball, read_ball
from risk.propagation import RiskPropagator, RiskScores, read_signal_records

__all__ = ["ScoredSnapshot", "score_ball", "score_frames", "score_snapshot"]


@dataclass(frozen=True)
class ScoredSnapshot:
    """A graph as of a date, scored.

    Attributes
    ----------
    snapshot
        The graph as of the date.
    propagator
        Fitted on ``snapshot`` with ``config.propagation``.
    scores
        Own signal and linked risk of every node.
    records
        The records the scores were computed from (those decided by the date).
    seconds
        Wall time of building and scoring.
    config
        The settings the scores were computed with (:meth:`RiskConfig.digest` names them).
    """

    snapshot: GraphSnapshot
    propagator: RiskPropagator
    scores: RiskScores
    records: pd.DataFrame
    seconds: float
    config: RiskConfig


def score_snapshot(
    engine: Engine, as_of: date | pd.Timestamp | str, config: RiskConfig | None = None
) -> ScoredSnapshot:
    """Build the graph as of ``as_of`` from the store and score every node.

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The snapshot date (:func:`risk.dates.as_of_timestamp`).
    config
        The risk settings; their ``propagation`` weighs and spreads the signals. ``None``
        means ``RiskConfig()``.

    Returns
    -------
    ScoredSnapshot

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`RiskConfig`, or ``as_of`` not a date.
    """
    config = RiskConfig() if config is None else config
    if not isinstance(config, RiskConfig):
        raise TypeError(f"config must be a RiskConfig; got {type(config).__name__}")
    started = time.perf_counter()
    snapshot = GraphSnapshot.from_store(engine, as_of)
    propagator = RiskPropagator(config.propagation).fit(snapshot)
    records = read_signal_records(engine, as_of)
    scores = propagator.score(records)
    seconds = time.perf_counter() - started
    return ScoredSnapshot(snapshot, propagator, scores, records, seconds, config)


def score_frames(
    enterprises: pd.DataFrame,
    persons: pd.DataFrame,
    roles: pd.DataFrame,
    records: pd.DataFrame,
    as_of: date | pd.Timestamp | str,
    config: RiskConfig | None = None,
) -> ScoredSnapshot:
    """:func:`score_snapshot` on contract frames already read (e.g. a
    :class:`risk.rules.RuleInputs`), so the rules and the grades of a batch run score the
    graph once with it.

    ``records`` may hold any records decided by ``as_of``: only the negative kinds carry a
    signal (:func:`risk.propagation.record_signal`).
    """
    config = RiskConfig() if config is None else config
    if not isinstance(config, RiskConfig):
        raise TypeError(f"config must be a RiskConfig; got {type(config).__name__}")
    started = time.perf_counter()
    snapshot = GraphSnapshot.from_frames(enterprises, persons, roles, as_of)
    propagator = RiskPropagator(config.propagation).fit(snapshot)
    scores = propagator.score(records)
    seconds = time.perf_counter() - started
    return ScoredSnapshot(snapshot, propagator, scores, records, seconds, config)


def score_ball(
    engine: Engine,
    as_of: date | pd.Timestamp | str,
    sources: list[str],
    config: RiskConfig | None = None,
    *,
    radius: int | None = None,
) -> tuple[ScoredSnapshot, Ball]:
    """Read the ball of ``sources`` from the store and score it.

    Parameters
    ----------
    engine
        A migrated store.
    as_of
        The date.
    sources
        The nodes whose linked risk and explanations are wanted.
    config
        The risk settings; ``None`` means ``RiskConfig()``.
    radius
        Hops of the ball; at least K (``config.propagation.hops``, the default), else the
        sources' linked risk would miss walks.

    Returns
    -------
    scored, ball
        The ball scored (its records those of the ball's nodes) and the ball read. Exact for
        the sources only (:mod:`risk.graph.ball`).

    Raises
    ------
    ValueError
        If ``radius`` is below K.
    """
    config = RiskConfig() if config is None else config
    if not isinstance(config, RiskConfig):
        raise TypeError(f"config must be a RiskConfig; got {type(config).__name__}")
    hops = config.propagation.hops
    radius = hops if radius is None else radius
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < hops:
        raise ValueError(f"radius must be an integer ≥ K = {hops}; got {radius!r}")
    started = time.perf_counter()
    ball = read_ball(engine, as_of, sources, radius)
    propagator = RiskPropagator(config.propagation).fit(ball.snapshot)
    records = read_signal_records(engine, as_of, ball.node_ids)
    scores = propagator.score(records)
    seconds = time.perf_counter() - started
    return ScoredSnapshot(ball.snapshot, propagator, scores, records, seconds, config), ball
