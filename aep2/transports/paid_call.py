"""One paid call over MCP or A2A, from a URL alone: what ``aep2 pay --mcp-tool`` and ``--a2a-skill`` run.

Each opens a client (the official ``mcp`` streamable-HTTP client, or an a2a-sdk client built from
the agent card at ``<url>/.well-known/agent-card.json``), pays with :func:`call_tool_paid` or
:func:`send_message_paid`, and returns the answer's text with the payment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from a2a.client import ClientConfig, ClientFactory
from a2a.types import AgentCard, Message, Part, Role, Task, TextPart
from a2a.utils import get_artifact_text, get_message_text
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from aep2.payer import Payer
from aep2.payer._wire import Payment
from aep2.transports.a2a_client import send_message_paid
from aep2.transports.mcp_client import call_tool_paid


@dataclass(frozen=True)
class CallOutcome:
    """The answer's text, whether the callee reported success, and the payment (None: free)."""

    text: str
    ok: bool
    payment: Payment | None


def call_mcp_tool(
    payer: Payer,
    url: str,
    tool: str,
    arguments: dict[str, Any],
    *,
    chain_id: int | None = None,
    verify_ref: bool = True,
) -> CallOutcome:
    """Call ``tool`` at the MCP endpoint ``url`` (e.g. ``http://host/mcp``), paying if it asks."""

    async def main() -> CallOutcome:
        async with (
            streamable_http_client(url) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            paid = await call_tool_paid(
                session, payer, tool, arguments, chain_id=chain_id, verify_ref=verify_ref
            )
        text = "".join(c.text for c in paid.result.content if isinstance(c, TextContent))
        return CallOutcome(text, not paid.result.isError, paid.payment)

    try:
        return anyio.run(main)
    except ExceptionGroup as group:  # the client's task group wraps a refused connection, say
        raise _sole(group) from None


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a chain of single-member groups wraps, else the group itself."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup) and len(found.exceptions) == 1:
        found = found.exceptions[0]
    return found


def agent_card_of(client: httpx.Client, url: str) -> AgentCard:
    """The agent card an A2A agent at ``url`` publishes under ``.well-known``."""
    response = client.get(url.rstrip("/") + "/.well-known/agent-card.json")
    response.raise_for_status()
    return AgentCard.model_validate(response.json())


def ask_a2a_agent(
    payer: Payer,
    url: str,
    skill: str,
    text: str,
    *,
    chain_id: int | None = None,
    verify_ref: bool = True,
    timeout: float = 30.0,
) -> CallOutcome:
    """Send ``text`` to the A2A agent at ``url`` for ``skill``, paying on the same task if it asks."""
    with httpx.Client(timeout=timeout) as client:
        card = agent_card_of(client, url)

    async def main() -> CallOutcome:
        async with httpx.AsyncClient(timeout=timeout) as http:
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
            message = Message(
                message_id=str(uuid.uuid4()), role=Role.user, parts=[Part(root=TextPart(text=text))]
            )
            paid = await send_message_paid(
                client, payer, message, skill=skill, chain_id=chain_id, verify_ref=verify_ref
            )
        result = paid.result
        if isinstance(result, Task):
            answer = "\n".join(get_artifact_text(a) for a in result.artifacts or [])
            if not answer and result.status.message is not None:
                answer = get_message_text(result.status.message)
            return CallOutcome(answer, result.status.state.value == "completed", paid.payment)
        return CallOutcome(get_message_text(result), True, paid.payment)

    return anyio.run(main)
