"""The ``ref`` of a mandate: keccak256 of a canonical descriptor of the call it pays for.

A descriptor is a flat JSON object of strings, serialised canonically (sorted
keys, no whitespace, ASCII), so payer and payee derive the same 32 bytes from
the same call and a settled mandate is evidence of what was bought.

- HTTP (x402): ``{"body": keccak(body), "method": "GET", "transport": "http", "url": <canonical URL>}``
  (:func:`canonical_url`: the URL both sides derive, whatever spelling the client used)
- MCP tool call: ``{"arguments": keccak(canonical JSON of arguments), "tool": <name>, "transport": "mcp"}``
- A2A message: ``{"skill": <id or "">, "task": <id or "">, "text": keccak(text), "transport": "a2a"}``
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from eth_hash.auto import keccak

from aep2.mandate import canonical_json

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _normalise_component(text: str, safe: frozenset[str]) -> str:
    """RFC 3986 §6.2.2: escapes of unreserved characters decoded, other escapes upper-case,
    anything a URI may not carry (spaces, non-ASCII as UTF-8) percent-encoded."""
    out: list[str] = []
    i = 0
    while i < len(text):
        match = _ESCAPE.match(text, i)
        if match is not None:
            char = chr(int(match.group(1), 16))
            out.append(char if char in _UNRESERVED else "%" + match.group(1).upper())
            i += 3
            continue
        char = text[i]
        out.append(char if char in safe else "".join(f"%{b:02X}" for b in char.encode()))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, on an absolute path."""
    out: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    trailing = path.endswith(("/.", "/.."))
    return "/" + "/".join(out) + ("/" if trailing and out else "")


@functools.lru_cache(maxsize=4096)
def canonical_url(url: str) -> str:
    """The one spelling of an HTTP URL that enters a call ref, on the payer's side and the payee's.

    Scheme and host lower-case, the default port dropped, userinfo and fragment dropped (neither
    reaches the server), dot segments removed, an empty path as ``/``, an empty query dropped,
    percent-encoding normalised (RFC 3986 §6.2.2). Query parameters keep their order.
    Memoised: a payee sees the same few URLs on every paid call, and so does a payer.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = _remove_dot_segments(_normalise_component(parts.path or "/", _PATH_SAFE))
    query = _normalise_component(parts.query, _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def _hex(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def descriptor_json(descriptor: dict[str, str]) -> str:
    """The canonical JSON of a descriptor: the exact text whose keccak256 is the ref."""
    return canonical_json(descriptor).decode("ascii")


def ref_of(descriptor: dict[str, str]) -> bytes:
    """keccak256 of the canonical descriptor."""
    return keccak(canonical_json(descriptor))


def http_descriptor(method: str, url: str, body: bytes = b"") -> dict[str, str]:
    return {"body": _hex(body), "method": method.upper(), "transport": "http", "url": canonical_url(url)}


def mcp_descriptor(tool: str, arguments: dict[str, Any] | None) -> dict[str, str]:
    return {"arguments": _hex(canonical_json(arguments or {})), "tool": tool, "transport": "mcp"}


def a2a_descriptor(text: str, *, skill: str = "", task: str = "") -> dict[str, str]:
    return {"skill": skill, "task": task, "text": _hex(text.encode()), "transport": "a2a"}


def http_ref(method: str, url: str, body: bytes = b"") -> bytes:
    return ref_of(http_descriptor(method, url, body))


def mcp_ref(tool: str, arguments: dict[str, Any] | None) -> bytes:
    return ref_of(mcp_descriptor(tool, arguments))


def a2a_ref(text: str, *, skill: str = "", task: str = "") -> bytes:
    return ref_of(a2a_descriptor(text, skill=skill, task=task))
