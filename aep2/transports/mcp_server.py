"""Paid MCP tools: the x402 MCP convention with the aep2 scheme, on a FastMCP server.

- the client sends the x402 payment payload in ``params._meta["x402/payment"]`` of ``tools/call``;
- without one (or with a rejected one) the tool answers a *payment-required result*:
  ``isError: true``, ``structuredContent`` = the x402 ``PaymentRequired`` (its ``error``
  is the aep2 reason code), the same JSON as text content;
- on success the result carries ``_meta["x402/payment-response"]`` = the x402
  ``SettleResponse`` with the payee's signed receipt in ``extra``.

The call ref is :func:`~aep2.protocol.call_ref.mcp_ref` of the tool name and the
arguments *as the client sent them* (before FastMCP fills in defaults or coerces
types), which is all the payer can hash: the payer computes the same ref from the
arguments it sends and refuses a quote for any other. The registered tool is a
:class:`PaidTool`, whose ``run`` hands those raw arguments to the wrapper.
x402's own ``create_payment_wrapper`` quotes fixed requirements and cannot carry a
per-call ref, hence this wrapper.

    server = FastMCP("weather")
    add_paid_tool(server, get_weather, check=check, price=1000)
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import anyio
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.tools import Tool
from mcp.types import CallToolResult, TextContent

from aep2.errors import MandateError, Reason
from aep2.payee.challenge import offered_mandate, payload_from, payment_required, settle_response
from aep2.payee.check import Acceptance, PayeeCheck
from aep2.protocol.call_ref import mcp_descriptor, ref_of
from aep2.protocol.metadata_keys import MCP_PAYMENT as PAYMENT_META_KEY
from aep2.protocol.metadata_keys import MCP_PAYMENT_RESPONSE as PAYMENT_RESPONSE_META_KEY

_SENT_ARGUMENTS: ContextVar[dict[str, Any] | None] = ContextVar("aep2_mcp_sent_arguments", default=None)


class PaidTool(Tool):
    """A FastMCP ``Tool`` whose paid wrapper sees the call's arguments as the client sent them."""

    async def run(
        self,
        arguments: dict[str, Any],
        context: Context[Any, Any, Any] | None = None,
        convert_result: bool = False,
    ) -> Any:
        token = _SENT_ARGUMENTS.set(dict(arguments))
        try:
            return await super().run(arguments, context, convert_result)
        finally:
            _SENT_ARGUMENTS.reset(token)


def _payment_of(ctx: Context[Any, Any, Any] | None) -> object | None:
    meta = ctx.request_context.meta if ctx is not None else None
    return (meta.model_extra or {}).get(PAYMENT_META_KEY) if meta is not None else None


def _required_result(
    check: PayeeCheck, *, tool: str, price: int, ref: bytes, error: MandateError | None
) -> CallToolResult:
    challenge = payment_required(
        check.settings,
        price=price,
        ref=ref,
        url=f"mcp://tool/{tool}",
        rejection=error,
    )
    body = challenge.model_dump(mode="json", by_alias=True, exclude_none=True)
    if error is not None:
        body["message"] = error.message
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body))], structuredContent=body, isError=True
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _already_paid(check: PayeeCheck, acceptance: Acceptance, tool: str) -> CallToolResult:
    message = f"this mandate already paid for {tool}, which is not repeated"
    body = {"error": str(Reason.ALREADY_PAID), "message": message}
    settle = settle_response(check.settings, acceptance)
    response = settle.model_dump(mode="json", by_alias=True, exclude_none=True)
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body))],
        structuredContent=body,
        isError=True,
        _meta={PAYMENT_RESPONSE_META_KEY: response},
    )


def paid(
    handler: Callable[..., Any],
    *,
    check: PayeeCheck,
    price: int,
    name: str | None = None,
    idempotent: bool = False,
) -> Callable[..., Awaitable[CallToolResult]]:
    """Wrap a tool function so each call runs the payee's check before the tool runs.

    A mandate re-presented after it was accepted is charged once: the stored receipt comes back,
    and the tool runs again only if it is ``idempotent`` (else an ``already_paid`` error result).
    """
    tool = name or handler.__name__

    async def wrapped(**kwargs: Any) -> CallToolResult:
        ctx = kwargs.pop("ctx", None)
        sent = _SENT_ARGUMENTS.get()  # None when called outside a PaidTool (then: as validated)
        descriptor = mcp_descriptor(tool, kwargs if sent is None else sent)
        ref = ref_of(descriptor)
        payment = _payment_of(ctx)
        if payment is None:
            return _required_result(check, tool=tool, price=price, ref=ref, error=None)
        try:
            header = offered_mandate(payload_from(payment), check.settings, price=price)
            acceptance = await anyio.to_thread.run_sync(
                lambda: check.accept(header, price=price, ref=ref, transport="mcp", descriptor=descriptor)
            )
        except MandateError as exc:
            return _required_result(check, tool=tool, price=price, ref=ref, error=exc)
        if acceptance.replayed and not idempotent:
            return _already_paid(check, acceptance, tool)
        result = handler(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        response = settle_response(check.settings, acceptance).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        return CallToolResult(
            content=[TextContent(type="text", text=_text(result))],
            isError=False,
            _meta={PAYMENT_RESPONSE_META_KEY: response},
        )

    # FastMCP builds the tool's input schema from the signature and injects Context by annotation:
    # expose the handler's parameters plus a keyword-only ``ctx``.
    signature = inspect.signature(handler)
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Context)
    wrapped.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), ctx_param], return_annotation=CallToolResult
    )
    wrapped.__annotations__ = {
        **inspect.get_annotations(handler, eval_str=True),
        "ctx": Context,
        "return": CallToolResult,
    }
    wrapped.__name__, wrapped.__doc__ = tool, handler.__doc__
    return wrapped


def add_paid_tool(
    server: FastMCP[Any],
    handler: Callable[..., Any],
    *,
    check: PayeeCheck,
    price: int,
    name: str | None = None,
    description: str | None = None,
    idempotent: bool = False,
) -> None:
    """Register ``handler`` on ``server`` as a tool charging ``price`` base units per call
    (``idempotent``: a re-presented mandate may run it again; see :func:`paid`)."""
    tool = name or handler.__name__
    registered = PaidTool.from_function(
        paid(handler, check=check, price=price, name=tool, idempotent=idempotent),
        name=tool,
        description=description or handler.__doc__,
        structured_output=False,
    )
    # FastMCP.add_tool takes a function and builds a plain Tool; mcp is pinned (1.30), so register
    # the PaidTool in its tool manager directly, as add_tool would.
    server._tool_manager._tools[tool] = registered
