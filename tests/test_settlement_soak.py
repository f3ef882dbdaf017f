"""Soak: many payers pay several payees over HTTP; windows close while calls go on; a final audit.

``make test`` runs the short version with the attestation stand-in: EIP-712 payers and agent-key
payers side by side, both families settling through one ``settleMany`` per window. ``make soak``
(``pytest -m slow``) runs 528 agent-key mandates from 16 agents (each key scoped to its one
payee, as an agent key usually is) to 4 payees, proved by the real gnark prover on the ``agent``
circuit of 128 mandates and 16 pairs, and checked on chain by its exported verifier (an EIP-712
proof costs ~600k constraints per mandate, which is why the agent family exists).

The audit: every mandate settled, each payee's on-chain credit equals the sum of its settled
mandates, each payer debited exactly its own, high-water marks at the last nonce of each
(payer, payee) and (agent key, payee), each key's ``spent`` equal to its mandates, and the
store's exposures (per payer and per key) back to zero.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

import aep2.settlement.models  # noqa: F401
from aep2.agentkey import ANY_PAYEE
from aep2.chain import VerifierFamily, VerifierSpec, attestation_verifier, deploy_stack
from aep2.devnet import Anvil, RedisServer
from aep2.devnet.verifier import verifier_artifact
from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import AgentCredential, LocalKeySigner, Payer, Policy
from aep2.prover import default_binary, keys_dir
from aep2.settlement.models import WindowRow
from aep2.settlement.pipeline import close_window
from aep2.settlement.planner import CircuitSize
from aep2.store import ExposureRow, KeyExposureRow, MandateRow, create_schema, make_engine
from aep2.store.models import NO_KEY
from aep2.transports.httpx_auth import Aep2Auth
from tests.payee_support import serve
from tests.settlement_support import WorkerProcess, World, wait_until
from workers.celery import make_app

ATTESTED_SIZES = (
    CircuitSize(1, 8, 4),
    CircuitSize(2, 32, 8),
    CircuitSize(3, 8, 4, "agent"),
    CircuitSize(4, 32, 8, "agent"),
)
REAL_AGENT_SIZE = CircuitSize(1, 128, 16, "agent")
PRICE = 1_000
DEPOSIT = 10**9


@dataclass(frozen=True)
class Shape:
    """Who pays whom: ``eip712`` and ``agents`` payers; an agent's key is scoped to one payee when
    ``scoped`` (it then calls only that payee), else any payee (it calls them in turn, as EIP-712
    payers do)."""

    eip712: int
    agents: int
    payees: int
    calls_per_payer: int
    windows: int
    scoped: bool = False


def soak(tmp_path: Path, shape: Shape, sizes: Sequence[CircuitSize], *, real: bool) -> None:
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        owner, submitter, attester, *keys = node.private_keys
        stack = deploy_stack(w3, owner, verifiers=_verifiers(sizes, attester, real=real))
        db_url = f"sqlite:///{tmp_path / 'payee.db'}"
        engine = make_engine(db_url)
        create_schema(engine)
        world = World.on(w3, stack, [owner, submitter, attester, *keys], engine, sizes)
        payee_keys = [world.new_payee_key() for _ in range(shape.payees)]
        payees = [world.address(k) for k in payee_keys]
        with RedisServer() as redis, _servers(world, payee_keys) as urls:
            env = {
                "AEP2_BROKER_URL": redis.url,
                "AEP2_DATABASE_URL": db_url,
                "AEP2_RPC_URL": node.rpc_url,
                "AEP2_ESCROW": stack.escrow,
                "AEP2_SUBMITTER_KEY": submitter.hex(),
                "AEP2_CIRCUITS": ",".join(_circuit(s) for s in sizes),
                "AEP2_SETTLEMENT_PROVER": "gnark" if real else "attestation:" + attester.hex(),
            }
            worker = WorkerProcess(env, tmp_path / "worker.log").start()
            app = make_app(redis.url)
            try:
                payers, routes = _payers(world, shape, payees, urls, tmp_path)
                clients = [httpx.Client(auth=Aep2Auth(p), timeout=60) for p in payers]
                started = time.monotonic()
                per_window = max(1, shape.calls_per_payer // shape.windows)
                for round_ in range(shape.calls_per_payer):
                    for i, client in enumerate(clients):
                        url = routes[i][round_ % len(routes[i])]
                        response = client.get(f"{url}/weather")
                        assert response.status_code == 200, response.text
                    if (round_ + 1) % per_window == 0:
                        _close(world, app)
                for client in clients:
                    client.close()

                def done() -> bool:
                    with Session(engine) as s:
                        states = set(s.execute(select(MandateRow.state)).scalars())
                    if states <= {"settled"}:
                        return True
                    if "accepted" in states and not _open_windows(world):
                        _close(world, app)
                    return False

                wait_until(done, 3600 if real else 600, "every mandate settled", log=worker.log)
                total = len(payers) * shape.calls_per_payer
                print(f"soak: {total} mandates settled in {time.monotonic() - started:.1f}s")
            finally:
                worker.stop()
            _audit(world, payers, payees, len(payers) * shape.calls_per_payer)
        engine.dispose()


def _verifiers(sizes: Sequence[CircuitSize], attester: bytes, *, real: bool) -> list[VerifierSpec]:
    specs = []
    for s in sizes:
        family = VerifierFamily.AGENT if s.family == "agent" else VerifierFamily.BATCH
        if real:
            _ensure_agent_keys(s)
            artifact = verifier_artifact(s.mandates, s.pairs, "agent")
            specs.append(VerifierSpec(s.verifier_id, s.mandates, s.pairs, artifact, family=family))
        else:
            address = Account.from_key(attester).address
            specs.append(attestation_verifier(s.verifier_id, s.mandates, s.pairs, address, family=family))
    return specs


def _ensure_agent_keys(size: CircuitSize) -> None:
    """The size's single-party dev keys (minutes, once; cached under ``$AEP2_HOME/circuits``)."""
    if (keys_dir(size.mandates, size.pairs, "agent") / "proving.key").exists():
        return
    args = ["setup", "--dev", "--family", "agent", "--n", str(size.mandates), "--p", str(size.pairs)]
    subprocess.run([str(default_binary()), *args], check=True, timeout=3600)


