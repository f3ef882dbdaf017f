"""The aep2 scheme inside the official x402 SDK: one route offering ``exact`` and ``aep2``.

The resource server is x402's own FastAPI middleware under a real uvicorn; the
facilitator is one local ``x402Facilitator`` holding the EVM ``exact`` scheme
(against anvil) and the aep2 scheme (the payee's check). Payments are made with
the official ``x402ClientSync``: ``exact`` with x402's EVM client, ``aep2`` with a
minimal client scheme signing with ``aep2.mandate``, so these tests can forge refs and
nonces. The payer SDK's ``register_aep2_client`` paying this route, and a successful
``exact`` payment in ``TestUSDC`` on the same route, are in ``tests/test_paid_calls_e2e.py``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account
from fastapi import FastAPI
from sqlalchemy import Engine
from x402 import x402ClientSync, x402Facilitator, x402ResourceServer
from x402.http.middleware.fastapi import payment_middleware
from x402.http.types import PaymentOption, RouteConfig
from x402.http.utils import encode_payment_signature_header
from x402.mechanisms.evm import EthAccountSigner, FacilitatorWeb3Signer
from x402.mechanisms.evm.exact import (
    register_exact_evm_client,
    register_exact_evm_facilitator,
    register_exact_evm_server,
)
from x402.schemas import AssetAmount, PaymentRequired, PaymentRequirements

from aep2.devnet import Anvil
from aep2.errors import Reason
from aep2.mandate import encode
from aep2.payee import PayeeCheck, StaticChainView
from aep2.protocol.receipt import verify_receipt
from aep2.protocol.scheme import Aep2Extra, payload_of
from aep2.transports.x402_facilitator import register_aep2_facilitator
from aep2.transports.x402_server import aep2_price, register_aep2_server
from tests import payee_support as s

NETWORK = f"eip155:{s.CHAIN_ID}"
NO_TOKEN = "0x000000000000000000000000000000000000dEaD"
"""The exact option's asset: no code there on any anvil, whatever other tests deployed."""


class Aep2TestClientScheme:
    """Just enough of an aep2 client scheme to drive ``x402ClientSync`` in these tests."""

    scheme = "aep2"

    def __init__(self, nonce: int = 1, ref_override: bytes | None = None, margin: int = 600) -> None:
        self.nonce, self.ref_override, self.margin = nonce, ref_override, margin

    def create_payment_payload(self, requirements: PaymentRequirements) -> dict[str, Any]:
        extra = Aep2Extra.model_validate(requirements.extra)
        ref = self.ref_override or bytes.fromhex(extra.ref[2:])
        deadline = int(time.time()) + extra.min_deadline_seconds + self.margin
        signed = s.sign(ref=ref, nonce=self.nonce, amount=int(requirements.amount), deadline=deadline)
        return payload_of(encode(signed))


@pytest.fixture
def app(engine: Engine, anvil: Anvil) -> FastAPI:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**9)
    check = PayeeCheck(settings=s.settings(), engine=engine, chain=chain)
    facilitator = x402Facilitator()
    exact_signer = FacilitatorWeb3Signer(
        private_key="0x" + anvil.private_keys[9].hex(), rpc_url=anvil.rpc_url
    )
    register_exact_evm_facilitator(facilitator, exact_signer, networks=NETWORK)
    register_aep2_facilitator(facilitator, check)
    server = register_aep2_server(register_exact_evm_server(x402ResourceServer(facilitator)))
    route = RouteConfig(
        accepts=[
            PaymentOption(
                scheme="exact", network=NETWORK, pay_to=s.PAYEE,
                price=AssetAmount(amount="1000", asset=NO_TOKEN, extra={"name": "USD Coin", "version": "2"}),
            ),
            PaymentOption(scheme="aep2", network=NETWORK, pay_to=s.PAYEE, price=aep2_price(s.PRICE, s.TOKEN)),
        ],
        description="weather, paid per call",
    )  # fmt: skip
    app = FastAPI()
    middleware = payment_middleware({"GET /weather": route}, server)
    app.middleware("http")(middleware)

    @app.get("/weather")
    def weather() -> dict[str, str]:
        return {"weather": "sunny"}

    return app


