"""The two servers of per-call x402, built only from the official SDK: a facilitator and a paid API.

The facilitator is the SDK's ``x402FacilitatorSync`` with the EVM ``exact`` scheme and a
``FacilitatorWeb3Signer`` over the chain's RPC, behind the HTTP interface that
``HTTPFacilitatorClient`` speaks (``GET /supported``, ``POST /verify``, ``POST /settle``). Its
endpoints are plain ``def`` so Starlette runs them in its thread pool: the scheme's web3 calls
block, and a facilitator serving several payees at once must not serialize them on one loop.

The payee is a FastAPI app behind the SDK's ``payment_middleware`` offering ``exact`` on one
route, with a free twin route so the cost of payment can be read as a difference.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from x402 import x402FacilitatorSync, x402ResourceServer
from x402.http import FacilitatorConfig, HTTPFacilitatorClient, PaymentOption, RouteConfig
from x402.http.middleware.fastapi import payment_middleware
from x402.mechanisms.evm.exact import register_exact_evm_facilitator, register_exact_evm_server
from x402.mechanisms.evm.signers import FacilitatorWeb3Signer
from x402.schemas import AssetAmount, PaymentPayload, PaymentRequirements

from benchmarks._server import SERVER_TIMING, ServerTiming

__all__ = ["SERVER_TIMING", "USDC_DOMAIN", "ServerTiming", "facilitator_app", "payee_app"]

USDC_DOMAIN = {"name": "USD Coin", "version": "2"}
"""``TestUSDC``'s EIP-712 domain name and version, as USDC's; the exact scheme signs under them."""


def facilitator_app(*, rpc_url: str, private_key: bytes, network: str) -> FastAPI:
    """An x402 facilitator for ``network`` that settles ``exact`` payments from ``private_key``."""
    signer = FacilitatorWeb3Signer(private_key="0x" + private_key.hex(), rpc_url=rpc_url)
    facilitator = register_exact_evm_facilitator(x402FacilitatorSync(), signer, networks=network)
    app = FastAPI(title="x402 facilitator (exact, local)")

    def parse(body: dict[str, Any]) -> tuple[PaymentPayload, PaymentRequirements]:
        return (
            PaymentPayload.model_validate(body["paymentPayload"]),
            PaymentRequirements.model_validate(body["paymentRequirements"]),
        )

    @app.get("/supported")
    def supported() -> dict[str, Any]:
        return facilitator.get_supported().model_dump(by_alias=True, exclude_none=True)

    @app.post("/verify")
    def verify(body: dict[str, Any]) -> dict[str, Any]:
        return facilitator.verify(*parse(body)).model_dump(by_alias=True, exclude_none=True)

    @app.post("/settle")
    def settle(body: dict[str, Any]) -> dict[str, Any]:
        return facilitator.settle(*parse(body)).model_dump(by_alias=True, exclude_none=True)

    return app


def payee_app(*, facilitator_url: str, token: str, pay_to: str, price: int, network: str) -> FastAPI:
    """A paid API: ``GET /paid`` costs ``price`` base units of ``token`` through ``exact``;
    ``GET /free`` is the same handler without payment."""
    server = x402ResourceServer(HTTPFacilitatorClient(FacilitatorConfig(url=facilitator_url)))
    register_exact_evm_server(server, network)
    option = PaymentOption(
        scheme="exact",
        pay_to=pay_to,
        price=AssetAmount(amount=str(price), asset=token, extra=dict(USDC_DOMAIN)),
        network=network,
        max_timeout_seconds=600,
    )
    routes = {"GET /paid": RouteConfig(accepts=option, description="one paid call")}
    x402 = payment_middleware(routes, server)
    app = FastAPI(title="x402 exact payee")

    @app.middleware("http")
    async def pay(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        return await x402(request, call_next)

    @app.get("/paid")
    def paid() -> dict[str, str]:
        return {"answer": "42"}

    @app.get("/free")
    def free() -> dict[str, str]:
        return {"answer": "42"}

    app.add_middleware(ServerTiming)
    return app
