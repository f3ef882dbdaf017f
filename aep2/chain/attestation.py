"""Proofs for the ``AttestationVerifier`` test stand-in: a key's signature over the public input.

The stand-in lets the escrow, these bindings and the settlement pipeline be tested end to end
before the circuit's Groth16 verifier exists. It trusts its attester and proves nothing about
mandates, so the function that makes its proofs says so in its name.
"""

from __future__ import annotations

from eth_abi.abi import encode
from eth_account import Account
from eth_hash.auto import keccak


def attestation_digest(verifier: str, chain_id: int, public_input: int) -> bytes:
    """``AttestationVerifier.attestationDigest``: ``keccak256(abi.encode(verifier, chainid, input))``."""
    return bytes(keccak(encode(["address", "uint256", "uint256"], [verifier, chain_id, public_input])))


def unsafe_attestation_proof(private_key: bytes, verifier: str, chain_id: int, public_input: int) -> bytes:
    """A 65-byte ``r ‖ s ‖ v`` "proof" the stand-in accepts for ``public_input``. Tests only."""
    signed = Account.unsafe_sign_hash(attestation_digest(verifier, chain_id, public_input), private_key)
    return bytes(signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v]))
