"""Where the workers' broker is: Redis at scale, an embedded SQLite queue when nothing is configured."""

from __future__ import annotations

import os
from pathlib import Path


def aep2_home() -> Path:
    """``AEP2_HOME`` (default ``~/.aep2``): local state of the demo and single-machine setups."""
    home = Path(os.environ.get("AEP2_HOME", Path.home() / ".aep2"))
    home.mkdir(parents=True, exist_ok=True)
    return home


def broker_url() -> str:
    """``AEP2_BROKER_URL`` (e.g. ``redis://127.0.0.1:6379/0``), else kombu's SQLAlchemy transport on SQLite.

    The embedded broker needs no server, so the demo runs anywhere; it is slower and may
    lose an unacknowledged message if a worker is killed, which the reconciler repairs
    from the store and the chain (tasks are idempotent and keyed by batch and chunk).
    """
    return os.environ.get("AEP2_BROKER_URL") or f"sqla+sqlite:///{aep2_home() / 'broker.db'}"
