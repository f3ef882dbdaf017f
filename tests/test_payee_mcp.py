"""A paid MCP tool: a real FastMCP server under uvicorn and a real MCP client, x402 MCP convention."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult
from sqlalchemy import Engine

from aep2.errors import Reason
from aep2.mandate import encode
from aep2.payee import PayeeCheck, StaticChainView
from aep2.protocol.call_ref import mcp_ref
from aep2.protocol.receipt import verify_receipt
from aep2.protocol.scheme import payload_of
from aep2.transports.mcp_server import PAYMENT_META_KEY, PAYMENT_RESPONSE_META_KEY, add_paid_tool
from tests import payee_support as s


def get_weather(city: str, days: int = 1) -> dict[str, Any]:
    """The weather for a city."""
    return {"city": city, "days": days, "weather": "sunny"}


@pytest.fixture
def server(engine: Engine) -> Iterator[s.RunningServer]:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**9)
    check = PayeeCheck(settings=s.settings(), engine=engine, chain=chain)
    mcp = FastMCP("weather", stateless_http=True, json_response=True)
    add_paid_tool(mcp, get_weather, check=check, price=s.PRICE)
    with s.serve(mcp.streamable_http_app()) as running:
        yield running


def call(url: str, arguments: dict[str, Any], meta: dict[str, Any] | None = None) -> CallToolResult:
    async def run() -> CallToolResult:
        async with (
            streamable_http_client(url + "/mcp") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool("get_weather", arguments, meta=meta)

    return anyio.run(run)


def payment(accepted: dict[str, Any], mandate_header: str) -> dict[str, Any]:
    return {PAYMENT_META_KEY: {"x402Version": 2, "accepted": accepted, "payload": payload_of(mandate_header)}}


def test_paid_tool_call(server: s.RunningServer, engine: Engine) -> None:
    args = {"city": "Paris", "days": 2}
    required = call(server.url, args)
    assert required.isError and required.structuredContent is not None
    accepted = s.aep2_accept(required.structuredContent)
    assert accepted["extra"]["ref"] == "0x" + mcp_ref("get_weather", args).hex()
    assert json.loads(required.content[0].text)["resource"]["url"] == "mcp://tool/get_weather"  # type: ignore[union-attr]
    signed = s.sign(ref=mcp_ref("get_weather", args))
    result = call(server.url, args, payment(accepted, encode(signed)))
    assert not result.isError
    assert json.loads(result.content[0].text) == {"city": "Paris", "days": 2, "weather": "sunny"}  # type: ignore[union-attr]
    assert result.meta is not None
    settle = result.meta[PAYMENT_RESPONSE_META_KEY]
    assert settle["success"] and verify_receipt(settle["extra"]).digest == "0x" + signed.digest.hex()
    assert s.stored(engine) == (1, 1, 1)

    same_nonce = encode(s.sign(ref=signed.mandate.ref, amount=s.PRICE + 1))
    replay = call(server.url, args, payment(accepted, same_nonce))
    assert replay.isError and replay.structuredContent["error"] == Reason.NONCE_REPLAYED  # type: ignore[index]
    # the very same mandate again: the stored receipt, not a second charge, and the tool not re-run
    again = call(server.url, args, payment(accepted, encode(signed)))
    assert again.isError and again.structuredContent["error"] == Reason.ALREADY_PAID  # type: ignore[index]
    assert again.meta is not None and again.meta[PAYMENT_RESPONSE_META_KEY]["extra"] == settle["extra"]
    other_args = call(
        server.url,
        {"city": "Rome", "days": 2},
        payment(accepted, encode(s.sign(ref=signed.mandate.ref, nonce=2))),
    )
    assert other_args.structuredContent["error"] == Reason.REF_MISMATCH  # type: ignore[index]
    garbage = call(server.url, args, {PAYMENT_META_KEY: {"x402Version": 1}})
    assert garbage.structuredContent["error"] == Reason.MANDATE_UNSUPPORTED_VERSION  # type: ignore[index]
    assert s.stored(engine) == (1, 1, 1)
