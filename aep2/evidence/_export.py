"""Exporting one mandate's evidence from the payee's store, with what only the chain and the
prover's key cache know: an agent key's record and the verifying key of the proof's circuit.

A mandate that is not settled yet exports with what exists (the mandate, its call, its receipt);
its settlement part is ``null``. The settlement is the one of the latest settled window that
holds the mandate: the transaction whose events moved it to settled.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web3 import Web3

from aep2.chain.agent_settlement import AgentPair, AgentSettlement
from aep2.chain.escrow import EscrowClient
from aep2.chain.settlement import Pair
from aep2.errors import ConfigurationError, EvidenceError, Reason
from aep2.evidence._format import (
    AgentKeyRecord,
    AgentPairPart,
    BatchPairPart,
    CallPart,
    Evidence,
    ReceiptPart,
    SettlementPart,
    TransactionPart,
)
from aep2.mandate import parse_header
from aep2.prover import Family, default_binary
from aep2.settlement.models import ChunkMandateRow, ChunkRow, WindowRow, WindowState
from aep2.settlement.records import chunk_settlement
from aep2.store.models import MandateRow, MandateState, ReceiptRow

VerifyingKeys = Callable[[Family, int, int], dict[str, Any]]
"""``(family, N, P)`` → the verifying key JSON of that circuit (``aep2-prover export-vk``)."""

_DIGEST = re.compile(r"^0x[0-9a-f]{64}$")


def prover_verifying_key(family: Family, n: int, p: int) -> dict[str, Any]:
    """The verifying key of a circuit as ``aep2-prover export-vk`` prints it from this machine's key
    cache (``$AEP2_HOME/circuits``): the key the payee's worker proved with."""
    args = [str(default_binary()), "export-vk", "--family", family, "--n", str(n), "--p", str(p)]
    try:
        done = subprocess.run(args, check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise ConfigurationError(
            f"aep2-prover export-vk for {family} N={n} P={p} failed: {exc} {detail.decode(errors='replace')}"
        ) from None
    key: dict[str, Any] = json.loads(done.stdout)
    return key


def export_evidence(
    engine: Engine,
    digest: str,
    *,
    w3: Web3 | None = None,
    verifying_key: VerifyingKeys = prover_verifying_key,
) -> Evidence:
    """The evidence of the stored mandate with this digest (its EIP-712 digest, or an agent
    mandate's Poseidon2 hash ``M``: what its receipt names).

    ``w3`` reaches the mandate's chain; an agent mandate needs it for its key's record and for the
    keys its settlement packs. Raises :class:`EvidenceError` (``evidence_not_found``) when the store
    has no such mandate.
    """
    digest = digest.strip().lower()
    if not _DIGEST.match(digest):
        raise EvidenceError(f"{digest!r} is not a 32-byte 0x-hex digest", reason=Reason.EVIDENCE_NOT_FOUND)
    with Session(engine) as session:
        row = session.execute(select(MandateRow).where(MandateRow.digest == digest)).scalar_one_or_none()
        if row is None:
            raise EvidenceError(
                f"no mandate with digest {digest} in {engine.url}", reason=Reason.EVIDENCE_NOT_FOUND
            )
        receipt = session.execute(
            select(ReceiptRow).where(ReceiptRow.mandate_id == row.id)
        ).scalar_one_or_none()
        settled = _settling_chunk(session, row)
    escrow = _escrow(w3, row) if row.kind == "agent" else None
    _, mandate = parse_header(row.header)
    return Evidence(
        mandate=mandate,
        agent_key=_agent_key(escrow, int(row.key_id)) if escrow is not None else None,
        call=CallPart(descriptor=json.loads(row.descriptor)) if row.descriptor else None,
        receipt=ReceiptPart(receipt=dict(receipt.receipt), signature=receipt.signature) if receipt else None,
        settlement=_settlement(*settled, escrow, verifying_key) if settled is not None else None,
    )


def _escrow(w3: Web3 | None, row: MandateRow) -> EscrowClient:
    if w3 is None:
        raise ConfigurationError(
            "an agent mandate's evidence reads its key from the escrow: give the chain's RPC URL"
        )
    return EscrowClient.at(w3, row.escrow)


def _agent_key(escrow: EscrowClient, key_id: int) -> AgentKeyRecord:
    info = escrow.agent_key(key_id)
    if info is None:
        raise ConfigurationError(f"agent key {key_id} is not registered on {escrow.address}: wrong chain?")
    return AgentKeyRecord(key_id=str(key_id), key="0x" + info.key.hex(), payer=info.payer)


def _settling_chunk(session: Session, row: MandateRow) -> tuple[ChunkRow, WindowRow] | None:
    """The proved chunk, and its settled window, whose transaction settled ``row``; None if unsettled."""
    if row.state != MandateState.SETTLED.value:
        return None
    q = (
        select(ChunkRow, WindowRow)
        .join(ChunkMandateRow, ChunkMandateRow.chunk_id == ChunkRow.id)
        .join(WindowRow, WindowRow.id == ChunkRow.window_id)
        .where(
            ChunkMandateRow.mandate_id == row.id,
            WindowRow.state == WindowState.SETTLED.value,
            WindowRow.tx_hash.is_not(None),
            ChunkRow.proof.is_not(None),
        )
        .order_by(WindowRow.id.desc())
        .limit(1)
    )
    found = session.execute(q).first()
    return (found[0], found[1]) if found is not None else None


def _settlement(
    chunk: ChunkRow, window: WindowRow, escrow: EscrowClient | None, verifying_key: VerifyingKeys
) -> SettlementPart:
    settlement = chunk_settlement(chunk)
    keys = None
    pairs: list[BatchPairPart] | list[AgentPairPart]
    if isinstance(settlement, AgentSettlement):
        assert escrow is not None  # an agent chunk holds agent mandates only
        keys = {str(k): _agent_key(escrow, k).key for k in settlement.key_ids}
        pairs = [AgentPairPart(key_id=str(p.key_id), payee=p.payee, **_run(p)) for p in settlement.pairs]
    else:
        pairs = [BatchPairPart(payer=p.payer, payee=p.payee, **_run(p)) for p in settlement.pairs]
    family: Family = "agent" if chunk.family == "agent" else "batch"
    return SettlementPart(
        family=family,
        verifier_id=str(chunk.verifier_id),
        mandate_slots=str(chunk.n),
        pair_slots=str(chunk.p),
        token=settlement.token,
        not_after=str(settlement.not_after),
        pairs=pairs,
        keys=keys,
        public_input=str(chunk.public_input),
        proof=str(chunk.proof),
        verifying_key=verifying_key(family, chunk.n, chunk.p),
        transaction=TransactionPart(hash=str(window.tx_hash), block_number=str(window.block_number)),
    )


def _run(p: Pair | AgentPair) -> dict[str, str]:
    return {"from_nonce": str(p.from_nonce), "to_nonce": str(p.to_nonce), "total": str(p.total)}
