"""The chain as the pipeline uses it: the escrow and the account that submits settlements."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account

from aep2.chain.escrow import DEFAULT_VERIFIER_GAS, EscrowClient


@dataclass(frozen=True)
class Chain:
    """The escrow and who pays for settlement transactions.

    The escrow pays a pair only when the sender is its payee or a submitter the payee approved
    (``approveSubmitter``), so ``submitter_key`` is the payee's own key or one it approved.
    """

    escrow: EscrowClient
    submitter_key: bytes
    verifier_gas: int = DEFAULT_VERIFIER_GAS

    @property
    def submitter(self) -> str:
        return str(Account.from_key(self.submitter_key).address)

    def chain_time(self) -> int:
        """The latest block's timestamp: what the escrow compares activation times against."""
        return int(self.escrow.w3.eth.get_block("latest")["timestamp"])
