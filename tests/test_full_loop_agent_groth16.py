"""An agent key's whole life on anvil through the real agent verifier (issue #12's full loop).

The payer grants a fresh agent key with an EIP-712 signature and registers it; the agent signs a
mandate; ``aep2-prover`` proves the agent settlement (N=1, P=1, the dev keys ``make groth16`` caches)
with the key the escrow stores; the escrow's exported ``AgentVerifierN1P1``, registered for the agent
family, accepts it and the payee is paid. The escrow recomputes the public input from calldata and
its own storage, so this also checks the packing against the circuit's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from web3 import Web3

from aep2.agentkey import AgentKey, AgentKeyGrant, AgentMandate
from aep2.chain import (
    AgentPair,
    AgentSettlement,
    EscrowClient,
    SkipReason,
    TransactionFailed,
    VerifierFamily,
    VerifierSpec,
    agent_settlement_public_input,
    deploy_stack,
    sign_grant,
)
from aep2.devnet import Anvil
from aep2.prover import Proof, ProverProcess, build_agent_request
from tests.groth16_support import agent_verifier_artifact

pytestmark = pytest.mark.groth16

AGENT_ID = 9


@dataclass(frozen=True)
class Loop:
    w3: Web3
    escrow: EscrowClient
    token: str
    payer: str
    payee: str
    payee_key: bytes
    key_id: int
    settlement: AgentSettlement
    proof: Proof


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    spec = VerifierSpec(AGENT_ID, 1, 1, agent_verifier_artifact(), family=VerifierFamily.AGENT)
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        owner, payer_key, payee_key = node.private_keys[:3]
        stack = deploy_stack(w3, owner, verifiers=[spec])
        escrow, token = stack.escrow_client(w3), stack.token_client(w3)
        payer, payee = (Account.from_key(k).address for k in (payer_key, payee_key))
        token.mint(payer, 10_000, payer_key)
        token.approve(escrow.address, 10_000, payer_key)
        escrow.deposit(token.address, 10_000, payer_key)

        agent = AgentKey.generate()
        now = int(w3.eth.get_block("latest")["timestamp"])
        grant = AgentKeyGrant.build(
            payer=payer, key=agent.public_key, token=token.address, payee=payee, cap=5_000,
            valid_after=now, valid_until=now + 86400, salt=0,
        )  # fmt: skip
        key_id = escrow.authorize_agent_key(grant, sign_grant(grant, escrow.domain(), payer_key), owner)

        separator = escrow.domain_separator()
        mandate = AgentMandate.build(
            key_id=key_id, payee=payee, token=token.address, amount=1_250, nonce=1, deadline=now + 3600,
            ref=b"\x42" * 32,
        )  # fmt: skip
        request = build_agent_request(
            [(mandate, agent.sign(separator, mandate))],
            domain_separator=separator,
            keys={key_id: agent.public_key},
            verifier_id=AGENT_ID,
            from_nonces={},
        )
        pairs = tuple(AgentPair(p.key_id, p.payee, p.from_nonce, p.to_nonce, p.total) for p in request.pairs)
        settlement = AgentSettlement(AGENT_ID, token.address, request.not_after, pairs)
        with ProverProcess() as prover:
            proof = prover.prove(request, n=1, p=1)
        yield Loop(w3, escrow, token.address, payer, payee, payee_key, key_id, settlement, proof)


def test_the_proof_opens_the_escrows_public_input(loop: Loop) -> None:
    stored = loop.escrow.agent_key(loop.key_id)
    assert stored is not None
    expected = agent_settlement_public_input(
        loop.escrow.domain_separator(), loop.settlement, {loop.key_id: stored.key}
    )
    assert loop.proof.public_input == expected == loop.escrow.agent_public_input_of(loop.settlement)
    assert len(loop.proof.proof_bytes) == 256


def test_the_real_agent_verifier_settles_through_the_escrow(loop: Loop) -> None:
    result = loop.escrow.submit_agent_settlement(loop.proof.proof_bytes, loop.settlement, loop.payee_key)
    assert [(p.key_id, p.payer, p.payee, p.total) for p in result.agent_settled] == [
        (loop.key_id, loop.payer, loop.payee, 1_250)
    ]
    print(f"\nsettleAgent with AgentVerifierN1P1, one pair: {result.gas_used} gas (transaction)")
    assert loop.escrow.payee_balance(loop.payee, loop.token) == 1_250
    assert loop.escrow.balance(loop.payer, loop.token) == 10_000 - 1_250
    info = loop.escrow.agent_key(loop.key_id)
    assert info is not None and info.spent == 1_250
    assert loop.escrow.agent_high_water(loop.key_id, loop.payee) == 1

    again = loop.escrow.submit_agent_settlement(loop.proof.proof_bytes, loop.settlement, loop.payee_key)
    assert [p.reason for p in again.agent_skipped] == [SkipReason.NONCE_MISMATCH]


def test_the_real_agent_verifier_refuses_another_settlement(loop: Loop) -> None:
    (pair,) = loop.settlement.pairs
    other = AgentSettlement(
        AGENT_ID,
        loop.token,
        loop.settlement.not_after,
        (AgentPair(pair.key_id, pair.payee, 1, 2, pair.total),),
    )
    with pytest.raises(TransactionFailed) as caught:
        loop.escrow.submit_agent_settlement(loop.proof.proof_bytes, other, loop.payee_key)
    assert caught.value.context["error"] == "InvalidProof"
