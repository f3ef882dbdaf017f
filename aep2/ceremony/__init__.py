"""The trusted-setup ceremony from Python (``aep2 ceremony``, ``aep2 verifier check``).

A coordinator reads a ceremony directory's progress; a participant contributes in one call;
anyone re-checks the transcript, and checks that an escrow's verifier is the one it seals::

>>> status = read_status(Path("ceremony"))     # states, contributors, hashes, the next file
>>> receipt = contribute(Path("0002.ph1"), name="alice")   # writes 0003.ph1 and its receipt
>>> verify_transcript(Path("ceremony"))        # first file to final keys; names the first bad step
>>> check_verifier(w3, escrow, 1, Path("ceremony")).ok

The ceremony itself is ``aep2-prover ceremony`` (``circuits/README.md`` "Trusted setup",
``docs/ceremony.md``); these functions drive it.
"""

from aep2.ceremony._check import VerifierCheck, check_verifier, key_words
from aep2.ceremony._contribute import Receipt, contribute, verify_transcript
from aep2.ceremony._solidity import (
    CompiledVerifier,
    compile_verifier,
    parse_circuit_id,
    transcript_verifier,
    without_metadata,
)
from aep2.ceremony._status import Phase, State, Status, read_status

__all__ = [
    "CompiledVerifier",
    "Phase",
    "Receipt",
    "State",
    "Status",
    "VerifierCheck",
    "check_verifier",
    "compile_verifier",
    "contribute",
    "key_words",
    "parse_circuit_id",
    "read_status",
    "transcript_verifier",
    "verify_transcript",
    "without_metadata",
]
