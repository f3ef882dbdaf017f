"""The :class:`~aep2.payee.chain_view.ChainView` over the escrow contract, through web3.py.

Kept thin and in one module because the escrow is being written alongside: it
assumes the views ``balance(payer, token)``, ``pendingWithdrawal(payer, token)
-> (amount, readyAt)`` and ``highWater(payer, payee)``. Reads are cached per key
and dropped when an escrow log names the payer in an indexed topic (deposits,
withdrawals and settlements all do); a cached value is never used past
``max_age`` seconds, which callers set no longer than the settlement horizon.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from aep2.errors import ConfigurationError
from aep2.payee.chain_view import PayerPosition

ESCROW_VIEWS_ABI: list[dict[str, Any]] = [
    {
        "type": "function", "name": "balance", "stateMutability": "view",
        "inputs": [{"name": "payer", "type": "address"}, {"name": "token", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function", "name": "pendingWithdrawal", "stateMutability": "view",
        "inputs": [{"name": "payer", "type": "address"}, {"name": "token", "type": "address"}],
        "outputs": [{"name": "amount", "type": "uint256"}, {"name": "readyAt", "type": "uint64"}],
    },
    {
        "type": "function", "name": "highWater", "stateMutability": "view",
        "inputs": [{"name": "payer", "type": "address"}, {"name": "payee", "type": "address"}],
        "outputs": [{"name": "", "type": "uint64"}],
    },
]  # fmt: skip


@dataclass
class _Cached:
    position: PayerPosition
    fetched_at: float


@dataclass
class Web3ChainView:
    """Escrow reads with a per-(payer, payee, token) cache invalidated by the escrow's logs."""

    w3: Web3
    escrow: str
    max_age: float = 60.0
    poll_interval: float = 1.0
    abi: list[dict[str, Any]] = field(default_factory=lambda: ESCROW_VIEWS_ABI)
    _cache: dict[tuple[str, str, str], _Cached] = field(default_factory=dict)
    _next_block: int | None = None
    _polled_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._contract = self.w3.eth.contract(address=Web3.to_checksum_address(self.escrow), abi=self.abi)

    def position(self, *, payer: str, payee: str, token: str) -> PayerPosition:
        self.poll_events()
        key = (payer, payee, token)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached.fetched_at < self.max_age:
            return cached.position
        position = self._read(payer=payer, payee=payee, token=token)
        self._cache[key] = _Cached(position, now)
        return position

    def _read(self, *, payer: str, payee: str, token: str) -> PayerPosition:
        views = self._contract.functions
        try:
            balance = int(views.balance(payer, token).call())
            pending, _ready_at = views.pendingWithdrawal(payer, token).call()
            high_water = int(views.highWater(payer, payee).call())
        except Exception as exc:  # web3 raises many unrelated types; to the payer all are "try later"
            raise ConfigurationError(
                f"cannot read the escrow {self.escrow}: {exc}", escrow=self.escrow
            ) from exc
        return PayerPosition(balance=balance, pending_withdrawal=int(pending), high_water=high_water)

    def poll_events(self, *, force: bool = False) -> int:
        """Drop cache entries of every payer an escrow log names since the last poll; returns how many."""
        now = time.monotonic()
        if not force and now - self._polled_at < self.poll_interval:
            return 0
        with self._lock:
            self._polled_at = now
            latest = int(self.w3.eth.block_number)
            if self._next_block is None:
                self._next_block = latest + 1
                return 0
            if latest < self._next_block:
                return 0
            logs = self.w3.eth.get_logs(
                {"address": self._contract.address, "fromBlock": self._next_block, "toBlock": latest}
            )
            self._next_block = latest + 1
            named = {"0x" + bytes(topic)[-20:].hex() for log in logs for topic in log["topics"][1:]}
            stale = [key for key in self._cache if key[0].lower() in named]
            for key in stale:
                del self._cache[key]
            return len(stale)
