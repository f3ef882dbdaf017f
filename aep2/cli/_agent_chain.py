"""The escrow's agent-key calls as ``aep2 agent-key`` uses them: register, read, revoke.

A thin layer over :class:`aep2.chain.EscrowClient` that first checks the RPC serves the chain and
escrow the grant was made for, so a grant never lands on another escrow by a wrong URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3

from aep2.agentkey import ANY_PAYEE, AgentKeyGrant
from aep2.chain import EscrowClient
from aep2.chain.escrow import _errors_abi
from aep2.chain.reverts import simulate
from aep2.chain.transactions import send
from aep2.errors import ConfigurationError
from aep2.mandate import Domain


@dataclass(frozen=True)
class KeyOnChain:
    """``IAgentKeys.AgentKeyInfo``: the escrow's record of one key as of now."""

    key: bytes
    payer: str
    token: str
    payee: str
    cap: int
    spent: int
    valid_after: int
    valid_until: int
    revoke_at: int
    pending_cap: int
    pending_cap_at: int

    def state(self, now: int) -> str:
        if self.revoke_at and now >= self.revoke_at:
            return "revoked"
        if now > self.valid_until:
            return "expired"
        if now < self.valid_after:
            return "not yet valid"
        return "revoking" if self.revoke_at else "active"

    def summary(self, key_id: int, *, now: int) -> dict[str, Any]:
        """The record as JSON (numbers as decimal strings), with its state at chain time ``now``."""
        out: dict[str, Any] = {
            "keyId": str(key_id), "state": self.state(now), "payer": self.payer, "token": self.token,
            "payee": "any" if self.payee == ANY_PAYEE else self.payee, "cap": str(self.cap),
            "spent": str(self.spent), "remaining": str(max(self.cap - self.spent, 0)),
            "validAfter": str(self.valid_after), "validUntil": str(self.valid_until),
            "revokeAt": str(self.revoke_at) if self.revoke_at else None, "key": "0x" + self.key.hex(),
        }  # fmt: skip
        if self.pending_cap_at:
            out["pendingCap"] = {"cap": str(self.pending_cap), "from": str(self.pending_cap_at)}
        return out


@dataclass(frozen=True)
class OnChain:
    """One escrow's agent keys, behind an RPC checked to serve the grant's chain and escrow."""

    escrow: EscrowClient

    @classmethod
    def connect(cls, w3: Web3, domain: Domain) -> OnChain:
        chain_id = w3.eth.chain_id
        if chain_id != domain.chain_id:
            raise ConfigurationError(
                f"the RPC serves chain {chain_id}, the grant is for chain {domain.chain_id}"
            )
        escrow = EscrowClient.at(w3, domain.escrow)
        if (
            not w3.eth.get_code(Web3.to_checksum_address(domain.escrow))
            or escrow.domain_separator() != domain.separator
        ):
            raise ConfigurationError(f"no aep2 escrow with the grant's domain at {domain.escrow}")
        return cls(escrow)

    def has_code(self, address: str) -> bool:
        return bool(self.escrow.w3.eth.get_code(Web3.to_checksum_address(address)))

    def authorize(self, grant: AgentKeyGrant, signature: bytes, sender_key: bytes) -> int:
        """``authorizeAgentKey``: the new key's id (a revert raises with its decoded error)."""
        call = self.escrow.contract.functions.authorizeAgentKey(grant.as_abi(), signature)
        sender = Account.from_key(sender_key).address
        key_id = int(simulate(call, sender, _errors_abi()))
        send(self.escrow.w3, call.build_transaction({"from": sender}), sender_key)
        return key_id

    def key(self, key_id: int) -> KeyOnChain | None:
        """``agentKey(keyId)``; ``None`` if no key has this id."""
        info = self.escrow.contract.functions.agentKey(key_id).call()
        key, payer, token, payee, cap, spent, after, until, revoke_at, pending_cap, pending_at = info
        if not any(bytes(key)):
            return None
        return KeyOnChain(
            bytes(key), Web3.to_checksum_address(payer), Web3.to_checksum_address(token),
            Web3.to_checksum_address(payee), int(cap), int(spent), int(after), int(until),
            int(revoke_at), int(pending_cap), int(pending_at),
        )  # fmt: skip

    def revoke(self, key_id: int, payer_key: bytes) -> int:
        """``revokeAgentKey`` from the payer's account; when the revocation takes effect."""
        call = self.escrow.contract.functions.revokeAgentKey(key_id)
        sender = Account.from_key(payer_key).address
        simulate(call, sender, _errors_abi())
        send(self.escrow.w3, call.build_transaction({"from": sender}), payer_key)
        info = self.key(key_id)
        assert info is not None
        return info.revoke_at

    def revoke_transaction(self, key_id: int, payer: str) -> dict[str, Any]:
        """The unsigned ``revokeAgentKey`` transaction, for the payer's own wallet to sign and send."""
        data = self.escrow.contract.encode_abi("revokeAgentKey", args=[key_id])
        return {"from": payer, "to": self.escrow.address, "chainId": self.escrow.w3.eth.chain_id,
                "data": data, "value": "0"}  # fmt: skip
