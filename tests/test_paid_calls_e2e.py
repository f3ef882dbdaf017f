"""The real payer pays the real payee over every transport, against the real escrow on anvil.

Payee: ``aep2.payee`` (``create_app``/``charge``, the x402 SDK middleware with the aep2 and EVM
``exact`` schemes, ``add_paid_tool`` on FastMCP, ``PaidAgentExecutor`` on a2a-sdk) under a real
uvicorn, checking with :class:`Web3ChainView` over the escrow that ``deploy_stack`` deployed.
Payer: :class:`aep2.payer.Payer` (policy, nonce journal, audit log) behind ``Aep2Auth``, the
official ``x402Client`` with ``register_aep2_client``, ``call_tool_paid`` and ``send_message_paid``.
Each paid call checks that the receipt verifies and that the payer's audit entry and nonce journal
name the very mandate the payee stored.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.server.apps import A2AStarletteApplication
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import Message, Part, Role, Task, TaskState, TextPart
from eth_account import Account
from fastapi import FastAPI
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from x402 import x402Client, x402ClientSync, x402Facilitator, x402ResourceServer
from x402.http.clients.httpx import x402HttpxClient
from x402.http.middleware.fastapi import payment_middleware
from x402.http.types import PaymentOption, RouteConfig
from x402.http.utils import encode_payment_signature_header
from x402.mechanisms.evm import EthAccountSigner, FacilitatorWeb3Signer
from x402.mechanisms.evm.exact import (
    register_exact_evm_client,
    register_exact_evm_facilitator,
    register_exact_evm_server,
)
from x402.schemas import AssetAmount, PaymentPayload, PaymentRequired

from aep2.cli.pay import app as pay_app
from aep2.devnet import Anvil
from aep2.errors import PaymentRequestError, Reason
from aep2.mandate import SignedMandate
from aep2.payee import PayeeCheck, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import APPROVED, REJECTED, LocalKeySigner, Payer, Policy
from aep2.payer._db import nonces
from aep2.payer._wire import Payment
from aep2.protocol.call_ref import a2a_ref, http_ref, mcp_ref
from aep2.protocol.receipt import verify_receipt
from aep2.store import MandateRow, create_schema, make_engine
from aep2.transports.a2a_client import send_message_paid
from aep2.transports.a2a_server import PaidAgentExecutor
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from aep2.transports.mcp_client import call_tool_paid
from aep2.transports.mcp_server import add_paid_tool
from aep2.transports.x402_client import register_aep2_client
from aep2.transports.x402_facilitator import register_aep2_facilitator
from aep2.transports.x402_server import aep2_price, register_aep2_server
from tests import payee_support as s
from tests.escrow_world import World, make_world, new_payer
from tests.test_payee_a2a import card

P = s.PRICE
NETWORK = f"eip155:{s.CHAIN_ID}"
USDC_DOMAIN = {"name": "USD Coin", "version": "2"}
"""``TestUSDC``'s EIP-712 domain, as USDC's: x402's ``exact`` signs its EIP-3009 authorization under it."""


@pytest.fixture(scope="module")
def world(anvil: Anvil) -> World:
    return make_world(anvil)


@dataclass
class Parties:
    """One funded payer SDK and one payee (settings, store, check over the real escrow)."""

    world: World
    key: bytes
    payer: Payer
    engine: Engine
    check: PayeeCheck

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address)

    def stored(self) -> list[MandateRow]:
        with Session(self.engine) as session:
            return list(session.scalars(select(MandateRow).order_by(MandateRow.id)))

    def agree(self, payment: Payment) -> SignedMandate:
        """The receipt verifies, and payer (audit, nonce journal) and payee (store) name one mandate."""
        assert payment.error is None, payment.error
        assert payment.receipt is not None and payment.settle_response is not None
        assert verify_receipt(payment.settle_response["extra"]) == payment.receipt
        signed = payment.mandate
        digest = "0x" + signed.digest.hex()
        assert payment.receipt.digest == digest and payment.receipt.payee == self.check.settings.payee
        assert payment.settle_response["transaction"] == "aep2:" + digest
        [row] = [r for r in self.stored() if r.digest == digest]
        assert (row.payer, int(row.nonce), int(row.amount)) == (self.address, signed.mandate.nonce, P)
        [entry] = [e for e in self.payer.audit.entries() if e.digest == digest]
        assert entry.decision == APPROVED and entry.nonce == signed.mandate.nonce
        with self.payer.engine.connect() as conn:
            journal = conn.execute(
                select(nonces.c.last_nonce).where(nonces.c.payee == row.payee)
            ).scalar_one()
        assert journal == max(int(r.nonce) for r in self.stored())
        return signed


