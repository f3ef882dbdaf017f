"""The USDC-like EIP-3009 token: reads, minting on local chains, and signed authorizations."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from aep2.chain.artifacts import load_artifact
from aep2.chain.transactions import transact


class AuthorizationKind(StrEnum):
    """The two EIP-3009 primary types: anyone may submit a transfer; only ``to`` may submit a receive."""

    TRANSFER = "TransferWithAuthorization"
    RECEIVE = "ReceiveWithAuthorization"


TRANSFER_WITH_AUTHORIZATION_VRS = (
    "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)"
)

_AUTHORIZATION_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]


@dataclass(frozen=True)
class Authorization:
    """A signed EIP-3009 authorization, ready to submit."""

    kind: AuthorizationKind
    from_: str
    to: str
    value: int
    valid_after: int
    valid_before: int
    nonce: bytes
    v: int
    r: bytes
    s: bytes

    @property
    def signature(self) -> bytes:
        """The packed 65-byte ``r ‖ s ‖ v`` form (the ``bytes signature`` overloads)."""
        return self.r + self.s + bytes([self.v])


@dataclass(frozen=True)
class TokenClient:
    """Typed access to a deployed ``TestUSDC`` (or any token with USDC's EIP-3009 surface)."""

    w3: Web3
    contract: Contract

    @classmethod
    def at(cls, w3: Web3, address: str) -> TokenClient:
        abi = load_artifact("TestUSDC").abi
        return cls(w3, w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi))

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def balance_of(self, owner: str) -> int:
        return int(self.contract.functions.balanceOf(owner).call())

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.contract.functions.allowance(owner, spender).call())

    def authorization_state(self, authorizer: str, nonce: bytes) -> bool:
        return bool(self.contract.functions.authorizationState(authorizer, nonce).call())

    def mint(self, to: str, amount: int, private_key: bytes) -> TxReceipt:
        """Mint on a local chain (``TestUSDC.mint`` is open to anyone)."""
        return transact(self.w3, self.contract.functions.mint(to, amount), private_key)

    def approve(self, spender: str, amount: int, private_key: bytes) -> TxReceipt:
        return transact(self.w3, self.contract.functions.approve(spender, amount), private_key)

    def typed_data(self, kind: AuthorizationKind, message: dict[str, Any]) -> dict[str, Any]:
        """The EIP-712 document a wallet signs for an authorization (domain read from the token)."""
        domain = {
            "name": self.contract.functions.name().call(),
            "version": self.contract.functions.version().call(),
            "chainId": self.w3.eth.chain_id,
            "verifyingContract": self.address,
        }
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                str(kind): _AUTHORIZATION_FIELDS,
            },
            "primaryType": str(kind),
            "domain": domain,
            "message": message,
        }

    def sign_authorization(
        self,
        kind: AuthorizationKind,
        private_key: bytes,
        to: str,
        value: int,
        *,
        valid_before: int,
        valid_after: int = 0,
        nonce: bytes | None = None,
    ) -> Authorization:
        """Sign an EIP-3009 authorization from ``private_key``'s account (a random nonce by default)."""
        signer = Account.from_key(private_key)
        nonce = nonce if nonce is not None else os.urandom(32)
        message = {
            "from": signer.address,
            "to": to,
            "value": value,
            "validAfter": valid_after,
            "validBefore": valid_before,
            "nonce": nonce,
        }
        signed = signer.sign_message(encode_typed_data(full_message=self.typed_data(kind, message)))
        return Authorization(
            kind=kind,
            from_=signer.address,
            to=to,
            value=value,
            valid_after=valid_after,
            valid_before=valid_before,
            nonce=nonce,
            v=signed.v,
            r=signed.r.to_bytes(32, "big"),
            s=signed.s.to_bytes(32, "big"),
        )

    def transfer_with_authorization(self, auth: Authorization, private_key: bytes) -> TxReceipt:
        """Submit a transfer authorization (the x402 ``exact`` settlement) from ``private_key``'s account."""
        fn = self.contract.get_function_by_signature(TRANSFER_WITH_AUTHORIZATION_VRS)
        terms = (auth.from_, auth.to, auth.value, auth.valid_after, auth.valid_before, auth.nonce)
        call = fn(*terms, auth.v, auth.r, auth.s)
        return transact(self.w3, call, private_key)
