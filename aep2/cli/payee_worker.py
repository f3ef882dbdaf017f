"""The app factory each ``aep2 payee serve --workers K`` process runs (uvicorn imports it by name).

The parent process checked the settlement timing and migrated the store; a worker only builds
its own app (engine, chain view, check) from the config the parent names in the environment, and
freezes its start-up heap (``aep2.payee.heap``). Workers share nothing but the store: a mandate
is accepted once and headroom never over-committed because every acceptance takes the store's
locks (SQLite's write lock, PostgreSQL's exposure row lock), as two payee processes always did.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from aep2.cli.payee import BASE_URL_ENV, CONFIG_ENV, build_served_app
from aep2.errors import ConfigurationError
from aep2.payee import load_settings
from aep2.payee.heap import freeze_startup_heap


def create_worker_app() -> FastAPI:
    """Build the served app from ``AEP2_PAYEE_CONFIG`` and ``AEP2_PAYEE_BASE_URL``."""
    config, base_url = os.environ.get(CONFIG_ENV), os.environ.get(BASE_URL_ENV)
    if not config or not base_url:
        raise ConfigurationError(f"{CONFIG_ENV} and {BASE_URL_ENV} must name the config and the served URL")
    app, _ = build_served_app(load_settings(Path(config)), base_url)
    freeze_startup_heap()
    return app
