"""Chain bindings: forge artefacts, deployment, the escrow and token clients, settlement encoding.

>>> stack = deploy_stack(w3, deployer_key, verifiers=[attestation_verifier(1, 16, 8, attester)])
>>> escrow = stack.escrow_client(w3)
>>> result = escrow.submit_settlement(proof, settlement, submitter_key)
>>> result.settled, result.skipped

Agent keys: a payer-signed grant registers a key, agent settlements pay through it::

>>> key_id = escrow.authorize_agent_key(grant, sign_grant(grant, escrow.domain(), payer_key), relayer_key)
>>> result = escrow.submit_agent_settlement(proof, agent_settlement, submitter_key)
>>> result.agent_settled, result.agent_skipped
"""

from aep2.chain.agent_keys import AgentKeyInfo, sign_grant
from aep2.chain.agent_settlement import (
    AGENT_PAIR_BYTES,
    AgentPair,
    AgentSettlement,
    agent_settlement_public_input,
    build_agent_settlement,
    packed_agent_settlement,
)
from aep2.chain.artifacts import Artifact, load_artifact
from aep2.chain.attestation import attestation_digest, unsafe_attestation_proof
from aep2.chain.deploy import (
    DEFAULT_REVOKE_DELAY,
    DEFAULT_WITHDRAW_DELAY,
    Stack,
    VerifierSpec,
    attestation_verifier,
    deploy_escrow,
    deploy_stack,
    deploy_token,
    deploy_verifier,
)
from aep2.chain.escrow import (
    DEFAULT_VERIFIER_GAS,
    EscrowClient,
    PendingRelease,
    PendingWithdrawal,
    VerifierFamily,
    VerifierInfo,
    settle_gas_limit,
)
from aep2.chain.events import (
    AgentSettledPair,
    AgentSkippedPair,
    AuthorizedAgentKey,
    ProcessedSettlement,
    SettledPair,
    SettlementResult,
    SkippedPair,
    SkipReason,
    agent_pair_settlements,
    pair_settlements,
    parse_agent_key_authorized,
    parse_settlement,
)
from aep2.chain.reverts import decode_custom_error, describe_revert, simulate
from aep2.chain.settlement import (
    SNARK_SCALAR_FIELD,
    InvalidSettlement,
    Pair,
    Settlement,
    build_settlement,
    packed_settlement,
    settlement_public_input,
)
from aep2.chain.token import Authorization, AuthorizationKind, TokenClient
from aep2.chain.transactions import TransactionFailed, deploy, send, transact

__all__ = [
    "AGENT_PAIR_BYTES",
    "DEFAULT_REVOKE_DELAY",
    "DEFAULT_VERIFIER_GAS",
    "DEFAULT_WITHDRAW_DELAY",
    "SNARK_SCALAR_FIELD",
    "AgentKeyInfo",
    "AgentPair",
    "AgentSettledPair",
    "AgentSettlement",
    "AgentSkippedPair",
    "Artifact",
    "Authorization",
    "AuthorizationKind",
    "AuthorizedAgentKey",
    "EscrowClient",
    "InvalidSettlement",
    "Pair",
    "PendingRelease",
    "PendingWithdrawal",
    "ProcessedSettlement",
    "SettledPair",
    "Settlement",
    "SettlementResult",
    "SkipReason",
    "SkippedPair",
    "Stack",
    "TokenClient",
    "TransactionFailed",
    "VerifierFamily",
    "VerifierInfo",
    "VerifierSpec",
    "agent_pair_settlements",
    "agent_settlement_public_input",
    "attestation_digest",
    "attestation_verifier",
    "build_agent_settlement",
    "build_settlement",
    "decode_custom_error",
    "deploy",
    "deploy_escrow",
    "deploy_stack",
    "deploy_token",
    "deploy_verifier",
    "describe_revert",
    "load_artifact",
    "packed_agent_settlement",
    "packed_settlement",
    "pair_settlements",
    "parse_agent_key_authorized",
    "parse_settlement",
    "send",
    "settle_gas_limit",
    "settlement_public_input",
    "sign_grant",
    "simulate",
    "transact",
    "unsafe_attestation_proof",
]
