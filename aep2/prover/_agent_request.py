"""Build the agent family's prove request (circuits/README.md, "Agent witness request")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aep2.agentkey import AgentMandate


@dataclass(frozen=True)
class AgentPairSpec:
    """One (agent key, payee) record of an agent settlement, as the escrow receives it."""

    key_id: int
    payee: str
    from_nonce: int
    to_nonce: int
    total: int


@dataclass(frozen=True)
class AgentProveRequest:
    """An agent settlement and its mandates; ``pairs`` is in settlement order."""

    domain_separator: bytes
    verifier_id: int
    token: str
    not_after: int
    pairs: tuple[AgentPairSpec, ...]
    mandate_count: int
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.payload


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def build_agent_request(
    mandates: Sequence[tuple[AgentMandate, bytes]],
    *,
    domain_separator: bytes,
    keys: Mapping[int, bytes],
    verifier_id: int,
    from_nonces: Mapping[tuple[int, str], int],
    not_after: int | None = None,
) -> AgentProveRequest:
    """Group signed agent mandates by (key id, payee) in order of first appearance, by nonce within.

    ``keys`` maps each key id to its 32-byte compressed key as the escrow stores it (the proof
    binds it); ``from_nonces`` maps (key id, payee) to the on-chain high-water mark (0 when
    absent); ``not_after`` defaults to the smallest deadline. All mandates must share one token.
    """
    if not mandates:
        raise ValueError("a settlement needs at least one mandate")
    token = mandates[0][0].token
    groups: dict[tuple[int, str], list[tuple[AgentMandate, bytes]]] = {}
    for m, signature in mandates:
        if m.token != token:
            raise ValueError(f"mandate nonce {m.nonce} has another token than the batch")
        if len(signature) != 64:
            raise ValueError(f"mandate nonce {m.nonce}: a signature is 64 bytes, not {len(signature)}")
        if m.key_id not in keys:
            raise ValueError(f"mandate nonce {m.nonce}: no key for key id {m.key_id}")
        groups.setdefault((m.key_id, m.payee), []).append((m, signature))
    limit = min(m.deadline for m, _ in mandates) if not_after is None else not_after
    pairs: list[AgentPairSpec] = []
    pair_json: list[dict[str, str]] = []
    mandate_json: list[dict[str, Any]] = []
    for index, ((key_id, payee), group) in enumerate(groups.items()):
        group.sort(key=lambda entry: entry[0].nonce)
        spec = AgentPairSpec(
            key_id=key_id,
            payee=payee,
            from_nonce=from_nonces.get((key_id, payee), 0),
            to_nonce=group[-1][0].nonce,
            total=sum(m.amount for m, _ in group),
        )
        pairs.append(spec)
        pair_json.append(_pair_entry(spec, keys[key_id]))
        mandate_json.extend(_mandate_entry(index, m, signature) for m, signature in group)
    payload = {
        "settlement": {
            "domainSeparator": _hex(domain_separator),
            "verifierId": str(verifier_id),
            "token": token,
            "notAfter": str(limit),
            "pairs": pair_json,
        },
        "mandates": mandate_json,
    }
    return AgentProveRequest(
        domain_separator, verifier_id, token, limit, tuple(pairs), len(mandates), payload
    )


def _pair_entry(spec: AgentPairSpec, key: bytes) -> dict[str, str]:
    return {
        "keyId": str(spec.key_id),
        "key": _hex(key),
        "payee": spec.payee,
        "fromNonce": str(spec.from_nonce),
        "toNonce": str(spec.to_nonce),
        "total": str(spec.total),
    }


def _mandate_entry(pair_index: int, m: AgentMandate, signature: bytes) -> dict[str, Any]:
    return {
        "pairIndex": pair_index,
        "keyId": str(m.key_id),
        "payee": m.payee,
        "token": m.token,
        "amount": str(m.amount),
        "nonce": str(m.nonce),
        "deadline": str(m.deadline),
        "ref": _hex(m.ref),
        "signature": _hex(signature),
    }
