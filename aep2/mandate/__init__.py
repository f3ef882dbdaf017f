"""Payment mandates: the EIP-712 model, signing, recovery, and the header codec.

>>> domain = Domain(chain_id=31337, escrow=ESCROW)
>>> signed = Mandate(...).sign(domain, private_key)
>>> header = encode(signed)            # travels in the call
>>> decode(header).verify()            # the payee's side
"""

from aep2.mandate._codec import (
    KIND_AGENT,
    KIND_EIP712,
    MAX_HEADER_LENGTH,
    WIRE_VERSION,
    canonical_json,
    check_canonical,
    check_fields,
    check_version,
    decimal_field,
    decode,
    decode_object,
    encode,
    from_wire,
    hex_field,
    mandate_kind,
    parse_header,
    to_wire,
    unsigned_from_wire,
)
from aep2.mandate._fields import AMOUNT_LIMIT, UINT64_LIMIT, checksum
from aep2.mandate._model import Domain, Mandate, SignedMandate
from aep2.mandate._signature import HALF_N, SECP256K1_N
from aep2.mandate._typed_data import MANDATE_TYPE_STRING, MANDATE_TYPEHASH, domain_separator

__all__ = [
    "AMOUNT_LIMIT",
    "HALF_N",
    "KIND_AGENT",
    "KIND_EIP712",
    "MANDATE_TYPEHASH",
    "MANDATE_TYPE_STRING",
    "MAX_HEADER_LENGTH",
    "SECP256K1_N",
    "UINT64_LIMIT",
    "WIRE_VERSION",
    "Domain",
    "Mandate",
    "SignedMandate",
    "canonical_json",
    "check_canonical",
    "check_fields",
    "check_version",
    "checksum",
    "decimal_field",
    "decode",
    "decode_object",
    "domain_separator",
    "encode",
    "from_wire",
    "hex_field",
    "mandate_kind",
    "parse_header",
    "to_wire",
    "unsigned_from_wire",
]
