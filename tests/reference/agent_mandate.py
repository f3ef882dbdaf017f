"""The agent mandate's seven-element message and hash, and the ``AgentKey`` EIP-712 grant.

Written from ``docs/agent-keys.md`` ("The agent mandate", "The grant"); the grant goes through
``eth_account.messages.encode_typed_data`` (never a hand-rolled encoder) under the mandates'
domain ``{name: "AEP2", version: "1", chainId, verifyingContract: escrow}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.messages import SignableMessage, encode_typed_data
from eth_hash.auto import keccak

from tests.reference.poseidon2 import hash_elements

TAG = 0x41
"""The tag of an agent mandate, version 1."""

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
AGENT_KEY_TYPE = [
    {"name": "payer", "type": "address"},
    {"name": "key", "type": "bytes32"},
    {"name": "token", "type": "address"},
    {"name": "payee", "type": "address"},
    {"name": "cap", "type": "uint128"},
    {"name": "validAfter", "type": "uint64"},
    {"name": "validUntil", "type": "uint64"},
    {"name": "salt", "type": "uint64"},
]
AGENT_KEY_TYPE_STRING = (
    "AgentKey(address payer,bytes32 key,address token,address payee,uint128 cap,"
    "uint64 validAfter,uint64 validUntil,uint64 salt)"
)


class RangeError(ValueError):
    """A mandate field outside its range; the packing is injective only inside the ranges."""

    reason = "FIELD_OUT_OF_RANGE"


@dataclass(frozen=True)
class AgentMandate:
    key_id: int
    payee: str
    token: str
    amount: int
    nonce: int
    deadline: int
    ref: bytes

    def check_ranges(self) -> None:
        bounds = {
            "keyId": (self.key_id, 1, 2**64),
            "amount": (self.amount, 1, 2**96),
            "nonce": (self.nonce, 1, 2**64),
            "deadline": (self.deadline, 0, 2**64),
        }
        for name, (value, low, high) in bounds.items():
            if not low <= value < high:
                raise RangeError(f"{name} = {value} is outside [{low}, {high})")
        if len(self.ref) != 32:
            raise RangeError(f"ref is 32 bytes, got {len(self.ref)}")

    def wire_fields(self) -> dict[str, str]:
        return {
            "keyId": str(self.key_id),
            "payee": self.payee,
            "token": self.token,
            "amount": str(self.amount),
            "nonce": str(self.nonce),
            "deadline": str(self.deadline),
            "ref": "0x" + self.ref.hex(),
        }

    @classmethod
    def from_wire(cls, fields: dict[str, str]) -> AgentMandate:
        return cls(
            key_id=int(fields["keyId"]),
            payee=fields["payee"],
            token=fields["token"],
            amount=int(fields["amount"]),
            nonce=int(fields["nonce"]),
            deadline=int(fields["deadline"]),
            ref=bytes.fromhex(fields["ref"][2:]),
        )


def _address(value: str) -> int:
    raw = bytes.fromhex(value[2:])
    if len(raw) != 20:
        raise RangeError(f"an address is 20 bytes, got {value}")
    return int.from_bytes(raw, "big")


def pack_unchecked(separator: bytes, m: AgentMandate) -> list[int]:
    """The seven elements with no range checks: only to build out-of-range test vectors."""
    ds = int.from_bytes(separator, "big")
    ref = int.from_bytes(m.ref, "big")
    return [
        ds >> 128,
        ds & (2**128 - 1),
        (TAG << 160) + _address(m.token),
        (m.key_id << 160) + _address(m.payee),
        (m.nonce << 160) + (m.deadline << 96) + m.amount,
        ref >> 128,
        ref & (2**128 - 1),
    ]


def message_elements(separator: bytes, m: AgentMandate) -> list[int]:
    """``(ds_hi, ds_lo, tag_token, key_payee, terms, ref_hi, ref_lo)``, each below ``2^224``."""
    if len(separator) != 32:
        raise ValueError("the domain separator is 32 bytes")
    m.check_ranges()
    return pack_unchecked(separator, m)


def mandate_hash(separator: bytes, m: AgentMandate) -> int:
    """``M = H(message elements)``, the field element the agent key signs."""
    return hash_elements(message_elements(separator, m))


def domain(chain_id: int, escrow: str) -> dict[str, Any]:
    return {"name": "AEP2", "version": "1", "chainId": chain_id, "verifyingContract": escrow}


def grant_typed_data(chain_id: int, escrow: str, grant: dict[str, Any]) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, "AgentKey": AGENT_KEY_TYPE},
        "primaryType": "AgentKey",
        "domain": domain(chain_id, escrow),
        "message": grant,
    }


def grant_signable(chain_id: int, escrow: str, grant: dict[str, Any]) -> SignableMessage:
    """``encode_typed_data``'s result: ``header`` the domain separator, ``body`` the struct hash."""
    return encode_typed_data(full_message=grant_typed_data(chain_id, escrow, grant))


def grant_digest(chain_id: int, escrow: str, grant: dict[str, Any]) -> bytes:
    signable = grant_signable(chain_id, escrow, grant)
    return keccak(b"\x19\x01" + signable.header + signable.body)
