"""The ``ref`` of a mandate: keccak256 of a canonical descriptor of the call it pays for.

A descriptor is a flat JSON object of strings, serialised canonically (sorted
keys, no whitespace, ASCII), so payer and payee derive the same 32 bytes from
the same call and a settled mandate is evidence of what was bought.

- HTTP (x402): ``{"body": keccak(body), "method": "GET", "transport": "http", "url": <resource URL>}``
- MCP tool call: ``{"arguments": keccak(canonical JSON of arguments), "tool": <name>, "transport": "mcp"}``
- A2A message: ``{"skill": <id or "">, "task": <id or "">, "text": keccak(text), "transport": "a2a"}``
"""

from __future__ import annotations

import json
from typing import Any

from eth_hash.auto import keccak


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _hex(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def ref_of(descriptor: dict[str, str]) -> bytes:
    """keccak256 of the canonical descriptor."""
    return keccak(_canonical(descriptor))


def http_descriptor(method: str, url: str, body: bytes = b"") -> dict[str, str]:
    return {"body": _hex(body), "method": method.upper(), "transport": "http", "url": url}


def mcp_descriptor(tool: str, arguments: dict[str, Any] | None) -> dict[str, str]:
    return {"arguments": _hex(_canonical(arguments or {})), "tool": tool, "transport": "mcp"}


def a2a_descriptor(text: str, *, skill: str = "", task: str = "") -> dict[str, str]:
    return {"skill": skill, "task": task, "text": _hex(text.encode()), "transport": "a2a"}


def http_ref(method: str, url: str, body: bytes = b"") -> bytes:
    return ref_of(http_descriptor(method, url, body))


def mcp_ref(tool: str, arguments: dict[str, Any] | None) -> bytes:
    return ref_of(mcp_descriptor(tool, arguments))


def a2a_ref(text: str, *, skill: str = "", task: str = "") -> bytes:
    return ref_of(a2a_descriptor(text, skill=skill, task=task))
