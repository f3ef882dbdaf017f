"""The agent settlement the escrow verifies, and its single public input packed byte for byte.

Pinned in ``docs/agent-keys.md`` ("The settlement the proof opens"); the agent circuit,
``AgentSettlementHashing`` in the escrow and :func:`agent_settlement_public_input` here agree to the
byte. Each pair packs the compressed key the escrow *stores* for its ``keyId`` (32 zero bytes for an
unknown id), so a proof binds the key the payer's grant authorized, never one named in calldata::

    packed = separator(32) | verifierId(4) | token(20) | notAfter(8)
             | per pair: keyId(8) | key(32) | payee(20) | fromNonce(8) | toNonce(8) | total(16)
    public input = int(keccak256(packed)) mod r
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from aep2.agentkey import AgentMandate
from aep2.chain.settlement import (
    _UINT64,
    _UINT128,
    SNARK_SCALAR_FIELD,
    InvalidSettlement,
    _address,
    _uint,
    check_header,
    nonce_runs,
    packed_header,
)

AGENT_PAIR_BYTES = 92
NO_KEY = bytes(32)
"""What an unknown ``keyId`` packs as: the escrow stores no key for it."""


@dataclass(frozen=True)
class AgentPair:
    """One (agent key, payee) run: ``total`` for mandates with nonces in (``from_nonce``, ``to_nonce``]."""

    key_id: int
    payee: str
    from_nonce: int
    to_nonce: int
    total: int

    def __post_init__(self) -> None:
        _uint("key_id", self.key_id, _UINT64)
        _address("payee", self.payee)
        _uint("from_nonce", self.from_nonce, _UINT64)
        _uint("to_nonce", self.to_nonce, _UINT64)
        _uint("total", self.total, _UINT128)

    @classmethod
    def build(cls, key_id: int, payee: str, from_nonce: int, to_nonce: int, total: int) -> AgentPair:
        """Like the constructor, but checksums the payee first."""
        return cls(key_id, to_checksum_address(payee), from_nonce, to_nonce, total)

    def packed(self, key: bytes) -> bytes:
        if len(key) != 32:
            raise InvalidSettlement(f"key {self.key_id} must be 32 bytes, got {len(key)}", field="key")
        return (
            self.key_id.to_bytes(8, "big")
            + key
            + bytes.fromhex(self.payee[2:])
            + self.from_nonce.to_bytes(8, "big")
            + self.to_nonce.to_bytes(8, "big")
            + self.total.to_bytes(16, "big")
        )

    def as_abi(self) -> tuple[int, str, int, int, int]:
        return (self.key_id, self.payee, self.from_nonce, self.to_nonce, self.total)


@dataclass(frozen=True)
class AgentSettlement:
    """What one agent proof settles: pairs paid in ``token``, every mandate valid until ``not_after``."""

    verifier_id: int
    token: str
    not_after: int
    pairs: tuple[AgentPair, ...]

    def __post_init__(self) -> None:
        check_header(self.verifier_id, self.token, self.not_after, self.pairs, AgentPair)

    @property
    def total(self) -> int:
        return sum(p.total for p in self.pairs)

    @property
    def key_ids(self) -> tuple[int, ...]:
        """The distinct key ids of the pairs, in first-seen order: the keys the packing reads."""
        return tuple(dict.fromkeys(p.key_id for p in self.pairs))

    def as_abi(self) -> tuple[int, str, int, list[tuple[int, str, int, int, int]]]:
        """The ``AgentSettlement`` struct as web3.py encodes it."""
        return (self.verifier_id, self.token, self.not_after, [p.as_abi() for p in self.pairs])

    @classmethod
    def from_abi(cls, value: Any) -> AgentSettlement:
        verifier_id, token, not_after, pairs = value
        return cls(
            verifier_id, to_checksum_address(token), not_after, tuple(AgentPair.build(*p) for p in pairs)
        )


def packed_agent_settlement(
    domain_separator: bytes, settlement: AgentSettlement, keys: Mapping[int, bytes]
) -> bytes:
    """The bytes the public input hashes, ``64 + 92 * len(pairs)`` long; ``keys`` maps key id to the
    compressed key the escrow stores (an id missing from it packs as :data:`NO_KEY`)."""
    s = settlement
    header = packed_header(domain_separator, s.verifier_id, s.token, s.not_after)
    return header + b"".join(p.packed(keys.get(p.key_id, NO_KEY)) for p in s.pairs)


def agent_settlement_public_input(
    domain_separator: bytes, settlement: AgentSettlement, keys: Mapping[int, bytes]
) -> int:
    """The agent proof's single public input: ``keccak256(packed) mod r``, as the escrow recomputes it."""
    digest = keccak(packed_agent_settlement(domain_separator, settlement, keys))
    return int.from_bytes(digest, "big") % SNARK_SCALAR_FIELD


def build_agent_settlement(
    verifier_id: int,
    token: str,
    mandates: Iterable[AgentMandate],
    from_nonces: Mapping[tuple[int, str], int],
) -> AgentSettlement:
    """The agent settlement of ``mandates``: one pair per (key id, payee) in sorted order, each running
    from its on-chain high-water mark in ``from_nonces`` (0 if absent) to its largest nonce.

    The circuit's witness must list the same mandates in the same pair order; ``not_after`` is the
    smallest deadline. Raises :class:`InvalidSettlement` as :func:`~aep2.chain.settlement.nonce_runs` does.
    """
    runs, not_after = nonce_runs(
        mandates, token, lambda m: (m.key_id, m.payee), lambda k: (k[0], k[1].lower()), from_nonces, "key"
    )
    pairs = tuple(AgentPair(key_id, payee, start, end, total) for (key_id, payee), start, end, total in runs)
    return AgentSettlement(verifier_id, token, not_after, pairs)
