"""The mandate, its EIP-712 domain, and a signed mandate: encode → sign → recover as separate steps."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from aep2.errors import MandateFieldError, Reason, SignatureError
from aep2.mandate import _signature, _typed_data
from aep2.mandate._fields import Address, Amount, Bytes32, ChainId, Nonce, Uint64, checksum


def _field_error(exc: ValidationError) -> MandateFieldError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "mandate"
    message = first["msg"].removeprefix("Value error, ")
    return MandateFieldError(f"{where}: {message}", field=where)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    @classmethod
    def parse(cls, **fields: Any) -> Any:
        """Validate ``fields``, raising :class:`MandateFieldError` that names the bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise _field_error(exc) from None


class Domain(_Frozen):
    """The EIP-712 domain: one escrow on one chain."""

    chain_id: ChainId
    escrow: Address

    @cached_property
    def separator(self) -> bytes:
        return _typed_data.domain_separator(self.chain_id, self.escrow)


class Mandate(_Frozen):
    """What a payer authorises for one call; see DESIGN.md "The mandate"."""

    payer: Address
    payee: Address
    token: Address
    amount: Amount
    nonce: Nonce
    deadline: Uint64
    ref: Bytes32

    @classmethod
    def build(cls, **fields: Any) -> Mandate:
        """Like the constructor, but checksums address fields first (for programmatic callers)."""
        for name in ("payer", "payee", "token"):
            if isinstance(fields.get(name), str) and len(fields[name]) == 42:
                fields[name] = checksum(fields[name])
        return cls.parse(**fields)  # type: ignore[no-any-return]

    def struct_hash(self) -> bytes:
        return _typed_data.struct_hash(
            payer=self.payer,
            payee=self.payee,
            token=self.token,
            amount=self.amount,
            nonce=self.nonce,
            deadline=self.deadline,
            ref=self.ref,
        )

    def digest(self, domain: Domain) -> bytes:
        """The 32-byte EIP-712 digest the payer signs."""
        return _typed_data.typed_digest(domain.separator, self.struct_hash())

    def typed_data(self, domain: Domain) -> dict[str, Any]:
        """The EIP-712 JSON document (for wallets and external signers)."""
        message = self.model_dump() | {"ref": self.ref}
        return _typed_data.typed_data(domain.chain_id, domain.escrow, message)

    def sign(self, domain: Domain, private_key: bytes) -> SignedMandate:
        """Sign with a raw 32-byte key held in this process (see ``aep2.payer`` for other signers)."""
        signature = _signature.sign_digest(private_key, self.digest(domain))
        return SignedMandate(domain=domain, mandate=self, signature=signature)


class SignedMandate(_Frozen):
    """A mandate with its domain and its 65-byte ``r ‖ s ‖ v`` signature."""

    domain: Domain
    mandate: Mandate
    signature: bytes

    @cached_property
    def digest(self) -> bytes:
        return self.mandate.digest(self.domain)

    def recover(self) -> str:
        """The checksummed address that signed; raises :class:`SignatureError` if none did."""
        public_key = _signature.recover_public_key(self.digest, self.signature)
        return checksum("0x" + _signature.address_of(public_key).hex())

    def public_key(self) -> bytes:
        """The signer's uncompressed public key (65 bytes, ``0x04 ‖ X ‖ Y``), as the circuit needs it."""
        return _signature.recover_public_key(self.digest, self.signature).format(compressed=False)

    def verify(self) -> None:
        """Raise :class:`SignatureError` unless the payer itself signed this mandate (low-s)."""
        public_key = _signature.recover_public_key(self.digest, self.signature)
        if _signature.address_of(public_key) != bytes.fromhex(self.mandate.payer[2:]):
            signer = checksum("0x" + _signature.address_of(public_key).hex())
            raise SignatureError(
                f"signed by {signer}, not by the payer {self.mandate.payer}",
                reason=Reason.SIGNER_MISMATCH,
                signer=signer,
            )
