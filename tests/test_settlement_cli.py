"""``aep2 settle --now`` and ``aep2 status`` against a real anvil and store (attestation proofs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from eth_account import Account
from typer.testing import CliRunner
from web3 import Web3

import aep2.settlement.models  # noqa: F401
from aep2.chain import attestation_verifier, deploy_stack
from aep2.cli.worker import settle, status
from aep2.devnet import Anvil
from aep2.settlement.planner import CircuitSize
from aep2.store import create_schema, make_engine
from tests.settlement_support import World

SIZES = (CircuitSize(1, 4, 2),)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        owner, submitter, attester, *keys = node.private_keys
        spec = attestation_verifier(1, 4, 2, Account.from_key(attester).address)
        stack = deploy_stack(w3, owner, verifiers=[spec])
        url = f"sqlite:///{tmp_path / 'payee.db'}"
        engine = make_engine(url)
        create_schema(engine)
        for name, value in {
            "AEP2_DATABASE_URL": url,
            "AEP2_RPC_URL": node.rpc_url,
            "AEP2_ESCROW": stack.escrow,
            "AEP2_SUBMITTER_KEY": submitter.hex(),
            "AEP2_CIRCUITS": "1:4:2",
            "AEP2_SETTLEMENT_PROVER": "attestation:" + attester.hex(),
        }.items():
            monkeypatch.setenv(name, value)
        yield World.on(w3, stack, [owner, submitter, attester, *keys], engine, SIZES)
        engine.dispose()


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("settle")(settle)
    app.command("status")(status)
    return app


def test_settle_now_then_status(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 10_000)
    ids = [world.accept(world.sign(payer, payee, 10)) for _ in range(3)]
    runner = CliRunner()
    before = runner.invoke(cli(), ["status"])
    assert before.exit_code == 0, before.output
    assert "accepted" in before.output and "30" in before.output  # count and exposure
    result = runner.invoke(cli(), ["settle", "--now"])
    assert result.exit_code == 0, result.output
    assert "settled" in result.output
    assert set(world.states(ids).values()) == {"settled"}
    assert world.escrow.payee_balance(payee, world.token.address) == 30
    after = runner.invoke(cli(), ["status"])
    assert after.exit_code == 0 and "settled" in after.output and "n4p2" in after.output
    again = runner.invoke(cli(), ["settle", "--now"])
    assert again.exit_code == 0 and "nothing to settle" in again.output
