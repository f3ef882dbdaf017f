"""The web3 ChainView on a real anvil, and ``aep2 payee serve`` end to end over it.

The escrow is being built on another branch; until it lands here, a stand-in
with the same view functions and events as its ``IEscrow`` (``balance``,
``pendingWithdrawal``, ``highWater``; ``Deposited``/``WithdrawalRequested`` with
the payer indexed) is compiled with the repo's solc and deployed on anvil.
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
from web3 import Web3
from web3.contract import Contract

from aep2.chain import Artifact, deploy, transact
from aep2.devnet import Anvil, find_tool
from aep2.devnet._process import free_port
from aep2.errors import MandateError, Reason
from aep2.mandate import encode
from aep2.payee import PayeeCheck
from aep2.payee.chain_web3 import Web3ChainView
from aep2.store import create_schema, make_engine
from aep2.transports.call_ref import http_ref
from tests import payee_support as s

ESCROW_STAND_IN = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract EscrowViews {
    event Deposited(address indexed payer, address indexed token, uint256 amount);
    event WithdrawalRequested(address indexed payer, address indexed token, uint256 amount, uint64 readyAt);
    mapping(address => mapping(address => uint256)) public balance;
    mapping(address => mapping(address => uint256)) internal pending;
    mapping(address => mapping(address => uint64)) public highWater;
    function deposit(address payer, address token, uint256 amount) external {
        balance[payer][token] += amount;
        emit Deposited(payer, token, amount);
    }
    function requestWithdraw(address payer, address token, uint256 amount) external {
        pending[payer][token] = amount;
        emit WithdrawalRequested(payer, token, amount, uint64(block.timestamp + 1 days));
    }
    function setHighWater(address payer, address payee, uint64 nonce) external {
        highWater[payer][payee] = nonce;
    }
    function setBalanceSilently(address payer, address token, uint256 amount) external {
        balance[payer][token] = amount;
    }
    function pendingWithdrawal(address payer, address token) external view returns (uint256, uint64) {
        return (pending[payer][token], 0);
    }
}
"""


def compile_stand_in() -> Artifact:
    request = {
        "language": "Solidity",
        "sources": {"EscrowViews.sol": {"content": ESCROW_STAND_IN}},
        "settings": {"evmVersion": "prague", "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    out = subprocess.run(
        [find_tool("solc"), "--standard-json"],
        input=json.dumps(request).encode(),
        capture_output=True,
        check=True,
    )
    built = json.loads(out.stdout)["contracts"]["EscrowViews.sol"]["EscrowViews"]
    return Artifact(name="EscrowViews", abi=built["abi"], bytecode="0x" + built["evm"]["bytecode"]["object"])


@pytest.fixture(scope="module")
def escrow(w3: Web3, deployer_key: bytes) -> Contract:
    return deploy(w3, compile_stand_in(), private_key=deployer_key)


def test_reads_cache_and_invalidates_on_escrow_events(
    w3: Web3, escrow: Contract, deployer_key: bytes
) -> None:
    payer = Account.create().address
    view = Web3ChainView(w3=w3, escrow=escrow.address, max_age=3600, poll_interval=0)
    transact(w3, escrow.functions.deposit(payer, s.TOKEN, 500), deployer_key)
    transact(w3, escrow.functions.setHighWater(payer, s.PAYEE, 4), deployer_key)
    position = view.position(payer=payer, payee=s.PAYEE, token=s.TOKEN)
    assert (position.balance, position.pending_withdrawal, position.high_water) == (500, 0, 4)
    transact(w3, escrow.functions.setBalanceSilently(payer, s.TOKEN, 1), deployer_key)
    assert view.position(payer=payer, payee=s.PAYEE, token=s.TOKEN).balance == 500  # cached: no event
    transact(w3, escrow.functions.requestWithdraw(payer, s.TOKEN, 200), deployer_key)
    refreshed = view.position(payer=payer, payee=s.PAYEE, token=s.TOKEN)
    assert (refreshed.balance, refreshed.pending_withdrawal, refreshed.debitable) == (1, 200, 0)


def test_cached_values_expire_after_max_age(w3: Web3, escrow: Contract, deployer_key: bytes) -> None:
    payer = Account.create().address
    view = Web3ChainView(w3=w3, escrow=escrow.address, max_age=0.2, poll_interval=3600)
    transact(w3, escrow.functions.setBalanceSilently(payer, s.TOKEN, 7), deployer_key)
    assert view.position(payer=payer, payee=s.PAYEE, token=s.TOKEN).balance == 7
    transact(w3, escrow.functions.setBalanceSilently(payer, s.TOKEN, 8), deployer_key)
    time.sleep(0.25)
    assert view.position(payer=payer, payee=s.PAYEE, token=s.TOKEN).balance == 8


def test_check_over_the_real_chain(w3: Web3, escrow: Contract, deployer_key: bytes, tmp_path: Path) -> None:
    key = Account.create().key
    payer = Account.from_key(key).address
    settings = s.settings(escrow=escrow.address)
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    check = PayeeCheck(
        settings=settings, engine=engine, chain=Web3ChainView(w3=w3, escrow=escrow.address, poll_interval=0)
    )
    ref = http_ref("GET", "http://x/weather")

    def accept(nonce: int) -> None:
        signed = s.sign(ref=ref, nonce=nonce, key=bytes(key), escrow=escrow.address)
        check.accept(encode(signed), price=s.PRICE, ref=ref, transport="test")

    with pytest.raises(MandateError) as caught:
        accept(1)
    assert caught.value.reason == Reason.INSUFFICIENT_HEADROOM
    transact(w3, escrow.functions.deposit(payer, s.TOKEN, 2 * s.PRICE), deployer_key)
    transact(w3, escrow.functions.setHighWater(payer, s.PAYEE, 3), deployer_key)
    with pytest.raises(MandateError) as caught:
        accept(3)
    assert caught.value.reason == Reason.NONCE_BELOW_HIGH_WATER
    accept(4)
    accept(5)
    with pytest.raises(MandateError) as caught:
        accept(6)
    assert caught.value.reason == Reason.INSUFFICIENT_HEADROOM


@pytest.fixture
def cli_server(anvil: Anvil, escrow: Contract, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "payee.key").write_text(s.PAYEE_KEY)
    port = free_port()
    config: dict[str, Any] = {
        "chain_id": s.CHAIN_ID, "rpc_url": anvil.rpc_url, "escrow": escrow.address, "tokens": [s.TOKEN],
        "payee_key_file": "payee.key", "settlement_horizon_seconds": s.HORIZON,
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
    ]
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/health")
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


def test_cli_serves_a_paid_api(cli_server: str, w3: Web3, escrow: Contract, deployer_key: bytes) -> None:
    transact(w3, escrow.functions.deposit(s.PAYER, s.TOKEN, 10 * s.PRICE), deployer_key)
    url = cli_server + "/weather"
    accepted = s.aep2_accept(s.challenge_of(httpx.get(url).headers["PAYMENT-REQUIRED"]))
    signed = s.sign(ref=http_ref("GET", url), nonce=1000, escrow=escrow.address)
    response = httpx.get(url, headers={"PAYMENT-SIGNATURE": s.x402_header(encode(signed), accepted)})
    assert response.status_code == 200, response.text
    assert "PAYMENT-RESPONSE" in response.headers
