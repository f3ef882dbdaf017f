"""Checking an evidence file against the chain: the escrow's record of an agent key, and that the
named transaction processed this proof and settled exactly this pair.

Run after :func:`~aep2.evidence.verify_offline` passed: these checks trust what it established
(the mandate's domain, the pair, the public input) and ask the chain only what the file cannot show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound
from web3.types import TxReceipt

from aep2.agentkey import SignedAgentMandate
from aep2.chain.agent_settlement import AgentPair
from aep2.chain.escrow import EscrowClient, VerifierFamily
from aep2.chain.events import SettlementResult, parse_settlement
from aep2.chain.settlement import Pair
from aep2.errors import EvidenceError, Reason
from aep2.evidence._format import Evidence, SettlementPart
from aep2.evidence._parts import Subject, covers, settlement_of, subject_of
from aep2.evidence._report import Check, Report

VERIFY_PROOF_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "verifyProof",
        "stateMutability": "view",
        "inputs": [{"name": "proof", "type": "bytes"}, {"name": "input", "type": "uint256[1]"}],
        "outputs": [],
    }
]
"""gnark's exported verifier (``IBatchVerifier``): reverts unless the proof is valid."""


def verify_on_chain(evidence: Evidence, w3: Web3) -> Report:
    """Run every on-chain check; raises :class:`EvidenceError` at the first that fails."""
    return Report(tuple(on_chain_checks(evidence, w3)), evidence.absent)


def on_chain_checks(evidence: Evidence, w3: Web3) -> Iterator[Check]:
    """The on-chain checks one by one, each yielded once it passed."""
    subject = subject_of(evidence)
    domain = subject.signed.domain
    chain_id = w3.eth.chain_id
    if chain_id != domain.chain_id:
        raise EvidenceError(
            f"the node is on chain {chain_id}, the mandate on chain {domain.chain_id}",
            reason=Reason.EVIDENCE_CHAIN_MISMATCH,
        )
    if not w3.eth.get_code(Web3.to_checksum_address(domain.escrow)):
        raise EvidenceError(
            f"no contract at the escrow {domain.escrow} on chain {chain_id}",
            reason=Reason.EVIDENCE_CHAIN_MISMATCH,
        )
    escrow = EscrowClient.at(w3, domain.escrow)
    yield Check("chain", f"chain {chain_id}, escrow {domain.escrow}")
    if subject.key is not None:
        yield _agent_key(escrow, subject)
    if evidence.settlement is not None:
        yield from _transaction(escrow, subject, evidence.settlement)
        yield _verifier(escrow, evidence.settlement)


def _agent_key(escrow: EscrowClient, subject: Subject) -> Check:
    assert isinstance(subject.signed, SignedAgentMandate)
    key_id = subject.signed.mandate.key_id
    info = escrow.agent_key(key_id)
    if info is None or info.key != subject.key or info.payer != subject.payer:
        found = "no key" if info is None else f"key 0x{info.key.hex()} of payer {info.payer}"
        raise EvidenceError(
            f"the escrow records {found} as agent key {key_id}; the file says "
            f"0x{(subject.key or b'').hex()} of payer {subject.payer}",
            reason=Reason.EVIDENCE_AGENT_KEY_MISMATCH,
        )
    return Check("agent key", f"the escrow records key {key_id} as 0x{info.key.hex()} of payer {info.payer}")


def _transaction(escrow: EscrowClient, subject: Subject, part: SettlementPart) -> Iterator[Check]:
    tx = part.transaction
    try:
        receipt = escrow.w3.eth.get_transaction_receipt(HexBytes(tx.hash))
    except TransactionNotFound:
        raise EvidenceError(
            f"no transaction {tx.hash} on this chain", reason=Reason.EVIDENCE_TX_NOT_FOUND
        ) from None
    _same_transaction(escrow, receipt, part)
    result = parse_settlement(escrow.contract, receipt)
    verifier_id, public_input = int(part.verifier_id), int(part.public_input)
    if not any(p.verifier_id == verifier_id and p.public_input == public_input for p in result.processed):
        raise _mismatch(
            tx.hash, f"processed no proof of verifier {verifier_id} for public input {public_input}"
        )
    yield Check("transaction", f"{tx.hash} in block {tx.block_number} processed this proof")
    pairs = [p for p in settlement_of(part).pairs if covers(subject, p)]
    if not pairs:
        raise EvidenceError(
            "no pair of the settlement covers the mandate", reason=Reason.EVIDENCE_PAIR_MISSING
        )
    yield Check("settled", _settled(result, pairs[0], tx.hash))


