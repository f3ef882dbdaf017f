"""The aep2 payee of the benchmark: the project's real paid API, plus a free twin route.

:func:`aep2.payee.create_app` charges ``GET /paid`` (the whole check of DESIGN.md: decode,
domain, signature, price and ref, deadline, nonce, headroom against the escrow read through
:class:`~aep2.payee.chain_web3.Web3ChainView`, and the commit of the mandate and its signed
receipt) before the handler runs. ``GET /free`` answers the same shape with no payment, so the cost
of payment reads as a difference. :class:`~benchmarks._server.ServerTiming` wraps it all, as it
wraps the x402 payee.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from web3 import Web3

from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.store import make_engine
from benchmarks._server import ServerTiming

HORIZON_S = 3_600
"""The payee's settlement horizon: every mandate it accepts can be settled for at least this long."""


def payee_app(
    *, rpc_url: str, chain_id: int, escrow: str, token: str, payee_key: str, price: int, database_url: str
) -> FastAPI:
    """The paid API: ``GET /paid`` costs ``price`` base units of ``token`` through aep2, paid with an
    EIP-712 or an agent-key mandate; ``GET /free`` is the same answer without payment. Mandates land
    in ``database_url`` (schema already created)."""
    settings = Settings(
        chain_id=chain_id, escrow=escrow, tokens=[token], payee_key=payee_key,
        settlement_horizon_seconds=HORIZON_S, rpc_url=rpc_url, database_url=database_url,
        mandate_kinds=["eip712", "agent"],
        routes=[Route(path="/paid", price=price, description="one paid call")],
    )  # fmt: skip
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    chain = Web3ChainView(w3, settings.escrow)
    app = create_app(settings=settings, engine=make_engine(database_url), chain=chain, agent_keys=chain)

    @app.get("/free")
    async def free(request: Request) -> dict[str, Any]:
        return {"path": request.url.path, "description": "one free call", "paid": None}

    app.add_middleware(ServerTiming)
    return app
