"""Pay for MCP tool calls with aep2, in the x402 MCP convention.

A paid tool first answers with a *payment-required tool result*
(``isError: true``, ``structuredContent`` = x402 ``PaymentRequired``, the same
JSON in the first text content). We then sign a mandate for *this* call
(``ref`` = :func:`~aep2.protocol.call_ref.mcp_ref` of tool name and
arguments) and call again with the ``PaymentPayload`` under
``params._meta["x402/payment"]``; the server's ``SettleResponse`` comes back
in the result's ``_meta["x402/payment-response"]``.

>>> paid = await call_tool_paid(session, payer, "forecast", {"city": "Berlin"})
>>> paid.result.content, paid.payment.receipt

Works with any ``mcp.ClientSession`` (stdio, SSE or streamable HTTP).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio.to_thread
from mcp import ClientSession
from mcp.types import CallToolResult, TextContent

from aep2.payer import AnySigned, Payer, encode_any, select_aep2
from aep2.payer._wire import Payment, outcome, payment_payload, read_payment_required, resume_requirement
from aep2.protocol.call_ref import mcp_ref
from aep2.protocol.metadata_keys import MCP_PAYMENT as PAYMENT_META_KEY
from aep2.protocol.metadata_keys import MCP_PAYMENT_RESPONSE as PAYMENT_RESPONSE_META_KEY

__all__ = [
    "PAYMENT_META_KEY",
    "PAYMENT_RESPONSE_META_KEY",
    "PaidToolResult",
    "call_tool_paid",
    "payment_required_of",
]


@dataclass(frozen=True)
class PaidToolResult:
    """The tool's final result and, when the call was paid, the :class:`Payment` it took."""

    result: CallToolResult
    payment: Payment | None


def payment_required_of(result: CallToolResult) -> dict[str, Any] | None:
    """The x402 ``PaymentRequired`` of a payment-required tool result, else ``None``."""
    if not result.isError:
        return None
    candidates: list[Any] = [result.structuredContent]
    if result.content and isinstance(result.content[0], TextContent):
        with contextlib.suppress(ValueError):  # text that is not JSON is an ordinary tool error
            candidates.append(json.loads(result.content[0].text))
    for candidate in candidates:
        if isinstance(candidate, dict) and "x402Version" in candidate and "accepts" in candidate:
            return candidate
    return None


async def call_tool_paid(
    session: ClientSession,
    payer: Payer,
    name: str,
    arguments: dict[str, Any] | None = None,
    *,
    chain_id: int | None = None,
    verify_ref: bool = True,
    read_timeout_seconds: timedelta | None = None,
) -> PaidToolResult:
    """Call tool ``name``; if it asks for payment, pay it with an aep2 mandate and call once more."""
    first = await session.call_tool(name, arguments, read_timeout_seconds)
    required = payment_required_of(first)
    if required is None:
        return PaidToolResult(first, None)
    read_payment_required(required)
    requirement = select_aep2(required["accepts"], chain_id=chain_id)
    ref = mcp_ref(name, arguments) if verify_ref else None
    resource = required.get("resource")
    url = resource.get("url") if isinstance(resource, dict) else None

    async def pay(offer: dict[str, Any]) -> tuple[AnySigned, str, CallToolResult]:
        signed = await anyio.to_thread.run_sync(lambda: payer.authorize(offer, ref, resource=url or name))
        header = encode_any(signed)
        meta = {PAYMENT_META_KEY: payment_payload(offer, header, resource)}
        return signed, header, await session.call_tool(name, arguments, read_timeout_seconds, meta=meta)

    signed, header, paid = await pay(requirement)
    refusal = payment_required_of(paid)
    if refusal is not None and (resume := resume_requirement(refusal, signed)) is not None:
        await anyio.to_thread.run_sync(payer.record_refusal, signed, str(refusal.get("error")))
        signed, header, paid = await pay(resume)  # once: our nonce journal was behind the payee's
        refusal = payment_required_of(paid)
    settle = (paid.meta or {}).get(PAYMENT_RESPONSE_META_KEY)
    if settle is None and refusal is not None:
        await anyio.to_thread.run_sync(payer.record_refusal, signed, str(refusal.get("error")))
        error = f"payee refused the mandate: {refusal.get('error')}"
        return PaidToolResult(paid, Payment(signed, header, None, None, error))
    return PaidToolResult(
        paid, outcome(signed, header, settle if isinstance(settle, dict) else None, payer=payer.address)
    )
