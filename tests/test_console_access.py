"""The consoles' access rules, over their whole route tables: no credential, no data.

The routes are collected from the mounted apps themselves, so a page added to a console's table
is covered here without anyone remembering to list it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute
from typer.testing import CliRunner

import aep2.settlement.models  # noqa: F401  (the settlement tables, for create_schema)
from aep2.cli import app as cli
from aep2.console import ConsoleAccess, X402Reference, mount_payee_console
from aep2.console.access import COOKIE, TOKEN_ENV
from aep2.console.payer_console import create_payer_console
from aep2.console.queries_payer import open_read_only
from aep2.errors import Reason
from aep2.payer import open_engine
from aep2.store import create_schema, make_engine

TOKEN = "console-token-for-tests-0123456789"
OPEN = {"/console/login", "/console/logout"}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def payee_app(tmp: Path, access: ConsoleAccess | None) -> FastAPI:
    engine = make_engine(f"sqlite:///{tmp / 'payee.db'}")
    create_schema(engine)
    app = FastAPI()
    mount_payee_console(app, engine, access, x402=X402Reference(68_312, "test figure"))
    return app


def payer_app(tmp: Path, access: ConsoleAccess | None) -> FastAPI:
    policy = tmp / "policy.yaml"
    policy.write_text("version: 1\nhourly_limit: 5000\n")
    open_engine(tmp / "payer.db").dispose()
    return create_payer_console(open_read_only(tmp / "payer.db"), access, policy=policy)


def mounted(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every route as mounted, through included routers (FastAPI keeps those as one entry each)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from mounted(inner.routes)


def guarded_paths(app: FastAPI) -> list[str]:
    """Every console route but the login form's, as mounted; a path parameter (``{window_id}``) as 1."""
    paths = {re.sub(r"\{[^}]+\}", "1", r.path) for r in mounted(app.routes) if r.path.startswith("/console")}
    return sorted(paths - OPEN)


@pytest.fixture(params=["payee", "payer"])
def console(request: pytest.FixtureRequest, tmp_path: Path) -> TestClient:
    build = payee_app if request.param == "payee" else payer_app
    return TestClient(build(tmp_path, ConsoleAccess(TOKEN)))


def test_the_route_tables_hold_every_page_and_its_json(tmp_path: Path) -> None:
    payee = guarded_paths(payee_app(tmp_path, ConsoleAccess(TOKEN)))
    assert {"/console", "/console/windows", "/console/api/windows", "/console/gas", "/console/health",
            "/console/problems", "/console/static/console.js", "/console/windows/1",
            "/console/api/window/1"} <= set(payee)  # fmt: skip
    payer = guarded_paths(payer_app(tmp_path, ConsoleAccess(TOKEN)))
    assert {"/console", "/console/audit", "/console/approvals", "/console/keys", "/console/api/keys"} <= set(
        payer
    )


def test_without_the_credential_every_console_route_is_refused(console: TestClient) -> None:
    paths = guarded_paths(console.app)  # type: ignore[arg-type]
    assert len(paths) >= 9
    wrong = [{}, {"Authorization": "Bearer " + TOKEN[:-1] + "x"}, {"Authorization": TOKEN},
             {"Cookie": f"{COOKIE}={TOKEN}"}, {"Cookie": f"{COOKIE}=" + "0" * 64}]  # fmt: skip
    for path in paths:
        for headers in wrong:
            answer = console.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers, answer.status_code)
            assert answer.json()["reason"] == "console_unauthorized"
        html = console.get(path, headers={"Accept": "text/html"})
        assert html.status_code == 401
        if "/api/" not in path:  # a person gets the login form; scripts get JSON
            assert 'name="token"' in html.text
    for path in paths:  # let in: a page of something that does not exist is a 404, not a refusal
        assert console.get(path, headers=BEARER).status_code == (404 if path.endswith("/1") else 200), path


