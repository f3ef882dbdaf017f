"""A payer with an agent key pays a real payee over every transport: x402 HTTP (``Aep2Auth`` and the
official x402 client), MCP and A2A, with receipts checked for either kind and nonce-floor resumes
per sequence.

The payee is ``aep2.payee`` under a real uvicorn, its store a real SQLite file; its view of the
escrow (balances, the agent key's record) is a :class:`StaticChainView`, as in
tests/test_payee_agent.py. Against the escrow on anvil: tests/test_agent_key_cli.py.
"""

from __future__ import annotations

import json
import time
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
from fastapi import FastAPI
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from x402 import x402Client
from x402.http.clients.httpx import x402HttpxClient

from aep2.agentkey import AgentKey, AgentKeyGrant, SignedAgentMandate
from aep2.chain import AgentKeyInfo
from aep2.cli.pay import app as pay_app
from aep2.mandate import Domain, SignedMandate
from aep2.payee import PayeeCheck, StaticChainView, create_app
from aep2.payer import (
    APPROVED,
    REFUSED,
    AgentCredential,
    GrantRecord,
    LocalKeySigner,
    Payer,
    Policy,
    sidecar_path,
)
from aep2.payer._db import nonces
from aep2.payer._wire import Payment, outcome
from aep2.protocol.receipt import Receipt, transaction_ref
from aep2.store import MandateRow, create_schema, make_engine
from aep2.transports.a2a_client import send_message_paid
from aep2.transports.a2a_server import PaidAgentExecutor
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from aep2.transports.mcp_client import PaidToolResult, call_tool_paid
from aep2.transports.mcp_server import add_paid_tool
from aep2.transports.x402_client import register_aep2_client
from tests import payee_support as s
from tests.test_payee_a2a import card

AGENT = AgentKey.generate()
KEY_ID = 7
BOTH = ["eip712", "agent"]


def credential() -> AgentCredential:
    now = int(time.time())
    grant = AgentKeyGrant.build(
        payer=s.PAYER, key=AGENT.public_key, token=s.TOKEN, payee=s.PAYEE, cap=100 * s.PRICE,
        valid_after=now - 60, valid_until=now + 30 * 86400, salt=1,
    )  # fmt: skip
    return AgentCredential(AGENT, KEY_ID, Domain(chain_id=s.CHAIN_ID, escrow=s.ESCROW), grant)


def record() -> AgentKeyInfo:
    g = credential().grant
    return AgentKeyInfo(
        key_id=KEY_ID, payer=s.PAYER, key=AGENT.public_key, token=s.TOKEN, payee=s.PAYEE, cap=g.cap,
        spent=0, valid_after=g.valid_after, valid_until=g.valid_until, revoke_at=0, pending_cap=0,
        pending_cap_at=0,
    )  # fmt: skip


@pytest.fixture
def check(engine: Engine) -> PayeeCheck:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=100 * s.PRICE)
    chain.agent_keys[KEY_ID] = record()
    return PayeeCheck(settings=s.settings(mandate_kinds=BOTH), engine=engine, chain=chain, agent_keys=chain)


def paid_api(check: PayeeCheck) -> FastAPI:
    """``create_app``'s routes for ``check``'s payee, accepting both kinds."""
    assert isinstance(check.chain, StaticChainView)
    return create_app(settings=check.settings, engine=check.engine, chain=check.chain, agent_keys=check.chain)


@pytest.fixture
def server(check: PayeeCheck) -> Iterator[str]:
    with s.serve(paid_api(check)) as running:
        yield running.url


def payer_at(db: Path, *, margin: int = 60, **policy: Any) -> Payer:
    rules = Policy.model_validate({"max_per_payment": s.PRICE, **policy})
    return Payer(LocalKeySigner(s.PAYER_KEY), rules, agent=credential(), db=db, deadline_margin=margin)


def stored(engine: Engine) -> list[MandateRow]:
    with Session(engine) as session:
        return list(session.scalars(select(MandateRow).order_by(MandateRow.id)))


@dataclass
class Agreement:
    """What both sides hold of one agent payment."""

    signed: SignedAgentMandate
    row: MandateRow


def agree(payment: Payment | None, payer: Payer, engine: Engine) -> Agreement:
    """The receipt verifies and names our address and the mandate's ``M``; payee row, audit entry
    and nonce journal name the same agent mandate."""
    assert payment is not None and payment.error is None, payment
    signed = payment.mandate
    assert isinstance(signed, SignedAgentMandate)
    signed.verify(AGENT.public_key)
    digest = "0x" + signed.digest.hex()
    receipt = payment.receipt
    assert receipt is not None and (receipt.payer, receipt.digest) == (s.PAYER, digest)
    assert payment.settle_response is not None and payment.settle_response["transaction"] == "aep2:" + digest
    [row] = [r for r in stored(engine) if r.digest == digest]
    assert (row.kind, int(row.key_id), row.payer, int(row.nonce)) == (
        "agent",
        KEY_ID,
        s.PAYER,
        signed.mandate.nonce,
    )
    [entry] = [e for e in payer.audit.entries() if e.digest == digest and e.decision == APPROVED]
    assert (entry.kind, entry.key_id, entry.nonce) == ("agent", KEY_ID, signed.mandate.nonce)
    return Agreement(signed, row)


