"""The escrow's agent-key registry as Python sees it: a signed grant, and a key's record.

The grant itself, :class:`aep2.agentkey.AgentKeyGrant`, is protocol (upstream of payer and chain);
here it is signed with an account key and read back from the escrow::

    >>> grant = AgentKeyGrant.build(payer=..., key=agent.public_key, token=..., payee=..., cap=10**9,
    ...                             valid_after=now, valid_until=now + 30 * 86400, salt=0)
    >>> key_id = escrow.authorize_agent_key(grant, sign_grant(grant, escrow.domain(), payer_key), relayer_key)
    >>> escrow.agent_key(key_id).remaining
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address

from aep2.agentkey import ANY_PAYEE, AgentKeyGrant
from aep2.mandate import Domain


def sign_grant(grant: AgentKeyGrant, domain: Domain, private_key: bytes) -> bytes:
    """The payer's 65-byte ``r ‖ s ‖ v`` signature (low-s) of ``grant`` under ``domain``, made with
    eth-account's EIP-712 encoder. ``private_key`` must be the grant's payer's: the escrow checks it."""
    signed = Account.sign_message(encode_typed_data(full_message=grant.typed_data(domain)), private_key)
    return bytes(signed.signature)


@dataclass(frozen=True)
class AgentKeyInfo:
    """``IAgentKeys.AgentKeyInfo``: the escrow's record of one key as of the block read.

    ``cap`` is the cap in effect then; ``pending_cap`` a lowering that takes effect at
    ``pending_cap_at`` (0: none). The key settles a pair at chain time ``t`` iff ``valid_after <= t
    <= valid_until``, no revocation is in effect (``revoke_at`` 0 or ``t < revoke_at``), the pair's
    payee is in scope (``payee`` or any, :data:`~aep2.agentkey.ANY_PAYEE`), and ``spent + total`` fits
    the cap in effect at ``t``. Times the grant set at or after 2^40 read as 2^40 - 1.
    """

    key_id: int
    key: bytes
    payer: str
    token: str
    payee: str
    cap: int
    spent: int
    valid_after: int
    valid_until: int
    revoke_at: int
    pending_cap: int
    pending_cap_at: int

    @classmethod
    def from_abi(cls, key_id: int, value: Any) -> AgentKeyInfo | None:
        """The record from ``agentKey(keyId)``'s tuple, or None if no key has the id."""
        key, payer, token, payee, cap, spent, after, until, revoke_at, pending_cap, pending_at = value
        if int(payer, 16) == 0:
            return None
        return cls(
            key_id=key_id,
            key=bytes(key),
            payer=to_checksum_address(payer),
            token=to_checksum_address(token),
            payee=to_checksum_address(payee),
            cap=int(cap),
            spent=int(spent),
            valid_after=int(after),
            valid_until=int(until),
            revoke_at=int(revoke_at),
            pending_cap=int(pending_cap),
            pending_cap_at=int(pending_at),
        )

    @property
    def any_payee(self) -> bool:
        return self.payee == ANY_PAYEE

    @property
    def remaining(self) -> int:
        """What the key may still settle under the cap in effect (0 if a lowering took it below spent)."""
        return max(self.cap - self.spent, 0)

    def cap_at(self, t: int) -> int:
        """The cap in effect at chain time ``t`` (a pending lowering from its effect time on)."""
        return self.pending_cap if self.pending_cap_at and t >= self.pending_cap_at else self.cap

    def settles_at(self, t: int) -> bool:
        """Whether the key is valid and not revoked at chain time ``t`` (scope and cap aside)."""
        return self.valid_after <= t <= self.valid_until and not (self.revoke_at and t >= self.revoke_at)