def test_the_login_form_sets_an_httponly_strict_cookie_and_logout_clears_it(console: TestClient) -> None:
    refused = console.post("/console/login", data={"token": "wrong"}, follow_redirects=False)
    assert refused.status_code == 401 and "wrong token" in refused.text
    assert COOKIE not in console.cookies
    done = console.post("/console/login", data={"token": TOKEN}, follow_redirects=False)
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert TOKEN not in cookie  # the cookie holds a derived value, not the token
    assert console.get("/console/static/console.js").status_code == 200
    console.post("/console/logout", follow_redirects=False)
    assert console.get("/console").status_code == 401


def test_pages_carry_a_strict_content_security_policy(console: TestClient) -> None:
    page = console.get("/console", headers=BEARER)
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert '<script src="/console/static/console.js">' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from another origin


def test_a_client_off_this_machine_is_refused_even_with_the_token(tmp_path: Path) -> None:
    remote = TestClient(payee_app(tmp_path, ConsoleAccess(TOKEN)), client=("203.0.113.7", 40000))
    assert remote.get("/console", headers=BEARER).status_code == 403
    assert remote.post("/console/login", data={"token": TOKEN}, follow_redirects=False).status_code == 403
    allowed = TestClient(
        payee_app(tmp_path, ConsoleAccess(TOKEN, allow_remote=True)), client=("203.0.113.7", 1)
    )
    assert allowed.get("/console", headers=BEARER).status_code == 200


@pytest.mark.parametrize("build", [payee_app, payer_app])
def test_without_a_configured_token_the_console_is_disabled_and_says_how_to_enable(
    build: object, tmp_path: Path
) -> None:
    enabled = guarded_paths(build(tmp_path, ConsoleAccess(TOKEN)))  # type: ignore[operator]
    disabled = TestClient(build(tmp_path, None))  # type: ignore[operator]
    for path in [*enabled, *OPEN]:
        answer = disabled.get(path, headers=BEARER)
        assert answer.status_code == 503, path
        assert answer.json()["reason"] == "console_disabled" and TOKEN_ENV in answer.json()["message"]
    assert disabled.post("/console/login", data={"token": TOKEN}).status_code == 503


def test_every_console_code_is_documented() -> None:
    errors = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    assert [r for r in Reason if r.startswith("console_") and f"`{r.value}`" not in errors] == []


def test_a_short_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        ConsoleAccess("short")


def test_payer_console_command_refuses_to_start_without_a_token_or_on_a_public_interface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n")
    args = ["payer", "console", "--policy", str(policy), "--db", str(tmp_path / "payer.db")]
    runner = CliRunner()
    off = runner.invoke(cli, args)
    assert off.exit_code == 3 and TOKEN_ENV in off.output and "disabled" in off.output
    public = runner.invoke(cli, [*args, "--token", TOKEN, "--host", "0.0.0.0"])
    assert public.exit_code == 3 and "--allow-remote" in public.output
    short = runner.invoke(cli, [*args, "--token", "short"])
    assert short.exit_code == 3 and "at least 16" in short.output


@pytest.mark.parametrize("token", [None, TOKEN])
def test_payee_serve_mounts_the_console_only_with_a_configured_token(
    token: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aep2.cli.payee import mount_console
    from aep2.payee import Settings
    from aep2.payee.chain_view import StaticChainView

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    settings = Settings(chain_id=31337, escrow="0x" + "11" * 20, tokens=["0x" + "22" * 20],
                        payee_key="0x" + "33" * 32, console_token=token)  # fmt: skip
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    app = FastAPI()
    said = mount_console(app, settings, engine, StaticChainView())
    answer = TestClient(app).get("/console/api/overview", headers=BEARER)
    if token is None:
        assert answer.status_code == 503 and "disabled" in said and TOKEN_ENV in said
    else:
        assert answer.status_code == 200 and said == "/console"
        assert answer.json()["payers"] == [] and answer.json()["headroom_known"] is True
