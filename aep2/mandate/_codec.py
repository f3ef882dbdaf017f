"""The wire form of a signed mandate: base64 of canonical JSON.

Canonical JSON here means: an object of strings only, keys sorted, no
whitespace, ASCII; numbers as decimal strings without leading zeros;
addresses EIP-55 checksummed; bytes as lower-case ``0x`` hex; and a
``version`` field. Decoding accepts exactly the bytes :func:`encode` would
produce for the same mandate, so one mandate has one spelling on the wire.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any, Final

from aep2.errors import MandateDecodeError, MandateFieldError, Reason
from aep2.mandate._model import Domain, Mandate, SignedMandate

WIRE_VERSION: Final = "1"
KIND_EIP712: Final = "eip712"
"""``kind`` of an EIP-712 mandate; optional on the wire (no ``kind`` means EIP-712)."""
KIND_AGENT: Final = "agent"
"""``kind`` of an agent-key mandate (``aep2.agentkey``), which this module does not decode."""
MAX_HEADER_LENGTH: Final = 1024
"""Longest accepted base64 header; a canonical mandate is about 750 characters."""

_NUMBER_FIELDS: Final = ("chainId", "amount", "nonce", "deadline")
_FIELDS: Final = frozenset(
    {
        "version",
        "chainId",
        "escrow",
        "payer",
        "payee",
        "token",
        "amount",
        "nonce",
        "deadline",
        "ref",
        "signature",
    }
)


def to_wire(signed: SignedMandate) -> dict[str, str]:
    """The canonical JSON object of a signed mandate (before serialisation)."""
    m = signed.mandate
    return {
        "version": WIRE_VERSION,
        "chainId": str(signed.domain.chain_id),
        "escrow": signed.domain.escrow,
        "payer": m.payer,
        "payee": m.payee,
        "token": m.token,
        "amount": str(m.amount),
        "nonce": str(m.nonce),
        "deadline": str(m.deadline),
        "ref": "0x" + m.ref.hex(),
        "signature": "0x" + signed.signature.hex(),
    }


_CANONICAL: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
"""Built once: ``json.dumps`` with these options builds a new encoder on every call."""


def canonical_json(obj: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, ASCII: the one spelling of a JSON object that is hashed or signed
    (mandate headers, call descriptors, receipts)."""
    return _CANONICAL.encode(obj).encode()


def json_pieces(keys: Iterable[str]) -> tuple[str, ...]:
    """The constant text of a canonical JSON object with these keys, around its string values:
    ``{"a":"``, ``","b":"``, ..., ``"}``, for :func:`packed_json`."""
    ordered = sorted(keys)
    if not all(key.isascii() and key.isalnum() for key in ordered):
        raise ValueError(f"keys {ordered} need escaping in JSON")
    return (f'{{"{ordered[0]}":"', *(f'","{key}":"' for key in ordered[1:]), '"}')


def packed_json(pieces: tuple[str, ...], values: tuple[str, ...]) -> bytes | None:
    """:func:`canonical_json` of the object with the keys of ``pieces`` and these ``values`` (in the
    keys' sorted order), when every value is a string of ASCII letters and digits, which JSON writes
    as it is; else ``None``, and :func:`canonical_json` must spell the object.

    A header is all such strings (decimals, hex, checksummed addresses): joined into the constant
    text, it costs half of what the JSON encoder does on a mandate's hot path.
    """
    try:
        text = "".join(values)
    except TypeError:  # a value that is not a string: JSON writes it otherwise
        return None
    if not (text.isascii() and text.isalnum()):
        return None
    parts = [""] * (len(pieces) + len(values))
    parts[0::2], parts[1::2] = pieces, values
    return "".join(parts).encode()


_WIRE_PIECES: Final = json_pieces(_FIELDS)


def encode(signed: SignedMandate) -> str:
    """The header value that carries ``signed`` in a call: ``canonical_json(to_wire(signed))`` in base64."""
    m, d = signed.mandate, signed.domain
    values = (  # to_wire's values in the sorted order of their keys
        str(m.amount), str(d.chain_id), str(m.deadline), d.escrow, str(m.nonce), m.payee, m.payer,
        "0x" + m.ref.hex(), "0x" + signed.signature.hex(), m.token, WIRE_VERSION,
    )  # fmt: skip
    raw = packed_json(_WIRE_PIECES, values) or canonical_json(to_wire(signed))
    return base64.b64encode(raw).decode("ascii")


def decimal_field(name: str, text: str) -> int:
    """A canonical decimal string (no sign, no leading zeros) as an int."""
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise MandateFieldError(f"{name}: {text!r} is not a decimal string without leading zeros", field=name)
    return int(text)


def hex_field(name: str, text: str) -> bytes:
    """Lower-case ``0x`` hex as bytes."""
    body = text[2:]
    if not text.startswith("0x") or body != body.lower() or len(body) % 2:
        raise MandateFieldError(f"{name}: {text!r} is not lower-case 0x-prefixed hex", field=name)
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise MandateFieldError(f"{name}: {text!r} is not hex", field=name) from None