def _circuit(size: CircuitSize) -> str:
    return f"{size.verifier_id}:{size.mandates}:{size.pairs}" + (":agent" if size.family == "agent" else "")


def _payers(
    world: World, shape: Shape, payees: list[str], urls: list[str], tmp: Path
) -> tuple[list[Payer], list[list[str]]]:
    """Funded payers (EIP-712 first, then agents with their granted keys) and the payee URLs each
    calls in turn."""
    payers: list[Payer] = []
    routes: list[list[str]] = []
    for i in range(shape.eip712 + shape.agents):
        key = world.new_account()
        world.fund(key, DEPOSIT)
        rotation = urls[i % len(urls) :] + urls[: i % len(urls)]
        if i < shape.eip712:
            payers.append(Payer(LocalKeySigner(key), Policy(), db=tmp / f"payer{i}.db"))
            routes.append(rotation)
            continue
        scope = payees[i % len(payees)] if shape.scoped else ANY_PAYEE
        key_id = world.new_agent_key(key, payee=scope)
        agent = AgentCredential(
            world.agent_keys[key_id][0], key_id, world.escrow.domain(), world.grants[key_id]
        )
        payers.append(Payer(None, Policy(), agent=agent, db=tmp / f"payer{i}.db"))
        routes.append([urls[i % len(urls)]] if shape.scoped else rotation)
    return payers, routes


def _close(world: World, app: object) -> None:
    closed = close_window(world.engine, world.chain, world.sizes)
    for chunk_id in closed.chunk_ids:
        app.send_task("aep2.prove_chunk", args=[chunk_id])  # type: ignore[attr-defined]


def _open_windows(world: World) -> bool:
    with Session(world.engine) as s:
        states = set(s.execute(select(WindowRow.state)).scalars())
    return bool(states & {"proving", "proved", "submitted"})


def _audit(world: World, payers: list[Payer], payees: list[str], expected: int) -> None:
    token = world.token.address
    with Session(world.engine) as s:
        rows = s.execute(select(MandateRow)).scalars().all()
        exposures = s.execute(select(ExposureRow.unsettled)).scalars().all()
        key_exposures = s.execute(select(KeyExposureRow.unsettled)).scalars().all()
        windows = s.execute(select(WindowRow)).scalars().all()
    assert len(rows) == expected and {r.state for r in rows} == {"settled"}
    assert len(windows) >= 2 and all(w.state == "settled" for w in windows)
    for payee in payees:
        owed = sum(int(r.amount) for r in rows if r.payee == payee)
        assert world.escrow.payee_balance(payee, token) == owed
    for payer in payers:
        mine = [r for r in rows if r.payer == payer.address]
        assert len(mine) > 0
        assert world.escrow.balance(payer.address, token) == DEPOSIT - sum(int(r.amount) for r in mine)
        for payee in payees:
            nonces = [int(r.nonce) for r in mine if r.payee == payee]
            if payer.agent is None:
                assert world.escrow.high_water(payer.address, payee) == max(nonces, default=0)
            else:
                assert world.escrow.agent_high_water(payer.agent.key_id, payee) == max(nonces, default=0)
        if payer.agent is not None:
            assert {r.key_id for r in mine} != {NO_KEY}
            info = world.escrow.agent_key(payer.agent.key_id)
            assert info is not None and info.spent == sum(int(r.amount) for r in mine)
    on_chain = sum(world.escrow.payee_balance(p, token) for p in payees)
    assert on_chain == sum(int(r.amount) for r in rows) == expected * PRICE
    assert all(e == "0" for e in exposures) and all(e == "0" for e in key_exposures)


@contextmanager
def _servers(world: World, payee_keys: list[bytes]) -> Iterator[list[str]]:
    """One real payee server per payee key, all writing the same store, accepting both kinds."""
    with ExitStack() as stack:
        urls = []
        view = Web3ChainView(world.w3, world.escrow.address)
        for key in payee_keys:
            settings = Settings(
                chain_id=world.w3.eth.chain_id,
                escrow=world.escrow.address,
                tokens=[world.token.address],
                payee_key="0x" + key.hex(),
                settlement_horizon_seconds=3600,
                mandate_kinds=["eip712", "agent"],
                routes=[Route(path="/weather", price=PRICE)],
            )
            app = create_app(settings=settings, engine=world.engine, chain=view, agent_keys=view)
            urls.append(stack.enter_context(serve(app)).url)
        yield urls


def test_soak_short_both_kinds(tmp_path: Path) -> None:
    shape = Shape(eip712=3, agents=3, payees=3, calls_per_payer=6, windows=3)
    soak(tmp_path, shape, ATTESTED_SIZES, real=False)


@pytest.mark.slow
@pytest.mark.timeout(5400)  # a dev setup at 128x16 (~6 min) and about eight real proofs
def test_soak_528_agent_mandates_real_proofs(tmp_path: Path) -> None:
    shape = Shape(eip712=0, agents=16, payees=4, calls_per_payer=33, windows=4, scoped=True)
    soak(tmp_path, shape, [REAL_AGENT_SIZE], real=True)
