"""The chain side of ``benchmarks.gas_by_size``: funded payers, checked settlements, x402 transfers.

Every settlement is checked against the escrow's own state before and after, so a figure is only
recorded for a transaction that paid exactly its pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_account import Account
from web3 import Web3

from aep2.chain import (
    AuthorizationKind,
    EscrowClient,
    Pair,
    Settlement,
    TokenClient,
    VerifierSpec,
    unsafe_attestation_proof,
)
from aep2.mandate import Mandate
from aep2.prover import ProverProcess, build_request

HORIZON = 3_600


class SettlementMismatch(RuntimeError):
    """A settlement did not move exactly the escrow balances its pairs say it should."""


@dataclass(frozen=True)
class Bench:
    """One deployed stack and the keys that drive it."""

    w3: Web3
    escrow: EscrowClient
    token: TokenClient
    key: bytes  # deployer, funder, submitter, relayer
    attester: bytes
    verifiers: dict[int, str]
    payers: tuple[bytes, ...]
    amount: int

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


def new_payee(bench: Bench) -> str:
    """A fresh payee that approved the bench's key as its settlement submitter (gas from the bench)."""
    key = bytes(Account.create().key)
    address = Account.from_key(key).address
    bench.w3.eth.send_transaction(
        {"from": Account.from_key(bench.key).address, "to": address, "value": 10**17}  # type: ignore[typeddict-item]
    )
    bench.escrow.approve_submitter(Account.from_key(bench.key).address, True, key)
    return str(address)


def fund_payer(bench: Bench, key: bytes, deposit: int) -> None:
    """Mint to a payer and relay its signed deposit: the payer itself needs no ETH."""
    payer = Account.from_key(key).address
    bench.token.mint(payer, deposit, bench.key)
    auth = bench.token.sign_authorization(
        AuthorizationKind.RECEIVE, key, bench.escrow.address, deposit, valid_before=bench.now() + HORIZON
    )
    bench.escrow.deposit_with_authorization(bench.token.address, auth, bench.key)


def _state(bench: Bench, pairs: Sequence[Pair]) -> list[tuple[int, int, int]]:
    token = bench.token.address
    return [
        (
            bench.escrow.balance(p.payer, token),
            bench.escrow.payee_balance(p.payee, token),
            bench.escrow.high_water(p.payer, p.payee),
        )
        for p in pairs
    ]


def settle_checked(bench: Bench, proof: bytes, settlement: Settlement) -> int:
    """Submit one ``settle`` and check it moved exactly what its pairs say; return its gas."""
    pairs = settlement.pairs
    before = _state(bench, pairs)
    result = bench.escrow.submit_settlement(proof, settlement, bench.key)
    after = _state(bench, pairs)
    credited = sum(p.total for p in pairs)  # the pairs share one payee
    expected = [
        (payer - p.total, payee + credited, p.to_nonce)
        for p, (payer, payee, _) in zip(pairs, before, strict=True)
    ]
    if result.skipped or len(result.settled) != len(pairs) or after != expected:
        raise SettlementMismatch(
            f"verifier {settlement.verifier_id}: escrow (payer, payee, high-water) went from {before} "
            f"to {after}, expected {expected}; skipped {result.skipped}"
        )
    return result.gas_used


def next_run(pairs: Sequence[Pair]) -> tuple[Pair, ...]:
    """The same pairs' next run of mandates, as many as last time."""
    return tuple(Pair(p.payer, p.payee, p.to_nonce, 2 * p.to_nonce - p.from_nonce, p.total) for p in pairs)


def settle_attested(bench: Bench, verifier_id: int, pairs: tuple[Pair, ...]) -> int:
    settlement = Settlement(verifier_id, bench.token.address, bench.now() + HORIZON, pairs)
    public_input = bench.escrow.public_input_of(settlement)
    proof = unsafe_attestation_proof(
        bench.attester, bench.verifiers[verifier_id], bench.w3.eth.chain_id, public_input
    )
    return settle_checked(bench, proof, settlement)


def settle_proved(bench: Bench, spec: VerifierSpec, pairs: tuple[Pair, ...], prover: ProverProcess) -> int:
    """Sign the pairs' mandates, prove them with gnark, settle through the exported verifier."""
    domain, deadline = bench.escrow.domain(), bench.now() + HORIZON
    keys = {Account.from_key(k).address: k for k in bench.payers}
    signed = [
        Mandate(
            payer=p.payer, payee=p.payee, token=bench.token.address, amount=bench.amount, nonce=nonce,
            deadline=deadline, ref=nonce.to_bytes(32, "big"),
        ).sign(domain, keys[p.payer])
        for p in pairs
        for nonce in range(p.from_nonce + 1, p.to_nonce + 1)
    ]  # fmt: skip
    from_nonces = {(p.payer, p.payee): p.from_nonce for p in pairs}
    request = build_request(signed, verifier_id=spec.verifier_id, from_nonces=from_nonces)
    proof = prover.prove(request, n=spec.mandate_slots, p=spec.pair_slots)
    proved = tuple(Pair(s.payer, s.payee, s.from_nonce, s.to_nonce, s.total) for s in request.pairs)
    if proved != pairs:
        raise SettlementMismatch(f"the prover's pairs {proved} are not the settlement's {pairs}")
    settlement = Settlement(spec.verifier_id, bench.token.address, request.not_after, pairs)
    return settle_checked(bench, proof.proof_bytes, settlement)


def x402_transfers(bench: Bench) -> tuple[int, int]:
    """Gas of two EIP-3009 transfers from one payer into one merchant: (cold, warm)."""
    sender, merchant = bytes(Account.create().key), Account.create().address
    bench.token.mint(Account.from_key(sender).address, 10 * bench.amount, bench.key)
    gas = []
    for _ in range(2):
        auth = bench.token.sign_authorization(
            AuthorizationKind.TRANSFER, sender, merchant, bench.amount, valid_before=bench.now() + 600
        )
        gas.append(int(bench.token.transfer_with_authorization(auth, bench.key)["gasUsed"]))
    return gas[0], gas[1]
