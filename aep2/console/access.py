"""Who may see a console: one configured token, compared in constant time, or nobody.

The consoles show what a merchant is owed and what a payer's agents spent, so there is no open
mode: with no token configured every console route answers 503 and says how to set one
(:func:`disabled_router`). With one, a request passes if it carries the token as a bearer header
(scripts) or the session cookie the login form sets (people). The cookie holds an HMAC of the token,
not the token, so a cookie read from a browser profile is no bearer credential for the JSON API of
another tool, and changing the token logs every browser out. The cookie is ``HttpOnly`` (no script
reads it) and ``SameSite=Strict`` (no other site's page makes the browser send it).

The console is also for this machine only unless configured: a request from a non-loopback client
is refused (403) unless ``allow_remote`` is set, because the payee's console shares its server with
the public paid API.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from aep2.errors import Reason

TOKEN_ENV = "AEP2_CONSOLE_TOKEN"
COOKIE = "aep2_console"
_SESSION_LABEL = b"aep2 console session v1"
MIN_TOKEN_LENGTH = 16
"""Shorter tokens are refused at start-up: the console guards financial data."""


def configured_token(explicit: str | None = None) -> str | None:
    """The token to require: ``explicit`` (a flag or config key) or else ``$AEP2_CONSOLE_TOKEN``."""
    token = explicit if explicit else os.environ.get(TOKEN_ENV)
    return token or None


def how_to_enable(where: str) -> str:
    return (
        f"the console is disabled: no access token is configured. Set {TOKEN_ENV} "
        f"(at least {MIN_TOKEN_LENGTH} characters, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe())'`) "
        f"or {where}, then restart"
    )


@dataclass(frozen=True)
class ConsoleAccess:
    """The credential a console requires, and whether clients off this machine may present it."""

    token: str
    allow_remote: bool = False

    def __post_init__(self) -> None:
        if len(self.token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the console token must have at least {MIN_TOKEN_LENGTH} characters")

    @property
    def session_value(self) -> str:
        """What the login cookie holds: derived from the token, never the token itself."""
        return hmac.new(self.token.encode(), _SESSION_LABEL, hashlib.sha256).hexdigest()

    def token_matches(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self.token.encode())

    def allows(self, request: Request) -> bool:
        """Whether ``request`` carries the credential (bearer header or session cookie)."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(value.strip()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self.session_value.encode())

    def local_or_allowed(self, request: Request) -> bool:
        if self.allow_remote:
            return True
        host = request.client.host if request.client is not None else ""
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host in ("localhost", "testclient")  # Starlette's in-process test client


class Refused(HTTPException):
    """A console request without the credential (401) or from off this machine (403)."""


def require(access: ConsoleAccess, request: Request) -> None:
    """Raise :class:`Refused` unless ``request`` may see the console."""
    if not access.local_or_allowed(request):
        raise Refused(403, "the console answers only on this machine (configure allow_remote to change)")
    if not access.allows(request):
        raise Refused(401, "log in at /console/login, or send Authorization: Bearer <token>")


def disabled_router(prefix: str, message: str) -> APIRouter:
    """Every path under ``prefix`` answers 503 with ``message``: a console with no token is off."""
    router = APIRouter(prefix=prefix, include_in_schema=False)

    async def refuse(path: str = "") -> JSONResponse:
        return JSONResponse({"reason": Reason.CONSOLE_DISABLED, "message": message}, status_code=503)

    methods = ["GET", "POST", "HEAD"]
    router.add_api_route("", refuse, methods=methods)
    router.add_api_route("/{path:path}", refuse, methods=methods)
    return router
