"""How a chunk gets its proof: the job handed to a prover, and the two provers the pipeline knows.

A :class:`ProofJob` proves EIP-712 mandates (the ``batch`` family), an :class:`AgentProofJob`
agent-key mandates (the ``agent`` family, its pairs bound to the keys the escrow stores).
:class:`GnarkProver` drives ``aep2-prover serve`` (anything with its ``request(method, params)``
call, e.g. ``aep2.prover.ProverProcess``) with the witness requests of ``circuits/README.md``.
:class:`AttestationProver` signs the public input for the escrow's ``AttestationVerifier`` test
stand-in, so the pipeline's bookkeeping can be exercised on anvil in seconds instead of the
Groth16 prover's minutes; it proves nothing about mandates and says so in its name.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eth_utils.address import to_checksum_address

from aep2.agentkey import AgentMandate
from aep2.chain.agent_settlement import AgentSettlement, agent_settlement_public_input
from aep2.chain.attestation import unsafe_attestation_proof
from aep2.chain.settlement import Settlement, settlement_public_input
from aep2.mandate._signature import recover_public_key
from aep2.prover import build_agent_request
from aep2.prover._request import PairSpec, mandate_entry, pair_entry, request_payload


@dataclass(frozen=True)
class ProofMandate:
    """A stored mandate as the witness needs it (decimal amounts, hex ref/signature/digest)."""

    payer: str
    payee: str
    token: str
    amount: int
    nonce: int
    deadline: int
    ref: str
    signature: str
    digest: str


@dataclass(frozen=True)
class ProofJob:
    """Everything one proof needs: the settlement in ``settleMany`` order and its mandates."""

    chain_id: int
    domain_separator: bytes
    settlement: Settlement
    n: int
    p: int
    mandates: Sequence[ProofMandate]

    @property
    def public_input(self) -> int:
        return settlement_public_input(self.domain_separator, self.settlement)


@dataclass(frozen=True)
class AgentProofJob:
    """An agent chunk: its settlement in ``settleMany`` order, the stored mandates in witness order
    (pair by pair, nonces ascending) with their 64-byte signatures, and each pair's key as the
    escrow stores it (the public input packs those bytes)."""

    chain_id: int
    domain_separator: bytes
    settlement: AgentSettlement
    n: int
    p: int
    mandates: Sequence[tuple[AgentMandate, bytes]]
    keys: Mapping[int, bytes]

    @property
    def public_input(self) -> int:
        return agent_settlement_public_input(self.domain_separator, self.settlement, self.keys)


AnyProofJob = ProofJob | AgentProofJob


class ChunkProver(Protocol):
    def prove(self, job: AnyProofJob) -> bytes: ...


class ServeClient(Protocol):
    def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any: ...


def _public_key(m: ProofMandate) -> str:
    """The payer's uncompressed key, recovered from a stored (already verified) signature."""
    digest = bytes.fromhex(m.digest.removeprefix("0x"))
    signature = bytes.fromhex(m.signature.removeprefix("0x"))
    return "0x" + bytes(recover_public_key(digest, signature).format(compressed=False)).hex()


def witness_request(job: ProofJob) -> dict[str, Any]:
    """The ``prove`` request of ``circuits/README.md``: pairs in settlement order, mandates by pair."""
    s = job.settlement
    index = {(p.payer.lower(), p.payee.lower()): i for i, p in enumerate(s.pairs)}
    keys_by_pair: dict[int, str] = {}
    mandates = []
    for m in job.mandates:
        i = index[(m.payer.lower(), m.payee.lower())]
        keys_by_pair.setdefault(i, _public_key(m))
        entry = mandate_entry(
            i, payer=m.payer, payee=m.payee, token=m.token, amount=m.amount, nonce=m.nonce,
            deadline=m.deadline, ref=m.ref, signature=m.signature,
        )  # fmt: skip
        mandates.append(entry)
    pairs = [
        pair_entry(PairSpec(p.payer, p.payee, p.from_nonce, p.to_nonce, p.total), keys_by_pair[i])
        for i, p in enumerate(s.pairs)
    ]
    return request_payload(job.domain_separator, s.verifier_id, s.token, s.not_after, pairs, mandates)


def agent_witness_request(job: AgentProofJob) -> dict[str, Any]:
    """The agent family's ``prove`` request (circuits/README.md, "Agent witness request").

    Raises ValueError if the stored mandates do not add up to the stored settlement pair for
    pair (a store that lost or gained a row must not be proved into a different settlement).
    """
    s = job.settlement
    request = build_agent_request(
        job.mandates,
        domain_separator=job.domain_separator,
        keys=job.keys,
        verifier_id=s.verifier_id,
        from_nonces={(p.key_id, p.payee): p.from_nonce for p in s.pairs},
        not_after=s.not_after,
    )
    built = [
        (p.key_id, to_checksum_address(p.payee), p.from_nonce, p.to_nonce, p.total) for p in request.pairs
    ]
    if built != [p.as_abi() for p in s.pairs] or request.token != s.token:
        raise ValueError(f"the chunk's mandates make pairs {built}, not the stored settlement's")
    return request.payload


@dataclass
class GnarkProver:
    """Groth16 proofs from ``aep2-prover serve``; checks the prover hashed the same public input."""

    client: ServeClient
    timeout: float | None = None

    def prove(self, job: AnyProofJob) -> bytes:
        params: dict[str, Any] = {"n": job.n, "p": job.p}
        if isinstance(job, AgentProofJob):
            params |= {"family": "agent", "request": agent_witness_request(job)}
        else:
            params["request"] = witness_request(job)
        reply = self.client.request("prove", params, timeout=self.timeout)
        proof: Mapping[str, Any] = reply if isinstance(reply, Mapping) else reply.to_json()
        if int(proof["publicInput"]) != job.public_input:
            raise ValueError(f"prover's public input {proof['publicInput']} is not {job.public_input}")
        return bytes.fromhex(str(proof["proof"]).removeprefix("0x"))


@dataclass(frozen=True)
class AttestationProver:
    """Test stand-in: ``attester_key`` signs the public input for the verifier at ``verifiers[id]``."""

    attester_key: bytes
    verifiers: Mapping[int, str]
    delay_seconds: float = 0.0  # stands in for a real proof's duration, so crash tests have a window

    def prove(self, job: AnyProofJob) -> bytes:
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        verifier = self.verifiers[job.settlement.verifier_id]
        return unsafe_attestation_proof(self.attester_key, verifier, job.chain_id, job.public_input)
