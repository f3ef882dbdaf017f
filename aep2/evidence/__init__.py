"""Dispute evidence: one self-contained file per mandate that anyone can check.

The payee exports what it holds about one mandate (the mandate and its signature, the call
descriptor whose hash is ``ref``, its signed receipt, and the settlement with its proof and
transaction); anyone verifies it offline, and against the chain when they have an RPC URL.
``docs/protocol.md`` ("Dispute evidence") pins the format, ``docs/errors.md`` the codes::

    >>> evidence = export_evidence(engine, "0x276a…", w3=w3)      # the payee's side
    >>> Path("evidence.json").write_text(evidence.dumps())
    >>> evidence = read_evidence(Path("evidence.json"))             # anyone's side
    >>> verify_offline(evidence).lines()        # signatures, ref, receipt, public input, Groth16
    >>> verify_on_chain(evidence, w3).lines()   # the transaction settled exactly that pair

Every failed check raises :class:`aep2.errors.EvidenceError`, its ``reason`` the check's code.
"""

from aep2.evidence._export import VerifyingKeys, export_evidence, prover_verifying_key
from aep2.evidence._format import (
    FORMAT,
    PARTS,
    VERSION,
    AgentKeyRecord,
    AgentPairPart,
    BatchPairPart,
    CallPart,
    Evidence,
    ReceiptPart,
    SettlementPart,
    TransactionPart,
    loads_evidence,
    parse_evidence,
    read_evidence,
)
from aep2.evidence._offline import offline_checks, verify_offline
from aep2.evidence._onchain import on_chain_checks, verify_on_chain
from aep2.evidence._report import Check, Report

__all__ = [
    "FORMAT",
    "PARTS",
    "VERSION",
    "AgentKeyRecord",
    "AgentPairPart",
    "BatchPairPart",
    "CallPart",
    "Check",
    "Evidence",
    "ReceiptPart",
    "Report",
    "SettlementPart",
    "TransactionPart",
    "VerifyingKeys",
    "export_evidence",
    "loads_evidence",
    "offline_checks",
    "on_chain_checks",
    "parse_evidence",
    "prover_verifying_key",
    "read_evidence",
    "verify_offline",
    "verify_on_chain",
]
