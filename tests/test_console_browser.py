"""The consoles in a real headless Chromium, while a real window settles on anvil.

A payer pays through the payer SDK (its audit log and budget ledger are the payer console's
data), the payee's store accepts the mandates as the check would, and the settlement pipeline
closes, proves (attestation verifier) and submits the window on anvil, with one payer withdrawing
first so the escrow skips its pair. The browser logs in through the form, watches the windows page
change from "proving" to "settled" with the transaction hash without reloading, and visits every
page of both consoles, taking a screenshot of each (``AEP2_CONSOLE_SCREENSHOTS=docs/console``
keeps them for the docs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select
from sqlalchemy.orm import Session

from aep2.console import ConsoleAccess, X402Reference, headroom_from_chain, mount_payee_console
from aep2.console.payer_console import create_payer_console
from aep2.console.queries_payer import open_read_only
from aep2.devnet import RedisServer
from aep2.errors import ApprovalRequired, PolicyViolation
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payee.headroom import Headroom
from aep2.payer import GrantRecord, LocalKeySigner, Payer
from aep2.settlement.models import WindowRow
from aep2.settlement.pipeline import close_window, prove_chunk, submit_window
from aep2.settlement.planner import CircuitSize
from aep2.settlement.proving import AttestationProver
from tests.browser_support import headless_chromium, screenshot, wait_for
from tests.conftest import aep2_requirement
from tests.settlement_support import ChainParts, World, attested_chain, world_with_store
from tests.test_payer_stub import serve_app

DELAY = 3600
SIZES = (CircuitSize(1, 4, 2), CircuitSize(9, 4, 2, "agent"))
TOKEN = "browser-test-console-token-0123456789"
REFRESH = 0.5
POLICY = (
    "version: 1\nmax_per_payment: 5000\nhourly_limit: 20000\napproval_above: 2000\npayments_per_hour: 100\n"
)


@pytest.fixture(scope="module")
def chain_parts() -> Iterator[ChainParts]:
    with attested_chain(SIZES, DELAY, revoke_delay=DELAY) as parts:
        yield parts


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium() as driver:
        yield driver  # type: ignore[misc]


@dataclass
class Scene:
    """Both consoles served over one world, and the parties that pay in it."""

    world: World
    payee_url: str
    payer_url: str
    payee: str
    rich: bytes
    poor: bytes
    payers: dict[bytes, Payer]
    tmp: Path


def requirement(world: World, payee: str, amount: int) -> dict[str, Any]:
    extra = {"escrow": world.escrow.address, "minDeadlineSeconds": 86_400}
    return aep2_requirement(network=f"eip155:{world.w3.eth.chain_id}", asset=world.token.address,
                            payTo=payee, amount=str(amount), extra=extra)  # fmt: skip


def pay(scene: Scene, key: bytes, amount: int, call: str) -> int:
    """The payer SDK signs (and logs), the payee's store accepts: what a paid call leaves behind."""
    signed = scene.payers[key].authorize(requirement(scene.world, scene.payee, amount), resource=call)
    return scene.world.accept(signed)  # type: ignore[arg-type]


