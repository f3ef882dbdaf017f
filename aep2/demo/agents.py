"""The demo's agents: each payer SDK pays for calls over x402 HTTP, MCP and A2A in turn.

Call ``i`` of a payer uses transport ``i mod 3``, so the default three calls exercise each once.
Every call must come back paid (a receipt); anything else stops the demo.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import anyio
import httpx
from a2a.client import ClientConfig, ClientFactory
from a2a.types import AgentCard, Message, Part, Role, TextPart
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from aep2.demo.paid_api import ROUTE, SKILL, TOOL
from aep2.payer import Payer
from aep2.payer._wire import Payment
from aep2.transports.a2a_client import send_message_paid
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from aep2.transports.mcp_client import call_tool_paid

TRANSPORTS = ("http", "mcp", "a2a")


def pay_http(payer: Payer, url: str, _: AgentCard, call: int) -> Payment:
    with httpx.Client(auth=Aep2Auth(payer), timeout=30) as client:
        response = client.get(f"{url}{ROUTE}?city=Paris&call={call}")
    response.raise_for_status()
    return payment_of(response)


def pay_mcp(payer: Payer, url: str, _: AgentCard, call: int) -> Payment:
    async def main() -> Any:
        async with (
            streamable_http_client(url + "/mcp") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await call_tool_paid(session, payer, TOOL, {"city": f"Oslo #{call}"})

    paid = anyio.run(main)
    if paid.result.isError or paid.payment is None:
        raise RuntimeError(f"MCP call {call} was not paid: {paid.result}")
    return paid.payment  # type: ignore[no-any-return]


def pay_a2a(payer: Payer, _: str, card: AgentCard, call: int) -> Payment:
    async def main() -> Any:
        async with httpx.AsyncClient(timeout=30) as http:
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
            text = f"question #{call}: what is the answer?"
            message = Message(
                message_id=str(uuid.uuid4()), role=Role.user, parts=[Part(root=TextPart(text=text))]
            )
            return await send_message_paid(client, payer, message, skill=SKILL)

    paid = anyio.run(main)
    if paid.payment is None:
        raise RuntimeError(f"A2A call {call} was not paid: {paid.result}")
    return paid.payment  # type: ignore[no-any-return]


PAY: dict[str, Callable[[Payer, str, AgentCard, int], Payment]] = {
    "http": pay_http,
    "mcp": pay_mcp,
    "a2a": pay_a2a,
}


def paid_call(payer: Payer, url: str, card: AgentCard, call: int) -> tuple[str, Payment]:
    """Call number ``call`` (0-based) of ``payer``: (its transport, its payment, receipt checked)."""
    transport = TRANSPORTS[call % len(TRANSPORTS)]
    payment = PAY[transport](payer, url, card, call)
    if payment.error is not None or payment.receipt is None:
        raise RuntimeError(f"{transport} call {call} was not paid: {payment.error}")
    return transport, payment
