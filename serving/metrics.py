"""Prometheus metrics of the API (``GET /metrics``), in a registry of its own per app.

=========================================  ==========================================  ========
metric                                     labels                                      type
=========================================  ==========================================  ========
``credlink_http_requests_total``           method, route (template), status            counter
``credlink_http_request_duration_seconds`` method, route, status                       histogram
``credlink_http_requests_in_progress``     —                                           gauge
``credlink_audit_writes_total``            outcome (``ok``, ``failed``)                counter
``credlink_warnings``                      status (new, dispatched, acknowledged, …)   gauge
``credlink_graph_nodes``                   node_type (enterprise, person)              gauge
``credlink_graph_edges``                   —                                           gauge
``credlink_snapshot_as_of_seconds``        —  (the score set's date, Unix time)        gauge
``credlink_score_set``                     —  (the current set's id)                   gauge
``credlink_score_set_seq``                 —  (its live deltas applied)                gauge
=========================================  ==========================================  ========

The graph and score-set gauges describe the score set the process answers from (the pointer
it read last, :class:`serving.scores.ScoreReader`), read at scrape time: a new set shows
without a restart.

Routes are labelled by their template (``/v1/warnings/{warning_id}``), never the raw path, and
unmatched paths by ``<unmatched>``, so the label set stays bounded. ``credlink_warnings`` is
read from the store at scrape time. With several uvicorn workers each process keeps its own
counters and a scrape reaches one of them: scrape per worker, or run one worker per
container.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from risk.store import warnings_table
from risk.warnings import WarningStatus
from serving.scores import ScoreReader

__all__ = ["CONTENT_TYPE_LATEST", "UNMATCHED_ROUTE", "Metrics"]

logger = logging.getLogger("credlink.serving")

UNMATCHED_ROUTE = "<unmatched>"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _WarningsCollector(Collector):
    """``credlink_warnings{status}`` counted in the store at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "credlink_warnings", "Warnings in the store by lifecycle status.", labels=["status"]
        )
        t = warnings_table
        try:
            with self.engine.connect() as conn:
                counts: dict[str, int] = dict(
                    conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all()
                )
        except Exception:  # a scrape must not fail because the store is down
            logger.warning("could not count warnings for /metrics", exc_info=True)
            return
        for status in WarningStatus:
            family.add_metric([status.value], float(counts.get(status.value, 0)))
        yield family


class _ScoreSetCollector(Collector):
    """The graph and score-set gauges, from the set this process answers from."""

    def __init__(self, reader: ScoreReader) -> None:
        self.reader = reader

    def collect(self) -> Iterator[GaugeMetricFamily]:
        served = self.reader.last
        if served is None:
            return
        graph = served.graph
        nodes = GaugeMetricFamily(
            "credlink_graph_nodes",
            "Nodes of the graph the current score set was computed on.",
            labels=["node_type"],
        )
        nodes.add_metric(["enterprise"], float(graph.enterprises))
        nodes.add_metric(["person"], float(graph.persons))
        yield nodes
        yield GaugeMetricFamily(
            "credlink_graph_edges",
            "Edges of the graph the current score set was computed on.",
            value=float(graph.edges),
        )
        midnight = datetime.combine(served.as_of, time(), tzinfo=UTC)
        yield GaugeMetricFamily(
            "credlink_snapshot_as_of_seconds",
            "Date of the current score set (Unix time of its midnight UTC).",
            value=midnight.timestamp(),
        )
        yield GaugeMetricFamily(
            "credlink_score_set", "Id of the score set answers come from.", value=served.set_id
        )
        yield GaugeMetricFamily(
            "credlink_score_set_seq", "Live deltas of it answers see.", value=served.seq
        )


class Metrics:
    """The metrics of one app (a private registry, so that apps and tests do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "credlink_http_requests_total",
            "HTTP requests by method, route template and status.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "credlink_http_request_duration_seconds",
            "HTTP request latency (until the last body byte is handed to the server).",
            labels,
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "credlink_http_requests_in_progress",
            "HTTP requests being answered.",
            registry=self.registry,
        )
        self.audit_writes = Counter(
            "credlink_audit_writes_total",
            "Audit rows written for bank calls, by outcome (failed = response withheld).",
            ["outcome"],
            registry=self.registry,
        )
        self._store_attached = False

    def attach(self, engine: Engine, reader: ScoreReader) -> None:
        """Watch the store's warnings and the score set answers come from (once per app)."""
        if not self._store_attached:
            self.registry.register(_WarningsCollector(engine))
            self.registry.register(_ScoreSetCollector(reader))
            self._store_attached = True

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
