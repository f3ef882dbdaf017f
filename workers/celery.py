"""The Celery app: ``celery -A workers.celery worker`` (or ``aep2 worker``) starts a worker."""

from __future__ import annotations

from celery import Celery

from workers.config import broker_url

QUEUES = ("prove", "submit", "reconcile")


def make_app(broker: str | None = None) -> Celery:
    """Tasks are idempotent, so they are acknowledged late and re-run if a worker dies."""
    url = broker or broker_url()
    app = Celery("aep2", broker=url, include=["workers.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="reconcile",
        task_routes={
            "aep2.prove_chunk": {"queue": "prove"},
            "aep2.submit_settlement": {"queue": "submit"},
            "aep2.reconcile": {"queue": "reconcile"},
        },
        broker_connection_retry_on_startup=True,
        # Redis redelivers an unacknowledged task after this; kombu's SQLAlchemy transport would
        # hand the option to create_engine (a TypeError), and needs none.
        broker_transport_options={"visibility_timeout": 3_600} if url.startswith("redis") else {},
        worker_hijack_root_logger=False,
    )
    return app


app = make_app()
