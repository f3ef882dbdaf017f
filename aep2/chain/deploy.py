"""Deploying the aep2 stack from forge artefacts: token, escrow, and one verifier per circuit size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from aep2.chain.artifacts import Artifact, load_artifact
from aep2.chain.escrow import EscrowClient, VerifierFamily
from aep2.chain.token import TokenClient
from aep2.chain.transactions import deploy

DEFAULT_WITHDRAW_DELAY = 24 * 3600
DEFAULT_REVOKE_DELAY = 24 * 3600
"""Seconds before an agent key's revocation or cap lowering takes effect (the escrow allows 1 hour to
30 days); like ``withdrawDelay`` it must outlast every payee's settlement horizon."""


@dataclass(frozen=True)
class VerifierSpec:
    """A verifier to deploy and register: its circuit family and size and the contract that checks
    its proofs.

    ``artifact`` is gnark's exported Groth16 verifier (built into ``contracts/src/generated/``), or
    :func:`attestation_verifier` for the test stand-in.
    """

    verifier_id: int
    mandate_slots: int
    pair_slots: int
    artifact: Artifact
    constructor_args: tuple[Any, ...] = ()
    family: VerifierFamily = VerifierFamily.BATCH


def attestation_verifier(
    verifier_id: int,
    mandate_slots: int,
    pair_slots: int,
    attester: str,
    *,
    family: VerifierFamily = VerifierFamily.BATCH,
) -> VerifierSpec:
    """A spec for the ``AttestationVerifier`` test stand-in that trusts ``attester``'s signatures."""
    artifact = load_artifact("AttestationVerifier")
    return VerifierSpec(verifier_id, mandate_slots, pair_slots, artifact, (attester,), family)


@dataclass(frozen=True)
class Stack:
    """Addresses of a deployed stack; ``verifiers`` maps verifier id to verifier address."""

    chain_id: int
    token: str
    escrow: str
    owner: str
    verifiers: Mapping[int, str] = field(default_factory=dict)

    def escrow_client(self, w3: Web3) -> EscrowClient:
        return EscrowClient.at(w3, self.escrow)

    def token_client(self, w3: Web3) -> TokenClient:
        return TokenClient.at(w3, self.token)


def deploy_token(w3: Web3, deployer_key: bytes) -> Contract:
    """Deploy ``TestUSDC`` (6 decimals, EIP-3009, open mint): local chains only."""
    return deploy(w3, load_artifact("TestUSDC"), private_key=deployer_key)


def deploy_escrow(
    w3: Web3,
    deployer_key: bytes,
    *,
    owner: str | None = None,
    withdraw_delay: int = DEFAULT_WITHDRAW_DELAY,
    revoke_delay: int = DEFAULT_REVOKE_DELAY,
    initial_verifiers: Sequence[tuple[int, VerifierFamily, str, int, int]] = (),
) -> Contract:
    """Deploy ``Escrow`` owned by ``owner`` (default: the deployer).

    ``initial_verifiers`` are ``(verifierId, family, address, mandateSlots, pairSlots)`` registered by
    the constructor and usable at once: no payer can have deposited before them. A verifier the
    owner registers later waits two ``withdraw_delay`` (payers can leave before it could act).
    ``revoke_delay`` is how long an agent key's revocation or cap lowering waits.
    """
    owner = owner or Account.from_key(deployer_key).address
    initial = [[v[0], int(v[1]), *v[2:]] for v in initial_verifiers]
    args = (owner, withdraw_delay, revoke_delay, initial)
    return deploy(w3, load_artifact("Escrow"), *args, private_key=deployer_key)


def deploy_verifier(w3: Web3, deployer_key: bytes, spec: VerifierSpec) -> Contract:
    return deploy(w3, spec.artifact, *spec.constructor_args, private_key=deployer_key)


def deploy_stack(
    w3: Web3,
    deployer_key: bytes,
    *,
    verifiers: Sequence[VerifierSpec] = (),
    withdraw_delay: int = DEFAULT_WITHDRAW_DELAY,
    revoke_delay: int = DEFAULT_REVOKE_DELAY,
    token: str | None = None,
) -> Stack:
    """Deploy the token (unless ``token`` is given), every verifier in ``verifiers``, and the escrow
    owned by the deployer with those verifiers registered (and active) from its constructor."""
    token_address = token or str(deploy_token(w3, deployer_key).address)
    registered: dict[int, str] = {}
    for spec in verifiers:
        registered[spec.verifier_id] = str(deploy_verifier(w3, deployer_key, spec).address)
    initial = [
        (s.verifier_id, s.family, registered[s.verifier_id], s.mandate_slots, s.pair_slots) for s in verifiers
    ]
    contract = deploy_escrow(
        w3, deployer_key, withdraw_delay=withdraw_delay, revoke_delay=revoke_delay, initial_verifiers=initial
    )
    escrow = EscrowClient(w3, contract)
    return Stack(
        chain_id=w3.eth.chain_id,
        token=Web3.to_checksum_address(token_address),
        escrow=escrow.address,
        owner=Account.from_key(deployer_key).address,
        verifiers=registered,
    )
