"""Hash, sign and verify agent mandates through the library: three separate, pure steps.

The library reads fixed-size buffers, so every length is checked here before a call:
a short buffer would otherwise be read past its end.
"""

from __future__ import annotations

import ctypes

from aep2.agentkey import _library as lib
from aep2.agentkey._mandate import AgentMandate
from aep2.errors import ConfigurationError, MandateFieldError, Reason, SignatureError

# Output buffer types, built once: instantiating one costs a third of create_string_buffer.
_HashBuffer = ctypes.c_char * lib.HASH_SIZE
_SignatureBuffer = ctypes.c_char * lib.SIGNATURE_SIZE


def _malformed(what: str, value: object) -> SignatureError:
    return SignatureError(f"{what} is malformed: {value!r}", reason=Reason.SIGNATURE_MALFORMED)


def _fail(status: int, *, public_key: bytes = b"", signature: bytes = b"") -> Exception:
    """The exception for a library status other than OK or INVALID."""
    if status == lib.ERR_PUBLIC_KEY:
        return _malformed("agent public key (not a canonical point of the prime-order subgroup)", public_key)
    if status == lib.ERR_SIGNATURE:
        return _malformed("agent signature (R not a canonical point, or S not in (0, order))", signature)
    if status == lib.ERR_PRIVATE_KEY:
        # never quote the key itself
        return ConfigurationError("malformed agent private key (not gnark-crypto's 96-byte form)")
    if status in (lib.ERR_MANDATE, lib.ERR_MESSAGE):
        return MandateFieldError(f"the library rejected the mandate (status {status})")
    return ConfigurationError(f"libaep2agent failed with status {status}")


def message_hash(domain_separator: bytes, mandate: AgentMandate) -> bytes:
    """``M``, the 32-byte Poseidon2 hash of the mandate's message under ``domain_separator``."""
    out = _HashBuffer()
    status = lib.library().aep2_agent_mandate_hash(mandate.pack(domain_separator), out)
    if status != lib.OK:
        raise _fail(status)
    return out.raw


def _check_digest(digest: bytes) -> bytes:
    if not isinstance(digest, bytes) or len(digest) != lib.HASH_SIZE:
        raise MandateFieldError(f"a mandate digest is {lib.HASH_SIZE} bytes, not {digest!r}", field="digest")
    return digest


def sign_digest_with(private_key: bytes, digest: bytes) -> bytes:
    """The 64-byte signature of ``digest``, a mandate's :func:`message_hash`, by ``private_key``.

    For a caller that has the digest already (the payer logs it before signing). The key signs
    whatever 32 bytes it is given, so ``digest`` must be the hash of the mandate meant.
    """
    if not isinstance(private_key, bytes) or len(private_key) != lib.PRIVATE_KEY_SIZE:
        raise ConfigurationError(f"an agent private key is {lib.PRIVATE_KEY_SIZE} bytes")
    out = _SignatureBuffer()
    status = lib.library().aep2_agent_sign(private_key, _check_digest(digest), out)
    if status != lib.OK:
        raise _fail(status)
    return out.raw


def sign_with(private_key: bytes, domain_separator: bytes, mandate: AgentMandate) -> bytes:
    """The 64-byte signature of ``mandate`` by the 96-byte ``private_key`` (deterministic).

    Prefer :meth:`aep2.agentkey.AgentKey.sign`, which holds the key; this is the raw step.
    """
    if not isinstance(private_key, bytes) or len(private_key) != lib.PRIVATE_KEY_SIZE:
        raise ConfigurationError(f"an agent private key is {lib.PRIVATE_KEY_SIZE} bytes")
    out = _SignatureBuffer()
    status = lib.library().aep2_agent_sign_mandate(private_key, mandate.pack(domain_separator), out)
    if status != lib.OK:
        raise _fail(status)
    return out.raw


def verify(public_key: bytes, domain_separator: bytes, mandate: AgentMandate, signature: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s signature of ``mandate`` under ``domain_separator``.

    A well-formed signature that does not verify is ``False``; a malformed key or signature
    raises :class:`SignatureError` (``signature_malformed``).
    """
    _check_key_and_signature(public_key, signature)
    status = lib.library().aep2_agent_verify_mandate(public_key, mandate.pack(domain_separator), signature)
    return _verified(status, public_key, signature)


def verify_digest(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """:func:`verify` for a caller that has the mandate's :func:`message_hash` already."""
    _check_key_and_signature(public_key, signature)
    status = lib.library().aep2_agent_verify(public_key, _check_digest(digest), signature)
    return _verified(status, public_key, signature)


def _check_key_and_signature(public_key: bytes, signature: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != lib.PUBLIC_KEY_SIZE:
        raise _malformed("agent public key (not 32 bytes)", public_key)
    if not isinstance(signature, bytes) or len(signature) != lib.SIGNATURE_SIZE:
        raise _malformed("agent signature (not 64 bytes)", signature)


def _verified(status: int, public_key: bytes, signature: bytes) -> bool:
    if status == lib.OK:
        return True
    if status == lib.INVALID:
        return False
    raise _fail(status, public_key=public_key, signature=signature)
