"""Thin Celery tasks over :mod:`aep2.settlement.pipeline`, keyed by chunk and window ids.

The store decides what is left to do, so a redelivered task (``acks_late``, a worker killed
mid-proof, a broker restart) finds the work done or resumes it. A task is only ever enqueued
after the transaction that created its work has committed. Retries are bounded with
exponential backoff; a chunk that exhausts them is a ``failed`` row with its reason and its
mandates are back to ``accepted`` with that reason — the visible dead letter.

Each worker process owns one prover (an ``aep2-prover serve`` subprocess), created lazily on
first use after the fork, never shared between processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from celery import Task
from celery.signals import worker_process_shutdown

from aep2.alerts import Sender
from aep2.alerts.config import sender_config
from aep2.settlement import pipeline
from aep2.settlement.config import PipelineConfig
from aep2.settlement.proving import ChunkProver
from workers.celery import app

log = logging.getLogger("aep2.workers")

PROVE_RETRIES = 3
SUBMIT_RETRIES = 5


@cache
def _config() -> PipelineConfig:
    return PipelineConfig.from_env()


@cache
def _engine() -> Any:
    return _config().engine()


@cache
def _chain() -> pipeline.Chain:
    return _config().chain()


@cache
def _prover() -> ChunkProver:
    return _config().make_prover(_chain())


@worker_process_shutdown.connect
def _close_prover(**_: Any) -> None:
    if _prover.cache_info().currsize:
        close = getattr(getattr(_prover(), "client", None), "close", None)
        if close is not None:
            close()


def _backoff(retries: int) -> int:
    return int(min(60, 2 ** (retries + 1)))


@app.task(name="aep2.prove_chunk", bind=True, max_retries=PROVE_RETRIES + 2)
def prove_chunk(self: Task, chunk_id: int) -> str:
    out = pipeline.prove_chunk(_engine(), chunk_id, _prover(), _chain(), max_attempts=PROVE_RETRIES)
    log.info("task_prove_chunk chunk=%s status=%s error=%r", chunk_id, out.status, out.error)
    if out.status == "retry":
        raise self.retry(countdown=_backoff(self.request.retries))
    if out.window_ready is not None:
        submit_settlement.delay(out.window_ready)
    return out.status


@app.task(name="aep2.submit_settlement", bind=True, max_retries=SUBMIT_RETRIES)
def submit_settlement(self: Task, window_id: int) -> str:
    try:
        out = pipeline.submit_window(_engine(), window_id, _chain())
    except Exception as exc:  # RPC down etc.: the window row keeps the state, reconcile also covers it
        log.warning("task_submit_settlement window=%s status=error error=%r", window_id, str(exc))
        raise self.retry(countdown=_backoff(self.request.retries), exc=exc) from exc
    log.info("task_submit_settlement window=%s status=%s tx=%s", window_id, out.status, out.tx_hash)
    if out.status == "pending":
        raise self.retry(countdown=_backoff(self.request.retries))
    return out.status


@app.task(name="aep2.reconcile")
def reconcile(stuck_after: float = 600.0) -> dict[str, list[int]]:
    report = pipeline.reconcile(_engine(), _chain(), stuck_after=stuck_after)
    for chunk_id in report.to_prove:
        prove_chunk.delay(chunk_id)
    for window_id in report.to_submit:
        submit_settlement.delay(window_id)
    return vars(report)


def close_and_enqueue(payee: str | None = None) -> pipeline.CloseResult:
    """Close a window (committed) and only then enqueue its chunks' proofs."""
    config = _config()
    closed = pipeline.close_window(
        _engine(), _chain(), config.sizes, payee=payee, headroom_below=config.headroom_below
    )
    for chunk_id in closed.chunk_ids:
        prove_chunk.delay(chunk_id)
    return closed


@app.task(name="aep2.tick")
def tick() -> dict[str, Any]:
    """Periodic (beat): close the windows that are due by the window policy, then reconcile."""
    closed = [
        close_and_enqueue(payee).window_id for payee in pipeline.due_payees(_engine(), _config().policy)
    ]
    return {"closed": closed, "reconcile": reconcile(stuck_after=_config().stuck_after)}


@cache
def _alert_sender() -> Sender | None:
    config = sender_config()
    return None if config is None else Sender(_engine(), config)


@app.task(name="aep2.send_alerts")
def send_alerts(limit: int = 50) -> dict[str, list[str]] | None:
    """Periodic (beat): deliver the alerts due in the store's outbox (None: no webhook configured).

    Its own schedule rather than part of the tick, so a slow receiver (each request bounded by
    ``AEP2_ALERT_TIMEOUT``, ``limit`` per run) never delays closing windows or reconciling.
    """
    sender = _alert_sender()
    return None if sender is None else vars(sender.send_due(limit=limit))


def beat_schedule(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The periodic tasks: the tick, and alert delivery when a receiver is configured (without one,
    alerts wait in the outbox)."""
    schedule: dict[str, dict[str, Any]] = {
        "aep2-tick": {"task": "aep2.tick", "schedule": float(env.get("AEP2_TICK_SECONDS", "30"))},
    }
    if env.get("AEP2_ALERT_WEBHOOK_URL"):
        every = float(env.get("AEP2_ALERT_SEND_SECONDS", "10"))
        schedule["aep2-send-alerts"] = {"task": "aep2.send_alerts", "schedule": every}
    return schedule


app.conf.beat_schedule = beat_schedule(os.environ)
app.conf.task_routes = {
    **app.conf.task_routes,
    "aep2.tick": {"queue": "reconcile"},
    "aep2.send_alerts": {"queue": "reconcile"},
}


@app.task(name="aep2.close_window")
def close_window(payee: str | None = None) -> int | None:
    return close_and_enqueue(payee).window_id
