"""The web shell both consoles share: pages from a table, their JSON twins, login, live updates.

A console is a list of :class:`Page` (a path, a title, a template and a query returning
dataclasses). :func:`mount_console` turns the table into routes: the page as HTML, the same page's
live part alone (``?partial=1``, what ``console.js`` polls and swaps in), and its data as JSON at
``/console/api/<name>`` for scripts. Every one of them requires the credential (:mod:`.access`);
only the login form does not. Without a credential configured the console is mounted disabled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from aep2.console import charts
from aep2.console.access import COOKIE, ConsoleAccess, Refused, disabled_router, require
from aep2.errors import Reason

PREFIX = "/console"
SCRIPT = "console.js"
SECURITY_HEADERS = {
    # no inline script, nothing from another origin; the stylesheet is inlined in <style>
    "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Page:
    """One console page: ``/console<path>`` renders ``template`` with ``data(**path params)`` as
    ``data``; its JSON twin is ``/console/api/<name>`` followed by the same parameters. A page whose
    data is None answers 404; a page with parameters is reached by links, not from the menu."""

    name: str
    path: str
    title: str
    template: str
    data: Callable[..., Any]

    @property
    def params(self) -> str:
        """The path's parameter part (``/{window_id:int}``), empty for a plain page."""
        cut = self.path.find("/{")
        return "" if cut < 0 else self.path[cut:]

    @property
    def in_menu(self) -> bool:
        return not self.params


def _amount(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _unix(value: float | None) -> str:
    return "—" if not value else _when(datetime.fromtimestamp(value, UTC))


def _short(value: str | None) -> str:
    return "—" if not value else value if len(value) <= 14 else f"{value[:8]}…{value[-4:]}"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("aep2.console", "templates"), autoescape=select_autoescape(["html"])
    )
    env.filters.update(amount=_amount, when=_when, short=_short, unix=_unix)
    env.globals["charts"] = charts
    return env


@dataclass(frozen=True)
class Console:
    """A mounted console: what its pages are called, and how it is rendered."""

    product: str
    pages: Sequence[Page]
    access: ConsoleAccess
    refresh_seconds: float = 2.0
    env: Environment = dataclasses.field(default_factory=environment)

    def html(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.env.get_template(template).render(
            product=self.product, pages=self.pages, prefix=PREFIX, refresh=self.refresh_seconds, **context
        )
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def mount_console(app: FastAPI, console: Console | None, *, disabled_message: str) -> None:
    """Add the console's routes to ``app``; with ``console`` None, a refusal under every path."""
    if console is None:
        app.include_router(disabled_router(PREFIX, disabled_message))
        return
    app.include_router(_login_router(console))
    guarded = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(_guard(console.access))]
    )
    for page in console.pages:
        _add_page(guarded, console, page)
    guarded.add_api_route(f"/static/{SCRIPT}", _script, methods=["GET"])
    app.include_router(guarded)
    app.add_exception_handler(Refused, _refusal_handler(console))


def _guard(access: ConsoleAccess) -> Callable[[Request], None]:
    def guard(request: Request) -> None:
        require(access, request)

    return guard


def _add_page(router: APIRouter, console: Console, page: Page) -> None:
    api_path = f"/api/{page.name}{page.params}"

    def data(request: Request) -> Any:
        found = page.data(**request.path_params)
        if found is None:
            raise HTTPException(404, f"no such {page.name}")
        return found

    def html(request: Request) -> HTMLResponse:
        template = page.template if request.query_params.get("partial") else "page.html"
        api = f"{PREFIX}/api/{page.name}" + "".join(f"/{v}" for v in request.path_params.values())
        return console.html(template, page=page, data=data(request), here=request.url.path, api=api)

    def api(request: Request) -> JSONResponse:
        return JSONResponse(jsonable_encoder(data(request)), headers=SECURITY_HEADERS)

    router.add_api_route(page.path, html, methods=["GET"], name=f"console {page.name}")
    router.add_api_route(api_path, api, methods=["GET"], name=f"console api {page.name}")


def _script() -> Response:
    source = files("aep2.console").joinpath("static").joinpath(SCRIPT).read_text()
    return Response(source, media_type="text/javascript", headers=SECURITY_HEADERS)


def _login_router(console: Console) -> APIRouter:
    """The login form (GET, POST) and logout: the only console routes open without the cookie."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/login")
    def form() -> HTMLResponse:
        return console.html("login.html")

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not console.access.local_or_allowed(request):
            return console.html("login.html", 403, error="the console answers only on this machine")
        fields = parse_qs((await request.body()).decode(errors="replace"))
        if not console.access.token_matches((fields.get("token") or [""])[0]):
            return console.html("login.html", 401, error="wrong token")
        response = RedirectResponse(f"{PREFIX}", status_code=303)
        response.set_cookie(
            COOKIE, console.access.session_value, httponly=True, samesite="strict", path=PREFIX,
            secure=request.url.scheme == "https",
        )  # fmt: skip
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    return router


def _refusal_handler(console: Console) -> Callable[[Request, Exception], Response]:
    def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if request.url.path.startswith(f"{PREFIX}/api/") or "text/html" not in request.headers.get(
            "accept", ""
        ):
            reason = Reason.CONSOLE_UNAUTHORIZED if exc.status_code == 401 else Reason.CONSOLE_FORBIDDEN
            body = {"reason": str(reason), "message": exc.detail}
            return JSONResponse(body, status_code=exc.status_code, headers={"WWW-Authenticate": "Bearer"})
        return console.html("login.html", exc.status_code, error=exc.detail)

    return handle
