"""What the API answers from: the current score set, read by key (DESIGN.md §6).

The batch pipeline (``credlink pipeline run``, :mod:`serving.pipeline`) computes every score
once and publishes it as a score set (:mod:`risk.scoresets`); the service never recomputes the
county. Start-up reads the current pointer and the set's description — a few rows, whatever
the county's size — and each answer reads the rows it needs by primary key, plus, for linked
risk explained and networks, the enterprise's neighbourhood (:func:`risk.graph.ball.read_ball`).

Freshness
    A process re-reads the pointer at most every :data:`POINTER_SECONDS` (one primary-key
    read), so a new set or a live delta shows within that time plus a request's own; the admin
    reload re-reads it at once (:meth:`ScoreReader.refresh`). A switch to another set is logged
    with the set's id, date and counts.

One set per answer
    A request takes the pointer once (:class:`ServedSet`, the dependency
    :data:`serving.deps.ServedDep`) and reads every row through it: rows are addressed by
    ``(set_id, subject, seq ≤ pointer.seq)`` and the sets a reader may still hold are kept
    (:data:`risk.scoresets.KEEP_SETS`), so an answer comes wholly from one set even while the
    pointer switches. Its ``X-Score-Set`` header names it (``<set id>.<seq>``).

The set's own settings
    Linked risk explained on the ball must use the settings the set was scored with: they are
    read back from the set (:meth:`risk.config.RiskConfig.from_flat_params`); the
    deployment's (``CREDLINK_RISK_CONFIG_FILE``) differing is reported by ``/readyz``.

Caches
    Per process, bounded: the last :data:`ROW_CACHE` rows keyed by ``(set, seq, kind,
    subject)`` and the last :data:`BALL_CACHE` neighbourhoods keyed by ``(set, seq, centre,
    radius)``. A new seq or set is a new key: nothing cached is ever served for another one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Engine

from risk.config import RiskConfig
from risk.graph import GraphSnapshot
from risk.graph.ball import Ball, read_ball
from risk.scoresets import Pointer, ScoreSet, current, get_set, lookup, lookup_many
from risk.snapshot import ScoredSnapshot, score_ball
from serving.exceptions import ServiceUnavailableError

__all__ = [
    "BALL_CACHE",
    "NO_SET",
    "POINTER_SECONDS",
    "ROW_CACHE",
    "SCORE_SET_HEADER",
    "GraphCounts",
    "ScoreReader",
    "ServedSet",
]

logger = logging.getLogger("credlink.serving")

POINTER_SECONDS = 1.0
"""How long a process answers from the pointer it read before reading it again."""
ROW_CACHE = 4096
"""Score rows a process keeps (least recently used first out)."""
BALL_CACHE = 64
"""Neighbourhoods a process keeps."""
SCORE_SET_HEADER = "X-Score-Set"
"""The response header naming the set and seq an answer came from."""
NO_SET = (
    "no score set has been published: run `credlink pipeline run` "
    "(it computes every score once; the service only reads them)"
)

V = TypeVar("V")


@dataclass(frozen=True)
class GraphCounts:
    """The size of the graph a set was scored on (recorded by the pipeline: ``graph.*``)."""

    nodes: int
    enterprises: int
    persons: int
    edges: int
    signal_records: int


@dataclass(frozen=True, eq=False)
class ServedSet:
    """One read of the pointer: the set and seq a request answers from.

    Attributes
    ----------
    pointer : Pointer
    score_set : ScoreSet
        Its description.
    config : RiskConfig
        The settings its scores were computed with (the deployment's when they cannot be
        read back, saying so in ``problems``).
    config_matches : bool
        Whether those are the deployment's settings.
    first_read : datetime.datetime
        When this process first answered from the set (UTC).
    read_seconds : float
        How long reading its description took.
    problems : tuple of str
        Where the set and the service's settings disagree (``/readyz`` reports them).
    """

    pointer: Pointer
    score_set: ScoreSet
    config: RiskConfig
    config_matches: bool
    first_read: datetime
    read_seconds: float
    problems: tuple[str, ...] = field(default=())

    @property
    def set_id(self) -> int:
        """The set's id."""
        return self.pointer.set_id

    @property
    def seq(self) -> int:
        """How far into its deltas the pointer goes."""
        return self.pointer.seq

    @property
    def as_of(self) -> date:
        """The date of its scores."""
        return self.score_set.as_of

    @property
    def label(self) -> str:
        """``<set id>.<seq>`` (the :data:`SCORE_SET_HEADER`)."""
        return f"{self.set_id}.{self.seq}"

    @property
    def model_versions(self) -> dict[str, str]:
        """Registered model name → version its scores were computed with."""
        return self.score_set.model_versions

    @property
    def graph(self) -> GraphCounts:
        """The graph's size (0 where an older pipeline did not record it)."""
        config = self.score_set.config
        values = {name: int(config.get(f"graph.{name}", 0)) for name in GraphCounts.__annotations__}
        if not values["nodes"]:
            values["nodes"] = int(self.score_set.counts.get("risk", 0))
        return GraphCounts(**values)

    def has(self, kind: str) -> bool:
        """Whether the set holds rows of ``kind`` (a skipped step wrote none)."""
        return int(self.score_set.counts.get(kind, 0)) > 0


