"""The prover client: witness requests, the ``aep2-prover serve`` process, proofs.

>>> request = build_request(signed_mandates, verifier_id=1, from_nonces={})
>>> with ProverProcess() as prover:
...     proof = prover.prove(request, n=1, p=1)
>>> verify_proof(verifying_key_json, proof)     # independent py_ecc check

Agent-key mandates use the ``agent`` circuit family::

>>> request = build_agent_request([(mandate, signature)], domain_separator=ds, keys={7: key},
...                               verifier_id=9, from_nonces={})
>>> proof = prover.prove(request, n=1, p=1)        # the agent family's keys of that size

Errors::

    ProverError                 (aep2.errors.ConfigurationError)
    ├── ProverRejected          the prover answered with an error code
    ├── ProverTimeout           a request ran past its timeout; the process was killed
    └── ProverCrashed           the process died; the next request restarts it
"""

from aep2.prover._agent_request import AgentPairSpec, AgentProveRequest, build_agent_request
from aep2.prover._circuit import (
    AGENT_CIRCUIT_VERSION,
    CIRCUIT_VERSION,
    FAMILY_VERSIONS,
    Family,
    circuit_id,
    keys_dir,
    verifier_contract,
)
from aep2.prover._errors import ProverCrashed, ProverError, ProverRejected, ProverTimeout
from aep2.prover._process import ProverProcess, default_binary
from aep2.prover._request import PairSpec, ProveRequest, build_request
from aep2.prover._verify import Proof, verify_proof

__all__ = [
    "AGENT_CIRCUIT_VERSION",
    "CIRCUIT_VERSION",
    "FAMILY_VERSIONS",
    "AgentPairSpec",
    "AgentProveRequest",
    "Family",
    "PairSpec",
    "Proof",
    "ProveRequest",
    "ProverCrashed",
    "ProverError",
    "ProverProcess",
    "ProverRejected",
    "ProverTimeout",
    "build_agent_request",
    "build_request",
    "circuit_id",
    "default_binary",
    "keys_dir",
    "verifier_contract",
    "verify_proof",
]
