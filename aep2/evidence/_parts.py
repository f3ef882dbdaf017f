"""An evidence file's parts as the library's own types: the signed mandate (decoded exactly as a
payee decodes it), whose funds it spends, and the settlement its proof opened."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from aep2.agentkey import AnySigned, SignedAgentMandate, decode_any
from aep2.chain.agent_settlement import AgentPair, AgentSettlement
from aep2.chain.settlement import InvalidSettlement, Pair, Settlement
from aep2.errors import Aep2Error, EvidenceError, Reason
from aep2.evidence._format import AgentPairPart, BatchPairPart, Evidence, SettlementPart
from aep2.mandate import canonical_json


@dataclass(frozen=True)
class Subject:
    """The evidence's mandate: ``payer`` is whose funds it spends (an agent mandate: its key's payer
    as the file records it), ``key`` the agent key it must be signed with (None: EIP-712)."""

    signed: AnySigned
    payer: str
    key: bytes | None

    @property
    def kind(self) -> str:
        return "agent" if isinstance(self.signed, SignedAgentMandate) else "eip712"

    @property
    def digest(self) -> str:
        return "0x" + self.signed.digest.hex()


def subject_of(evidence: Evidence) -> Subject:
    """Decode the mandate as the payee's check does (its header is the base64 of its canonical
    JSON); ``evidence_mandate_invalid`` if it does not decode, ``evidence_malformed`` if the agent
    key record is missing, superfluous or names another key id."""
    header = base64.b64encode(canonical_json(evidence.mandate)).decode("ascii")
    try:
        signed = decode_any(header)
    except Aep2Error as exc:
        raise EvidenceError(
            f"the mandate does not decode: {exc.reason}: {exc.message}",
            reason=Reason.EVIDENCE_MANDATE_INVALID,
        ) from None
    record = evidence.agent_key
    if not isinstance(signed, SignedAgentMandate):
        if record is not None:
            raise EvidenceError("an EIP-712 mandate's evidence has no agentKey", field="agentKey")
        return Subject(signed, signed.mandate.payer, None)
    if record is None:
        raise EvidenceError(
            "an agent mandate's evidence needs agentKey (its key on record)", field="agentKey"
        )
    if int(record.key_id) != signed.mandate.key_id:
        raise EvidenceError(
            f"agentKey.keyId {record.key_id} is not the mandate's keyId {signed.mandate.key_id}",
            field="agentKey.keyId",
        )
    return Subject(signed, record.payer, bytes.fromhex(record.key[2:]))


def settlement_of(part: SettlementPart) -> Settlement | AgentSettlement:
    """The settlement struct of the file's family; ``evidence_malformed`` for a field out of range,
    an address not checksummed, or pairs of the other family."""
    header = (int(part.verifier_id), part.token, int(part.not_after))
    try:
        if part.family == "agent":
            agent = [p for p in part.pairs if isinstance(p, AgentPairPart)]
            _same_family(agent, part)
            pairs = tuple(AgentPair(int(p.key_id), p.payee, *_run(p)) for p in agent)
            return AgentSettlement(*header, pairs)
        batch = [p for p in part.pairs if isinstance(p, BatchPairPart)]
        _same_family(batch, part)
        return Settlement(*header, tuple(Pair(p.payer, p.payee, *_run(p)) for p in batch))
    except InvalidSettlement as exc:
        raise EvidenceError(
            f"settlement: {exc.message}", field=f"settlement.{exc.context.get('field')}"
        ) from None


def _run(p: BatchPairPart | AgentPairPart) -> tuple[int, int, int]:
    return int(p.from_nonce), int(p.to_nonce), int(p.total)


def _same_family(pairs: list[BatchPairPart] | list[AgentPairPart], part: SettlementPart) -> None:
    if len(pairs) != len(part.pairs):
        raise EvidenceError(f"settlement.pairs are not pairs of the {part.family} family", field="pairs")


def covers(subject: Subject, pair: Pair | AgentPair) -> bool:
    """Whether ``pair`` is the mandate's sequence (payer, or agent key id, and payee) and its nonce
    range ``(fromNonce, toNonce]`` holds the mandate's nonce."""
    signed = subject.signed
    if isinstance(pair, AgentPair):
        if not isinstance(signed, SignedAgentMandate) or pair.key_id != signed.mandate.key_id:
            return False
    elif pair.payer != subject.payer:
        return False
    m = signed.mandate
    return pair.payee == m.payee and pair.from_nonce < m.nonce <= pair.to_nonce


def agent_keys_of(part: SettlementPart, settlement: AgentSettlement) -> dict[int, bytes]:
    """The keys the escrow stores for each pair's key id, as the file lists them; every id needs one."""
    keys = {int(k): bytes.fromhex(v[2:]) for k, v in (part.keys or {}).items()}
    missing = [k for k in settlement.key_ids if k not in keys]
    if missing:
        raise EvidenceError(f"settlement.keys lacks key ids {missing}", field="settlement.keys")
    return keys
