"""The payer SDK: sign aep2 mandates under a spending policy, with an audit log and safe nonces.

>>> payer = Payer(LocalKeySigner.from_file("agent.key"), "policy.yaml")
>>> header = payer.pay(requirements, ref=http_ref("GET", url))   # or let a transport do it

With an agent key (``aep2 agent-key authorize`` registered it), the payer signs agent mandates
wherever a payee offers them and the key's grant covers the payment, EIP-712 mandates elsewhere:

>>> payer = Payer(signer, "policy.yaml", agent=AgentCredential.load("agent.key"))

Transports that answer a 402 by themselves live in :mod:`aep2.transports`
(``httpx_auth``, ``x402_client``, ``mcp_client``, ``a2a_client``).
"""

from aep2.agentkey import AnySigned, encode_any
from aep2.payer._audit import APPROVED, REFUSED, REJECTED, AuditEntry, AuditLog
from aep2.payer._credential import AgentCredential, AgentSigner, GrantRecord, sidecar_path
from aep2.payer._db import default_path, open_engine
from aep2.payer._engine import PolicyEngine
from aep2.payer._payer import DEFAULT_DEADLINE_MARGIN, FAILED, Payer
from aep2.payer._policy import ActiveHours, Policy, load_policy, parse_policy
from aep2.payer._request import PaymentRequest, parse_requirement, select_aep2
from aep2.payer._routes import RouteCache
from aep2.payer._signer import CallbackSigner, LocalKeySigner, Signer, typed_data_digest

__all__ = [
    "APPROVED",
    "DEFAULT_DEADLINE_MARGIN",
    "FAILED",
    "REFUSED",
    "REJECTED",
    "ActiveHours",
    "AgentCredential",
    "AgentSigner",
    "AnySigned",
    "AuditEntry",
    "AuditLog",
    "CallbackSigner",
    "GrantRecord",
    "LocalKeySigner",
    "Payer",
    "PaymentRequest",
    "Policy",
    "PolicyEngine",
    "RouteCache",
    "Signer",
    "default_path",
    "encode_any",
    "load_policy",
    "open_engine",
    "parse_policy",
    "parse_requirement",
    "select_aep2",
    "sidecar_path",
    "typed_data_digest",
]
