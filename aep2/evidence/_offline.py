"""Checking an evidence file with nothing but the file: signatures, ``ref``, the receipt, the
settlement's public input and the Groth16 proof against the verifying key it carries.

The checks run in a fixed order and stop at the first failure, an :class:`EvidenceError` whose
``reason`` names it (``docs/errors.md``, "Dispute evidence"). A part the file lacks is skipped and
reported absent, never passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from pydantic import ValidationError

from aep2.agentkey import SignedAgentMandate
from aep2.chain.agent_settlement import AgentPair, AgentSettlement, agent_settlement_public_input
from aep2.chain.settlement import Pair, Settlement, settlement_public_input
from aep2.errors import EvidenceError, MandateError, Reason
from aep2.evidence._format import CallPart, Evidence, ReceiptPart, SettlementPart
from aep2.evidence._parts import Subject, agent_keys_of, covers, settlement_of, subject_of
from aep2.evidence._report import Check, Report
from aep2.protocol.call_ref import ref_of
from aep2.protocol.receipt import Receipt
from aep2.prover import Proof, verify_proof


def verify_offline(evidence: Evidence) -> Report:
    """Run every offline check; raises :class:`EvidenceError` at the first that fails."""
    return Report(tuple(offline_checks(evidence)), evidence.absent)


def offline_checks(evidence: Evidence) -> Iterator[Check]:
    """The offline checks one by one, each yielded once it passed (a CLI prints them as they go)."""
    subject = subject_of(evidence)
    m = subject.signed.mandate
    yield Check(
        "mandate",
        f"{subject.kind} {subject.digest}: {m.amount} of {m.token} from {subject.payer} to {m.payee}, "
        f"nonce {m.nonce}, deadline {m.deadline}",
    )
    yield _signature(subject)
    if evidence.call is not None:
        yield _call(subject, evidence.call)
    if evidence.receipt is not None:
        yield from _receipt(subject, evidence.receipt)
    if evidence.settlement is not None:
        yield from _settlement(subject, evidence.settlement)


def _signature(subject: Subject) -> Check:
    signed = subject.signed
    try:
        if isinstance(signed, SignedAgentMandate):
            assert subject.key is not None
            signed.verify(subject.key)
            return Check("signature", f"EdDSA by agent key {signed.mandate.key_id} (0x{subject.key.hex()})")
        signed.verify()
    except MandateError as exc:
        raise EvidenceError(
            f"{exc.reason}: {exc.message}", reason=Reason.EVIDENCE_SIGNATURE_INVALID
        ) from None
    return Check("signature", f"EIP-712, low-s, by the payer {signed.mandate.payer}")


def _call(subject: Subject, call: CallPart) -> Check:
    ref = "0x" + subject.signed.mandate.ref.hex()
    hashed = "0x" + ref_of(call.descriptor).hex()
    if hashed != ref:
        raise EvidenceError(
            f"the descriptor hashes to {hashed}, the mandate's ref is {ref}",
            reason=Reason.EVIDENCE_REF_MISMATCH,
        )
    what = " ".join(call.descriptor.get(k, "") for k in ("transport", "method", "url", "tool", "skill"))
    return Check("call", f"ref {ref} = keccak256(descriptor): {' '.join(what.split())}")


def _receipt(subject: Subject, part: ReceiptPart) -> Iterator[Check]:
    m = subject.signed.mandate
    try:
        receipt = Receipt(**part.receipt)
        signer = Account.recover_message(encode_defunct(receipt.message()), signature=part.signature)
    except (ValidationError, ValueError, BadSignature) as exc:
        message = f"the receipt does not verify: {str(exc).splitlines()[0]}"
        raise EvidenceError(message, reason=Reason.EVIDENCE_RECEIPT_INVALID) from None
    if signer != m.payee:
        raise EvidenceError(
            f"the receipt is signed by {signer}, not by the mandate's payee {m.payee}",
            reason=Reason.EVIDENCE_RECEIPT_INVALID,
        )
    yield Check("receipt", f"signed by the payee {signer}, accepted at {receipt.accepted_at}")
    expected = {
        "digest": subject.digest,
        "payer": subject.payer,
        "payee": m.payee,
        "token": m.token,
        "amount": str(m.amount),
        "nonce": str(m.nonce),
    }
    for name, value in expected.items():
        if getattr(receipt, name) != value:
            raise EvidenceError(
                f"the receipt's {name} is {getattr(receipt, name)}, the mandate's {value}",
                reason=Reason.EVIDENCE_RECEIPT_MISMATCH,
                field=name,
            )
    yield Check("receipt terms", "digest, payer, payee, token, amount and nonce are the mandate's")


def _settlement(subject: Subject, part: SettlementPart) -> Iterator[Check]:
    settlement = settlement_of(part)
    index = _pair_index(subject, settlement)
    pair = settlement.pairs[index]
    yield Check(
        "pair",
        f"pair {index} of the settlement: nonces ({pair.from_nonce}, {pair.to_nonce}], total {pair.total}",
    )
    signed = subject.signed
    separator = signed.domain.separator
    if isinstance(settlement, AgentSettlement) and isinstance(signed, SignedAgentMandate):
        keys = agent_keys_of(part, settlement)
        key_id = signed.mandate.key_id
        if keys[key_id] != subject.key:
            raise EvidenceError(
                f"the settlement packs 0x{keys[key_id].hex()} for key {key_id}, "
                f"the mandate is signed by 0x{(subject.key or b'').hex()}",
                reason=Reason.EVIDENCE_AGENT_KEY_MISMATCH,
            )
        public_input = agent_settlement_public_input(separator, settlement, keys)
    else:
        assert isinstance(settlement, Settlement)
        public_input = settlement_public_input(separator, settlement)
    if str(public_input) != part.public_input:
        raise EvidenceError(
            f"the settlement hashes to public input {public_input}, the file says {part.public_input}",
            reason=Reason.EVIDENCE_PUBLIC_INPUT_MISMATCH,
        )
    yield Check("public input", f"{public_input} = keccak256(packed settlement) mod r")
    yield _proof(part, public_input)


def _pair_index(subject: Subject, settlement: Settlement | AgentSettlement) -> int:
    """Where the mandate's pair is: same payer (agent: key id) and payee, its nonce in the range."""
    m = subject.signed.mandate
    family = "agent" if isinstance(settlement, AgentSettlement) else "batch"
    if (family == "agent") != (subject.kind == "agent"):
        raise EvidenceError(
            f"a {subject.kind} mandate cannot be in a {family} settlement",
            reason=Reason.EVIDENCE_PAIR_MISSING,
        )
    if settlement.token != m.token or settlement.not_after > m.deadline:
        raise EvidenceError(
            f"the settlement (token {settlement.token}, notAfter {settlement.not_after}) cannot hold "
            f"this mandate (token {m.token}, deadline {m.deadline})",
            reason=Reason.EVIDENCE_PAIR_MISSING,
        )
    pairs: tuple[Pair | AgentPair, ...] = settlement.pairs
    for index, pair in enumerate(pairs):
        if covers(subject, pair):
            return index
    signed = subject.signed
    who = f"agent key {signed.mandate.key_id}" if isinstance(signed, SignedAgentMandate) else subject.payer
    raise EvidenceError(
        f"no pair of the settlement covers nonce {m.nonce} of {who} to {m.payee}",
        reason=Reason.EVIDENCE_PAIR_MISSING,
    )


