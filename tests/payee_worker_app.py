"""An app factory for ``uvicorn --workers K --factory``: K payee processes on one store, in tests.

Like ``aep2.cli.payee_worker`` but with the tests' configuration and a static chain (a funded
payer, balance from the environment) instead of an RPC endpoint, so a race between worker
processes needs no anvil. Every response names the process that served it (``X-Worker-Pid``).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from aep2.payee import StaticChainView, create_app
from aep2.payee.heap import freeze_startup_heap
from aep2.store import make_engine
from tests import payee_support as s

Endpoint = Callable[[Request], Awaitable[Response]]
DATABASE_ENV, BALANCE_ENV = "AEP2_TEST_DATABASE_URL", "AEP2_TEST_BALANCE"


def create_app_from_env() -> FastAPI:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=int(os.environ[BALANCE_ENV]))
    app = create_app(settings=s.settings(), engine=make_engine(os.environ[DATABASE_ENV]), chain=chain)

    @app.middleware("http")
    async def name_the_worker(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    freeze_startup_heap()
    return app
