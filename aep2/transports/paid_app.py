"""Mount a config's paid MCP tools (``/mcp``) and A2A skill (``/a2a/``) on the payee's app.

``aep2 payee serve`` calls :func:`mount_paid_transports` after :func:`~aep2.payee.create_app`
(which serves the HTTP routes and ``/health``); every transport charges through the one
:class:`~aep2.payee.PayeeCheck` on ``app.state``, so one store and one nonce space.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from a2a.server.apps import A2AStarletteApplication
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCapabilities, AgentCard, AgentExtension, AgentSkill
from fastapi import FastAPI
from mcp.server.fastmcp import FastMCP
from mcp.server.transport_security import TransportSecuritySettings

from aep2.payee import A2aSkill, McpTool, PayeeCheck, Settings
from aep2.transports.a2a_server import X402_EXTENSION_URI, PaidAgentExecutor
from aep2.transports.builtin_handlers import skill_handler, tool_handler
from aep2.transports.mcp_server import add_paid_tool

AGENT_CARD_PATH = "/a2a/.well-known/agent-card.json"


def mount_paid_transports(app: FastAPI, settings: Settings, base_url: str) -> None:
    """Serve ``settings.tools`` over MCP at ``/mcp`` and ``settings.skills`` over A2A at ``/a2a/``."""
    check: PayeeCheck = app.state.payee_check
    if settings.tools:
        mount_mcp_tools(app, check, settings.tools, base_url)
    for skill in settings.skills:
        mount_a2a_skill(app, check, skill, base_url)


def _served_hosts(base_url: str) -> TransportSecuritySettings:
    """MCP's DNS-rebinding protection, allowing the host payers reach (``public_url`` or the bind
    address) besides loopback: FastMCP alone would allow loopback only."""
    url = urlsplit(base_url)
    hosts = [url.netloc, f"{url.hostname}:*", "127.0.0.1:*", "localhost:*"]
    origins = [f"{url.scheme}://{url.netloc}", "http://127.0.0.1:*", "http://localhost:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def mount_mcp_tools(app: FastAPI, check: PayeeCheck, tools: list[McpTool], base_url: str) -> None:
    """One FastMCP server at ``/mcp`` selling ``tools``; its session manager runs in ``app``'s lifespan."""
    mcp = FastMCP(
        "aep2 paid tools", stateless_http=True, json_response=True, transport_security=_served_hosts(base_url)
    )
    for tool in tools:
        add_paid_tool(
            mcp, tool_handler(tool.handler), check=check, price=tool.price, name=tool.name,
            description=tool.description or None, idempotent=tool.idempotent,
        )  # fmt: skip
    app.router.routes.extend(mcp.streamable_http_app().routes)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:  # a mounted app's lifespan is not run for it
        async with mcp.session_manager.run():
            yield

    app.router.lifespan_context = lifespan


def agent_card(skill: A2aSkill, base_url: str) -> AgentCard:
    """The card of the agent selling ``skill``, which requires the x402 A2A extension."""
    return AgentCard(
        name=skill.id, description=skill.description or f"{skill.id}, paid per call with aep2",
        url=base_url.rstrip("/") + "/a2a/", version="1.0.0",
        default_input_modes=["text"], default_output_modes=["text"],
        capabilities=AgentCapabilities(
            streaming=False,
            extensions=[AgentExtension(uri=X402_EXTENSION_URI, description="x402 payments", required=True)],
        ),
        skills=[AgentSkill(id=skill.id, name=skill.id, description=skill.description or skill.id,
                           tags=["paid"])],
    )  # fmt: skip


def mount_a2a_skill(app: FastAPI, check: PayeeCheck, skill: A2aSkill, base_url: str) -> AgentCard:
    """The agent selling ``skill`` at ``/a2a/``, its card under ``.well-known``; returns the card."""
    executor = PaidAgentExecutor(
        skill_handler(skill.handler), check=check, price=skill.price, skill_id=skill.id
    )
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore())
    card = agent_card(skill, base_url)
    A2AStarletteApplication(agent_card=card, http_handler=handler).add_routes_to_app(
        app, agent_card_url=AGENT_CARD_PATH, rpc_url="/a2a/"
    )
    return card
