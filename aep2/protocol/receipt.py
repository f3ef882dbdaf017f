"""The payee's receipt: proof for the payer that a mandate was accepted for a call.

The receipt is canonical JSON signed by the payee with EIP-191
(``personal_sign``), so any wallet library can check it. It travels in the
x402 ``SettleResponse.extra`` as ``{"receipt": {...}, "signature": "0x.."}``;
``SettleResponse.transaction`` is ``"aep2:" + mandate digest`` because the
on-chain transfer happens later, in a batch.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import BaseModel, ConfigDict

from aep2.errors import Reason, SignatureError
from aep2.mandate import canonical_json


class Receipt(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    digest: str
    payer: str
    payee: str
    token: str
    amount: str
    nonce: str
    accepted_at: str

    def message(self) -> bytes:
        return canonical_json(self.model_dump())

    def sign(self, payee_key: bytes) -> dict[str, Any]:
        signature = Account.sign_message(encode_defunct(self.message()), payee_key).signature
        return {"receipt": self.model_dump(), "signature": "0x" + bytes(signature).hex()}


def verify_receipt(signed: dict[str, Any]) -> Receipt:
    """Parse a signed receipt and check that the payee it names signed it."""
    receipt = Receipt(**signed["receipt"])
    signer = Account.recover_message(encode_defunct(receipt.message()), signature=signed["signature"])
    if signer != receipt.payee:
        raise SignatureError(
            f"receipt signed by {signer}, not by the payee {receipt.payee}", reason=Reason.SIGNER_MISMATCH
        )
    return receipt


def transaction_ref(digest: bytes) -> str:
    """The placeholder ``transaction`` of a SettleResponse: settlement is later, in a batch."""
    return "aep2:0x" + digest.hex()
