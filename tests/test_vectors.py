"""The shared vectors (also read by forge and the Go circuit tests) hold in Python."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aep2.errors import MandateError
from aep2.mandate import decode

VECTORS = json.loads((Path(__file__).parent / "vectors" / "mandates.json").read_text())
VALID = {v["name"]: v for v in VECTORS["valid"]}
INVALID = {v["name"]: v for v in VECTORS["invalid"]}


def test_no_vector_is_duplicated() -> None:
    names = [v["name"] for v in VECTORS["valid"] + VECTORS["invalid"]]
    encodings = [v["encoded"] for v in VECTORS["valid"] + VECTORS["invalid"]]
    assert len(set(names)) == len(names)
    assert len(set(encodings)) == len(encodings)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_vector_decodes_hashes_and_verifies(name: str) -> None:
    vector = VALID[name]
    signed = decode(vector["encoded"])
    signed.verify()
    assert "0x" + signed.mandate.struct_hash().hex() == vector["structHash"]
    assert "0x" + signed.digest.hex() == vector["digest"]
    assert "0x" + signed.signature.hex() == vector["signature"]
    assert signed.recover() == vector["address"]
    assert "0x" + signed.public_key().hex() == vector["publicKey"]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_vector_is_rejected_with_its_reason(name: str) -> None:
    vector = INVALID[name]
    with pytest.raises(MandateError) as caught:
        decode(vector["encoded"]).verify()
    assert caught.value.reason == vector["reason"], caught.value.message