def _same_transaction(escrow: EscrowClient, receipt: TxReceipt, part: SettlementPart) -> None:
    tx = part.transaction
    if receipt["status"] != 1:
        raise _mismatch(tx.hash, "reverted")
    to = receipt.get("to")
    if to is None or to_checksum_address(to) != escrow.address:
        raise _mismatch(tx.hash, f"was sent to {to}, not to the escrow {escrow.address}")
    if int(receipt["blockNumber"]) != int(tx.block_number):
        raise _mismatch(tx.hash, f"is in block {receipt['blockNumber']}, not {tx.block_number}")


def _settled(result: SettlementResult, pair: Pair | AgentPair, tx_hash: str) -> str:
    """The event that paid exactly ``pair`` in ``result``, described; else ``evidence_tx_mismatch``."""
    run = (pair.from_nonce, pair.to_nonce, pair.total)
    if isinstance(pair, AgentPair):
        paid = any(
            (e.key_id, e.payee, e.from_nonce, e.to_nonce, e.total) == (pair.key_id, pair.payee, *run)
            for e in result.agent_settled
        )
        skipped = [
            e.reason.name for e in result.agent_skipped if (e.key_id, e.payee) == (pair.key_id, pair.payee)
        ]
        event, who = "AgentPairSettled", f"agent key {pair.key_id}"
    else:
        paid = any(
            (e.payer, e.payee, e.from_nonce, e.to_nonce, e.total) == (pair.payer, pair.payee, *run)
            for e in result.settled
        )
        skipped = [e.reason.name for e in result.skipped if (e.payer, e.payee) == (pair.payer, pair.payee)]
        event, who = "PairSettled", pair.payer
    described = f"{who} -> {pair.payee} nonces ({pair.from_nonce}, {pair.to_nonce}] total {pair.total}"
    if not paid:
        why = f" (skipped: {', '.join(skipped)})" if skipped else ""
        raise _mismatch(tx_hash, f"did not settle {described}{why}")
    return f"{event} {described}"


def _verifier(escrow: EscrowClient, part: SettlementPart) -> Check:
    verifier_id = int(part.verifier_id)
    info = escrow.verifier_info(verifier_id)
    family = VerifierFamily.AGENT if part.family == "agent" else VerifierFamily.BATCH
    size = (int(part.mandate_slots), int(part.pair_slots))
    if info is None or info.family != family or (info.mandate_slots, info.pair_slots) != size:
        wanted = f"a {family.name} verifier of N={size[0]} P={size[1]}"
        raise EvidenceError(
            f"the escrow's verifier {verifier_id} is {info}, not {wanted}",
            reason=Reason.EVIDENCE_VERIFIER_REJECTED,
        )
    contract = escrow.w3.eth.contract(address=Web3.to_checksum_address(info.verifier), abi=VERIFY_PROOF_ABI)
    proof = bytes.fromhex(part.proof[2:])
    try:
        contract.functions.verifyProof(proof, [int(part.public_input)]).call()
    except ContractLogicError as exc:
        raise EvidenceError(
            f"the escrow's verifier {verifier_id} at {info.verifier} rejects the proof: {exc}",
            reason=Reason.EVIDENCE_VERIFIER_REJECTED,
        ) from None
    return Check("verifier", f"the escrow's verifier {verifier_id} at {info.verifier} accepts the proof")


def _mismatch(tx_hash: str, what: str) -> EvidenceError:
    return EvidenceError(f"transaction {tx_hash} {what}", reason=Reason.EVIDENCE_TX_MISMATCH)
