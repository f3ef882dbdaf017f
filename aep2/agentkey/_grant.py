"""The grant: the payer's EIP-712 authorization of an agent key (docs/agent-keys.md, "The grant").

Signed once by the payer's account key (any EIP-712 signer: a key in this process, a wallet, an
MPC service), under the mandates' domain, and registered with the escrow's ``authorizeAgentKey``
by anyone. Rare, so it is encoded by eth-account's reference encoder, not by hand.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from aep2.errors import MandateFieldError
from aep2.mandate import Domain, checksum
from aep2.mandate._fields import Address, Bytes32, Uint64
from aep2.mandate._typed_data import DOMAIN_FIELDS, NAME, VERSION

ANY_PAYEE: Final = "0x0000000000000000000000000000000000000000"
"""A grant's ``payee`` when the key may pay any payee."""

UINT128_LIMIT: Final = 1 << 128

GRANT_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("payer", "address"),
    ("key", "bytes32"),
    ("token", "address"),
    ("payee", "address"),
    ("cap", "uint128"),
    ("validAfter", "uint64"),
    ("validUntil", "uint64"),
    ("salt", "uint64"),
)
GRANT_TYPE_STRING: Final = f"AgentKey({','.join(f'{kind} {name}' for name, kind in GRANT_FIELDS)})"


def _cap(value: int) -> int:
    if not 1 <= value < UINT128_LIMIT:
        raise ValueError(f"cap {value} is outside [1, 2^128)")
    return value


Cap = Annotated[int, AfterValidator(_cap)]


class AgentKeyGrant(BaseModel):
    """``AgentKey(payer, key, token, payee, cap, validAfter, validUntil, salt)`` as the escrow reads it.

    ``key`` is the 32-byte compressed public key, ``payee`` the one payee the key may pay
    (:data:`ANY_PAYEE`: any), ``cap`` the most the escrow ever debits through the key,
    ``[valid_after, valid_until]`` the seconds it settles in, ``salt`` what tells equal grants apart.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    payer: Address
    key: Bytes32
    token: Address
    payee: Address
    cap: Cap
    valid_after: Uint64
    valid_until: Uint64
    salt: Uint64

    @classmethod
    def build(cls, **fields: Any) -> AgentKeyGrant:
        """Validate ``fields``, checksumming addresses first; errors name the bad field."""
        for name in ("payer", "token", "payee"):
            if isinstance(fields.get(name), str) and len(fields[name]) == 42:
                fields[name] = checksum(fields[name])
        try:
            return cls(**fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "grant"
            raise MandateFieldError(
                f"{where}: {first['msg'].removeprefix('Value error, ')}", field=where
            ) from None

    @property
    def any_payee(self) -> bool:
        return self.payee == ANY_PAYEE

    def message(self) -> dict[str, str]:
        """The EIP-712 message: the type's field names, integers as decimal strings (a JSON number
        past 2^53 loses digits in a JavaScript wallet; ``eth_signTypedData_v4`` takes strings), ``key``
        as 0x-hex."""
        return {
            "payer": self.payer,
            "key": "0x" + self.key.hex(),
            "token": self.token,
            "payee": self.payee,
            "cap": str(self.cap),
            "validAfter": str(self.valid_after),
            "validUntil": str(self.valid_until),
            "salt": str(self.salt),
        }

    def typed_data(self, domain: Domain) -> dict[str, Any]:
        """The full EIP-712 document a wallet or an MPC signer signs (``eth_signTypedData_v4``)."""
        return {
            "types": {
                "EIP712Domain": [{"name": n, "type": t} for n, t in DOMAIN_FIELDS],
                "AgentKey": [{"name": n, "type": t} for n, t in GRANT_FIELDS],
            },
            "primaryType": "AgentKey",
            "domain": {
                "name": NAME,
                "version": VERSION,
                "chainId": domain.chain_id,
                "verifyingContract": domain.escrow,
            },
            "message": self.message(),
        }

    def digest(self, domain: Domain) -> bytes:
        """The 32-byte digest the payer signs: the escrow's ``agentKeyGrantDigest``."""
        signable = encode_typed_data(full_message=self.typed_data(domain))
        return keccak(b"\x19" + bytes(signable.version) + bytes(signable.header) + bytes(signable.body))

    def as_abi(self) -> tuple[str, bytes, str, str, int, int, int, int]:
        """The ``AgentKeyGrant`` struct as a web3 argument tuple, in the struct's order."""
        return (
            self.payer, self.key, self.token, self.payee,
            self.cap, self.valid_after, self.valid_until, self.salt,
        )  # fmt: skip

    def to_json(self) -> dict[str, str]:
        """The grant as JSON strings (numbers in decimal, as on the mandates' wire): its message."""
        return self.message()

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AgentKeyGrant:
        """Inverse of :meth:`to_json`."""
        names = {name for name, _ in GRANT_FIELDS}
        if not isinstance(obj, dict) or set(obj) != names:
            raise MandateFieldError(f"a grant has the fields {sorted(names)}, not {sorted(obj)}")
        try:
            numbers = {n: int(str(obj[n])) for n in ("cap", "validAfter", "validUntil", "salt")}
            key = bytes.fromhex(str(obj["key"]).removeprefix("0x"))
        except ValueError as exc:
            raise MandateFieldError(f"grant: {exc}") from None
        return cls.build(
            payer=obj["payer"], key=key, token=obj["token"], payee=obj["payee"], cap=numbers["cap"],
            valid_after=numbers["validAfter"], valid_until=numbers["validUntil"], salt=numbers["salt"],
        )  # fmt: skip
