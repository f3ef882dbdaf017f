"""The web3 ChainView and the payee's check against the real escrow on anvil, and ``aep2 payee serve``.

The stack is ``deploy_stack``'s: the escrow, ``TestUSDC`` (deposits are real token transfers) and
the attestation stand-in verifier, so settlements move balances and high-water marks exactly as a
proven batch does. The cache is dropped by the escrow's own events (``Deposited``,
``WithdrawalRequested``/``Cancelled``, ``PairSettled``), never by test hooks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web3 import Web3

from aep2.devnet import Anvil
from aep2.devnet._process import free_port
from aep2.errors import ConfigurationError, MandateError, Reason
from aep2.mandate import encode
from aep2.payee import PayeeCheck, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.protocol.call_ref import http_ref
from aep2.store import MandateRow, MandateState, transition
from aep2.store.models import uint64_key
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from tests import payee_support as s
from tests.escrow_world import World, make_world, new_payer, settle

P = s.PRICE


@pytest.fixture(scope="module")
def world(anvil: Anvil) -> World:
    return make_world(anvil)


def address(key: bytes) -> str:
    return str(Account.from_key(key).address)


def test_reads_the_escrow_and_invalidates_on_its_events(world: World) -> None:
    key = new_payer(world)
    payer, token = address(key), world.token.address
    view = Web3ChainView(w3=world.w3, escrow=world.escrow.address, max_age=3600, poll_interval=0)
    frozen = Web3ChainView(w3=world.w3, escrow=world.escrow.address, max_age=3600, poll_interval=3600)

    def position(v: Web3ChainView) -> tuple[int, int, int]:
        p = v.position(payer=payer, payee=s.PAYEE, token=token)
        return p.balance, p.pending_withdrawal, p.high_water

    world.fund(key, 500)
    assert position(view) == position(frozen) == (500, 0, 0)
    world.escrow.request_withdraw(token, 200, key)  # WithdrawalRequested
    assert position(view) == (500, 200, 0)
    ready_at = view.position(payer=payer, payee=s.PAYEE, token=token).withdrawal_ready_at
    assert view.position(payer=payer, payee=s.PAYEE, token=token).free_until(ready_at) == 300
    assert position(frozen) == (500, 0, 0)  # no poll, no read: the cache answers
    settle(world, payer, bytes.fromhex(s.PAYEE_KEY[2:]), 0, 2, 100)  # PairSettled
    assert position(view) == (400, 200, 2)
    world.escrow.cancel_withdraw(token, key)  # WithdrawalCancelled
    world.fund(key, 50)  # Deposited
    assert position(view) == (450, 0, 2)
    other = new_payer(world)
    world.fund(other, 1)
    assert view.poll_events(force=True) == 0  # another payer's deposit drops nothing of ours
    assert position(frozen) == (500, 0, 0)


def test_cached_values_expire_after_max_age(world: World) -> None:
    key = new_payer(world)
    view = Web3ChainView(w3=world.w3, escrow=world.escrow.address, max_age=0.2, poll_interval=3600)
    world.fund(key, 7)
    assert view.position(payer=address(key), payee=s.PAYEE, token=world.token.address).balance == 7
    world.fund(key, 1)
    time.sleep(0.25)
    assert view.position(payer=address(key), payee=s.PAYEE, token=world.token.address).balance == 8


def test_headroom_follows_deposits_withdrawals_and_settlements(world: World, engine: Engine) -> None:
    key = new_payer(world)
    payer, token = address(key), world.token.address
    settings = s.settings(escrow=world.escrow.address, tokens=[token])
    view = Web3ChainView(w3=world.w3, escrow=world.escrow.address, max_age=3600, poll_interval=0)
    # the chain's clock: a withdrawal counts as leaving once its readyAt is within now + horizon
    check = PayeeCheck(settings=settings, engine=engine, chain=view, clock=lambda: float(world.now()))
    ref = http_ref("GET", "http://x/weather")

    def accept(nonce: int, amount: int = P) -> None:
        escrow = world.escrow.address
        signed = s.sign(ref=ref, nonce=nonce, amount=amount, key=key, token=token, escrow=escrow)
        check.accept(encode(signed), price=P, ref=ref, transport="test")

    def refused(nonce: int) -> str:
        """A new mandate (one unit more, so never one accepted before) with ``nonce``."""
        before = s.stored(engine)
        with pytest.raises(MandateError) as caught:
            accept(nonce, P + 1)
        assert s.stored(engine) == before  # nothing stored for a rejection
        return str(caught.value.reason)

    assert refused(1) == Reason.INSUFFICIENT_HEADROOM  # no deposit yet
    world.fund(key, 3 * P)
    for nonce in (1, 2, 3):
        accept(nonce)  # funded with 3P: accepted up to 3P ...
    assert refused(4) == Reason.INSUFFICIENT_HEADROOM  # ... and not a unit more
    world.fund(key, 2 * P)
    accept(4)
    world.escrow.request_withdraw(token, P, key)  # ready within the horizon: debitable 4P, all accepted
    assert refused(5) == Reason.INSUFFICIENT_HEADROOM

    payee_key = bytes.fromhex(s.PAYEE_KEY[2:])
    settle(world, payer, payee_key, 0, 3, 3 * P)  # nonces 1-3 settled: high water 3, balance 2P
    assert refused(3) == Reason.NONCE_BELOW_HIGH_WATER
    assert refused(2) == Reason.NONCE_BELOW_HIGH_WATER
    # Until the settlement pipeline marks 1-3 settled, the payee still counts them (fails closed).
    assert refused(5) == Reason.INSUFFICIENT_HEADROOM
    with Session(engine) as session, session.begin():
        settled = session.scalars(select(MandateRow.id).where(MandateRow.nonce <= uint64_key(3))).all()
        # the pipeline's path (the store refuses a jump from accepted straight to settled)
        for state in ("batched", "proving", "proved", "submitted", "settled"):
            assert transition(session=session, mandate_ids=settled, to=MandateState(state)) == 3
    assert refused(5) == Reason.INSUFFICIENT_HEADROOM  # debitable 2P - P pending = P, all on nonce 4
    world.escrow.cancel_withdraw(token, key)
    accept(5)
    assert s.stored(engine)[0] == 5


@pytest.fixture
def cli_server(anvil: Anvil, world: World, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """``aep2 payee serve`` in a subprocess; ``request.param`` (indirect) is ``--workers``."""
    workers = getattr(request, "param", 1)
    (tmp_path / "payee.key").write_text(s.PAYEE_KEY)
    port = free_port()
    config: dict[str, Any] = {
        "chain_id": s.CHAIN_ID, "rpc_url": anvil.rpc_url, "escrow": world.escrow.address,
        "tokens": [world.token.address],
        "payee_key_file": "payee.key", "settlement_horizon_seconds": 600,
        "database_url": f"sqlite:///{tmp_path / 'cli.db'}",
        "routes": [{"path": "/weather", "price": s.PRICE, "description": "weather"}],
    }  # fmt: skip
    (tmp_path / "payee.yaml").write_text(json.dumps(config))
    args = [
        sys.executable,
        "-m",
        "aep2.cli.payee",
        "serve",
        "--config",
        str(tmp_path / "payee.yaml"),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    # a pipeline fast enough that horizon + worst-case latency fits the escrow's 1-hour withdrawDelay
    fast = {"AEP2_WINDOW_MAX_AGE": "60", "AEP2_TICK_SECONDS": "5", "AEP2_STUCK_AFTER": "60"}
    env = os.environ | {"PYTHONWARNINGS": "ignore"} | fast
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # two workers import the whole stack at once; a loaded machine
    try:
        while True:
            try:
                httpx.get(base + "/health")
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield base
    finally:  # a server that never answered is stopped too, not left behind
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.parametrize("cli_server", [1, 2], indirect=True, ids=["one process", "two workers"])
def test_cli_serves_a_paid_api(cli_server: str, world: World, tmp_path: Path) -> None:
    """``aep2 payee serve`` over the real escrow, paid by the payer SDK's httpx transport;
    with ``--workers 2`` each uvicorn worker builds its app from the config the parent names."""
    key = new_payer(world)
    world.fund(key, 10 * s.PRICE)
    payer = Payer(LocalKeySigner(key), Policy(max_per_payment=s.PRICE), db=tmp_path / "payer.db")
    with httpx.Client(auth=Aep2Auth(payer)) as client:
        response = client.get(cli_server + "/weather")
    assert response.status_code == 200, response.text
    receipt = payment_of(response).receipt
    assert receipt is not None and receipt.payer == address(key) and receipt.nonce == "1"
    payer.close()


def dead_rpc_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def test_unreachable_chain_is_a_503_configuration_not_a_500(engine: Engine) -> None:
    """Issue #14, defect 6: a chain read that fails, logs included, answers 503 ``configuration``
    with the error's JSON, never a bare 500."""
    w3 = Web3(Web3.HTTPProvider(dead_rpc_url(), request_kwargs={"timeout": 2}))
    view = Web3ChainView(w3=w3, escrow=s.ESCROW, poll_interval=0)
    with pytest.raises(ConfigurationError):
        view.position(payer=s.PAYER, payee=s.PAYEE, token=s.TOKEN)
    assert_503_on_paid_call(create_app(settings=s.settings(), engine=engine, chain=view), engine)


