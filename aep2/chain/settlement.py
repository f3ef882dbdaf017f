"""The settlement the escrow verifies, and its single public input packed byte for byte.

The packing is pinned in ``circuits/README.md``; the circuit, ``SettlementHashing`` in the
escrow and :func:`settlement_public_input` here must agree to the byte::

    packed = separator(32) | verifierId(4) | token(20) | notAfter(8)
             | per pair: payer(20) | payee(20) | fromNonce(8) | toNonce(8) | total(16)
    public input = int(keccak256(packed)) mod r        (r: the BN254 scalar field order)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from eth_hash.auto import keccak
from eth_utils.address import is_checksum_address, to_checksum_address

from aep2.errors import Aep2Error
from aep2.mandate import Mandate

SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617
HEADER_BYTES = 64


class _Priced(Protocol):
    @property
    def token(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def nonce(self) -> int: ...
    @property
    def deadline(self) -> int: ...


M = TypeVar("M", bound=_Priced)
K = TypeVar("K", bound=tuple[Any, str])
PAIR_BYTES = 72

_UINT32 = 1 << 32
_UINT64 = 1 << 64
_UINT128 = 1 << 128


class InvalidSettlement(Aep2Error):
    """A pair or settlement field is out of its Solidity type's range or not an address."""


def _address(name: str, value: str) -> str:
    if not isinstance(value, str) or not is_checksum_address(value):
        raise InvalidSettlement(f"{name} must be a checksummed address, got {value!r}", field=name)
    return value