class _Lru:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class ScoreReader:
    """This process's view of the current score set (module docstring).

    Parameters
    ----------
    engine
        The store.
    deployment
        The deployment's risk settings (``CREDLINK_RISK_CONFIG_FILE``), compared with the set's.
    pointer_seconds
        :data:`POINTER_SECONDS`.
    rows, balls
        Cache sizes (:data:`ROW_CACHE`, :data:`BALL_CACHE`).
    """

    def __init__(
        self,
        engine: Engine,
        deployment: RiskConfig,
        *,
        pointer_seconds: float = POINTER_SECONDS,
        rows: int = ROW_CACHE,
        balls: int = BALL_CACHE,
    ) -> None:
        self.engine = engine
        self.deployment = deployment
        self.pointer_seconds = pointer_seconds
        self._served: ServedSet | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()
        self._rows = _Lru(rows)
        self._balls = _Lru(balls)
        self._sets: dict[int, tuple[ScoreSet, RiskConfig, tuple[str, ...], datetime, float]] = {}

    # ------------------------------------------------------------------ the pointer

    @property
    def last(self) -> ServedSet | None:
        """The set answered from last (no read: metrics, logs)."""
        return self._served

    def fresh(self) -> bool:
        """Whether the pointer read last is young enough to answer from without a read."""
        return time.monotonic() - self._read_at < self.pointer_seconds

    def served(self) -> ServedSet | None:
        """The set to answer from now (the pointer re-read when older than
        :data:`POINTER_SECONDS`); None before the first set was published."""
        if self.fresh():
            return self._served
        return self._read(stale_only=True)

    def refresh(self) -> ServedSet | None:
        """Read the pointer now (and the set's description when it changed)."""
        return self._read(stale_only=False)

    def _read(self, *, stale_only: bool) -> ServedSet | None:
        with self._lock:
            if stale_only and self.fresh():  # another request read it while this one waited
                return self._served
            pointer = current(self.engine)
            self._read_at = time.monotonic()
            previous = self._served
            if pointer is None:
                if previous is not None:
                    logger.warning("the score pointer is gone; nothing to answer from")
                self._served = None
                return None
            if previous is not None and previous.pointer == pointer:
                return previous
            self._served = self._describe(pointer, previous)
            return self._served

    def require(self) -> ServedSet:
        """:meth:`served`, or 503 when no set was published.

        Raises
        ------
        ServiceUnavailableError
            Saying to run ``credlink pipeline run``.
        """
        served = self.served()
        if served is None:
            raise ServiceUnavailableError(NO_SET)
        return served

    def _describe(self, pointer: Pointer, previous: ServedSet | None) -> ServedSet:
        known = self._sets.get(pointer.set_id)
        if known is None:
            started = time.perf_counter()
            described = get_set(self.engine, pointer.set_id)
            config, problems = self._config_of(described)
            seconds = time.perf_counter() - started
            known = (described, config, problems, datetime.now(UTC), seconds)
            # Sets are immutable: a few descriptions are kept (the sets the store still keeps).
            self._sets = {k: v for k, v in self._sets.items() if k > pointer.set_id - 8}
            self._sets[pointer.set_id] = known
        described, config, problems, first_read, seconds = known
        matches = described.config_digest == self.deployment.digest()
        if not matches:
            problems = (
                f"score set {described.id} was scored with other risk settings than the "
                "deployment's (CREDLINK_RISK_CONFIG_FILE): answers use the set's; the next "
                "`credlink pipeline run` scores with the deployment's",
                *problems,
            )
        served = ServedSet(
            pointer=pointer,
            score_set=described,
            config=config,
            config_matches=matches,
            first_read=first_read,
            read_seconds=seconds,
            problems=problems,
        )
        if previous is None or previous.set_id != pointer.set_id:
            counts = ", ".join(f"{k} {v:,}" for k, v in sorted(described.counts.items()))
            models = ", ".join(f"{k} v{v}" for k, v in sorted(described.model_versions.items()))
            logger.info(
                "serving score set %d as of %s (seq %d): %s; models: %s%s",
                pointer.set_id,
                described.as_of,
                pointer.seq,
                counts or "no rows",
                models or "none",
                "" if served.config_matches else "; scored with other risk settings",
            )
        return served

    def _config_of(self, described: ScoreSet) -> tuple[RiskConfig, tuple[str, ...]]:
        """The set's settings read back; the deployment's (and why) when they cannot be."""
        try:
            config = RiskConfig.from_flat_params(described.config)
        except (TypeError, ValueError) as error:
            why = f"the settings of score set {described.id} cannot be read back ({error})"
        else:
            if config.digest() == described.config_digest:
                return config, ()
            why = f"the settings of score set {described.id} do not read back to its digest"
        logger.warning("%s: explaining with the deployment's", why)
        return self.deployment, (f"{why}; explanations use the deployment's settings",)

    # ------------------------------------------------------------------ rows

    def row(self, served: ServedSet, kind: str, subject: str) -> dict[str, Any] | None:
        """One subject's row of one kind in ``served``, or None (not in the set)."""
        key = (served.set_id, served.seq, kind, subject)
        hit, value = self._rows.get(key)
        if not hit:
            value = lookup(self.engine, kind, subject, served.pointer)
            self._rows.put(key, value)
        return value

    def rows(
        self, served: ServedSet, kind: str, subjects: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """Several subjects' rows of one kind in ``served`` (those in the set), by subject."""
        wanted = list(dict.fromkeys(str(s) for s in subjects))
        found: dict[str, dict[str, Any]] = {}
        missing = []
        for subject in wanted:
            hit, value = self._rows.get((served.set_id, served.seq, kind, subject))
            if not hit:
                missing.append(subject)
            elif value is not None:
                found[subject] = value
        if missing:
            with self.engine.connect() as conn:
                frame = lookup_many(conn, kind, missing, served.pointer)
            read = {str(k): _plain_row(v) for k, v in frame.to_dict("index").items()}
            for subject in missing:
                value = read.get(subject)
                self._rows.put((served.set_id, served.seq, kind, subject), value)
                if value is not None:
                    found[subject] = value
        return {s: found[s] for s in wanted if s in found}

    # ------------------------------------------------------------------ neighbourhoods

    def scored_ball(self, served: ServedSet, centre: str) -> ScoredSnapshot:
        """The K-hop ball of ``centre`` scored with the set's settings, as of its date
        (:func:`risk.snapshot.score_ball`: the centre's linked risk and explanations exact)."""

        def build() -> ScoredSnapshot:
            scored, _ = score_ball(self.engine, served.as_of, [centre], served.config)
            _warm(scored.snapshot)
            return scored

        return self._cached((served.set_id, served.seq, "scored", centre), build)

    def ball(self, served: ServedSet, centre: str, radius: int) -> Ball:
        """The ``radius``-hop ball of ``centre`` as of the set's date (a network's nodes)."""

        def build() -> Ball:
            ball = read_ball(self.engine, served.as_of, [centre], radius)
            _warm(ball.snapshot)
            return ball

        return self._cached((served.set_id, served.seq, "ball", centre, radius), build)

    def _cached(self, key: Hashable, build: Callable[[], V]) -> V:
        hit, value = self._balls.get(key)
        if not hit:
            value = build()
            self._balls.put(key, value)
        return value

    def clear(self) -> None:
        """Forget every cached row and ball (tests; a reload needs not: keys are versioned)."""
        self._rows.clear()
        self._balls.clear()


def _warm(snapshot: GraphSnapshot) -> None:
    """Build what pandas and the snapshot build lazily (the ids' hash table, the node and
    edge frames) before the snapshot is shared by concurrent requests."""
    snapshot.node_ids.get_indexer(snapshot.node_ids[:1])
    _ = snapshot.nodes, snapshot.edges


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row read through pandas with NaN as None (what :func:`risk.scoresets.lookup` gives)."""
    return {k: None if isinstance(v, float) and pd.isna(v) else v for k, v in row.items()}
