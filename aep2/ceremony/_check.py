"""Is an escrow's registered verifier the one a ceremony's transcript seals?

The deployed runtime code must equal, metadata aside, the code this repository's compiler
settings make from gnark's Solidity export of the transcript's final verifying key. Equal code
is the strong claim: the verifier checks proofs against that key and nothing else. Matching
constants alone would not do (a contract could hold the right key and accept anything); they
only explain a mismatch: which parts of the transcript's key the deployed code lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from aep2.ceremony._solidity import final_key_path, transcript_verifier, without_metadata
from aep2.chain import EscrowClient
from aep2.chain.escrow import VerifierFamily
from aep2.errors import CeremonyError, Reason
from aep2.prover import Family, circuit_id

_NOT_FROM = Reason.VERIFIER_NOT_FROM_TRANSCRIPT

_P = 21888242871839275222246405745257275088696311157297823662689037894645226208583
"""BN254's base field: the exported verifier holds -beta, -gamma and -delta, negated here."""


@dataclass(frozen=True)
class VerifierCheck:
    """The outcome of :func:`check_verifier`."""

    verifier_id: int
    address: str
    registered_for: str  # "agent N=1 P=1"
    registered_circuit: str
    circuit: str  # the transcript's circuit compared with
    code_matches: bool
    constants: tuple[tuple[str, bool], ...]  # each part of the transcript's key: in the code?

    @property
    def ok(self) -> bool:
        """The deployed code is the transcript's verifier of ``circuit``."""
        return self.code_matches

    def lines(self) -> list[str]:
        out = [
            f"verifier {self.verifier_id} at {self.address}, registered for {self.registered_for} "
            f"(circuit {self.registered_circuit})"
        ]
        if self.circuit != self.registered_circuit:
            out.append(
                f"WARNING: compared with the transcript's {self.circuit}, not the circuit the escrow "
                f"registered it for: the escrow would take this circuit's proofs as {self.registered_for}"
            )
        if self.code_matches:
            out.append(
                f"ok: its code is gnark's verifier for the transcript's final key of {self.circuit} "
                "(runtime code equal to the export compiled with contracts/foundry.toml, metadata aside)"
            )
            return out
        missing = [name for name, found in self.constants if not found]
        if missing:
            out.append(
                f"its code lacks the transcript key's {', '.join(missing)}: a verifier for other keys "
                "(another setup, such as `aep2-prover setup --dev`)"
            )
        else:
            out.append(
                "every constant of the transcript's key is in its code, but the code is not gnark's "
                "verifier as contracts/foundry.toml compiles it (another compiler, other settings, or "
                "an edited contract): not accepted"
            )
        return out

    def failure(self) -> CeremonyError:
        return CeremonyError(
            " ".join(self.lines()[1:]),
            reason=_NOT_FROM,
            verifier_id=self.verifier_id,
            circuit=self.circuit,
        )


def check_verifier(
    w3: Web3, escrow: str, verifier_id: int, transcript: Path, *, circuit: str | None = None
) -> VerifierCheck:
    """Compare the code of ``escrow``'s verifier ``verifier_id`` with the transcript's verifier of
    the circuit the escrow registered it for (family, N, P), or of ``circuit`` if given.

    Checks the transcript's final key only as the transcript records it; run
    :func:`~aep2.ceremony.verify_transcript` to re-check the ceremony that made it. Raises
    :class:`CeremonyError` if the verifier id is free or holds no code, or the transcript has no
    sealed phase 2 for the circuit; compilation needs forge (``make setup``).
    """
    info = EscrowClient.at(w3, escrow).verifier_info(verifier_id)
    if info is None:
        raise CeremonyError(f"escrow {escrow} has no verifier {verifier_id}", reason=_NOT_FROM)
    family: Family = "batch" if info.family == VerifierFamily.BATCH else "agent"
    registered = circuit_id(info.mandate_slots, info.pair_slots, family)
    target = circuit or registered
    final_key_path(transcript, target)
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(info.verifier)))
    if not code:
        raise CeremonyError(f"no code at verifier {verifier_id}'s address {info.verifier}", reason=_NOT_FROM)
    expected = transcript_verifier(transcript, target)
    vk = json.loads((transcript / "phase2" / target / "verifying_key.json").read_text())
    return VerifierCheck(
        verifier_id=verifier_id,
        address=info.verifier,
        registered_for=f"{family} N={info.mandate_slots} P={info.pair_slots}",
        registered_circuit=registered,
        circuit=target,
        code_matches=without_metadata(code) == without_metadata(expected.deployed),
        constants=tuple((name, all(_pushed(code, w) for w in words)) for name, words in key_words(vk)),
    )


def key_words(vk: dict[str, Any]) -> list[tuple[str, list[int]]]:
    """The 256-bit words gnark's verifier template embeds for each part of a verifying key."""

    def g1(p: dict[str, str]) -> list[int]:
        return [int(p["x"]), int(p["y"])]

    def g2(p: dict[str, list[str]], negate: bool = False) -> list[int]:
        y = [int(c) for c in p["y"]]
        return [int(c) for c in p["x"]] + ([(_P - c) % _P for c in y] if negate else y)

    parts = [("alpha", g1(vk["alpha"])), ("beta", g2(vk["beta"], True))]
    parts += [("gamma", g2(vk["gamma"], True)), ("delta", g2(vk["delta"], True))]
    parts += [(f"K[{i}]", g1(k)) for i, k in enumerate(vk["k"])]
    for i, c in enumerate(vk["commitmentKeys"]):
        parts += [(f"Pedersen G[{i}]", g2(c["g"])), (f"Pedersen -sigma.G[{i}]", g2(c["gSigmaNeg"]))]
    return parts


def _pushed(code: bytes, word: int) -> bool:
    """Whether ``code`` holds ``word`` as a PUSH immediate (solc pushes the shortest encoding)."""
    if word == 0:
        return True
    raw = word.to_bytes((word.bit_length() + 7) // 8, "big")
    return bytes([0x5F + len(raw)]) + raw in code