def _uint(name: str, value: int, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise InvalidSettlement(f"{name} must be an integer in [0, {limit}), got {value!r}", field=name)
    return value


@dataclass(frozen=True)
class Pair:
    """One (payer, payee) run: ``total`` for the mandates with nonces in (``from_nonce``, ``to_nonce``]."""

    payer: str
    payee: str
    from_nonce: int
    to_nonce: int
    total: int

    def __post_init__(self) -> None:
        _address("payer", self.payer)
        _address("payee", self.payee)
        _uint("from_nonce", self.from_nonce, _UINT64)
        _uint("to_nonce", self.to_nonce, _UINT64)
        _uint("total", self.total, _UINT128)

    @classmethod
    def build(cls, payer: str, payee: str, from_nonce: int, to_nonce: int, total: int) -> Pair:
        """Like the constructor, but checksums the addresses first."""
        return cls(to_checksum_address(payer), to_checksum_address(payee), from_nonce, to_nonce, total)

    def packed(self) -> bytes:
        return (
            bytes.fromhex(self.payer[2:])
            + bytes.fromhex(self.payee[2:])
            + self.from_nonce.to_bytes(8, "big")
            + self.to_nonce.to_bytes(8, "big")
            + self.total.to_bytes(16, "big")
        )

    def as_abi(self) -> tuple[str, str, int, int, int]:
        return (self.payer, self.payee, self.from_nonce, self.to_nonce, self.total)


@dataclass(frozen=True)
class Settlement:
    """What one proof settles: pairs paid in ``token``, every mandate valid until ``not_after``."""

    verifier_id: int
    token: str
    not_after: int
    pairs: tuple[Pair, ...]

    def __post_init__(self) -> None:
        check_header(self.verifier_id, self.token, self.not_after, self.pairs, Pair)

    @property
    def total(self) -> int:
        return sum(p.total for p in self.pairs)

    def as_abi(self) -> tuple[int, str, int, list[tuple[str, str, int, int, int]]]:
        """The ``Settlement`` struct as web3.py encodes it."""
        return (self.verifier_id, self.token, self.not_after, [p.as_abi() for p in self.pairs])

    @classmethod
    def from_abi(cls, value: Any) -> Settlement:
        verifier_id, token, not_after, pairs = value
        return cls(verifier_id, to_checksum_address(token), not_after, tuple(Pair.build(*p) for p in pairs))


def check_header(verifier_id: int, token: str, not_after: int, pairs: object, pair_type: type) -> None:
    """The ranges of a settlement's header, shared by both families, and its pairs' type."""
    _uint("verifier_id", verifier_id, _UINT32)
    _address("token", token)
    _uint("not_after", not_after, _UINT64)
    if not isinstance(pairs, tuple) or not all(isinstance(p, pair_type) for p in pairs):
        raise InvalidSettlement(f"pairs must be a tuple of {pair_type.__name__}", field="pairs")


def packed_header(domain_separator: bytes, verifier_id: int, token: str, not_after: int) -> bytes:
    """The first ``HEADER_BYTES`` of either family's packing: separator, verifier id, token, notAfter."""
    if len(domain_separator) != 32:
        raise InvalidSettlement(f"domain separator must be 32 bytes, got {len(domain_separator)}")
    header = (
        domain_separator
        + verifier_id.to_bytes(4, "big")
        + bytes.fromhex(token[2:])
        + not_after.to_bytes(8, "big")
    )
    assert len(header) == HEADER_BYTES
    return header


def packed_settlement(domain_separator: bytes, settlement: Settlement) -> bytes:
    """The bytes the public input hashes: ``64 + 72 * len(pairs)`` long."""
    s = settlement
    header = packed_header(domain_separator, s.verifier_id, s.token, s.not_after)
    return header + b"".join(p.packed() for p in s.pairs)


def settlement_public_input(domain_separator: bytes, settlement: Settlement) -> int:
    """The proof's single public input: ``keccak256(packed) mod r``, as the escrow recomputes it."""
    digest = keccak(packed_settlement(domain_separator, settlement))
    return int.from_bytes(digest, "big") % SNARK_SCALAR_FIELD


def nonce_runs(
    mandates: Iterable[M],
    token: str,
    pair_of: Callable[[M], K],
    order: Callable[[K], Any],
    from_nonces: Mapping[K, int],
    label: str,
) -> tuple[list[tuple[K, int, int, int]], int]:
    """Either family's pairs of ``mandates``: ``(pair, from, to, total)`` in ``order``, and notAfter.

    Each pair runs from its high-water mark in ``from_nonces`` (0 if absent) to its largest nonce.
    Raises :class:`InvalidSettlement` for a foreign token, a repeated nonce or a nonce at or below
    its pair's mark (such a mandate can never be settled); ``label`` names the pair in messages.
    """
    runs: dict[K, list[M]] = {}
    for m in mandates:
        if m.token != token:
            raise InvalidSettlement(f"mandate token {m.token} is not the settlement's {token}", field="token")
        runs.setdefault(pair_of(m), []).append(m)
    if not runs:
        raise InvalidSettlement("a settlement needs at least one mandate", field="pairs")
    pairs = []
    for key in sorted(runs, key=order):
        run = sorted(runs[key], key=lambda m: m.nonce)
        start = from_nonces.get(key, 0)
        nonces = [m.nonce for m in run]
        if len(set(nonces)) != len(nonces) or nonces[0] <= start:
            message = f"{label} {key[0]} -> {key[1]}: nonces {nonces} must be distinct and above {start}"
            raise InvalidSettlement(message, field="nonce")
        pairs.append((key, start, nonces[-1], sum(m.amount for m in run)))
    return pairs, min(m.deadline for run in runs.values() for m in run)


def build_settlement(
    verifier_id: int,
    token: str,
    mandates: Iterable[Mandate],
    from_nonces: Mapping[tuple[str, str], int],
) -> Settlement:
    """The settlement of ``mandates``: one pair per (payer, payee) in sorted order, each running from
    its on-chain high-water mark in ``from_nonces`` (0 if absent) to its largest nonce.

    The circuit's witness must list the same mandates in the same pair order; ``not_after`` is the
    smallest deadline. Raises :class:`InvalidSettlement` as :func:`nonce_runs` does.
    """
    runs, not_after = nonce_runs(
        mandates,
        token,
        lambda m: (m.payer, m.payee),
        lambda k: (k[0].lower(), k[1].lower()),
        from_nonces,
        "pair",
    )
    pairs = tuple(Pair(payer, payee, start, end, total) for (payer, payee), start, end, total in runs)
    return Settlement(verifier_id, token, not_after, pairs)
