"""The ``aep2`` scheme for the official x402 SDK's resource-server role.

    server = x402ResourceServer(facilitator)
    register_exact_evm_server(server)
    register_aep2_server(server)
    routes = {"GET /weather": RouteConfig(accepts=[
        PaymentOption(scheme="exact", ...),
        PaymentOption(scheme="aep2", network="eip155:31337", pay_to=PAYEE,
                      price=aep2_price(1000, TOKEN)),
    ])}

A mandate pays for one call, so the requirements carry that call's ``ref``.
:func:`aep2_price` is an x402 *dynamic price*: the SDK resolves it per request,
both for the 402 challenge and for the retried request it verifies, so the ref
the payer signed is compared with the ref of the request actually made (the
match ignores ``ref``, listed in ``dynamic_extra_fields``, so a mismatch reaches
the facilitator and comes back as ``ref_mismatch`` rather than "no match").
``escrow`` and ``minDeadlineSeconds`` come from the facilitator's supported kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

from starlette.requests import Request
from x402.http.types import HTTPRequestContext
from x402.interfaces import PaymentFlowConfig
from x402.schemas import AssetAmount, Network, PaymentRequirements, Price, SupportedKind

from aep2.payee.web import resource_url
from aep2.protocol.call_ref import http_ref
from aep2.protocol.scheme import SCHEME

ServerT = TypeVar("ServerT")

DYNAMIC_EXTRA_FIELDS: Final = ["ref", "nonceFloor"]


class Aep2ServerScheme:
    """``SchemeNetworkServer`` for aep2: prices in token base units, domain hints in ``extra``."""

    scheme = SCHEME
    default_asset_transfer_method = "default"
    # x402's "authorization" flow: verify (the check without writing) before the handler, settle (the
    # whole check, committed) after it and before the response leaves. Any other flow would add
    # ``paymentFlow`` to ``extra``, which the pinned ``Aep2Extra`` forbids on the payer's side.
    payment_flows: Mapping[str, PaymentFlowConfig] = {
        "default": {"supported": ("authorization",), "default": "authorization"}
    }
    dynamic_extra_fields = DYNAMIC_EXTRA_FIELDS

    def __init__(self, *, token: str | None = None, decimals: int = 6) -> None:
        self._token, self._decimals = token, decimals

    def parse_price(self, price: Price, network: Network) -> AssetAmount:
        """Base units with an asset; money (``"$0.01"``) only when a default token was given."""
        if isinstance(price, AssetAmount):
            return price
        if isinstance(price, dict) and "amount" in price:
            return AssetAmount(amount=str(price["amount"]), asset=price["asset"], extra=price.get("extra"))
        if self._token is None:
            raise ValueError(f"aep2 on {network}: price {price!r} needs an asset (use aep2_price)")
        amount = Decimal(str(price).lstrip("$")) * (10**self._decimals)
        if amount != amount.to_integral_value() or amount <= 0:
            raise ValueError(f"price {price!r} is not a positive whole number of base units")
        return AssetAmount(amount=str(int(amount)), asset=self._token)

    def enhance_payment_requirements(
        self, requirements: PaymentRequirements, supported_kind: SupportedKind, extensions: list[str]
    ) -> PaymentRequirements:
        extra = dict(supported_kind.extra or {})
        requirements.extra = {**extra, **(requirements.extra or {})}
        return requirements


def aep2_price(
    amount: int, asset: str, *, public_url: str | None = None
) -> Callable[[HTTPRequestContext], Awaitable[AssetAmount]]:
    """A dynamic x402 price: ``amount`` base units of ``asset``, with this request's ``ref``.

    The ref covers the request body; the x402 FastAPI adapter does not expose it,
    so it is read from the Starlette request the adapter wraps when there is one.
    """

    async def price(context: HTTPRequestContext) -> AssetAmount:
        request: Any = getattr(context.adapter, "_request", None)
        if isinstance(request, Request):  # the path as it came on the wire, like charge()
            url = resource_url(request, public_url)
        else:
            url = context.adapter.get_url()
            if public_url is not None:
                path, _, query = url.partition("://")[2].partition("/")[2].partition("?")
                url = public_url.rstrip("/") + "/" + path + (f"?{query}" if query else "")
        body = await _body_of(context)
        ref = http_ref(context.method, url, body)
        return AssetAmount(amount=str(amount), asset=asset, extra={"ref": "0x" + ref.hex()})

    return price


async def _body_of(context: HTTPRequestContext) -> bytes:
    request: Any = getattr(context.adapter, "_request", None)
    if request is None or not hasattr(request, "body"):
        return b""
    body: bytes = await request.body()
    return body


def register_aep2_server(
    server: ServerT, networks: str | list[str] | None = None, *, token: str | None = None, decimals: int = 6
) -> ServerT:
    """Register aep2 on an ``x402ResourceServer`` (or its sync twin); chainable, like
    ``register_exact_evm_server``."""
    scheme = Aep2ServerScheme(token=token, decimals=decimals)
    for network in [networks] if isinstance(networks, str) else (networks or ["eip155:*"]):
        server.register(network, scheme)  # type: ignore[attr-defined]
    return server
