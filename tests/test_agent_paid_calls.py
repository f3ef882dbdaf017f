"""Agent-key payments end to end on anvil: the escrow's grant, a real payee reading it through
:class:`Web3ChainView`, a payer with an agent credential over x402 HTTP.

The escrow (with attestation stand-in verifiers, no proof here) holds the payer's deposit and its
agent key's grant; the payee's check reads the key's record, its per-(key, payee) mark and the
payer's balance from the chain, and drops its cached record when the escrow logs a revocation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web3 import Web3

from aep2.agentkey import AgentKey, AgentKeyGrant
from aep2.chain import VerifierFamily, attestation_verifier, deploy_stack, sign_grant
from aep2.devnet import Anvil
from aep2.payee import Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payee.config import Route
from aep2.payer import AgentCredential, Payer, Policy
from aep2.store import MandateRow
from aep2.transports.httpx_auth import Aep2Auth
from tests import payee_support as s
from tests.test_escrow_integration import World

PRICE = 1_000
HORIZON = 600
REVOKE_DELAY = 3600  # the escrow's least


@dataclass(frozen=True)
class Agent:
    world: World
    payer_key: bytes
    payee_key: bytes
    key: AgentKey
    key_id: int

    @property
    def payee(self) -> str:
        return str(Account.from_key(self.payee_key).address)


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        owner, attester, *keys = node.private_keys
        attester_address = Account.from_key(attester).address
        specs = [
            attestation_verifier(1, 4, 2, attester_address),
            attestation_verifier(2, 16, 4, attester_address, family=VerifierFamily.AGENT),
        ]
        stack = deploy_stack(w3, owner, verifiers=specs, revoke_delay=REVOKE_DELAY)
        world = World(w3, stack, stack.escrow_client(w3), stack.token_client(w3), owner, attester, keys)
        payer_key, payee_key = keys[1], keys[2]
        world.fund(payer_key, 20 * PRICE)
        key = AgentKey.generate()
        yield Agent(world, payer_key, payee_key, key, authorize(world, payer_key, payee_key, key))


def authorize(
    world: World, payer_key: bytes, payee_key: bytes, key: AgentKey, *, cap: int = 5 * PRICE
) -> int:
    """The payer's grant of ``key`` for one payee, relayed by another account; its key id."""
    now = world.now()
    grant = AgentKeyGrant.build(
        payer=world.address(payer_key), key=key.public_key, token=world.token.address,
        payee=world.address(payee_key), cap=cap, valid_after=now - 60, valid_until=now + 30 * 86400, salt=1,
    )  # fmt: skip
    return world.escrow.authorize_agent_key(
        grant, sign_grant(grant, world.escrow.domain(), payer_key), world.keys[3]
    )


@pytest.fixture
def payee_url(agent: Agent, engine: Engine) -> Iterator[str]:
    w = agent.world
    settings = Settings(
        chain_id=w.w3.eth.chain_id,
        escrow=w.escrow.address,
        tokens=[w.token.address],
        payee_key="0x" + agent.payee_key.hex(),
        settlement_horizon_seconds=HORIZON,
        mandate_kinds=["eip712", "agent"],
        routes=[Route(path="/weather", price=PRICE)],
    )
    view = Web3ChainView(w.w3, w.escrow.address, poll_interval=0.0)
    with s.serve(create_app(settings=settings, engine=engine, chain=view, agent_keys=view)) as running:
        yield running.url


def payer_for(agent: Agent, db: Path, *, deadline_margin: int = 300) -> Payer:
    w = agent.world
    record = w.escrow.agent_key(agent.key_id)
    assert record is not None
    grant = AgentKeyGrant.build(
        payer=record.payer, key=record.key, token=record.token, payee=record.payee, cap=record.cap,
        valid_after=record.valid_after, valid_until=record.valid_until, salt=1,
    )  # fmt: skip
    credential = AgentCredential(agent.key, agent.key_id, w.escrow.domain(), grant)
    return Payer(None, Policy(), agent=credential, db=db, deadline_margin=deadline_margin)


def rows(engine: Engine) -> list[MandateRow]:
    with Session(engine) as session:
        return list(session.scalars(select(MandateRow).order_by(MandateRow.id)))


def test_an_agent_pays_a_payee_that_reads_the_escrow(
    agent: Agent, payee_url: str, engine: Engine, tmp_path: Path
) -> None:
    payer = payer_for(agent, tmp_path / "payer.db")
    with httpx.Client(auth=Aep2Auth(payer), timeout=30) as client:
        for _ in range(3):
            assert client.get(f"{payee_url}/weather").status_code == 200
    stored = rows(engine)
    assert [(r.kind, int(r.key_id), int(r.nonce)) for r in stored] == [
        ("agent", agent.key_id, n) for n in (1, 2, 3)
    ]
    assert {r.payer for r in stored} == {agent.world.address(agent.payer_key)}


def test_the_keys_cap_on_chain_bounds_what_the_payee_accepts(
    agent: Agent, payee_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Cap 5 prices: this fresh store accepts five calls against the key, then refuses the sixth."""
    payer = payer_for(agent, tmp_path / "payer.db")
    with httpx.Client(auth=Aep2Auth(payer), timeout=30) as client:
        codes = [client.get(f"{payee_url}/weather").status_code for _ in range(6)]
    assert codes == [200] * 5 + [402]
    assert len(rows(engine)) == 5


def test_a_revocation_reaches_the_payee_through_the_escrows_logs(
    agent: Agent, payee_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Revoked with an hour's delay, the key still pays for mandates settled before then; one whose
    deadline plus the payee's horizon runs past the revocation is refused, from the cached record's
    logs, not after the cache's age runs out."""
    key = AgentKey.generate()
    key_id = authorize(agent.world, agent.payer_key, agent.payee_key, key)
    own = Agent(agent.world, agent.payer_key, agent.payee_key, key, key_id)
    short = payer_for(own, tmp_path / "short.db")
    long = payer_for(own, tmp_path / "long.db", deadline_margin=REVOKE_DELAY)
    with httpx.Client(auth=Aep2Auth(long), timeout=30) as client:
        assert client.get(f"{payee_url}/weather").status_code == 200  # the record is now cached
        agent.world.escrow.revoke_agent_key(key_id, agent.payer_key)
        refused = client.get(f"{payee_url}/weather")
    assert refused.status_code == 402 and refused.json()["error"] == "agent_key_revoked"
    with httpx.Client(auth=Aep2Auth(short), timeout=30) as client:
        assert client.get(f"{payee_url}/weather").status_code == 200
    assert len(rows(engine)) == 2