def test_chain_dying_under_a_running_payee_is_a_503(engine: Engine) -> None:
    anvil = Anvil().start()
    try:
        world = make_world(anvil)
        w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 2}))
        view = Web3ChainView(w3=w3, escrow=world.escrow.address, poll_interval=0)
        settings = s.settings(escrow=world.escrow.address, tokens=[world.token.address])
        assert view.position(payer=s.PAYER, payee=s.PAYEE, token=world.token.address).balance == 0
    finally:
        anvil.stop()
    app = create_app(settings=settings, engine=engine, chain=view)
    assert_503_on_paid_call(app, engine, token=world.token.address, escrow=world.escrow.address)


def assert_503_on_paid_call(
    app: Any, engine: Engine, *, token: str = s.TOKEN, escrow: str = s.ESCROW
) -> None:
    with s.serve(app) as running, httpx.Client() as client:
        url = running.url + "/weather"
        offer = s.challenge_of(client.get(url).headers["PAYMENT-REQUIRED"])["accepts"][0]
        signed = s.sign(ref=http_ref("GET", url), token=token, escrow=escrow)
        response = client.get(url, headers={"PAYMENT-SIGNATURE": s.x402_header(encode(signed), offer)})
    assert response.status_code == 503, response.text
    assert response.json()["reason"] == Reason.CONFIGURATION
    assert s.stored(engine) == (0, 0, 0)
