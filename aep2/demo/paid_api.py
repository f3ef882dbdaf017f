"""The demo's paid API: one real payee under uvicorn serving a paid HTTP route, MCP tool and A2A agent.

All three charge through the same :class:`PayeeCheck` and store, as a provider selling one API
over every transport would; one server means one port and one thing to stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from a2a.types import AgentCard
from fastapi import FastAPI

from aep2.devnet._process import free_port
from aep2.payee import A2aSkill, McpTool, PayeeCheck
from aep2.transports.paid_app import mount_a2a_skill, mount_mcp_tools

ROUTE = "/weather"
TOOL = "get_weather"
SKILL = "oracle"


def add_transports(app: FastAPI, base_url: str, price: int) -> AgentCard:
    """Mount the paid MCP tool at ``/mcp`` and the paid A2A agent at ``/a2a/`` on the payee's app
    (the built-in ``weather`` and ``oracle`` handlers, as ``aep2 payee init``'s config does)."""
    check: PayeeCheck = app.state.payee_check
    tool = McpTool(name=TOOL, price=price, handler="weather", description="Today's weather for a city.")
    mount_mcp_tools(app, check, [tool], base_url)
    skill = A2aSkill(id=SKILL, price=price, handler="oracle", description="answers")
    return mount_a2a_skill(app, check, skill, base_url)


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
