"""Poseidon2 over BN254's scalar field, width 2, and the Merkle-Damgård hash built on it.

From the Poseidon2 paper (Grassi, Khovratovich, Schofnegger, eprint 2023/323):

- the permutation first applies the external linear layer ``M_E`` to the input (the paper's
  initial linear layer), then ``R_F/2`` full rounds, ``R_P`` partial rounds and ``R_F/2``
  full rounds;
- a full round adds a constant to every word, applies the S-box ``x^5`` to every word and then
  ``M_E``; a partial round adds a constant to the first word only, applies the S-box to the
  first word only and then ``M_I``;
- for ``t = 2`` (the paper's ``t ∈ {2, 3}`` special case) ``M_E = circ(2, 1) = [[2, 1], [1, 2]]``
  and ``M_I = [[2, 1], [1, 3]]``.

Where this follows gnark-crypto (``ecc/bn254/fr/poseidon2``, v0.21.0) rather than the paper,
because the paper fixes no choice or makes a different one:

1. **Round constants.** The paper derives them with the Grain LFSR of the original Poseidon;
   gnark-crypto (and ``docs/agent-keys.md``) use a Keccak-256 chain seeded with the ASCII string
   ``Poseidon2-BN254[t=2,rF=8,rP=56,d=5]``: ``k0 = keccak(seed)`` is *not* a constant itself,
   the constants are ``k1 = keccak(k0), k2 = keccak(k1), ...`` read big-endian and reduced mod
   ``r``, two per full round and one per partial round, in round order.
2. **Round counts.** ``R_F = 8, R_P = 56``: the paper's 128-bit BN254 ``x^5`` instance with
   its security margin (not gnark-crypto's width-2 default of 6 and 50, which has none).
3. **Compression.** The paper's compression mode feeds the whole input forward and truncates
   (``Trunc(P(x) + x)``); gnark-crypto keeps the *second* output word and feeds forward the
   *right* input only: ``C(h, e) = P(h, e)[1] + e``.
4. **Merkle-Damgård.** Zero IV, no length padding, each element one canonical 32-byte block
   (gnark-crypto's ``hash.NewMerkleDamgardHasher`` with a zero initial state); so ``H() = 0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from eth_hash.auto import keccak

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""BN254's scalar field modulus (the base field of Baby Jubjub)."""

WIDTH = 2
FULL_ROUNDS = 8
PARTIAL_ROUNDS = 56
SEED = f"Poseidon2-BN254[t={WIDTH},rF={FULL_ROUNDS},rP={PARTIAL_ROUNDS},d=5]"


@cache
def round_constants() -> tuple[tuple[int, ...], ...]:
    """One tuple per round: two constants for a full round, one for a partial round."""
    chain = keccak(SEED.encode())
    rounds: list[tuple[int, ...]] = []
    for index in range(FULL_ROUNDS + PARTIAL_ROUNDS):
        full = index < FULL_ROUNDS // 2 or index >= FULL_ROUNDS // 2 + PARTIAL_ROUNDS
        words = []
        for _ in range(WIDTH if full else 1):
            chain = keccak(chain)
            words.append(int.from_bytes(chain, "big") % R)
        rounds.append(tuple(words))
    return tuple(rounds)


def _external(a: int, b: int) -> tuple[int, int]:
    return (2 * a + b) % R, (a + 2 * b) % R


def _internal(a: int, b: int) -> tuple[int, int]:
    return (2 * a + b) % R, (a + 3 * b) % R


def permute(a: int, b: int) -> tuple[int, int]:
    """The Poseidon2 permutation of the state ``(a, b)``, both in ``[0, r)``."""
    if not (0 <= a < R and 0 <= b < R):
        raise ValueError("state words must be canonical field elements")
    a, b = _external(a, b)
    for constants in round_constants():
        if len(constants) == WIDTH:
            a, b = pow(a + constants[0], 5, R), pow(b + constants[1], 5, R)
            a, b = _external(a, b)
        else:
            a = pow(a + constants[0], 5, R)
            a, b = _internal(a, b)
    return a, b


def compress(h: int, e: int) -> int:
    """gnark-crypto's 2-to-1 compression: the second output word fed forward with ``e``."""
    return (permute(h, e)[1] + e) % R


def hash_elements(elements: Iterable[int]) -> int:
    """``H(e1, ..., ek)``: Merkle-Damgård over :func:`compress` from a zero state."""
    state = 0
    for element in elements:
        state = compress(state, element)
    return state


def hash_blocks(blocks: Sequence[bytes]) -> int:
    """``H`` over 32-byte big-endian blocks, each of which must be canonical (below ``r``)."""
    values = []
    for block in blocks:
        if len(block) != 32:
            raise ValueError("every block is 32 bytes")
        value = int.from_bytes(block, "big")
        if value >= R:
            raise ValueError("a block must be a canonical field element")
        values.append(value)
    return hash_elements(values)