@pytest.fixture
def server(app: FastAPI) -> Iterator[s.RunningServer]:
    with s.serve(app) as running:
        yield running


def challenge(url: str) -> PaymentRequired:
    response = httpx.get(url)
    assert response.status_code == 402
    return PaymentRequired.model_validate(s.challenge_of(response.headers["PAYMENT-REQUIRED"]))


def pay_with(client: x402ClientSync, url: str) -> httpx.Response:
    # The test token is not one of x402's default assets; its spend controls would refuse it.
    client.set_spend_controls(False)
    payload = client.create_payment_payload(challenge(url))
    return httpx.get(url, headers={"PAYMENT-SIGNATURE": encode_payment_signature_header(payload)})


def settle_of(response: httpx.Response) -> dict[str, Any]:
    return json.loads(base64.b64decode(response.headers["PAYMENT-RESPONSE"]))  # type: ignore[no-any-return]


def error_of(response: httpx.Response) -> str:
    """A verify failure comes back in the challenge's ``error``, a settle failure in the settle response."""
    assert response.status_code == 402
    if "PAYMENT-RESPONSE" in response.headers:
        return str(settle_of(response)["errorReason"])
    return str(s.challenge_of(response.headers["PAYMENT-REQUIRED"])["error"])


def test_route_offers_exact_and_aep2(server: s.RunningServer) -> None:
    url = server.url + "/weather"
    accepts = {a.scheme: a for a in challenge(url).accepts}
    assert set(accepts) == {"exact", "aep2"}
    extra = Aep2Extra.model_validate(accepts["aep2"].extra)
    assert extra.escrow == s.ESCROW and extra.min_deadline_seconds == s.HORIZON
    assert extra.ref.startswith("0x") and accepts["aep2"].amount == str(s.PRICE)


def test_official_client_pays_with_aep2(server: s.RunningServer, engine: Engine) -> None:
    client = x402ClientSync().register(NETWORK, Aep2TestClientScheme(nonce=5))
    response = pay_with(client, server.url + "/weather")
    assert response.status_code == 200, response.text
    assert response.json() == {"weather": "sunny"}
    settle = settle_of(response)
    assert settle["success"] is True and settle["transaction"].startswith("aep2:0x")
    assert verify_receipt(settle["extra"]).nonce == "5"
    assert s.stored(engine) == (1, 1, 1)
    other = x402ClientSync().register(NETWORK, Aep2TestClientScheme(nonce=5, margin=900))
    replay = pay_with(other, server.url + "/weather")  # another mandate with the same nonce
    assert error_of(replay) == Reason.NONCE_REPLAYED
    assert s.stored(engine) == (1, 1, 1)


def test_wrong_ref_reaches_the_check(server: s.RunningServer, engine: Engine) -> None:
    client = x402ClientSync().register(NETWORK, Aep2TestClientScheme(ref_override=b"\x07" * 32))
    response = pay_with(client, server.url + "/weather")
    assert error_of(response) == Reason.REF_MISMATCH
    assert s.stored(engine) == (0, 0, 0)


def test_exact_payment_goes_to_the_exact_facilitator(server: s.RunningServer, engine: Engine) -> None:
    """The exact side reaches x402's EVM facilitator, which looks the asset up on anvil and refuses one
    with no code (a successful exact payment: tests/test_paid_calls_e2e.py)."""
    client = register_exact_evm_client(x402ClientSync(), EthAccountSigner(Account.from_key(s.PAYER_KEY)))
    response = pay_with(client, server.url + "/weather")
    assert response.status_code == 402
    required = s.challenge_of(response.headers["PAYMENT-REQUIRED"])
    # x402's EVM exact verify looked the token up on anvil: the route really answers exact payments.
    assert required["error"] == "asset_not_deployed_contract"
    assert s.stored(engine) == (0, 0, 0)