# --- HTTP --------------------------------------------------------------------------------------------


def test_aep2_auth_pays_with_the_agent_key(server: str, check: PayeeCheck, tmp_path: Path) -> None:
    payer = payer_at(tmp_path / "payer.db")
    response = httpx.get(server + "/weather", auth=Aep2Auth(payer))
    assert response.status_code == 200, response.text
    agree(payment_of(response), payer, check.engine)

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(auth=Aep2Auth(payer)) as client:
            return await client.post(server + "/echo", content=b'{"q": 1}')

    posted = anyio.run(post)
    assert posted.status_code == 200, posted.text
    assert agree(payment_of(posted), payer, check.engine).signed.mandate.nonce == 2
    payer.close()


def test_a_payee_without_agent_mandates_is_paid_eip712(
    server: str, check: PayeeCheck, tmp_path: Path
) -> None:
    """One payer, two payees: an agent mandate where offered, EIP-712 where not, each its own nonces."""
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=100 * s.PRICE)
    plain_store = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    create_schema(plain_store)
    payer = payer_at(tmp_path / "payer.db")
    with s.serve(create_app(settings=s.settings(), engine=plain_store, chain=chain)) as plain:
        for _ in range(2):
            response = httpx.get(plain.url + "/weather", auth=Aep2Auth(payer))
            assert response.status_code == 200, response.text
            payment = payment_of(response)
            assert isinstance(payment.mandate, SignedMandate) and payment.receipt is not None
    assert [(r.kind, int(r.nonce)) for r in stored(plain_store)] == [("eip712", 1), ("eip712", 2)]
    response = httpx.get(server + "/weather", auth=Aep2Auth(payer))
    assert agree(payment_of(response), payer, check.engine).signed.mandate.nonce == 1
    assert [e.kind for e in payer.audit.entries()] == ["eip712", "eip712", "agent"]
    payer.close()
    plain_store.dispose()


def test_aep2_auth_resumes_an_agent_sequence_above_the_floor(
    server: str, check: PayeeCheck, tmp_path: Path
) -> None:
    old = payer_at(tmp_path / "old.db", margin=120)
    for _ in range(3):
        assert httpx.get(server + "/weather", auth=Aep2Auth(old)).status_code == 200
    old.close()
    fresh = payer_at(tmp_path / "restored.db")  # its agent journal is gone: it starts at 1 again
    response = httpx.get(server + "/weather", auth=Aep2Auth(fresh))
    assert response.status_code == 200, response.text
    assert agree(payment_of(response), fresh, check.engine).signed.mandate.nonce == 4
    decisions = [(e.decision, e.kind, e.nonce) for e in fresh.audit.entries()]
    assert decisions == [(APPROVED, "agent", 1), (REFUSED, "agent", 1), (APPROVED, "agent", 4)]
    with fresh.engine.connect() as conn:
        assert conn.execute(select(nonces)).all() == []  # the EIP-712 journal never moved
    fresh.close()


def test_a_receipt_must_name_our_address(tmp_path: Path) -> None:
    """An agent mandate names no payer, so the receipt's payer is checked against the Payer's address."""
    payer = payer_at(tmp_path / "payer.db")
    signed = payer.authorize(s.aep2_accept({"accepts": [_offer()]}))
    assert isinstance(signed, SignedAgentMandate)
    m = signed.mandate

    def settle(payer_named: str) -> dict[str, Any]:
        receipt = Receipt(
            digest="0x" + signed.digest.hex(), payer=payer_named, payee=s.PAYEE, token=s.TOKEN,
            amount=str(m.amount), nonce=str(m.nonce), accepted_at=str(int(time.time())),
        )  # fmt: skip
        key = bytes.fromhex(s.PAYEE_KEY[2:])
        return {"success": True, "transaction": transaction_ref(signed.digest), "extra": receipt.sign(key)}

    assert outcome(signed, "h", settle(s.PAYER), payer=payer.address).receipt is not None
    forged = outcome(signed, "h", settle(s.PAYEE), payer=payer.address)
    assert forged.receipt is None and forged.error is not None and "receipt_invalid" in forged.error
    payer.close()


def _offer() -> dict[str, Any]:
    from aep2.payee.challenge import requirements

    ref = b"\x05" * 32
    return requirements(s.settings(mandate_kinds=BOTH), price=s.PRICE, ref=ref).model_dump(
        by_alias=True, exclude_none=True
    )


