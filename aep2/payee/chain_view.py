"""What the payee's check reads from the chain, behind a small protocol.

The check needs three numbers per payer: the escrow balance it could debit, the
amount of a requested-but-unexecuted withdrawal, and the nonce high-water mark
settled for (payer, payee). :class:`Web3ChainView` (in ``chain_web3``) reads
them from the escrow; :class:`StaticChainView` holds them in memory for fast
unit tests of the check's ordering and for the benchmark's isolation of the
database cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class PayerPosition:
    """The chain's view of one payer for one payee and token."""

    balance: int
    pending_withdrawal: int
    high_water: int

    @property
    def debitable(self) -> int:
        return max(self.balance - self.pending_withdrawal, 0)


class ChainView(Protocol):
    """Read-only chain state for the check; implementations decide how fresh and how cached."""

    def position(self, *, payer: str, payee: str, token: str) -> PayerPosition: ...


@dataclass
class StaticChainView:
    """An in-memory :class:`ChainView`: positions set by the test or benchmark that owns it."""

    positions: dict[tuple[str, str], PayerPosition] = field(default_factory=dict)
    high_water: dict[tuple[str, str], int] = field(default_factory=dict)

    def set(self, *, payer: str, token: str, balance: int, pending_withdrawal: int = 0) -> None:
        self.positions[(payer, token)] = PayerPosition(balance, pending_withdrawal, 0)

    def set_high_water(self, *, payer: str, payee: str, nonce: int) -> None:
        self.high_water[(payer, payee)] = nonce

    def position(self, *, payer: str, payee: str, token: str) -> PayerPosition:
        base = self.positions.get((payer, token), PayerPosition(0, 0, 0))
        return PayerPosition(base.balance, base.pending_withdrawal, self.high_water.get((payer, payee), 0))
