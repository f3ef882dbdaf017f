"""The demo's paid API: one real payee under uvicorn serving a paid HTTP route, MCP tool and A2A agent.

All three charge through the same :class:`PayeeCheck` and store, as a provider selling one API
over every transport would; one server means one port and one thing to stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from a2a.server.apps import A2AStarletteApplication
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCapabilities, AgentCard, AgentExtension, AgentSkill
from fastapi import FastAPI
from mcp.server.fastmcp import FastMCP

from aep2.devnet._process import free_port
from aep2.payee import PayeeCheck
from aep2.transports.a2a_server import X402_EXTENSION_URI, PaidAgentExecutor
from aep2.transports.mcp_server import add_paid_tool

ROUTE = "/weather"
TOOL = "get_weather"
SKILL = "oracle"


def get_weather(city: str) -> dict[str, Any]:
    """Today's weather for a city (the paid MCP tool)."""
    return {"city": city, "weather": "sunny"}


def _answer(text: str) -> str:
    return f"the answer to {text!r} is 42"


def agent_card(base_url: str) -> AgentCard:
    return AgentCard(
        name="oracle", description="answers for a fee", url=base_url + "/a2a/", version="1.0.0",
        default_input_modes=["text"], default_output_modes=["text"],
        capabilities=AgentCapabilities(
            streaming=False,
            extensions=[AgentExtension(uri=X402_EXTENSION_URI, description="x402 payments", required=True)],
        ),
        skills=[AgentSkill(id=SKILL, name="oracle", description="answers", tags=["paid"])],
    )  # fmt: skip


def add_transports(app: FastAPI, base_url: str, price: int) -> AgentCard:
    """Mount the paid MCP tool at ``/mcp`` and the paid A2A agent at ``/a2a/`` on the payee's app."""
    check: PayeeCheck = app.state.payee_check
    mcp = FastMCP("weather", stateless_http=True, json_response=True)
    add_paid_tool(mcp, get_weather, check=check, price=price)
    app.router.routes.extend(mcp.streamable_http_app().routes)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:  # a mounted app's lifespan is not run for it
        async with mcp.session_manager.run():
            yield

    app.router.lifespan_context = lifespan
    card = agent_card(base_url)
    executor = PaidAgentExecutor(_answer, check=check, price=price, skill_id=SKILL)
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore())
    A2AStarletteApplication(agent_card=card, http_handler=handler).add_routes_to_app(
        app, agent_card_url="/a2a/.well-known/agent-card.json", rpc_url="/a2a/"
    )
    return card


@dataclass
class PaidApi:
    url: str
    card: AgentCard


@contextmanager
def serve_paid_api(check_app: FastAPI, price: int) -> Iterator[PaidApi]:
    """uvicorn on 127.0.0.1 and a free port, in a thread of this process (so it dies with it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    card = add_transports(check_app, url, price)
    server = uvicorn.Server(uvicorn.Config(check_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="aep2-demo-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the paid API did not start")
        time.sleep(0.02)
    try:
        yield PaidApi(url, card)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
