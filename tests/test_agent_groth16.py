"""The agent circuit family with the real prover: Groth16 at N=1, P=1, checked three ways.

A real agent-key mandate is proved through ``aep2-prover serve`` with the dev keys ``make groth16``
caches, then verified by gnark, by the independent py_ecc check (which needs no commitment for
this family), and by the exported ``AgentVerifierN1P1`` on anvil, whose gas this records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from aep2.agentkey import AgentKey, AgentMandate
from aep2.chain.transactions import deploy
from aep2.devnet import Anvil
from aep2.mandate import Domain, checksum
from aep2.prover import Proof, ProverProcess, build_agent_request, verify_proof
from tests.groth16_support import agent_verifier_artifact, agent_verifying_key_json

pytestmark = pytest.mark.groth16

DOMAIN = Domain(chain_id=31337, escrow=checksum("0x" + "e5" * 20))
PAYEE = checksum("0x" + "7a" * 20)
TOKEN = checksum("0x" + "70" * 20)
VERIFY_GAS_TARGET = 220_000
"""Issue #11's budget for the exported agent verifier's ``verifyProof`` (one pairing check)."""


@pytest.fixture(scope="module")
def proved() -> tuple[Proof, Any]:
    key = AgentKey.generate()
    mandate = AgentMandate.build(
        key_id=7, payee=PAYEE, token=TOKEN, amount=1_250, nonce=5, deadline=2_000_000_000, ref=b"\x42" * 32
    )
    request = build_agent_request(
        [(mandate, key.sign(DOMAIN.separator, mandate))],
        domain_separator=DOMAIN.separator,
        keys={7: key.public_key},
        verifier_id=9,
        from_nonces={(7, PAYEE): 4},
    )
    with ProverProcess() as prover:
        proof = prover.prove(request, n=1, p=1)
        assert prover.verify(proof, n=1, p=1, family="agent")
        assert not prover.verify(
            replace(proof, public_input=proof.public_input + 1), n=1, p=1, family="agent"
        )
    return proof, request


@pytest.fixture(scope="module")
def verifier() -> Iterator[tuple[Web3, Contract]]:
    artifact = agent_verifier_artifact()
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        yield w3, deploy(w3, artifact, private_key=node.private_keys[0])


def test_the_proof_is_the_agent_family_without_a_commitment(proved: tuple[Proof, Any]) -> None:
    proof, _ = proved
    assert proof.circuit_id.startswith("aep2-agent-") and proof.circuit_id.endswith("-n1-p1")
    assert len(proof.proof_bytes) == 256  # A, B, C: no commitment, no proof of knowledge


def test_py_ecc_accepts_the_agent_proof_and_nothing_else(proved: tuple[Proof, Any]) -> None:
    proof, _ = proved
    vk = agent_verifying_key_json()
    assert vk["commitmentKeys"] == []
    assert verify_proof(vk, proof)
    assert not verify_proof(vk, replace(proof, public_input=proof.public_input + 1))
    tampered = bytearray(proof.proof_bytes)
    tampered[255] ^= 1  # C's y: off the curve or another point, either way refused
    try:
        refused = not verify_proof(vk, replace(proof, proof="0x" + tampered.hex()))
    except ValueError:
        refused = True
    assert refused


def test_the_exported_verifier_accepts_it_within_budget(
    proved: tuple[Proof, Any], verifier: tuple[Web3, Contract]
) -> None:
    proof, _ = proved
    _, contract = verifier
    data, inputs = proof.calldata()
    call = contract.functions.verifyProof(data, inputs)
    call.call()  # reverts on an invalid proof
    gas = call.estimate_gas()
    print(f"\nAgentVerifierN1P1.verifyProof: {gas} gas (transaction, with 21k intrinsic)")
    assert gas <= VERIFY_GAS_TARGET


def test_the_exported_verifier_refuses_another_public_input(
    proved: tuple[Proof, Any], verifier: tuple[Web3, Contract]
) -> None:
    proof, _ = proved
    _, contract = verifier
    data, inputs = proof.calldata()
    with pytest.raises(ContractLogicError):
        contract.functions.verifyProof(data, [inputs[0] + 1]).call()
    with pytest.raises(ContractLogicError):
        contract.functions.verifyProof(data[:-32], inputs).call()
