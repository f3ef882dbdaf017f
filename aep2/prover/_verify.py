"""An independent Groth16 check in Python (py_ecc), against the key from ``aep2-prover export-vk``.

It follows what gnark's exported Solidity verifier does for a proof with one BSB22 commitment:
the commitment's hash (keccak256, reduced mod r) is an extra public input, the commitment is
added to the public-input term, and its Pedersen proof of knowledge is checked by a pairing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_curve import Z1, add, b, b2, curve_order, is_on_curve, multiply, neg
from py_ecc.optimized_bn128.optimized_pairing import final_exponentiate, pairing

R = curve_order


@dataclass(frozen=True)
class Proof:
    """A proof as the prover returns it (circuits/README.md, "Proof")."""

    proof: str  # 0x-hex of gnark's MarshalSolidity bytes, what the verifier contract takes
    public_input: int
    circuit_id: str

    @property
    def proof_bytes(self) -> bytes:
        return bytes.fromhex(self.proof.removeprefix("0x"))

    def calldata(self) -> tuple[bytes, list[int]]:
        """The arguments of the exported verifier's ``verifyProof(bytes proof, uint256[1] input)``."""
        return self.proof_bytes, [self.public_input]

    def to_json(self) -> dict[str, str]:
        return {"proof": self.proof, "publicInput": str(self.public_input), "circuitId": self.circuit_id}


Point1 = tuple[FQ, FQ, FQ]
Point2 = tuple[FQ2, FQ2, FQ2]


def _g1(x: int, y: int) -> Point1:
    if x == 0 and y == 0:
        return Z1
    p = (FQ(x), FQ(y), FQ.one())
    if not is_on_curve(p, b):
        raise ValueError("G1 point not on the curve")
    return p


def _g2(x: tuple[int, int], y: tuple[int, int]) -> Point2:
    p = (FQ2(list(x)), FQ2(list(y)), FQ2.one())
    if not is_on_curve(p, b2):
        raise ValueError("G2 point not on the curve")
    return p


def _g1_json(j: dict[str, str]) -> Point1:
    return _g1(int(j["x"]), int(j["y"]))


def _g2_json(j: dict[str, list[str]]) -> Point2:
    return _g2((int(j["x"][0]), int(j["x"][1])), (int(j["y"][0]), int(j["y"][1])))


def _words(b: bytes) -> list[int]:
    return [int.from_bytes(b[i : i + 32], "big") for i in range(0, len(b), 32)]


def _pairing_product_is_one(pairs: list[tuple[Point2, Point1]]) -> bool:
    acc = FQ12.one()
    for q, p in pairs:
        acc = acc * pairing(q, p, final_exponentiate=False)
    return final_exponentiate(acc) == FQ12.one()


def verify_proof(vk: dict[str, Any], proof: Proof) -> bool:
    """True iff ``proof`` verifies for its public input under ``vk`` (``export-vk`` JSON)."""
    raw = proof.proof_bytes
    commitments = vk["commitmentKeys"]
    if len(commitments) > 1 or len(raw) != 256 + 128 * len(commitments):
        raise ValueError(f"unsupported proof layout: {len(raw)} bytes, {len(commitments)} commitments")
    w = _words(raw)
    ar, krs = _g1(w[0], w[1]), _g1(w[6], w[7])
    bs = _g2((w[3], w[2]), (w[5], w[4]))  # gnark writes each Fp2 coordinate as c1 ‖ c0
    if not 0 <= proof.public_input < R:
        return False
    inputs = [proof.public_input]
    extra = Z1
    if commitments:
        commitment, pok = _g1(w[8], w[9]), _g1(w[10], w[11])
        committed = vk["publicAndCommitmentCommitted"][0] or []
        prehash = raw[256:320] + b"".join(inputs[i - 1].to_bytes(32, "big") for i in committed)
        inputs.append(int.from_bytes(keccak(prehash), "big") % R)
        key = commitments[0]
        if not _pairing_product_is_one([(_g2_json(key["gSigmaNeg"]), commitment), (_g2_json(key["g"]), pok)]):
            return False
        extra = commitment
    ks = [_g1_json(k) for k in vk["k"]]
    if len(ks) != len(inputs) + 1:
        raise ValueError(f"key has {len(ks) - 1} public inputs, proof {len(inputs)}")
    acc = add(ks[0], extra)
    for k, x in zip(ks[1:], inputs, strict=True):
        acc = add(acc, multiply(k, x))
    return _pairing_product_is_one(
        [
            (bs, ar),
            (neg(_g2_json(vk["beta"])), _g1_json(vk["alpha"])),
            (neg(_g2_json(vk["gamma"])), acc),
            (neg(_g2_json(vk["delta"])), krs),
        ]
    )
