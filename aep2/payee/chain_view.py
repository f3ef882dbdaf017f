"""What the payee's check reads from the chain, behind a small protocol.

Per (payer, payee, token) the check needs: the payer's free balance and any pending
withdrawal from it (amount and ``readyAt``), the payer's reservation for this payee and
any pending release of it, and the nonce high-water mark settled for (payer, payee).
:class:`Web3ChainView` (in ``chain_web3``) reads them from the escrow;
:class:`AgentKeyView` adds the escrow's agent key records and per-(key, payee) marks for a
payee that accepts agent mandates. :class:`StaticChainView` holds all of it in memory for
fast unit tests of the check's ordering and for the benchmark's isolation of the database cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from aep2.chain import AgentKeyInfo


@dataclass(frozen=True)
class PayerPosition:
    """The chain's view of one payer for one payee and token.

    ``balance`` is the free balance (every payee's settlements debit it) with any pending
    withdrawal still in it; ``reserved`` is debitable by this payee's settlements alone.
    A pending withdrawal or release stays debitable until its ``readyAt``.
    """

    balance: int
    pending_withdrawal: int
    high_water: int
    withdrawal_ready_at: int = 0
    reserved: int = 0
    pending_release: int = 0
    release_ready_at: int = 0

    def free_until(self, settle_by: int) -> int:
        """The free balance that cannot leave before ``settle_by`` (a withdrawal ready by then may)."""
        leaving = self.pending_withdrawal if self.withdrawal_ready_at <= settle_by else 0
        return max(self.balance - leaving, 0)

    def reserved_until(self, settle_by: int) -> int:
        """The reservation that cannot return to the payer before ``settle_by``."""
        leaving = self.pending_release if self.release_ready_at <= settle_by else 0
        return max(self.reserved - leaving, 0)


class ChainView(Protocol):
    """Read-only chain state for the check; implementations decide how fresh and how cached."""

    def position(self, *, payer: str, payee: str, token: str) -> PayerPosition: ...


class AgentKeyView(Protocol):
    """The escrow's agent keys, for a payee that accepts agent mandates."""

    def agent_key(self, key_id: int) -> AgentKeyInfo | None:
        """The key's record, or None if no key has this id."""
        ...

    def agent_high_water(self, *, key_id: int, payee: str) -> int:
        """The nonce high-water mark settled for (agent key, payee)."""
        ...


@dataclass
class StaticChainView:
    """An in-memory :class:`ChainView`: positions set by the test or benchmark that owns it."""

    positions: dict[tuple[str, str], PayerPosition] = field(default_factory=dict)
    high_water: dict[tuple[str, str], int] = field(default_factory=dict)
    reservations: dict[tuple[str, str, str], tuple[int, int, int]] = field(default_factory=dict)
    agent_keys: dict[int, AgentKeyInfo] = field(default_factory=dict)
    agent_high_waters: dict[tuple[int, str], int] = field(default_factory=dict)

    def set(
        self, *, payer: str, token: str, balance: int, pending_withdrawal: int = 0, ready_at: int = 0
    ) -> None:
        """A free balance; a pending withdrawal with ``ready_at`` 0 counts as leaving at once."""
        self.positions[(payer, token)] = PayerPosition(balance, pending_withdrawal, 0, ready_at)

    def reserve(
        self, *, payer: str, payee: str, token: str, amount: int, pending_release: int = 0, ready_at: int = 0
    ) -> None:
        self.reservations[(payer, payee, token)] = (amount, pending_release, ready_at)

    def set_high_water(self, *, payer: str, payee: str, nonce: int) -> None:
        self.high_water[(payer, payee)] = nonce

    def position(self, *, payer: str, payee: str, token: str) -> PayerPosition:
        base = self.positions.get((payer, token), PayerPosition(0, 0, 0))
        reserved, release, release_at = self.reservations.get((payer, payee, token), (0, 0, 0))
        return replace(
            base,
            high_water=self.high_water.get((payer, payee), 0),
            reserved=reserved,
            pending_release=release,
            release_ready_at=release_at,
        )

    def agent_key(self, key_id: int) -> AgentKeyInfo | None:
        return self.agent_keys.get(key_id)

    def agent_high_water(self, *, key_id: int, payee: str) -> int:
        return self.agent_high_waters.get((key_id, payee), 0)
