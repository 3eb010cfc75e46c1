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
``credlink_snapshot_as_of_seconds``        —  (the snapshot date, Unix time)           gauge
=========================================  ==========================================  ========

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
from serving.state import LoadedSnapshot

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
        self.graph_nodes = Gauge(
            "credlink_graph_nodes",
            "Nodes of the loaded graph snapshot.",
            ["node_type"],
            registry=self.registry,
        )
        self.graph_edges = Gauge(
            "credlink_graph_edges", "Edges of the loaded graph snapshot.", registry=self.registry
        )
        self.snapshot_as_of = Gauge(
            "credlink_snapshot_as_of_seconds",
            "Date of the loaded graph snapshot (Unix time of its midnight UTC).",
            registry=self.registry,
        )
        self._store_attached = False

    def attach(self, engine: Engine, snapshot: LoadedSnapshot | None) -> None:
        """Watch the store's warnings and describe the loaded snapshot (once per app)."""
        if not self._store_attached:
            self.registry.register(_WarningsCollector(engine))
            self._store_attached = True
        if snapshot is not None:
            graph = snapshot.run.snapshot
            persons = int(graph.is_person.sum())
            self.graph_nodes.labels("enterprise").set(graph.n_nodes - persons)
            self.graph_nodes.labels("person").set(persons)
            self.graph_edges.set(graph.n_edges)
            midnight = datetime.combine(snapshot.as_of, time(), tzinfo=UTC)
            self.snapshot_as_of.set(midnight.timestamp())

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
