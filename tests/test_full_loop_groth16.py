"""The full loop with nothing stood in: mandates signed in Python, proved by ``aep2-prover``
(gnark Groth16, N=1, P=1), verified by py_ecc and by the exported Solidity verifier inside the
escrow on a real anvil. One proof serves every assertion here, since a proof costs tens of seconds.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from web3 import Web3

from aep2.chain import (
    EscrowClient,
    Pair,
    Settlement,
    SkipReason,
    TokenClient,
    TransactionFailed,
    deploy_stack,
)
from aep2.devnet import Anvil
from aep2.mandate import Domain, Mandate
from aep2.prover import Proof, ProveRequest, ProverProcess, build_request, verify_proof
from tests.groth16_support import N1P1, groth16_verifier_spec, verifying_key_json

pytestmark = pytest.mark.groth16

AMOUNT = 2_500


@dataclass(frozen=True)
class Loop:
    w3: Web3
    escrow: EscrowClient
    token: TokenClient
    submitter: bytes
    payer: str
    payee: str
    settlement: Settlement
    proof: Proof
    request: ProveRequest


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        owner, submitter, payer_key, payee_key = node.private_keys[:4]
        stack = deploy_stack(w3, owner, verifiers=[groth16_verifier_spec(verifier_id=1)])
        escrow, token = stack.escrow_client(w3), stack.token_client(w3)
        payer, payee = Account.from_key(payer_key).address, Account.from_key(payee_key).address
        escrow.approve_submitter(Account.from_key(submitter).address, True, payee_key)
        token.mint(payer, 10 * AMOUNT, payer_key)
        token.approve(escrow.address, 10 * AMOUNT, payer_key)
        escrow.deposit(token.address, 10 * AMOUNT, payer_key)

        domain = Domain(chain_id=w3.eth.chain_id, escrow=escrow.address)
        mandate = Mandate(
            payer=payer, payee=payee, token=token.address, amount=AMOUNT, nonce=1,
            deadline=int(time.time()) + 3_600, ref=b"\x42" * 32,
        )  # fmt: skip
        request = build_request([mandate.sign(domain, payer_key)], verifier_id=1, from_nonces={})
        with ProverProcess() as prover:
            proof = prover.prove(request, n=N1P1.mandates, p=N1P1.pairs)
            assert prover.verify(proof, n=N1P1.mandates, p=N1P1.pairs)  # gnark's own verifier
        pairs = tuple(Pair(p.payer, p.payee, p.from_nonce, p.to_nonce, p.total) for p in request.pairs)
        settlement = Settlement(1, token.address, request.not_after, pairs)
        yield Loop(w3, escrow, token, submitter, payer, payee, settlement, proof, request)


def test_prover_public_input_is_what_the_escrow_recomputes(loop: Loop) -> None:
    assert loop.proof.public_input == loop.escrow.public_input_of(loop.settlement)


def test_py_ecc_verifies_the_proof_independently(loop: Loop) -> None:
    vk = verifying_key_json()
    assert verify_proof(vk, loop.proof)
    assert not verify_proof(vk, dataclasses.replace(loop.proof, public_input=loop.proof.public_input + 1))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: dataclasses.replace(p, total=p.total + 1),
        lambda p: dataclasses.replace(p, payer=p.payee),
        lambda p: dataclasses.replace(p, to_nonce=p.to_nonce + 1),
        lambda p: dataclasses.replace(p, from_nonce=p.from_nonce + 1),
    ],
    ids=["total", "payer", "toNonce", "fromNonce"],
)
def test_tampered_settlement_is_rejected_by_the_real_verifier(loop: Loop, tamper: object) -> None:
    tampered = dataclasses.replace(loop.settlement, pairs=(tamper(loop.settlement.pairs[0]),))  # type: ignore[operator]
    with pytest.raises(TransactionFailed) as caught:
        loop.escrow.submit_settlement(loop.proof.proof_bytes, tampered, loop.submitter)
    assert caught.value.context.get("error") == "InvalidProof"


def test_settle_debits_payer_credits_payee_and_raises_high_water(loop: Loop) -> None:
    token = loop.token.address
    before = loop.escrow.balance(loop.payer, token)
    result = loop.escrow.submit_settlement(loop.proof.proof_bytes, loop.settlement, loop.submitter)
    assert [(p.payer, p.payee, p.total) for p in result.settled] == [(loop.payer, loop.payee, AMOUNT)]
    assert result.skipped == ()
    assert loop.escrow.balance(loop.payer, token) == before - AMOUNT
    assert loop.escrow.payee_balance(loop.payee, token) == AMOUNT
    assert loop.escrow.high_water(loop.payer, loop.payee) == 1


def test_resubmitting_skips_every_pair_and_moves_nothing(loop: Loop) -> None:
    token = loop.token.address
    if loop.escrow.high_water(loop.payer, loop.payee) == 0:
        loop.escrow.submit_settlement(loop.proof.proof_bytes, loop.settlement, loop.submitter)
    balance, credit = loop.escrow.balance(loop.payer, token), loop.escrow.payee_balance(loop.payee, token)
    result = loop.escrow.submit_settlement(loop.proof.proof_bytes, loop.settlement, loop.submitter)
    assert result.settled == ()
    assert [s.reason for s in result.skipped] == [SkipReason.NONCE_MISMATCH]
    assert loop.escrow.balance(loop.payer, token) == balance
    assert loop.escrow.payee_balance(loop.payee, token) == credit