def check_version(obj: dict[str, Any]) -> None:
    version = obj.get("version")
    if version != WIRE_VERSION:
        raise MandateDecodeError(
            f"version {version!r} is not supported (this build speaks {WIRE_VERSION!r})",
            reason=Reason.MANDATE_UNSUPPORTED_VERSION,
        )


def check_fields(
    obj: dict[str, Any], required: frozenset[str], optional: frozenset[str] | set[str] = frozenset()
) -> None:
    """Exactly the ``required`` fields (and any of ``optional``), every value a string."""
    if set(obj) - set(optional) != required:
        missing, unknown = sorted(required - set(obj)), sorted(set(obj) - required - set(optional))
        raise MandateFieldError(f"fields missing {missing}, unknown {unknown}")
    for name, value in obj.items():
        if not isinstance(value, str):
            raise MandateFieldError(f"{name}: {value!r} is not a string", field=name)


def mandate_kind(obj: dict[str, Any]) -> str:
    """The object's ``kind``: ``eip712`` when absent; any other value than the two kinds is refused."""
    kind = obj.get("kind", KIND_EIP712)
    if kind not in (KIND_EIP712, KIND_AGENT):
        raise MandateDecodeError(
            f"kind {kind!r} is not a mandate kind ({KIND_EIP712!r} or {KIND_AGENT!r})",
            reason=Reason.MANDATE_UNSUPPORTED_KIND,
        )
    return str(kind)


def unsigned_from_wire(obj: dict[str, Any]) -> tuple[Domain, Mandate]:
    """Validate the wire fields of a mandate that may not be signed yet (no ``signature``)."""
    check_version(obj)
    if mandate_kind(obj) != KIND_EIP712:
        raise MandateDecodeError(
            f"this is a {obj['kind']!r} mandate, not an EIP-712 one", reason=Reason.MANDATE_UNSUPPORTED_KIND
        )
    obj = {k: v for k, v in obj.items() if k != "kind"}
    check_fields(obj, _FIELDS - {"signature"}, optional={"signature"})
    numbers = {name: decimal_field(name, obj[name]) for name in _NUMBER_FIELDS}
    domain = Domain.parse(chain_id=numbers["chainId"], escrow=obj["escrow"])
    mandate = Mandate.parse(
        payer=obj["payer"],
        payee=obj["payee"],
        token=obj["token"],
        amount=numbers["amount"],
        nonce=numbers["nonce"],
        deadline=numbers["deadline"],
        ref=hex_field("ref", obj["ref"]),
    )
    return domain, mandate


def from_wire(obj: dict[str, Any]) -> SignedMandate:
    """Validate a decoded JSON object field by field into a :class:`SignedMandate`."""
    check_version(obj)
    if "signature" not in obj:
        raise MandateFieldError("fields missing ['signature']", field="signature")
    domain, mandate = unsigned_from_wire(obj)
    signature = hex_field("signature", obj["signature"])
    return SignedMandate(domain=domain, mandate=mandate, signature=signature)


def reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise MandateDecodeError(f"duplicate keys in {keys}", reason=Reason.MANDATE_MALFORMED)
    return dict(pairs)


_DECODER: Final = json.JSONDecoder(object_pairs_hook=reject_duplicates)
"""Built once: ``json.loads`` with a hook builds a decoder on every call."""


def parse_header(header: str | bytes) -> tuple[bytes, dict[str, Any]]:
    """A header value's JSON bytes and object: size limit, base64, JSON object, no duplicate keys."""
    if len(header) > MAX_HEADER_LENGTH:
        raise MandateDecodeError(
            f"header is {len(header)} characters, the limit is {MAX_HEADER_LENGTH}",
            reason=Reason.MANDATE_TOO_LARGE,
        )
    try:
        raw = base64.b64decode(header, validate=True)
        obj = _DECODER.decode(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as exc:
        if isinstance(exc, MandateDecodeError):
            raise
        raise MandateDecodeError(f"header is not base64 of JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MandateDecodeError(f"header holds a JSON {type(obj).__name__}, not an object")
    return raw, obj


def check_canonical(raw: bytes, wire: dict[str, str]) -> None:
    """Refuse a header whose JSON is not exactly the canonical spelling of what it decoded to."""
    if canonical_json(wire) != raw:
        raise MandateDecodeError(
            "mandate JSON is not canonical (sorted keys, no whitespace, ASCII)",
            reason=Reason.MANDATE_NOT_CANONICAL,
        )


def decode(header: str | bytes) -> SignedMandate:
    """Parse a header value into a :class:`SignedMandate`; the signature is *not* checked here.

    An agent-key mandate (``kind`` ``agent``) is refused here: ``aep2.agentkey.decode_any``
    reads both kinds.
    """
    return decode_object(*parse_header(header))


def decode_object(raw: bytes, obj: dict[str, Any]) -> SignedMandate:
    """An EIP-712 mandate from a parsed header: fields, then the canonical spelling of ``raw``."""
    signed = from_wire(obj)
    wire = to_wire(signed)
    if "kind" in obj:
        wire["kind"] = KIND_EIP712
    check_canonical(raw, wire)
    return signed
