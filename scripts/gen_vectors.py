"""Regenerate ``tests/vectors/mandates.json``: the mandate vectors Python, Go and Solidity share.

Deterministic: keys come from ``keccak256("aep2 vector key <i>")``, so running it
again writes the same file. Invalid vectors carry the ``reason`` code the payee
must answer with (see ``docs/errors.md``); each breaks exactly one rule.

    python scripts/gen_vectors.py            # rewrite the file
    python scripts/gen_vectors.py --check    # fail if the file is stale
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from coincurve import PrivateKey
from eth_hash.auto import keccak

from aep2.errors import Reason
from aep2.mandate import (
    HALF_N,
    MANDATE_TYPEHASH,
    SECP256K1_N,
    Domain,
    Mandate,
    SignedMandate,
    checksum,
    encode,
    to_wire,
)
from aep2.mandate._codec import canonical_json

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "mandates.json"
CHAIN_ID = 31337
ESCROW = checksum("0x" + keccak(b"aep2 vector escrow").hex()[-40:])
TOKEN = checksum("0x" + keccak(b"aep2 vector token").hex()[-40:])


def key(i: int) -> bytes:
    return keccak(f"aep2 vector key {i}".encode())


def address(private_key: bytes) -> str:
    public = PrivateKey(private_key).public_key.format(compressed=False)
    return checksum("0x" + keccak(public[1:])[12:].hex())


DOMAIN = Domain(chain_id=CHAIN_ID, escrow=ESCROW)
PAYEE = address(key(1000))


def mandate(i: int, **overrides: Any) -> Mandate:
    fields: dict[str, Any] = {
        "payer": address(key(i)),
        "payee": PAYEE,
        "token": TOKEN,
        "amount": [1, 1000, 10**6, 2**96 - 1, 123456789][i % 5],
        "nonce": [1, 2, 7, 2**64 - 1, 42][i % 5],
        "deadline": [1_900_000_000, 0, 2**64 - 1, 1_800_000_000, 4_000_000_000][i % 5],
        "ref": keccak(f"call {i}".encode()),
    }
    return Mandate.parse(**(fields | overrides))


def valid_vector(i: int, name: str) -> dict[str, Any]:
    m = mandate(i)
    signed = m.sign(DOMAIN, key(i))
    public = PrivateKey(key(i)).public_key.format(compressed=False)
    return {
        "name": name,
        "privateKey": "0x" + key(i).hex(),
        "publicKey": "0x" + public.hex(),
        "address": m.payer,
        "mandate": {k: v for k, v in to_wire(signed).items() if k in Mandate.model_fields},
        "structHash": "0x" + m.struct_hash().hex(),
        "digest": "0x" + signed.digest.hex(),
        "signature": "0x" + signed.signature.hex(),
        "encoded": encode(signed),
    }


def header_of(wire: dict[str, str], *, canonical: bool = True) -> str:
    raw = canonical_json(wire) if canonical else json.dumps(wire, indent=1).encode()
    return base64.b64encode(raw).decode()


def with_signature(signed: SignedMandate, signature: bytes) -> dict[str, str]:
    return to_wire(signed) | {"signature": "0x" + signature.hex()}


def invalid_vectors() -> list[dict[str, Any]]:
    good = mandate(0).sign(DOMAIN, key(0))
    wire = to_wire(good)
    sig = good.signature
    s = int.from_bytes(sig[32:64], "big")
    high_s = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    foreign = mandate(0).sign(DOMAIN, key(7)).signature
    cases: list[tuple[str, Reason, str]] = [
        ("oversized header", Reason.MANDATE_TOO_LARGE, "A" * 1025),
        ("not base64", Reason.MANDATE_MALFORMED, "not*base64!"),
        ("base64 of non-JSON", Reason.MANDATE_MALFORMED, base64.b64encode(b"\xff\x00garbage").decode()),
        ("JSON array", Reason.MANDATE_MALFORMED, base64.b64encode(b"[1,2]").decode()),
        ("whitespace in JSON", Reason.MANDATE_NOT_CANONICAL, header_of(wire, canonical=False)),
        ("unknown version", Reason.MANDATE_UNSUPPORTED_VERSION, header_of(wire | {"version": "2"})),
        (
            "missing field",
            Reason.MANDATE_INVALID_FIELD,
            header_of({k: v for k, v in wire.items() if k != "ref"}),
        ),
        ("extra field", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"memo": "hi"})),
        ("amount as JSON number", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"amount": 5})),  # type: ignore[dict-item]
        ("amount with leading zero", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"amount": "0100"})),
        ("amount zero", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"amount": "0"})),
        ("amount 2^96", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"amount": str(2**96)})),
        ("nonce zero", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"nonce": "0"})),
        ("nonce 2^64", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"nonce": str(2**64)})),
        ("deadline 2^64", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"deadline": str(2**64)})),
        (
            "lower-case payer",
            Reason.MANDATE_INVALID_FIELD,
            header_of(wire | {"payer": wire["payer"].lower()}),
        ),
        ("short payee", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"payee": wire["payee"][:-2]})),
        ("ref of 31 bytes", Reason.MANDATE_INVALID_FIELD, header_of(wire | {"ref": wire["ref"][:-2]})),
        (
            "upper-case ref hex",
            Reason.MANDATE_INVALID_FIELD,
            header_of(wire | {"ref": "0x" + wire["ref"][2:].upper()}),
        ),
        ("signature of 64 bytes", Reason.SIGNATURE_MALFORMED, header_of(with_signature(good, sig[:64]))),
        ("signature v = 1", Reason.SIGNATURE_MALFORMED, header_of(with_signature(good, sig[:64] + b"\x01"))),
        (
            "signature s = 0",
            Reason.SIGNATURE_MALFORMED,
            header_of(with_signature(good, sig[:32] + bytes(32) + sig[64:])),
        ),
        ("high-s signature", Reason.SIGNATURE_HIGH_S, header_of(with_signature(good, high_s))),
        ("signed by someone else", Reason.SIGNER_MISMATCH, header_of(with_signature(good, foreign))),
    ]
    assert s <= HALF_N
    return [{"name": name, "reason": str(reason), "encoded": encoded} for name, reason, encoded in cases]


def build() -> dict[str, Any]:
    names = [
        "minimal amount",
        "typical micro-payment",
        "max amount",
        "max nonce",
        "far deadline",
        "second payer",
    ]
    return {
        "comment": "Generated by scripts/gen_vectors.py; do not edit by hand.",
        "domain": {"name": "AEP2", "version": "1", "chainId": str(CHAIN_ID), "verifyingContract": ESCROW},
        "domainSeparator": "0x" + DOMAIN.separator.hex(),
        "typehash": "0x" + MANDATE_TYPEHASH.hex(),
        "valid": [valid_vector(i, name) for i, name in enumerate(names)],
        "invalid": invalid_vectors(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    text = json.dumps(build(), indent=2) + "\n"
    if parser.parse_args().check:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/gen_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
