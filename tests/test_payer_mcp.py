"""The aep2 MCP client against a stub paid tool (FastMCP, streamable HTTP, uvicorn): free tools,
overbilling, refusals. Paying the real payee's ``add_paid_tool``: tests/test_paid_calls_e2e.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import Context, FastMCP
from mcp.types import CallToolResult, TextContent
from x402.schemas import PaymentRequired, ResourceInfo, SettleResponse

from aep2.errors import Aep2Error, PaymentRequestError, Reason
from aep2.mandate import decode
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.protocol.call_ref import mcp_ref
from aep2.protocol.receipt import transaction_ref
from aep2.protocol.scheme import header_of, network_of
from aep2.transports.mcp_client import (
    PAYMENT_META_KEY,
    PAYMENT_RESPONSE_META_KEY,
    PaidToolResult,
    call_tool_paid,
)
from tests.conftest import PAYER_KEY
from tests.test_payer_stub import CHAIN_ID, PRICE, PayeeStub, serve_app


def _required(stub: PayeeStub, ref: bytes, error: str) -> CallToolResult:
    required = PaymentRequired(
        resource=ResourceInfo(url="mcp://tool/forecast"), accepts=[stub.requirement(ref)], error=error
    ).model_dump(by_alias=True, exclude_none=True)
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(required))],
        structuredContent=required,
        isError=True,
    )


def make_server(stub: PayeeStub, *, bill_for: dict[str, Any] | None = None) -> FastMCP:
    """A paid ``forecast`` tool; ``bill_for`` makes it ask to be paid for other arguments."""
    mcp = FastMCP("paid-weather", stateless_http=True, json_response=True)

    @mcp.tool()
    async def forecast(city: str, ctx: Context) -> CallToolResult:  # type: ignore[type-arg]
        ref = mcp_ref("forecast", bill_for or {"city": city})
        meta = ctx.request_context.meta
        payment = (meta.model_extra or {}).get(PAYMENT_META_KEY) if meta is not None else None
        if payment is None:
            return _required(stub, ref, "payment_required")
        stub.payment_headers_seen += 1
        try:
            signed = decode(header_of(payment["payload"]))
            signed.verify()
        except (Aep2Error, KeyError, TypeError) as exc:
            return _required(stub, ref, str(getattr(exc, "reason", "mandate_malformed")))
        if (code := stub.check(signed, ref)) is not None:
            return _required(stub, ref, code)
        stub.accepted.append(signed)
        settle = SettleResponse(
            success=True, payer=signed.mandate.payer, transaction=transaction_ref(signed.digest),
            network=network_of(CHAIN_ID), extra=stub.receipt(signed, stub.payee_key),
        ).model_dump(by_alias=True, exclude_none=True)  # fmt: skip
        return CallToolResult(
            content=[TextContent(type="text", text=f"sunny in {city}")],
            _meta={PAYMENT_RESPONSE_META_KEY: settle},
        )

    @mcp.tool()
    async def ping() -> str:
        return "pong"

    return mcp


@pytest.fixture
def payer(payer_db: Path) -> Payer:
    return Payer(LocalKeySigner(PAYER_KEY), Policy(max_per_payment=PRICE), db=payer_db)


def _serve(stub: PayeeStub, **kwargs: Any) -> Iterator[str]:
    with serve_app(make_server(stub, **kwargs).streamable_http_app(), lifespan="on") as base:
        yield f"{base}/mcp"


@pytest.fixture
def mcp_url(stub: PayeeStub) -> Iterator[str]:
    yield from _serve(stub)


def _call(url: str, payer: Payer, name: str, arguments: dict[str, Any] | None = None) -> PaidToolResult:
    async def main() -> PaidToolResult | Aep2Error:
        async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            try:
                return await call_tool_paid(session, payer, name, arguments)
            except Aep2Error as exc:  # raised outside, not wrapped in the session's exception group
                return exc

    outcome = anyio.run(main)
    if isinstance(outcome, Aep2Error):
        raise outcome
    return outcome


def test_a_free_tool_is_not_paid(mcp_url: str, payer: Payer) -> None:
    paid = _call(mcp_url, payer, "ping")
    assert paid.payment is None and not paid.result.isError
    assert payer.audit.entries() == []


def test_a_tool_billing_other_arguments_is_refused(stub: PayeeStub, payer: Payer) -> None:
    for url in _serve(stub, bill_for={"city": "Everywhere"}):
        with pytest.raises(PaymentRequestError) as info:
            _call(url, payer, "forecast", {"city": "Berlin"})
        assert info.value.reason == Reason.REF_MISMATCH
        assert stub.payment_headers_seen == 0
