"""The wire form of a signed agent mandate, and the decoder that reads either kind.

An agent mandate travels where an EIP-712 one does, as base64 of canonical JSON with the same
rules (docs/agent-keys.md, "The wire"), told apart by ``"kind": "agent"``. The payer's address
is not on the wire: the escrow's record of ``keyId`` names the payer.
"""

from __future__ import annotations

import base64
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from aep2.agentkey._mandate import AgentMandate
from aep2.agentkey._signature import message_hash, verify_digest
from aep2.errors import MandateDecodeError, Reason, SignatureError
from aep2.mandate import (
    KIND_AGENT,
    WIRE_VERSION,
    Domain,
    SignedMandate,
    canonical_json,
    check_canonical,
    check_fields,
    check_version,
    decimal_field,
    decode_object,
    encode,
    hex_field,
    mandate_kind,
    parse_header,
)
from aep2.mandate._codec import json_pieces, packed_json

SIGNATURE_BYTES: Final = 64
_DIGEST: Final = "_digest"  # where a SignedAgentMandate keeps its M
_NUMBER_FIELDS: Final = ("chainId", "keyId", "amount", "nonce", "deadline")
_FIELDS: Final = frozenset(
    {
        "version",
        "kind",
        "chainId",
        "escrow",
        "keyId",
        "payee",
        "token",
        "amount",
        "nonce",
        "deadline",
        "ref",
        "signature",
    }
)


class SignedAgentMandate(BaseModel):
    """An agent mandate, its domain and its 64-byte EdDSA signature, as received."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    domain: Domain
    mandate: AgentMandate
    signature: bytes

    @classmethod
    def _with_digest(
        cls, *, domain: Domain, mandate: AgentMandate, signature: bytes, digest: bytes
    ) -> SignedAgentMandate:
        """For :meth:`AgentKey.sign_mandate`, which has just signed ``digest``: ``M`` is kept."""
        signed = cls(domain=domain, mandate=mandate, signature=signature)
        signed._keep_digest(digest)
        return signed

    @property
    def digest(self) -> bytes:
        """``M``, the Poseidon2 message hash: unique per mandate and domain, what the key signs.

        Computed once per object: the payee's check, its receipt, its stored row and its
        replay lookup all read it.
        """
        kept: tuple[Domain, AgentMandate, bytes] | None = self.__dict__.get(_DIGEST)
        if kept is not None and kept[0] is self.domain and kept[1] is self.mandate:
            return kept[2]
        return self._keep_digest(message_hash(self.domain.separator, self.mandate))

    def _keep_digest(self, digest: bytes) -> bytes:
        # As functools.cached_property (SignedMandate.digest) does: in the instance __dict__,
        # past the frozen __setattr__, where pydantic's == and serialisation ignore it. With
        # the objects it hashes, so a copy with another domain or mandate (model_copy(update=
        # ...) copies __dict__) hashes afresh.
        self.__dict__[_DIGEST] = (self.domain, self.mandate, digest)
        return digest

    def verify(self, public_key: bytes) -> None:
        """Raise :class:`SignatureError` unless ``public_key`` (the key on record) signed it."""
        if not verify_digest(public_key, self.digest, self.signature):
            raise SignatureError(
                f"the signature is not key {self.mandate.key_id}'s over this mandate",
                reason=Reason.SIGNATURE_INVALID,
            )


def agent_to_wire(signed: SignedAgentMandate) -> dict[str, str]:
    """The canonical JSON object of a signed agent mandate (before serialisation)."""
    m = signed.mandate
    return {
        "version": WIRE_VERSION,
        "kind": KIND_AGENT,
        "chainId": str(signed.domain.chain_id),
        "escrow": signed.domain.escrow,
        "keyId": str(m.key_id),
        "payee": m.payee,
        "token": m.token,
        "amount": str(m.amount),
        "nonce": str(m.nonce),
        "deadline": str(m.deadline),
        "ref": "0x" + m.ref.hex(),
        "signature": "0x" + signed.signature.hex(),
    }


_WIRE_PIECES: Final = json_pieces(_FIELDS)


def encode_agent(signed: SignedAgentMandate) -> str:
    """The header value that carries ``signed`` in a call: ``canonical_json(agent_to_wire(signed))``
    in base64."""
    m, d = signed.mandate, signed.domain
    values = (  # agent_to_wire's values in the sorted order of their keys
        str(m.amount), str(d.chain_id), str(m.deadline), d.escrow, str(m.key_id), KIND_AGENT, str(m.nonce),
        m.payee, "0x" + m.ref.hex(), "0x" + signed.signature.hex(), m.token, WIRE_VERSION,
    )  # fmt: skip
    raw = packed_json(_WIRE_PIECES, values) or canonical_json(agent_to_wire(signed))
    return base64.b64encode(raw).decode("ascii")


def agent_from_wire(obj: dict[str, Any]) -> SignedAgentMandate:
    """Validate a decoded JSON object field by field into a :class:`SignedAgentMandate`."""
    check_version(obj)
    check_fields(obj, _FIELDS)
    numbers = {name: decimal_field(name, obj[name]) for name in _NUMBER_FIELDS}
    domain = Domain.parse(chain_id=numbers["chainId"], escrow=obj["escrow"])
    mandate = AgentMandate.parse(
        key_id=numbers["keyId"],
        payee=obj["payee"],
        token=obj["token"],
        amount=numbers["amount"],
        nonce=numbers["nonce"],
        deadline=numbers["deadline"],
        ref=hex_field("ref", obj["ref"]),
    )
    signature = hex_field("signature", obj["signature"])
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError(
            f"an agent signature is {SIGNATURE_BYTES} bytes, not {len(signature)}",
            reason=Reason.SIGNATURE_MALFORMED,
        )
    return SignedAgentMandate(domain=domain, mandate=mandate, signature=signature)


def decode_agent(header: str | bytes) -> SignedAgentMandate:
    """Parse a header value holding an agent mandate; the signature is *not* checked here."""
    signed = decode_any(header)
    if not isinstance(signed, SignedAgentMandate):
        raise MandateDecodeError(
            "this is an EIP-712 mandate, not an agent one", reason=Reason.MANDATE_UNSUPPORTED_KIND
        )
    return signed


AnySigned = SignedMandate | SignedAgentMandate
"""A signed mandate of either kind: EIP-712, or agent key (``docs/agent-keys.md``)."""


def encode_any(signed: AnySigned) -> str:
    """The header carrying a signed mandate of either kind: :func:`decode_any` reads it back."""
    return encode_agent(signed) if isinstance(signed, SignedAgentMandate) else encode(signed)


def decode_any(header: str | bytes) -> AnySigned:
    """Parse a header value of either kind (``kind`` absent or ``eip712``: EIP-712; ``agent``)."""
    raw, obj = parse_header(header)
    if mandate_kind(obj) == KIND_AGENT:
        agent = agent_from_wire(obj)
        check_canonical(raw, agent_to_wire(agent))
        return agent
    return decode_object(raw, obj)
