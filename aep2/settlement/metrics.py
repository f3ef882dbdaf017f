"""Prometheus metrics of the settlement pipeline, read from the store (and the broker) at scrape time.

Workers are separate processes and may restart at any time, so counters kept in memory would
be per-process and lost on a crash; the store already holds every fact (mandate states, each
chunk's proving seconds, each window's gas), so a custom collector derives the metrics from it
on each scrape and every replica of the payee reports the same numbers.

``mount_metrics(app, engine)`` adds ``GET /metrics`` to the payee's FastAPI app.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.settlement.models import ChunkRow, WindowRow
from aep2.store.models import MandateRow
from aep2.store.states import MandateState

log = logging.getLogger("aep2.settlement.metrics")

QUEUES = ("prove", "submit", "reconcile")


class SettlementCollector(Collector):
    """Mandates by state, proving seconds, settlement gas, windows by state, queue depth."""

    def __init__(self, engine: Engine, broker_url: str | None = None, queues: Sequence[str] = QUEUES) -> None:
        self.engine, self.broker_url, self.queues = engine, broker_url, tuple(queues)

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as s:
            by_state = dict(
                (str(k), int(v))
                for k, v in s.execute(select(MandateRow.state, func.count()).group_by(MandateRow.state))
            )
            proving = s.execute(
                select(func.count(), func.coalesce(func.sum(ChunkRow.proving_seconds), 0.0)).where(
                    ChunkRow.proving_seconds.is_not(None)
                )
            ).one()
            gas = s.execute(
                select(func.count(), func.coalesce(func.sum(WindowRow.gas_used), 0)).where(
                    WindowRow.gas_used.is_not(None)
                )
            ).one()
            windows = dict(
                (str(k), int(v))
                for k, v in s.execute(select(WindowRow.state, func.count()).group_by(WindowRow.state))
            )
        mandates = GaugeMetricFamily(
            "aep2_mandates", "Accepted mandates by settlement state", labels=["state"]
        )
        for state in MandateState:
            mandates.add_metric([state.value], by_state.get(state.value, 0))
        yield mandates
        yield SummaryMetricFamily(
            "aep2_proving_seconds",
            "Seconds per successful chunk proof",
            count_value=proving[0],
            sum_value=proving[1],
        )
        yield SummaryMetricFamily(
            "aep2_settlement_gas", "Gas used per settlement transaction", count_value=gas[0], sum_value=gas[1]
        )
        window_gauge = GaugeMetricFamily("aep2_windows", "Settlement windows by state", labels=["state"])
        for name, count in sorted(windows.items()):
            window_gauge.add_metric([name], count)
        yield window_gauge
        depth = self._queue_depth()
        if depth is not None:
            queue_gauge = GaugeMetricFamily(
                "aep2_queue_depth", "Tasks waiting in the broker", labels=["queue"]
            )
            for queue, n in depth.items():
                queue_gauge.add_metric([queue], n)
            yield queue_gauge

    def _queue_depth(self) -> dict[str, int] | None:
        return queue_depth(self.broker_url, self.queues)


def queue_depth(broker_url: str | None, queues: Sequence[str] = QUEUES) -> dict[str, int] | None:
    """Redis list lengths (kombu keeps each queue as a list named after it); None when the broker
    is not Redis, not configured or not answering (also what the console shows as "unknown")."""
    if not broker_url or not broker_url.startswith("redis"):
        return None
    import redis

    try:
        client = redis.Redis.from_url(broker_url, socket_timeout=1)
        try:
            return {q: int(client.llen(q)) for q in queues}
        finally:
            client.close()
    except redis.RedisError as exc:  # a scrape must not fail because the broker is down
        log.warning("queue depth unavailable: %s", exc)
        return None


def render(engine: Engine, broker_url: str | None = None) -> bytes:
    registry = CollectorRegistry()
    registry.register(SettlementCollector(engine, broker_url))
    return generate_latest(registry)


def mount_metrics(app: object, engine: Engine, broker_url: str | None = None) -> None:
    """Add ``GET /metrics`` (Prometheus text format) to a FastAPI ``app``."""
    from fastapi import FastAPI, Response

    assert isinstance(app, FastAPI)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(render(engine, broker_url), media_type=CONTENT_TYPE_LATEST)
