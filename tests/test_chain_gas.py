"""Whole-transaction gas on anvil: ``settle`` and ``settleAgent`` by batch size against one EIP-3009
transfer.

``pytest tests/test_chain_gas.py -s`` prints the tables that ``contracts/README.md`` quotes. The proof
check is the attestation stand-in; the Groth16 verifier adds its pairing cost per proof.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from aep2.agentkey import AgentKeyGrant
from aep2.chain import (
    AgentPair,
    AgentSettlement,
    AuthorizationKind,
    EscrowClient,
    Pair,
    Settlement,
    Stack,
    VerifierFamily,
    attestation_verifier,
    deploy_stack,
    settle_gas_limit,
    sign_grant,
    unsafe_attestation_proof,
)

SIZES = (1, 2, 4, 8)


def _now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def _new_payer(w3: Web3, stack: Stack, funder: bytes, amount: int) -> bytes:
    key = bytes(Account.create().key)
    address = Account.from_key(key).address
    w3.eth.send_transaction({"from": Account.from_key(funder).address, "to": address, "value": 10**17})  # type: ignore[typeddict-item]
    token, escrow = stack.token_client(w3), stack.escrow_client(w3)
    token.mint(address, amount, key)
    token.approve(escrow.address, amount, key)
    escrow.deposit(token.address, amount, key)
    return key


def _new_payee(w3: Web3, stack: Stack, submitter: bytes) -> str:
    """A payee that approved ``submitter``, as a payee behind a settlement service does."""
    key = bytes(Account.create().key)
    address = Account.from_key(key).address
    w3.eth.send_transaction({"from": Account.from_key(submitter).address, "to": address, "value": 10**17})  # type: ignore[typeddict-item]
    stack.escrow_client(w3).approve_submitter(Account.from_key(submitter).address, True, key)
    return str(address)


KEY_B = bytes.fromhex("8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f703727925")


def _agent_key(w3: Web3, escrow: EscrowClient, payer_key: bytes, token: str, payee: str) -> int:
    """The payer's key scoped to ``payee``, registered by the payer's own transaction."""
    now = _now(w3)
    grant = AgentKeyGrant.build(
        payer=Account.from_key(payer_key).address, key=KEY_B, token=token, payee=payee, cap=10**9,
        valid_after=now, valid_until=now + 86400, salt=0,
    )  # fmt: skip
    return escrow.authorize_agent_key(grant, sign_grant(grant, escrow.domain(), payer_key), payer_key)


@pytest.fixture(scope="module")
def measured(w3: Web3, deployer_key: bytes) -> dict[str, int]:
    attester = bytes(Account.create().key)
    attester_address = Account.from_key(attester).address
    verifiers = [
        attestation_verifier(1, 8, 8, attester_address),
        attestation_verifier(2, 8, 8, attester_address, family=VerifierFamily.AGENT),
    ]
    stack = deploy_stack(w3, deployer_key, verifiers=verifiers)
    escrow, token = stack.escrow_client(w3), stack.token_client(w3)
    gas: dict[str, int] = {}
    for size in SIZES:
        payee = _new_payee(w3, stack, deployer_key)  # cold: first settlement of fresh pairs to a fresh payee
        payers = [Account.from_key(_new_payer(w3, stack, deployer_key, 10**9)).address for _ in range(size)]
        for phase, start in (("cold", 0), ("warm", 1)):
            pairs = tuple(Pair(p, payee, start, start + 1, 1_000) for p in payers)
            s = Settlement(1, token.address, _now(w3) + 3600, pairs)
            proof = unsafe_attestation_proof(
                attester, stack.verifiers[1], w3.eth.chain_id, escrow.public_input_of(s)
            )
            result = escrow.submit_settlement(proof, s, deployer_key)
            assert len(result.settled) == size
            # The default limit budgets a Groth16 verifier; even with a ~10k stand-in budget it holds.
            assert result.gas_used <= settle_gas_limit([s], [proof], verifier_gas=10_000)
            gas[f"settle {phase} {size}"] = result.gas_used

        # The same shape of agent pairs: each payer's key scoped to a fresh payee.
        payee = _new_payee(w3, stack, deployer_key)
        payer_keys = [_new_payer(w3, stack, deployer_key, 10**9) for _ in range(size)]
        key_ids = [_agent_key(w3, escrow, k, token.address, payee) for k in payer_keys]
        for phase, start in (("cold", 0), ("warm", 1)):
            agent_pairs = tuple(AgentPair(k, payee, start, start + 1, 1_000) for k in key_ids)
            a = AgentSettlement(2, token.address, _now(w3) + 3600, agent_pairs)
            proof = unsafe_attestation_proof(
                attester, stack.verifiers[2], w3.eth.chain_id, escrow.agent_public_input_of(a)
            )
            result = escrow.submit_agent_settlement(proof, a, deployer_key)
            assert len(result.agent_settled) == size
            assert result.gas_used <= settle_gas_limit([a], [proof], verifier_gas=10_000)
            gas[f"settleAgent {phase} {size}"] = result.gas_used

    sender = bytes(Account.create().key)
    token.mint(Account.from_key(sender).address, 10**9, deployer_key)
    payee = Account.create().address
    token.mint(payee, 1, deployer_key)  # a merchant that already holds the token
    auth = token.sign_authorization(
        AuthorizationKind.TRANSFER, sender, payee, 1_000, valid_before=_now(w3) + 600
    )
    gas["transferWithAuthorization"] = token.transfer_with_authorization(auth, deployer_key)["gasUsed"]
    return gas


def test_print_gas_table(measured: dict[str, int]) -> None:
    x402 = measured["transferWithAuthorization"]
    for call in ("settle", "settleAgent"):
        header = f"{'cold tx gas':>11} | {'warm tx gas':>11} | {'warm per pair':>13} | x402 exact x n"
        print(f"\n{call:>11} pairs | {header}")
        for size in SIZES:
            cold, warm = measured[f"{call} cold {size}"], measured[f"{call} warm {size}"]
            print(f"{size:>17} | {cold:>11} | {warm:>11} | {warm // size:>13} | {x402 * size:>14}")


def test_warm_pair_costs_less_than_an_eip3009_transfer(measured: dict[str, int]) -> None:
    marginal = (measured["settle warm 8"] - measured["settle warm 1"]) / 7
    assert marginal < 25_000
    assert marginal < measured["transferWithAuthorization"] / 2


def test_warm_agent_pair_costs_less_than_an_eip3009_transfer(measured: dict[str, int]) -> None:
    marginal = (measured["settleAgent warm 8"] - measured["settleAgent warm 1"]) / 7
    assert marginal < 40_000
    assert marginal < measured["transferWithAuthorization"]


@pytest.mark.parametrize("call", ["settle", "settleAgent"])
def test_settle_gas_grows_linearly(measured: dict[str, int], call: str) -> None:
    for phase in ("cold", "warm"):
        per_pair = [measured[f"{call} {phase} {n}"] - measured[f"{call} {phase} 1"] for n in SIZES[1:]]
        steps = [d / (n - 1) for d, n in zip(per_pair, SIZES[1:], strict=True)]
        assert max(steps) - min(steps) < 1_000, (phase, steps)
