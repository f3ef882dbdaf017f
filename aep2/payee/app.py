"""The app factory: a paid API whose routes and prices come from :class:`Settings`.

The engine and the chain view are injected (never module globals), so tests,
the benchmark and ``aep2 payee serve`` each build their own.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine

from aep2.payee.chain_view import AgentKeyView, ChainView
from aep2.payee.check import Acceptance, PayeeCheck
from aep2.payee.config import Route, Settings
from aep2.payee.responses import install_error_handlers
from aep2.payee.web import charge


def create_app(
    *, settings: Settings, engine: Engine, chain: ChainView, agent_keys: AgentKeyView | None = None
) -> FastAPI:
    """A FastAPI app that charges each configured route; ``/health`` stays free.

    ``agent_keys`` (the escrow's agent keys) is needed when ``settings.mandate_kinds`` has ``agent``.
    """
    app = FastAPI(title="aep2 paid API")
    app.state.payee_check = PayeeCheck(settings=settings, engine=engine, chain=chain, agent_keys=agent_keys)
    install_error_handlers(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "payee": settings.payee}

    for route in settings.routes:
        _add_paid_route(app, route)
    return app


def _add_paid_route(app: FastAPI, route: Route) -> None:
    # A default rather than Annotated: the price is per route, decided at run time.
    paid = Depends(charge(route.price, description=route.description, idempotent=route.idempotent))

    async def handler(request: Request, acceptance: Acceptance = paid) -> dict[str, Any]:
        return {
            "path": request.url.path,
            "description": route.description,
            "paid": {"payer": acceptance.payer, "nonce": str(acceptance.signed.mandate.nonce)},
        }

    app.add_api_route(route.path, handler, methods=[route.method.upper()], name=f"paid {route.path}")
