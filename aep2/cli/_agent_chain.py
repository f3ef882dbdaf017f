"""The escrow's agent-key calls as ``aep2 agent-key`` uses them, over :mod:`aep2.chain`'s bindings.

:func:`connect` first checks that the RPC serves the chain and escrow a grant was made for, so a
grant never lands on another escrow by a wrong URL.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from aep2.chain import AgentKeyInfo, EscrowClient
from aep2.errors import ConfigurationError
from aep2.mandate import Domain


def connect(w3: Web3, domain: Domain) -> EscrowClient:
    """The escrow of ``domain``, refusing an RPC of another chain or an address without that escrow."""
    chain_id = w3.eth.chain_id
    if chain_id != domain.chain_id:
        raise ConfigurationError(f"the RPC serves chain {chain_id}, the grant is for chain {domain.chain_id}")
    escrow = EscrowClient.at(w3, domain.escrow)
    if (
        not w3.eth.get_code(Web3.to_checksum_address(domain.escrow))
        or escrow.domain_separator() != domain.separator
    ):
        raise ConfigurationError(f"no aep2 escrow with the grant's domain at {domain.escrow}")
    return escrow


def has_code(escrow: EscrowClient, address: str) -> bool:
    """Whether ``address`` is a contract (a wallet whose signatures the escrow checks by EIP-1271)."""
    return bool(escrow.w3.eth.get_code(Web3.to_checksum_address(address)))


def state(info: AgentKeyInfo, now: int) -> str:
    """``active``, ``revoking`` (announced, not in effect), ``revoked``, ``expired``, ``not yet valid``."""
    if info.revoke_at and now >= info.revoke_at:
        return "revoked"
    if now > info.valid_until:
        return "expired"
    if now < info.valid_after:
        return "not yet valid"
    return "revoking" if info.revoke_at else "active"


def summary(info: AgentKeyInfo, *, now: int) -> dict[str, Any]:
    """The record as JSON (numbers as decimal strings), with its state at chain time ``now``."""
    out: dict[str, Any] = {
        "keyId": str(info.key_id), "state": state(info, now), "payer": info.payer, "token": info.token,
        "payee": "any" if info.any_payee else info.payee, "cap": str(info.cap), "spent": str(info.spent),
        "remaining": str(info.remaining), "validAfter": str(info.valid_after),
        "validUntil": str(info.valid_until), "revokeAt": str(info.revoke_at) if info.revoke_at else None,
        "key": "0x" + info.key.hex(),
    }  # fmt: skip
    if info.pending_cap_at:
        out["pendingCap"] = {"cap": str(info.pending_cap), "from": str(info.pending_cap_at)}
    return out


def revoke_transaction(escrow: EscrowClient, key_id: int, payer: str) -> dict[str, Any]:
    """The unsigned ``revokeAgentKey`` transaction, for the payer's own wallet to sign and send."""
    data = escrow.contract.encode_abi("revokeAgentKey", args=[key_id])
    return {
        "from": payer,
        "to": escrow.address,
        "chainId": escrow.w3.eth.chain_id,
        "data": data,
        "value": "0",
    }