def _proof(part: SettlementPart, public_input: int) -> Check:
    """The Groth16 check under the file's verifying key, which must be of the settlement's family
    and size; any statement version (a file outlives the circuit version that proved it)."""
    size = f"n{int(part.mandate_slots)}-p{int(part.pair_slots)}"
    named = part.verifying_key.get("circuitId")
    circuit = f"aep2-{part.family}-<version>-{size}"
    if not isinstance(named, str) or not re.fullmatch(rf"aep2-{part.family}-v[0-9]+-{size}", named):
        raise EvidenceError(
            f"the verifying key is for {named!r}, the settlement's circuit is {circuit}",
            reason=Reason.EVIDENCE_VERIFYING_KEY_MISMATCH,
        )
    proof = Proof(part.proof, public_input, named)
    try:
        valid = verify_proof(part.verifying_key, proof)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise EvidenceError(
            f"the proof cannot be checked: {exc}", reason=Reason.EVIDENCE_PROOF_INVALID
        ) from None
    if not valid:
        raise EvidenceError(
            f"the Groth16 proof does not verify for public input {public_input} under the {named} key",
            reason=Reason.EVIDENCE_PROOF_INVALID,
        )
    return Check("proof", f"Groth16 (BN254) verifies under the verifying key of {named}")
