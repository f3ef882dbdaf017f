"""A settlement world on a private anvil: a deployed stack, funded payers and a payee store.

Mandates enter the store exactly as the payee's check writes them (``insert_accepted`` with
the same fields), so the pipeline sees what it would see behind a real payee.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web3 import Web3

from aep2.agentkey import ANY_PAYEE, AgentKey, AgentKeyGrant, AgentMandate, SignedAgentMandate
from aep2.chain import EscrowClient, Stack, TokenClient, attestation_verifier, deploy_stack
from aep2.chain.agent_keys import sign_grant
from aep2.chain.deploy import DEFAULT_REVOKE_DELAY
from aep2.chain.escrow import VerifierFamily
from aep2.devnet import Anvil
from aep2.mandate import Mandate, SignedMandate
from aep2.settlement.pipeline import Chain
from aep2.settlement.planner import AGENT, CircuitSize
from aep2.store import (
    accepted_fields,
    agent_accepted_fields,
    create_schema,
    insert_accepted,
    lock_exposure,
    lock_key_exposure,
    make_engine,
)
from aep2.store.models import MandateRow, StateTransitionRow

ChainParts = tuple[Web3, Stack, list[bytes]]


@contextmanager
def attested_chain(
    sizes: Sequence[CircuitSize], withdraw_delay: int, *, revoke_delay: int = DEFAULT_REVOKE_DELAY
) -> Iterator[ChainParts]:
    """A private anvil with the stack deployed, one attestation verifier per size (of its family);
    its accounts in the order :meth:`World.on` takes them (owner, submitter, attester, then payers)."""
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        owner, submitter, attester, *keys = node.private_keys
        attester_address = Account.from_key(attester).address
        specs = [
            attestation_verifier(
                s.verifier_id,
                s.mandates,
                s.pairs,
                attester_address,
                family=VerifierFamily.AGENT if s.family == AGENT else VerifierFamily.BATCH,
            )
            for s in sizes
        ]
        stack = deploy_stack(
            w3, owner, verifiers=specs, withdraw_delay=withdraw_delay, revoke_delay=revoke_delay
        )
        yield w3, stack, [owner, submitter, attester, *keys]


def world_with_store(parts: ChainParts, store: Path, sizes: Sequence[CircuitSize]) -> World:
    """A :class:`World` over ``parts`` with a fresh SQLite payee store (settlement tables included)."""
    import aep2.settlement.models  # noqa: F401  (registers the settlement tables)

    w3, stack, accounts = parts
    engine = make_engine(f"sqlite:///{store}")
    create_schema(engine)
    return World.on(w3, stack, accounts, engine, sizes)


@dataclass
class World:
    w3: Web3
    stack: Stack
    escrow: EscrowClient
    token: TokenClient
    owner: bytes
    submitter: bytes
    attester: bytes
    keys: list[bytes]
    engine: Engine
    sizes: Sequence[CircuitSize]
    nonces: dict[tuple[str, str], int] = field(default_factory=dict)
    agent_nonces: dict[tuple[int, str], int] = field(default_factory=dict)
    agent_keys: dict[int, tuple[AgentKey, bytes]] = field(default_factory=dict)  # key id -> (key, payer)
    grants: dict[int, AgentKeyGrant] = field(default_factory=dict)

    @classmethod
    def on(
        cls, w3: Web3, stack: Stack, accounts: Sequence[bytes], engine: Engine, sizes: Sequence[CircuitSize]
    ) -> World:
        """The world of a deployed ``stack``; ``accounts``: owner, submitter, attester, then payers."""
        owner, submitter, attester, *keys = accounts
        return cls(
            w3,
            stack,
            stack.escrow_client(w3),
            stack.token_client(w3),
            owner,
            submitter,
            attester,
            keys,
            engine,
            sizes,
        )

    @property
    def chain(self) -> Chain:
        return Chain(self.escrow, self.submitter)

    def address(self, key: bytes) -> str:
        return str(Account.from_key(key).address)

    def new_account(self, eth: int = 10**18) -> bytes:
        account = Account.create()
        self.w3.eth.send_transaction(
            {"from": self.address(self.owner), "to": account.address, "value": eth}  # type: ignore[typeddict-item]
        )
        return bytes(account.key)

    def new_payee_key(self) -> bytes:
        """A payee account that approved this world's submitter (the escrow pays no one else's pairs)."""
        key = self.new_account(10**17)
        self.escrow.approve_submitter(self.address(self.submitter), True, key)
        return key

    def new_payee(self) -> str:
        return self.address(self.new_payee_key())

    def fund(self, key: bytes, amount: int) -> None:
        self.token.mint(self.address(key), amount, key)
        self.token.approve(self.escrow.address, amount, key)
        self.escrow.deposit(self.token.address, amount, key)

    def chain_now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def sign(self, payer: bytes, payee: str, amount: int, *, deadline: int | None = None) -> SignedMandate:
        key = (self.address(payer), payee)
        nonce = self.nonces.get(key, 0) + 1
        self.nonces[key] = nonce
        mandate = Mandate.build(
            payer=key[0],
            payee=payee,
            token=self.token.address,
            amount=amount,
            nonce=nonce,
            deadline=deadline if deadline is not None else int(time.time()) + 86_400,
            ref=secrets.token_bytes(32),
        )
        return mandate.sign(self.escrow.domain(), payer)

    def accept(self, signed: SignedMandate) -> int:
        """Store ``signed`` as the payee's check would (same fields, same exposure bookkeeping)."""
        m = signed.mandate
        fields = accepted_fields(signed, transport="http")
        with self.engine.begin() as conn:
            exposure = lock_exposure(session=conn, payer=m.payer, token=m.token)
            return insert_accepted(session=conn, exposure=exposure, fields=fields)

    def new_agent_key(
        self, payer: bytes, *, payee: str = ANY_PAYEE, cap: int = 10**12, days: int = 30
    ) -> int:
        """Authorize a fresh agent key for ``payer`` on the escrow (the grant signed by the payer);
        returns its key id."""
        agent, now = AgentKey.generate(), self.chain_now()
        grant = AgentKeyGrant.build(
            payer=self.address(payer), key=agent.public_key, token=self.token.address, payee=payee,
            cap=cap, valid_after=now - 60, valid_until=now + days * 86_400, salt=len(self.agent_keys),
        )  # fmt: skip
        key_id = self.escrow.authorize_agent_key(grant, sign_grant(grant, self.escrow.domain(), payer), payer)
        self.agent_keys[key_id], self.grants[key_id] = (agent, payer), grant
        return key_id

    def sign_agent(
        self, key_id: int, payee: str, amount: int, *, deadline: int | None = None
    ) -> SignedAgentMandate:
        nonce = self.agent_nonces.get((key_id, payee), 0) + 1
        self.agent_nonces[(key_id, payee)] = nonce
        mandate = AgentMandate.build(
            key_id=key_id, payee=payee, token=self.token.address, amount=amount, nonce=nonce,
            deadline=deadline if deadline is not None else int(time.time()) + 86_400,
            ref=secrets.token_bytes(32),
        )  # fmt: skip
        domain = self.escrow.domain()
        signature = self.agent_keys[key_id][0].sign(domain.separator, mandate)
        return SignedAgentMandate(domain=domain, mandate=mandate, signature=signature)

    def accept_agent(self, signed: SignedAgentMandate) -> int:
        """Store an agent mandate as the payee's check would (payer and key exposures raised)."""
        m = signed.mandate
        payer = self.address(self.agent_keys[m.key_id][1])
        fields = agent_accepted_fields(signed, payer=payer, transport="http")
        with self.engine.begin() as conn:
            exposure = lock_exposure(session=conn, payer=payer, token=m.token)
            key_exposure = lock_key_exposure(session=conn, key_id=m.key_id)
            return insert_accepted(session=conn, exposure=exposure, key_exposure=key_exposure, fields=fields)

    def key_of(self, payer: bytes) -> int:
        """The payer's agent key in this world (any payee), authorized on first use."""
        for key_id, (_, owner) in self.agent_keys.items():
            if owner == payer:
                return key_id
        return self.new_agent_key(payer)

    def pay(
        self, payer: bytes, payee: str, amount: int, *, kind: str = "eip712", deadline: int | None = None
    ) -> int:
        """Accept one mandate of ``kind`` ("eip712", or "agent": signed with the payer's agent key)."""
        if kind == "agent":
            return self.accept_agent(self.sign_agent(self.key_of(payer), payee, amount, deadline=deadline))
        return self.accept(self.sign(payer, payee, amount, deadline=deadline))

    def states(self, ids: Sequence[int]) -> dict[int, str]:
        with Session(self.engine) as s:
            rows = s.execute(select(MandateRow.id, MandateRow.state).where(MandateRow.id.in_(ids))).all()
            return {i: st for i, st in rows}

    def reasons(self, mandate_id: int) -> list[str | None]:
        with Session(self.engine) as s:
            q = select(StateTransitionRow.reason).where(StateTransitionRow.mandate_id == mandate_id)
            return list(s.execute(q.order_by(StateTransitionRow.id)).scalars())

    def warp(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


class WorkerProcess:
    """``celery -A workers.celery worker`` as a real child process in its own process group.

    ``kill()`` SIGKILLs the whole group (the Celery parent and its pool children), as an
    out-of-memory kill or a pulled plug would; ``stop()`` asks it to shut down.
    """

    def __init__(self, env: dict[str, str], log_path: Path, *, beat: bool = False) -> None:
        self.env, self.log_path, self.beat = env, log_path, beat
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery",
            "worker",
            "--queues=prove,submit,reconcile",
            "--concurrency=1",
            "--pool=prefork",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if self.beat:  # the periodic tick, its schedule file next to the log
            args += ["--beat", f"--schedule={self.log_path.with_suffix('.beat')}"]
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                args,
                env=os.environ | self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=Path(__file__).resolve().parents[1],
            )
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, *, log: Callable[[], str] | None = None
) -> float:
    """Poll ``predicate`` until true; return the seconds it took, or fail with ``what`` (and a log tail)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            tail = log()[-4000:] if log else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")
        time.sleep(0.2)
    return time.monotonic() - start
