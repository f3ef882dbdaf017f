"""The chain side of ``benchmarks.agent_gas``: granted agent keys, agent mandates, checked settlements.

Every payer is a fresh account holding no ETH: the bench's key mints its TestUSDC, relays its
signed deposit and registers its signed grant of one fresh agent key, scoped to one payee. Every
settlement is checked against the escrow's own state before and after (payer balance, payee
credit, the (key, payee) high-water mark, the key's ``spent``), so a figure is only recorded for a
transaction that paid exactly its pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_account import Account

from aep2.agentkey import AgentKey, AgentKeyGrant, AgentMandate
from aep2.chain import AgentPair, AgentSettlement, sign_grant, unsafe_attestation_proof
from aep2.prover import AgentProveRequest, build_agent_request
from benchmarks._gas_chain import HORIZON, Bench, SettlementMismatch, fund_payer

KEY_VALIDITY = 7 * 24 * 3600


@dataclass(frozen=True)
class AgentPayer:
    """A payer account and the agent key it granted for one payee."""

    account_key: bytes
    agent: AgentKey
    key_id: int

    @property
    def address(self) -> str:
        return str(Account.from_key(self.account_key).address)


def grant_agent_payers(bench: Bench, payee: str, count: int, deposit: int) -> tuple[AgentPayer, ...]:
    """``count`` fresh payers, each funded with ``deposit`` and with one agent key for ``payee``
    whose cap is that deposit."""
    payers = []
    domain, now = bench.escrow.domain(), bench.now()
    for _ in range(count):
        account_key, agent = bytes(Account.create().key), AgentKey.generate()
        fund_payer(bench, account_key, deposit)
        grant = AgentKeyGrant.build(
            payer=Account.from_key(account_key).address, key=agent.public_key, token=bench.token.address,
            payee=payee, cap=deposit, valid_after=now, valid_until=now + KEY_VALIDITY, salt=0,
        )  # fmt: skip
        key_id = bench.escrow.authorize_agent_key(grant, sign_grant(grant, domain, account_key), bench.key)
        payers.append(AgentPayer(account_key, agent, key_id))
    return tuple(payers)


def _state(bench: Bench, payers: Sequence[AgentPayer], payee: str) -> list[tuple[int, int, int, int]]:
    token = bench.token.address
    state = []
    for payer in payers:
        info = bench.escrow.agent_key(payer.key_id)
        if info is None:
            raise SettlementMismatch(f"agent key {payer.key_id} is not registered")
        state.append(
            (
                bench.escrow.balance(payer.address, token),
                bench.escrow.payee_balance(payee, token),
                bench.escrow.agent_high_water(payer.key_id, payee),
                info.spent,
            )
        )
    return state


def settle_agent_checked(
    bench: Bench, proof: bytes, settlement: AgentSettlement, payers: Sequence[AgentPayer]
) -> int:
    """Submit one ``settleAgent`` and check it moved exactly what its pairs say; return its gas.

    ``payers`` are the pairs' payers in the settlement's pair order; the pairs share one payee.
    """
    payee = settlement.pairs[0].payee
    if [p.key_id for p in payers] != [pair.key_id for pair in settlement.pairs]:
        raise SettlementMismatch(f"payers {[p.key_id for p in payers]} are not the settlement's keys")
    before = _state(bench, payers, payee)
    result = bench.escrow.submit_agent_settlement(proof, settlement, bench.key)
    after = _state(bench, payers, payee)
    credited = settlement.total
    expected = [
        (balance - pair.total, credit + credited, pair.to_nonce, spent + pair.total)
        for pair, (balance, credit, _, spent) in zip(settlement.pairs, before, strict=True)
    ]
    if result.agent_skipped or len(result.agent_settled) != len(settlement.pairs) or after != expected:
        raise SettlementMismatch(
            f"agent verifier {settlement.verifier_id}: escrow (balance, credit, high-water, spent) went "
            f"from {before} to {after}, expected {expected}; skipped {result.agent_skipped}"
        )
    return result.gas_used


def settle_agent_attested(
    bench: Bench, verifier_id: int, settlement: AgentSettlement, payers: Sequence[AgentPayer]
) -> int:
    """Settle through the attestation stand-in: what brings the pairs to their steady state."""
    public_input = bench.escrow.agent_public_input_of(settlement)
    proof = unsafe_attestation_proof(
        bench.attester, bench.verifiers[verifier_id], bench.w3.eth.chain_id, public_input
    )
    return settle_agent_checked(bench, proof, settlement, payers)


def first_run(
    bench: Bench, verifier_id: int, payers: Sequence[AgentPayer], payee: str, per_pair: int
) -> AgentSettlement:
    """The pairs' first ``per_pair`` nonces, settled by no mandate: for the stand-in only."""
    pairs = tuple(AgentPair(p.key_id, payee, 0, per_pair, per_pair * bench.amount) for p in payers)
    return AgentSettlement(verifier_id, bench.token.address, bench.now() + HORIZON, pairs)


def agent_request(
    bench: Bench, verifier_id: int, payers: Sequence[AgentPayer], payee: str, from_nonce: int, per_pair: int
) -> tuple[AgentProveRequest, AgentSettlement]:
    """Each payer's agent signs ``per_pair`` mandates above ``from_nonce`` to ``payee``; the prove
    request of them all and the settlement it proves, in the request's pair order."""
    separator, deadline = bench.escrow.domain_separator(), bench.now() + HORIZON
    signed = []
    for payer in payers:
        for nonce in range(from_nonce + 1, from_nonce + per_pair + 1):
            mandate = AgentMandate.build(
                key_id=payer.key_id, payee=payee, token=bench.token.address, amount=bench.amount,
                nonce=nonce, deadline=deadline, ref=nonce.to_bytes(32, "big"),
            )  # fmt: skip
            signed.append((mandate, payer.agent.sign(separator, mandate)))
    request = build_agent_request(
        signed,
        domain_separator=separator,
        keys={p.key_id: p.agent.public_key for p in payers},
        verifier_id=verifier_id,
        from_nonces={(p.key_id, payee): from_nonce for p in payers},
    )
    # the escrow must receive the pairs in the order the circuit hashed them: the request's
    pairs = tuple(AgentPair(s.key_id, s.payee, s.from_nonce, s.to_nonce, s.total) for s in request.pairs)
    return request, AgentSettlement(verifier_id, bench.token.address, request.not_after, pairs)
