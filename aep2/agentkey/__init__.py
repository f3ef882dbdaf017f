"""Agent keys: EdDSA on Baby Jubjub over a Poseidon2 hash of the agent mandate.

The byte formats are pinned in ``docs/agent-keys.md``; the arithmetic runs in the Go
library ``bin/libaep2agent.so`` (``make circuits``), loaded in process::

    >>> key = AgentKey.generate()
    >>> key.save(Path("agent.key"))                       # 0600, written atomically
    >>> mandate = AgentMandate.build(key_id=7, payee=..., token=..., amount=1000,
    ...                              nonce=42, deadline=1_900_000_000, ref=ref)
    >>> signature = key.sign(domain.separator, mandate)
    >>> verify(key.public_key, domain.separator, mandate, signature)
    True
    >>> signed = key.sign_mandate(domain, mandate)        # a SignedAgentMandate; M computed once
    >>> header = encode_agent(signed)                     # encode_any takes either kind
    >>> decode_any(header)                                # either kind, told apart by "kind"

The payer's grant of a key, :class:`AgentKeyGrant`, is EIP-712 typed data under the same domain.

Errors: :class:`aep2.errors.SignatureError` (``signature_malformed``) for a malformed key
or signature, :class:`aep2.errors.MandateFieldError` for a field out of range,
:class:`aep2.errors.ConfigurationError` for a missing library or a bad key file.
"""

from aep2.agentkey._grant import ANY_PAYEE, GRANT_TYPE_STRING, AgentKeyGrant
from aep2.agentkey._key import KEY_FILE_MODE, AgentKey, sign
from aep2.agentkey._library import library, library_path
from aep2.agentkey._mandate import AGENT_MANDATE_TAG, AgentMandate
from aep2.agentkey._signature import message_hash, sign_with, verify, verify_digest
from aep2.agentkey._wire import (
    AnySigned,
    SignedAgentMandate,
    agent_from_wire,
    agent_to_wire,
    decode_agent,
    decode_any,
    encode_agent,
    encode_any,
)

__all__ = [
    "AGENT_MANDATE_TAG",
    "ANY_PAYEE",
    "GRANT_TYPE_STRING",
    "KEY_FILE_MODE",
    "AgentKey",
    "AgentKeyGrant",
    "AgentMandate",
    "AnySigned",
    "SignedAgentMandate",
    "agent_from_wire",
    "agent_to_wire",
    "decode_agent",
    "decode_any",
    "encode_agent",
    "encode_any",
    "library",
    "library_path",
    "message_hash",
    "sign",
    "sign_with",
    "verify",
    "verify_digest",
]