@pytest.fixture
def scene(chain_parts: ChainParts, tmp_path: Path, redis_server: RedisServer) -> Iterator[Scene]:
    world = world_with_store(chain_parts, tmp_path / "payee.db", SIZES)
    payee_key = world.new_payee_key()
    payee = world.address(payee_key)
    rich, poor = world.new_account(), world.new_account()
    world.fund(rich, 1_000_000)
    world.fund(poor, 1_000)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    payer_db = tmp_path / "payer.db"
    payers = {key: Payer(LocalKeySigner(key), policy, db=payer_db) for key in (rich, poor)}
    view = Web3ChainView(w3=world.w3, escrow=world.escrow.address, max_age=0.0)
    payee_app = FastAPI()
    mount_payee_console(
        payee_app, world.engine, ConsoleAccess(TOKEN), broker_url=redis_server.url,
        x402=X402Reference.default(), headroom_of=headroom_from_chain(view, Headroom(DELAY // 2), payee),
        refresh_seconds=REFRESH,
    )  # fmt: skip
    key_id = world.new_agent_key(rich, payee=payee)
    grant = tmp_path / "agent.key.grant.json"
    GrantRecord(world.escrow.domain(), world.grants[key_id], key_id=key_id).write(grant)
    payer_app = create_payer_console(
        open_read_only(payer_db), ConsoleAccess(TOKEN), policy=policy, grants=[grant],
        key_info=world.escrow.agent_key, chain_now=world.chain_now, refresh_seconds=REFRESH,
    )  # fmt: skip
    with serve_app(payee_app) as payee_url, serve_app(payer_app) as payer_url:
        yield Scene(world, payee_url, payer_url, payee, rich, poor, payers, tmp_path)
    for payer in payers.values():
        payer.close()


def text(browser: WebDriver) -> str:
    """The page's visible text, read in one script call (an element handle goes stale on navigation)."""
    return str(browser.execute_script("return document.body ? document.body.innerText : ''"))


def log_in(browser: WebDriver, base: str) -> None:
    """Refused without the token, and with a wrong one; let in with the right one."""
    browser.delete_all_cookies()
    browser.get(f"{base}/console")
    assert "enter the console token" in text(browser).lower()  # the 401 page is the login form
    browser.find_element(By.ID, "token").send_keys("not-the-token")
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: "wrong token" in text(browser), "the wrong token refused")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: "log out" in text(browser), "the console after logging in")
    cookie = browser.get_cookie("aep2_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # no script can read it


def test_payee_console_follows_a_window_to_settled_on_anvil(scene: Scene, browser: WebDriver) -> None:
    world = scene.world
    log_in(browser, scene.payee_url)
    browser.get(f"{scene.payee_url}/console/windows")
    assert "No settlement window closed yet" in text(browser)
    browser.execute_script("window.notReloaded = true")
    for i in range(3):
        pay(scene, scene.rich, 1_000 + i, f"https://api.example/weather/{i}")
    pay(scene, scene.poor, 900, "https://api.example/weather/poor")
    world.pay(scene.rich, scene.payee, 250, kind="agent")
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    wait_for(lambda: f"window {closed.window_id}" in text(browser), "the closed window, live")
    assert "proving" in text(browser)
    prover = AttestationProver(world.attester, world.stack.verifiers)
    for chunk_id in closed.chunk_ids:
        assert prove_chunk(world.engine, chunk_id, prover, world.chain).status == "proved"
    world.escrow.request_withdraw(world.token.address, 1_000, scene.poor)  # leaves before the window lands
    world.warp(DELAY + 1)
    world.escrow.execute_withdraw(world.token.address, scene.poor)
    out = submit_window(world.engine, closed.window_id, world.chain)
    assert (out.status, out.skipped_pairs) == ("settled", 1)
    with Session(world.engine) as s:
        tx_hash = s.execute(select(WindowRow.tx_hash).where(WindowRow.id == closed.window_id)).scalar_one()
    assert tx_hash
    # the page may catch the window between sending (hash recorded) and its receipt: wait for both
    wait_for(lambda: tx_hash in text(browser) and "4 of 5 mandates settled" in text(browser), "settled, live")
    section = browser.find_element(By.ID, f"window-{closed.window_id}").text
    assert f"window {closed.window_id} settled" in section and tx_hash in section
    assert browser.execute_script("return window.notReloaded === true && window.aep2Console.changes >= 1")
    screenshot(browser, "payee-windows", scene.tmp)
    browser.find_element(By.LINK_TEXT, f"window {closed.window_id}").click()
    wait_for(lambda: "Mandates" in text(browser), "the window's own page")
    states = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#mandates .state")]
    assert sorted(states) == ["accepted", "settled", "settled", "settled", "settled"]
    assert "agent key" in browser.find_element(By.ID, "mandates").text
    screenshot(browser, "payee-window", scene.tmp)

    pages = {
        "": ["3,253", "-900"],  # settled: the rich payer's four; the poor one withdrew: over-exposed
        "/problems": ["INSUFFICIENT_BALANCE", world.address(scene.poor)],
        "/health": ["prove", "last window settled"],
        "/gas": ["x402 exact", "gas per payment"],
    }
    for path, expected in pages.items():
        browser.get(f"{scene.payee_url}/console{path}")
        body = text(browser)
        for snippet in expected:
            assert snippet in body, (path, snippet)
        screenshot(browser, "payee-" + (path.strip("/") or "overview"), scene.tmp)
    assert "unknown" not in text(browser)  # gas: measured or recorded x402 figure, named
    browser.get(f"{scene.payee_url}/console/health")
    assert "unknown" not in browser.find_element(By.ID, "queues").text  # a real Redis broker answers


def test_payer_console_shows_caps_denials_approvals_and_keys_live(scene: Scene, browser: WebDriver) -> None:
    rich = scene.payers[scene.rich]
    for i in range(4):
        pay(scene, scene.rich, 1_500, f"https://api.example/search/{i}")
    with pytest.raises(PolicyViolation):
        rich.authorize(requirement(scene.world, scene.payee, 9_000), resource="https://api.example/too-big")
    with pytest.raises(ApprovalRequired):
        rich.authorize(requirement(scene.world, scene.payee, 3_000), resource="https://api.example/report")
    scene.world.pay(scene.rich, scene.payee, 400, kind="agent")
    world = scene.world
    closed = close_window(world.engine, world.chain, world.sizes)
    prover = AttestationProver(world.attester, world.stack.verifiers)
    for chunk_id in closed.chunk_ids:
        prove_chunk(world.engine, chunk_id, prover, world.chain)
    assert closed.window_id is not None
    assert submit_window(world.engine, closed.window_id, world.chain).status == "settled"
    log_in(browser, scene.payer_url)
    browser.get(f"{scene.payer_url}/console")
    assert "hourly_limit" in text(browser) and "20,000" in text(browser)
    screenshot(browser, "payer-spend", scene.tmp)
    browser.get(f"{scene.payer_url}/console/audit")
    browser.execute_script("window.notReloaded = true")
    body = text(browser)
    assert "policy_max_per_payment" in body and "approval_required" in body
    pay(scene, scene.rich, 1_234, "https://api.example/search/live")
    wait_for(lambda: "1,234" in text(browser), "the new audit entry, live")
    assert browser.execute_script("return window.notReloaded === true")
    screenshot(browser, "payer-audit", scene.tmp)
    browser.get(f"{scene.payer_url}/console/approvals")
    assert "https://api.example/report" in text(browser)
    screenshot(browser, "payer-approvals", scene.tmp)
    browser.get(f"{scene.payer_url}/console/keys")
    keys = browser.find_element(By.ID, "keys").text
    assert "active" in keys and "unknown" not in keys  # the escrow's cap and spent, read through the RPC
    assert browser.find_element(By.CSS_SELECTOR, "#keys tr:nth-child(2) td:nth-child(7)").text == "400"
    screenshot(browser, "payer-keys", scene.tmp)
