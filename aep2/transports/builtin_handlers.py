"""Built-in handlers a ``payee.yaml`` names for its paid MCP tools and A2A skill.

Enough to sell something on a devnet without writing Python; a real API registers its own
functions with :func:`~aep2.transports.mcp_server.add_paid_tool` and
:class:`~aep2.transports.a2a_server.PaidAgentExecutor`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aep2.errors import ConfigurationError


def weather(city: str) -> dict[str, Any]:
    """Today's weather for a city."""
    return {"city": city, "weather": "sunny"}


def echo(text: str) -> dict[str, Any]:
    """The text, echoed back."""
    return {"echo": text}


def echo_skill(text: str) -> str:
    return text


def oracle_skill(text: str) -> str:
    return f"the answer to {text!r} is 42"


TOOL_HANDLERS: dict[str, Callable[..., Any]] = {"weather": weather, "echo": echo}
SKILL_HANDLERS: dict[str, Callable[[str], str]] = {"echo": echo_skill, "oracle": oracle_skill}


def tool_handler(name: str) -> Callable[..., Any]:
    if name not in TOOL_HANDLERS:
        raise ConfigurationError(
            f"unknown tool handler {name!r}; built in: {', '.join(sorted(TOOL_HANDLERS))}"
        )
    return TOOL_HANDLERS[name]


def skill_handler(name: str) -> Callable[[str], str]:
    if name not in SKILL_HANDLERS:
        raise ConfigurationError(
            f"unknown skill handler {name!r}; built in: {', '.join(sorted(SKILL_HANDLERS))}"
        )
    return SKILL_HANDLERS[name]