@pytest.fixture
def parties(world: World, tmp_path: Path) -> Iterator[Parties]:
    key = new_payer(world)
    world.fund(key, 100 * P)
    token = world.token.address
    policy = Policy(max_per_payment=P, allowed_payees=[s.PAYEE], allowed_tokens=[token])
    payer = Payer(LocalKeySigner(key), policy, db=tmp_path / "payer.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    settings = s.settings(escrow=world.escrow.address, tokens=[token])
    chain = Web3ChainView(w3=world.w3, escrow=world.escrow.address, poll_interval=0)
    yield Parties(world, key, payer, engine, PayeeCheck(settings=settings, engine=engine, chain=chain))
    payer.close()
    engine.dispose()


# --- HTTP: create_app / charge ------------------------------------------------------------------


def test_aep2_auth_pays_create_app(parties: Parties) -> None:
    app = create_app(settings=parties.check.settings, engine=parties.engine, chain=parties.check.chain)
    with s.serve(app) as server:
        url = server.url + "/weather?city=Paris&days=2"
        with httpx.Client(auth=Aep2Auth(parties.payer)) as client:
            response = client.get(url)
        assert response.status_code == 200, response.text
        signed = parties.agree(payment_of(response))
        assert signed.mandate.ref == http_ref("GET", url)  # the exact URL, query string included
        assert parties.payer.audit.entries()[0].resource == url

        async def post() -> httpx.Response:
            async with httpx.AsyncClient(auth=Aep2Auth(parties.payer, chain_id=s.CHAIN_ID)) as client:
                return await client.post(server.url + "/echo", content=b'{"city": "Berlin"}')

        posted = anyio.run(post)
        assert posted.status_code == 200, posted.text
        again = parties.agree(payment_of(posted))
        assert again.mandate.ref == http_ref("POST", server.url + "/echo", b'{"city": "Berlin"}')
    assert [int(r.nonce) for r in parties.stored()] == [1, 2]


def test_aep2_pay_cli_pays_create_app(parties: Parties, tmp_path: Path) -> None:
    """``aep2 pay URL`` (its own Payer from a key file, a YAML policy and a journal) against the payee."""
    (tmp_path / "payer.key").write_text("0x" + parties.key.hex() + "\n")
    (tmp_path / "policy.yaml").write_text(f"max_per_payment: {P}\n")
    files = ["--key-file", str(tmp_path / "payer.key"), "--policy", str(tmp_path / "policy.yaml")]
    app = create_app(settings=parties.check.settings, engine=parties.engine, chain=parties.check.chain)
    with s.serve(app) as server:
        url = server.url + "/weather"
        result = CliRunner().invoke(pay_app, [url, *files, "--db", str(tmp_path / "cli.db"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["status"] == 200 and out["paid"] is True and out["error"] is None
    [row] = parties.stored()
    assert out["receipt"]["digest"] == out["mandate"]["digest"] == row.digest
    assert json.loads(out["body"])["paid"]["payer"] == parties.address


# --- HTTP: the x402 SDK middleware, exact and aep2 on one route -----------------------------------


def x402_app(parties: Parties, anvil: Anvil) -> FastAPI:
    world, token = parties.world, parties.world.token.address
    facilitator = x402Facilitator()
    signer = FacilitatorWeb3Signer(private_key="0x" + anvil.private_keys[9].hex(), rpc_url=anvil.rpc_url)
    register_exact_evm_facilitator(facilitator, signer, networks=NETWORK)
    register_aep2_facilitator(facilitator, parties.check)
    server = register_aep2_server(register_exact_evm_server(x402ResourceServer(facilitator)))
    route = RouteConfig(
        accepts=[
            PaymentOption(
                scheme="exact", network=NETWORK, pay_to=s.PAYEE,
                price=AssetAmount(amount=str(P), asset=token, extra=dict(USDC_DOMAIN)),
            ),
            PaymentOption(scheme="aep2", network=NETWORK, pay_to=s.PAYEE, price=aep2_price(P, token)),
        ],
        description="weather, paid per call",
    )  # fmt: skip
    assert world.escrow.address == parties.check.settings.escrow
    app = FastAPI()
    app.middleware("http")(payment_middleware({"GET /weather": route}, server))

    @app.get("/weather")
    def weather() -> dict[str, str]:
        return {"weather": "sunny"}

    return app


@pytest.fixture
def x402_server(parties: Parties, anvil: Anvil) -> Iterator[str]:
    with s.serve(x402_app(parties, anvil)) as server:
        yield server.url + "/weather"


def settle_of(response: httpx.Response) -> dict[str, Any]:
    return json.loads(base64.b64decode(response.headers["PAYMENT-RESPONSE"]))  # type: ignore[no-any-return]


def test_official_x402_client_pays_aep2_on_the_dual_route(parties: Parties, x402_server: str) -> None:
    client = register_aep2_client(x402Client(), parties.payer)

    async def main() -> list[httpx.Response]:
        async with x402HttpxClient(client) as http:
            return [await http.get(x402_server + "?city=Oslo") for _ in range(2)]

    for response in anyio.run(main):
        assert response.status_code == 200, response.text
        settle = settle_of(response)
        assert settle["success"] is True and settle["transaction"].startswith("aep2:0x")
        receipt = verify_receipt(settle["extra"])
        [row] = [r for r in parties.stored() if r.digest == receipt.digest]
        assert row.ref == "0x" + http_ref("GET", x402_server + "?city=Oslo").hex()
        [entry] = [e for e in parties.payer.audit.entries() if e.digest == receipt.digest]
        assert entry.decision == APPROVED and entry.nonce == int(row.nonce)
    assert [int(r.nonce) for r in parties.stored()] == [1, 2]
    assert parties.world.token.balance_of(s.PAYEE) == 0  # aep2 moves nothing until settlement


def test_official_x402_client_pays_exact_on_the_dual_route(parties: Parties, x402_server: str) -> None:
    """EIP-3009 on ``TestUSDC``, verified and settled on anvil by x402's own EVM exact facilitator."""
    world, key = parties.world, parties.key
    world.token.mint(parties.address, 5 * P, key)  # wallet funds, outside the escrow
    before = world.token.balance_of(s.PAYEE)
    client = register_exact_evm_client(x402ClientSync(), EthAccountSigner(Account.from_key(key)))
    client.set_spend_controls(False)  # TestUSDC is not one of x402's default assets
    with httpx.Client() as http:
        required = http.get(x402_server)
        assert required.status_code == 402
        challenge = PaymentRequired.model_validate(s.challenge_of(required.headers["PAYMENT-REQUIRED"]))
        assert {a.scheme for a in challenge.accepts} == {"exact", "aep2"}
        payload = client.create_payment_payload(challenge)
        assert isinstance(payload, PaymentPayload) and payload.accepted.scheme == "exact"
        response = http.get(
            x402_server, headers={"PAYMENT-SIGNATURE": encode_payment_signature_header(payload)}
        )
    assert response.status_code == 200, response.text
    settle = settle_of(response)
    assert settle["success"] is True
    receipt = world.w3.eth.get_transaction_receipt(settle["transaction"])
    assert receipt["status"] == 1
    assert world.token.balance_of(s.PAYEE) == before + P
    assert world.token.balance_of(parties.address) == 4 * P
    assert parties.stored() == []  # the aep2 store never saw the exact payment


# --- MCP ----------------------------------------------------------------------------------------------


def get_weather(city: str, days: int = 1) -> dict[str, Any]:
    """The weather for a city."""
    return {"city": city, "days": days, "weather": "sunny"}


def test_mcp_client_pays_a_paid_tool(parties: Parties) -> None:
    """The ref hashes the arguments as sent: a call leaving ``days`` to its default is payable too."""
    mcp = FastMCP("weather", stateless_http=True, json_response=True)
    add_paid_tool(mcp, get_weather, check=parties.check, price=P)
    calls: list[dict[str, Any]] = [{"city": "Paris"}, {"city": "Paris", "days": 2}]

    async def main(url: str) -> list[Any]:
        async with (
            streamable_http_client(url + "/mcp") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return [await call_tool_paid(session, parties.payer, "get_weather", args) for args in calls]

    with s.serve(mcp.streamable_http_app()) as server:
        results = anyio.run(main, server.url)
    for arguments, days, paid in zip(calls, (1, 2), results, strict=True):
        assert not paid.result.isError and paid.payment is not None
        assert json.loads(paid.result.content[0].text)["days"] == days
        signed = parties.agree(paid.payment)
        assert signed.mandate.ref == mcp_ref("get_weather", arguments)
    assert [int(r.nonce) for r in parties.stored()] == [1, 2]


# --- A2A ----------------------------------------------------------------------------------------------


QUESTION = "what is the answer?"


@pytest.fixture
def agent_card(parties: Parties) -> Iterator[Any]:
    executor = PaidAgentExecutor(
        lambda text: f"the answer to {text!r} is 42", check=parties.check, price=P, skill_id="oracle"
    )
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore())
    agent = card("http://127.0.0.1/")
    with s.serve(A2AStarletteApplication(agent_card=agent, http_handler=handler).build()) as running:
        agent.url = running.url + "/"
        yield agent


def ask(agent: Any, payer: Payer, *, skill: str) -> Any:
    async def main() -> Any:
        async with httpx.AsyncClient(timeout=30) as http:
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(agent)
            message = Message(
                message_id=str(uuid.uuid4()), role=Role.user, parts=[Part(root=TextPart(text=QUESTION))]
            )
            return await send_message_paid(client, payer, message, skill=skill)

    return anyio.run(main)


def test_a2a_client_pays_a_paid_skill(parties: Parties, agent_card: Any) -> None:
    paid = ask(agent_card, parties.payer, skill="oracle")
    assert isinstance(paid.result, Task) and paid.result.status.state == TaskState.completed
    assert paid.payment is not None
    signed = parties.agree(paid.payment)
    assert signed.mandate.ref == a2a_ref(QUESTION, skill="oracle", task=paid.result.id)


def test_a2a_payer_refuses_a_ref_for_another_skill(parties: Parties, agent_card: Any) -> None:
    """The payee quotes the ref of its executor's ``skill_id``; a payer asking for another skill
    (here none) does not sign it."""
    with pytest.raises(PaymentRequestError) as caught:
        ask(agent_card, parties.payer, skill="")
    assert caught.value.reason == Reason.REF_MISMATCH
    assert [e.decision for e in parties.payer.audit.entries()] == [REJECTED]
    assert parties.stored() == []