def test_the_official_x402_client_pays_with_the_agent_key(
    server: str, check: PayeeCheck, tmp_path: Path
) -> None:
    payer = payer_at(tmp_path / "payer.db", allowed_tokens=[s.TOKEN])
    client = register_aep2_client(x402Client(), payer)

    async def main() -> list[httpx.Response]:
        async with x402HttpxClient(client) as http:
            return [await http.get(server + "/weather") for _ in range(2)]

    for response in anyio.run(main):
        assert response.status_code == 200, response.text
    rows = stored(check.engine)
    assert [(r.kind, int(r.key_id), int(r.nonce)) for r in rows] == [
        ("agent", KEY_ID, 1),
        ("agent", KEY_ID, 2),
    ]
    assert [e.digest for e in payer.audit.entries()] == [r.digest for r in rows]
    payer.close()


# --- MCP ---------------------------------------------------------------------------------------------


def get_weather(city: str) -> dict[str, str]:
    """The weather for a city."""
    return {"city": city, "weather": "sunny"}


def test_mcp_pays_with_the_agent_key_and_resumes(check: PayeeCheck, tmp_path: Path) -> None:
    mcp = FastMCP("weather", stateless_http=True, json_response=True)
    add_paid_tool(mcp, get_weather, check=check, price=s.PRICE)

    def call(url: str, payer: Payer) -> PaidToolResult:
        async def run() -> PaidToolResult:
            async with (
                streamable_http_client(url + "/mcp") as (read, write, _),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await call_tool_paid(session, payer, "get_weather", {"city": "Paris"})

        return anyio.run(run)

    with s.serve(mcp.streamable_http_app()) as running:
        old = payer_at(tmp_path / "old.db", margin=120)
        for nonce in (1, 2):
            paid = call(running.url, old)
            assert not paid.result.isError
            assert agree(paid.payment, old, check.engine).signed.mandate.nonce == nonce
        old.close()
        fresh = payer_at(tmp_path / "restored.db")
        paid = call(running.url, fresh)
    assert not paid.result.isError
    assert agree(paid.payment, fresh, check.engine).signed.mandate.nonce == 3
    assert [(e.decision, e.nonce) for e in fresh.audit.entries()] == [
        (APPROVED, 1),
        (REFUSED, 1),
        (APPROVED, 3),
    ]
    fresh.close()


# --- A2A ---------------------------------------------------------------------------------------------

QUESTION = "what is the answer?"


def test_a2a_pays_with_the_agent_key(check: PayeeCheck, tmp_path: Path) -> None:
    executor = PaidAgentExecutor(lambda text: f"{text!r}: 42", check=check, price=s.PRICE, skill_id="oracle")
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore())
    agent_card = card("http://127.0.0.1/")
    payer = payer_at(tmp_path / "payer.db")

    async def ask() -> Any:
        async with httpx.AsyncClient(timeout=30) as http:
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(agent_card)
            message = Message(
                message_id=str(uuid.uuid4()), role=Role.user, parts=[Part(root=TextPart(text=QUESTION))]
            )
            return await send_message_paid(client, payer, message, skill="oracle")

    with s.serve(A2AStarletteApplication(agent_card=agent_card, http_handler=handler).build()) as running:
        agent_card.url = running.url + "/"
        paid = anyio.run(ask)
    assert isinstance(paid.result, Task) and paid.result.status.state == TaskState.completed
    agree(paid.payment, payer, check.engine)
    payer.close()


# --- aep2 pay --agent-key ----------------------------------------------------------------------------


def test_aep2_pay_with_an_agent_key_alone(server: str, check: PayeeCheck, tmp_path: Path) -> None:
    """The key file and its grant sidecar, no account key: the agent pays, the payer's key stays away."""
    key_file = tmp_path / "agent.key"
    AGENT.save(key_file)
    cred = credential()
    GrantRecord(cred.domain, cred.grant, key_id=KEY_ID, signature=b"\x01" * 65).write(sidecar_path(key_file))
    (tmp_path / "policy.yaml").write_text(f"max_per_payment: {s.PRICE}\n")
    args = ["--agent-key", str(key_file), "--policy", str(tmp_path / "policy.yaml"),
            "--db", str(tmp_path / "payer.db"), "--json"]  # fmt: skip
    result = CliRunner().invoke(pay_app, [server + "/weather", *args])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["mandate"]["kind"], out["mandate"]["keyId"]) == ("agent", str(KEY_ID))
    [row] = stored(check.engine)
    assert out["receipt"]["digest"] == out["mandate"]["digest"] == row.digest and row.kind == "agent"
    assert out["receipt"]["payer"] == s.PAYER
    # a payee without agent mandates: this payer has nothing it could sign there
    chain = StaticChainView()
    plain_store = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    create_schema(plain_store)
    with s.serve(create_app(settings=s.settings(), engine=plain_store, chain=chain)) as plain:
        refused = CliRunner().invoke(pay_app, [plain.url + "/weather", *args])
    assert refused.exit_code == 2 and "no_usable_mandate_kind" in refused.stdout
    plain_store.dispose()
